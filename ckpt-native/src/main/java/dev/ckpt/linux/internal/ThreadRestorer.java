package dev.ckpt.linux.internal;

import com.sun.jna.Memory;
import dev.ckpt.linux.ProcessException;
import dev.ckpt.linux.internal.ProcessImage.ThreadRecord;
import dev.ckpt.linux.internal.jna.Sys;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Creates the threads of a rebuilt process with their own tids and gives each its state. Every
 * step is a call injected into a stopped task: the main thread makes each thread with
 * {@code clone3(set_tid)}, which needs CAP_CHECKPOINT_RESTORE in the user namespace owning the
 * pid namespace (docs/IDENTITY.md); each new thread then sets its own clear_child_tid, robust
 * list, sigaltstack, rseq and name, and gets its mask and registers last.
 */
final class ThreadRestorer {
  private static final long FLAGS = Sys.CLONE_VM | Sys.CLONE_FS | Sys.CLONE_FILES | Sys.CLONE_SIGHAND | Sys.CLONE_THREAD
      | Sys.CLONE_SYSVSEM;

  private ThreadRestorer() {}

  /** A thread created for an image's thread record, by its host tid. */
  record Created(int hostTid, ThreadRecord image) {}

  /**
   * Creates every thread of {@code img} beside the main one. {@code main} is injecting, with
   * {@code site} a syscall instruction, {@code data} 4 KiB of scratch and {@code batch} 4 KiB of
   * executable scratch, all in the shared address space. Each new thread sets its own state in one
   * batch of injected calls (one round trip instead of one per call), capabilities included when
   * {@code caps} is given. The threads are left stopped and traced; on failure the caller kills
   * the process, and with it every thread made so far.
   */
  static List<Created> create(Tracee main, ProcessImage img, long site, long data, long batch, long[] caps)
      throws ProcessException {
    List<Created> made = new ArrayList<>();
    if (img.threads().size() == 1) {
      return made;
    }
    List<Integer> drops = caps == null ? List.of() : boundingDrops(main, caps);
    Sys.ptrace(Sys.PTRACE_SETOPTIONS, main.pid, 0, Sys.PTRACE_O_EXITKILL | Sys.PTRACE_O_TRACECLONE, "SETOPTIONS");
    for (ThreadRecord th : img.threads().subList(1, img.threads().size())) {
      ByteBuffer args = Tracee.le(Sys.CLONE_ARGS_SIZE + 8);
      args.putLong(0, FLAGS).putLong(64, data + Sys.CLONE_ARGS_SIZE).putLong(72, 1).putInt(Sys.CLONE_ARGS_SIZE, th.tid());
      main.write(data, args.array());
      long[] got = main.callCreating("clone3(thread " + th.tid() + ")", Sys.SYS_CLONE3, data, Sys.CLONE_ARGS_SIZE);
      int host = (int) got[1];
      made.add(new Created(host, th));
      Tracee.awaitNewTask(main.pid, host);
      if (got[0] != th.tid()) {
        throw new ProcessException(main.pid, "clone3 made thread " + got[0] + " instead of " + th.tid());
      }
      try (Tracee t = new Tracee(host, th.tid())) {
        t.beginInjection(site);
        List<long[]> calls = new ArrayList<>();
        List<String> names = new ArrayList<>();
        perThreadCalls(th, data, calls, names, t);
        if (caps != null) {
          for (int cap : drops) {
            calls.add(new long[] {Sys.SYS_PRCTL, Sys.PR_CAPBSET_DROP, cap, 0, 0, 0, 0});
            names.add("prctl(PR_CAPBSET_DROP, " + cap + ")");
          }
          t.write(data + 128, capsetArgs(caps));
          calls.add(new long[] {Sys.SYS_CAPSET, data + 128, data + 136, 0, 0, 0, 0});
          names.add("capset");
        }
        long[] results = t.callBatch("the state of thread " + th.tid(), batch, batch + 256, calls.toArray(long[][]::new));
        for (int i = 0; i < results.length; i++) {
          if (results[i] < 0 && results[i] > -4096) {
            throw new ProcessException(main.pid, names.get(i) + " in thread " + th.tid() + " (injected) failed: "
                + dev.ckpt.linux.internal.jna.Errno.name((int) -results[i]), (int) -results[i], null);
          }
        }
      }
    }
    return made;
  }

