package dev.ckpt;

/** A store operation failed: the message names the store, the operation and the key. */
public class StoreException extends CheckpointException {
  private static final long serialVersionUID = 1L;
  private final String key;

  public StoreException(String key, String message) {
    super(message);
    this.key = key;
  }

  public StoreException(String key, String message, Throwable cause) {
    super(message, cause);
    this.key = key;
  }

  /** The store key involved, or {@code null} when the failure concerns the store as a whole. */
  public String key() {
    return key;
  }
}
