package dev.ckpt;

/**
 * Root of every failure that touches the operating system, a store or an image. The message
 * names what failed, where (job, checkpoint, store key, part, pid) and why.
 */
public class CheckpointException extends Exception {
  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception.
   *
   * @param message what failed, where and why
   */
  public CheckpointException(String message) {
    super(message);
  }

  /**
   * Creates the exception with the failure that caused it.
   *
   * @param message what failed, where and why
   * @param cause the underlying failure
   */
  public CheckpointException(String message, Throwable cause) {
    super(message, cause);
  }
}
