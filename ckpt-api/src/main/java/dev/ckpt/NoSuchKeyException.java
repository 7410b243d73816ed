package dev.ckpt;

/** A store was asked for a key that it does not hold. */
public class NoSuchKeyException extends StoreException {
  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception, with a message naming the store and the key.
   *
   * @param store the store, as it should appear in the message (usually its URI)
   * @param key the key asked for
   */
  public NoSuchKeyException(String store, String key) {
    super(key, "store " + store + ": no such key '" + key + "'");
  }
}
