package dev.ckpt.spi;

import java.io.IOException;
import java.io.InputStream;

/** Stream helpers for {@link BlobStore} implementations. */
public final class BlobStreams {
  private BlobStreams() {}

  /**
   * A stream that returns at most {@code limit} bytes of {@code in}, then end of stream; closing it closes {@code in}.
   *
   * @param in the stream to read from
   * @param limit the most bytes to return
   * @return a view of {@code in} that stops after {@code limit} bytes
   */
  public static InputStream limit(InputStream in, long limit) {
    return new InputStream() {
      private long remaining = limit;

      @Override
      public int read() throws IOException {
        if (remaining <= 0) {
          return -1;
        }
        int b = in.read();
        if (b >= 0) {
          remaining--;
        }
        return b;
      }

      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        if (remaining <= 0) {
          return len == 0 ? 0 : -1;
        }
        int n = in.read(b, off, (int) Math.min(len, remaining));
        if (n > 0) {
          remaining -= n;
        }
        return n;
      }

      @Override
      public void close() throws IOException {
        in.close();
      }
    };
  }
}
