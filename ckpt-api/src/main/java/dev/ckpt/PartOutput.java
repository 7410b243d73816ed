package dev.ckpt;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;

/**
 * Writes one part of an image. Bytes are cut into chunks at multiples of the chunk size, so
 * the same content at the same offset hashes the same in every checkpoint. Not thread-safe.
 */
public interface PartOutput extends AutoCloseable {

  /** Appends the remaining bytes of {@code src}, consuming them. */
  void write(ByteBuffer src) throws CheckpointException;

  default void write(byte[] b, int off, int len) throws CheckpointException {
    write(ByteBuffer.wrap(b, off, len));
  }

  /** Appends {@code count} zero bytes without reading or storing them (holes, untouched pages). */
  void writeZeros(long count) throws CheckpointException;

  /**
   * Appends {@code length} bytes equal to the same range of the part of this name in the
   * writer's {@link ImageWriter#base base}, without their bytes: the base's chunks are
   * referenced, not read or hashed. The position and {@code length} must be multiples of the
   * chunk size (or {@code length} must reach the base part's end). Returns false, appending
   * nothing, when there is no base, the base has no such range, or a chunk of it can no longer
   * be reused (its pack was condemned by garbage collection); the caller then writes the bytes.
   */
  default boolean copyFromBase(long length) throws CheckpointException {
    return false;
  }

  /** Bytes written so far. */
  long position();

  /** Ends the part. The image is not committed until {@link ImageWriter#commit()}. */
  @Override
  void close() throws CheckpointException;

  /**
   * A stream view for serializers. Failures surface as {@link IOException}s whose cause is the
   * {@link CheckpointException}.
   */
  default OutputStream asOutputStream() {
    PartOutput self = this;
    return new OutputStream() {
      private final byte[] one = new byte[1];

      @Override
      public void write(int b) throws IOException {
        one[0] = (byte) b;
        write(one, 0, 1);
      }

      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        try {
          self.write(b, off, len);
        } catch (CheckpointException e) {
          throw new IOException(e.getMessage(), e);
        }
      }
    };
  }
}
