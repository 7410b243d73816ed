package dev.ckpt;

/**
 * The manifest write of a checkpoint failed in a way that leaves its outcome unknown: the store's
 * answer was lost or wrong, and reading the manifest back failed too. The checkpoint may or may
 * not exist; {@link CheckpointStore#checkpoints} tells once the store answers again. Nothing was
 * deleted: if the manifest exists, the checkpoint is whole. A new checkpoint takes the next free
 * number either way.
 */
public class CommitUnknownException extends CheckpointException {
  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception with the failure that caused it.
   *
   * @param message what failed, where and why
   * @param cause the underlying failure
   */
  public CommitUnknownException(String message, Throwable cause) {
    super(message, cause);
  }
}
