package dev.ckpt;

/** A store operation failed: the message names the store, the operation and the key. */
public class StoreException extends CheckpointException {
  private static final long serialVersionUID = 1L;
  /** The store key involved, or {@code null}. */
  private final String key;

  /**
   * Creates the exception.
   *
   * @param key the store key involved, or {@code null} if the failure concerns the whole store
   * @param message what failed, where and why
   */
  public StoreException(String key, String message) {
    super(message);
    this.key = key;
  }

  /**
   * Creates the exception with the failure that caused it.
   *
   * @param key the store key involved, or {@code null} if the failure concerns the whole store
   * @param message what failed, where and why
   * @param cause the underlying failure
   */
  public StoreException(String key, String message, Throwable cause) {
    super(message, cause);
    this.key = key;
  }

  /**
   * The store key involved, or {@code null} when the failure concerns the store as a whole.
   *
   * @return the key, or {@code null}
   */
  public String key() {
    return key;
  }
}
