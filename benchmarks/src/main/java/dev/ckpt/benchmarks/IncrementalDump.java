package dev.ckpt.benchmarks;

import com.sun.jna.Memory;
import dev.ckpt.CheckpointInfo;
import dev.ckpt.Checkpointer;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * Bytes, not time: dumps the 1 GiB benchmark image, changes 1% of its bytes in 64 KiB runs at
 * random chunk-aligned places, dumps again, and prints how many bytes each dump stored. Two
 * kinds of change: {@code random} writes incompressible bytes (the worst case: new random data
 * cannot be stored in fewer bytes than itself), {@code mixed} rewrites each run with content of
 * the image's own kind (random stays random, text stays text, zeros become text), as a program
 * updating its own data would.
 */
public final class IncrementalDump {
  private IncrementalDump() {}

  public static void main(String[] args) throws Exception {
    for (String kind : new String[] {"random", "mixed"}) {
      run(kind);
    }
  }

  private static void run(String kind) throws Exception {
    Memory memory = ImageData.allocate();
    Path dir = ImageData.scratch("incremental");
    try (Checkpointer c = Checkpointer.builder().store(dir.toUri()).job("inc")
        .registerSegment("heap", dev.ckpt.linux.JnaMemory.of(memory, ImageData.SIZE)).build()) {
      CheckpointInfo first = c.checkpoint();
      long changed = 0;
      SplittableRandom r = new SplittableRandom(1);
      int runLength = 64 * 1024;
      byte[] run = new byte[runLength];
      java.nio.ByteBuffer block = java.nio.ByteBuffer.allocate(ImageData.BLOCK);
      while (changed < ImageData.SIZE / 100) {
        long at = r.nextLong(ImageData.SIZE / runLength) * runLength;
        if (kind.equals("random")) {
          for (int i = 0; i < runLength; i++) {
            run[i] = (byte) r.nextInt();
          }
        } else {
          long blockIndex = at / ImageData.BLOCK;
          ImageData.fill(block, blockIndex % 4 >= 2 ? blockIndex * 4 + 1 : blockIndex, 1 + changed);
          block.get((int) (at % ImageData.BLOCK), run);
        }
        memory.write(at, run, 0, runLength);
        changed += runLength;
      }
      CheckpointInfo second = c.checkpoint();
      // Both bases: the bytes the first dump stored, and the bytes it dumped (the image).
      System.out.printf("%s: first dump read %d bytes and stored %d; changed %d bytes (%.2f%%); second dump stored %d"
          + " bytes = %.2f%% of what the first stored, %.2f%% of what it read%n", kind, first.logicalBytes(),
          first.newStoredBytes(), changed, 100.0 * changed / ImageData.SIZE, second.newStoredBytes(),
          100.0 * second.newStoredBytes() / first.newStoredBytes(), 100.0 * second.newStoredBytes() / first.logicalBytes());
    } finally {
      ImageData.delete(dir);
      memory.close();
    }
  }
}
