package dev.ckpt.internal.app;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.KryoException;
import com.esotericsoftware.kryo.Registration;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import dev.ckpt.CheckpointException;
import dev.ckpt.CheckpointHook;
import dev.ckpt.CheckpointInfo;
import dev.ckpt.CheckpointNotFoundException;
import dev.ckpt.CheckpointStore;
import dev.ckpt.Checkpointable;
import dev.ckpt.Checkpointer;
import dev.ckpt.ImageReader;
import dev.ckpt.ImageWriter;
import dev.ckpt.PartInfo;
import dev.ckpt.PartOutput;
import dev.ckpt.Retention;
import dev.ckpt.internal.image.BorrowingPartOutput;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The {@link Checkpointer} implementation: registered state as parts of an image. */
public final class AppCheckpointer implements Checkpointer {
  private static final Logger LOG = LoggerFactory.getLogger(AppCheckpointer.class);
  private static final int SLICE = 1 << 20;
  /**
   * One array of a segment's copy, unless the chunks are larger: small enough that G1 never
   * makes it a humongous object (half a region, and regions are at least 1 MiB), which would
   * cost up to twice its size in heap.
   */
  private static final int COPY_BATCH = 256 << 10;

  private final CheckpointStore store;
  private final boolean ownsStore;
  private final String job;
  private final List<StateRegistration> states;
  private final List<CheckpointHook> hooks;
  private final Kryo kryo;
  private final String kryoFingerprint;
  private final Retention retention;
  private volatile boolean closed;

  /** Where asynchronous checkpoints are written; {@link #ownExecutor} when the builder gave none. */
  private final java.util.concurrent.Executor executor;
  /** Segments are copied in the snapshot; otherwise written in place, the writers paused meanwhile. */
  private final boolean copySegments;
  private java.util.concurrent.ExecutorService ownExecutor;
  /**
   * Held from a snapshot's start until its write has ended: the next snapshot reuses the copy's
   * buffers, and close waits for the write.
   */
  private final java.util.concurrent.Semaphore writing = new java.util.concurrent.Semaphore(1);
  /** The store and executor were closed. */
  private boolean released;
  /** The thread that holds {@link #writing}, whose hooks may call close() (which must not wait for itself). */
  private volatile Thread holder;
  /** close() was called while a checkpoint held {@link #writing}, from that checkpoint's own thread. */
  private volatile boolean closeWhenWritten;
  /** The last asynchronous checkpoint's future: close() returns once it is complete. */
  private volatile java.util.concurrent.CompletableFuture<CheckpointInfo> lastWrite;
  /**
   * Per registration, reused: a segment's copy, an object's serialized bytes. A copy is a row of
   * heap arrays of {@link #COPY_BATCH} bytes that the image writer hashes and compresses in place
   * ({@link BorrowingPartOutput}), so the write copies nothing a second time.
   */
  private final Map<StateRegistration, SegmentCopy> segmentCopies = new java.util.HashMap<>();
  /** Zeros to compare a block with, as long as the longest block. */
  private ByteBuffer zeros = ByteBuffer.allocate(0);
  /**
   * The committed checkpoint whose stored blocks the copies' arrays hold, where {@link
   * SegmentCopy#held} says so; -1 for none. A block found equal to its array at the next snapshot
   * is then referenced from that checkpoint instead of being copied and hashed again.
   */
  private long copiesCommitted = -1;
  /** That checkpoint, as its commit returned it: the writer checks that its number still names it. */
  private CheckpointInfo copiesCommittedInfo;

  /**
   * A segment's copy: its blocks, and for each what the last snapshot found (zeros, or equal to
   * the array) and whether the array holds that block as {@link #copiesCommitted} stored it.
   */
  private static final class SegmentCopy {
    final byte[][] blocks;
    final boolean[] zero;
    final boolean[] unchanged;
    final boolean[] held;

    SegmentCopy(byte[][] blocks) {
      this.blocks = blocks;
      this.zero = new boolean[blocks.length];
      this.unchanged = new boolean[blocks.length];
      this.held = new boolean[blocks.length];
    }
  }

