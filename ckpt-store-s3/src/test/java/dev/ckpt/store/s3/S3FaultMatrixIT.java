package dev.ckpt.store.s3;

import dev.ckpt.spi.BlobStore;
import dev.ckpt.store.tck.FaultMatrix;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The fault matrix's rows for the S3 store against S3Proxy (README, "Failures"). */
class S3FaultMatrixIT {
  @org.junit.jupiter.api.io.TempDir
  java.nio.file.Path dir;

  @RegisterExtension
  static final S3ProxyServer S3 = new S3ProxyServer();

  @Test
  void tenPercentInjectedFaultsOver200Checkpoints_loseNothing_andLeaveAConsistentStore() throws Exception {
    S3.createBucket("matrix");
    try (BlobStore store = S3StoreProvider.builder(S3.uri("matrix")).build()) {
      FaultMatrix.Cell cell = FaultMatrix.injectedFaults(store, "matrix", 200, 0.10, 20261203L);
      FaultMatrix.assertNothingLost("10% injected faults over 200 checkpoints", "S3 (S3Proxy)", cell, 200);
    }
  }

  @Test
  void sigkillOfTheCheckpointingJvmAtTenRandomMoments_losesNoCommittedCheckpoint() throws Exception {
    S3.createBucket("killed");
    FaultMatrix.KillCell cell = FaultMatrix.sigkillLoop(S3.uri("killed"), "matrix", 10, 20261203L, dir);
    FaultMatrix.assertNothingLost("SIGKILL of the checkpointing JVM at random moments", "S3 (S3Proxy)", cell);
  }
}
