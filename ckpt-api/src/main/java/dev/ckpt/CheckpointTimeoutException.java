package dev.ckpt;

/** A checkpoint ran past its deadline and was aborted before its manifest was written. */
public class CheckpointTimeoutException extends CheckpointException {
  private static final long serialVersionUID = 1L;

  public CheckpointTimeoutException(String message) {
    super(message);
  }
}
