package dev.ckpt.linux.internal;

import com.sun.jna.Memory;
import dev.ckpt.linux.ProcessException;
import dev.ckpt.linux.internal.ProcessImage.ThreadRecord;
import dev.ckpt.linux.internal.jna.Errno;
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
      | Sys.CLONE_SYSVSEM | Sys.CLONE_PTRACE;

  private ThreadRestorer() {}

  /** A thread created for an image's thread record, by its host tid. */
  record Created(int hostTid, ThreadRecord image) {}

  /** Bytes per thread of the setup area ahead of its call table: stack_t, name, capset arguments. */
  private static final int SLOT_DATA = 256;
  private static final int ARGS_STRIDE = 96;

  /**
   * Creates every thread of {@code img} beside the main one. {@code main} is injecting, with
   * {@code batch} 4 KiB of executable scratch in the shared address space. One batch in the
   * main thread makes all threads with {@code clone3(set_tid)} and CLONE_PTRACE (each starts
   * stopped and traced, without stopping the main thread); then every new thread runs its own
   * batch of state calls (clear_child_tid, robust list, sigaltstack, rseq, name, and
   * capabilities when {@code caps} is given) from a table written beforehand, all in one write:
   * two round trips per thread instead of one per call. New threads inherit the injection's
   * blocked mask, so no signal interrupts them. Each thread is added to {@code made} as soon as
   * the batch that made it ends: on failure the caller kills the process, and reaps them.
   * {@code meanwhile} runs on the calling thread while the main thread makes them.
   */
  static void create(Tracee main, ProcessImage img, long batch, long[] caps, List<Created> made,
      Tracee.Meanwhile meanwhile) throws dev.ckpt.CheckpointException {
    if (img.threads().size() == 1) {
      return;
    }
    List<ThreadRecord> wanted = img.threads().subList(1, img.threads().size());
    List<Integer> drops = caps == null ? List.of() : boundingDrops(main, caps);
    List<List<long[]>> calls = new ArrayList<>();
    List<List<String>> names = new ArrayList<>();
    int most = 0;
    for (ThreadRecord th : wanted) {
      most = Math.max(most, threadCalls(th, 0, drops, caps != null, new ArrayList<>(), new ArrayList<>()));
    }
    int count = wanted.size();
    int slot = SLOT_DATA + Tracee.BATCH_ENTRY * (most + 1);
    long mainTableSize = (long) Tracee.BATCH_ENTRY * (count + 1);
    long argsOffset = mainTableSize;
    long slotsOffset = argsOffset + (long) ARGS_STRIDE * count;
    long size = (slotsOffset + (long) slot * count + 4095) & ~4095L;
    long area = main.call("mmap(" + size + " bytes to set up " + count + " threads)", Sys.SYS_MMAP, 0, size,
        Sys.PROT_READ | Sys.PROT_WRITE, Sys.MAP_PRIVATE | Sys.MAP_ANONYMOUS, -1, 0);
    try {
      if (size > Integer.MAX_VALUE) {
        throw new ProcessException(main.pid, count + " threads need " + size + " bytes to set up, more than ckpt writes at once");
      }
      ByteBuffer b = Tracee.le((int) size);
      for (int i = 0; i < count; i++) {
        long args = area + argsOffset + (long) ARGS_STRIDE * i;
        b.position((int) (Tracee.BATCH_ENTRY * i));
        b.putLong(Sys.SYS_CLONE3).putLong(args).putLong(Sys.CLONE_ARGS_SIZE);
        int a = (int) (argsOffset + (long) ARGS_STRIDE * i);
        b.putLong(a, FLAGS).putLong(a + 64, args + Sys.CLONE_ARGS_SIZE).putLong(a + 72, 1).putInt(a + Sys.CLONE_ARGS_SIZE,
            wanted.get(i).tid());
        int at = (int) (slotsOffset + (long) slot * i);
        ThreadRecord th = wanted.get(i);
        b.put(at, slotData(th, caps));
        List<long[]> c = new ArrayList<>();
        List<String> n = new ArrayList<>();
        threadCalls(th, area + at, drops, caps != null, c, n);
        calls.add(c);
        names.add(n);
        for (int k = 0; k < c.size(); k++) {
          b.position(at + SLOT_DATA + Tracee.BATCH_ENTRY * k);
          for (long x : c.get(k)) {
            b.putLong(x);
          }
        }
        b.putLong(at + SLOT_DATA + Tracee.BATCH_ENTRY * c.size(), -1L);
      }
      b.putLong((int) (Tracee.BATCH_ENTRY * count), -1L);
      main.write(area, b.array());
      main.write(batch, Tracee.BATCH_CODE);
      // CLONE_PTRACE, not PTRACE_O_TRACECLONE: each new thread starts traced and stopped, and the
      // main thread runs the whole batch without a stop per thread.
      Sys.ptrace(Sys.PTRACE_SETOPTIONS, main.pid, 0, Sys.PTRACE_O_EXITKILL, "SETOPTIONS");
      try {
        // The kernel's clone3 of a thousand threads takes tens of milliseconds in the process:
        // the tracer writes memory meanwhile.
        main.runBatch("clone3 of " + count + " threads", batch, area, meanwhile);
      } finally {
        // Whatever the batch made is the caller's to reap, at once.
        try {
          for (int host : ThreadDumper.tids(main.pid)) {
            if (host != main.pid) {
              made.add(new Created(host, null));
            }
          }
        } catch (ProcessException gone) {
          // The process is gone, and its threads with it.
        }
      }
      Sys.ptrace(Sys.PTRACE_SETOPTIONS, main.pid, 0, Sys.PTRACE_O_EXITKILL | Sys.PTRACE_O_TRACECLONE, "SETOPTIONS");
      ByteBuffer results = ByteBuffer.wrap(main.read(area, (int) mainTableSize)).order(java.nio.ByteOrder.LITTLE_ENDIAN);
      for (int i = 0; i < count; i++) {
        long got = results.getLong(Tracee.BATCH_ENTRY * i + 56);
        if (got != wanted.get(i).tid()) {
          throw new ProcessException(main.pid, "clone3 made thread " + (got < 0 ? Errno.name((int) -got) : got) + " instead of "
              + wanted.get(i).tid());
        }
      }
      if (made.size() != count) {
        throw new ProcessException(main.pid, "clone3 made " + count + " threads, but the process has " + made.size() + " besides its main one");
      }
      // Which record each new thread is for: at its first stop its rbx, copied from the main
      // thread's at clone3, still points at the batch entry that made it.
      Created[] byEntry = new Created[count];
      for (Created c : made) {
        Tracee.awaitNewTask(main.pid, c.hostTid());
        long entry;
        try (Tracee t = new Tracee(c.hostTid())) {
          entry = (t.getRegs().get(Regs.RBX) - area) / Tracee.BATCH_ENTRY;
        }
        if (entry < 0 || entry >= count || byEntry[(int) entry] != null) {
          throw new ProcessException(main.pid, "new thread " + c.hostTid() + " does not come from one entry of the clone3 batch");
        }
        byEntry[(int) entry] = new Created(c.hostTid(), wanted.get((int) entry));
      }
      made.clear();
      made.addAll(List.of(byEntry));
      // Each new thread runs its own table, all at once, and stops on the batch's int3.
      Regs start = main.savedRegs().copy().set(Regs.RIP, batch).set(Regs.ORIG_RAX, -1);
      for (int i = 0; i < count; i++) {
        try (Tracee t = new Tracee(made.get(i).hostTid(), wanted.get(i).tid())) {
          t.setRegs(start.copy().set(Regs.RBX, area + slotsOffset + (long) slot * i + SLOT_DATA));
        }
        Sys.ptrace(Sys.PTRACE_CONT, made.get(i).hostTid(), 0, 0, "CONT(thread " + wanted.get(i).tid() + ")");
      }
      for (int i = 0; i < count; i++) {
        int host = made.get(i).hostTid();
        try (Tracee t = new Tracee(host)) {
          t.ended("state calls of thread " + wanted.get(i).tid(), batch, Sys.waitpid(host, false));
        }
      }
      ByteBuffer all = ByteBuffer.wrap(main.read(area, (int) size)).order(java.nio.ByteOrder.LITTLE_ENDIAN);
      for (int i = 0; i < count; i++) {
        int at = (int) (slotsOffset + (long) slot * i) + SLOT_DATA;
        for (int k = 0; k < calls.get(i).size(); k++) {
          long r = all.getLong(at + Tracee.BATCH_ENTRY * k + 56);
          if (r < 0 && r > -4096) {
            throw new ProcessException(main.pid, names.get(i).get(k) + " in thread " + wanted.get(i).tid() + " (injected) failed: "
                + Errno.name((int) -r), (int) -r, null);
          }
        }
      }
    } catch (dev.ckpt.CheckpointException | RuntimeException e) {
      try {
        main.call("munmap(thread setup)", Sys.SYS_MUNMAP, area, size);
      } catch (ProcessException | RuntimeException again) {
        e.addSuppressed(again); // the process may be gone: the first failure is the one to report
      }
      throw e;
    }
    main.call("munmap(thread setup)", Sys.SYS_MUNMAP, area, size);
  }

  /** Where a thread's data is, from the start of its setup slot. */
  private static final int SLOT_STACK = 0, SLOT_NAME = 64, SLOT_CAPSET = 128;

  /** A thread's data (stack_t, name, capset arguments), {@link #SLOT_DATA} bytes. */
  private static byte[] slotData(ThreadRecord th, long[] caps) {
    ByteBuffer b = Tracee.le(SLOT_DATA);
    if (th.altstack().length == 24) {
      ByteBuffer ss = ByteBuffer.wrap(th.altstack().clone()).order(ByteOrder.LITTLE_ENDIAN);
      ss.putInt(8, ss.getInt(8) & ~Sys.SS_ONSTACK);
      b.put(SLOT_STACK, ss.array());
    }
    byte[] name = Tracee.cString(th.name());
    b.put(SLOT_NAME, name, 0, Math.min(name.length, 64));
    if (caps != null) {
      b.put(SLOT_CAPSET, capsetArgs(caps));
    }
    return b.array();
  }

  /** The main thread's own items, one injected call at a time, its data written at {@code data}. */
  static void perThread(Tracee t, ThreadRecord th, long data) throws ProcessException {
    t.write(data, slotData(th, null));
    List<long[]> calls = new ArrayList<>();
    List<String> names = new ArrayList<>();
    threadCalls(th, data, List.of(), false, calls, names);
    for (int i = 0; i < calls.size(); i++) {
      long[] c = calls.get(i);
      t.call(names.get(i) + " in thread " + th.tid(), (int) c[0], java.util.Arrays.copyOfRange(c, 1, 7));
    }
  }

  /**
   * The calls a thread makes for itself: set_tid_address, set_robust_list, sigaltstack, rseq,
   * its name, then, with {@code capabilities}, the bounding-set drops and capset. Their data is
   * the slot at {@code data} ({@link #slotData}). Returns how many.
   */
  private static int threadCalls(ThreadRecord th, long data, List<Integer> drops, boolean capabilities,
      List<long[]> calls, List<String> names) {
    calls.add(new long[] {Sys.SYS_SET_TID_ADDRESS, th.clearTid(), 0, 0, 0, 0, 0});
    names.add("set_tid_address");
    if (th.robustLen() != 0) {
      calls.add(new long[] {Sys.SYS_SET_ROBUST_LIST, th.robustHead(), th.robustLen(), 0, 0, 0, 0});
      names.add("set_robust_list");
    }
    if (th.altstack().length == 24 && (ByteBuffer.wrap(th.altstack()).order(ByteOrder.LITTLE_ENDIAN).getInt(8)
        & Sys.SS_DISABLE) == 0) {
      calls.add(new long[] {Sys.SYS_SIGALTSTACK, data + SLOT_STACK, 0, 0, 0, 0, 0});
      names.add("sigaltstack");
    }
    if (th.rseqPtr() != 0) {
      calls.add(new long[] {Sys.SYS_RSEQ, th.rseqPtr(), th.rseqLen(), 0, th.rseqSig() & 0xffffffffL, 0, 0});
      names.add("rseq");
    }
    if (!th.name().isEmpty()) {
      calls.add(new long[] {Sys.SYS_PRCTL, Sys.PR_SET_NAME, data + SLOT_NAME, 0, 0, 0, 0});
      names.add("prctl(PR_SET_NAME)");
    }
    if (capabilities) {
      for (int cap : drops) {
        calls.add(new long[] {Sys.SYS_PRCTL, Sys.PR_CAPBSET_DROP, cap, 0, 0, 0, 0});
        names.add("prctl(PR_CAPBSET_DROP, " + cap + ")");
      }
      calls.add(new long[] {Sys.SYS_CAPSET, data + SLOT_CAPSET, data + SLOT_CAPSET + 8, 0, 0, 0, 0});
      names.add("capset");
    }
    return calls.size();
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

  /**
   * Last: each thread's mask, extended state and registers (a call it was in is re-entered).
   * {@code again}, just before the threads run: only the registers of a thread that a signal
   * pending now may interrupt, from those signals (mask and extended state are set already).
   */
  static void finish(List<Created> made, ProcessImage img, int main, boolean again) throws ProcessException {
    try (Memory m = new Memory(8)) {
      for (Created c : made) {
        Regs regs = Regs.of(c.image().regs());
        if (again && !ProcessRestorer.signalMayInterrupt(regs, c.image().sigmask(), img.sigactions())) {
          continue; // the registers set before stand
        }
        java.util.Set<Integer> pending = again ? ProcessRestorer.pendingNow(main, c.hostTid()) : java.util.Set.of();
        if (again && pending.isEmpty()) {
          continue; // nothing to interrupt the call: the registers set before stand
        }
        try (Tracee t = new Tracee(c.hostTid(), c.image().tid())) {
          long mask = ProcessRestorer.maskForResume(t, regs, c.image().sigmask());
          if (!again) {
            m.setLong(0, mask);
            Sys.ptrace(Sys.PTRACE_SETSIGMASK, c.hostTid(), 8, m, "SETSIGMASK(thread " + c.image().tid() + ")");
            t.setRegset(Sys.NT_X86_XSTATE, c.image().xstate());
          }
          t.setRegs(ProcessRestorer.resumeRegs(regs, mask, pending, img.sigactions()));
        }
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
