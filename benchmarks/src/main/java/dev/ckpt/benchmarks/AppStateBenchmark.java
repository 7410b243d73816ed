package dev.ckpt.benchmarks;

import com.sun.jna.Memory;
import dev.ckpt.CheckpointInfo;
import dev.ckpt.CheckpointStore;
import dev.ckpt.Checkpointer;
import dev.ckpt.Compression;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.TimeUnit;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * Dump and restore of 1 GiB of off-heap state to the local store on tmpfs, against two
 * baselines on the same bytes: a plain FileChannel write/read, and LZ4 alone. Each operation
 * moves 1 GiB, so throughput in GB/s is 1.074 divided by the seconds per operation.
 */
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3)
@Measurement(iterations = 10)
@Fork(value = 1, jvmArgsAppend = {"-Xmx1g"})
@State(Scope.Benchmark)
public class AppStateBenchmark {
  private static final int CHUNK = 64 * 1024;

  @Param({"LZ4", "NONE"})
  public String compression;

  Memory memory;
  Path dir;
  CheckpointStore store;
  int job;
  ByteBuffer io;
  LZ4Compressor lz4;
  LZ4SafeDecompressor unlz4;
  byte[] raw;
  byte[] packed;
  byte[][] compressedBlocks;

  @Setup(Level.Trial)
  public void setUp() throws Exception {
    memory = ImageData.allocate();
    dir = ImageData.scratch("app");
    store = CheckpointStore.builder().uri(dir.toUri()).compression(Compression.valueOf(compression)).build();
    io = ByteBuffer.allocateDirect(1 << 20);
    LZ4Factory f = LZ4Factory.fastestInstance();
    lz4 = f.fastCompressor();
    unlz4 = f.safeDecompressor();
    raw = new byte[CHUNK];
    packed = new byte[lz4.maxCompressedLength(CHUNK)];
    compressedBlocks = new byte[(int) (ImageData.SIZE / CHUNK)][];
    for (int i = 0; i < compressedBlocks.length; i++) {
      memory.read((long) i * CHUNK, raw, 0, CHUNK);
      int n = lz4.compress(raw, 0, CHUNK, packed, 0, packed.length);
      compressedBlocks[i] = java.util.Arrays.copyOf(packed, n);
    }
    // The file the read baseline reads, written once like the image the restore benchmark reads.
    writeAll(dir.resolve("baseline-read.bin"));
    // One committed image for the restore benchmark.
    try (Checkpointer c = checkpointer("restore")) {
      c.checkpoint();
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() throws Exception {
    store.close();
    ImageData.delete(dir);
    memory.close();
  }

  /**
   * Removes what an iteration wrote, so every iteration writes into recycled page-cache pages.
   * Without this, later dumps land on never-touched guest memory, which costs ~10 us per page in
   * this VM and would measure the hypervisor, not ckpt (the baseline rewrites one file, so it
   * always recycles its pages).
   */
  @TearDown(Level.Iteration)
  public void removeIterationOutput() throws Exception {
    for (int j = 0; j < job; j++) {
      ImageData.delete(dir.resolve("dump-" + j));
    }
    java.nio.file.Files.deleteIfExists(dir.resolve("baseline.bin"));
  }

  private Checkpointer checkpointer(String jobName) throws Exception {
    return Checkpointer.builder().store(store).job(jobName).registerSegment("heap", dev.ckpt.linux.JnaMemory.of(memory, ImageData.SIZE)).build();
  }

  /** Each dump is a first dump: a new job, so nothing deduplicates against an earlier run. */
  @Benchmark
  public CheckpointInfo dump() throws Exception {
    try (Checkpointer c = checkpointer("dump-" + job++)) {
      return c.checkpoint();
    }
  }

  @Benchmark
  public CheckpointInfo restore() throws Exception {
    try (Checkpointer c = checkpointer("restore")) {
      return c.restoreLatest();
    }
  }

  /** Baseline: the same 1 GiB written with a FileChannel and fsynced. */
  @Benchmark
  public long baselineFileChannelWrite() throws Exception {
    return writeAll(dir.resolve("baseline.bin"));
  }

  private long writeAll(Path f) throws Exception {
    long n = 0;
    try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      for (long off = 0; off < ImageData.SIZE; off += io.capacity()) {
        ByteBuffer src = memory.getByteBuffer(off, io.capacity());
        while (src.hasRemaining()) {
          n += ch.write(src);
        }
      }
      ch.force(true);
    }
    return n;
  }

  /** Baseline: the same 1 GiB read back into the segment with a FileChannel. */
  @Benchmark
  public long baselineFileChannelRead() throws Exception {
    long n = 0;
    try (FileChannel ch = FileChannel.open(dir.resolve("baseline-read.bin"), StandardOpenOption.READ)) {
      for (long off = 0; off < ImageData.SIZE; off += io.capacity()) {
        ByteBuffer dst = memory.getByteBuffer(off, io.capacity());
        while (dst.hasRemaining()) {
          int r = ch.read(dst);
          if (r < 0) {
            throw new IllegalStateException("baseline file is short at " + off);
          }
          n += r;
        }
      }
    }
    return n;
  }

  /** Baseline: LZ4 alone over the same bytes in 64 KiB blocks, one thread. */
  @Benchmark
  public long baselineLz4Compress() {
    long n = 0;
    for (long off = 0; off < ImageData.SIZE; off += CHUNK) {
      memory.read(off, raw, 0, CHUNK);
      n += lz4.compress(raw, 0, CHUNK, packed, 0, packed.length);
    }
    return n;
  }

  /** Baseline: LZ4 decompression of the same bytes back into the segment, one thread. */
  @Benchmark
  public long baselineLz4Decompress(Blackhole bh) {
    long n = 0;
    for (int i = 0; i < compressedBlocks.length; i++) {
      byte[] c = compressedBlocks[i];
      n += unlz4.decompress(c, 0, c.length, raw, 0, CHUNK);
      memory.write((long) i * CHUNK, raw, 0, CHUNK);
    }
    bh.consume(raw);
    return n;
  }
}
