package dev.ckpt;

/**
 * Application state in a checkpoint cannot be read with the classes as they are now: a class
 * changed since the checkpoint was written (a field added, removed or retyped). The image itself
 * is intact (its hashes matched); it is not corruption. Nothing was restored.
 */
public class StateSchemaException extends CheckpointException {
  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception with the failure that caused it.
   *
   * @param message what failed, where and why
   * @param cause the underlying failure
   */
  public StateSchemaException(String message, Throwable cause) {
    super(message, cause);
  }
}
