package dev.ckpt.internal.image;

import dev.ckpt.CheckpointException;
import dev.ckpt.CorruptImageException;
import dev.ckpt.NoSuchKeyException;
import dev.ckpt.PartSink;
import dev.ckpt.ProgressListener;
import dev.ckpt.spi.BlobStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * The restore pipeline: groups the chunks to read into ranged reads of adjacent pack records,
 * runs at most {@code parallelism} of them at once, and verifies every chunk before any of its
 * bytes reaches a sink.
 */
final class ChunkFetcher {
  static final int MIN_RANGE = 1 << 20;
  static final int MAX_RANGE = 64 << 20;
  private static final long ZERO_PIECE = 4 << 20;

  /**
   * Range buffers are of the kind the store fills with the fewest copies, and reused per thread:
   * fresh multi-MiB buffers would cost page faults on every range.
   */
  private final ThreadLocal<ByteBuffer> rangeBuffers;
  /** Per thread too: a digest lookup and a 64 KiB array per range showed up in restore profiles. */
  private final ThreadLocal<MessageDigest> digests = ThreadLocal.withInitial(Hash256::newDigest);
  private final ThreadLocal<byte[]> rawBuffers = new ThreadLocal<>();
  /** Largest single ranged read, as the store prefers it; bounds memory at parallelism + 1 times this. */
  private final int rangeSize;

  private final BlobStore blobs;
  private final Executor executor;
  private final int parallelism;
  private final PackFormat format;

  private final ProgressListener progress;

  private final KeyRing keys;

  ChunkFetcher(BlobStore blobs, Executor executor, int parallelism, PackFormat format, ProgressListener progress,
      KeyRing keys) {
    this.keys = keys;
    this.progress = progress;
    this.blobs = blobs;
    this.executor = executor;
    this.parallelism = parallelism;
    this.format = format;
    this.rangeSize = Math.max(MIN_RANGE, Math.min(MAX_RANGE, blobs.preferredReadSize()));
    this.rangeBuffers = new ThreadLocal<>();
  }

  /**
   * A chunk to read, the part offsets it must be written to, and that part's sink (null to verify
   * only). {@code from} and {@code lengths}, per position, give the bytes of the chunk that go
   * there: all of it, or a slice.
   */
  private record Want(int chunk, long[] positions, int[] from, int[] lengths, PartSink sink, String where) {
    boolean wholeOnce(int rawLength) {
      return positions.length == 1 && from[0] == 0 && lengths[0] == rawLength;
    }
  }

  /** A zero run of a part, or a piece of one. */
  private record Zeros(PartSink sink, long position, long length, String where) {}

  /** Adjacent records of one pack read with one ranged request. */
  private record Range(String pack, long start, long end, long raw, List<Want> wants) {}

  /**
   * Most decompressed bytes one range yields. Chunks that compress to almost nothing (a thread's
   * stack chunk is mostly zeros) would otherwise fill one range with hundreds of MiB to decode and
   * hash, all of it on one thread.
   */
  static final long MAX_RANGE_RAW = 8 << 20;

  void readPart(Manifest m, Manifest.Part part, PartSink sink) throws CheckpointException {
    readParts(m, List.of(part), List.of(sink));
  }

  /**
   * Reads several parts as one plan: their chunks are read in pack order with one ranged request
   * per run of adjacent records, whichever part each belongs to. A process image has a part per
   * mapping, thousands of them a few pages each (a thread's stack): read one at a time, each
   * paid a request of its own.
   */
  void readParts(Manifest m, List<Manifest.Part> parts, List<PartSink> sinks) throws CheckpointException {
    List<Want> wants = new ArrayList<>();
    ArrayDeque<Zeros> zeros = new ArrayDeque<>();
    for (int i = 0; i < parts.size(); i++) {
      Manifest.Part part = parts.get(i);
      PartSink sink = sinks.get(i);
      String where = "checkpoint " + m.job() + "@" + m.id() + " part " + part.name();
      // Positions per chunk: a chunk repeated within a part is fetched once. A map, not a list
      // the size of the manifest's chunk table, which may hold thousands.
      Map<Integer, List<long[]>> positions = new LinkedHashMap<>();
      long pos = 0;
      for (int e = 0; e < part.extentCount(); e++) {
        int c = part.chunkIndex()[e];
        long length = part.length()[e];
        if (c < 0) {
          // Cut zero runs into pieces the caller can fill between hand-offs to the workers.
          for (long off = 0; off < length; off += ZERO_PIECE) {
            zeros.add(new Zeros(sink, pos + off, Math.min(ZERO_PIECE, length - off), where));
          }
        } else {
          positions.computeIfAbsent(c, k -> new ArrayList<>(1)).add(new long[] {pos, part.from()[e], length});
        }
        pos += length;
      }
      for (Map.Entry<Integer, List<long[]>> e : positions.entrySet()) {
        List<long[]> at = e.getValue();
        long[] p = new long[at.size()];
        int[] from = new int[at.size()];
        int[] lengths = new int[at.size()];
        for (int k = 0; k < p.length; k++) {
          p[k] = at.get(k)[0];
          from[k] = (int) at.get(k)[1];
          lengths[k] = (int) at.get(k)[2];
        }
        wants.add(new Want(e.getKey(), p, from, lengths, sink, where));
      }
    }
    run(m, wants, (failure) -> { }, false, zeros);
  }

