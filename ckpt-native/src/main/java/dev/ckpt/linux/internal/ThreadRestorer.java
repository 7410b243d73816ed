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
   * {@code site} a syscall instruction and {@code data} 4 KiB of scratch in the shared address
   * space. The new threads are left stopped and traced; on failure the caller kills the process,
   * and with it every thread made so far.
   */
  static List<Created> create(Tracee main, ProcessImage img, long site, long data) throws ProcessException {
    List<Created> made = new ArrayList<>();
    if (img.threads().size() == 1) {
      return made;
    }
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
        perThread(t, th, data);
      }
    }
    return made;
  }

  /** What each thread sets for itself; the main thread's own items come from the image too. */
  static void perThread(Tracee t, ThreadRecord th, long data) throws ProcessException {
    String who = " in thread " + th.tid();
    t.call("set_tid_address" + who, Sys.SYS_SET_TID_ADDRESS, th.clearTid());
    if (th.robustLen() != 0) {
      t.call("set_robust_list" + who, Sys.SYS_SET_ROBUST_LIST, th.robustHead(), th.robustLen());
    }
    if (th.altstack().length == 24) {
      ByteBuffer ss = ByteBuffer.wrap(th.altstack().clone()).order(ByteOrder.LITTLE_ENDIAN);
      int flags = ss.getInt(8);
      if ((flags & Sys.SS_DISABLE) == 0) {
        ss.putInt(8, flags & ~Sys.SS_ONSTACK);
        t.write(data, ss.array());
        t.call("sigaltstack" + who, Sys.SYS_SIGALTSTACK, data, 0);
      }
    }
    if (th.rseqPtr() != 0) {
      t.call("rseq" + who, Sys.SYS_RSEQ, th.rseqPtr(), th.rseqLen(), 0, th.rseqSig() & 0xffffffffL);
    }
    if (!th.name().isEmpty()) {
      t.write(data, Tracee.cString(th.name()));
      t.call("prctl(PR_SET_NAME)" + who, Sys.SYS_PRCTL, Sys.PR_SET_NAME, data, 0, 0, 0);
    }
  }

  /** Queues each thread's private pending signals, from the main thread (whose tid is the tgid, as the kernel requires). */
  static void queuePending(Tracee main, List<Created> made, Map<String, long[]> attributes, long data) throws ProcessException {
    for (Created c : made) {
      for (byte[] info : c.image().pending()) {
        if (TimerState.requeuedByTimer(info, attributes)) {
          continue;
        }
        main.write(data, info);
        int sig = ByteBuffer.wrap(info).order(ByteOrder.LITTLE_ENDIAN).getInt(0);
        main.call("rt_tgsigqueueinfo(" + sig + " to thread " + c.image().tid() + ")", Sys.SYS_RT_TGSIGQUEUEINFO, main.self,
            c.image().tid(), sig, data);
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
    long bounding = currentBounding(t);
    for (int cap = 0; cap < 64; cap++) {
      if ((caps[3] & (1L << cap)) == 0 && (bounding & (1L << cap)) != 0) {
        t.call("prctl(PR_CAPBSET_DROP, " + cap + ") in task " + t.self, Sys.SYS_PRCTL, Sys.PR_CAPBSET_DROP, cap, 0, 0, 0);
      }
    }
    ByteBuffer b = Tracee.le(8 + 24).putInt(0, Sys.LINUX_CAPABILITY_VERSION_3).putInt(4, 0);
    for (int word = 0; word < 2; word++) {
      for (int set = 0; set < 3; set++) {
        b.putInt(8 + word * 12 + set * 4, (int) (caps[set] >>> (32 * word)));
      }
    }
    t.write(data, b.array());
    t.call("capset in task " + t.self, Sys.SYS_CAPSET, data, data + 8);
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
  static void finish(List<Created> made) throws ProcessException {
    for (Created c : made) {
      try (Tracee t = new Tracee(c.hostTid(), c.image().tid()); Memory m = new Memory(8)) {
        m.setLong(0, c.image().sigmask());
        Sys.ptrace(Sys.PTRACE_SETSIGMASK, c.hostTid(), 8, m, "SETSIGMASK(thread " + c.image().tid() + ")");
        t.setRegset(Sys.NT_X86_XSTATE, c.image().xstate());
        t.setRegs(ProcessRestorer.restartAdjusted(Regs.of(c.image().regs())));
      }
    }
  }

  /** Lets the threads run; the main thread stays with the tracer. */
  static void release(List<Created> made) throws ProcessException {
    for (Created c : made) {
      Sys.ptrace(Sys.PTRACE_DETACH, c.hostTid(), 0, 0, "DETACH(thread " + c.image().tid() + ")");
    }
  }
}
