package dev.ckpt.it;

import dev.ckpt.store.tck.FaultMatrix;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fault matrix's two-writers row for the local store: two JVMs write checkpoints of one job
 * into one store at the same time, racing for each number. No number is committed twice, every
 * checkpoint reported committed holds what its writer wrote, and the store is consistent afterwards.
 */
class TwoWriterJvmsIT {
  @TempDir
  Path dir;

  @Test
  @Timeout(value = 4, unit = TimeUnit.MINUTES)
  void twoJvmsWritingOneJob_neverCommitOneNumberTwice_andLoseNothing() throws Exception {
    Path root = Files.createDirectory(dir.resolve("store"));
    FaultMatrix.WriterCell cell = FaultMatrix.twoWriterJvms(root.toUri(), "shared", 25, dir);
    FaultMatrix.assertNothingLost("local", cell, true);
  }
}
