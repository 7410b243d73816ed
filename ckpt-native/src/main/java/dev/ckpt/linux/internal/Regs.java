package dev.ckpt.linux.internal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** x86-64 {@code struct user_regs_struct}: 27 unsigned longs, in kernel order. */
final class Regs {
  static final int SIZE = 27 * 8;
  static final int R15 = 0, R14 = 1, R13 = 2, R12 = 3, RBP = 4, RBX = 5, R11 = 6, R10 = 7, R9 = 8, R8 = 9,
      RAX = 10, RCX = 11, RDX = 12, RSI = 13, RDI = 14, ORIG_RAX = 15, RIP = 16, CS = 17, EFLAGS = 18,
      RSP = 19, SS = 20, FS_BASE = 21, GS_BASE = 22;

  final long[] v = new long[27];

  static Regs of(byte[] raw) {
    Regs r = new Regs();
    ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < 27; i++) {
      r.v[i] = b.getLong();
    }
    return r;
  }

  byte[] bytes() {
    ByteBuffer b = ByteBuffer.allocate(SIZE).order(ByteOrder.LITTLE_ENDIAN);
    for (long x : v) {
      b.putLong(x);
    }
    return b.array();
  }

  Regs copy() {
    Regs r = new Regs();
    System.arraycopy(v, 0, r.v, 0, v.length);
    return r;
  }

  long get(int i) {
    return v[i];
  }

  Regs set(int i, long x) {
    v[i] = x;
    return this;
  }
}
