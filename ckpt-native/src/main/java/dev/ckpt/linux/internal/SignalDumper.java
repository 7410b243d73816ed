package dev.ckpt.linux.internal;

import com.sun.jna.Memory;
import dev.ckpt.linux.ProcessException;
import dev.ckpt.linux.internal.jna.Sys;
import java.util.ArrayList;
import java.util.List;

/**
 * Signal state that needs no memory contents: sigactions and interval timers (read by injected
 * rt_sigaction and getitimer) and pending signals (PTRACE_PEEKSIGINFO, private and shared).
 */
final class SignalDumper {
  static final int NSIG = 64;
  static final int SIGACTION_BYTES = 32;
  static final int SIGINFO_BYTES = 128;
  static final int ITIMER_BYTES = 32;

  private SignalDumper() {}

  /** One kernel {@code struct sigaction} per signal 1..64 (index sig-1); SIGKILL and SIGSTOP are empty. */
  static byte[][] sigactions(Tracee t, long scratch) throws ProcessException {
    byte[][] out = new byte[NSIG][];
    for (int sig = 1; sig <= NSIG; sig++) {
      if (sig == Sys.SIGKILL || sig == Sys.SIGSTOP) {
        out[sig - 1] = new byte[SIGACTION_BYTES];
        continue;
      }
      t.call("rt_sigaction(" + sig + ")", Sys.SYS_RT_SIGACTION, sig, 0, scratch, 8);
      out[sig - 1] = t.read(scratch, SIGACTION_BYTES);
    }
    return out;
  }

  /**
   * As {@link #sigactions(Tracee, long)} in one batch of injected calls (see
   * {@link Tracee#callBatch}): {@code area} is 8 KiB of executable, writable tracee memory.
   */
  static byte[][] sigactionsBatched(Tracee t, long area) throws ProcessException {
    long code = area;
    long table = area + Tracee.BATCH_CODE_ROOM;
    long buffers = table + (long) Tracee.BATCH_ENTRY * (NSIG + 1);
    long[][] calls = new long[NSIG][];
    for (int sig = 1; sig <= NSIG; sig++) {
      boolean fixed = sig == Sys.SIGKILL || sig == Sys.SIGSTOP;
      // SIGKILL and SIGSTOP have no action to read: a getpid stands in so the table stays indexed by signal.
      calls[sig - 1] = fixed ? new long[] {Sys.SYS_GETPID, 0, 0, 0, 0, 0, 0}
          : new long[] {Sys.SYS_RT_SIGACTION, sig, 0, buffers + (long) (sig - 1) * SIGACTION_BYTES, 8, 0, 0};
    }
    long[] results = t.callBatch("rt_sigaction(1..64)", code, table, calls);
    byte[] all = t.read(buffers, NSIG * SIGACTION_BYTES);
    byte[][] out = new byte[NSIG][];
    for (int sig = 1; sig <= NSIG; sig++) {
      if (sig != Sys.SIGKILL && sig != Sys.SIGSTOP && results[sig - 1] < 0) {
        throw new ProcessException(t.pid, "rt_sigaction(" + sig + ") (injected) failed: "
            + dev.ckpt.linux.internal.jna.Errno.name((int) -results[sig - 1]), (int) -results[sig - 1], null);
      }
      out[sig - 1] = sig == Sys.SIGKILL || sig == Sys.SIGSTOP ? new byte[SIGACTION_BYTES]
          : java.util.Arrays.copyOfRange(all, (sig - 1) * SIGACTION_BYTES, sig * SIGACTION_BYTES);
    }
    return out;
  }

  static byte[][] itimers(Tracee t, long scratch) throws ProcessException {
    byte[][] out = new byte[3][];
    for (int which = 0; which < 3; which++) {
      t.call("getitimer(" + which + ")", Sys.SYS_GETITIMER, which, scratch);
      out[which] = t.read(scratch, ITIMER_BYTES);
    }
    return out;
  }

  static List<byte[]> pending(Tracee t, boolean shared) throws ProcessException {
    List<byte[]> out = new ArrayList<>();
    try (Memory args = new Memory(16); Memory info = new Memory(SIGINFO_BYTES)) {
      for (long off = 0; ; off++) {
        args.setLong(0, off);
        args.setInt(8, shared ? 1 : 0);
        args.setInt(12, 1);
        long n = Sys.ptrace(Sys.PTRACE_PEEKSIGINFO, t.pid, com.sun.jna.Pointer.nativeValue(args), info,
            "PEEKSIGINFO(" + (shared ? "shared" : "private") + ")");
        if (n <= 0) {
          return out;
        }
        out.add(info.getByteArray(0, SIGINFO_BYTES));
      }
    }
  }
}
