package dev.ckpt.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ckpt.CheckpointEvent;
import dev.ckpt.CheckpointHook;
import dev.ckpt.CheckpointInfo;
import dev.ckpt.CheckpointPolicy;
import dev.ckpt.CheckpointScheduler;
import dev.ckpt.CheckpointStore;
import dev.ckpt.CheckpointTarget;
import dev.ckpt.CheckpointTimeoutException;
import dev.ckpt.Checkpointer;
import dev.ckpt.store.tck.InMemoryBlobStore;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntSupplier;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The scheduler over a real checkpointer and store, on a clock and timer the test drives: no
 * test waits for real time. A checkpoint "takes" time by a hook moving the clock.
 */
@org.junit.jupiter.api.Timeout(value = 60, unit = TimeUnit.SECONDS)
class SchedulerIT {
  @TempDir
  Path dir;
  TestClock clock;
  ManualTimer timer;
  CheckpointStore store;
  ByteBuffer state;
  List<CheckpointEvent> events;
  /** Seconds the next checkpoint takes; negative fails it. */
  IntSupplier duration = () -> 0;
  Runnable duringCheckpoint = () -> { };
  final AtomicInteger inFlight = new AtomicInteger();
  int maxInFlight;

  @BeforeEach
  void setUp() throws Exception {
    clock = new TestClock(Instant.parse("2026-11-25T00:00:00Z"));
    timer = new ManualTimer(clock);
    store = CheckpointStore.builder().blobStore(new InMemoryBlobStore(clock)).clock(clock).parallelism(2)
        .gcGracePeriod(Duration.ZERO).build();
    state = ByteBuffer.allocateDirect(64 * 1024);
    events = new ArrayList<>();
  }

  @AfterEach
  void tearDown() {
    store.close();
  }

  Checkpointer checkpointer() throws Exception {
    return Checkpointer.builder().store(store).job("sim").registerSegment("state", state).hook(new CheckpointHook() {
      @Override
      public void beforeCheckpoint() {
        maxInFlight = Math.max(maxInFlight, inFlight.incrementAndGet());
        int s = duration.getAsInt();
        if (s < 0) {
          inFlight.decrementAndGet();
          throw new IllegalStateException("simulated failure");
        }
        state.putLong(0, clock.millis()); // every checkpoint differs
        clock.advance(Duration.ofSeconds(s));
        duringCheckpoint.run();
      }

      @Override
      public void afterCheckpoint(boolean committed) {
        if (inFlight.get() > 0) {
          inFlight.decrementAndGet();
        }
      }
    }).build();
  }

  CheckpointScheduler start(CheckpointTarget target, CheckpointPolicy policy) {
    return CheckpointScheduler.builder(target).policy(policy).clock(clock).timer(timer).random(new Random(1))
        .listener(events::add).start();
  }

  List<CheckpointEvent> of(CheckpointEvent.Type type) {
    return events.stream().filter(e -> e.type() == type).toList();
  }

  @Test
  void intervalAndMinimumPause_areHonouredOver1000Ticks() throws Exception {
    Random r = new Random(42);
    duration = () -> r.nextInt(10);
    try (Checkpointer c = checkpointer();
         CheckpointScheduler s = start(CheckpointTarget.of(c), CheckpointPolicy.builder().interval(Duration.ofSeconds(10))
             .minPause(Duration.ofSeconds(4)).build())) {
      for (int tick = 0; tick < 1000; tick++) {
        timer.advance(Duration.ofSeconds(1));
      }
    }
    List<CheckpointEvent> started = of(CheckpointEvent.Type.STARTED);
    List<CheckpointEvent> committed = of(CheckpointEvent.Type.COMMITTED);
    // Checkpoints take simulated time too: the run spans more than the 1000 ticks.
    long elapsed = Duration.between(Instant.parse("2026-11-25T00:00:00Z"), clock.instant()).toSeconds();
    assertTrue(started.size() >= elapsed / 23 && started.size() <= elapsed / 10 + 1,
        "checkpoints in " + elapsed + " s: " + started.size());
    assertEquals(started.size(), committed.size());
    for (int i = 1; i < started.size(); i++) {
      Instant prevStart = started.get(i - 1).at();
      Instant prevEnd = committed.get(i - 1).at();
      Instant start = started.get(i).at();
      assertFalse(start.isBefore(prevEnd.plusSeconds(4)), "checkpoint " + i + " started less than the minimum pause after the last ended");
      assertFalse(start.isBefore(prevStart.plusSeconds(10)), "checkpoint " + i + " started less than an interval after the last");
      Instant due = prevEnd.plusSeconds(4).isAfter(prevStart.plusSeconds(10)) ? prevEnd.plusSeconds(4) : prevStart.plusSeconds(10);
      assertFalse(start.isAfter(due.plusSeconds(10)), "checkpoint " + i + " was late: " + start + ", due " + due);
    }
  }

