package dev.ckpt;

/** A store was asked for a key that it does not hold. */
public class NoSuchKeyException extends StoreException {
  private static final long serialVersionUID = 1L;

  public NoSuchKeyException(String store, String key) {
    super(key, "store " + store + ": no such key '" + key + "'");
  }
}
