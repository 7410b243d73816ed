package dev.ckpt;

/** The job has no checkpoint, or not the one asked for. */
public class CheckpointNotFoundException extends CheckpointException {
  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception.
   *
   * @param message what failed, where and why
   */
  public CheckpointNotFoundException(String message) {
    super(message);
  }
}
