package dev.ckpt.linux.internal;

import dev.ckpt.linux.ProcessException;
import dev.ckpt.linux.internal.jna.Sys;
import dev.ckpt.linux.internal.proc.ProcFs;
import dev.ckpt.linux.internal.proc.Vma;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Everything a process holds that ckpt does not capture, found from /proc before a byte of the
 * image is written. Each finding refuses the dump with one line naming the resource; the dumpers
 * capture the rest exactly. The checks compare with the checkpointer's own process where the
 * restored process would inherit the checkpointer's value (namespaces, credentials).
 */
final class Census {
  /** Namespaces a restored process would not be put back into. */
  static final String[] NAMESPACES = {"cgroup", "ipc", "mnt", "net", "pid", "pid_for_children", "time",
      "time_for_children", "user", "uts"};
  /** Credentials and capability sets that restore does not change: they must equal the checkpointer's. */
  static final String[] CREDENTIALS = {"Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"};

  /** The namespaces a restore of a multi-threaded process makes (PidNamespace), and a restore makes again. */
  static final java.util.Set<String> RESTORE_NAMESPACES = java.util.Set.of("user", "pid", "pid_for_children", "mnt");

  private Census() {}

  /**
   * Whether the process runs where a restore put it: one pid namespace below the checkpointer's,
   * not as its pid 1, in a user namespace that maps only the checkpointer's own uid and gid to
   * themselves. A new restore makes such a namespace again, so the process may be checkpointed.
   */
  static boolean inRestoreNamespace(int pid, Path proc, Map<String, String> status) {
    String[] nspid = status.getOrDefault("NSpid", "").trim().split("\\s+");
    if (nspid.length != 2 || nspid[1].equals("1")) {
      return false;
    }
    try {
      String uid = Integer.toString(dev.ckpt.linux.internal.jna.LibC.getuid());
      String[] uidMap = Files.readString(proc.resolve("uid_map")).trim().split("\\s+");
      String[] gidMap = Files.readString(proc.resolve("gid_map")).trim().split("\\s+");
      String gid = self().getOrDefault("Gid", "").split("\\s+")[0];
      return uidMap.length == 3 && uidMap[0].equals(uid) && uidMap[1].equals(uid) && uidMap[2].equals("1")
          && gidMap.length == 3 && gidMap[0].equals(gid) && gidMap[1].equals(gid) && gidMap[2].equals("1");
    } catch (IOException | ProcessException e) {
      return false;
    }
  }

  /** Refuses what a restore could not reproduce; runs while the process is stopped. */
  static void check(int pid, Map<String, String> status, String[] stat, List<Vma> maps,
      Map<Long, java.util.Set<String>> vmFlags) throws ProcessException {
    check(pid, status, stat, maps, vmFlags, false);
  }

