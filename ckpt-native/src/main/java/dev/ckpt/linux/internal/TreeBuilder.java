package dev.ckpt.linux.internal;

import com.sun.jna.Memory;
import dev.ckpt.linux.ProcessException;
import dev.ckpt.linux.internal.jna.Sys;
import java.nio.ByteBuffer;

/**
 * The skeleton of a process tree, made before any process is rebuilt: each process is created
 * by its parent with {@code clone3(set_tid)}, parents first, while both are still fresh copies of
 * the namespace's pid 1; it joins its session and process group before it makes children of its
 * own (they inherit them); a zombie exits at once with its wait status, for its parent to reap.
 */
final class TreeBuilder {
  private TreeBuilder() {}

  /**
   * In {@code parent} (a fresh skeleton, stopped): clone3 with exit signal SIGCHLD and
   * {@code set_tid = pid}, using the inherited scratch page. Returns the child's host pid, stopped.
   */
  static int fork(int parent, int parentSelf, int pid, long page) throws ProcessException {
    try (Tracee t = new Tracee(parent, parentSelf)) {
      t.beginInjection(t.findVdsoSyscall(t.maps()));
      ByteBuffer args = Tracee.le(Sys.CLONE_ARGS_SIZE + 8);
      args.putLong(32, Sys.SIGCHLD).putLong(64, page + 256).putLong(72, 1);
      t.write(page, args.array());
      t.write(page + 256, Tracee.le(4).putInt(0, pid).array());
      Sys.ptrace(Sys.PTRACE_SETOPTIONS, parent, 0, Sys.PTRACE_O_EXITKILL | Sys.PTRACE_O_TRACEFORK | Sys.PTRACE_O_TRACEVFORK
          | Sys.PTRACE_O_TRACECLONE, "SETOPTIONS");
      long[] got = t.callCreating("clone3(pid " + pid + ")", Sys.SYS_CLONE3, page, Sys.CLONE_ARGS_SIZE);
      int host = (int) got[1];
      Tracee.awaitNewTask(parent, host);
      if (got[0] != pid) {
        PidNamespace.kill(host);
        throw new ProcessException(parent, "clone3 made pid " + got[0] + " instead of " + pid);
      }
      return host;
    }
  }

  /**
   * Puts a new process into its session and group: a session leader calls setsid, a group leader
   * setpgid(0, 0), a member of another group of its session setpgid(0, pgid); one whose group is
   * its parent's keeps it. 0 means "as inherited" (the root's, from outside the tree).
   */
  static void join(int host, int pid, int pgid, int sid, int parentPgid) throws ProcessException {
    boolean leader = sid == pid;
    boolean groupLeader = !leader && pgid == pid;
    boolean member = !leader && !groupLeader && pgid != 0 && pgid != parentPgid;
    if (!leader && !groupLeader && !member) {
      return;
    }
    try (Tracee t = new Tracee(host, pid)) {
      t.beginInjection(t.findVdsoSyscall(t.maps()));
      if (leader) {
        t.call("setsid", Sys.SYS_SETSID);
      } else {
        t.call("setpgid(0, " + (groupLeader ? 0 : pgid) + ")", Sys.SYS_SETPGID, 0, groupLeader ? 0 : pgid);
      }
    }
  }

  /**
   * Ends a new process with a zombie's wait status: exit_group(code) for a normal exit, or the
   * signal's default action for a kill (its core-dump bit is refused at dump). Its tracer's
   * notification is taken here, so its parent sees the zombie next.
   */
  static void becomeZombie(int host, int pid, int status, long page) throws ProcessException {
    int sig = status & 0x7f;
    try (Tracee t = new Tracee(host, pid)) {
      long site = t.findVdsoSyscall(t.maps());
      t.beginInjection(site);
      Regs r = t.savedRegs().copy().set(Regs.ORIG_RAX, -1).set(Regs.RIP, site);
      if (sig == 0) {
        r.set(Regs.RAX, Sys.SYS_EXIT_GROUP).set(Regs.RDI, (status >> 8) & 0xff);
        t.setRegs(r);
        Sys.ptrace(Sys.PTRACE_CONT, host, 0, 0, "CONT(exit)");
      } else {
        if (sig != Sys.SIGKILL && sig != Sys.SIGSTOP) {
          t.write(page, new byte[SignalDumper.SIGACTION_BYTES]);
          t.call("rt_sigaction(" + sig + ", SIG_DFL)", Sys.SYS_RT_SIGACTION, sig, page, 0, 8);
        }
        try (Memory m = new Memory(8)) {
          m.setLong(0, 0);
          Sys.ptrace(Sys.PTRACE_SETSIGMASK, host, 8, m, "SETSIGMASK");
        }
        t.setRegs(r.set(Regs.RAX, Sys.SYS_TGKILL).set(Regs.RDI, pid).set(Regs.RSI, pid).set(Regs.RDX, sig));
        Sys.ptrace(Sys.PTRACE_CONT, host, 0, 0, "CONT(tgkill " + sig + ")");
      }
      for (int i = 0; i < 8; i++) {
        int st = Sys.waitpid(host, false);
        if (Sys.exited(st) || Sys.signaled(st)) {
          if ((st & 0xffff) != (status & 0xffff)) {
            throw new ProcessException(host, "the zombie ended with status 0x" + Integer.toHexString(st) + " instead of 0x"
                + Integer.toHexString(status));
          }
          return;
        }
        Sys.ptrace(Sys.PTRACE_CONT, host, 0, Sys.event(st) == 0 ? Sys.stopSignal(st) : 0, "CONT");
      }
      throw new ProcessException(host, "the process meant to be a zombie did not end");
    }
  }
}
