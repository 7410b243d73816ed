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
