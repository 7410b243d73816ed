package dev.ckpt;

/**
 * An image failed an integrity check: a manifest or chunk is truncated, its checksum or hash
 * does not match, or its structure is invalid. Nothing from such an image is ever restored.
 */
public class CorruptImageException extends CheckpointException {
  private static final long serialVersionUID = 1L;

  public CorruptImageException(String message) {
    super(message);
  }

  public CorruptImageException(String message, Throwable cause) {
    super(message, cause);
  }
}
