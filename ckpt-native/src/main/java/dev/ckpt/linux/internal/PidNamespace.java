package dev.ckpt.linux.internal;

import dev.ckpt.CheckpointException;
import dev.ckpt.linux.ProcessException;
import dev.ckpt.linux.Stdio;
import dev.ckpt.linux.internal.jna.Sys;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A user and pid namespace made for one restore, in which a process and its threads get their
 * ids back without privileges (docs/IDENTITY.md). util-linux's {@code unshare} creates it, since
 * a multi-threaded JVM cannot: its forked child is the namespace's pid 1, holds
 * CAP_CHECKPOINT_RESTORE there (ambient capabilities kept across exec), and is held by the
 * tracer at its exec stop. From it the restored process is created with {@code clone3(set_tid)};
 * pid 1 then becomes a reaper that exits when its last child is gone, which ends the namespace.
 */
final class PidNamespace {
  static final List<String> UNSHARE = List.of("unshare", "--map-current-user", "--pid", "--fork", "--mount-proc",
      "--keep-caps");
  private static final long CHECK_TIMEOUT_MS = 10_000;
  private static final int OPTIONS = Sys.PTRACE_O_EXITKILL | Sys.PTRACE_O_TRACEFORK | Sys.PTRACE_O_TRACEVFORK
      | Sys.PTRACE_O_TRACECLONE;

  /**
   * wait4(-1, NULL, __WALL, NULL) until it fails with ECHILD, then exit_group(0): the namespace's
   * pid 1 reaps orphans and ends with the tree. Signals stay blocked, as pid 1 ignores them anyway.
   */
  static final byte[] REAPER = {
      (byte) 0xbf, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, // loop: mov edi, -1
      0x31, (byte) 0xf6,                                               // xor esi, esi
      (byte) 0xba, 0x00, 0x00, 0x00, 0x40,                             // mov edx, __WALL
      0x45, 0x31, (byte) 0xd2,                                         // xor r10d, r10d
      (byte) 0xb8, 0x3d, 0x00, 0x00, 0x00,                             // mov eax, SYS_wait4
      0x0f, 0x05,                                                      // syscall
      0x48, (byte) 0x83, (byte) 0xf8, (byte) 0xf6,                     // cmp rax, -ECHILD
      0x75, (byte) 0xe4,                                               // jne loop
      0x31, (byte) 0xff,                                               // xor edi, edi
      (byte) 0xb8, (byte) 0xe7, 0x00, 0x00, 0x00,                      // mov eax, SYS_exit_group
      0x0f, 0x05};                                                     // syscall

  private PidNamespace() {}

  /**
   * Whether this machine lets this user make the namespace: runs {@code unshare ... true} and
   * fails with what it printed. User namespaces may be disabled (user.max_user_namespaces = 0,
   * ENOSPC) or restricted (EPERM from an LSM or a container's seccomp filter).
   */
  static void check(String ref) throws CheckpointException {
    List<String> cmd = new ArrayList<>(UNSHARE);
    cmd.add("true");
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(
          new java.io.File("/dev/null"))).start();
      if (!p.waitFor(CHECK_TIMEOUT_MS, TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        throw new CheckpointException("checkpoint " + ref + " has several threads, which get their tids back in a user and"
            + " pid namespace of their own; `" + String.join(" ", cmd) + "` did not finish in " + CHECK_TIMEOUT_MS + " ms");
      }
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
      if (p.exitValue() != 0) {
        throw new CheckpointException("checkpoint " + ref + " has several threads, which get their tids back in a user and"
            + " pid namespace of their own, and this machine does not let uid " + dev.ckpt.linux.internal.jna.LibC.getuid()
            + " create one: `" + String.join(" ", cmd) + "` failed (exit " + p.exitValue() + "): " + out
            + ". Enable user namespaces (sysctl user.max_user_namespaces > 0) or restore on a machine that has them");
      }
    } catch (IOException e) {
      throw new CheckpointException("checkpoint " + ref + " has several threads and needs util-linux's unshare, which"
          + " cannot be run: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CheckpointException("interrupted while checking for user namespaces", e);
    }
  }

  /** The host pids of {@code unshare} (0 without a namespace) and of the namespace's pid 1. */
  record Launched(int unshare, int init) {}

  /** CAP_SYS_ADMIN (21) or CAP_CHECKPOINT_RESTORE (40) in the checkpointer's own user namespace. */
  static boolean mayChooseHostIds() {
    try {
      String eff = ownStatus().getOrDefault("CapEff", "0");
      long caps = Long.parseUnsignedLong(eff.trim(), 16);
      return (caps & (1L << 21)) != 0 || (caps & (1L << 40)) != 0;
    } catch (IOException | NumberFormatException e) {
      return false;
    }
  }

