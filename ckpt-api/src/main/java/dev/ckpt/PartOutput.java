package dev.ckpt;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;

/**
 * Writes one part of an image. Bytes are cut into chunks at multiples of the chunk size, so
 * the same content at the same offset hashes the same in every checkpoint. Not thread-safe.
 */
public interface PartOutput extends AutoCloseable {

  /**
   * Appends the remaining bytes of {@code src}, consuming them.
   *
   * @param src the bytes to append
   * @throws CheckpointException if storing the image's chunks has failed
   */
  void write(ByteBuffer src) throws CheckpointException;

  /**
   * Appends {@code len} bytes of {@code b} from {@code off}.
   *
   * @param b the array
   * @param off the first byte to append
   * @param len how many bytes to append
   * @throws CheckpointException if storing the image's chunks has failed
   */
  default void write(byte[] b, int off, int len) throws CheckpointException {
    write(ByteBuffer.wrap(b, off, len));
  }

  /**
   * Appends {@code count} zero bytes without reading or storing them (holes, untouched pages).
   *
   * @param count how many zero bytes to append
   * @throws CheckpointException if storing the image's chunks has failed
   */
  void writeZeros(long count) throws CheckpointException;

  /**
   * Appends {@code length} bytes equal to the same range of the part of this name in the
   * writer's {@link ImageWriter#base base}, without their bytes: the base's chunks are
   * referenced, not read or hashed. A range on the chunk grid references whole chunks; a range
   * that cuts a chunk references the slice of it that it covers (a page that did not change
   * next to one that did), and the bytes written before it since the last chunk boundary become
   * a short chunk of their own. Returns false, appending nothing, when there is no base, the
   * base has no such range, a chunk of it can no longer be reused (its pack was condemned by
   * garbage collection), or the range cuts a chunk-sized window that earlier checkpoints have
   * already cut into many slices; the caller then writes the bytes.
   *
   * @param length how many bytes to append
   * @return whether the range was appended; the default appends nothing
   * @throws CheckpointException if the store cannot be read or written
   */
  default boolean copyFromBase(long length) throws CheckpointException {
    return false;
  }

  /**
   * Bytes written so far.
   *
   * @return the part's length so far, zeros and copied ranges included
   */
  long position();

  /** Ends the part. The image is not committed until {@link ImageWriter#commit()}. */
  @Override
  void close() throws CheckpointException;

  /**
   * A stream view for serializers. Failures surface as {@link IOException}s whose cause is the
   * {@link CheckpointException}.
   *
   * @return a stream that appends to this part; closing it does not end the part
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
