package dev.ckpt;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Receives a part's bytes during restore. Calls come from several threads at once, for disjoint
 * ranges and in no particular order; every byte of the part is covered exactly once by either
 * {@link #write} or {@link #zero}.
 */
public interface PartSink {

  /**
   * Puts {@code data} (its remaining bytes) at {@code position}.
   *
   * @param position the offset in the part
   * @param data the bytes
   * @throws IOException if the target cannot be written; the read fails
   */
  void write(long position, ByteBuffer data) throws IOException;

  /**
   * The range reads as zeros in the image. A sink that starts zero-filled (fresh memory) may do
   * nothing; one that holds old content must clear it.
   *
   * @param position the offset in the part
   * @param length the number of zero bytes
   * @throws IOException if the target cannot be written; the read fails
   */
  void zero(long position, long length) throws IOException;

  /**
   * Optionally, a writable view of the target's bytes from {@code position}, {@code length}
   * long, into which restore may decompress a chunk whose stored bytes have passed their check,
   * saving a copy. Null, the default, when the target is not memory the sink can hand out.
   *
   * @param position the offset in the part
   * @param length the number of bytes
   * @return a buffer over the target's bytes, position 0 and limit {@code length}, or null
   */
  default ByteBuffer view(long position, int length) {
    return null;
  }
}
