package dev.ckpt.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ckpt.CheckpointException;
import dev.ckpt.CheckpointHook;
import dev.ckpt.CheckpointInfo;
import dev.ckpt.Checkpointable;
import dev.ckpt.Checkpointer;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The two phases of an application-state checkpoint: a snapshot while the writers are paused,
 * then the write while they run on.
 */
class AppSnapshotIT {
  @TempDir
  Path dir;

  /** The writer's invariant: every long of both segments holds {@code value}. */
  static final class Stamp {
    long value;
  }

  static final class StampHolder implements Checkpointable<Stamp> {
    volatile Stamp stamp = new Stamp();

    @Override
    public Stamp captureState() {
      return stamp;
    }

    @Override
    public void restoreState(Stamp state) {
      stamp = state;
    }
  }

  /** Pauses the writer from beforeCheckpoint to afterSnapshot, and counts its steps around the write. */
  static final class Gate implements CheckpointHook {
    final Semaphore writer = new Semaphore(1, true); // fair: the writer must not barge back in before a checkpoint
    final AtomicLong steps = new AtomicLong();
    final List<long[]> stepsAroundWrites = new ArrayList<>();
    long atSnapshot;

    @Override
    public void beforeCheckpoint() {
      writer.acquireUninterruptibly();
    }

    // A semaphore, not a lock: without copies an asynchronous checkpoint's afterSnapshot runs on
    // the executor, another thread than the one that took it.

    @Override
    public void afterSnapshot() {
      atSnapshot = steps.get();
      writer.release();
    }

    @Override
    public void afterCheckpoint(boolean committed) {
      synchronized (stepsAroundWrites) {
        stepsAroundWrites.add(new long[] {atSnapshot, steps.get()});
      }
    }
  }

  private static void fill(ByteBuffer b, long v) {
    for (int i = 0; i + 8 <= b.capacity(); i += 8) {
      b.putLong(i, v);
    }
  }

  private static void assertHolds(ByteBuffer b, long v, String what) {
    for (int i = 0; i + 8 <= b.capacity(); i += 8) {
      if (b.getLong(i) != v) {
        throw new AssertionError(what + ": long at " + i + " is " + b.getLong(i) + ", the object says " + v
            + " (a torn snapshot)");
      }
    }
  }

  /**
   * A writer keeps two segments and an object at one value, changing all three under a lock that
   * the hooks hold from beforeCheckpoint to afterSnapshot. Every checkpoint, synchronous or
   * asynchronous, restores to one value in all three, its pause is recorded and shorter than the
   * checkpoint, and the writer makes progress while checkpoints are written.
   */
  @Test
  void concurrentWriter_everyCheckpointHoldsOneMoment_andWritesRunWhileTheWriterGoesOn() throws Exception {
    List<long[]> around = checkpointWhileWriting(true);
    assertTrue(around.stream().anyMatch(s -> s[1] > s[0]), "the writer never ran while a checkpoint was written: it"
        + " was paused for the whole checkpoint");
  }

  /** Without copies the segments are written in place, and the writer stays paused until they are. */
  @Test
  void withoutCopies_everyCheckpointHoldsOneMoment_andTheWriterWaitsForTheWrite() throws Exception {
    List<long[]> around = checkpointWhileWriting(false);
    assertTrue(around.stream().allMatch(s -> s[1] == s[0]), "the writer ran before the segments were written");
  }

  /**
   * Eight checkpoints, synchronous and asynchronous, of two segments and an object that a writer
   * keeps at one value; each restores to one value in all three, later than the one before, with
   * its pause recorded and shorter than the whole checkpoint. Returns the writer's step counts at
   * the end of each snapshot and after each checkpoint.
   */
  private List<long[]> checkpointWhileWriting(boolean copy) throws Exception {
    ByteBuffer a = ByteBuffer.allocateDirect(8 << 20);
    ByteBuffer b = ByteBuffer.allocateDirect(1 << 20);
    StampHolder holder = new StampHolder();
    Gate gate = new Gate();
    AtomicBoolean running = new AtomicBoolean(true);
    Thread writer = new Thread(() -> {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
      for (long n = 1; running.get() && n < 1_000_000 && System.nanoTime() < deadline; n++) {
        gate.writer.acquireUninterruptibly();
        try {
          fill(a, n);
          fill(b, n);
          Stamp s = new Stamp();
          s.value = n;
          holder.stamp = s;
        } finally {
          gate.writer.release();
        }
        gate.steps.incrementAndGet();
      }
    }, "state-writer");
    List<CheckpointInfo> infos = new ArrayList<>();
    try (Checkpointer ckpt = Checkpointer.builder().store(dir.toUri()).job("torn").register("stamp", holder)
        .registerSegment("a", a).registerSegment("b", b).hook(gate).kryoClasses(Stamp.class).copySegments(copy).build()) {
      writer.start();
      while (gate.steps.get() < 3) {
        Thread.sleep(1);
      }
      for (int i = 0; i < 8; i++) {
        infos.add(i % 2 == 0 ? ckpt.checkpoint() : ckpt.checkpointAsync().get(60, TimeUnit.SECONDS));
      }
      running.set(false);
      writer.join(TimeUnit.SECONDS.toMillis(30));
      long previous = 0;
      for (CheckpointInfo info : infos) {
        assertTrue(info.frozen().toNanos() > 0, info.ref() + " records no pause");
        assertTrue(info.frozen().compareTo(info.duration()) < 0, info.ref() + ": pause " + info.frozen()
            + " is not shorter than the checkpoint's " + info.duration());
        ckpt.restore(info.id());
        long v = holder.stamp.value;
        assertTrue(v > 0, info.ref() + " holds the state before the writer began");
        assertHolds(a, v, info.ref() + " segment a");
        assertHolds(b, v, info.ref() + " segment b");
        assertTrue(v >= previous, info.ref() + " holds step " + v + ", older than the checkpoint before (" + previous + ")");
        previous = v;
      }
      return gate.stepsAroundWrites;
    } finally {
      running.set(false);
      writer.join(TimeUnit.SECONDS.toMillis(30));
    }
  }