  /** Whether no task on the host has any of these ids at this moment (a zombie counts as taken). */
  static boolean hostIdsFreeNow(List<Integer> ids) {
    for (int id : ids) {
      if (java.nio.file.Files.exists(java.nio.file.Path.of("/proc", Integer.toString(id)))) {
        return false;
      }
    }
    return true;
  }

  /**
   * Whether no task on the host has any of these ids. A process just killed by a VACATE
   * checkpoint may still be a zombie until its parent reaps it (an orphan's parent is init, which
   * took 1.5 s on the machine where this was measured): up to 5 s are given for that.
   */
  static boolean hostIdsFree(List<Integer> ids) {
    long deadline = System.nanoTime() + 5_000_000_000L;
    for (int id : ids) {
      java.nio.file.Path proc = java.nio.file.Path.of("/proc", Integer.toString(id));
      while (java.nio.file.Files.exists(proc)) {
        String state = dev.ckpt.linux.internal.proc.ProcFs.state(id);
        if (!(state.equals("Z") || state.equals("X") || state.isEmpty()) || System.nanoTime() > deadline) {
          org.slf4j.LoggerFactory.getLogger(PidNamespace.class).debug("id {} is taken (state '{}')", id, state);
          return false;
        }
        try {
          Thread.sleep(2);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return false;
        }
      }
    }
    return true;
  }

  /**
   * Without a namespace, for a checkpointer that may choose host pids: the executable is launched
   * as usual, held at its exec stop, and plays the part of pid 1 (the restored process's parent
   * and reaper).
   */
  static Launched launchHost(String exe, Stdio stdio) throws CheckpointException {
    Launcher.Spawned spawned = Launcher.spawnStopped(List.of(exe), stdio);
    try {
      Launcher.seizeUntilExec(spawned, OPTIONS);
    } catch (ProcessException | RuntimeException e) {
      kill(spawned.pid());
      throw e;
    }
    return new Launched(0, spawned.pid());
  }

  /** The checkpointer's own capability sets {effective, permitted, inheritable, bounding}, to give restored tasks. */
  static long[] ownCapabilities() throws CheckpointException {
    try {
      java.util.Map<String, String> s = ownStatus();
      return new long[] {Long.parseUnsignedLong(s.get("CapEff").trim(), 16), Long.parseUnsignedLong(s.get("CapPrm").trim(), 16),
          Long.parseUnsignedLong(s.get("CapInh").trim(), 16), Long.parseUnsignedLong(s.get("CapBnd").trim(), 16)};
    } catch (IOException | RuntimeException e) {
      throw new CheckpointException("reading the checkpointer's own capabilities from /proc/self/status failed: " + e, e);
    }
  }

  private static java.util.Map<String, String> ownStatus() throws IOException {
    return dev.ckpt.linux.internal.proc.ProcFs.parseStatus(java.nio.file.Files.readString(java.nio.file.Path.of(
        "/proc/self/status")));
  }

  /**
   * On the tracer thread: launches {@code unshare ... exe} and returns with the namespace's pid 1
   * held at its exec stop. unshare itself is killed then: it would otherwise wait for pid 1 with
   * the restore's stdio open, and a caller that reads the restore's output to its end (a pipe)
   * would wait for the restored program to end. Pid 1, an orphan now, is reparented to init.
   */
  static Launched launch(String exe, Stdio stdio) throws CheckpointException {
    List<String> cmd = new ArrayList<>(UNSHARE);
    cmd.add(exe);
    Launcher.Spawned spawned = Launcher.spawnStopped(cmd, stdio);
    int unshare = spawned.pid();
    int init = 0;
    try {
      Launcher.seizeUntilExec(spawned, OPTIONS);
      Sys.ptrace(Sys.PTRACE_CONT, unshare, 0, 0, "CONT(unshare)");
      // unshare forks once; a helper that exits without exec is passed over.
      for (int forks = 0; forks < 4 && init == 0; forks++) {
        int child = awaitFork(unshare);
        Tracee.awaitNewTask(unshare, child);
        Sys.ptrace(Sys.PTRACE_CONT, child, 0, 0, "CONT(pid 1)");
        if (awaitExec(child)) {
          init = child;
        } else {
          Sys.ptrace(Sys.PTRACE_CONT, unshare, 0, 0, "CONT(unshare)");
        }
      }
      if (init == 0) {
        throw new ProcessException(unshare, "unshare forked no process that ran " + exe);
      }
      Sys.ptrace(Sys.PTRACE_DETACH, unshare, 0, 0, "DETACH(unshare)");
      kill(unshare);
      return new Launched(unshare, init);
    } catch (ProcessException | RuntimeException e) {
      kill(unshare);
      if (init != 0) {
        kill(init);
      }
      throw e;
    }
  }

