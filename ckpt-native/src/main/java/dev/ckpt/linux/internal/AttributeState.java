package dev.ckpt.linux.internal;

import dev.ckpt.linux.ProcessException;
import dev.ckpt.linux.internal.jna.Sys;
import dev.ckpt.linux.internal.proc.ProcFs;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Per-process attributes that are neither memory, files nor signals: resource limits,
 * personality, the prctl flags (no_new_privs, THP disable, dumpable, child subreaper, parent-death
 * signal), membarrier registrations, oom_score_adj, nice, CPU affinity and the signal alternate
 * stack. Read with injected calls and /proc at dump; set with injected calls at restore. The image
 * keeps them as named values, so a reader refuses a name it does not know instead of dropping it.
 */
final class AttributeState {
  static final String PERSONALITY = "personality", NO_NEW_PRIVS = "no_new_privs", THP_DISABLE = "thp_disable",
      DUMPABLE = "dumpable", SUBREAPER = "child_subreaper", PDEATHSIG = "pdeath_signal", MEMBARRIER = "membarrier",
      OOM_SCORE_ADJ = "oom_score_adj", NICE = "nice", AFFINITY = "affinity", SIGALTSTACK = "sigaltstack",
      RLIMIT = "rlimit.";
  private static final int AFFINITY_BYTES = 128;

  private AttributeState() {}

