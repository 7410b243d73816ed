package dev.ckpt.linux.internal;

import dev.ckpt.linux.ProcessException;
import dev.ckpt.linux.internal.ProcessImage.VmaKind;
import dev.ckpt.linux.internal.ProcessImage.VmaRecord;
import dev.ckpt.linux.internal.jna.Errno;
import dev.ckpt.linux.internal.jna.LibC;
import dev.ckpt.linux.internal.jna.Sys;
import dev.ckpt.linux.internal.proc.ProcFs;
import java.io.IOException;
import java.nio.file.Files;

/**
 * A copy-on-write snapshot of a frozen process's private memory: a child forked by an injected
 * clone3, held stopped under the tracer and never run, whose pages stay as they were at the fork
 * while the process runs on. It shares the process's fd table (CLONE_FILES), so it holds no
 * extra reference to a pipe or file, and has no exit signal, so the process gets no SIGCHLD; the
 * process reaps it with an injected wait4 once it is killed. What a fork does not hold as it was
 * (shared memory, MADV_DONTFORK and MADV_WIPEONFORK mappings) is read from the process while it is
 * still frozen.
 */
final class MemorySnapshot {
  private static final long FLAGS = Sys.CLONE_FILES | Sys.CLONE_FS;
  private final int host;
  private final int self;
  private final Tracee tracee;

  private MemorySnapshot(int host, int self) {
    this.host = host;
    this.self = self;
    this.tracee = new Tracee(host, self);
  }

  /** Whether the snapshot holds this mapping's contents as they were at the fork. */
  static boolean holds(VmaRecord v) {
    boolean privateKind = v.kind() == VmaKind.ANON || v.kind() == VmaKind.FILE_PRIVATE || v.kind() == VmaKind.HEAP
        || v.kind() == VmaKind.STACK;
    boolean notForked = (v.prot() & (3 << 8)) != 0; // MADV_DONTFORK, MADV_WIPEONFORK (VmaFlags bits 8, 9)
    return privateKind && !notForked;
  }

  /**
   * In the frozen process {@code t} (injecting, {@code scratch} writable): forks the snapshot.
   * Null when the kernel refuses the fork for want of resources (RLIMIT_NPROC, memory): the
   * caller then reads everything while the process is frozen.
   */
  static MemorySnapshot fork(Tracee t, long scratch) throws ProcessException {
    t.write(scratch, Tracee.le(Sys.CLONE_ARGS_SIZE).putLong(0, FLAGS).array());
    Sys.ptrace(Sys.PTRACE_SETOPTIONS, t.pid, 0, Sys.PTRACE_O_TRACECLONE | Sys.PTRACE_O_TRACEFORK | Sys.PTRACE_O_TRACEVFORK,
        "SETOPTIONS(snapshot)");
    long[] got;
    try {
      got = t.callCreating("clone3(snapshot)", Sys.SYS_CLONE3, scratch, Sys.CLONE_ARGS_SIZE);
    } catch (ProcessException e) {
      if (e.errno() == Errno.EAGAIN || e.errno() == Errno.ENOMEM) {
        return null;
      }
      throw e;
    } finally {
      Sys.ptrace(Sys.PTRACE_SETOPTIONS, t.pid, 0, 0, "SETOPTIONS");
    }
    MemorySnapshot s = new MemorySnapshot((int) got[1], (int) got[0]);
    Tracee.awaitNewTask(t.pid, s.host);
    Sys.ptrace(Sys.PTRACE_SETOPTIONS, s.host, 0, Sys.PTRACE_O_EXITKILL, "SETOPTIONS(snapshot child)");
    return s;
  }

  int host() {
    return host;
  }

  Tracee tracee() {
    return tracee;
  }

  /**
   * What the snapshot costs in memory now: the pages only it holds (those the process wrote
   * since the fork, copied for it by the kernel), from /proc/PID/smaps_rollup.
   */
  long privateBytes() {
    try {
      long kb = 0;
      for (String line : Files.readAllLines(ProcFs.dir(host).resolve("smaps_rollup"))) {
        if (line.startsWith("Private_Clean:") || line.startsWith("Private_Dirty:")) {
          kb += Long.parseLong(line.replaceAll("[^0-9]", ""));
        }
      }
      return kb * 1024;
    } catch (IOException | NumberFormatException e) {
      return -1;
    }
  }

  /** Kills the snapshot and collects its exit here; the process's own reaping is left to the caller. */
  void end() {
    tracee.close();
    try {
      LibC.kill(host, Sys.SIGKILL);
    } catch (com.sun.jna.LastErrorException ignored) {
      // Gone already.
    }
    try {
      for (int i = 0; i < 8; i++) {
        int st = Sys.waitpid(host, false);
        if (Sys.exited(st) || Sys.signaled(st)) {
          return;
        }
      }
    } catch (ProcessException ignored) {
      // Collected already.
    }
  }

  /** In the process, stopped and injecting: reaps the killed snapshot (it has no exit signal, so only wait4 with __WALL sees it). */
  void reapIn(Tracee process, long site) throws ProcessException {
    process.beginInjection(site);
    try {
      process.call("wait4(snapshot " + self + ")", Sys.SYS_WAIT4, self, 0, Sys.WALL, 0);
    } finally {
      process.endInjection();
    }
  }
}
