package dev.ckpt;

/**
 * Root of every failure that touches the operating system, a store or an image. The message
 * names what failed, where (job, checkpoint, store key, part, pid) and why.
 */
public class CheckpointException extends Exception {
  private static final long serialVersionUID = 1L;

  public CheckpointException(String message) {
    super(message);
  }

  public CheckpointException(String message, Throwable cause) {
    super(message, cause);
  }
}
