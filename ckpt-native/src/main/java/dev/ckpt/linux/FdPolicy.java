package dev.ckpt.linux;

/** What a checkpoint does with a file descriptor it cannot save (a socket, an eventfd, ...). */
public enum FdPolicy {
  /** Refuse the checkpoint, naming the descriptor and its kind. The default. */
  FAIL,
  /** Leave it out of the image: the restored process finds the descriptor closed. */
  CLOSE
}