  /**
   * Reads every attribute; {@code scratch} is a writable page in the tracee, and {@code batch}
   * executable memory there for the calls to run in one batch (negative: one at a time).
   * Refuses what restore could not set.
   */
  static Map<String, long[]> dump(Tracee t, long scratch, long batch, String[] stat) throws ProcessException {
    int pid = t.pid;
    // Each call's output at its own offset of scratch, read back at once.
    long subreaper = scratch, deathSig = scratch + 8, affinity = scratch + 16, altStack = affinity + AFFINITY_BYTES;
    long limits = altStack + 24;
    Tracee.Calls calls = t.new Calls();
    int personality = calls.add("personality(query)", Sys.SYS_PERSONALITY, 0xffffffffL);
    int noNewPrivs = calls.add("prctl(PR_GET_NO_NEW_PRIVS)", Sys.SYS_PRCTL, Sys.PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
    int thpDisable = calls.add("prctl(PR_GET_THP_DISABLE)", Sys.SYS_PRCTL, Sys.PR_GET_THP_DISABLE, 0, 0, 0, 0);
    int dumpable = calls.add("prctl(PR_GET_DUMPABLE)", Sys.SYS_PRCTL, Sys.PR_GET_DUMPABLE, 0, 0, 0, 0);
    calls.add("prctl(PR_GET_CHILD_SUBREAPER)", Sys.SYS_PRCTL, Sys.PR_GET_CHILD_SUBREAPER, subreaper, 0, 0, 0);
    calls.add("prctl(PR_GET_PDEATHSIG)", Sys.SYS_PRCTL, Sys.PR_GET_PDEATHSIG, deathSig, 0, 0, 0);
    int membarrier = calls.add("membarrier(GET_REGISTRATIONS)", Sys.SYS_MEMBARRIER, Sys.MEMBARRIER_CMD_GET_REGISTRATIONS, 0, 0);
    int affinityBytes = calls.add("sched_getaffinity", Sys.SYS_SCHED_GETAFFINITY, 0, AFFINITY_BYTES, affinity);
    calls.add("sigaltstack(query)", Sys.SYS_SIGALTSTACK, 0, altStack);
    for (int res = 0; res < Sys.RLIMIT_NAMES.length; res++) {
      calls.add("prlimit64(" + Sys.RLIMIT_NAMES[res] + ")", Sys.SYS_PRLIMIT64, 0, res, 0, limits + 16L * res);
    }
    long[] r = calls.run(batch);
    ByteBuffer out = ByteBuffer.wrap(t.read(scratch, (int) (limits + 16L * Sys.RLIMIT_NAMES.length - scratch)))
        .order(java.nio.ByteOrder.LITTLE_ENDIAN);
    Map<String, long[]> a = new LinkedHashMap<>();
    a.put(PERSONALITY, new long[] {r[personality]});
    a.put(NO_NEW_PRIVS, new long[] {r[noNewPrivs]});
    a.put(THP_DISABLE, new long[] {r[thpDisable]});
    a.put(DUMPABLE, new long[] {r[dumpable]});
    a.put(SUBREAPER, new long[] {out.get((int) (subreaper - scratch))});
    a.put(PDEATHSIG, new long[] {out.getInt((int) (deathSig - scratch))});
    a.put(MEMBARRIER, new long[] {r[membarrier]});
    a.put(NICE, new long[] {Long.parseLong(stat[19])});
    byte[] mask = new byte[(int) r[affinityBytes]];
    out.get((int) (affinity - scratch), mask);
    a.put(AFFINITY, longs(mask));
    int ss = (int) (altStack - scratch);
    long ssSp = out.getLong(ss), ssFlags = out.getInt(ss + 8), ssSize = out.getLong(ss + 16);
    if ((ssFlags & Sys.SS_ONSTACK) != 0) {
      throw new ProcessException(pid, "is running a signal handler on its alternate signal stack (sigaltstack at 0x"
          + Long.toHexString(ssSp) + "); checkpoint it outside the handler");
    }
    a.put(SIGALTSTACK, new long[] {ssSp, ssFlags, ssSize});
    Map<Integer, long[]> ours = ownLimits();
    for (int res = 0; res < Sys.RLIMIT_NAMES.length; res++) {
      int at = (int) (limits - scratch) + 16 * res;
      long soft = out.getLong(at), hard = out.getLong(at + 8);
      long[] mine = ours.get(res);
      if (mine != null && above(hard, mine[1])) {
        throw new ProcessException(pid, Sys.RLIMIT_NAMES[res] + " has hard limit " + limit(hard)
            + ", above the checkpointer's " + limit(mine[1]) + "; a restored process could not raise it back"
            + " (that needs CAP_SYS_RESOURCE)");
      }
      a.put(RLIMIT + Sys.RLIMIT_NAMES[res], new long[] {soft, hard});
    }
    long oom = oomScoreAdj(pid);
    long ownOom = oomScoreAdj(0);
    if (oom < ownOom) {
      throw new ProcessException(pid, "has oom_score_adj " + oom + ", below the checkpointer's " + ownOom
          + "; a restored process could not lower it back (that needs CAP_SYS_RESOURCE)");
    }
    a.put(OOM_SCORE_ADJ, new long[] {oom});
    return a;
  }

  /** Sets every attribute in the process being restored; the values it already has are left alone. */
  static void restore(Tracee t, long scratch, Map<String, long[]> a) throws ProcessException {
    for (String key : a.keySet()) {
      if (!known(key)) {
        throw new ProcessException(t.pid, "the image holds process attribute '" + key + "', which this ckpt cannot restore");
      }
    }
    long[] v;
    for (int res = 0; res < Sys.RLIMIT_NAMES.length; res++) {
      long[] lim = a.get(RLIMIT + Sys.RLIMIT_NAMES[res]);
      if (lim == null) {
        continue;
      }
      t.call("prlimit64(" + Sys.RLIMIT_NAMES[res] + ", query)", Sys.SYS_PRLIMIT64, 0, res, 0, scratch);
      ByteBuffer now = ByteBuffer.wrap(t.read(scratch, 16)).order(java.nio.ByteOrder.LITTLE_ENDIAN);
      if (now.getLong(0) != lim[0] || now.getLong(8) != lim[1]) {
        ByteBuffer b = Tracee.le(16).putLong(lim[0]).putLong(lim[1]);
        t.write(scratch, b.array());
        t.call("prlimit64(" + Sys.RLIMIT_NAMES[res] + ", soft " + limit(lim[0]) + ", hard " + limit(lim[1]) + ")",
            Sys.SYS_PRLIMIT64, 0, res, scratch, 0);
      }
    }
    if ((v = a.get(PERSONALITY)) != null && v[0] != t.call("personality(query)", Sys.SYS_PERSONALITY, 0xffffffffL)) {
      t.call("personality(0x" + Long.toHexString(v[0]) + ")", Sys.SYS_PERSONALITY, v[0]);
    }
    if ((v = a.get(THP_DISABLE)) != null && v[0] != 0) {
      t.call("prctl(PR_SET_THP_DISABLE)", Sys.SYS_PRCTL, Sys.PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
    if ((v = a.get(SUBREAPER)) != null && v[0] != 0) {
      t.call("prctl(PR_SET_CHILD_SUBREAPER)", Sys.SYS_PRCTL, Sys.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    }
    if ((v = a.get(PDEATHSIG)) != null && v[0] != 0) {
      t.call("prctl(PR_SET_PDEATHSIG, " + v[0] + ")", Sys.SYS_PRCTL, Sys.PR_SET_PDEATHSIG, v[0], 0, 0, 0);
    }
    if ((v = a.get(MEMBARRIER)) != null) {
      for (int bit = 0; bit < 31; bit++) {
        if ((v[0] & (1L << bit)) != 0) {
          t.call("membarrier(register 0x" + Integer.toHexString(1 << bit) + ")", Sys.SYS_MEMBARRIER, 1L << bit, 0, 0);
        }
      }
    }
    // getpriority returns 20 - nice, so that it is never negative.
    if ((v = a.get(NICE)) != null && v[0] != 20 - t.call("getpriority", Sys.SYS_GETPRIORITY, 0, 0)) {
      t.call("setpriority(nice " + v[0] + ")", Sys.SYS_SETPRIORITY, 0, 0, v[0]);
    }
    if ((v = a.get(AFFINITY)) != null) {
      ByteBuffer b = Tracee.le(v.length * 8);
      for (long x : v) {
        b.putLong(x);
      }
      t.write(scratch, b.array());
      t.call("sched_setaffinity", Sys.SYS_SCHED_SETAFFINITY, 0, v.length * 8L, scratch);
    }
    if ((v = a.get(SIGALTSTACK)) != null && (v[1] & Sys.SS_DISABLE) == 0) {
      ByteBuffer b = Tracee.le(24).putLong(v[0]).putInt((int) v[1]).putInt(0).putLong(v[2]);
      t.write(scratch, b.array());
      t.call("sigaltstack", Sys.SYS_SIGALTSTACK, scratch, 0);
    }
    if ((v = a.get(OOM_SCORE_ADJ)) != null && v[0] != oomScoreAdj(t.pid)) {
      try {
        Files.writeString(ProcFs.dir(t.pid).resolve("oom_score_adj"), Long.toString(v[0]));
      } catch (IOException e) {
        throw new ProcessException(t.pid, "setting oom_score_adj to " + v[0] + " failed: " + e, 0, e);
      }
    }
    // Last: no_new_privs and dumpable only ever narrow what the process may do.
    if ((v = a.get(NO_NEW_PRIVS)) != null && v[0] != 0) {
      t.call("prctl(PR_SET_NO_NEW_PRIVS)", Sys.SYS_PRCTL, Sys.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    }
    if ((v = a.get(DUMPABLE)) != null && v[0] != 1) {
      t.call("prctl(PR_SET_DUMPABLE, " + v[0] + ")", Sys.SYS_PRCTL, Sys.PR_SET_DUMPABLE, v[0], 0, 0, 0);
    }
  }

  private static boolean known(String key) {
    return switch (key) {
      case PERSONALITY, NO_NEW_PRIVS, THP_DISABLE, DUMPABLE, SUBREAPER, PDEATHSIG, MEMBARRIER, OOM_SCORE_ADJ, NICE,
          AFFINITY, SIGALTSTACK -> true;
      default -> key.startsWith(TimerState.PREFIX) || key.startsWith(RLIMIT) && java.util.Arrays.asList(Sys.RLIMIT_NAMES).contains(key.substring(RLIMIT.length()));
    };
  }

  /** One line per attribute that differs from a fresh process's, for {@code ckpt inspect}. */
  static Map<String, String> describe(Map<String, long[]> a) {
    Map<String, String> out = new TreeMap<>();
    a.forEach((k, v) -> {
      if (k.startsWith(RLIMIT)) {
        out.put(k.substring(RLIMIT.length()), limit(v[0]) + " / " + limit(v[1]));
      } else if (k.startsWith(TimerState.PREFIX)) {
        out.put(k, TimerState.describe(v));
      } else if (k.equals(AFFINITY)) {
        StringBuilder sb = new StringBuilder();
        for (int i = v.length - 1; i >= 0; i--) {
          if (sb.length() > 0) {
            sb.append(String.format("%016x", v[i]));
          } else if (v[i] != 0 || i == 0) {
            sb.append(Long.toHexString(v[i]));
          }
        }
        out.put(k, "cpu mask 0x" + sb);
      } else if (k.equals(SIGALTSTACK)) {
        out.put(k, (v[1] & Sys.SS_DISABLE) != 0 ? "disabled" : String.format("0x%x, %d bytes", v[0], v[2]));
      } else if (k.equals(PERSONALITY) || k.equals(MEMBARRIER)) {
        out.put(k, "0x" + Long.toHexString(v[0]));
      } else {
        out.put(k, Long.toString(v[0]));
      }
    });
    return out;
  }

  private static boolean above(long a, long b) {
    return b != Sys.RLIM_INFINITY && (a == Sys.RLIM_INFINITY || Long.compareUnsigned(a, b) > 0);
  }

  static String limit(long x) {
    return x == Sys.RLIM_INFINITY ? "unlimited" : Long.toUnsignedString(x);
  }

  private static long[] longs(byte[] b) {
    ByteBuffer in = ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    long[] out = new long[b.length / 8];
    for (int i = 0; i < out.length; i++) {
      out[i] = in.getLong();
    }
    return out;
  }

  /** The checkpointer's own hard and soft limits, by resource, from /proc/self/limits. */
  private static Map<Integer, long[]> ownLimits() throws ProcessException {
    Map<Integer, long[]> out = new LinkedHashMap<>();
    try (com.sun.jna.Memory m = new com.sun.jna.Memory(16)) {
      for (int res = 0; res < Sys.RLIMIT_NAMES.length; res++) {
        dev.ckpt.linux.internal.jna.LibC.syscall(Sys.SYS_PRLIMIT64, 0, res, 0, com.sun.jna.Pointer.nativeValue(m), 0, 0);
        out.put(res, new long[] {m.getLong(0), m.getLong(8)});
      }
    } catch (com.sun.jna.LastErrorException e) {
      throw Sys.error("prlimit64 of the checkpointer", 0, e);
    }
    return out;
  }

  private static long oomScoreAdj(int pid) throws ProcessException {
    Path p = pid == 0 ? Path.of("/proc/self/oom_score_adj") : ProcFs.dir(pid).resolve("oom_score_adj");
    try {
      return Long.parseLong(Files.readString(p).trim());
    } catch (IOException | NumberFormatException e) {
      throw new ProcessException(pid, "reading " + p + " failed: " + e, 0, e);
    }
  }
}
