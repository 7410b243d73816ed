package dev.ckpt;

/**
 * An image failed an integrity check: a manifest or chunk is truncated, its checksum or hash
 * does not match, or its structure is invalid. Nothing from such an image is ever restored.
 */
public class CorruptImageException extends CheckpointException {
  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception.
   *
   * @param message what failed, where and why
   */
  public CorruptImageException(String message) {
    super(message);
  }

  /**
   * Creates the exception with the failure that caused it.
   *
   * @param message what failed, where and why
   * @param cause the underlying failure
   */
  public CorruptImageException(String message, Throwable cause) {
    super(message, cause);
  }
}
