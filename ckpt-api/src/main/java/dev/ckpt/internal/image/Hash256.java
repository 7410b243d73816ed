package dev.ckpt.internal.image;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/** A SHA-256 value held as four longs, so that map look-ups neither copy nor box arrays. */
final class Hash256 {
  static final int BYTES = 32;

  private final long a;
  private final long b;
  private final long c;
  private final long d;

  private Hash256(long a, long b, long c, long d) {
    this.a = a;
    this.b = b;
    this.c = c;
    this.d = d;
  }

  static MessageDigest newDigest() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform provides SHA-256", e);
    }
  }

  static Hash256 of(MessageDigest digest, byte[] data, int off, int len) {
    digest.reset();
    digest.update(data, off, len);
    return read(ByteBuffer.wrap(digest.digest()));
  }

  static Hash256 read(ByteBuffer in) {
    return new Hash256(in.getLong(), in.getLong(), in.getLong(), in.getLong());
  }

  void write(ByteBuffer out) {
    out.putLong(a).putLong(b).putLong(c).putLong(d);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Hash256 h && h.a == a && h.b == b && h.c == c && h.d == d;
  }

  @Override
  public int hashCode() {
    // SHA-256 output is uniform: any 32 bits make a good hash code.
    return (int) a;
  }

  @Override
  public String toString() {
    return String.format("%016x%016x%016x%016x", a, b, c, d);
  }
}
