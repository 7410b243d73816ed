package dev.ckpt;

import java.time.Duration;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Runs tasks later. The scheduler asks it for every wake-up, so tests replace it with one they
 * drive by hand, with a clock they move, and run in milliseconds.
 */
@FunctionalInterface
public interface Timer {
  Future<?> schedule(Runnable task, Duration delay);

  static Timer of(ScheduledExecutorService executor) {
    return (task, delay) -> executor.schedule(task, Math.max(0, delay.toNanos()), TimeUnit.NANOSECONDS);
  }
}
