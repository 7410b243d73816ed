package dev.ckpt.linux.internal;

import com.sun.jna.LastErrorException;
import dev.ckpt.CheckpointException;
import dev.ckpt.CorruptImageException;
import dev.ckpt.ImageReader;
import dev.ckpt.ImageWriter;
import dev.ckpt.PartOutput;
import dev.ckpt.linux.ProcessException;
import dev.ckpt.linux.internal.ProcessImage.FdKind;
import dev.ckpt.linux.internal.ProcessImage.FdRecord;
import dev.ckpt.linux.internal.jna.Errno;
import dev.ckpt.linux.internal.jna.LibC;
import dev.ckpt.linux.internal.jna.Sys;
import dev.ckpt.linux.internal.proc.ProcFs;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * A process and all its descendants, checkpointed together: who is whose parent, process groups
 * and sessions, zombies with their wait status, and which open file descriptions the processes
 * share. The root's parts keep their names; each other process's parts are under
 * {@code task/<pid>/}, and part {@code tree} lists the processes (docs/FORMAT.md).
 */
final class ProcessTree {
  static final String PART = "tree";
  static final int VERSION = 1;
  private static final int FREEZE_ROUNDS = 100;

  private ProcessTree() {}

  /**
   * One process of the tree. {@code host} is its pid here; {@code pid}, {@code ppid}, {@code pgid}
   * and {@code sid} are as the tree sees them, 0 for a process outside the tree (the root's
   * parent; a group or session the root inherited from outside). {@code threads} are the host
   * tids frozen beside the main thread.
   */
  record Member(int host, int pid, int ppid, int pgid, int sid, boolean zombie, int waitStatus, List<Integer> threads) {
    String prefix(boolean root) {
      return root ? "" : "task/" + pid + "/";
    }
  }

  /** The host pids of a running process's descendants, read from /proc without stopping anything. */
  static Set<Integer> descendants(int root) {
    Set<Integer> out = new TreeSet<>();
    List<Integer> queue = new ArrayList<>(List.of(root));
    while (!queue.isEmpty()) {
      int p = queue.remove(0);
      for (int c : children(p)) {
        if (out.add(c)) {
          queue.add(c);
        }
      }
    }
    return out;
  }

  /** {@code root} and its descendants, as {@link #descendants} reads them. */
  static Set<Integer> withDescendants(int root) {
    Set<Integer> out = descendants(root);
    out.add(root);
    return out;
  }

  /** Children of every thread of {@code pid}, by host pid; empty for a process that is gone. */
  static List<Integer> children(int pid) {
    List<Integer> out = new ArrayList<>();
    try (var tasks = Files.newDirectoryStream(ProcFs.dir(pid).resolve("task"))) {
      for (var t : tasks) {
        String text = Files.readString(t.resolve("children")).trim();
        if (!text.isEmpty()) {
          for (String c : text.split("\\s+")) {
            out.add(Integer.parseInt(c));
          }
        }
      }
    } catch (IOException e) {
      return out;
    }
    out.sort(null);
    return out;
  }

