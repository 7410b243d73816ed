package dev.ckpt;

/**
 * Another writer committed the checkpoint number this writer was about to commit. This writer's
 * checkpoint was not committed; the other one stands.
 */
public class CommitConflictException extends CheckpointException {
  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception.
   *
   * @param message what failed, where and why
   */
  public CommitConflictException(String message) {
    super(message);
  }
}