  /** With {@code inTree}, the process is checkpointed with its children, which are then allowed. */
  static void check(int pid, Map<String, String> status, String[] stat, List<Vma> maps,
      Map<Long, java.util.Set<String>> vmFlags, boolean inTree) throws ProcessException {
    Path proc = ProcFs.dir(pid);
    threads(pid, proc, status, stat);
    if (!inTree) {
      children(pid, proc);
    }
    long trap = 1L << (Sys.SIGTRAP - 1);
    if (((Long.parseUnsignedLong(status.getOrDefault("SigPnd", "0"), 16)
        | Long.parseUnsignedLong(status.getOrDefault("ShdPnd", "0"), 16)) & trap) != 0) {
      refuse(pid, "has a SIGTRAP pending, which would be taken by the single-steps of ckpt's injected calls");
    }
    String seccomp = status.getOrDefault("Seccomp", "0");
    if (!seccomp.equals("0")) {
      refuse(pid, "has seccomp mode " + seccomp + " (" + status.getOrDefault("Seccomp_filters", "?")
          + " filters), which an unprivileged process cannot read back to install again");
    }
    boolean restored = inRestoreNamespace(pid, proc, status);
    for (String ns : NAMESPACES) {
      String theirs = link(proc.resolve("ns").resolve(ns));
      String ours = link(Path.of("/proc/self/ns").resolve(ns));
      if (restored && RESTORE_NAMESPACES.contains(ns)) {
        continue;
      }
      if (theirs != null && !theirs.equals(ours)) {
        refuse(pid, "runs in another " + ns + " namespace (" + theirs + ", the checkpointer's is " + ours
            + "); ckpt restores into the checkpointer's namespaces");
      }
    }
    Map<String, String> self = self();
    for (String key : CREDENTIALS) {
      // /proc separates the real, effective, saved and filesystem ids with tabs.
      String theirs = status.getOrDefault(key, "").replaceAll("\\s+", " ");
      String ours = self.getOrDefault(key, "").replaceAll("\\s+", " ");
      if (!theirs.equals(ours)) {
        refuse(pid, "has " + key + " '" + theirs + "' where the checkpointer has '" + ours
            + "'; a restored process would run with the checkpointer's credentials");
      }
    }
    String root = link(proc.resolve("root"));
    if (root != null && !root.equals("/")) {
      refuse(pid, "has its root directory at " + root + " (chroot), which restore does not reproduce");
    }
    String cwd = link(proc.resolve("cwd"));
    if (cwd != null && cwd.endsWith(" (deleted)")) {
      refuse(pid, "has a deleted working directory (" + cwd + "), which restore cannot enter again");
    }
    if (cwd != null && (cwd.equals("/proc") || cwd.startsWith("/proc/"))) {
      refuse(pid, "has its working directory in /proc (" + cwd + "), which names this process and not the restored one");
    }
    String exe = link(proc.resolve("exe"));
    if (exe != null && exe.endsWith(" (deleted)")) {
      refuse(pid, "runs a deleted executable (" + exe + "), which restore cannot start again");
    }
    String policy = stat.length > 41 ? stat[41] : "0";
    if (!policy.equals("0")) {
      refuse(pid, "has scheduling policy " + policy + " (" + policyName(policy) + "); ckpt restores SCHED_OTHER only");
    }
    String locked = status.getOrDefault("VmLck", "0 kB");
    if (!locked.startsWith("0 ")) {
      refuse(pid, "has " + locked + " of memory locked with mlock, which restore does not lock again");
    }
    for (Vma v : maps) {
      String why = unsupportedMapping(v);
      if (why != null) {
        refuse(pid, "maps " + why + " at " + v.name());
      }
      if (v.fileBacked() && v.deleted() && !v.memfd() && !v.sharedAnonymous()) {
        refuse(pid, "maps deleted file " + v.path() + " at " + v.name() + "; it cannot be mapped again on restore");
      }
      String flag = v.special() ? null : VmaFlags.refused(vmFlags.getOrDefault(v.start(), java.util.Set.of()));
      if (flag != null) {
        refuse(pid, "maps " + (v.path().isEmpty() ? "anonymous memory" : v.path()) + " at " + v.name() + " with "
            + flag + ", which restore does not reproduce");
      }
    }
  }

  /** Per-thread settings that restore gives each thread from the main thread's: they must agree. */
  static final String[] THREAD_SETTINGS = {"Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapAmb", "Seccomp",
      "NoNewPrivs", "Cpus_allowed_list"};

  /**
   * Every thread is captured, but restore creates the others from the main thread, so they
   * inherit its scheduling, credentials and seccomp state: a thread that differs is refused.
   */
  private static void threads(int pid, Path proc, Map<String, String> status, String[] stat) throws ProcessException {
    for (String t : list(pid, proc.resolve("task"))) {
      int tid = Integer.parseInt(t);
      if (tid == pid) {
        continue;
      }
      Map<String, String> ts;
      String[] tstat;
      try {
        Path task = proc.resolve("task").resolve(t);
        ts = ProcFs.parseStatus(Files.readString(task.resolve("status")));
        tstat = ProcFs.parseStat(Files.readString(task.resolve("stat")));
      } catch (IOException e) {
        continue; // it exited meanwhile; the freeze decides which threads are dumped
      }
      for (String key : THREAD_SETTINGS) {
        String mine = ts.getOrDefault(key, "").replaceAll("\\s+", " ");
        String main = status.getOrDefault(key, "").replaceAll("\\s+", " ");
        if (!mine.equals(main)) {
          refuse(pid, "has thread " + tid + " with " + key + " '" + mine + "' where its main thread has '" + main
              + "'; restored threads take the main thread's");
        }
      }
      if (tstat.length > 41 && stat.length > 41 && !tstat[41].equals(stat[41])) {
        refuse(pid, "has thread " + tid + " with scheduling policy " + policyName(tstat[41]) + "; ckpt restores SCHED_OTHER only");
      }
      if (tstat.length > 19 && !tstat[19].equals(stat[19])) {
        refuse(pid, "has thread " + tid + " at nice " + tstat[19] + " where its main thread is at nice " + stat[19]
            + "; restored threads take the main thread's");
      }
    }
  }

