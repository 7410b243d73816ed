package dev.ckpt.store.s3;

import dev.ckpt.spi.BlobStore;
import dev.ckpt.store.tck.FaultMatrix;
import dev.ckpt.store.tck.SmallFileSystem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The fault matrix's rows for the S3 store against S3Proxy (README, "Failures"). */
class S3FaultMatrixIT {
  /** Kills per SIGKILL row: few in the test run (each kill costs a JVM start), 50 for the README's figures. */
  /** Checkpoints of the injected-faults row: 100 in the test run, 200 (the README's figures) with the property. */
  private static final int CHECKPOINTS = Integer.getInteger("ckpt.faultMatrix.checkpoints", 100);
  private static final int KILLS = Integer.getInteger("ckpt.faultMatrix.kills", 5);

  @org.junit.jupiter.api.io.TempDir
  java.nio.file.Path dir;

  @RegisterExtension
  static final S3ProxyServer S3 = new S3ProxyServer();

  @Test
  void tenPercentInjectedFaultsOver200Checkpoints_loseNothing_andLeaveAConsistentStore() throws Exception {
    S3.createBucket("matrix");
    try (BlobStore store = S3StoreProvider.builder(S3.uri("matrix")).build()) {
      FaultMatrix.Cell cell = FaultMatrix.injectedFaults(store, "matrix", CHECKPOINTS, 0.10, 20261203L);
      FaultMatrix.assertNothingLost("10% injected faults over " + CHECKPOINTS + " checkpoints", "S3 (S3Proxy)", cell, CHECKPOINTS);
    }
  }

  @Test
  void twoWriterJvms_neverCommitOneNumberTwice_andLoseNothing() throws Exception {
    S3.createBucket("writers");
    FaultMatrix.WriterCell cell = FaultMatrix.twoWriterJvms(S3.uri("writers"), "shared", 15, dir);
    FaultMatrix.assertNothingLost("S3 (S3Proxy)", cell, true);
  }

  @Test
  void serverKilledAndRestartedWhileCheckpointing_losesNothing() throws Exception {
    S3.createBucket("restarts");
    try (BlobStore store = S3StoreProvider.builder(S3.uri("restarts")).build()) {
      FaultMatrix.Cell cell = FaultMatrix.serverRestarts(store, "matrix", 3, S3::restart, 20261203L);
      FaultMatrix.assertNothingLost("server restart (SIGKILL, 3 restarts while checkpoints are written)", "S3 (S3Proxy)",
          cell);
    }
  }

  /** S3Proxy's objects on a 5 MiB tmpfs: a full disk is what a quota or a full bucket volume does to a server. */
  @Test
  void diskFullOnTheServer_failsCleanly_andLosesNothing() throws Exception {
    S3ProxyServer small = new S3ProxyServer();
    try (SmallFileSystem fs = SmallFileSystem.mount(dir.resolve("small"), 5)) {
      small.start(fs.dir());
      try {
        small.createBucket("full");
        // Two attempts: the SDK's eight, with backoff, would spend minutes on the 500s of a full disk.
        try (BlobStore store = S3StoreProvider.builder(small.uri("full", "maxAttempts=2")).build()) {
          FaultMatrix.Cell cell = FaultMatrix.diskFull(store, "matrix", 60, 20261203L);
          FaultMatrix.assertNothingLost("disk full (5 MiB tmpfs), 60 checkpoints of 0.25-3 MiB, keeping 2", "S3 (S3Proxy)",
              cell, 60);
        }
      } finally {
        small.stop();
      }
    }
  }

  @Test
  void sigkillOfTheCheckpointingJvmAtRandomMoments_losesNoCommittedCheckpoint() throws Exception {
    S3.createBucket("killed");
    FaultMatrix.KillCell cell = FaultMatrix.sigkillLoop(S3.uri("killed"), "matrix", KILLS, 20261203L, dir);
    FaultMatrix.assertNothingLost("SIGKILL of the checkpointing JVM at random moments", "S3 (S3Proxy)", cell);
  }
}
