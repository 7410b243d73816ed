package dev.ckpt;

/**
 * A store could not be opened: unknown URI scheme, two providers for one scheme, a malformed
 * URI, or a store location that does not exist.
 */
public class StoreConfigurationException extends CheckpointException {
  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception.
   *
   * @param message what failed, where and why
   */
  public StoreConfigurationException(String message) {
    super(message);
  }

  /**
   * Creates the exception with the failure that caused it.
   *
   * @param message what failed, where and why
   * @param cause the underlying failure
   */
  public StoreConfigurationException(String message, Throwable cause) {
    super(message, cause);
  }
}
