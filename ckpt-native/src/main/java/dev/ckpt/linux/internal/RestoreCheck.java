package dev.ckpt.linux.internal;

import dev.ckpt.linux.internal.ProcessImage.FdKind;
import dev.ckpt.linux.internal.ProcessImage.FdRecord;
import dev.ckpt.linux.internal.ProcessImage.VmaKind;
import dev.ckpt.linux.internal.ProcessImage.VmaRecord;
import dev.ckpt.linux.internal.jna.Sys;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Compares the kernel-visible state of a rebuilt process, read back with the dumper's own code
 * before it runs an instruction, with the image it was rebuilt from: mappings (address,
 * protection, madvise flags, kind, backing), the fd table (numbers, kinds, flags, offsets), signal
 * actions, mask and pending signals, interval timers, process attributes, cwd, umask, mm fields,
 * auxv and rseq. What the restore re-wires on purpose (stdio) and what differs by nature (pipe
 * inode numbers, how the kernel merged adjacent mappings, how far a timer has run) is left out.
 */
final class RestoreCheck {
  private static final int[] TIMER_SIGNALS = {14 /* SIGALRM */, 26 /* SIGVTALRM */, 27 /* SIGPROF */};

  private RestoreCheck() {}

  /** One line per difference, "what: image X, process Y"; empty when the process matches. */
  static List<String> differences(ProcessImage want, ProcessImage got) {
    List<String> d = new ArrayList<>();
    same(d, "executable", want.exe(), got.exe());
    same(d, "cwd", want.cwd(), got.cwd());
    same(d, "umask", Integer.toOctalString(want.umask()), Integer.toOctalString(got.umask()));
    same(d, "uid", want.uid(), got.uid());
    String[] mmNames = {"start_code", "end_code", "start_data", "end_data", "start_brk", "brk", "start_stack",
        "arg_start", "arg_end", "env_start", "env_end"};
    for (int i = 0; i < Math.min(want.mm().length, got.mm().length); i++) {
      same(d, mmNames[i], Long.toHexString(want.mm()[i]), Long.toHexString(got.mm()[i]));
    }
    if (!Arrays.equals(want.auxv(), got.auxv())) {
      d.add("auxv: the image's " + want.auxv().length + " bytes differ from the process's " + got.auxv().length);
    }
    mappings(d, coalesce(want.vmas()), coalesce(got.vmas()));
    fds(d, want.fds(), got.fds());
    for (int sig = 1; sig <= Math.min(want.sigactions().length, got.sigactions().length); sig++) {
      if (sig != Sys.SIGKILL && sig != Sys.SIGSTOP && !Arrays.equals(want.sigactions()[sig - 1], got.sigactions()[sig - 1])) {
        d.add("sigaction of signal " + sig + " differs");
      }
    }
    mask(d, "signal mask", want.thread(), got.thread());
    // A timer armed in the image may fire between its re-arming and this check: its signal is
    // compared as "will fire" below, not as a pending signal.
    java.util.Set<Integer> timerSignals = liveTimerSignals(want);
    same(d, "pending private signals", without(signals(want.pendingPrivate()), timerSignals),
        without(signals(got.pendingPrivate()), timerSignals));
    same(d, "pending shared signals", without(signals(want.pendingShared()), timerSignals),
        without(signals(got.pendingShared()), timerSignals));
    for (int which = 0; which < Math.min(want.itimers().length, got.itimers().length); which++) {
      same(d, "interval timer " + which, timer(want, which), timer(got, which));
    }
    same(d, "rseq", want.thread().rseqPtr() + "/" + want.thread().rseqLen() + "/" + want.thread().rseqSig(),
        got.thread().rseqPtr() + "/" + got.thread().rseqLen() + "/" + got.thread().rseqSig());
    threads(d, want, got, timerSignals);
    Map<String, String> wa = AttributeState.describe(want.attributes());
    Map<String, String> ga = AttributeState.describe(got.attributes());
    for (String k : wa.keySet()) {
      same(d, k, wa.get(k), ga.get(k));
    }
    for (Map.Entry<String, long[]> e : want.attributes().entrySet()) {
      long[] g = got.attributes().get(e.getKey());
      if (e.getKey().startsWith(TimerState.PREFIX) && g != null) {
        int sig = (int) e.getValue()[TimerState.SIGNO];
        same(d, e.getKey() + " will fire", TimerState.armed(e.getValue()) || allPending(want).contains(sig),
            TimerState.armed(g) || allPending(got).contains(sig));
      }
    }
    return d;
  }

