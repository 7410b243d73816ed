package dev.ckpt.linux.internal;

import com.sun.jna.Memory;
import dev.ckpt.linux.ProcessException;
import dev.ckpt.linux.internal.ProcessImage.ThreadRecord;
import dev.ckpt.linux.internal.jna.Errno;
import dev.ckpt.linux.internal.jna.LibC;
import dev.ckpt.linux.internal.jna.Sys;
import dev.ckpt.linux.internal.proc.ProcFs;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The threads of a process beside its main thread: freezing them all together, capturing each
 * one's state, and letting them go. The main thread is stopped by its {@code Tracer} first; the
 * others are seized here for the length of the dump only, so that between checkpoints a running
 * program has one traced task.
 */
final class ThreadDumper {
  /** A process that keeps creating threads faster than they are frozen is refused after this many rounds. */
  private static final int FREEZE_ROUNDS = 100;

  private ThreadDumper() {}

  /**
   * Seizes and stops every thread of {@code pid} but the main one, listing /proc/PID/task again
   * until a round finds no new thread: a thread created while the others were being stopped is
   * caught by the next round, and once all are stopped none can be created. Returns their host
   * tids, each in a ptrace stop. On failure every thread seized so far is let go.
   */
  static List<Integer> freeze(int pid) throws ProcessException {
    Set<Integer> seized = new LinkedHashSet<>();
    try {
      for (int round = 0; round < FREEZE_ROUNDS; round++) {
        List<Integer> fresh = new ArrayList<>();
        for (int tid : tids(pid)) {
          if (tid != pid && !seized.contains(tid)) {
            fresh.add(tid);
          }
        }
        if (fresh.isEmpty()) {
          return new ArrayList<>(seized);
        }
        for (int tid : fresh) {
          try {
            Sys.ptrace(Sys.PTRACE_SEIZE, tid, 0, 0, "SEIZE(thread " + tid + ")");
          } catch (ProcessException e) {
            if (e.errno() == Errno.ESRCH || !ProcFs.alive(tid)) {
              continue; // it exited meanwhile
            }
            throw new ProcessException(pid, "seizing its thread " + tid + " failed: " + Errno.name(e.errno()), e.errno(), e);
          }
          seized.add(tid);
          Sys.ptrace(Sys.PTRACE_INTERRUPT, tid, 0, 0, "INTERRUPT(thread " + tid + ")");
          if (!waitForStop(pid, tid)) {
            seized.remove(tid);
          }
        }
      }
      throw new ProcessException(pid, "kept creating threads while ckpt froze them (" + seized.size()
          + " frozen after " + FREEZE_ROUNDS + " rounds)");
    } catch (ProcessException | RuntimeException e) {
      release(new ArrayList<>(seized));
      throw e;
    }
  }

  /**
   * Waits for a seized thread's interrupt stop, passing on a signal that is delivered first.
   * False if the thread exited. A group-stop (SIGSTOP) reached while freezing is refused, as for
   * the main thread.
   */
  private static boolean waitForStop(int pid, int tid) throws ProcessException {
    while (true) {
      int st = Sys.waitpid(tid, false);
      if (Sys.exited(st) || Sys.signaled(st)) {
        return false;
      }
      int sig = Sys.stopSignal(st);
      if (Sys.event(st) == Sys.PTRACE_EVENT_STOP) {
        if (sig != Sys.SIGTRAP) {
          throw new ProcessException(pid, "was stopped by signal " + sig + " (thread " + tid + ") while ckpt froze it;"
              + " checkpoint it once it runs");
        }
        return true;
      }
      Sys.ptrace(Sys.PTRACE_CONT, tid, 0, Sys.event(st) == 0 ? sig : 0, "CONT(thread " + tid + ")");
    }
  }

  /** Lets frozen threads run on (or die, if their process was killed); errors are ignored, as they are gone. */
  static void release(List<Integer> tids) {
    for (int tid : tids) {
      try {
        Sys.ptrace(Sys.PTRACE_DETACH, tid, 0, 0, "DETACH(thread " + tid + ")");
      } catch (ProcessException ignored) {
        // Exited, or killed with its process.
      }
    }
  }

  /**
   * After their process was killed: collects the exit of each thread this tracer still holds,
   * without which the kernel never reports the main thread's own exit.
   */
  static void reap(List<Integer> tids) {
    for (int tid : tids) {
      try {
        for (int i = 0; i < 100; i++) {
          int st = Sys.waitpid(tid, false);
          if (Sys.exited(st) || Sys.signaled(st)) {
            break;
          }
          Sys.ptrace(Sys.PTRACE_CONT, tid, 0, 0, "CONT(thread " + tid + ")");
        }
      } catch (ProcessException ignored) {
        // ECHILD: already reaped.
      }
    }
  }

  /** The host tids of a process's threads, the main thread's included. */
  static List<Integer> tids(int pid) throws ProcessException {
    List<Integer> tids = new ArrayList<>();
    try (var s = Files.newDirectoryStream(ProcFs.dir(pid).resolve("task"))) {
      for (var p : s) {
        tids.add(Integer.parseInt(p.getFileName().toString()));
      }
    } catch (IOException e) {
      throw new ProcessException(pid, "listing /proc/" + pid + "/task failed (did it exit?): " + e, 0, e);
    }
    tids.sort(null);
    return tids;
  }

