package dev.ckpt;

/** The job has no checkpoint, or not the one asked for. */
public class CheckpointNotFoundException extends CheckpointException {
  private static final long serialVersionUID = 1L;

  public CheckpointNotFoundException(String message) {
    super(message);
  }
}