  /**
   * With the root stopped (its threads {@code rootThreads} too), seizes and stops every
   * descendant and its threads, listing children again until a round finds no new process: a
   * child forked meanwhile is caught by the next round, and once all are stopped none can fork.
   * Zombies are recorded with their wait status, not seized. Returns the members parents first,
   * siblings by pid. On failure every process seized here is let go.
   */
  static List<Member> freeze(int root, List<Integer> rootThreads) throws ProcessException {
    Map<Integer, int[]> found = new LinkedHashMap<>(); // host -> {parent host, zombie, wait status}
    Map<Integer, List<Integer>> threads = new HashMap<>();
    List<Integer> order = new ArrayList<>(List.of(root));
    threads.put(root, rootThreads);
    found.put(root, new int[] {0, 0, 0});
    try {
      for (int round = 0; ; round++) {
        if (round == FREEZE_ROUNDS) {
          throw new ProcessException(root, "its tree kept forking while ckpt froze it (" + order.size() + " processes frozen)");
        }
        boolean more = false;
        for (int i = 0; i < order.size(); i++) {
          int parent = order.get(i);
          if (found.get(parent)[1] != 0) {
            continue;
          }
          for (int child : children(parent)) {
            if (found.containsKey(child)) {
              continue;
            }
            more = true;
            order.add(child);
            int[] status = seize(root, child);
            found.put(child, new int[] {parent, status == null ? 0 : 1, status == null ? 0 : status[0]});
            if (status == null) {
              threads.put(child, ThreadDumper.freeze(child));
            }
          }
        }
        if (!more) {
          break;
        }
      }
      List<Member> members = new ArrayList<>();
      Map<Integer, Integer> ns = new HashMap<>();
      for (int host : order) {
        ns.put(host, ThreadDumper.namespaceId(status(root, host), host));
      }
      int rootPgid = 0, rootSid = 0;
      for (int host : order) {
        int[] f = found.get(host);
        String[] stat = stat(root, host);
        int pgid = Integer.parseInt(stat[5]);
        int sid = Integer.parseInt(stat[6]);
        if (host == root) {
          rootPgid = pgid;
          rootSid = sid;
        } else if (f[1] == 0 && ((!ns.containsKey(pgid) && pgid != rootPgid) || (!ns.containsKey(sid) && sid != rootSid))) {
          throw new ProcessException(root, "has a descendant, pid " + host + ", in process group " + pgid + " of session "
              + sid + ", led by a process outside the checkpoint, which restore cannot put it back into");
        }
        if (f[1] != 0 && (f[2] & 0x80) != 0) {
          throw new ProcessException(root, "has a zombie child, pid " + host + ", killed by signal " + (f[2] & 0x7f)
              + " with a core dump, which restore cannot end the same way without writing a core file");
        }
        members.add(new Member(host, ns.get(host), host == root ? 0 : ns.get(f[0]), ns.getOrDefault(pgid, 0),
            ns.getOrDefault(sid, 0), f[1] != 0, f[2], threads.getOrDefault(host, List.of())));
      }
      return members;
    } catch (ProcessException | RuntimeException e) {
      for (int host : order) {
        if (host != root) {
          ThreadDumper.release(threads.getOrDefault(host, List.of()));
          if (found.get(host) != null && found.get(host)[1] == 0) {
            ThreadDumper.release(List.of(host));
          }
        }
      }
      throw e;
    }
  }

  /**
   * Seizes a child and waits for its stop; returns null then. A zombie, or a child that exits
   * meanwhile, returns {wait status}: it is kept as a zombie for its parent to reap.
   */
  private static int[] seize(int root, int child) throws ProcessException {
    String state = ProcFs.state(child);
    if (state.equals("Z") || state.equals("X")) {
      return new int[] {zombieStatus(root, child)};
    }
    try {
      Sys.ptrace(Sys.PTRACE_SEIZE, child, 0, 0, "SEIZE(child " + child + ")");
    } catch (ProcessException e) {
      if (ProcFs.state(child).equals("Z")) {
        return new int[] {zombieStatus(root, child)};
      }
      if (e.errno() == Errno.EPERM) {
        throw new ProcessException(root, "has a child process, pid " + child + ", that ckpt may not trace (EPERM): it"
            + " belongs to another user or runs a setuid program", Errno.EPERM, e);
      }
      throw new ProcessException(root, "seizing its child " + child + " failed: " + Errno.name(e.errno()), e.errno(), e);
    }
    Sys.ptrace(Sys.PTRACE_INTERRUPT, child, 0, 0, "INTERRUPT(child " + child + ")");
    while (true) {
      int st = Sys.waitpid(child, false);
      if (Sys.exited(st) || Sys.signaled(st)) {
        return new int[] {st & 0xffff};
      }
      int sig = Sys.stopSignal(st);
      if (Sys.event(st) == Sys.PTRACE_EVENT_STOP) {
        if (sig != Sys.SIGTRAP) {
          throw new ProcessException(root, "has a child, pid " + child + ", stopped by signal " + sig
              + " while ckpt froze it; checkpoint it once it runs");
        }
        return null;
      }
      Sys.ptrace(Sys.PTRACE_CONT, child, 0, Sys.event(st) == 0 ? sig : 0, "CONT(child " + child + ")");
    }
  }