  /**
   * Every thread by its tid: the same set, and each with its mask, rseq, clear_child_tid, robust
   * list, sigaltstack, name, TLS base, stack pointer and private pending signals. Images before
   * version 3 hold none of the per-thread items, and a single-threaded image gets a new pid.
   */
  private static void threads(List<String> d, ProcessImage want, ProcessImage got, java.util.Set<Integer> timerSignals) {
    ProcessImage.ThreadRecord wm = want.thread();
    ProcessImage.ThreadRecord gm = got.thread();
    boolean v3 = !wm.name().isEmpty();
    if (v3) {
      same(d, "main thread clear_child_tid", Long.toHexString(wm.clearTid()), Long.toHexString(gm.clearTid()));
      same(d, "main thread robust list", Long.toHexString(wm.robustHead()) + "/" + wm.robustLen(),
          Long.toHexString(gm.robustHead()) + "/" + gm.robustLen());
      same(d, "main thread name", wm.name(), gm.name());
    }
    if (want.threads().size() == 1 && got.threads().size() == 1) {
      return;
    }
    same(d, "pid", wm.tid(), gm.tid());
    Map<Integer, ProcessImage.ThreadRecord> g = new HashMap<>();
    for (ProcessImage.ThreadRecord t : got.threads().subList(1, got.threads().size())) {
      g.put(t.tid(), t);
    }
    for (ProcessImage.ThreadRecord w : want.threads().subList(1, want.threads().size())) {
      ProcessImage.ThreadRecord h = g.remove(w.tid());
      String who = "thread " + w.tid() + " ";
      if (h == null) {
        d.add(who + "is missing");
        continue;
      }
      mask(d, who + "signal mask", w, h);
      same(d, who + "rseq", w.rseqPtr() + "/" + w.rseqLen() + "/" + w.rseqSig(), h.rseqPtr() + "/" + h.rseqLen() + "/" + h.rseqSig());
      same(d, who + "clear_child_tid", Long.toHexString(w.clearTid()), Long.toHexString(h.clearTid()));
      same(d, who + "robust list", Long.toHexString(w.robustHead()) + "/" + w.robustLen(),
          Long.toHexString(h.robustHead()) + "/" + h.robustLen());
      same(d, who + "sigaltstack", altstack(w.altstack()), altstack(h.altstack()));
      same(d, who + "name", w.name(), h.name());
      Regs wr = Regs.of(w.regs());
      Regs hr = Regs.of(h.regs());
      same(d, who + "fs_base", Long.toHexString(wr.get(Regs.FS_BASE)), Long.toHexString(hr.get(Regs.FS_BASE)));
      same(d, who + "stack pointer", Long.toHexString(wr.get(Regs.RSP)), Long.toHexString(hr.get(Regs.RSP)));
      same(d, who + "pending signals", without(signals(w.pending()), timerSignals), without(signals(h.pending()), timerSignals));
    }
    for (int tid : g.keySet()) {
      d.add("thread " + tid + " is not in the image");
    }
  }

  /**
   * A thread's mask; one stopped in rt_sigtimedwait resumes with its waited signals blocked again
   * (ProcessRestorer#maskForResume), so there the restored mask may add bits, and only add.
   */
  private static void mask(List<String> d, String what, ProcessImage.ThreadRecord want, ProcessImage.ThreadRecord got) {
    Regs r = Regs.of(want.regs());
    long rax = r.get(Regs.RAX);
    boolean sigtimedwait = r.get(Regs.ORIG_RAX) == Sys.SYS_RT_SIGTIMEDWAIT && rax <= -512 && rax >= -516;
    if (sigtimedwait && (got.sigmask() & want.sigmask()) == want.sigmask()) {
      return;
    }
    same(d, what, Long.toHexString(want.sigmask()), Long.toHexString(got.sigmask()));
  }

