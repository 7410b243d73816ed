package dev.ckpt.store.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ckpt.spi.BlobStore;
import dev.ckpt.store.tck.FaultMatrix;
import java.net.URI;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The fault matrix's injected-faults row for the local store (README, "Failures"). */
class LocalFaultMatrixIT {
  @TempDir
  Path dir;

  @Test
  void tenPercentInjectedFaultsOver200Checkpoints_loseNothing_andLeaveAConsistentStore() throws Exception {
    try (BlobStore store = new LocalStoreProvider().open(URI.create(dir.toUri() + "store?create=true"))) {
      FaultMatrix.Cell cell = FaultMatrix.injectedFaults(store, "matrix", 200, 0.10, 20261203L);
      System.out.println("FAULT MATRIX | 10% injected faults over 200 checkpoints | local | " + cell);
      assertEquals(0, cell.lost(), cell.problems().toString());
      assertTrue(cell.problems().isEmpty(), cell.problems().toString());
      assertEquals(200, cell.committed() + cell.failedCleanly(), cell.toString());
      assertTrue(cell.committed() > 0 && cell.failedCleanly() > 0, "faults must both fail and spare checkpoints: " + cell);
    }
  }
}
