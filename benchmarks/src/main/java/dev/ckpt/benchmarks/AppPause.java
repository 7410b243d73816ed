package dev.ckpt.benchmarks;

import dev.ckpt.CheckpointInfo;
import dev.ckpt.Checkpointer;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * The pause of an application-state checkpoint (its snapshot: before-hooks, the copy of every
 * segment, afterSnapshot hooks) against a plain copy of the same bytes between direct buffers in
 * the same run, and the whole checkpoint's time. The segments are GiB of direct memory in 256 MiB
 * pieces, half zeros, a quarter random, a quarter text; between rounds 1% of each is rewritten.
 * The store is a temporary directory under {@code /dev/shm} (the page cache, as the other
 * application-state figures).
 * Usage: AppPause [GiB] [rounds] [copy|inplace]   (inplace: {@code copySegments(false)})
 */
public final class AppPause {
  private static final int WARMUP = 2;
  private static final int PIECE = 256 << 20;

  private AppPause() {}

  public static void main(String[] args) throws Exception {
    int gib = args.length > 0 ? Integer.parseInt(args[0]) : 1;
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 7;
    boolean copySegments = args.length <= 2 || !args[2].equals("inplace");
    List<ByteBuffer> segments = new ArrayList<>();
    List<ByteBuffer> targets = new ArrayList<>();
    Random random = new Random(42);
    for (int i = 0; i < gib * 4; i++) {
      ByteBuffer s = ByteBuffer.allocateDirect(PIECE);
      fill(s, random);
      segments.add(s);
      targets.add(ByteBuffer.allocateDirect(PIECE));
    }
    Path dir = Files.createTempDirectory(Path.of("/dev/shm"), "ckpt-pause-");
    List<Double> copies = new ArrayList<>();
    List<Double> pauses = new ArrayList<>();
    List<Double> totals = new ArrayList<>();
    Checkpointer.Builder b = Checkpointer.builder().store(dir.toUri()).job("pause").copySegments(copySegments);
    for (int i = 0; i < segments.size(); i++) {
      b.registerSegment("s" + i, segments.get(i));
    }
    try (Checkpointer ckpt = b.build()) {
      for (int r = 0; r < WARMUP + rounds; r++) {
        long t0 = System.nanoTime();
        for (int i = 0; i < segments.size(); i++) {
          targets.get(i).clear();
          targets.get(i).put(segments.get(i).duplicate().clear());
        }
        double copy = (System.nanoTime() - t0) / 1e9;
        CheckpointInfo info = ckpt.checkpoint();
        if (r >= WARMUP) {
          copies.add(copy);
          pauses.add(info.frozen().toNanos() / 1e9);
          totals.add(info.duration().toNanos() / 1e9);
        }
        for (ByteBuffer s : segments) {
          change(s, random);
        }
      }
    } finally {
      ImageData.delete(dir);
    }
    double c = median(copies);
    double p = median(pauses);
    double t = median(totals);
    System.out.printf("| %d GiB of segments | plain copy (baseline) | %.0f ms |%n", gib, c * 1e3);
    String how = copySegments ? "" : " (copySegments false)";
    System.out.printf("| %d GiB of segments | checkpoint pause%s | %.0f ms | %.2fx the copy |%n", gib, how, p * 1e3, p / c);
    System.out.printf("| %d GiB of segments | whole checkpoint%s | %.0f ms | %.2f GB/s |%n", gib, how, t * 1e3,
        gib * (double) (1L << 30) / t / 1e9);
  }

  /** Half zeros, a quarter random, a quarter text, in 1 MiB blocks. */
  private static void fill(ByteBuffer s, Random random) {
    byte[] block = new byte[1 << 20];
    byte[] text = "the quick brown fox jumps over the lazy dog; ".repeat(25000).getBytes();
    for (int off = 0; off < s.capacity(); off += block.length) {
      int kind = (off / block.length) % 4;
      if (kind == 2) {
        random.nextBytes(block);
        s.put(off, block);
      } else if (kind == 3) {
        s.put(off, text, 0, block.length);
      }
    }
  }

  /** Rewrites 1% of the segment, in 64 KiB runs of random bytes. */
  private static void change(ByteBuffer s, Random random) {
    byte[] run = new byte[64 << 10];
    for (int i = 0; i < s.capacity() / 100 / run.length; i++) {
      random.nextBytes(run);
      s.put(random.nextInt(s.capacity() / run.length) * run.length, run);
    }
  }

  private static double median(List<Double> xs) {
    List<Double> s = new ArrayList<>(xs);
    Collections.sort(s);
    return s.get(s.size() / 2);
  }
}