  private static void children(int pid, Path proc) throws ProcessException {
    String text;
    try {
      text = Files.readString(proc.resolve("task").resolve(Integer.toString(pid)).resolve("children")).trim();
    } catch (IOException e) {
      throw new ProcessException(pid, "reading its children failed (did it exit?): " + e, 0, e);
    }
    if (!text.isEmpty()) {
      List<String> kids = new ArrayList<>();
      for (String c : text.split("\\s+")) {
        String state = ProcFs.state(Integer.parseInt(c));
        kids.add(c + (state.equals("Z") ? " (zombie)" : ""));
      }
      refuse(pid, "has child processes " + abbreviate(kids)
          + " outside the set being checkpointed");
    }
  }

  /** Why a mapping cannot be recreated, or null when restore knows how. */
  static String unsupportedMapping(Vma v) {
    String p = v.path();
    if (p.startsWith("/SYSV")) {
      return "SysV shared memory segment " + p.substring(5, Math.min(p.length(), 13)) + " (shmat)";
    }
    if (p.startsWith("/anon_hugepage") || p.startsWith("/dev/hugepages")) {
      return "hugetlb memory " + p;
    }
    if (p.startsWith("anon_inode:")) {
      return "a kernel object " + p + " (io_uring, aio, a device buffer)";
    }
    if (p.equals("[aio]") || p.equals("[uprobes]")) {
      return "kernel memory " + p;
    }
    if (v.fileBacked() && p.startsWith("/dev/") && !v.sharedAnonymous()) {
      return "the device " + p;
    }
    if (v.fileBacked() && (p.startsWith("/proc/") || p.startsWith("/sys/"))) {
      return "the kernel file " + p;
    }
    return null;
  }

  private static String policyName(String policy) {
    return switch (policy) {
      case "1" -> "SCHED_FIFO";
      case "2" -> "SCHED_RR";
      case "3" -> "SCHED_BATCH";
      case "5" -> "SCHED_IDLE";
      case "6" -> "SCHED_DEADLINE";
      default -> "policy " + policy;
    };
  }

  private static Map<String, String> self() throws ProcessException {
    try {
      return ProcFs.parseStatus(Files.readString(Path.of("/proc/self/status")));
    } catch (IOException e) {
      throw new ProcessException(0, "reading /proc/self/status failed: " + e, 0, e);
    }
  }

  private static List<String> list(int pid, Path dir) throws ProcessException {
    List<String> names = new ArrayList<>();
    try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
      for (Path p : s) {
        names.add(p.getFileName().toString());
      }
    } catch (IOException e) {
      throw new ProcessException(pid, "listing " + dir + " failed (did it exit?): " + e, 0, e);
    }
    names.sort(null);
    return names;
  }

  static String link(Path p) {
    try {
      return Files.readSymbolicLink(p).toString();
    } catch (IOException e) {
      return null;
    }
  }

  static String abbreviate(List<String> items) {
    return items.size() <= 8 ? String.join(", ", items)
        : String.join(", ", items.subList(0, 8)) + " and " + (items.size() - 8) + " more";
  }

  static void refuse(int pid, String what) throws ProcessException {
    throw new ProcessException(pid, what);
  }

  /** Constants used by the dumpers' own refusals. */
  static boolean isPathFd(int flags) {
    return (flags & Sys.O_PATH) != 0;
  }
}