  private static int zombieStatus(int root, int host) throws ProcessException {
    String[] stat = stat(root, host);
    return stat.length > 52 ? Integer.parseInt(stat[52]) : 0;
  }

  private static String[] stat(int root, int host) throws ProcessException {
    try {
      return ProcFs.stat(host);
    } catch (IOException e) {
      throw new ProcessException(root, "reading /proc/" + host + "/stat of a process in its tree failed: " + e, 0, e);
    }
  }

  private static Map<String, String> status(int root, int host) throws ProcessException {
    try {
      return ProcFs.status(host);
    } catch (IOException e) {
      throw new ProcessException(root, "reading /proc/" + host + "/status of a process in its tree failed: " + e, 0, e);
    }
  }

  /** Lets the frozen descendants run on: their threads, then their main threads. */
  static void release(List<Member> members) {
    if (members.size() <= 1) {
      return;
    }
    for (Member m : members.subList(1, members.size())) {
      ThreadDumper.release(m.threads());
      if (!m.zombie()) {
        ThreadDumper.release(List.of(m.host()));
      }
    }
  }

  /** After the root was killed: kills every descendant and collects what this tracer holds of them. */
  static void killAndReap(List<Member> members) {
    if (members.size() <= 1) {
      return;
    }
    for (Member m : members.subList(1, members.size())) {
      if (!m.zombie()) {
        try {
          LibC.kill(m.host(), Sys.SIGKILL);
        } catch (LastErrorException ignored) {
          // Gone already.
        }
      }
    }
    for (Member m : members.subList(1, members.size())) {
      ThreadDumper.reap(m.threads());
      if (!m.zombie()) {
        ThreadDumper.reap(List.of(m.host()));
      }
    }
  }

  /**
   * Marks the descriptors that are the same open file description as an earlier one (dup'ed in
   * the process, inherited across fork, or passed), found with kcmp: restore takes them from that
   * descriptor (dup3 in the same process, pidfd_getfd from another) instead of opening the file
   * again, so offset and status flags stay shared. Pipes are matched at restore by inode and end;
   * stdio re-wired to the restore's streams is inherited from the root. {@code hosts} and
   * {@code pids} are each image's host pid and pid as the tree sees it.
   */
  static List<ProcessImage> shareDescriptions(List<Integer> hosts, List<Integer> pids, List<ProcessImage> images)
      throws ProcessException {
    List<ProcessImage> out = new ArrayList<>();
    for (int i = 0; i < images.size(); i++) {
      ProcessImage img = images.get(i);
      List<FdRecord> fds = new ArrayList<>();
      for (FdRecord f : img.fds()) {
        FdRecord shared = null;
        if (f.kind() == FdKind.FILE || f.kind() == FdKind.DIRECTORY || f.kind() == FdKind.DEVNULL
            || EventFiles.isEventFile(f.kind())) {
          search:
          for (int j = 0; j <= i; j++) {
            for (FdRecord g : images.get(j).fds()) {
              if (j == i && g.fd() >= f.fd()) {
                break;
              }
              if (g.kind() == f.kind() && g.path().equals(f.path()) && sameDescription(hosts.get(j), g.fd(), hosts.get(i),
                  f.fd())) {
                shared = new FdRecord(f.fd(), FdKind.SHARED, f.path(), f.flags(), pids.get(j), g.fd());
                break search;
              }
            }
          }
        }
        fds.add(shared != null ? shared : f);
      }
      out.add(new ProcessImage(img.uid(), img.exe(), img.cwd(), img.umask(), img.mm(), img.auxv(), img.vmas(),
          img.threads(), fds, img.sigactions(), img.pendingPrivate(), img.pendingShared(), img.itimers(), img.files(),
          img.attributes()));
    }
    return out;
  }

