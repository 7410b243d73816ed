package dev.ckpt.it;

import com.sun.jna.Memory;
import dev.ckpt.CheckpointInfo;
import dev.ckpt.Checkpointer;
import java.net.URI;
import java.nio.ByteBuffer;
import java.util.SplittableRandom;

/**
 * Child process of {@link BoundedMemoryIT}, run with a small heap: {@code dump} checkpoints a
 * 4 GiB native segment, {@code restore} restores it into fresh memory and checks every byte.
 * A quarter of the segment is random, a quarter text, half zeros.
 */
public final class BigImageMain {
  static final long SIZE = 4L << 30;
  static final int BLOCK = 1 << 20;

  private BigImageMain() {}

  static void fill(ByteBuffer block, long index) {
    block.clear().order(java.nio.ByteOrder.LITTLE_ENDIAN);
    switch ((int) (index % 4)) {
      case 0 -> {
        SplittableRandom r = new SplittableRandom(index);
        while (block.hasRemaining()) {
          block.putLong(r.nextLong());
        }
      }
      case 1 -> {
        byte[] line = ("block " + index + ": checkpoint and restore with bounded memory\n").getBytes();
        while (block.hasRemaining()) {
          block.put(line, 0, Math.min(line.length, block.remaining()));
        }
      }
      default -> {
        while (block.hasRemaining()) {
          block.putLong(0);
        }
      }
    }
    block.flip();
  }

  public static void main(String[] args) throws Exception {
    URI store = URI.create(args[0]);
    Memory mem = new Memory(SIZE);
    try (Checkpointer ckpt = Checkpointer.builder().store(store).job("big").registerSegment("mem", dev.ckpt.linux.JnaMemory.of(mem, SIZE)).build()) {
      if (args[1].equals("dump")) {
        for (long i = 0; i < SIZE / BLOCK; i++) {
          fill(mem.getByteBuffer(i * BLOCK, BLOCK), i);
        }
        CheckpointInfo info = ckpt.checkpoint();
        System.out.println("dumped " + info.logicalBytes() + " stored " + info.newStoredBytes()
            + " in " + info.duration().toMillis() + " ms, max heap " + Runtime.getRuntime().maxMemory());
      } else {
        CheckpointInfo info = ckpt.restoreLatest();
        ByteBuffer expected = ByteBuffer.allocateDirect(BLOCK);
        for (long i = 0; i < SIZE / BLOCK; i++) {
          fill(expected, i);
          if (!mem.getByteBuffer(i * BLOCK, BLOCK).equals(expected)) {
            System.out.println("MISMATCH in block " + i);
            System.out.flush();
            System.exit(3);
          }
        }
        System.out.println("restored and verified " + info.logicalBytes() + " bytes");
      }
    }
    mem.close();
  }
}
