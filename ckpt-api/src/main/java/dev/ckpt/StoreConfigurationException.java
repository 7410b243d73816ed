package dev.ckpt;

/**
 * A store could not be opened: unknown URI scheme, two providers for one scheme, a malformed
 * URI, or a store location that does not exist.
 */
public class StoreConfigurationException extends CheckpointException {
  private static final long serialVersionUID = 1L;

  public StoreConfigurationException(String message) {
    super(message);
  }

  public StoreConfigurationException(String message, Throwable cause) {
    super(message, cause);
  }
}