  /** What each thread sets for itself, one injected call at a time (the main thread's own items). */
  static void perThread(Tracee t, ThreadRecord th, long data) throws ProcessException {
    List<long[]> calls = new ArrayList<>();
    List<String> names = new ArrayList<>();
    perThreadCalls(th, data, calls, names, t);
    for (int i = 0; i < calls.size(); i++) {
      long[] c = calls.get(i);
      t.call(names.get(i) + " in thread " + th.tid(), (int) c[0], java.util.Arrays.copyOfRange(c, 1, 7));
    }
  }

  /**
   * The calls a thread makes for itself: set_tid_address, set_robust_list, sigaltstack, rseq and
   * its name. Their data (stack_t at {@code data}, the name at {@code data + 64}) is written here.
   */
  private static void perThreadCalls(ThreadRecord th, long data, List<long[]> calls, List<String> names, Tracee t)
      throws ProcessException {
    calls.add(new long[] {Sys.SYS_SET_TID_ADDRESS, th.clearTid(), 0, 0, 0, 0, 0});
    names.add("set_tid_address");
    if (th.robustLen() != 0) {
      calls.add(new long[] {Sys.SYS_SET_ROBUST_LIST, th.robustHead(), th.robustLen(), 0, 0, 0, 0});
      names.add("set_robust_list");
    }
    if (th.altstack().length == 24) {
      ByteBuffer ss = ByteBuffer.wrap(th.altstack().clone()).order(ByteOrder.LITTLE_ENDIAN);
      int flags = ss.getInt(8);
      if ((flags & Sys.SS_DISABLE) == 0) {
        ss.putInt(8, flags & ~Sys.SS_ONSTACK);
        t.write(data, ss.array());
        calls.add(new long[] {Sys.SYS_SIGALTSTACK, data, 0, 0, 0, 0, 0});
        names.add("sigaltstack");
      }
    }
    if (th.rseqPtr() != 0) {
      calls.add(new long[] {Sys.SYS_RSEQ, th.rseqPtr(), th.rseqLen(), 0, th.rseqSig() & 0xffffffffL, 0, 0});
      names.add("rseq");
    }
    if (!th.name().isEmpty()) {
      t.write(data + 64, Tracee.cString(th.name()));
      calls.add(new long[] {Sys.SYS_PRCTL, Sys.PR_SET_NAME, data + 64, 0, 0, 0, 0});
      names.add("prctl(PR_SET_NAME)");
    }
  }

  /**
   * Queues each thread's private pending signals, each from the thread itself: the kernel lets a
   * task queue a signal with a kernel or tgkill siginfo (si_code >= 0, or SI_TKILL) only to itself.
   */
  static void queuePending(Tracee main, List<Created> made, Map<String, long[]> attributes, long site, long data)
      throws ProcessException {
    for (Created c : made) {
      if (c.image().pending().isEmpty()) {
        continue;
      }
      try (Tracee t = new Tracee(c.hostTid(), c.image().tid())) {
        t.beginInjection(site);
        try {
          for (byte[] info : c.image().pending()) {
            if (TimerState.requeuedByTimer(info, attributes)) {
              continue;
            }
            t.write(data, info);
            int sig = ByteBuffer.wrap(info).order(ByteOrder.LITTLE_ENDIAN).getInt(0);
            t.call("rt_tgsigqueueinfo(" + sig + ") in thread " + c.image().tid(), Sys.SYS_RT_TGSIGQUEUEINFO, main.self,
                c.image().tid(), sig, data);
          }
        } finally {
          t.endInjection();
        }
      }
    }
  }

