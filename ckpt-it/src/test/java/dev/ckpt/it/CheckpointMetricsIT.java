package dev.ckpt.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ckpt.CheckpointHook;
import dev.ckpt.CheckpointInfo;
import dev.ckpt.CheckpointPolicy;
import dev.ckpt.CheckpointScheduler;
import dev.ckpt.CheckpointStore;
import dev.ckpt.CheckpointTarget;
import dev.ckpt.Checkpointer;
import dev.ckpt.StoreException;
import dev.ckpt.micrometer.CheckpointMetrics;
import dev.ckpt.spi.BlobStore;
import dev.ckpt.store.local.LocalStoreProvider;
import dev.ckpt.store.tck.FaultInjectingBlobStore;
import dev.ckpt.store.tck.FaultInjectingBlobStore.Op;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real application-state checkpoints into a local store, through a real scheduler whose clock and
 * timer the test drives: each checkpoint "takes" two seconds by a hook moving the clock.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class CheckpointMetricsIT {
  private static final Duration TAKES = Duration.ofSeconds(2);

  @TempDir
  Path dir;
  final TestClock clock = new TestClock(Instant.parse("2026-11-25T00:00:00Z"));
  final ManualTimer timer = new ManualTimer(clock);
  final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  CheckpointMetrics metrics;
  BlobStore local;
  FaultInjectingBlobStore blobs;
  CheckpointStore store;
  ByteBuffer state;
  Runnable duringCheckpoint = () -> { };

  @BeforeEach
  void setUp() throws Exception {
    local = new LocalStoreProvider().open(URI.create(dir.toUri() + "store?create=true"));
    blobs = new FaultInjectingBlobStore(local);
    store = CheckpointStore.builder().blobStore(blobs).clock(clock).parallelism(2).gcGracePeriod(Duration.ZERO).build();
    state = ByteBuffer.allocateDirect(1 << 20);
    byte[] noise = new byte[state.capacity()];
    new Random(1).nextBytes(noise); // incompressible: what is stored is what changed
    state.put(0, noise);
    metrics = CheckpointMetrics.builder().clock(clock).build();
    metrics.bindTo(registry);
  }

  @AfterEach
  void tearDown() {
    store.close();
    local.close();
  }

  Checkpointer checkpointer(String job) throws Exception {
    return Checkpointer.builder().store(store).job(job).registerSegment("state", state).hook(new CheckpointHook() {
      @Override
      public void beforeCheckpoint() {
        clock.advance(TAKES);
        duringCheckpoint.run();
      }
    }).build();
  }

  CheckpointScheduler start(Checkpointer c, CheckpointPolicy.Builder policy) {
    return CheckpointScheduler.builder(CheckpointTarget.of(c)).policy(policy.build()).clock(clock).timer(timer)
        .listener(metrics).start();
  }

  static CheckpointPolicy.Builder hourly() {
    return CheckpointPolicy.builder().interval(Duration.ofHours(1));
  }

  /** Runs the scheduler's work for {@code requested} now, on this thread. */
  CompletableFuture<CheckpointInfo> run(CompletableFuture<CheckpointInfo> requested) {
    timer.runDue();
    assertTrue(requested.isDone(), "the checkpoint ran");
    return requested;
  }

  Throwable failure(CompletableFuture<CheckpointInfo> requested) {
    return assertThrows(ExecutionException.class, () -> run(requested).get()).getCause();
  }

  double counter(String name, String... tags) {
    return registry.get(name).tags(tags).counter().count();
  }

  double lastCommitAge(String job) {
    return registry.get("ckpt.checkpoint.last.age").tags("ckpt.job", job).timeGauge().value(TimeUnit.SECONDS);
  }

  @Test
  void committedCheckpoints_areCountedTimedAndMeasuredInBytes() throws Exception {
    CheckpointInfo first;
    CheckpointInfo second;
    CheckpointInfo vacated;
    try (Checkpointer c = checkpointer("sim"); CheckpointScheduler s = start(c, hourly())) {
      first = run(s.checkpointNow()).get();
      state.putLong(0, 42); // one chunk changes
      second = run(s.checkpointNow()).get();
      vacated = run(s.vacate()).get();
    }
    assertEquals(2, counter("ckpt.checkpoints", "ckpt.job", "sim", "trigger", "on_demand", "outcome", "committed",
        "exception", "none"));
    assertEquals(1, counter("ckpt.checkpoints", "ckpt.job", "sim", "trigger", "vacate", "outcome", "committed",
        "exception", "none"));
    assertNull(registry.find("ckpt.checkpoints").tag("outcome", "failed").counter(), "nothing failed");

    Timer duration = registry.get("ckpt.checkpoint.duration")
        .tags("ckpt.job", "sim", "trigger", "on_demand", "outcome", "committed").timer();
    assertEquals(2, duration.count());
    assertEquals(TAKES.multipliedBy(2).toNanos(), duration.totalTime(TimeUnit.NANOSECONDS), 0.0,
        "the attempts as the scheduler's clock timed them");

    Timer frozen = registry.get("ckpt.checkpoint.frozen").tags("ckpt.job", "sim", "trigger", "on_demand").timer();
    assertEquals(2, frozen.count());
    assertTrue(first.frozen().toNanos() > 0 && second.frozen().toNanos() > 0, "the snapshots' pauses are recorded");
    assertEquals(first.frozen().plus(second.frozen()).toNanos(), frozen.totalTime(TimeUnit.NANOSECONDS), 0.0);

    // The first checkpoint hashed everything; the next two compared the segment with their copy
    // of the previous checkpoint's and hashed only the changed block.
    DistributionSummary read = registry.get("ckpt.checkpoint.read").tags("ckpt.job", "sim", "tracking", "content-hash")
        .summary();
    DistributionSummary compared = registry.get("ckpt.checkpoint.read")
        .tags("ckpt.job", "sim", "tracking", "compare-with-copy").summary();
    assertEquals(1, read.count());
    assertEquals(2, compared.count());
    assertEquals("bytes", read.getId().getBaseUnit());
    assertEquals(first.bytesRead(), read.totalAmount(), 0.0);
    assertEquals(second.bytesRead() + vacated.bytesRead(), compared.totalAmount(), 0.0);
    assertEquals(3L << 20, (long) (read.totalAmount() + compared.totalAmount()),
        "each checkpoint read the whole 1 MiB segment");

    DistributionSummary stored = registry.get("ckpt.checkpoint.stored").tags("ckpt.job", "sim").summary();
    assertEquals(3, stored.count());
    assertEquals("bytes", stored.getId().getBaseUnit());
    assertEquals(first.newStoredBytes() + second.newStoredBytes() + vacated.newStoredBytes(), stored.totalAmount(), 0.0);
    assertEquals(first.newStoredBytes(), stored.max(), 0.0, "the first checkpoint stored the most");
    assertTrue(first.newStoredBytes() > 1 << 20, "the first stored the whole incompressible segment: " + first);
    assertTrue(second.newStoredBytes() < first.newStoredBytes() / 4, "the second stored only the changed chunk: " + second);
  }

  @Test
  void failedCheckpoint_isCountedAndTimedAsFailedWithItsException_andRecordsNoBytes() throws Exception {
    blobs.fail(Op.PUT, key -> true, "No space left on device", 1_000);
    try (Checkpointer c = checkpointer("sim"); CheckpointScheduler s = start(c, hourly())) {
      Throwable cause = failure(s.checkpointNow());
      assertInstanceOf(StoreException.class, cause);
      assertTrue(cause.getMessage().contains("No space left on device"), cause.getMessage());
    }
    assertEquals(1, counter("ckpt.checkpoints", "ckpt.job", "sim", "trigger", "on_demand", "outcome", "failed",
        "exception", "StoreException"));
    Timer duration = registry.get("ckpt.checkpoint.duration")
        .tags("ckpt.job", "sim", "trigger", "on_demand", "outcome", "failed").timer();
    assertEquals(1, duration.count());
    assertEquals(TAKES.toNanos(), duration.totalTime(TimeUnit.NANOSECONDS), 0.0);

    assertNull(registry.find("ckpt.checkpoints").tag("outcome", "committed").counter(), "nothing committed");
    assertNull(registry.find("ckpt.checkpoint.frozen").timer(), "no pause of a committed checkpoint");
    assertNull(registry.find("ckpt.checkpoint.read").summary(), "no bytes read by a committed checkpoint");
    assertNull(registry.find("ckpt.checkpoint.stored").summary(), "no bytes stored by a committed checkpoint");
    assertNull(registry.find("ckpt.scheduler.terminal").counter(), "one failure of three allowed");
    assertTrue(Double.isNaN(lastCommitAge("sim")), "no commit yet: the age is NaN");
  }

  @Test
  void lastCommitAge_growsWithTheClock_andOnlyACommitResetsIt() throws Exception {
    try (Checkpointer c = checkpointer("sim"); CheckpointScheduler s = start(c, hourly())) {
      assertNull(registry.find("ckpt.checkpoint.last.age").timeGauge(), "no gauge for a job not heard of");
      run(s.checkpointNow()).get();
      assertEquals(0.0, lastCommitAge("sim"), 0.0);

      clock.advance(Duration.ofSeconds(90));
      assertEquals(90.0, lastCommitAge("sim"), 1e-9);

      blobs.fail(Op.PUT, key -> true, "No space left on device", 1_000);
      state.putLong(0, 42); // a chunk to write, and fail
      failure(s.checkpointNow());
      assertEquals(92.0, lastCommitAge("sim"), 1e-9, "a failed checkpoint (2 s) leaves the age growing");

      blobs.heal();
      run(s.checkpointNow()).get();
      assertEquals(0.0, lastCommitAge("sim"), 0.0);
    }
  }

  @Test
  void consecutiveFailures_countTheSchedulerAsStopped() throws Exception {
    blobs.fail(Op.PUT, key -> true, "Permission denied", 1_000);
    try (Checkpointer c = checkpointer("sim");
         CheckpointScheduler s = start(c, hourly().maxConsecutiveFailures(1))) {
      failure(s.checkpointNow());
      assertFalse(s.isRunning(), "the scheduler stopped");
    }
    assertEquals(1, counter("ckpt.scheduler.terminal", "ckpt.job", "sim"));
    assertEquals(1, counter("ckpt.checkpoints", "ckpt.job", "sim", "trigger", "on_demand", "outcome", "failed",
        "exception", "StoreException"));
  }

  @Test
  void failedRetention_isCounted_andTheCheckpointStillCommitted() throws Exception {
    blobs.fail(Op.DELETE, key -> true, "Permission denied", 1_000);
    try (Checkpointer c = checkpointer("sim"); CheckpointScheduler s = start(c, hourly().retainLast(1))) {
      run(s.checkpointNow()).get();
      run(s.checkpointNow()).get(); // its retention deletes the first, and fails
    }
    assertEquals(1, counter("ckpt.retention.failures", "ckpt.job", "sim"));
    assertEquals(2, counter("ckpt.checkpoints", "ckpt.job", "sim", "trigger", "on_demand", "outcome", "committed",
        "exception", "none"));
  }

  @Test
  void timerTickDuringACheckpoint_isCountedAsSkipped() throws Exception {
    try (Checkpointer c = checkpointer("sim");
         CheckpointScheduler s = start(c, CheckpointPolicy.builder().interval(Duration.ofSeconds(10)))) {
      AtomicBoolean once = new AtomicBoolean();
      duringCheckpoint = () -> {
        if (once.compareAndSet(false, true)) {
          timer.advance(Duration.ofSeconds(10)); // the tick comes due while the first checkpoint runs
        }
      };
      run(s.checkpointNow()).get(); // then the tick due meanwhile checkpoints too
    }
    assertEquals(1, counter("ckpt.checkpoints.skipped", "ckpt.job", "sim"));
    assertEquals(1, counter("ckpt.checkpoints", "ckpt.job", "sim", "trigger", "on_demand", "outcome", "committed",
        "exception", "none"));
    assertEquals(1, counter("ckpt.checkpoints", "ckpt.job", "sim", "trigger", "timer", "outcome", "committed",
        "exception", "none"));
  }

  @Test
  void severalSchedulers_eachJobHasItsOwnMeters() throws Exception {
    try (Checkpointer a = checkpointer("sim-a"); Checkpointer b = checkpointer("sim-b");
         CheckpointScheduler sa = start(a, hourly()); CheckpointScheduler sb = start(b, hourly())) {
      run(sa.checkpointNow()).get();
      clock.advance(Duration.ofSeconds(30));
      run(sb.checkpointNow()).get();
      run(sb.checkpointNow()).get();
    }
    assertEquals(1, counter("ckpt.checkpoints", "ckpt.job", "sim-a", "outcome", "committed"));
    assertEquals(2, counter("ckpt.checkpoints", "ckpt.job", "sim-b", "outcome", "committed"));
    assertEquals(34.0, lastCommitAge("sim-a"), 1e-9, "30 s, then sim-b's two 2 s checkpoints");
    assertEquals(0.0, lastCommitAge("sim-b"), 0.0);
  }

  @Test
  void registryBoundLater_showsTheLastCommitAge_andCountsOnlyLaterEvents() throws Exception {
    SimpleMeterRegistry later = new SimpleMeterRegistry();
    try (Checkpointer c = checkpointer("sim"); CheckpointScheduler s = start(c, hourly())) {
      run(s.checkpointNow()).get();
      clock.advance(Duration.ofSeconds(5));
      metrics.bindTo(later);
      metrics.bindTo(later); // a second binding changes nothing
      assertEquals(5.0, later.get("ckpt.checkpoint.last.age").tags("ckpt.job", "sim").timeGauge()
          .value(TimeUnit.SECONDS), 1e-9);
      run(s.checkpointNow()).get();
    }
    assertEquals(2, counter("ckpt.checkpoints", "ckpt.job", "sim", "outcome", "committed"));
    assertEquals(1, later.get("ckpt.checkpoints").tags("ckpt.job", "sim", "outcome", "committed").counter().count(),
        "counted once, from its binding on");
  }

  @Test
  void commonTags_areOnEveryMeter() throws Exception {
    SimpleMeterRegistry tagged = new SimpleMeterRegistry();
    CheckpointMetrics m = CheckpointMetrics.builder().clock(clock).tags("region", "eu-west").build();
    m.bindTo(tagged);
    try (Checkpointer c = checkpointer("sim");
         CheckpointScheduler s = CheckpointScheduler.builder(CheckpointTarget.of(c)).policy(hourly().build())
             .clock(clock).timer(timer).listener(m).start()) {
      run(s.checkpointNow()).get();
    }
    assertTrue(tagged.getMeters().size() >= 6, "counter, two timers, two summaries, gauge: " + tagged.getMeters());
    tagged.getMeters().forEach(meter -> {
      assertEquals("eu-west", meter.getId().getTag("region"), meter.getId().toString());
      assertEquals("sim", meter.getId().getTag("ckpt.job"), meter.getId().toString());
    });
  }

  @Test
  void builder_refusesTheJobTagAndAnOddNumberOfStrings() {
    assertThrows(IllegalArgumentException.class, () -> CheckpointMetrics.builder().tags("ckpt.job", "x"));
    assertThrows(IllegalArgumentException.class, () -> CheckpointMetrics.builder().tags("region"));
    assertThrows(NullPointerException.class, () -> CheckpointMetrics.builder().clock(null));
    assertThrows(NullPointerException.class, () -> CheckpointMetrics.create().bindTo(null));
  }
}