  /** A stack_t as "sp/size/flags", without SS_ONSTACK (a new thread is not on it yet). */
  private static String altstack(byte[] ss) {
    if (ss.length < 24) {
      return "none";
    }
    ByteBuffer b = ByteBuffer.wrap(ss).order(ByteOrder.LITTLE_ENDIAN);
    return Long.toHexString(b.getLong(0)) + "/" + b.getLong(16) + "/" + (b.getInt(8) & ~Sys.SS_ONSTACK);
  }

  private static void same(List<String> d, String what, Object want, Object got) {
    if (!String.valueOf(want).equals(String.valueOf(got))) {
      d.add(what + ": image " + want + ", process " + got);
    }
  }

  /** Adjacent mappings the kernel may show as one or as two are merged, in both lists alike. */
  static List<VmaRecord> coalesce(List<VmaRecord> vmas) {
    List<VmaRecord> out = new ArrayList<>();
    for (VmaRecord v0 : vmas) {
      // A shared object's key names its inode, which is new after restore; sharing is checked
      // by the restore itself, which maps one object per key.
      VmaRecord v = v0.kind() == VmaKind.SHARED_ANON ? new VmaRecord(v0.start(), v0.end(), v0.prot(), v0.kind(), v0.offset(),
          "", v0.dumped()) : v0;
      VmaRecord last = out.isEmpty() ? null : out.get(out.size() - 1);
      boolean file = v.kind() == VmaKind.FILE_PRIVATE || v.kind() == VmaKind.FILE_SHARED || v.kind() == VmaKind.OWNED_FILE;
      if (last != null && last.end() == v.start() && last.prot() == v.prot() && last.kind() == v.kind()
          && last.path().equals(v.path()) && (!file || last.offset() + last.length() == v.offset())) {
        out.set(out.size() - 1, new VmaRecord(last.start(), v.end(), last.prot(), last.kind(), last.offset(), last.path(),
            new long[0]));
      } else {
        out.add(new VmaRecord(v.start(), v.end(), v.prot(), v.kind(), v.kind() == VmaKind.FILE_PRIVATE
            || v.kind() == VmaKind.FILE_SHARED || v.kind() == VmaKind.OWNED_FILE ? v.offset() : 0, v.path(), new long[0]));
      }
    }
    return out;
  }

  private static String describe(VmaRecord v) {
    return String.format("%x-%x prot %d flags 0x%x %s %s+%x", v.start(), v.end(), v.protection(), v.prot() >>> 8,
        v.kind().name().toLowerCase(java.util.Locale.ROOT), v.path(), v.offset());
  }

  private static void mappings(List<String> d, List<VmaRecord> want, List<VmaRecord> got) {
    List<String> w = want.stream().map(RestoreCheck::describe).toList();
    List<String> g = got.stream().map(RestoreCheck::describe).toList();
    for (String x : w) {
      if (!g.contains(x)) {
        d.add("mapping " + x + " is missing or different");
      }
    }
    for (String x : g) {
      if (!w.contains(x)) {
        d.add("mapping " + x + " is not in the image");
      }
    }
  }

