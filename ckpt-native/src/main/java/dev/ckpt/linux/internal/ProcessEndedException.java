package dev.ckpt.linux.internal;

import dev.ckpt.linux.ProcessException;

/**
 * A process ended while ckpt was waiting for one of its stops. When that wait took its exit
 * status, whoever tracks the process (Tracer) must be given {@link #status}, or its exit could no
 * longer be waited for; when it did not (-1: a killed main thread whose other threads ckpt still
 * holds), those threads must be reaped before the kernel reports it.
 */
final class ProcessEndedException extends ProcessException {
  private static final long serialVersionUID = 1L;
  private final int status;

  ProcessEndedException(int pid, String message, int status) {
    super(pid, message);
    this.status = status;
  }

  /** The wait status that was taken, or -1 if none was. */
  int status() {
    return status;
  }
}
