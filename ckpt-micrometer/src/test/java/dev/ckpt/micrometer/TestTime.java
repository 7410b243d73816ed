package dev.ckpt.micrometer;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.PriorityQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicReference;

/** A clock the test moves, and a timer that runs what is due on the thread that moves it. */
final class TestTime {
  private TestTime() {}

  static final class TestClock extends Clock {
    private final AtomicReference<Instant> now;

    TestClock(Instant start) {
      this.now = new AtomicReference<>(start);
    }

    void advance(Duration d) {
      now.updateAndGet(t -> t.plus(d));
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now.get();
    }
  }

  static final class ManualTimer implements dev.ckpt.Timer {
    private record Task(Instant due, long seq, Runnable run) {}

    private final TestClock clock;
    private final PriorityQueue<Task> tasks = new PriorityQueue<>((a, b) -> a.due().equals(b.due())
        ? Long.compare(a.seq(), b.seq()) : a.due().compareTo(b.due()));
    private long seq;

    ManualTimer(TestClock clock) {
      this.clock = clock;
    }

    @Override
    public synchronized Future<?> schedule(Runnable task, Duration delay) {
      tasks.add(new Task(clock.instant().plus(delay), seq++, task));
      return new CompletableFuture<>();
    }

    /** Runs every task that is due, including those the tasks schedule for now; tasks may call this again. */
    void runDue() {
      while (true) {
        Task t;
        synchronized (this) {
          t = tasks.peek();
          if (t == null || t.due().isAfter(clock.instant())) {
            return;
          }
          tasks.poll();
        }
        t.run().run();
      }
    }

    void advance(Duration d) {
      clock.advance(d);
      runDue();
    }
  }
}
