package dev.ckpt.benchmarks;

import com.sun.jna.Memory;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * The benchmark image: 1 GiB of native memory in 1 MiB blocks, half zeros, a quarter random and
 * a quarter text, interleaved as a process's memory would be.
 */
final class ImageData {
  static final long SIZE = 1L << 30;
  static final int BLOCK = 1 << 20;

  private ImageData() {}

  static Memory allocate() {
    return allocate(false);
  }

  /** The image, or with {@code incompressible} 1 GiB of random bytes: nothing to skip, nothing to compress. */
  static Memory allocate(boolean incompressible) {
    Memory m = new Memory(SIZE);
    for (long i = 0; i < SIZE / BLOCK; i++) {
      fill(m.getByteBuffer(i * BLOCK, BLOCK), incompressible ? i * 4 : i, 0);
    }
    return m;
  }

  static void fill(ByteBuffer block, long index, long generation) {
    block.clear().order(ByteOrder.LITTLE_ENDIAN);
    switch ((int) (index % 4)) {
      case 0 -> {
        SplittableRandom r = new SplittableRandom(index * 31 + generation);
        while (block.hasRemaining()) {
          block.putLong(r.nextLong());
        }
      }
      case 1 -> {
        byte[] line = ("INFO block " + index + " gen " + generation + ": worker step completed, residual 0.00"
            + (index % 97) + "\n").getBytes();
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
  }

  /** A fresh directory on tmpfs (/dev/shm), so writes land in the page cache as the targets say. */
  static Path scratch(String name) throws IOException {
    Path base = Path.of("/dev/shm");
    if (!Files.isDirectory(base)) {
      base = Path.of(System.getProperty("java.io.tmpdir"));
    }
    return Files.createTempDirectory(base, "ckpt-bench-" + name + "-");
  }

  static void delete(Path dir) throws IOException {
    if (dir == null || !Files.exists(dir)) {
      return;
    }
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