  /**
   * Reads and verifies every chunk of {@code m} that is not in one of {@code skipPacks}; each
   * damaged piece is reported, not thrown. Returns how many chunks were checked.
   */
  int verifyAll(Manifest m, Set<String> skipPacks, Consumer<String> problems) throws CheckpointException {
    List<Want> wants = new ArrayList<>();
    String where = "checkpoint " + m.job() + "@" + m.id();
    for (int c = 0; c < m.chunks().size(); c++) {
      if (!skipPacks.contains(m.packs().get(m.chunks().get(c).pack()))) {
        wants.add(new Want(c, new long[0], new int[0], new int[0], null, where));
      }
    }
    run(m, wants, problems, true, new ArrayDeque<>());
    return wants.size();
  }

  /**
   * Hands ranges to the executor, at most {@code parallelism} at a time. When no slot is free the
   * calling thread fills a zero run or reads a range itself: it works as one more worker instead
   * of idling, and memory stays bounded by {@code parallelism + 1} ranges. With {@code collect},
   * each damaged piece goes to {@code problems} instead of failing the run.
   */
  private void run(Manifest m, List<Want> wants, Consumer<String> problems, boolean collect, ArrayDeque<Zeros> zeros)
      throws CheckpointException {
    List<Range> ranges = plan(m, wants);
    AtomicReference<CheckpointException> failure = new AtomicReference<>();
    if (ranges.size() <= 1) {
      // One range (a small part: a data segment, a few stacks): read on the calling thread.
      // Handing it to a worker and waiting costs more than the read itself.
      while (!zeros.isEmpty()) {
        fillZeros(zeros.poll());
      }
      if (!ranges.isEmpty()) {
        attempt(m, ranges.get(0), collect, problems, failure);
      }
      if (failure.get() != null) {
        throw failure.get();
      }
      return;
    }
    Semaphore slots = new Semaphore(parallelism);
    try {
      for (Range r : ranges) {
        if (failure.get() != null) {
          break;
        }
        if (!slots.tryAcquire()) {
          // Every worker is busy: the caller takes a piece itself rather than wait.
          if (!zeros.isEmpty()) {
            fillZeros(zeros.poll());
          }
          attempt(m, r, collect, problems, failure);
          continue;
        }
        try {
          executor.execute(() -> {
            try {
              attempt(m, r, collect, problems, failure);
            } finally {
              slots.release();
            }
          });
        } catch (RejectedExecutionException e) {
          slots.release();
          throw new CheckpointException(r.wants().get(0).where() + ": executor rejected a read task (is it shut down?)", e);
        }
      }
      while (!zeros.isEmpty() && failure.get() == null) {
        fillZeros(zeros.poll());
      }
    } finally {
      // Every range handed to a worker has ended before this returns, however it returns: a
      // worker still writing into a sink whose target the caller then closes (a process's
      // /proc/PID/mem, whose descriptor number may be reused at once) must not outlive the call.
      slots.acquireUninterruptibly(parallelism);
      slots.release(parallelism);
    }
    CheckpointException f = failure.get();
    if (f != null) {
      throw f;
    }
  }

  private void attempt(Manifest m, Range r, boolean collect, Consumer<String> problems,
      AtomicReference<CheckpointException> failure) {
    try {
      fetch(m, r);
    } catch (CheckpointException e) {
      if (collect) {
        synchronized (problems) {
          problems.accept(e.getMessage());
        }
      } else if (!failure.compareAndSet(null, e)) {
        failure.get().addSuppressed(e);
      }
    } catch (RuntimeException | Error e) {
      // Recorded, never lost on a pool thread: the caller rethrows it.
      CheckpointException ce = new CheckpointException(r.wants().get(0).where() + ": " + e, e);
      if (collect) {
        synchronized (problems) {
          problems.accept(ce.getMessage());
        }
      } else if (!failure.compareAndSet(null, ce)) {
        failure.get().addSuppressed(ce);
      }
    }
  }

