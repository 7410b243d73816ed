package dev.ckpt.store.nfs;

import dev.ckpt.spi.BlobStore;
import dev.ckpt.store.tck.FaultMatrix;
import java.net.URI;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fault matrix's injected-faults row for the NFS store (README, "Failures"): direct mode
 * against NFS-Ganesha, and mounted mode on a local directory (the same store code; these tests
 * mount no kernel NFS client).
 */
class NfsFaultMatrixIT {
  @RegisterExtension
  static final GaneshaServer NFS = new GaneshaServer();

  @TempDir
  Path dir;

  private static void check(String where, BlobStore store) throws Exception {
    FaultMatrix.Cell cell = FaultMatrix.injectedFaults(store, "matrix", 200, 0.10, 20261203L);
    FaultMatrix.assertNothingLost("10% injected faults over 200 checkpoints", where, cell, 200);
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
}