  /** The id a task has in its own pid namespace: the last number of NSpid. */
  static int namespaceId(Map<String, String> status, int hostId) {
    String ns = status.get("NSpid");
    if (ns == null || ns.isBlank()) {
      return hostId;
    }
    String[] ids = ns.trim().split("\\s+");
    return Integer.parseInt(ids[ids.length - 1]);
  }

  /**
   * The state of one stopped thread beside the main one. Its injected calls run with {@code site}
   * as the syscall instruction and {@code scratch} (32 bytes or more, in the shared address space)
   * for results; with {@code batch} (executable scratch, or -1) they run in one round trip.
   */
  static ThreadRecord capture(int pid, int tid, long site, long scratch, long batch) throws ProcessException {
    int nsTid = namespaceId(taskStatus(pid, tid), tid);
    String name = name(pid, tid);
    try (Tracee t = new Tracee(tid); Memory m = new Memory(32)) {
      Regs regs = t.getRegs();
      byte[] xstate = t.getRegset(Sys.NT_X86_XSTATE, ProcessDumper.XSTATE_MAX);
      m.clear();
      Sys.ptrace(Sys.PTRACE_GETSIGMASK, tid, 8, m, "GETSIGMASK(thread " + tid + ")");
      long sigmask = m.getLong(0);
      m.clear();
      Sys.ptrace(Sys.PTRACE_GET_RSEQ_CONFIGURATION, tid, 24, m, "GET_RSEQ_CONFIGURATION(thread " + tid + ")");
      long rseqPtr = m.getLong(0);
      int rseqLen = m.getInt(8);
      int rseqSig = m.getInt(12);
      long[] robust = robustList(pid, tid);
      long clearTid;
      byte[] altstack;
      t.beginInjection(site);
      try {
        if (batch >= 0) {
          long[] r = t.callBatch("prctl(PR_GET_TID_ADDRESS) and sigaltstack in thread " + tid, batch, batch + 256,
              new long[][] {{Sys.SYS_PRCTL, Sys.PR_GET_TID_ADDRESS, scratch, 0, 0, 0, 0},
                  {Sys.SYS_SIGALTSTACK, 0, scratch + 8, 0, 0, 0, 0}});
          for (long x : r) {
            if (x < 0) {
              throw new ProcessException(pid, "reading the state of thread " + tid + " (injected) failed: "
                  + dev.ckpt.linux.internal.jna.Errno.name((int) -x), (int) -x, null);
            }
          }
          ByteBuffer b = ByteBuffer.wrap(t.read(scratch, 32)).order(ByteOrder.LITTLE_ENDIAN);
          clearTid = b.getLong(0);
          altstack = java.util.Arrays.copyOfRange(b.array(), 8, 32);
        } else {
          clearTid = clearTid(t, scratch);
          t.call("sigaltstack(query) in thread " + tid, Sys.SYS_SIGALTSTACK, 0, scratch);
          altstack = t.read(scratch, 24);
        }
        int flags = ByteBuffer.wrap(altstack).order(ByteOrder.LITTLE_ENDIAN).getInt(8);
        if ((flags & Sys.SS_ONSTACK) != 0) {
          throw new ProcessException(pid, "thread " + tid + " is running a signal handler on its alternate signal stack;"
              + " checkpoint it outside the handler");
        }
      } finally {
        t.endInjection();
      }
      List<byte[]> pending = SignalDumper.pending(t, false);
      return new ThreadRecord(nsTid, regs.bytes(), xstate, sigmask, rseqPtr, rseqLen, rseqSig, clearTid, robust[0],
          robust[1], altstack, name, pending);
    }
  }

  /** The thread's clear_child_tid address, read by a call injected into it. */
  static long clearTid(Tracee t, long scratch) throws ProcessException {
    t.call("prctl(PR_GET_TID_ADDRESS) in thread " + t.pid, Sys.SYS_PRCTL, Sys.PR_GET_TID_ADDRESS, scratch, 0, 0, 0);
    return ByteBuffer.wrap(t.read(scratch, 8)).order(ByteOrder.LITTLE_ENDIAN).getLong();
  }

  /** {head, length} of a thread's robust futex list, read by the tracer with get_robust_list. */
  static long[] robustList(int pid, int tid) throws ProcessException {
    try (Memory m = new Memory(16)) {
      m.clear();
      long at = com.sun.jna.Pointer.nativeValue(m);
      LibC.syscall(Sys.SYS_GET_ROBUST_LIST, tid, at, at + 8, 0, 0, 0);
      return new long[] {m.getLong(0), m.getLong(8)};
    } catch (com.sun.jna.LastErrorException e) {
      throw Sys.error("get_robust_list(" + tid + ")", pid, e);
    }
  }

  static String name(int pid, int tid) throws ProcessException {
    try {
      String name = Files.readString(ProcFs.dir(pid).resolve("task").resolve(Integer.toString(tid)).resolve("comm"));
      return name.endsWith("\n") ? name.substring(0, name.length() - 1) : name;
    } catch (IOException e) {
      throw new ProcessException(pid, "reading the name of thread " + tid + " failed: " + e, 0, e);
    }
  }

  static Map<String, String> taskStatus(int pid, int tid) throws ProcessException {
    try {
      return ProcFs.parseStatus(Files.readString(ProcFs.dir(pid).resolve("task").resolve(Integer.toString(tid))
          .resolve("status")));
    } catch (IOException e) {
      throw new ProcessException(pid, "reading /proc/" + pid + "/task/" + tid + "/status failed: " + e, 0, e);
    }
  }
}
