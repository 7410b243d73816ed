package dev.ckpt.linux;

import com.sun.jna.Pointer;
import dev.ckpt.NativeMemory;
import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * A JNA {@link Pointer} and a length as a segment of application state:
 * {@code Checkpointer.builder().registerSegment("grid", JnaMemory.of(memory, memory.size()))}.
 * It lives here, where JNA is a dependency already, so that an application that checkpoints only
 * its own state does not need JNA.
 */
public final class JnaMemory implements NativeMemory {
  /** Held so that a JNA {@code Memory} cannot be freed while it is registered. */
  private final Pointer address;
  /**
   * The same address as a plain pointer: {@code Memory.getByteBuffer} records every view in a
   * weak-reference table, a cost per slice that this object's own reference makes needless.
   */
  private final Pointer view;
  private final long length;

  private JnaMemory(Pointer address, long length) {
    this.address = address;
    this.view = new Pointer(Pointer.nativeValue(address));
    this.length = length;
  }

  /**
   * {@code length} bytes at {@code address}, which must stay allocated while registered.
   *
   * @param address the first byte, for example a JNA {@code Memory}
   * @param length the number of bytes, not negative
   * @return the segment
   * @throws IllegalArgumentException if {@code length} is negative
   */
  public static JnaMemory of(Pointer address, long length) {
    Objects.requireNonNull(address, "address");
    if (length < 0) {
      throw new IllegalArgumentException("negative length " + length);
    }
    return new JnaMemory(address, length);
  }

  @Override
  public long length() {
    return length;
  }

  @Override
  public ByteBuffer slice(long offset, int len) {
    if (offset < 0 || len < 0 || offset + len > length) {
      throw new IndexOutOfBoundsException("slice [" + offset + ", " + (offset + len) + ") of " + length + " bytes at "
          + address);
    }
    return view.getByteBuffer(offset, len);
  }
}
