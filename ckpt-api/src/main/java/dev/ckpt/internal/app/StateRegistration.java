package dev.ckpt.internal.app;

import dev.ckpt.Checkpointable;
import dev.ckpt.NativeMemory;
import dev.ckpt.PartSink;
import java.nio.ByteBuffer;

/** One named piece of registered application state and how it maps to an image part. */
public abstract sealed class StateRegistration {
  final String name;

  private StateRegistration(String name) {
    this.name = name;
  }

  public static StateRegistration object(String name, Checkpointable<?> state) {
    return new ObjectState(name, state);
  }

  public static StateRegistration buffer(String name, ByteBuffer buffer) {
    return new BufferSegment(name, buffer);
  }

  public static StateRegistration memory(String name, NativeMemory memory) {
    return new MemorySegment(name, memory);
  }

  abstract String partName();

  static final class ObjectState extends StateRegistration {
    final Checkpointable<?> state;

    ObjectState(String name, Checkpointable<?> state) {
      super(name);
      this.state = state;
    }

    @Override
    String partName() {
      return "app/" + name;
    }
  }

  /** Off-heap memory, read in slices during a checkpoint and written in place at restore. */
  abstract static sealed class Segment extends StateRegistration implements PartSink {
    private static final int ZERO_PIECE = 1 << 16;

    Segment(String name) {
      super(name);
    }

    abstract long length();

    /** A view of {@code [offset, offset + length)}; a fresh object each call, so threads never share one. */
    abstract ByteBuffer slice(long offset, int length);

    @Override
    String partName() {
      return "seg/" + name;
    }

    @Override
    public void write(long position, ByteBuffer data) {
      slice(position, data.remaining()).put(data);
    }

    @Override
    public ByteBuffer view(long position, int length) {
      return slice(position, length);
    }

    /**
     * Clears only what is not zero already. Reading is cheaper than writing, and memory that was
     * never touched (a fresh allocation in a new JVM) reads as the kernel's shared zero page:
     * writing it would make the kernel allocate every page of a zero run.
     */
    @Override
    public void zero(long position, long length) {
      ByteBuffer zeros = ByteBuffer.allocate((int) Math.min(length, ZERO_PIECE));
      for (long done = 0; done < length; ) {
        int n = (int) Math.min(zeros.capacity(), length - done);
        ByteBuffer target = slice(position + done, n);
        ByteBuffer piece = zeros.clear().limit(n);
        if (target.mismatch(piece) >= 0) {
          clear(position + done, target, piece);
        }
        done += n;
      }
    }

    /** Writes {@code zeros} (as many as {@code target} holds) over {@code target}, which starts at {@code position}. */
    void clear(long position, ByteBuffer target, ByteBuffer zeros) {
      target.put(zeros);
    }
  }

  static final class BufferSegment extends Segment {
    private final ByteBuffer buffer;

    BufferSegment(String name, ByteBuffer buffer) {
      super(name);
      this.buffer = buffer;
    }

    @Override
    long length() {
      return buffer.capacity();
    }

    @Override
    ByteBuffer slice(long offset, int length) {
      return buffer.duplicate().clear().position((int) offset).limit((int) offset + length).slice();
    }
  }

  static final class MemorySegment extends Segment {
    private final NativeMemory memory;
    private final long length;

    MemorySegment(String name, NativeMemory memory) {
      super(name);
      this.memory = memory;
      this.length = memory.length();
    }

    @Override
    long length() {
      return length;
    }

    @Override
    ByteBuffer slice(long offset, int len) {
      ByteBuffer b = memory.slice(offset, len);
      if (b.remaining() != len) {
        throw new IllegalStateException("segment '" + name + "': NativeMemory.slice(" + offset + ", " + len + ") gave "
            + b.remaining() + " bytes");
      }
      return b;
    }
  }
}
