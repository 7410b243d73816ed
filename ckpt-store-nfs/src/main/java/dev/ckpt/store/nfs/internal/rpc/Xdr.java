package dev.ckpt.store.nfs.internal.rpc;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/** XDR (RFC 4506) encoding into, and decoding from, a growable big-endian buffer. */
public final class Xdr {
  private ByteBuffer b;

  private Xdr(ByteBuffer b) {
    this.b = b;
  }

  /** A buffer to encode into. */
  public static Xdr encoder(int initialCapacity) {
    return new Xdr(ByteBuffer.allocate(initialCapacity));
  }

  /** A reader over {@code bytes}. */
  public static Xdr decoder(byte[] bytes, int length) {
    return new Xdr(ByteBuffer.wrap(bytes, 0, length));
  }

  private void ensure(int n) {
    if (b.remaining() < n) {
      ByteBuffer bigger = ByteBuffer.allocate(Math.max(b.capacity() * 2, b.position() + n + 64));
      b.flip();
      bigger.put(b);
      b = bigger;
    }
  }

  public Xdr u32(int v) {
    ensure(4);
    b.putInt(v);
    return this;
  }

  public Xdr u64(long v) {
    ensure(8);
    b.putLong(v);
    return this;
  }

  public Xdr bool(boolean v) {
    return u32(v ? 1 : 0);
  }

  /** Variable-length opaque: length, bytes, zero padding to 4. */
  public Xdr opaque(byte[] data, int off, int len) {
    u32(len);
    return fixed(data, off, len);
  }

  public Xdr opaque(byte[] data) {
    return opaque(data, 0, data.length);
  }

  /** Fixed-length opaque: bytes and padding, no length. */
  public Xdr fixed(byte[] data, int off, int len) {
    int pad = (4 - (len & 3)) & 3;
    ensure(len + pad);
    b.put(data, off, len);
    for (int i = 0; i < pad; i++) {
      b.put((byte) 0);
    }
    return this;
  }

  public Xdr string(String s) {
    return opaque(s.getBytes(StandardCharsets.UTF_8));
  }

  /** The encoded bytes so far. */
  public ByteBuffer encoded() {
    return b.duplicate().flip();
  }

  public int position() {
    return b.position();
  }

  // ---- decoding

  public int u32() {
    need(4);
    return b.getInt();
  }

  public long u64() {
    need(8);
    return b.getLong();
  }

  public boolean bool() {
    return u32() != 0;
  }

  public byte[] opaque(int max) {
    int len = u32();
    if (len < 0 || len > max) {
      throw new XdrException("opaque of " + (len & 0xffffffffL) + " bytes, at most " + max + " expected");
    }
    return fixed(len);
  }

  public byte[] fixed(int len) {
    int padded = (len + 3) & ~3;
    need(padded);
    byte[] out = new byte[len];
    b.get(out);
    b.position(b.position() + padded - len);
    return out;
  }

  /** Reads an opaque straight into {@code dst} at {@code off}; returns its length. */
  public int opaqueInto(byte[] dst, int off, int max) {
    int len = u32();
    if (len < 0 || len > max) {
      throw new XdrException("opaque of " + (len & 0xffffffffL) + " bytes, at most " + max + " expected");
    }
    int padded = (len + 3) & ~3;
    need(padded);
    b.get(dst, off, len);
    b.position(b.position() + padded - len);
    return len;
  }

  public String string(int max) {
    return new String(opaque(max), StandardCharsets.UTF_8);
  }

  public void skip(int n) {
    need(n);
    b.position(b.position() + n);
  }

  public int remaining() {
    return b.remaining();
  }

  private void need(int n) {
    if (b.remaining() < n) {
      throw new XdrException("reply ends early: " + n + " bytes wanted, " + b.remaining() + " left");
    }
  }

  /** A reply that does not decode: a server bug or a stream out of step. */
  public static final class XdrException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    XdrException(String message) {
      super(message);
    }
  }
}