  private final Map<StateRegistration, Output> objectBytes = new java.util.HashMap<>();

  public AppCheckpointer(CheckpointStore store, boolean ownsStore, String job, List<StateRegistration> states,
      List<CheckpointHook> hooks, List<Class<?>> kryoClasses, Consumer<Kryo> kryoConfig, Retention retention,
      java.util.concurrent.Executor executor, boolean copySegments) {
    this.executor = executor;
    this.copySegments = copySegments;
    this.store = store;
    this.ownsStore = ownsStore;
    this.job = job;
    this.states = states;
    this.hooks = hooks;
    this.retention = retention;
    this.kryo = new Kryo();
    kryo.setRegistrationRequired(true);
    kryo.setReferences(true);
    for (Class<?> c : kryoClasses) {
      kryo.register(c);
    }
    kryoConfig.accept(kryo);
    this.kryoFingerprint = fingerprint(kryo);
  }

  /** Registration ids and class names: a restore with other registrations would misread objects. */
  private static String fingerprint(Kryo kryo) {
    StringBuilder s = new StringBuilder();
    for (int id = 0; id < kryo.getNextRegistrationId(); id++) {
      Registration r = kryo.getRegistration(id);
      if (r != null) {
        s.append(id).append('=').append(r.getType().getName()).append(';');
      }
    }
    byte[] digest;
    try {
      digest = java.security.MessageDigest.getInstance("SHA-256").digest(s.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    return HexFormat.of().formatHex(digest, 0, 8);
  }

  @Override
  public String job() {
    return job;
  }

  @Override
  public CheckpointStore store() {
    return store;
  }

  @Override
  public Optional<CheckpointInfo> latest() throws CheckpointException {
    checkOpen();
    return store.latest(job);
  }

  @Override
  public CheckpointInfo checkpoint() throws CheckpointException {
    return checkpoint(null);
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("this Checkpointer (job " + job + ") is closed");
    }
  }

  @Override
  public CheckpointInfo checkpoint(java.time.Instant deadline) throws CheckpointException {
    checkOpen();
    Snapshot taken = snapshot(deadline);
    try {
      return taken.finish();
    } finally {
      releaseWriting();
    }
  }

  private void takeWriting(String what) throws CheckpointException {
    if (holder == Thread.currentThread()) {
      throw new IllegalStateException(what + " of job " + job + " from within a checkpoint hook of the same checkpointer");
    }
    try {
      writing.acquire();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CheckpointException(what + " of job " + job + ": interrupted while waiting for the checkpoint being written", e);
    }
    holder = Thread.currentThread();
  }

  private void releaseWriting() {
    holder = null;
    writing.release();
    if (closeWhenWritten) {
      closeWhenWritten = false;
      closeNow();
    }
  }

  @Override
  public java.util.concurrent.CompletableFuture<CheckpointInfo> checkpointAsync() {
    checkOpen();
    Snapshot taken;
    try {
      taken = snapshot(null);
    } catch (CheckpointException e) {
      return java.util.concurrent.CompletableFuture.failedFuture(e);
    }
    java.util.concurrent.CompletableFuture<CheckpointInfo> done = new java.util.concurrent.CompletableFuture<>();
    lastWrite = done;
    holder = null; // handed to the executor's thread
    Runnable write = () -> {
      holder = Thread.currentThread();
      CheckpointInfo info = null;
      Throwable failed = null;
      try {
        info = taken.finish();
      } catch (Throwable e) {
        failed = e;
      } finally {
        // Released before the future completes: what runs on its completion may checkpoint again.
        releaseWriting();
      }
      if (failed == null) {
        done.complete(info);
      } else {
        done.completeExceptionally(failed);
      }
    };
    try {
      writer().execute(write);
    } catch (Throwable e) {
      taken.abandon(new CheckpointException("checkpoint of job " + job + ": its executor did not take the write of the"
          + " snapshot (is it shut down?): " + e, e));
      done.completeExceptionally(taken.failure);
    }
    return done;
  }

  private synchronized java.util.concurrent.Executor writer() {
    if (executor != null) {
      return executor;
    }
    if (ownExecutor == null) {
      ownExecutor = java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "ckpt-app-writer-" + job);
        t.setDaemon(true);
        return t;
      });
    }
    return ownExecutor;
  }

  /**
   * One checkpoint between its snapshot and its commit: the hooks that were prepared, the copy,
   * and the pause it cost. Its taker holds {@link #writing} until the snapshot is finished or
   * abandoned.
   */
  private final class Snapshot {
    final java.time.Instant deadline;
    /** Opened before the snapshot, so that the checkpoint's duration covers its pause too. */
    final ImageWriter writer;
    final List<CheckpointHook> prepared;
    /** When the before-hooks began. */
    final long start;
    /** When the afterSnapshot hooks ended; 0 while they are still to run (segments not copied). */
    long snapshotEnd;
    /** The segments were copied; otherwise they are written in place. */
    final boolean copied;
    CheckpointException failure;

    Snapshot(java.time.Instant deadline, ImageWriter writer, List<CheckpointHook> prepared, long start, boolean copied,
        CheckpointException failure) {
      this.deadline = deadline;
      this.writer = writer;
      this.prepared = prepared;
      this.start = start;
      this.copied = copied;
      this.failure = failure;
    }

    /** Writes and commits the copy (unless its snapshot failed), then runs the afterCheckpoint hooks. */
    CheckpointInfo finish() throws CheckpointException {
      CheckpointInfo info = null;
      try (writer) {
        if (failure == null) {
          info = write(this);
        }
      } catch (CheckpointException e) {
        addFailure(e);
      } catch (RuntimeException | Error e) {
        addFailure(new CheckpointException("checkpoint of job " + job + " failed: " + e, e));
      }
      if (snapshotEnd == 0) {
        afterSnapshot(prepared, this::addFailure); // segments written in place: the writers go on only now
      }
      afterCheckpoint(prepared, info != null);
      if (failure != null) {
        throw failure;
      }
      if (retention != null) {
        try {
          store.retain(job, retention);
        } catch (CheckpointException e) {
          // The checkpoint is committed; retention catches up next time.
          LOG.warn("retention after {} failed: {}", info.ref(), e.getMessage());
        }
      }
      return info;
    }

    /** Ends a snapshot that will not be written: the afterCheckpoint hooks learn it was not committed. */
    void abandon(CheckpointException why) {
      if (failure == null) {
        failure = why;
      }
      if (snapshotEnd == 0) {
        afterSnapshot(prepared, this::addFailure); // writers paused until the write, which will not come
      }
      try {
        writer.close();
      } catch (RuntimeException e) {
        addFailure(new CheckpointException("checkpoint of job " + job + ": closing its unwritten image failed: " + e, e));
      }
      try {
        afterCheckpoint(prepared, false);
      } finally {
        releaseWriting();
      }
    }

    private void afterCheckpoint(List<CheckpointHook> hooks, boolean committed) {
      for (int i = hooks.size() - 1; i >= 0; i--) {
        CheckpointHook h = hooks.get(i);
        try {
          h.afterCheckpoint(committed);
        } catch (Exception | Error e) {
          addFailure(new CheckpointException("after-checkpoint hook " + h.getClass().getName() + " of job " + job
              + " failed: " + e, e));
        }
      }
    }

    private void addFailure(CheckpointException e) {
      if (failure == null) {
        failure = e;
      } else {
        failure.addSuppressed(e);
      }
    }
  }

  /**
   * The snapshot phase, on the calling thread: before-hooks, the copy of every registered state,
   * afterSnapshot hooks. A failure here is kept in the snapshot, whose {@link Snapshot#finish}
   * then runs the afterCheckpoint hooks and throws it; nothing is written.
   */
  private Snapshot snapshot(java.time.Instant deadline) throws CheckpointException {
    takeWriting("checkpoint");
    if (closed) {
      releaseWriting();
      throw new IllegalStateException("this Checkpointer (job " + job + ") is closed");
    }
    ImageWriter writer = null;
    try {
      writer = store.newImage(job);
      return snapshot(deadline, writer);
    } catch (Throwable e) {
      // Nothing holds the image or the right to write any more: an Error too must not wedge the
      // checkpointer (every later checkpoint, and close, would wait for this one).
      if (writer != null) {
        try {
          writer.close();
        } catch (RuntimeException again) {
          e.addSuppressed(again);
        }
      }
      releaseWriting();
      if (e instanceof RuntimeException r) {
        throw new CheckpointException("checkpoint of job " + job + " failed: " + r, r);
      }
      throw e;
    }
  }

  private Snapshot snapshot(java.time.Instant deadline, ImageWriter writer) {
    synchronized (this) {
      long start = System.nanoTime();
      boolean copied = false;
      List<CheckpointHook> prepared = new ArrayList<>();
      CheckpointException failure = null;
      try {
        for (CheckpointHook h : hooks) {
          try {
            h.beforeCheckpoint();
          } catch (Exception | Error e) {
            throw new CheckpointException("checkpoint of job " + job + " aborted: before-hook " + h.getClass().getName()
                + " failed: " + e, e);
          }
          prepared.add(h);
        }
        copied = copySegments && copiesReady(writer.chunkSize());
        for (StateRegistration r : states) {
          if (r instanceof StateRegistration.ObjectState o) {
            serialize(o);
          } else if (copied) {
            copy((StateRegistration.Segment) r);
          }
        }
      } catch (CheckpointException e) {
        failure = e;
      } catch (RuntimeException | Error e) {
        // Whatever went wrong (a StackOverflowError in Kryo too), it is a failed checkpoint, and
        // the hooks still get their after-calls.
        failure = new CheckpointException("checkpoint of job " + job + " failed: " + e, e);
      }
      Snapshot taken = new Snapshot(deadline, writer, prepared, start, copied, failure);
      if (copied || failure != null) {
        afterSnapshot(prepared, taken::addFailure);
        taken.snapshotEnd = System.nanoTime();
      }
      return taken;
    }
  }

  private void afterSnapshot(List<CheckpointHook> prepared, Consumer<CheckpointException> failed) {
    for (int i = prepared.size() - 1; i >= 0; i--) {
      CheckpointHook h = prepared.get(i);
      try {
        h.afterSnapshot();
      } catch (Exception | Error e) {
        failed.accept(new CheckpointException("after-snapshot hook " + h.getClass().getName() + " of job " + job
            + " failed: " + e, e));
      }
    }
  }

  /** Serializes an object's captured state into its reused buffer. */
  private void serialize(StateRegistration.ObjectState o) throws CheckpointException {
    Object state;
    try {
      state = o.state.captureState();
    } catch (Exception e) {
      throw new CheckpointException("capturing state '" + o.name + "' of job " + job + " failed: " + e, e);
    }
    Output out = objectBytes.computeIfAbsent(o, k -> new Output(1 << 16, -1));
    out.reset();
    try {
      kryo.writeClassAndObject(out, state);
    } catch (KryoException | IllegalArgumentException e) {
      // Kryo throws IllegalArgumentException for a class that is not registered.
      CheckpointException cause = unwrap(e);
      if (cause != null) {
        throw cause;
      }
      throw new CheckpointException("serializing state '" + o.name + "' of job " + job + " failed: "
          + e.getMessage() + " (register every class it holds with kryoClasses(...))", e);
    }
    types.put(o, state == null ? "null" : state.getClass().getName());
  }

  /** The class of each object's state at the last snapshot, recorded with its part. */
  private final Map<StateRegistration, String> types = new java.util.HashMap<>();

  /**
   * Whether every segment has its copy, allocating what is missing. When the copies do not fit
   * (less than twice their size free in the heap, or an allocation fails), this checkpoint writes
   * the segments in place with the writers still paused, which is as consistent but pauses
   * longer: said once, and tried again at the next checkpoint.
   */
  private boolean copiesReady(int chunkSize) {
    int batch = Math.max(COPY_BATCH, chunkSize); // whole chunks: chunk sizes are powers of two
    long missing = 0;
    for (StateRegistration r : states) {
      if (r instanceof StateRegistration.Segment seg && !segmentCopies.containsKey(seg)) {
        // An array of more than half a G1 region is humongous and may take twice its size.
        missing += batch > COPY_BATCH ? 2 * seg.length() : seg.length();
      }
    }
    if (missing == 0) {
      return true;
    }
    long free = freeHeap();
    String why = null;
    if (missing > free / 2) {
      // Checked before allocating: a JVM run with -XX:+ExitOnOutOfMemoryError would exit on the
      // failed allocation, caught or not, and a full heap fails the application's own threads.
      why = "their copies need " + missing + " bytes of heap, and about " + free + " of "
          + Runtime.getRuntime().maxMemory() + " are free (-Xmx)";
    } else {
      try {
        for (StateRegistration r : states) {
          if (r instanceof StateRegistration.Segment seg && !segmentCopies.containsKey(seg)) {
            long length = seg.length();
            byte[][] copy = new byte[(int) ((length + batch - 1) / batch)][];
            for (int i = 0; i < copy.length; i++) {
              copy[i] = new byte[(int) Math.min(batch, length - (long) i * batch)];
            }
            segmentCopies.put(seg, new SegmentCopy(copy));
            if (zeros.capacity() < batch) {
              zeros = ByteBuffer.allocate(batch);
            }
          }
        }
      } catch (OutOfMemoryError e) {
        segmentCopies.clear();
        why = "no heap for their copies (" + e.getMessage() + "; -Xmx)";
      }
    }
    if (why != null) {
      if (copiesRefused == null) {
        LOG.warn("job {}: segments are not copied at this checkpoint: {}; they are written in place, and the"
            + " afterSnapshot hooks run only once they are written (a larger heap, or copySegments(false) to say so);"
            + " said once, tried again at each checkpoint", job, why);
      }
      copiesRefused = why;
      return false;
    }
    return true;
  }

  /**
   * The heap not held by live data, roughly: the maximum less what the pools other than eden
   * hold (eden is mostly garbage between collections, and counting it would refuse copies that fit).
   */
  private static long freeHeap() {
    long used = 0;
    for (java.lang.management.MemoryPoolMXBean pool : java.lang.management.ManagementFactory.getMemoryPoolMXBeans()) {
      if (pool.getType() == java.lang.management.MemoryType.HEAP && !pool.getName().contains("Eden")) {
        used += pool.getUsage().getUsed();
      }
    }
    return Runtime.getRuntime().maxMemory() - used;
  }

  /** Why segments were last not copied, so that it is said once; null until then. */
  private String copiesRefused;

  /**
   * Copies a segment into its arrays ({@link #copiesReady}), except two kinds of block, which are
   * only compared: those equal to their array, which holds what the last committed checkpoint
   * stored there (referenced from it by the write, not hashed again), and those of zeros (written
   * as a zero run). A block that differs from its array is copied from its first difference on:
   * the bytes before it are in the array already. So no block costs more than a copy of it, and
   * the write reads and hashes only the blocks that changed.
   */
  private void copy(StateRegistration.Segment s) {
    SegmentCopy c = segmentCopies.get(s);
    long off = 0;
    for (int i = 0; i < c.blocks.length; i++) {
      byte[] b = c.blocks[i];
      ByteBuffer from = s.slice(off, b.length);
      off += b.length;
      if (copiesCommitted > 0 && c.held[i]) {
        int first = from.mismatch(ByteBuffer.wrap(b));
        c.unchanged[i] = first < 0;
        c.zero[i] = false; // a block that became zeros is stored as any changed block
        if (first >= 0) {
          c.held[i] = false; // until this checkpoint commits
          from.get(first, b, first, b.length - first);
        }
      } else {
        c.unchanged[i] = false;
        c.zero[i] = from.mismatch(zeros.duplicate().clear().limit(b.length)) == -1;
        if (!c.zero[i]) {
          from.get(0, b, 0, b.length);
        }
      }
    }
  }

  /** After a commit: every array that was copied or found unchanged holds what {@code info} stored. */
  private void copiesCommitted(CheckpointInfo info) {
    for (SegmentCopy c : segmentCopies.values()) {
      for (int i = 0; i < c.blocks.length; i++) {
        c.held[i] = !c.zero[i];
      }
    }
    copiesCommitted = info.id();
    copiesCommittedInfo = info;
  }

  private CheckpointInfo write(Snapshot taken) throws CheckpointException {
    ImageWriter w = taken.writer;
    w.attribute("kind", "app");
    if (taken.deadline != null) {
      w.deadline(taken.deadline);
      w.checkDeadline(); // a deadline passed during the snapshot: nothing written
    }
    // Blocks unchanged since the checkpoint the copies hold are referenced from it, if it can
    // still be read (retention may have deleted it: then they are written and hashed as any).
    boolean based = taken.copied && copiesCommitted > 0
        && segmentCopies.values().stream().anyMatch(c -> contains(c.unchanged)) && w.base(copiesCommittedInfo);
    long referenced = 0;
    for (StateRegistration r : states) {
      if (r instanceof StateRegistration.ObjectState o) {
        Output bytes = objectBytes.get(o);
        try (PartOutput out = w.part(o.partName(), Map.of("kind", "object", "kryo", kryoFingerprint, "type", types.get(o)))) {
          out.write(bytes.getBuffer(), 0, bytes.position());
        }
      } else {
        StateRegistration.Segment seg = (StateRegistration.Segment) r;
        SegmentCopy copy = taken.copied ? segmentCopies.get(r) : null;
        try (PartOutput out = w.part(seg.partName(), Map.of("kind", "segment"))) {
          if (copy != null) {
            for (int i = 0; i < copy.blocks.length; i++) {
              byte[] b = copy.blocks[i];
              if (copy.zero[i]) {
                out.writeZeros(b.length);
              } else if (copy.unchanged[i] && based && out.copyFromBase(b.length)) {
                referenced += b.length;
              } else if (out instanceof BorrowingPartOutput lend) {
                // Lent until the commit: the next snapshot, which reuses the arrays, waits for it.
                lend.writeBorrowed(b, b.length);
              } else {
                out.write(ByteBuffer.wrap(b));
              }
            }
          } else {
            long length = seg.length();
            for (long off = 0; off < length; off += SLICE) {
              out.write(seg.slice(off, (int) Math.min(SLICE, length - off)));
            }
          }
        }
      }
    }
    // The pause: until the afterSnapshot hooks ended, or, writing in place, until now.
    long paused = (taken.snapshotEnd != 0 ? taken.snapshotEnd : System.nanoTime()) - taken.start;
    w.attribute(CheckpointInfo.FROZEN_NANOS, Long.toString(paused));
    if (referenced > 0) {
      w.attribute(CheckpointInfo.CHANGE_TRACKING, "compare-with-copy");
    }
    CheckpointInfo info = w.commit();
    if (taken.copied) {
      copiesCommitted(info);
    }
    return info;
  }

  private static boolean contains(boolean[] flags) {
    for (boolean f : flags) {
      if (f) {
        return true;
      }
    }
    return false;
  }

  private static CheckpointException unwrap(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof CheckpointException ce) {
        return ce;
      }
    }
    return null;
  }

  @Override
  public CheckpointInfo restoreLatest() throws CheckpointException {
    checkOpen();
    takeWriting("restore"); // not while a checkpoint is written: it may read segments in place
    try (ImageReader r = store.openLatest(job)) {
      return restore(r);
    } finally {
      releaseWriting();
    }
  }

  @Override
  public CheckpointInfo restore(long id) throws CheckpointException {
    checkOpen();
    takeWriting("restore");
    try (ImageReader r = store.open(job, id)) {
      return restore(r);
    } finally {
      releaseWriting();
    }
  }

  private synchronized CheckpointInfo restore(ImageReader r) throws CheckpointException {
    String ref = r.info().ref();
    if (!"app".equals(r.attributes().get("kind"))) {
      throw new CheckpointException("checkpoint " + ref + " is not an application-state image (kind "
          + r.attributes().get("kind") + ")");
    }
    // Check the whole image against the registrations before touching anything.
    for (StateRegistration s : states) {
      PartInfo p = r.part(s.partName()).orElseThrow(() -> new CheckpointNotFoundException(
          "checkpoint " + ref + " has no state '" + s.name + "' (part " + s.partName() + ")"));
      if (s instanceof StateRegistration.Segment seg && p.size() != seg.length()) {
        throw new CheckpointException("checkpoint " + ref + ": segment '" + s.name + "' holds " + p.size()
            + " bytes but the registered segment has " + seg.length());
      }
      if (s instanceof StateRegistration.ObjectState && !kryoFingerprint.equals(p.attributes().get("kryo"))) {
        throw new CheckpointException("checkpoint " + ref + ": state '" + s.name + "' was written with other Kryo "
            + "registrations (fingerprint " + p.attributes().get("kryo") + ", now " + kryoFingerprint
            + "); register the same classes in the same order");
      }
    }
    // Objects first: a state that cannot be read back must fail the restore before a single
    // segment byte is overwritten.
    List<Object> restored = new ArrayList<>();
    for (StateRegistration s : states) {
      if (s instanceof StateRegistration.ObjectState o) {
        byte[] bytes = r.readBytes(o.partName());
        try (Input in = new Input(bytes)) {
          restored.add(kryo.readClassAndObject(in));
        } catch (KryoException | IllegalArgumentException | IndexOutOfBoundsException e) {
          // The bytes passed their hash check: they are what was written, so the class changed.
          throw new dev.ckpt.StateSchemaException("checkpoint " + ref + ": state '" + o.name + "' (written as "
              + r.part(o.partName()).map(p -> p.attributes().get("type")).orElse("?") + ") cannot be read with the"
              + " classes as they are now: " + e.getMessage() + ". A class changed since the checkpoint (a field added,"
              + " removed or retyped); register it with Kryo's CompatibleFieldSerializer to allow that", e);
        }
      }
    }
    for (StateRegistration s : states) {
      if (s instanceof StateRegistration.Segment seg) {
        r.read(seg.partName(), seg);
      }
    }
    int i = 0;
    for (StateRegistration s : states) {
      if (s instanceof StateRegistration.ObjectState o) {
        try {
          restoreState(o.state, restored.get(i++));
        } catch (Exception e) {
          throw new CheckpointException("restoring state '" + o.name + "' from " + ref + " failed: " + e, e);
        }
      }
    }
    for (int h = hooks.size() - 1; h >= 0; h--) {
      try {
        hooks.get(h).afterRestore(r.info());
      } catch (Exception e) {
        throw new CheckpointException("after-restore hook " + hooks.get(h).getClass().getName() + " failed after "
            + ref + " was restored: " + e, e);
      }
    }
    return r.info();
  }

  @SuppressWarnings("unchecked")
  private static <S> void restoreState(Checkpointable<S> c, Object state) throws Exception {
    c.restoreState((S) state);
  }

  @Override
  public void close() {
    closed = true;
    if (holder == Thread.currentThread()) {
      // From a hook of a checkpoint in progress, which holds the right to write: it closes when it ends.
      closeWhenWritten = true;
      return;
    }
    // A snapshot being written finishes first: closing the store under it would fail it.
    writing.acquireUninterruptibly();
    writing.release();
    java.util.concurrent.CompletableFuture<CheckpointInfo> last = lastWrite;
    if (last != null) {
      last.handle((info, failure) -> null).join(); // completes right after the write gives back the right
    }
    closeNow();
  }

  private void closeNow() {
    synchronized (this) {
      if (released) {
        return;
      }
      released = true;
      if (ownExecutor != null) {
        ownExecutor.shutdown();
      }
      segmentCopies.clear();
      objectBytes.clear();
    }
    if (ownsStore) {
      store.close();
    }
  }
}
