package dev.ckpt.linux;

import java.time.Duration;
import java.util.OptionalInt;

/** A process under a {@link NativeCheckpointer}: launched, attached or restored. */
public interface TracedProcess {

  int pid();

  /** Waits for the process to end and returns its exit code (128 + signal if a signal ended it). */
  int waitFor() throws InterruptedException;

  /** As {@link #waitFor()}, giving up after {@code timeout}: empty if it is still running. */
  OptionalInt waitFor(Duration timeout) throws InterruptedException;

  boolean isAlive();

  /** Sends SIGKILL. */
  void kill();
}
