package dev.ckpt.store.nfs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
    System.out.println("FAULT MATRIX | 10% injected faults over 200 checkpoints | " + where + " | " + cell);
    assertEquals(0, cell.lost(), cell.problems().toString());
    assertTrue(cell.problems().isEmpty(), cell.problems().toString());
    assertEquals(200, cell.committed() + cell.failedCleanly(), cell.toString());
    assertTrue(cell.committed() > 0 && cell.failedCleanly() > 0, "faults must both fail and spare checkpoints: " + cell);
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
