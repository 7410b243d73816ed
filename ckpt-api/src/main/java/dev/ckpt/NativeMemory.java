package dev.ckpt;

import java.nio.ByteBuffer;

/**
 * Memory outside the Java heap that a {@link Checkpointer} saves and restores in place, as a
 * segment ({@link Checkpointer.Builder#registerSegment(String, NativeMemory)}): memory from a
 * native library, a JNA {@code Memory}, or a foreign-memory segment. ckpt-api itself has no
 * native dependency; {@code dev.ckpt.linux.JnaMemory} in ckpt-native adapts a JNA {@code Pointer}.
 *
 * <p>The memory must stay valid, and keep its length, while it is registered.
 */
public interface NativeMemory {

  /**
   * The number of bytes, fixed while registered.
   *
   * @return the length in bytes
   */
  long length();

  /**
   * A view of {@code length} bytes from {@code offset}, through which a checkpoint reads and a
   * restore writes them in place: a fresh buffer each call (threads may ask at once), position 0,
   * limit {@code length}.
   *
   * @param offset the first byte, from the start of the memory
   * @param length the number of bytes
   * @return a new buffer over the memory itself, not a copy
   */
  ByteBuffer slice(long offset, int length);
}
