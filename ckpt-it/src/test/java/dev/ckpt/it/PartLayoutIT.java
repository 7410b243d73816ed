package dev.ckpt.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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

  /**
   * Many small parts and a few large ones read with one {@code readAll}: each sink gets exactly
   * its part's bytes (chunks shared between parts too), and an unknown name fails before any
   * sink is written.
   */
  @Test
  void readAll_givesEachSinkItsOwnPart_andRefusesAnUnknownPartBeforeReading() throws Exception {
    try (CheckpointStore store = CheckpointStore.builder().uri(dir.toUri()).chunkSize(CHUNK).parallelism(2).build()) {
      Random r = new Random(7);
      Map<String, byte[]> expected = new java.util.LinkedHashMap<>();
      byte[] shared = new byte[CHUNK];
      r.nextBytes(shared);
      CheckpointInfo info;
      try (ImageWriter w = store.newImage("many")) {
        for (int p = 0; p < 300; p++) {
          // A stack's worth (zeros, then a page or two) or, every 50th, a part of many chunks.
          byte[] b = new byte[p % 50 == 0 ? CHUNK * (20 + r.nextInt(20)) : CHUNK * (1 + r.nextInt(4))];
          int pages = Math.min(b.length / CHUNK, 1 + r.nextInt(2));
          for (int i = b.length - pages * CHUNK; i < b.length; i++) {
            b[i] = (byte) r.nextInt();
          }
          if (p % 7 == 0) {
            System.arraycopy(shared, 0, b, 0, CHUNK); // one chunk in many parts
          }
          try (PartOutput out = w.part("p" + p, Map.of())) {
            out.write(b, 0, b.length);
          }
          expected.put("p" + p, b);
        }
        info = w.commit();
      }
      try (ImageReader reader = store.open("many", info.id())) {
        Map<String, byte[]> got = new java.util.concurrent.ConcurrentHashMap<>();
        Map<String, dev.ckpt.PartSink> sinks = new java.util.LinkedHashMap<>();
        for (Map.Entry<String, byte[]> e : expected.entrySet()) {
          byte[] into = new byte[e.getValue().length];
          Arrays.fill(into, (byte) 0x5a); // zeros must be written too, not assumed
          got.put(e.getKey(), into);
          sinks.put(e.getKey(), new dev.ckpt.PartSink() {
            @Override
            public void write(long position, ByteBuffer data) {
              data.get(into, (int) position, data.remaining());
            }

            @Override
            public void zero(long position, long length) {
              Arrays.fill(into, (int) position, (int) (position + length), (byte) 0);
            }
          });
        }
        reader.readAll(sinks);
        for (Map.Entry<String, byte[]> e : expected.entrySet()) {
          assertArrayEquals(e.getValue(), got.get(e.getKey()), e.getKey());
        }

        boolean[] touched = {false};
        Map<String, dev.ckpt.PartSink> bad = new java.util.LinkedHashMap<>();
        dev.ckpt.PartSink marking = new dev.ckpt.PartSink() {
          @Override
          public void write(long position, ByteBuffer data) {
            touched[0] = true;
          }

          @Override
          public void zero(long position, long length) {
            touched[0] = true;
          }
        };
        bad.put("p1", marking);
        bad.put("no-such-part", marking);
        dev.ckpt.CheckpointNotFoundException e = org.junit.jupiter.api.Assertions.assertThrows(
            dev.ckpt.CheckpointNotFoundException.class, () -> reader.readAll(bad));
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("no-such-part"), e.getMessage());
        org.junit.jupiter.api.Assertions.assertFalse(touched[0], "a part was read before the unknown one was refused");
      }
    }
  }

  /**
   * Chunks that compress to almost nothing (a thousand threads' stacks) still fit in one ranged
   * read of the pack, but they are decoded and hashed on more than one thread: a range yields at
   * most a few MiB of decompressed bytes, and every byte still reaches its own sink.
   */
  @Test
  void readAll_decodesHighlyCompressibleChunksOnSeveralThreads() throws Exception {
    int chunk = 64 * 1024;
    try (CheckpointStore store = CheckpointStore.builder().uri(dir.toUri()).chunkSize(chunk).parallelism(2).build()) {
      Map<String, byte[]> expected = new java.util.LinkedHashMap<>();
      CheckpointInfo info;
      try (ImageWriter w = store.newImage("stacks")) {
        for (int p = 0; p < 400; p++) {
          byte[] b = new byte[chunk];
          Arrays.fill(b, (byte) 1);
          ByteBuffer.wrap(b).putInt(chunk - 8, p); // one distinct chunk per part
          try (PartOutput out = w.part("stack" + p, Map.of())) {
            out.write(b, 0, b.length);
          }
          expected.put("stack" + p, b);
        }
        info = w.commit();
      }
      assertTrue(info.newStoredBytes() < 8L * chunk * 10, "400 such chunks should compress to a few KiB each, took "
          + info.newStoredBytes());
      java.util.Set<String> threads = java.util.concurrent.ConcurrentHashMap.newKeySet();
      Map<String, byte[]> got = new java.util.concurrent.ConcurrentHashMap<>();
      Map<String, dev.ckpt.PartSink> sinks = new java.util.LinkedHashMap<>();
      for (String name : expected.keySet()) {
        byte[] into = new byte[chunk];
        got.put(name, into);
        sinks.put(name, new dev.ckpt.PartSink() {
          @Override
          public void write(long position, ByteBuffer data) {
            threads.add(Thread.currentThread().getName());
            data.get(into, (int) position, data.remaining());
          }

          @Override
          public void zero(long position, long length) {
            Arrays.fill(into, (int) position, (int) (position + length), (byte) 0);
          }
        });
      }
      try (ImageReader reader = store.open("stacks", info.id())) {
        reader.readAll(sinks);
      }
      for (Map.Entry<String, byte[]> e : expected.entrySet()) {
        assertArrayEquals(e.getValue(), got.get(e.getKey()), e.getKey());
      }
      assertTrue(threads.size() >= 2, "25 MiB of decompressed chunks decoded on " + threads);
    }
  }

  /**
   * A part written against a base copies the base's unchanged chunks by reference: the bytes
   * read back are the new ones where written and the base's elsewhere, only the written chunks
   * are hashed and stored, and ranges off the chunk grid, beyond the base part, of a part the
   * base lacks, or without a base are refused without appending anything.
   */
  @Test
  void copyFromBase_referencesTheBasesChunks_andStoresOnlyWhatWasWritten() throws Exception {
    try (CheckpointStore store = CheckpointStore.builder().uri(dir.toUri()).chunkSize(CHUNK).parallelism(2).build()) {
      Random r = new Random(11);
      byte[] old = new byte[CHUNK * 40];
      r.nextBytes(old);
      Arrays.fill(old, CHUNK * 10, CHUNK * 20, (byte) 0); // a zero run in the base
      CheckpointInfo base;
      try (ImageWriter w = store.newImage("based")) {
        try (PartOutput out = w.part("mem", Map.of())) {
          out.write(old, 0, old.length);
        }
        base = w.commit();
      }
      byte[] now = old.clone();
      byte[] fresh = new byte[CHUNK];
      r.nextBytes(fresh);
      System.arraycopy(fresh, 0, now, CHUNK * 3, CHUNK);
      CheckpointInfo next;
      try (ImageWriter w = store.newImage("based")) {
        try (PartOutput out = w.part("nobase", Map.of())) {
          assertEquals(false, out.copyFromBase(CHUNK), "no base set yet");
        }
        assertEquals(false, w.base(base.id() + 5), "no such checkpoint");
        assertEquals(true, w.base(base.id()));
        try (PartOutput out = w.part("mem2", Map.of())) {
          assertEquals(false, out.copyFromBase(CHUNK), "the base has no part mem2");
          out.write(fresh, 0, 10);
          assertEquals(false, out.copyFromBase(CHUNK), "off the grid, and still no part mem2");
        }
        try (PartOutput out = w.part("other", Map.of())) {
          out.write(fresh, 0, CHUNK);
        }
        try (PartOutput out = w.part("mem", Map.of())) {
          assertEquals(true, out.copyFromBase(CHUNK * 3));
          out.write(fresh, 0, CHUNK);
          assertEquals(true, out.copyFromBase(CHUNK * 12), "through part of the zero run");
          assertEquals(true, out.copyFromBase(CHUNK * 24));
          assertEquals(false, out.copyFromBase(CHUNK), "beyond the base part's end");
          assertEquals(now.length, out.position());
        }
        next = w.commit();
      }
      assertEquals(2L * CHUNK + 10, next.bytesScanned(), "only the written bytes are hashed");
      try (ImageReader reader = store.open("based", next.id())) {
        assertArrayEquals(now, reader.readBytes("mem"));
      }
      org.junit.jupiter.api.Assertions.assertTrue(store.verify("based", next.id()).ok());
    }
  }

  /**
   * Ranges copied from the base at any offset, cutting its chunks, between bytes written anew:
   * over generations in which a few pages change each time, every checkpoint reads back exactly
   * and verifies, only the written bytes are hashed, and a window cut into too many slices is
   * refused (then written whole) instead of being cut further.
   */
  @Test
  void copyFromBase_cuttingChunks_readsBackExactlyOverGenerations() throws Exception {
    int chunk = 16 * 1024;
    int page = 512;
    int pages = 64 * chunk / page;
    long seed = System.nanoTime();
    Random r = new Random(seed);
    try (CheckpointStore store = CheckpointStore.builder().uri(dir.toUri()).chunkSize(chunk).parallelism(2).build()) {
      byte[] cur = new byte[pages * page];
      r.nextBytes(cur);
      Arrays.fill(cur, 10 * chunk, 12 * chunk + 3 * page, (byte) 0);
      CheckpointInfo last;
      try (ImageWriter w = store.newImage("sliced")) {
        try (PartOutput out = w.part("mem", Map.of())) {
          out.write(cur, 0, cur.length);
        }
        last = w.commit();
      }
      int refused = 0;
      for (int gen = 1; gen <= 12; gen++) {
        boolean[] dirty = new boolean[pages];
        for (int k = 0; k < 20; k++) { // scattered pages, some of them zeroed
          int p = r.nextInt(pages);
          dirty[p] = true;
          if (r.nextInt(4) == 0) {
            Arrays.fill(cur, p * page, (p + 1) * page, (byte) 0);
          } else {
            byte[] b = new byte[page];
            r.nextBytes(b);
            System.arraycopy(b, 0, cur, p * page, page);
          }
        }
        int window = 3 * chunk / page; // one window changes in every other page each time
        for (int p = window + gen % 2; p < window + chunk / page; p += 4) {
          dirty[p] = true;
          cur[p * page + r.nextInt(page)] ^= 0x5a;
        }
        long written = 0;
        try (ImageWriter w = store.newImage("sliced")) {
          assertTrue(w.base(last.id()));
          try (PartOutput out = w.part("mem", Map.of())) {
            for (int p = 0; p < pages; ) {
              int q = p;
              while (q < pages && dirty[q] == dirty[p]) {
                q++;
              }
              int from = p * page;
              int len = (q - p) * page;
              if (dirty[p] || !out.copyFromBase(len)) {
                refused += dirty[p] ? 0 : 1;
                out.write(cur, from, len);
                written += len;
              }
              assertEquals(q * (long) page, out.position());
              p = q;
            }
          }
          last = w.commit();
        }
        assertTrue(last.bytesScanned() <= written, "seed " + seed + " generation " + gen + ": hashed "
            + last.bytesScanned() + " bytes, more than the " + written + " written");
        try (ImageReader reader = store.open("sliced", last.id())) {
          assertArrayEquals(cur, reader.readBytes("mem"), "seed " + seed + " generation " + gen);
        }
        assertTrue(store.verify("sliced", last.id()).ok(), "seed " + seed + " generation " + gen);
      }
      assertTrue(refused > 0, "seed " + seed + ": the window cut in every checkpoint was never refused");
    }
  }
}
