package dev.ckpt.benchmarks;

import com.sun.jna.Memory;
import dev.ckpt.CheckpointInfo;
import dev.ckpt.Checkpointer;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * Bytes, not time: dumps the 1 GiB benchmark image, changes 1% of its bytes (in 64 KiB runs at
 * random page-aligned places, as a running program dirties memory), dumps again, and prints how
 * many bytes each dump stored.
 */
public final class IncrementalDump {
  private IncrementalDump() {}

  public static void main(String[] args) throws Exception {
    Memory memory = ImageData.allocate();
    Path dir = ImageData.scratch("incremental");
    try (Checkpointer c = Checkpointer.builder().store(dir.toUri()).job("inc")
        .registerSegment("heap", memory, ImageData.SIZE).build()) {
      CheckpointInfo first = c.checkpoint();
      long changed = 0;
      SplittableRandom r = new SplittableRandom(1);
      byte[] run = new byte[64 * 1024];
      while (changed < ImageData.SIZE / 100) {
        long at = r.nextLong(ImageData.SIZE / run.length) * run.length;
        for (int i = 0; i < run.length; i++) {
          run[i] = (byte) r.nextInt();
        }
        memory.write(at, run, 0, run.length);
        changed += run.length;
      }
      CheckpointInfo second = c.checkpoint();
      System.out.printf("first dump stored %d bytes; changed %d bytes (%.2f%%); second dump stored %d bytes = %.2f%% of the first%n",
          first.newStoredBytes(), changed, 100.0 * changed / ImageData.SIZE, second.newStoredBytes(),
          100.0 * second.newStoredBytes() / first.newStoredBytes());
    } finally {
      ImageData.delete(dir);
      memory.close();
    }
  }
}
