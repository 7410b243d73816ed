package dev.ckpt;

/**
 * An image cannot be used with the keys this store was given: it is encrypted with a key that is
 * not configured, its manifest does not authenticate with the key it names (altered, or made with
 * another key of the same id), or it is not encrypted while the store requires encryption. The
 * message names the checkpoint and the key id. Nothing from such an image is restored.
 */
public class ImageKeyException extends CheckpointException {
  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception.
   *
   * @param message what failed, where and why
   */
  public ImageKeyException(String message) {
    super(message);
  }
}
