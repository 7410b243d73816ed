package dev.ckpt.store.local;

import dev.ckpt.spi.BlobStore;
import dev.ckpt.store.tck.FaultMatrix;
import dev.ckpt.store.tck.SmallFileSystem;
import java.net.URI;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The fault matrix's rows for the local store (README, "Failures"). */
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

  @Test
  void diskFullOnAFiveMibFileSystem_failsCleanly_andLosesNothing() throws Exception {
    try (SmallFileSystem small = SmallFileSystem.mount(dir.resolve("small"), 5);
        BlobStore store = new LocalStoreProvider().open(URI.create(small.dir().toUri() + "store?create=true"))) {
      FaultMatrix.Cell cell = FaultMatrix.diskFull(store, "matrix", 60, 20261203L);
      FaultMatrix.assertNothingLost("disk full (5 MiB tmpfs), 60 checkpoints of 0.25-3 MiB, keeping 2", "local", cell, 60);
    }
  }
}