  @Test
  void slowCheckpoint_neverOverlapsTheNext_ticksMeanwhileAreSkipped() throws Exception {
    duration = () -> 25;
    duringCheckpoint = () -> timer.runDue(); // the timer fires while a checkpoint is in flight
    try (Checkpointer c = checkpointer();
         CheckpointScheduler s = start(CheckpointTarget.of(c), CheckpointPolicy.builder().interval(Duration.ofSeconds(10))
             .minPause(Duration.ofSeconds(5)).build())) {
      for (int tick = 0; tick < 200; tick++) {
        timer.advance(Duration.ofSeconds(1));
      }
      CompletableFuture<CheckpointInfo> now = s.checkpointNow();
      timer.advance(Duration.ofSeconds(30));
      assertTrue(now.isDone() && !now.isCompletedExceptionally(), "on-demand checkpoint ran after the one in flight");
    }
    assertEquals(1, maxInFlight, "at most one checkpoint in flight");
    assertFalse(of(CheckpointEvent.Type.SKIPPED).isEmpty(), "ticks during a checkpoint are skipped");
    List<CheckpointEvent> started = of(CheckpointEvent.Type.STARTED);
    List<CheckpointEvent> committed = of(CheckpointEvent.Type.COMMITTED);
    for (int i = 1; i < started.size(); i++) {
      assertFalse(started.get(i).at().isBefore(committed.get(i - 1).at()), "checkpoint " + i + " overlapped the previous");
    }
  }

  @Test
  void timeout_abortsTheCheckpoint_andThePreviousStaysLatest() throws Exception {
    int[] n = {0};
    duration = () -> n[0]++ == 0 ? 1 : 10;
    try (Checkpointer c = checkpointer();
         CheckpointScheduler s = start(CheckpointTarget.of(c), CheckpointPolicy.builder().interval(Duration.ofSeconds(60))
             .timeout(Duration.ofSeconds(5)).maxConsecutiveFailures(10).build())) {
      timer.advance(Duration.ofSeconds(61));
      timer.advance(Duration.ofSeconds(60));
    }
    assertEquals(1, of(CheckpointEvent.Type.COMMITTED).size());
    CheckpointEvent failed = of(CheckpointEvent.Type.FAILED).get(0);
    assertInstanceOf(CheckpointTimeoutException.class, failed.error(), String.valueOf(failed.error()));
    assertEquals(1, store.latest("sim").orElseThrow().id(), "the timed-out checkpoint left no manifest");
    assertEquals(1, store.checkpoints("sim").size());
  }

  @Test
  void retention_keepsExactlyN() throws Exception {
    try (Checkpointer c = checkpointer();
         CheckpointScheduler s = start(CheckpointTarget.of(c), CheckpointPolicy.builder().interval(Duration.ofSeconds(10))
             .retainLast(3).build())) {
      for (int i = 0; i < 100; i++) {
        timer.advance(Duration.ofSeconds(1));
      }
    }
    assertEquals(10, of(CheckpointEvent.Type.COMMITTED).size());
    assertEquals(List.of(8L, 9L, 10L), store.checkpoints("sim").stream().map(CheckpointInfo::id).toList());
  }