  /** The afterSnapshot hooks run before the commit: the newest checkpoint is still the previous one then. */
  @Test
  void afterSnapshotRunsBeforeTheCommit_andAfterCheckpointAfterIt() throws Exception {
    List<String> events = new ArrayList<>();
    Checkpointer[] self = new Checkpointer[1];
    CheckpointHook hook = new CheckpointHook() {
      @Override
      public void beforeCheckpoint() {
        events.add("before");
      }

      @Override
      public void afterSnapshot() throws Exception {
        events.add("snapshot, newest " + self[0].latest().map(CheckpointInfo::id).orElse(0L));
      }

      @Override
      public void afterCheckpoint(boolean committed) throws Exception {
        events.add("after " + committed + ", newest " + self[0].latest().map(CheckpointInfo::id).orElse(0L));
      }
    };
    try (Checkpointer ckpt = Checkpointer.builder().store(dir.toUri()).job("order")
        .registerSegment("s", ByteBuffer.allocateDirect(1 << 20)).hook(hook).build()) {
      self[0] = ckpt;
      CheckpointInfo first = ckpt.checkpoint();
      CheckpointInfo second = ckpt.checkpointAsync().get(60, TimeUnit.SECONDS);
      assertEquals(List.of("before", "snapshot, newest 0", "after true, newest " + first.id(),
          "before", "snapshot, newest " + first.id(), "after true, newest " + second.id()), events);
    }
  }

  /**
   * An asynchronous checkpoint whose snapshot fails completes exceptionally with a
   * CheckpointException; the hooks get both after-calls, and the next checkpoint works.
   */
  @Test
  void asyncCheckpointWhoseSnapshotFails_failsItsFuture_andTheNextOneCommits() throws Exception {
    List<String> events = new ArrayList<>();
    StampHolder holder = new StampHolder();
    CheckpointHook hook = new CheckpointHook() {
      @Override
      public void afterSnapshot() {
        events.add("snapshot");
      }

      @Override
      public void afterCheckpoint(boolean committed) {
        events.add("after " + committed);
      }
    };
    try (Checkpointer ckpt = Checkpointer.builder().store(dir.toUri()).job("fails").register("stamp", holder).hook(hook)
        .build()) { // Stamp not registered with Kryo
      CompletableFuture<CheckpointInfo> f = ckpt.checkpointAsync();
      CompletionException e = assertThrows(CompletionException.class, f::join);
      assertTrue(e.getCause() instanceof CheckpointException, e.getCause().toString());
      assertTrue(e.getCause().getMessage().contains(Stamp.class.getName()), e.getCause().getMessage());
      assertEquals(List.of("snapshot", "after false"), events);
    }
    try (Checkpointer ckpt = Checkpointer.builder().store(dir.toUri()).job("fails").register("stamp", holder)
        .kryoClasses(Stamp.class).build()) {
      holder.stamp.value = 7;
      ckpt.checkpointAsync().get(60, TimeUnit.SECONDS);
      holder.stamp = new Stamp();
      ckpt.restoreLatest();
      assertEquals(7, holder.stamp.value);
    }
  }

  /**
   * Closing right after an asynchronous checkpoint returns waits for its write (the store it
   * opened would otherwise close under it); afterwards every call says the checkpointer is closed.
   */
  @Test
  void closeWaitsForTheWrite_andLaterCallsSayClosed() throws Exception {
    ByteBuffer big = ByteBuffer.allocateDirect(32 << 20);
    for (int i = 0; i + 8 <= big.capacity(); i += 8) {
      big.putLong(i, i * 0x9E3779B97F4A7C15L);
    }
    Checkpointer ckpt = Checkpointer.builder().store(dir.toUri()).job("closing").registerSegment("big", big).build();
    CompletableFuture<CheckpointInfo> f = ckpt.checkpointAsync();
    ckpt.close();
    assertTrue(f.isDone(), "close returned before the write ended");
    CheckpointInfo info = f.get();
    IllegalStateException e = assertThrows(IllegalStateException.class, ckpt::checkpointAsync);
    assertTrue(e.getMessage().contains("closed"), e.getMessage());
    assertThrows(IllegalStateException.class, ckpt::checkpoint);
    try (Checkpointer again = Checkpointer.builder().store(dir.toUri()).job("closing").registerSegment("big",
        ByteBuffer.allocateDirect(32 << 20)).build()) {
      assertEquals(info.id(), again.latest().orElseThrow().id());
    }
  }
}
