package dev.ckpt.store.local;

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
      FaultMatrix.assertNothingLost("10% injected faults over 200 checkpoints", "local", cell, 200);
    }
  }
}
