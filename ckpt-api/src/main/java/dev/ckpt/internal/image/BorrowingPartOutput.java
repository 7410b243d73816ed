package dev.ckpt.internal.image;

import dev.ckpt.CheckpointException;
import dev.ckpt.PartOutput;

/**
 * A part output that can read a caller's array in place instead of copying it into its own
 * buffers: for data the caller has already copied out of the application (a segment's snapshot)
 * and keeps unchanged until the image is committed or closed.
 */
public interface BorrowingPartOutput extends PartOutput {
  /**
   * Appends {@code b[0, length)}. Its chunks are hashed and compressed from {@code b} itself
   * unless the part is not at a batch boundary, where it is copied as by {@link #write}; either
   * way {@code b} must not change until the image's commit or close has returned.
   *
   * @param b the bytes, lent until the image is committed or closed
   * @param length how many bytes of {@code b}, from its start
   * @throws CheckpointException if an earlier chunk failed, or the write was interrupted
   */
  void writeBorrowed(byte[] b, int length) throws CheckpointException;
}