  private static void fillZeros(Zeros z) throws CheckpointException {
    try {
      z.sink().zero(z.position(), z.length());
    } catch (IOException e) {
      throw new CheckpointException(z.where() + ": writing zeros at offset " + z.position() + " to the restore target failed: "
          + e.getMessage(), e);
    }
  }

  private List<Range> plan(Manifest m, List<Want> wants) {
    wants.sort(Comparator.<Want, Integer>comparing(w -> m.chunks().get(w.chunk()).pack())
        .thenComparingLong(w -> m.chunks().get(w.chunk()).offset()));
    List<Range> ranges = new ArrayList<>();
    Range cur = null;
    for (Want w : wants) {
      Manifest.Chunk c = m.chunks().get(w.chunk());
      String pack = m.packs().get(c.pack());
      long end = c.offset() + c.recordLength();
      if (cur != null && cur.pack().equals(pack) && c.offset() == cur.end() && end - cur.start() <= rangeSize
          && cur.raw() + c.rawLength() <= MAX_RANGE_RAW) {
        cur.wants().add(w);
        cur = new Range(pack, cur.start(), end, cur.raw() + c.rawLength(), cur.wants());
        ranges.set(ranges.size() - 1, cur);
      } else {
        cur = new Range(pack, c.offset(), end, c.rawLength(), new ArrayList<>(List.of(w)));
        ranges.add(cur);
      }
    }
    return ranges;
  }

  /**
   * This thread's range buffer, grown to hold {@code length} bytes: the smallest power of two
   * from 64 KiB, at most the range size. Allocated at full size, each thread of a fresh store paid
   * several milliseconds (a zeroed multi-MiB direct buffer) to read a few pages.
   */
  private ByteBuffer rangeBuffer(int length) {
    ByteBuffer b = rangeBuffers.get();
    if (b == null || b.capacity() < length) {
      int want = Math.min(rangeSize, Math.max(64 << 10, Integer.highestOneBit(Math.max(1, length - 1)) << 1));
      b = blobs.allocateReadBuffer(Math.max(want, length));
      rangeBuffers.set(b);
    }
    return b.clear().limit(length);
  }

  private void fetch(Manifest m, Range r) throws CheckpointException {
    String where = r.wants().get(0).where();
    String key = Layout.packKey(m.job(), r.pack());
    int length = Math.toIntExact(r.end() - r.start());
    ByteBuffer data = length <= rangeSize ? rangeBuffer(length) : ByteBuffer.allocate(length);
    int got;
    try {
      got = blobs.read(key, r.start(), data);
    } catch (NoSuchKeyException e) {
      throw new CorruptImageException(where + ": pack " + key + " is missing", e);
    }
    if (got != length) {
      throw new CorruptImageException(where + ": pack " + key + " is truncated: " + got + " of " + length
          + " bytes at offset " + r.start());
    }
    MessageDigest digest = digests.get();
    // The manifest was decoded with this ring, so its key is here.
    Sealing sealing = keys.forId(m.keyId(), "checkpoint " + m.job() + "@" + m.id());
    byte[] raw = rawBuffers.get();
    if (raw == null || raw.length < m.chunkSize()) {
      raw = new byte[m.chunkSize()];
      rawBuffers.set(raw);
    }
    for (Want w : r.wants()) {
      Manifest.Chunk c = m.chunks().get(w.chunk());
      PartSink sink = w.sink();
      ByteBuffer target = sink != null && w.wholeOnce(c.rawLength()) && (c.codec() & ~PackFormat.SEALED) == PackFormat.CODEC_LZ4
          ? sink.view(w.positions()[0], c.rawLength()) : null;
      ByteBuffer chunk = format.decode(data, (int) (c.offset() - r.start()), c.loc(m.packs()), c.hash(), digest, raw,
          sink == null, target, sealing);
      if (chunk == null) {
        progress.bytes(c.rawLength()); // decompressed in place
        continue;
      }
      if (sink != null) {
        for (int k = 0; k < w.positions().length; k++) {
          long p = w.positions()[k];
          int n = w.lengths()[k];
          ByteBuffer bytes = chunk.duplicate();
          bytes.position(bytes.position() + w.from()[k]).limit(bytes.position() + n);
          try {
            sink.write(p, bytes);
            progress.bytes(n);
          } catch (IOException e) {
            throw new CheckpointException(w.where() + ": writing " + n + " bytes at offset " + p
                + " to the restore target failed: " + e.getMessage(), e);
          }
        }
      }
    }
  }
}
