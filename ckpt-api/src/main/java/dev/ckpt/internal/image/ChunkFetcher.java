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
import java.util.List;
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

  ChunkFetcher(BlobStore blobs, Executor executor, int parallelism, PackFormat format, ProgressListener progress) {
    this.progress = progress;
    this.blobs = blobs;
    this.executor = executor;
    this.parallelism = parallelism;
    this.format = format;
    this.rangeSize = Math.max(MIN_RANGE, Math.min(MAX_RANGE, blobs.preferredReadSize()));
    this.rangeBuffers = ThreadLocal.withInitial(() -> blobs.allocateReadBuffer(rangeSize));
  }

  /** A chunk to read and the part offsets it must be written to. */
  private record Want(int chunk, long[] positions) {}

  /** Adjacent records of one pack read with one ranged request. */
  private record Range(String pack, long start, long end, List<Want> wants) {}

  void readPart(Manifest m, Manifest.Part part, PartSink sink) throws CheckpointException {
    String where = "checkpoint " + m.job() + "@" + m.id() + " part " + part.name();
    // Positions per chunk: a chunk repeated within a part is fetched once.
    List<List<Long>> positions = new ArrayList<>();
    for (int i = 0; i < m.chunks().size(); i++) {
      positions.add(null);
    }
    ArrayDeque<long[]> zeros = new ArrayDeque<>();
    long pos = 0;
    for (int e = 0; e < part.extentCount(); e++) {
      int c = part.chunkIndex()[e];
      if (c < 0) {
        // Cut zero runs into pieces the caller can fill between hand-offs to the workers.
        for (long off = 0; off < part.zeroRun()[e]; off += ZERO_PIECE) {
          zeros.add(new long[] {pos + off, Math.min(ZERO_PIECE, part.zeroRun()[e] - off)});
        }
        pos += part.zeroRun()[e];
      } else {
        if (positions.get(c) == null) {
          positions.set(c, new ArrayList<>(1));
        }
        positions.get(c).add(pos);
        pos += m.chunks().get(c).rawLength();
      }
    }
    List<Want> wants = new ArrayList<>();
    for (int c = 0; c < positions.size(); c++) {
      List<Long> ps = positions.get(c);
      if (ps != null) {
        wants.add(new Want(c, ps.stream().mapToLong(Long::longValue).toArray()));
      }
    }
    run(m, wants, where, (failure) -> { }, sink, zeros);
  }

  /**
   * Reads and verifies every chunk of {@code m} that is not in one of {@code skipPacks}; each
   * damaged piece is reported, not thrown. Returns how many chunks were checked.
   */
  int verifyAll(Manifest m, Set<String> skipPacks, Consumer<String> problems) throws CheckpointException {
    List<Want> wants = new ArrayList<>();
    for (int c = 0; c < m.chunks().size(); c++) {
      if (!skipPacks.contains(m.packs().get(m.chunks().get(c).pack()))) {
        wants.add(new Want(c, new long[0]));
      }
    }
    run(m, wants, "checkpoint " + m.job() + "@" + m.id(), problems, null, new ArrayDeque<>());
    return wants.size();
  }

  /**
   * Hands ranges to the executor, at most {@code parallelism} at a time. When no slot is free the
   * calling thread fills a zero run or reads a range itself: it works as one more worker instead
   * of idling, and memory stays bounded by {@code parallelism + 1} ranges.
   */
  private void run(Manifest m, List<Want> wants, String where, Consumer<String> problems, PartSink sink,
      ArrayDeque<long[]> zeros) throws CheckpointException {
    List<Range> ranges = plan(m, wants);
    Semaphore slots = new Semaphore(parallelism);
    AtomicReference<CheckpointException> failure = new AtomicReference<>();
    boolean collect = sink == null;
    try {
      for (Range r : ranges) {
        if (failure.get() != null) {
          break;
        }
        if (!slots.tryAcquire()) {
          // Every worker is busy: the caller takes a piece itself rather than wait.
          if (!zeros.isEmpty()) {
            fillZeros(sink, zeros.poll(), where);
          }
          attempt(m, r, where, sink, collect, problems, failure);
          continue;
        }
        try {
          executor.execute(() -> {
            try {
              attempt(m, r, where, sink, collect, problems, failure);
            } finally {
              slots.release();
            }
          });
        } catch (RejectedExecutionException e) {
          slots.release();
          throw new CheckpointException(where + ": executor rejected a read task (is it shut down?)", e);
        }
      }
      while (!zeros.isEmpty() && failure.get() == null) {
        fillZeros(sink, zeros.poll(), where);
      }
      slots.acquire(parallelism);
      slots.release(parallelism);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CheckpointException(where + ": interrupted", e);
    }
    CheckpointException f = failure.get();
    if (f != null) {
      throw f;
    }
  }

  private void attempt(Manifest m, Range r, String where, PartSink sink, boolean collect, Consumer<String> problems,
      AtomicReference<CheckpointException> failure) {
    try {
      fetch(m, r, where, sink);
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
      CheckpointException ce = new CheckpointException(where + ": " + e, e);
      if (collect) {
        synchronized (problems) {
          problems.accept(ce.getMessage());
        }
      } else if (!failure.compareAndSet(null, ce)) {
        failure.get().addSuppressed(ce);
      }
    }
  }

  private static void fillZeros(PartSink sink, long[] piece, String where) throws CheckpointException {
    try {
      sink.zero(piece[0], piece[1]);
    } catch (IOException e) {
      throw new CheckpointException(where + ": writing zeros at offset " + piece[0] + " to the restore target failed: "
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
      if (cur != null && cur.pack().equals(pack) && c.offset() == cur.end() && end - cur.start() <= rangeSize) {
        cur.wants().add(w);
        cur = new Range(pack, cur.start(), end, cur.wants());
        ranges.set(ranges.size() - 1, cur);
      } else {
        cur = new Range(pack, c.offset(), end, new ArrayList<>(List.of(w)));
        ranges.add(cur);
      }
    }
    return ranges;
  }

  private void fetch(Manifest m, Range r, String where, PartSink sink) throws CheckpointException {
    String key = Layout.packKey(m.job(), r.pack());
    int length = Math.toIntExact(r.end() - r.start());
    ByteBuffer data = length <= rangeSize ? rangeBuffers.get().clear().limit(length) : ByteBuffer.allocate(length);
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
    byte[] raw = rawBuffers.get();
    if (raw == null || raw.length < m.chunkSize()) {
      raw = new byte[m.chunkSize()];
      rawBuffers.set(raw);
    }
    for (Want w : r.wants()) {
      Manifest.Chunk c = m.chunks().get(w.chunk());
      ByteBuffer target = sink != null && w.positions().length == 1 && c.codec() == PackFormat.CODEC_LZ4
          ? sink.view(w.positions()[0], c.rawLength()) : null;
      ByteBuffer chunk = format.decode(data, (int) (c.offset() - r.start()), c.loc(m.packs()), c.hash(), digest, raw,
          sink == null, target);
      if (chunk == null) {
        progress.bytes(c.rawLength()); // decompressed in place
        continue;
      }
      if (sink != null) {
        for (long p : w.positions()) {
          try {
            sink.write(p, chunk.duplicate());
            progress.bytes(c.rawLength());
          } catch (IOException e) {
            throw new CheckpointException(where + ": writing " + c.rawLength() + " bytes at offset " + p
                + " to the restore target failed: " + e.getMessage(), e);
          }
        }
      }
    }
  }
}
