package dev.ckpt.linux;

import dev.ckpt.CheckpointException;

/**
 * An operation on a process failed. The message names the pid, the call (system call, ptrace
 * request or step of the restore) and the errno symbol.
 */
public class ProcessException extends CheckpointException {
  private static final long serialVersionUID = 1L;
  /** The process the operation was on. */
  private final int pid;
  /** The errno of the failed call, or 0. */
  private final int errno;

  /**
   * A failure that was not a failed call.
   *
   * @param pid the process the operation was on
   * @param message what failed and why; the pid is prefixed
   */
  public ProcessException(int pid, String message) {
    this(pid, message, 0, null);
  }

  /**
   * A failure, with the errno of the failed call.
   *
   * @param pid the process the operation was on
   * @param message what failed and why; the pid is prefixed
   * @param errno the errno of the failed call, or 0
   * @param cause the underlying failure, or null
   */
  public ProcessException(int pid, String message, int errno, Throwable cause) {
    super("pid " + pid + ": " + message, cause);
    this.pid = pid;
    this.errno = errno;
  }

  /**
   * The process the operation was on.
   *
   * @return its pid
   */
  public int pid() {
    return pid;
  }

  /**
   * The errno of the failed call, or 0 when the failure was not a failed call.
   *
   * @return the errno, or 0
   */
  public int errno() {
    return errno;
  }
}
