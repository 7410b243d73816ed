package dev.ckpt;

/** An image was written in a format version this library does not read. */
public class UnsupportedFormatException extends CheckpointException {
  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception.
   *
   * @param message what failed, where and why
   */
  public UnsupportedFormatException(String message) {
    super(message);
  }
}
