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
  /**
   * Runs {@code task} once after {@code delay}.
   *
   * @param task what to run
   * @param delay how long to wait first
   * @return a future through which the task can be cancelled
   */
  Future<?> schedule(Runnable task, Duration delay);

  /**
   * A timer that schedules on {@code executor}; a negative delay runs the task at once.
   *
   * @param executor the executor that runs the tasks
   * @return a timer backed by {@code executor}
   */
  static Timer of(ScheduledExecutorService executor) {
    return (task, delay) -> executor.schedule(task, Math.max(0, delay.toNanos()), TimeUnit.NANOSECONDS);
  }
}