  @Test
  void retentionFailure_isAnEvent_afterTheCommit() throws Exception {
    dev.ckpt.store.tck.FaultInjectingBlobStore faulty = new dev.ckpt.store.tck.FaultInjectingBlobStore(
        new dev.ckpt.store.tck.InMemoryBlobStore(clock));
    try (CheckpointStore failing = CheckpointStore.builder().blobStore(faulty).clock(clock).gcGracePeriod(Duration.ZERO).build();
         Checkpointer c = Checkpointer.builder().store(failing).job("sim").registerSegment("state", state).build();
         CheckpointScheduler s = start(CheckpointTarget.of(c), CheckpointPolicy.builder().interval(Duration.ofSeconds(10))
             .retainLast(1).build())) {
      faulty.fail(dev.ckpt.store.tck.FaultInjectingBlobStore.Op.DELETE, k -> true, "disk is read-only", Integer.MAX_VALUE);
      for (int i = 0; i < 25; i++) {
        state.putLong(0, i);
        timer.advance(Duration.ofSeconds(1));
      }
    }
    assertEquals(2, of(CheckpointEvent.Type.COMMITTED).size());
    List<CheckpointEvent> failed = of(CheckpointEvent.Type.RETENTION_FAILED);
    assertEquals(1, failed.size(), events.toString());
    assertEquals(2, failed.get(0).checkpoint().id());
    assertTrue(failed.get(0).error().getMessage().contains("disk is read-only"), failed.get(0).error().getMessage());
    assertEquals(CheckpointEvent.Type.COMMITTED, events.get(events.indexOf(failed.get(0)) - 1).type(), "it follows its commit");
  }

  /** Listeners run outside the scheduler's lock: one that asks the scheduler from another thread is not blocked. */
  @Test
  void listenerAskingTheSchedulerFromAnotherThread_isNotBlockedByItsLock() throws Exception {
    java.util.concurrent.atomic.AtomicReference<CheckpointScheduler> self = new java.util.concurrent.atomic.AtomicReference<>();
    List<Boolean> answers = new ArrayList<>();
    try (Checkpointer c = checkpointer();
         CheckpointScheduler s = CheckpointScheduler.builder(CheckpointTarget.of(c))
             .policy(CheckpointPolicy.builder().interval(Duration.ofSeconds(10)).build())
             .clock(clock).timer(timer).listener(e -> {
               if (e.type() == CheckpointEvent.Type.COMMITTED) {
                 try {
                   answers.add(java.util.concurrent.CompletableFuture.supplyAsync(() -> self.get().isRunning())
                       .get(5, TimeUnit.SECONDS));
                 } catch (Exception ex) {
                   throw new AssertionError("the scheduler's lock was held while calling the listener: " + ex, ex);
                 }
               }
             }).start()) {
      self.set(s);
      timer.advance(Duration.ofSeconds(11));
    }
    assertEquals(List.of(true), answers);
  }

  @Test
  void consecutiveFailures_raiseTheTerminalEvent_andStopTheScheduler() throws Exception {
    duration = () -> -1;
    try (Checkpointer c = checkpointer();
         CheckpointScheduler s = start(CheckpointTarget.of(c), CheckpointPolicy.builder().interval(Duration.ofSeconds(10))
             .maxConsecutiveFailures(3).backoff(Duration.ofSeconds(2)).build())) {
      for (int i = 0; i < 1000; i++) {
        timer.advance(Duration.ofSeconds(1));
      }
      assertFalse(s.isRunning());
    }
    assertEquals(3, of(CheckpointEvent.Type.FAILED).size());
    assertEquals(1, of(CheckpointEvent.Type.TERMINAL).size());
    assertEquals(3, of(CheckpointEvent.Type.STARTED).size());
    List<CheckpointEvent> failed = of(CheckpointEvent.Type.FAILED);
    assertEquals(Duration.ofSeconds(2), Duration.between(failed.get(0).at(), failed.get(1).at()), "first backoff");
    assertEquals(Duration.ofSeconds(4), Duration.between(failed.get(1).at(), failed.get(2).at()), "backoff doubles");
  }

