package dev.ckpt.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ckpt.CheckpointException;
import dev.ckpt.CheckpointHook;
import dev.ckpt.CheckpointInfo;
import dev.ckpt.Checkpointable;
import dev.ckpt.CheckpointStore;
import dev.ckpt.Checkpointer;
import dev.ckpt.StoreException;
import dev.ckpt.spi.BlobStore;
import dev.ckpt.store.tck.ForwardingBlobStore;
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
import org.junit.jupiter.api.Timeout;
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

  /** Pauses the writer from beforeCheckpoint to afterSnapshot, and counts its steps. */
  static final class Gate implements CheckpointHook {
    final Semaphore writer = new Semaphore(1, true); // fair: the writer must not barge back in before a checkpoint
    final AtomicLong steps = new AtomicLong();
    volatile long atBefore;
    volatile long atSnapshot;

    @Override
    public void beforeCheckpoint() {
      writer.acquireUninterruptibly();
      atBefore = steps.get();
    }

    // A semaphore, not a lock: without copies an asynchronous checkpoint's afterSnapshot runs on
    // the executor, another thread than the one that took it.

    @Override
    public void afterSnapshot() {
      atSnapshot = steps.get();
      writer.release();
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
  @Timeout(180)
  void concurrentWriter_everyCheckpointHoldsOneMoment_andWritesRunWhileTheWriterGoesOn() throws Exception {
    List<String> atCommits = checkpointWhileWriting(true);
    assertEquals(List.of("writer ran"), atCommits.stream().distinct().toList(), "at each commit");
  }

  /** Without copies the segments are written in place, and the writer stays paused until they are. */
  @Test
  @Timeout(180)
  void withoutCopies_everyCheckpointHoldsOneMoment_andTheWriterWaitsForTheWrite() throws Exception {
    List<String> atCommits = checkpointWhileWriting(false);
    assertEquals(List.of("writer paused"), atCommits.stream().distinct().toList(), "at each commit");
  }

  /**
   * Eight checkpoints, synchronous and asynchronous, of two segments and an object that a writer
   * keeps at one value; each restores to one value in all three, later than the one before, with
   * its pause recorded and shorter than the whole checkpoint. Returns, for each commit, whether
   * the writer was still paused when the manifest was written, or had made a step since the
   * snapshot (with copies, the commit waits up to 10 s for that step).
   */
  private List<String> checkpointWhileWriting(boolean copy) throws Exception {
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
          gate.steps.incrementAndGet();
        } finally {
          gate.writer.release();
        }
      }
    }, "state-writer");
    List<String> atCommits = new java.util.concurrent.CopyOnWriteArrayList<>();
    CheckpointStore base = CheckpointStore.open(dir.resolve("torn").toUri().resolve("?create=true"));
    BlobStore watching = new ForwardingBlobStore(base.blobs()) {
      @Override
      public boolean putIfAbsent(String key, byte[] data) throws StoreException {
        // The manifest: is the writer still held, or has it made a step since the snapshot?
        if (!copy) {
          atCommits.add(gate.steps.get() == gate.atBefore ? "writer paused" : "writer ran");
        } else {
          long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
          while (gate.steps.get() <= gate.atSnapshot && System.nanoTime() < deadline) {
            Thread.onSpinWait();
          }
          atCommits.add(gate.steps.get() > gate.atSnapshot ? "writer ran" : "writer made no step in 10 s");
        }
        return super.putIfAbsent(key, data);
      }
    };
    List<CheckpointInfo> infos = new ArrayList<>();
    try (CheckpointStore store = CheckpointStore.builder().blobStore(watching).build();
         Checkpointer ckpt = Checkpointer.builder().store(store).job("torn").register("stamp", holder)
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
      assertTrue(!writer.isAlive(), "the writer did not stop");
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
      assertEquals(infos.size(), atCommits.size(), "commits seen");
      return atCommits;
    } finally {
      running.set(false);
      writer.join(TimeUnit.SECONDS.toMillis(30));
      base.close();
    }
  }

  /** The afterSnapshot hooks run before the commit: the newest checkpoint is still the previous one then. */
  @Test
  @Timeout(120)
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
  @Timeout(120)
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
   * The copy is written from the checkpointer's own arrays: segments whose lengths are no
   * multiple of the array or the chunk size restore byte for byte, and a write that fails part
   * way (the store refuses a pack) leaves the arrays for the next checkpoint, which commits the
   * state of its own moment.
   */
  @Test
  @Timeout(120)
  void copiedSegmentsOfAnyLength_restoreExactly_evenAfterAWriteThatFailedPartWay() throws Exception {
    java.util.Random random = new java.util.Random(3);
    List<ByteBuffer> segments = List.of(ByteBuffer.allocateDirect((8 << 20) + 12_345), ByteBuffer.allocateDirect(4 << 20),
        ByteBuffer.allocateDirect(100));
    AtomicBoolean refusePacks = new AtomicBoolean();
    try (CheckpointStore base = CheckpointStore.open(dir.resolve("store").toUri().resolve("?create=true"))) {
      BlobStore refusing = new ForwardingBlobStore(base.blobs()) {
        @Override
        public void put(String key, byte[] data) throws StoreException {
          refuse(key);
          super.put(key, data);
        }

        @Override
        public void put(String key, ByteBuffer data) throws StoreException {
          refuse(key);
          super.put(key, data);
        }

        @Override
        public void put(String key, java.io.InputStream data, long size) throws StoreException {
          refuse(key);
          super.put(key, data, size);
        }

        private void refuse(String key) throws StoreException {
          if (refusePacks.get() && key.contains("/packs/")) {
            throw new StoreException(key, "refused (test)");
          }
        }
      };
      Checkpointer.Builder b = Checkpointer.builder().store(CheckpointStore.builder().blobStore(refusing).chunkSize(16 * 1024)
          .packSize(1 << 20).build()).job("uneven");
      for (int i = 0; i < segments.size(); i++) {
        b.registerSegment("s" + i, segments.get(i));
      }
      try (Checkpointer ckpt = b.build()) {
        List<byte[]> committed = null;
        for (int round = 0; round < 3; round++) {
          for (ByteBuffer s : segments) {
            byte[] bytes = new byte[s.capacity()];
            random.nextBytes(bytes);
            s.clear().put(bytes).clear();
          }
          refusePacks.set(round == 1);
          if (round == 1) {
            CheckpointException e = assertThrows(CheckpointException.class, ckpt::checkpoint);
            assertTrue(e.toString().contains("refused"), e.toString());
            continue;
          }
          ckpt.checkpoint();
          committed = new ArrayList<>();
          for (ByteBuffer s : segments) {
            byte[] bytes = new byte[s.capacity()];
            s.get(0, bytes);
            committed.add(bytes);
          }
        }
        for (ByteBuffer s : segments) {
          s.clear().put(new byte[s.capacity()]).clear(); // zeros, so the restore must write every byte
        }
        ckpt.restoreLatest();
        for (int i = 0; i < segments.size(); i++) {
          byte[] got = new byte[segments.get(i).capacity()];
          segments.get(i).get(0, got);
          assertTrue(java.util.Arrays.equals(committed.get(i), got), "segment s" + i + " after restore");
        }
      }
    }
  }

  /**
   * With copies, a block equal to its copy from the previous committed checkpoint is referenced
   * from it, not hashed again. Over rounds that change a few blocks, zero some, restore in
   * between and fail one write part way, every checkpoint restores to exactly its own moment, and
   * the checkpoints after the first hash only what changed.
   */
  @Test
  @Timeout(120)
  void unchangedBlocks_areTakenFromThePreviousCheckpoint_andEveryCheckpointRestoresExactly() throws Exception {
    java.util.Random random = new java.util.Random(17);
    List<ByteBuffer> segments = List.of(ByteBuffer.allocateDirect((8 << 20) + 12_345), ByteBuffer.allocateDirect(2 << 20));
    for (ByteBuffer s : segments) {
      byte[] bytes = new byte[s.capacity()];
      random.nextBytes(bytes);
      s.put(0, bytes);
    }
    AtomicBoolean refusePacks = new AtomicBoolean();
    java.util.Map<Long, List<byte[]>> expected = new java.util.HashMap<>();
    try (CheckpointStore base = CheckpointStore.open(dir.resolve("store").toUri().resolve("?create=true"))) {
      BlobStore refusing = new ForwardingBlobStore(base.blobs()) {
        @Override
        public void put(String key, java.io.InputStream data, long size) throws StoreException {
          if (refusePacks.get() && key.contains("/packs/")) {
            throw new StoreException(key, "refused (test)");
          }
          super.put(key, data, size);
        }

        @Override
        public void put(String key, ByteBuffer data) throws StoreException {
          if (refusePacks.get() && key.contains("/packs/")) {
            throw new StoreException(key, "refused (test)");
          }
          super.put(key, data);
        }
      };
      Checkpointer.Builder b = Checkpointer.builder().store(CheckpointStore.builder().blobStore(refusing).chunkSize(16 * 1024)
          .packSize(1 << 20).build()).job("compared");
      for (int i = 0; i < segments.size(); i++) {
        b.registerSegment("s" + i, segments.get(i));
      }
      try (Checkpointer ckpt = b.build()) {
        for (int round = 0; round < 12; round++) {
          if (round > 0) {
            for (ByteBuffer s : segments) {
              for (int k = 0; k < 3; k++) { // a few spots: a byte, a run, a run of zeros
                int at = random.nextInt(s.capacity() - 70_000);
                switch (k) {
                  case 0 -> s.put(at, (byte) (s.get(at) + 1));
                  case 1 -> s.put(at, new byte[] {1, 2, 3, 4, 5, 6, 7, 8});
                  default -> s.put(at, new byte[65_536]);
                }
              }
            }
          }
          if (round == 6) {
            byte[] first = expected.get(1L).get(1);
            ckpt.restore(1); // back to the first checkpoint's state: blocks equal to older copies, not the latest
            assertTrue(java.util.Arrays.equals(first, bytes(segments.get(1))), "restored s1");
          }
          refusePacks.set(round == 4);
          if (round == 4) {
            assertThrows(CheckpointException.class, ckpt::checkpoint);
            continue;
          }
          CheckpointInfo info = ckpt.checkpoint();
          expected.put(info.id(), List.of(bytes(segments.get(0)), bytes(segments.get(1))));
          assertEquals(round == 0 ? "content-hash" : "compare-with-copy", info.changeTracking(), "round " + round + ": " + info);
          if (round > 0 && round != 5 && round != 6) {
            // Round 5 follows the failed write, round 6 the restore: the others changed only a few blocks.
            assertTrue(info.bytesScanned() < info.logicalBytes() / 4, "round " + round + " hashed " + info.bytesScanned()
                + " of " + info.logicalBytes() + " bytes");
          }
        }
        for (java.util.Map.Entry<Long, List<byte[]>> e : expected.entrySet()) {
          for (ByteBuffer s : segments) {
            s.put(0, new byte[s.capacity()]); // zeros, so the restore must write every byte
          }
          ckpt.restore(e.getKey());
          for (int i = 0; i < segments.size(); i++) {
            assertTrue(java.util.Arrays.equals(e.getValue().get(i), bytes(segments.get(i))),
                "segment s" + i + " of checkpoint " + e.getKey());
          }
          assertTrue(ckpt.store().verify("compared", e.getKey()).ok(), "compared@" + e.getKey());
        }
      }
    }
  }

  /**
   * The checkpoint the copies were compared with is deleted, and another writer commits a
   * different image under its number: the next checkpoint must not take unchanged blocks from
   * that image, and restores to the segment's own bytes.
   */
  @Test
  @Timeout(60)
  void aNumberTakenByAnotherImage_isNotUsedAsTheBaseOfUnchangedBlocks() throws Exception {
    ByteBuffer seg = ByteBuffer.allocateDirect(2 << 20);
    byte[] content = new byte[seg.capacity()];
    new java.util.Random(5).nextBytes(content);
    seg.put(0, content);
    try (Checkpointer ckpt = Checkpointer.builder().store(dir.resolve("store").toUri().resolve("?create=true"))
        .job("reused").registerSegment("s", seg).build()) {
      CheckpointInfo first = ckpt.checkpoint();
      String part;
      try (dev.ckpt.ImageReader r = ckpt.store().open("reused", first.id())) {
        part = r.parts().stream().map(p -> p.name()).filter(n -> n.endsWith("s")).findFirst().orElseThrow();
      }
      ckpt.store().blobs().delete(String.format("reused/manifests/%020d", first.id()));
      byte[] foreign = new byte[seg.capacity()];
      new java.util.Random(6).nextBytes(foreign);
      try (dev.ckpt.ImageWriter w = ckpt.store().newImage("reused")) {
        try (dev.ckpt.PartOutput out = w.part(part, java.util.Map.of("kind", "segment"))) {
          out.write(foreign, 0, foreign.length);
        }
        assertEquals(first.id(), w.commit().id(), "the other writer took the deleted checkpoint's number");
      }
      CheckpointInfo second = ckpt.checkpoint(); // the segment did not change
      assertEquals("content-hash", second.changeTracking(), second.toString());
      seg.put(0, new byte[seg.capacity()]);
      ckpt.restore(second.id());
      assertTrue(java.util.Arrays.equals(content, bytes(seg)), "restored the segment's own bytes");
    }
  }

  private static byte[] bytes(ByteBuffer s) {
    byte[] b = new byte[s.capacity()];
    s.get(0, b);
    return b;
  }

  /**
   * Closing right after an asynchronous checkpoint returns waits for its write (the store it
   * opened would otherwise close under it); afterwards every call says the checkpointer is closed.
   */
  @Test
  @Timeout(120)
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