  /**
   * What processes of a tree may not share, as tasks made by clone() without CLONE_THREAD can:
   * restore gives each process its own fd table, filesystem context, address space and signal
   * handlers, so sharing any of them (kcmp) is refused, naming the two processes.
   */
  static void refuseSharedTables(int root, List<Member> live) throws ProcessException {
    String[] what = {null, "address space (CLONE_VM, a vfork in progress)", "file descriptor table (CLONE_FILES)",
        "cwd, root and umask (CLONE_FS)", "signal handlers (CLONE_SIGHAND)"};
    for (int i = 0; i < live.size(); i++) {
      for (int j = i + 1; j < live.size(); j++) {
        for (int type = 1; type <= 4; type++) {
          long same;
          try {
            same = LibC.syscall(Sys.SYS_KCMP, live.get(i).host(), live.get(j).host(), type, 0, 0, 0);
          } catch (LastErrorException e) {
            throw Sys.error("kcmp(" + live.get(i).host() + ", " + live.get(j).host() + ", " + type + ")", root, e);
          }
          if (same == 0) {
            throw new ProcessException(root, "has processes " + live.get(i).host() + " and " + live.get(j).host()
                + " that share one " + what[type] + ", which restore would give each its own");
          }
        }
      }
    }
  }

  private static boolean sameDescription(int pid1, int fd1, int pid2, int fd2) throws ProcessException {
    try {
      return LibC.syscall(Sys.SYS_KCMP, pid1, pid2, Sys.KCMP_FILE, fd1, fd2, 0) == 0;
    } catch (LastErrorException e) {
      throw Sys.error("kcmp(" + pid1 + ", " + pid2 + ", KCMP_FILE, " + fd1 + ", " + fd2 + ")", pid1, e);
    }
  }

  /** Writes part {@code tree}: version, then per member pid, ppid, pgid, sid, zombie flag and wait status. */
  static void write(ImageWriter w, List<Member> members) throws CheckpointException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (DataOutputStream o = new DataOutputStream(bytes)) {
      o.writeShort(VERSION);
      o.writeInt(members.size());
      for (Member m : members) {
        o.writeInt(m.pid());
        o.writeInt(m.ppid());
        o.writeInt(m.pgid());
        o.writeInt(m.sid());
        o.writeByte(m.zombie() ? 1 : 0);
        o.writeInt(m.waitStatus());
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    try (PartOutput out = w.part(PART, Map.of("kind", "process-tree", "version", Integer.toString(VERSION)))) {
      out.write(ByteBuffer.wrap(bytes.toByteArray()));
    }
  }

  /** The members of an image's tree (host pid 0, no threads listed), or null for a single process. */
  static List<Member> read(ImageReader r) throws CheckpointException {
    if (r.part(PART).isEmpty()) {
      return null;
    }
    String ref = r.info().ref();
    ByteBuffer in = ByteBuffer.wrap(r.readBytes(PART));
    try {
      int version = in.getShort() & 0xffff;
      if (version != VERSION) {
        throw new dev.ckpt.UnsupportedFormatException("process tree of " + ref + " has version " + version
            + "; this ckpt reads version " + VERSION);
      }
      int n = in.getInt();
      if (n < 1 || n > 1_000_000) {
        throw new CorruptImageException("process tree of " + ref + " lists " + n + " processes");
      }
      List<Member> out = new ArrayList<>();
      Set<Integer> seen = new java.util.HashSet<>();
      for (int i = 0; i < n; i++) {
        Member m = new Member(0, in.getInt(), in.getInt(), in.getInt(), in.getInt(), in.get() != 0, in.getInt(), List.of());
        if (m.pid() <= 0 || !seen.add(m.pid()) || (i > 0 && !seen.contains(m.ppid()))) {
          throw new CorruptImageException("process tree of " + ref + ": entry " + i + " (pid " + m.pid() + ", parent "
              + m.ppid() + ") does not follow its parent");
        }
        out.add(m);
      }
      return out;
    } catch (BufferUnderflowException e) {
      throw new CorruptImageException("process tree of " + ref + " is truncated", e);
    }
  }
}
