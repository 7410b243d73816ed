package dev.ckpt;

/** A checkpoint ran past its deadline and was aborted before its manifest was written. */
public class CheckpointTimeoutException extends CheckpointException {
  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception.
   *
   * @param message what failed, where and why
   */
  public CheckpointTimeoutException(String message) {
    super(message);
  }
}
