package dev.ckpt.store.s3;

import dev.ckpt.spi.BlobStore;
import java.io.InputStream;
import java.net.URI;

/**
 * Puts a generated stream of args[1] MiB under key args[2] into the store at args[0], then
 * prints DONE. S3StoreIT runs it in a JVM with a heap far smaller than the stream, so it can
 * only finish if the multipart upload holds a bounded number of parts.
 */
public final class StreamPutMain {
  private StreamPutMain() {}

  /** Byte {@code i} of the stream; the test reads samples back and compares. */
  static byte at(long i) {
    return (byte) (i * 31 + (i >>> 20));
  }

  public static void main(String[] args) throws Exception {
    long size = Long.parseLong(args[1]) << 20;
    InputStream generated = new InputStream() {
      long pos;

      @Override
      public int read() {
        return pos < size ? at(pos++) & 0xff : -1;
      }

      @Override
      public int read(byte[] b, int off, int len) {
        if (pos >= size) {
          return -1;
        }
        int n = (int) Math.min(len, size - pos);
        for (int i = 0; i < n; i++) {
          b[off + i] = at(pos++);
        }
        return n;
      }
    };
    try (BlobStore store = new S3StoreProvider().open(URI.create(args[0]))) {
      store.put(args[2], generated, size);
    }
    System.out.println("DONE");
  }
}
