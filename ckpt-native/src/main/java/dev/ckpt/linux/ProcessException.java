package dev.ckpt.linux;

import dev.ckpt.CheckpointException;

/**
 * An operation on a process failed. The message names the pid, the call (system call, ptrace
 * request or step of the restore) and the errno symbol.
 */
public class ProcessException extends CheckpointException {
  private static final long serialVersionUID = 1L;
  private final int pid;
  private final int errno;

  public ProcessException(int pid, String message) {
    this(pid, message, 0, null);
  }

  public ProcessException(int pid, String message, int errno, Throwable cause) {
    super("pid " + pid + ": " + message, cause);
    this.pid = pid;
    this.errno = errno;
  }

  public int pid() {
    return pid;
  }

  /** The errno of the failed call, or 0 when the failure was not a failed call. */
  public int errno() {
    return errno;
  }
}
