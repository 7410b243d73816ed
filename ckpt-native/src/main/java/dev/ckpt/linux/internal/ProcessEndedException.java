package dev.ckpt.linux.internal;

import dev.ckpt.linux.ProcessException;

/**
 * A process ended while ckpt was waiting for one of its stops, and that wait took its exit
 * status: whoever tracks the process (Tracer) must be given {@link #status}, or its exit could
 * no longer be waited for.
 */
final class ProcessEndedException extends ProcessException {
  private static final long serialVersionUID = 1L;
  private final int status;

  ProcessEndedException(int pid, String message, int status) {
    super(pid, message);
    this.status = status;
  }

  /** The wait status that was taken. */
  int status() {
    return status;
  }
}
