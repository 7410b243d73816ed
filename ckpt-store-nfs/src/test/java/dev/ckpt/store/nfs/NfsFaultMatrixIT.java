package dev.ckpt.store.nfs;

import dev.ckpt.spi.BlobStore;
import dev.ckpt.store.tck.FaultMatrix;
import dev.ckpt.store.tck.SmallFileSystem;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fault matrix's rows for the NFS store (README, "Failures"): direct mode against
 * NFS-Ganesha, and mounted mode on a local directory (the same store code; these tests mount no
 * kernel NFS client).
 */
class NfsFaultMatrixIT {
  /** Kills per SIGKILL row: few in the test run (each kill costs a JVM start), 50 for the README's figures. */
  /** Checkpoints of the injected-faults row: 100 in the test run, 200 (the README's figures) with the property. */
  private static final int CHECKPOINTS = Integer.getInteger("ckpt.faultMatrix.checkpoints", 100);
  private static final int KILLS = Integer.getInteger("ckpt.faultMatrix.kills", 3);

  /** A 5 MiB export for the disk-full row. */
  @RegisterExtension
  static final GaneshaServer NFS = GaneshaServer.withSmallExport(5);

  /**
   * Writers killed with SIGKILL leave their lock to expire: the shortest lease the store allows
   * keeps each round short, and the next writer waits for it.
   */
  private static final String[] SHORT_LEASE = {"lease=2s", "lockWait=30s"};

  @TempDir
  Path dir;

  private URI mounted(Path root) {
    return URI.create("nfs://" + root + "?create=true&" + String.join("&", SHORT_LEASE));
  }

  private static void check(String where, BlobStore store) throws Exception {
    FaultMatrix.Cell cell = FaultMatrix.injectedFaults(store, "matrix", CHECKPOINTS, 0.10, 20261203L);
    FaultMatrix.assertNothingLost("10% injected faults over " + CHECKPOINTS + " checkpoints", where, cell, CHECKPOINTS);
  }

  @Test
  void directMode_tenPercentInjectedFaultsOver200Checkpoints_loseNothing() throws Exception {
    try (BlobStore store = new NfsStoreProvider().open(NFS.freshUri())) {
      check("NFS direct (NFS-Ganesha)", store);
    }
  }

  @Test
  void mountedMode_tenPercentInjectedFaultsOver200Checkpoints_loseNothing() throws Exception {
    try (BlobStore store = new NfsStoreProvider().open(URI.create("nfs://" + dir.resolve("store") + "?create=true"))) {
      check("NFS mounted mode (local directory)", store);
    }
  }

  @Test
  void directMode_sigkillOfTheCheckpointingJvm_losesNoCommittedCheckpoint() throws Exception {
    FaultMatrix.KillCell cell = FaultMatrix.sigkillLoop(NFS.freshUri(SHORT_LEASE), "matrix", KILLS, 20261203L, dir);
    FaultMatrix.assertNothingLost("SIGKILL of the checkpointing JVM at random moments", "NFS direct (NFS-Ganesha)", cell);
  }

  @Test
  void mountedMode_sigkillOfTheCheckpointingJvm_losesNoCommittedCheckpoint() throws Exception {
    FaultMatrix.KillCell cell = FaultMatrix.sigkillLoop(mounted(dir.resolve("store")), "matrix", KILLS, 20261203L, dir);
    FaultMatrix.assertNothingLost("SIGKILL of the checkpointing JVM at random moments", "NFS mounted mode", cell);
  }

  /**
   * The store's job lock admits one writer at a time, and a waiting writer looks again every
   * 250 ms: the numbers need not interleave (usually one writer finishes first).
   */
  @Test
  void directMode_twoWriterJvms_neverCommitOneNumberTwice_andLoseNothing() throws Exception {
    FaultMatrix.WriterCell cell = FaultMatrix.twoWriterJvms(NFS.freshUri(), "shared", 15, dir);
    FaultMatrix.assertNothingLost("NFS direct (NFS-Ganesha)", cell, false);
  }

  @Test
  void mountedMode_twoWriterJvms_neverCommitOneNumberTwice_andLoseNothing() throws Exception {
    FaultMatrix.WriterCell cell = FaultMatrix.twoWriterJvms(URI.create("nfs://" + dir.resolve("store") + "?create=true"),
        "shared", 15, Files.createDirectories(dir.resolve("work")));
    FaultMatrix.assertNothingLost("NFS mounted mode", cell, false);
  }

  @Test
  void directMode_diskFullOnTheServer_failsCleanly_andLosesNothing() throws Exception {
    try (BlobStore store = new NfsStoreProvider().open(NFS.freshSmallUri())) {
      FaultMatrix.Cell cell = FaultMatrix.diskFull(store, "matrix", 60, 20261203L);
      FaultMatrix.assertNothingLost("disk full (5 MiB tmpfs), 60 checkpoints of 0.25-3 MiB, keeping 2",
          "NFS direct (NFS-Ganesha)", cell, 60);
    }
  }

  @Test
  void mountedMode_diskFull_failsCleanly_andLosesNothing() throws Exception {
    try (SmallFileSystem small = SmallFileSystem.mount(dir.resolve("small"), 5);
        BlobStore store = new NfsStoreProvider().open(URI.create("nfs://" + small.dir().resolve("store") + "?create=true"))) {
      FaultMatrix.Cell cell = FaultMatrix.diskFull(store, "matrix", 60, 20261203L);
      FaultMatrix.assertNothingLost("disk full (5 MiB tmpfs), 60 checkpoints of 0.25-3 MiB, keeping 2", "NFS mounted mode",
          cell, 60);
    }
  }

  @Test
  void directMode_serverRestartsWhileCheckpointing_loseNothing() throws Exception {
    try (BlobStore store = new NfsStoreProvider().open(NFS.freshUri())) {
      FaultMatrix.Cell cell = FaultMatrix.serverRestarts(store, "matrix", 2, () -> {
        NFS.stop();
        NFS.start();
      }, 20261203L);
      FaultMatrix.assertNothingLost("server restart (2 restarts while checkpoints are written)", "NFS direct (NFS-Ganesha)",
          cell);
    }
  }
}