  @Test
  void vacate_checkpointsThenTellsTheHost_andStops() throws Exception {
    List<CheckpointInfo> vacated = new ArrayList<>();
    try (Checkpointer c = checkpointer();
         CheckpointScheduler s = start(CheckpointTarget.of(c, vacated::add), CheckpointPolicy.builder()
             .interval(Duration.ofSeconds(10)).build())) {
      timer.advance(Duration.ofSeconds(11));
      CompletableFuture<CheckpointInfo> v = s.vacate();
      timer.runDue();
      assertEquals(2, v.get(1, TimeUnit.SECONDS).id());
      assertEquals(List.of(v.get()), vacated);
      assertFalse(s.isRunning());
      timer.advance(Duration.ofSeconds(100));
    }
    assertEquals(2, of(CheckpointEvent.Type.COMMITTED).size(), "nothing after the vacate");
  }

  @Test
  void badProperty_namesTheKeyAndTheValue() {
    Properties p = new Properties();
    p.setProperty("ckpt.interval", "often");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CheckpointPolicy.fromProperties(p));
    assertTrue(e.getMessage().contains("ckpt.interval") && e.getMessage().contains("often"), e.getMessage());
    Properties q = new Properties();
    q.setProperty("ckpt.retain", "0");
    e = assertThrows(IllegalArgumentException.class, () -> CheckpointPolicy.fromProperties(q));
    assertTrue(e.getMessage().contains("ckpt.retain=0"), e.getMessage());
    Properties r = new Properties();
    r.setProperty("ckpt.intervall", "5m");
    e = assertThrows(IllegalArgumentException.class, () -> CheckpointPolicy.fromProperties(r));
    assertTrue(e.getMessage().contains("ckpt.intervall") && e.getMessage().contains("unknown"), e.getMessage());
    Properties ok = new Properties();
    ok.setProperty("ckpt.interval", "90s");
    ok.setProperty("ckpt.retain", "4");
    ok.setProperty("ckpt.vacateOnShutdown", "true");
    CheckpointPolicy policy = CheckpointPolicy.fromProperties(ok);
    assertEquals(Duration.ofSeconds(90), policy.interval());
    assertEquals(4, policy.retention().keepLast());
    assertTrue(policy.vacateOnShutdown());
  }

  @Test
  void events_reachJfr_readableByJfrPrint() throws Exception {
    Path file = dir.resolve("events.jfr");
    try (Recording rec = new Recording()) {
      rec.enable("dev.ckpt.Checkpoint");
      rec.start();
      try (Checkpointer c = checkpointer();
           CheckpointScheduler s = start(CheckpointTarget.of(c), CheckpointPolicy.builder().interval(Duration.ofSeconds(10)).build())) {
        timer.advance(Duration.ofSeconds(11));
      }
      rec.stop();
      rec.dump(file);
    }
    List<RecordedEvent> recorded = RecordingFile.readAllEvents(file).stream()
        .filter(e -> e.getEventType().getName().equals("dev.ckpt.Checkpoint")).toList();
    assertTrue(recorded.stream().anyMatch(e -> "COMMITTED".equals(e.getString("type")) && "sim".equals(e.getString("job"))
        && e.getLong("newBytes") > 0), recorded.toString());
    Process jfr = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jfr").toString(), "print", "--events",
        "dev.ckpt.Checkpoint", file.toString()).redirectErrorStream(true).start();
    String out = new String(jfr.getInputStream().readAllBytes());
    assertTrue(jfr.waitFor(60, TimeUnit.SECONDS));
    assertTrue(out.contains("dev.ckpt.Checkpoint") && out.contains("COMMITTED"), out);
    assertTrue(Files.size(file) > 0);
  }
}
