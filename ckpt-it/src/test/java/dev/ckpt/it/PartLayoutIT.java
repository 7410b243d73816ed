package dev.ckpt.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.ckpt.CheckpointInfo;
import dev.ckpt.CheckpointStore;
import dev.ckpt.ImageReader;
import dev.ckpt.ImageWriter;
import dev.ckpt.PartOutput;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Parts written as any mix of unaligned writes, zero bytes inside written buffers, and
 * {@code writeZeros} runs read back exactly; all-zero chunks are never hashed or stored, wherever
 * they were recognised, and the same bytes written again store nothing new.
 */
class PartLayoutIT {
  private static final int CHUNK = 4096;
  @TempDir
  Path dir;

  /** Writes a seeded random sequence of operations to {@code out} and returns the bytes they make. */
  private static byte[] writeMixed(PartOutput out, long seed) throws Exception {
    Random r = new Random(seed);
    ByteArrayOutputStream expected = new ByteArrayOutputStream();
    for (int op = 0; op < 400; op++) {
      int kind = r.nextInt(5);
      int len = switch (r.nextInt(4)) {
        case 0 -> 1 + r.nextInt(100);
        case 1 -> CHUNK;
        case 2 -> 1 + r.nextInt(3 * CHUNK);
        default -> CHUNK * (1 + r.nextInt(40)) + r.nextInt(2) * r.nextInt(CHUNK);
      };
      byte[] b = new byte[len];
      if (kind == 0 || kind == 1) {
        r.nextBytes(b);
      } else if (kind == 2) {
        // Zeros with one non-zero byte somewhere: not a zero chunk.
        b[r.nextInt(len)] = 7;
      }
      if (kind == 4) {
        out.writeZeros(len);
      } else if (r.nextBoolean()) {
        ByteBuffer direct = ByteBuffer.allocateDirect(len);
        direct.put(b).flip();
        out.write(direct);
      } else {
        out.write(b, 0, len);
      }
      expected.write(b);
    }
    return expected.toByteArray();
  }

  private static long nonZeroChunkBytes(byte[] b) {
    long n = 0;
    byte[] zeros = new byte[CHUNK];
    for (int off = 0; off < b.length; off += CHUNK) {
      int len = Math.min(CHUNK, b.length - off);
      if (!Arrays.equals(b, off, off + len, zeros, 0, len)) {
        n += len;
      }
    }
    return n;
  }

  @Test
  void mixedWritesAndZeroRuns_readBackExactly_andZeroChunksAreNeverHashed() throws Exception {
    try (CheckpointStore store = CheckpointStore.builder().uri(dir.toUri()).chunkSize(CHUNK).parallelism(2).build()) {
      byte[][] expected = new byte[3][];
      CheckpointInfo first;
      try (ImageWriter w = store.newImage("mixed")) {
        for (int p = 0; p < 3; p++) {
          try (PartOutput out = w.part("part" + p, Map.of())) {
            expected[p] = writeMixed(out, 100 + p);
            assertEquals(expected[p].length, out.position());
          }
        }
        first = w.commit();
      }
      long nonZero = 0;
      for (byte[] e : expected) {
        nonZero += nonZeroChunkBytes(e);
      }
      assertEquals(nonZero, first.bytesScanned(), "only chunks with a non-zero byte are hashed");
      try (ImageReader r = store.open("mixed", first.id())) {
        for (int p = 0; p < 3; p++) {
          assertArrayEquals(expected[p], r.readBytes("part" + p), "part" + p);
        }
      }

      CheckpointInfo again;
      try (ImageWriter w = store.newImage("mixed")) {
        for (int p = 0; p < 3; p++) {
          try (PartOutput out = w.part("part" + p, Map.of())) {
            writeMixed(out, 100 + p);
          }
        }
        again = w.commit();
      }
      assertEquals(0, again.newChunks(), "the same bytes store nothing new");
      try (ImageReader r = store.open("mixed", again.id())) {
        for (int p = 0; p < 3; p++) {
          assertArrayEquals(expected[p], r.readBytes("part" + p));
        }
      }
    }
  }
}
