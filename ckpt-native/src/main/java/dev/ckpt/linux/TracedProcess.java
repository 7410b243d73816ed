package dev.ckpt.linux;

import java.time.Duration;
import java.util.OptionalInt;

/** A process under a {@link NativeCheckpointer}: launched, attached or restored. */
public interface TracedProcess {

  /**
   * The process's id.
   *
   * @return the pid
   */
  int pid();

  /**
   * Waits for the process to end and returns its exit code (128 + signal if a signal ended it).
   *
   * @return the exit code
   * @throws InterruptedException if the waiting thread is interrupted
   */
  int waitFor() throws InterruptedException;

  /**
   * As {@link #waitFor()}, giving up after {@code timeout}: empty if it is still running.
   *
   * @param timeout the longest to wait
   * @return the exit code, or empty
   * @throws InterruptedException if the waiting thread is interrupted
   */
  OptionalInt waitFor(Duration timeout) throws InterruptedException;

  /**
   * Whether the process is still running.
   *
   * @return {@code false} once it has ended
   */
  boolean isAlive();

  /** Sends SIGKILL. */
  void kill();
}
