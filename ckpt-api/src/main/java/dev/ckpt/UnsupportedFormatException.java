package dev.ckpt;

/** An image was written in a format version this library does not read. */
public class UnsupportedFormatException extends CheckpointException {
  private static final long serialVersionUID = 1L;

  public UnsupportedFormatException(String message) {
    super(message);
  }
}