  private static int awaitFork(int unshare) throws ProcessException {
    for (int i = 0; i < 64; i++) {
      int st = Sys.waitpid(unshare, false);
      if (Sys.exited(st) || Sys.signaled(st)) {
        throw new ProcessException(unshare, "unshare ended (status 0x" + Integer.toHexString(st)
            + ") before it made the namespace's pid 1; can this user create user namespaces?");
      }
      int event = Sys.event(st);
      if (event == Sys.PTRACE_EVENT_FORK || event == Sys.PTRACE_EVENT_VFORK || event == Sys.PTRACE_EVENT_CLONE) {
        try (com.sun.jna.Memory m = new com.sun.jna.Memory(8)) {
          Sys.ptrace(Sys.PTRACE_GETEVENTMSG, unshare, 0, m, "GETEVENTMSG");
          return (int) m.getLong(0);
        }
      }
      Sys.ptrace(Sys.PTRACE_CONT, unshare, 0, event == 0 ? Sys.stopSignal(st) : 0, "CONT(unshare)");
    }
    throw new ProcessException(unshare, "unshare did not fork");
  }

  /** True at the child's exec stop, false if it exited first. */
  private static boolean awaitExec(int child) throws ProcessException {
    for (int i = 0; i < 64; i++) {
      int st = Sys.waitpid(child, false);
      if (Sys.exited(st) || Sys.signaled(st)) {
        return false;
      }
      int event = Sys.event(st);
      if (event == Sys.PTRACE_EVENT_EXEC) {
        return true;
      }
      Sys.ptrace(Sys.PTRACE_CONT, child, 0, event == 0 ? Sys.stopSignal(st) : 0, "CONT(pid 1)");
    }
    throw new ProcessException(child, "the namespace's pid 1 never reached its exec");
  }

  /**
   * The restored process made by {@link #createProcess}: its host pid, and a page of scratch it
   * inherited from pid 1 at {@code page}, which it and the processes it makes can use until they
   * are rebuilt.
   */
  record Created(int host, long page) {}

  /**
   * In pid 1, held at its exec stop: creates the process to restore with pid {@code pid}, traced
   * and stopped, and turns pid 1 into the reaper, let go. Returns the new process's host pid.
   */
  static int createProcess(int init, int pid) throws ProcessException {
    return create(init, pid).host();
  }

  static Created create(int init, int pid) throws ProcessException {
    try (Tracee t = new Tracee(init)) {
      t.beginInjection(t.findVdsoSyscall(t.maps()));
      long page = t.call("mmap(pid 1 scratch)", Sys.SYS_MMAP, 0, ProcessRestorer.PAGE, Sys.PROT_READ | Sys.PROT_WRITE,
          Sys.MAP_PRIVATE | Sys.MAP_ANONYMOUS, -1, 0);
      ByteBuffer args = Tracee.le(Sys.CLONE_ARGS_SIZE + 8);
      long tids = page + 256;
      args.putLong(32, Sys.SIGCHLD).putLong(64, tids).putLong(72, 1);
      t.write(page, args.array());
      t.write(tids, Tracee.le(4).putInt(0, pid).array());
      Sys.ptrace(Sys.PTRACE_SETOPTIONS, init, 0, OPTIONS, "SETOPTIONS(pid 1)");
      long[] got = t.callCreating("clone3(pid " + pid + ")", Sys.SYS_CLONE3, page, Sys.CLONE_ARGS_SIZE);
      int host = (int) got[1];
      Tracee.awaitNewTask(init, host);
      if (got[0] != pid) {
        kill(host);
        throw new ProcessException(init, "clone3 in the restore's namespace made pid " + got[0] + " instead of " + pid);
      }
      // The restored process has the restore's stdio now; pid 1 lets go of it, so that the
      // streams end when the restored processes end.
      for (int fd = 0; fd <= 2; fd++) {
        try {
          t.call("close(" + fd + ") in pid 1", Sys.SYS_CLOSE, fd);
        } catch (ProcessException e) {
          if (e.errno() != 9) { // EBADF: it was not open
            throw e;
          }
        }
      }
      t.write(page, REAPER);
      t.call("mprotect(reaper)", Sys.SYS_MPROTECT, page, ProcessRestorer.PAGE, Sys.PROT_READ | Sys.PROT_EXEC);
      Regs r = t.savedRegs().copy();
      r.set(Regs.RIP, page).set(Regs.ORIG_RAX, -1);
      t.setRegs(r);
      Sys.ptrace(Sys.PTRACE_DETACH, init, 0, 0, "DETACH(pid 1)");
      return new Created(host, page);
    }
  }

  static void kill(int pid) {
    try {
      dev.ckpt.linux.internal.jna.LibC.kill(pid, Sys.SIGKILL);
    } catch (com.sun.jna.LastErrorException ignored) {
      // Gone already.
    }
  }
}
