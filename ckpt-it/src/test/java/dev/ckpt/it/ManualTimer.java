package dev.ckpt.it;

import dev.ckpt.Timer;
import java.time.Duration;
import java.time.Instant;
import java.util.PriorityQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;

/** A timer driven by the test: tasks run when the test moves the clock past their time. */
final class ManualTimer implements Timer {
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

  /** Runs every task that is due, including tasks those tasks schedule for now. */
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