  private static void fds(List<String> d, List<FdRecord> want, List<FdRecord> got) {
    Map<Integer, FdRecord> g = new HashMap<>();
    for (FdRecord f : got) {
      g.put(f.fd(), f);
    }
    Map<Integer, FdRecord> w = new HashMap<>();
    for (FdRecord f : want) {
      w.put(f.fd(), f);
    }
    for (FdRecord f : want) {
      if (f.kind() == FdKind.STDIO) {
        continue; // re-wired to what the restore was given
      }
      FdRecord h = g.get(f.fd());
      if (h == null) {
        d.add("fd " + f.fd() + " (" + f.kind() + " " + f.path() + ") is not open");
        continue;
      }
      if (f.kind() == FdKind.SHARED) {
        continue; // taken from another process of the tree, which is checked itself
      }
      boolean pipe = f.kind() == FdKind.PIPE;
      same(d, "fd " + f.fd() + " kind", f.kind(), h.kind());
      if (f.kind() == FdKind.UNIX) {
        // A new pair has new inodes; its queues were sent again and are read by the process.
      } else if (f.kind() == FdKind.TIMERFD && h.kind() == FdKind.TIMERFD) {
        // Time runs on and may add expirations (ticks) between rebuild and check.
        same(d, "fd " + f.fd() + " clock", EventFiles.field(f.path(), "clock"), EventFiles.field(h.path(), "clock"));
        same(d, "fd " + f.fd() + " interval", f.size(), h.size());
        boolean expiredSince = Long.parseUnsignedLong(EventFiles.field(h.path(), "ticks"))
            > Long.parseUnsignedLong(EventFiles.field(f.path(), "ticks"));
        same(d, "fd " + f.fd() + " armed", f.pos() != 0 || f.size() != 0, h.pos() != 0 || h.size() != 0 || expiredSince);
      } else if (!pipe) {
        same(d, "fd " + f.fd() + " path", f.path(), h.path());
      }
      same(d, "fd " + f.fd() + " flags", Integer.toOctalString(f.flags()), Integer.toOctalString(h.flags()));
      if (f.kind() == FdKind.FILE || f.kind() == FdKind.DIRECTORY || f.kind() == FdKind.EVENTFD
          || f.kind() == FdKind.SIGNALFD) {
        same(d, "fd " + f.fd() + (f.kind() == FdKind.EVENTFD ? " counter" : f.kind() == FdKind.SIGNALFD ? " mask" : " offset"),
            f.pos(), h.pos());
      }
    }
    for (FdRecord h : got) {
      if (!w.containsKey(h.fd())) {
        d.add("fd " + h.fd() + " (" + h.path() + ") is open but not in the image");
      }
    }
  }

  /** The signals pending anywhere in the process: shared, or private to any thread. */
  private static TreeSet<Integer> allPending(ProcessImage img) {
    TreeSet<Integer> s = signals(img.pendingShared());
    s.addAll(signals(img.pendingPrivate()));
    for (ProcessImage.ThreadRecord t : img.threads()) {
      s.addAll(signals(t.pending()));
    }
    return s;
  }

  private static TreeSet<Integer> signals(List<byte[]> infos) {
    TreeSet<Integer> s = new TreeSet<>();
    for (byte[] i : infos) {
      s.add(ByteBuffer.wrap(i).order(ByteOrder.LITTLE_ENDIAN).getInt(0));
    }
    return s;
  }

  private static TreeSet<Integer> without(TreeSet<Integer> s, java.util.Set<Integer> drop) {
    TreeSet<Integer> out = new TreeSet<>(s);
    out.removeAll(drop);
    return out;
  }

  /** Signals of the interval and POSIX timers that are armed in the image. */
  private static java.util.Set<Integer> liveTimerSignals(ProcessImage img) {
    java.util.Set<Integer> out = new java.util.HashSet<>();
    for (int which = 0; which < Math.min(3, img.itimers().length); which++) {
      ByteBuffer b = ByteBuffer.wrap(img.itimers()[which]).order(ByteOrder.LITTLE_ENDIAN);
      if (b.getLong(0) != 0 || b.getLong(8) != 0 || b.getLong(16) != 0 || b.getLong(24) != 0) {
        out.add(TIMER_SIGNALS[which]);
      }
    }
    for (Map.Entry<String, long[]> e : img.attributes().entrySet()) {
      if (e.getKey().startsWith(TimerState.PREFIX)) {
        out.add((int) e.getValue()[TimerState.SIGNO]);
      }
    }
    return out;
  }

  /** A timer's interval, and whether it will fire: armed, or expired with its signal waiting. */
  private static String timer(ProcessImage img, int which) {
    ByteBuffer b = ByteBuffer.wrap(img.itimers()[which]).order(ByteOrder.LITTLE_ENDIAN);
    long isec = b.getLong(0), iusec = b.getLong(8), vsec = b.getLong(16), vusec = b.getLong(24);
    int sig = TIMER_SIGNALS[which];
    boolean waiting = allPending(img).contains(sig);
    boolean live = vsec != 0 || vusec != 0 || ((isec != 0 || iusec != 0) && waiting);
    return "every " + isec + "." + String.format("%06d", iusec) + " s, " + (live ? "armed" : "off");
  }
}
