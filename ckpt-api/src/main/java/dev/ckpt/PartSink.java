package dev.ckpt;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Receives a part's bytes during restore. Calls come from several threads at once, for disjoint
 * ranges and in no particular order; every byte of the part is covered exactly once by either
 * {@link #write} or {@link #zero}.
 */
public interface PartSink {

  /** Puts {@code data} (its remaining bytes) at {@code position}. */
  void write(long position, ByteBuffer data) throws IOException;

  /**
   * The range reads as zeros in the image. A sink that starts zero-filled (fresh memory) may do
   * nothing; one that holds old content must clear it.
   */
  void zero(long position, long length) throws IOException;
}