  /**
   * Gives one task the capability sets {effective, permitted, inheritable, bounding} that the
   * checkpointed process had, which the census made sure were the checkpointer's own (none but
   * the bounding set, for an unprivileged user). Those it had to create tasks with chosen ids,
   * granted by the restore's user namespace, go; ambient ones go with them. The bounding set is
   * cut first, while the task still holds CAP_SETPCAP.
   */
  static void setCapabilities(Tracee t, long[] caps, long data) throws ProcessException {
    for (int cap : boundingDrops(t, caps)) {
      t.call("prctl(PR_CAPBSET_DROP, " + cap + ") in task " + t.self, Sys.SYS_PRCTL, Sys.PR_CAPBSET_DROP, cap, 0, 0, 0);
    }
    t.write(data, capsetArgs(caps));
    t.call("capset in task " + t.self, Sys.SYS_CAPSET, data, data + 8);
  }

  /** The capabilities in the task's bounding set that are not in the wanted one. */
  private static List<Integer> boundingDrops(Tracee t, long[] caps) throws ProcessException {
    long bounding = currentBounding(t);
    List<Integer> out = new ArrayList<>();
    for (int cap = 0; cap < 64; cap++) {
      if ((caps[3] & (1L << cap)) == 0 && (bounding & (1L << cap)) != 0) {
        out.add(cap);
      }
    }
    return out;
  }

  /** capset's header (version 3, pid 0) and two data words of {effective, permitted, inheritable}. */
  private static byte[] capsetArgs(long[] caps) {
    ByteBuffer b = Tracee.le(8 + 24).putInt(0, Sys.LINUX_CAPABILITY_VERSION_3).putInt(4, 0);
    for (int word = 0; word < 2; word++) {
      for (int set = 0; set < 3; set++) {
        b.putInt(8 + word * 12 + set * 4, (int) (caps[set] >>> (32 * word)));
      }
    }
    return b.array();
  }

  private static long currentBounding(Tracee t) throws ProcessException {
    try {
      java.util.Map<String, String> s = dev.ckpt.linux.internal.proc.ProcFs.parseStatus(java.nio.file.Files.readString(
          java.nio.file.Path.of("/proc", Integer.toString(t.pid), "task", Integer.toString(t.pid), "status")));
      return Long.parseUnsignedLong(s.getOrDefault("CapBnd", "0").trim(), 16);
    } catch (java.io.IOException e) {
      throw new ProcessException(t.pid, "reading its bounding set failed: " + e, 0, e);
    }
  }

  /** Last: each thread's mask, extended state and registers (a call it was in is re-entered). */
  static void finish(List<Created> made, ProcessImage img, int main) throws ProcessException {
    for (Created c : made) {
      try (Tracee t = new Tracee(c.hostTid(), c.image().tid()); Memory m = new Memory(8)) {
        Regs regs = Regs.of(c.image().regs());
        long mask = ProcessRestorer.maskForResume(t, regs, c.image().sigmask());
        m.setLong(0, mask);
        Sys.ptrace(Sys.PTRACE_SETSIGMASK, c.hostTid(), 8, m, "SETSIGMASK(thread " + c.image().tid() + ")");
        t.setRegset(Sys.NT_X86_XSTATE, c.image().xstate());
        t.setRegs(ProcessRestorer.resumeRegs(regs, mask, ProcessRestorer.pendingNow(main, c.hostTid()), img.sigactions()));
      }
    }
  }

  /** Lets the threads run; the main thread stays with the tracer. */
  static void release(List<Created> made) throws ProcessException {
    for (Created c : made) {
      try {
        Sys.ptrace(Sys.PTRACE_DETACH, c.hostTid(), 0, 0, "DETACH(thread " + c.image().tid() + ")");
      } catch (ProcessException e) {
        // A thread let go before may have ended the process (exit_group): nothing left to let go.
        if (e.errno() != dev.ckpt.linux.internal.jna.Errno.ESRCH) {
          throw e;
        }
      }
    }
  }
}
