package dev.ckpt.linux.internal;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import dev.ckpt.CheckpointException;
import dev.ckpt.ImageReader;
import dev.ckpt.ImageWriter;
import dev.ckpt.PartOutput;
import dev.ckpt.linux.FdPolicy;
import dev.ckpt.linux.ProcessException;
import dev.ckpt.linux.internal.ProcessImage.FdKind;
import dev.ckpt.linux.internal.ProcessImage.FdRecord;
import dev.ckpt.linux.internal.jna.LibC;
import dev.ckpt.linux.internal.jna.Sys;
import dev.ckpt.linux.internal.proc.ProcFs;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Pipes and FIFOs, with the bytes still unread in them. At dump the unread bytes are copied with
 * tee(2) from a duplicate of the process's read end (taken with pidfd_getfd), so the running
 * process still reads them; they go into a part {@code pipe/<id>}. A pipe whose other end is held
 * outside the process cannot be continued: a read end fed by a live writer outside is refused (or
 * re-wired, for stdin with {@link FdPolicy#CLOSE}); a write end read outside is re-wired when it
 * is stdout or stderr, as before. At restore each pipe is made again in the process, filled with
 * its bytes, and its ends put at their numbers; an end nobody else holds stays closed, so a
 * reader sees the bytes and then EOF, as it would have.
 *
 * <p>Records: kind PIPE has path {@code pipe:[inode]}; kind FIFO has the FIFO's path. For both,
 * {@code pos} is the pipe's capacity and {@code size} the number of unread bytes in the image.
 */
final class PipeState {
  static final String PART_PREFIX = "pipe/";
  private static final long DATA_AT = 256 * 1024;
  private static final long DATA_MAX = 512 * 1024;

  private PipeState() {}

  /** Another process's descriptor on the same pipe. */
  record Holder(int pid, int fd, int flags) {
    boolean reads() {
      return (flags & Sys.O_ACCMODE) != Sys.O_WRONLY;
    }

    boolean writes() {
      return (flags & Sys.O_ACCMODE) != Sys.O_RDONLY;
    }

    @Override
    public String toString() {
      return "pid " + pid + " (" + comm(pid) + ") fd " + fd;
    }
  }

  /** The refusals of {@link #dump} alone, without copying any bytes: for the census before the freeze. */
  static void checkPeers(int pid, List<FdRecord> fds, FdPolicy policy, Outside tree) throws CheckpointException {
    dump(pid, fds, policy, null, tree);
  }

  /**
   * Resolves the provisional PIPE and FIFO records: re-wires or refuses those with a live peer
   * outside, and stores the unread bytes of the rest. Returns the final fd list.
   */
  static List<FdRecord> dump(int pid, List<FdRecord> fds, FdPolicy policy, ImageWriter w, Outside tree)
      throws CheckpointException {
    Map<String, List<FdRecord>> byPipe = new LinkedHashMap<>();
    for (FdRecord f : fds) {
      if (f.kind() == FdKind.PIPE || f.kind() == FdKind.FIFO) {
        byPipe.computeIfAbsent(f.path(), k -> new ArrayList<>()).add(f);
      }
    }
    if (byPipe.isEmpty()) {
      return fds;
    }
    Map<String, List<Holder>> outside = tree.holders(byPipe.keySet());
    Map<Integer, FdRecord> replaced = new LinkedHashMap<>();
    for (Map.Entry<String, List<FdRecord>> e : byPipe.entrySet()) {
      String id = e.getKey();
      List<Holder> others = outside.getOrDefault(id, List.of());
      List<FdRecord> kept = new ArrayList<>();
      for (FdRecord f : e.getValue()) {
        boolean reads = (f.flags() & Sys.O_ACCMODE) != Sys.O_WRONLY;
        List<Holder> peers = new ArrayList<>();
        for (Holder h : others) {
          if (reads ? h.writes() : h.reads()) {
            peers.add(h);
          }
        }
        if (f.kind() == FdKind.PIPE && (f.flags() & Sys.O_ACCMODE) == Sys.O_RDWR) {
          throw new ProcessException(pid, "fd " + f.fd() + " opens " + id + " for reading and writing, which ckpt does not restore");
        }
        if (peers.isEmpty()) {
          kept.add(f);
          continue;
        }
        String peer = Census.abbreviate(peers.stream().map(Holder::toString).toList());
        boolean stdio = f.fd() <= 2;
        if (stdio && (!reads || f.kind() == FdKind.FIFO || policy == FdPolicy.CLOSE)) {
          // The process's stdio is connected to something that lives on outside: restore
          // connects it to the streams it is given (a FIFO by path keeps its bytes in the kernel).
          replaced.put(f.fd(), new FdRecord(f.fd(), FdKind.STDIO, id, f.flags(), 0, 0));
        } else if (policy == FdPolicy.CLOSE) {
          replaced.put(f.fd(), null);
        } else if (reads) {
          throw new ProcessException(pid, "fd " + f.fd() + " reads " + id + ", whose write end is held outside the"
              + " checkpoint by " + peer + "; what it has yet to write could not reach a restored process."
              + (stdio ? " Give the program its input from a file, or let the writer finish first" : ""));
        } else {
          throw new ProcessException(pid, "fd " + f.fd() + " writes " + id + ", whose read end is held outside the"
              + " checkpoint by " + peer + "; ckpt re-wires only stdout and stderr");
        }
      }
      if (kept.isEmpty()) {
        continue;
      }
      sameOpenPerEnd(pid, id, kept);
      FdRecord reader = null;
      for (FdRecord f : kept) {
        if ((f.flags() & Sys.O_ACCMODE) != Sys.O_WRONLY) {
          reader = f;
          break;
        }
      }
      byte[] data = new byte[0];
      long capacity = 0;
      if (w == null) {
        continue; // checking only
      }
      if (reader != null) {
        long[] cap = new long[1];
        data = peek(pid, reader.fd(), cap);
        capacity = cap[0];
      }
      if (data.length > 0) {
        try (PartOutput out = w.part(PART_PREFIX + partId(id), Map.of("kind", "pipe-data"))) {
          out.write(ByteBuffer.wrap(data));
        }
      }
      for (FdRecord f : kept) {
        replaced.put(f.fd(), new FdRecord(f.fd(), f.kind(), f.path(), f.flags(), capacity, data.length));
      }
    }
    List<FdRecord> out = new ArrayList<>();
    for (FdRecord f : fds) {
      if (!replaced.containsKey(f.fd())) {
        out.add(f);
      } else if (replaced.get(f.fd()) != null) {
        out.add(replaced.get(f.fd()));
      }
    }
    return out;
  }

  /**
   * Restore gives all fds of one pipe end a single open file description, as dup() does. Ends
   * opened separately (through /proc/self/fd) have status flags of their own: refused.
   */
  private static void sameOpenPerEnd(int pid, String id, List<FdRecord> fds) throws ProcessException {
    for (int i = 0; i < fds.size(); i++) {
      for (int j = i + 1; j < fds.size(); j++) {
        FdRecord a = fds.get(i), b = fds.get(j);
        if ((a.flags() & Sys.O_ACCMODE) != (b.flags() & Sys.O_ACCMODE)) {
          continue;
        }
        long same;
        try {
          same = LibC.syscall(Sys.SYS_KCMP, pid, pid, Sys.KCMP_FILE, a.fd(), b.fd(), 0);
        } catch (LastErrorException e) {
          throw Sys.error("kcmp(KCMP_FILE, " + a.fd() + ", " + b.fd() + ")", pid, e);
        }
        if (same != 0) {
          throw new ProcessException(pid, "fds " + a.fd() + " and " + b.fd() + " are separate opens of one end of " + id
              + " (each with its own flags), which ckpt would restore as one");
        }
      }
    }
  }

  /** The part name of a pipe: its inode for a pipe, a hash-free escape of the path for a FIFO. */
  static String partId(String id) {
    if (id.startsWith("pipe:[") && id.endsWith("]")) {
      return id.substring(6, id.length() - 1);
    }
    return "fifo-" + Integer.toHexString(id.hashCode()) + "-" + id.length();
  }

  /**
   * Copies the unread bytes of the pipe behind the target's {@code fd} without consuming them:
   * tee(2) from our duplicate of its read end into a pipe of our own, as large as the target's.
   */
  private static byte[] peek(int pid, int fd, long[] capacity) throws ProcessException {
    int pidfd = -1, dup = -1, rd = -1, wr = -1;
    try (Memory pair = new Memory(8)) {
      pidfd = (int) syscall(pid, "pidfd_open", Sys.SYS_PIDFD_OPEN, pid, 0, 0);
      dup = (int) syscall(pid, "pidfd_getfd(" + fd + ")", Sys.SYS_PIDFD_GETFD, pidfd, fd, 0);
      long cap = syscall(pid, "fcntl(F_GETPIPE_SZ) of fd " + fd, Sys.SYS_FCNTL, dup, Sys.F_GETPIPE_SZ, 0);
      capacity[0] = cap;
      syscall(pid, "pipe2", Sys.SYS_PIPE2, Pointer.nativeValue(pair), Sys.O_CLOEXEC | Sys.O_NONBLOCK, 0);
      rd = pair.getInt(0);
      wr = pair.getInt(4);
      syscall(pid, "fcntl(F_SETPIPE_SZ, " + cap + ")", Sys.SYS_FCNTL, wr, Sys.F_SETPIPE_SZ, cap);
      long n;
      try {
        n = LibC.syscall(Sys.SYS_TEE, dup, wr, cap, Sys.SPLICE_F_NONBLOCK, 0, 0);
      } catch (LastErrorException e) {
        if (e.getErrorCode() != dev.ckpt.linux.internal.jna.Errno.EAGAIN) {
          throw Sys.error("tee of fd " + fd, pid, e);
        }
        n = 0; // empty
      }
      byte[] out = new byte[(int) n];
      try (Memory buf = new Memory(Math.max(1, n))) {
        long got = 0;
        while (got < n) {
          long r = syscall(pid, "read of the copied pipe bytes", Sys.SYS_READ, rd, Pointer.nativeValue(buf) + got, n - got);
          if (r <= 0) {
            throw new ProcessException(pid, "fd " + fd + ": read " + got + " of the " + n + " bytes copied from its pipe");
          }
          got += r;
        }
        buf.read(0, out, 0, (int) n);
      }
      return out;
    } finally {
      for (int x : new int[] {pidfd, dup, rd, wr}) {
        if (x >= 0) {
          try {
            LibC.close(x);
          } catch (LastErrorException ignored) {
            // Nothing to do about a failed close of our own descriptor.
          }
        }
      }
    }
  }

  private static long syscall(int pid, String what, int nr, long a, long b, long c) throws ProcessException {
    try {
      return LibC.syscall(nr, a, b, c, 0, 0, 0);
    } catch (LastErrorException e) {
      throw Sys.error(what, pid, e);
    }
  }

  /**
   * Every descriptor of processes outside {@code inside} (the checkpointed process, or its whole
   * tree) on the given pipes ({@code pipe:[ino]}), FIFOs or files (path), or sockets.
   */
  static Map<String, List<Holder>> holders(java.util.Set<Integer> inside, java.util.Set<String> ids) {
    return new Outside(inside).holders(ids);
  }

  /**
   * The processes outside a checkpoint (the process, or its tree) and the descriptors they hold,
   * read from /proc once per checkpoint: each member's pipes, stdio files and sockets are looked
   * up in one scan instead of one scan of every process's fds per member and per kind (a tree
   * of 50 spent most of its dump in those scans). Processes outside may open and close files
   * meanwhile, as between any two scans; what is inside is stopped.
   */
  static final class Outside {
    private final java.util.Set<Integer> inside;
    /** link target -> {pid, fd} of each descriptor outside that points there; read on first use. */
    private Map<String, List<int[]>> byTarget;

    Outside(java.util.Set<Integer> inside) {
      this.inside = java.util.Set.copyOf(inside);
    }

    java.util.Set<Integer> inside() {
      return inside;
    }

    /**
     * An Outside whose listing another thread may begin at once by running {@link #listing}; the
     * first question waits for it, or runs it itself if that thread has not begun.
     */
    static Outside ahead(java.util.Set<Integer> inside) {
      Outside o = new Outside(inside);
      o.listing = new java.util.concurrent.FutureTask<>(o::scan);
      return o;
    }

    private java.util.concurrent.FutureTask<Map<String, List<int[]>>> listing;

    /** The listing for another thread to run; null unless made by {@link #ahead}. */
    Runnable listing() {
      return listing;
    }

    private Map<String, List<int[]>> listed() {
      if (listing == null) {
        return scan();
      }
      listing.run(); // here, unless the other thread has begun it (a FutureTask runs once)
      try {
        return listing.get();
      } catch (java.util.concurrent.ExecutionException e) {
        throw new IllegalStateException("listing the descriptors of the processes outside failed: " + e.getCause(),
            e.getCause());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while the descriptors of the processes outside were listed", e);
      }
    }

    /** Every descriptor outside on one of {@code ids}, with its open flags. */
    Map<String, List<Holder>> holders(java.util.Set<String> ids) {
      if (byTarget == null) {
        byTarget = listed();
      }
      Map<String, List<Holder>> out = new LinkedHashMap<>();
      for (String id : ids) {
        for (int[] at : byTarget.getOrDefault(id, List.of())) {
          int flags;
          try {
            flags = Integer.parseInt(ProcFs.fdinfo(at[0], at[1]).getOrDefault("flags", "0"), 8);
          } catch (IOException e) {
            continue; // closed meanwhile
          }
          out.computeIfAbsent(id, k -> new ArrayList<>()).add(new Holder(at[0], at[1], flags));
        }
      }
      return out;
    }

    private Map<String, List<int[]>> scan() {
      Map<String, List<int[]>> all = new java.util.HashMap<>();
      try (DirectoryStream<Path> procs = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
        for (Path p : procs) {
          int other = Integer.parseInt(p.getFileName().toString());
          if (inside.contains(other)) {
            continue;
          }
          try (DirectoryStream<Path> fds = Files.newDirectoryStream(p.resolve("fd"))) {
            for (Path f : fds) {
              String target;
              try {
                target = Files.readSymbolicLink(f).toString();
              } catch (IOException e) {
                continue; // closed meanwhile
              }
              all.computeIfAbsent(target, k -> new ArrayList<>(1)).add(new int[] {other, Integer.parseInt(f.getFileName().toString())});
            }
          } catch (IOException e) {
            // Another user's process (unreadable fds) or one that exited: it cannot hold our pipes
            // unless it inherited them, and then its /proc is readable to us.
          }
        }
      } catch (IOException e) {
        // /proc is always listable; nothing found means nothing held outside.
      }
      return all;
    }
  }

  private static String comm(int pid) {
    try {
      return Files.readString(ProcFs.dir(pid).resolve("comm")).trim();
    } catch (IOException e) {
      return "?";
    }
  }

  /**
   * In the process being restored: makes every pipe and FIFO of the image again, with its bytes,
   * and puts its ends at their descriptor numbers. Runs after regular files are reopened, so the
   * temporary descriptors never land on a number a file needs.
   */
  static void restore(Tracee t, ImageReader r, List<FdRecord> fds, long scratch) throws CheckpointException {
    restore(t, r, fds, scratch, null);
  }

  /**
   * Pipes of a process tree: the first process (in restore order) that holds a pipe makes it and
   * keeps both ends parked above its descriptors; later processes take their ends from there
   * with pidfd_getfd, so the tree shares one pipe and its bytes, as before. The parked ends are
   * closed once the whole tree is built ({@link Shared#closeParked}).
   */
  static void restore(Tracee t, ImageReader r, List<FdRecord> fds, long scratch, Shared shared) throws CheckpointException {
    Map<String, List<FdRecord>> byPipe = new LinkedHashMap<>();
    for (FdRecord f : fds) {
      if (f.kind() == FdKind.PIPE || f.kind() == FdKind.FIFO) {
        byPipe.computeIfAbsent(f.path(), k -> new ArrayList<>()).add(f);
      }
    }
    int floor = 3;
    for (FdRecord f : fds) {
      floor = Math.max(floor, f.fd() + 1);
    }
    for (Map.Entry<String, List<FdRecord>> e : byPipe.entrySet()) {
      List<FdRecord> ends = e.getValue();
      FdRecord first = ends.get(0);
      int[] made = shared == null || first.kind() != FdKind.PIPE ? null : shared.pipes.get(e.getKey());
      if (made != null) {
        for (FdRecord f : ends) {
          boolean reads = (f.flags() & Sys.O_ACCMODE) == Sys.O_RDONLY;
          int fd = importFd(t, made[0], reads ? made[1] : made[2], floor, scratch);
          place(t, fd, f);
          t.call("close(" + fd + ")", Sys.SYS_CLOSE, fd);
        }
        continue;
      }
      // In a tree the bytes are with a process that reads the pipe, which may come later.
      Shared.Data held = shared == null ? null : shared.data.get(e.getKey());
      if (held != null) {
        first = held.record();
      }
      byte[] data = first.size() > 0 ? (held != null ? held.reader() : r).readBytes(PART_PREFIX + partId(e.getKey()))
          : new byte[0];
      if (data.length != first.size()) {
        throw new ProcessException(t.pid, e.getKey() + ": the image holds " + data.length + " bytes of it, not " + first.size());
      }
      if (first.kind() == FdKind.PIPE) {
        int[] ends2 = restorePipe(t, e.getKey(), ends, first.pos(), data, scratch, floor, shared != null);
        if (shared != null) {
          shared.pipes.put(e.getKey(), new int[] {t.self, ends2[0], ends2[1]});
          shared.parked.computeIfAbsent(t.pid, k -> new ArrayList<>()).addAll(List.of(ends2[0], ends2[1]));
        }
      } else {
        // A FIFO is opened by path in each process of a tree; its bytes go in once.
        boolean again = shared != null && !shared.filled.add(e.getKey());
        restoreFifo(t, e.getKey(), ends, first.pos(), again ? new byte[0] : data, scratch, floor);
      }
    }
  }

  /** Makes a pipe and places its ends; with {@code park}, keeps its two temporary ends open and returns them. */
  private static int[] restorePipe(Tracee t, String id, List<FdRecord> ends, long capacity, byte[] data, long scratch,
      int floor, boolean park) throws ProcessException {
    t.call("pipe2 for " + id, Sys.SYS_PIPE2, scratch, Sys.O_NONBLOCK | Sys.O_CLOEXEC);
    ByteBuffer pair = ByteBuffer.wrap(t.read(scratch, 8)).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    int rd = above(t, pair.getInt(0), floor);
    int wr = above(t, pair.getInt(4), floor);
    fill(t, id, wr, capacity, data, scratch);
    for (FdRecord f : ends) {
      place(t, (f.flags() & Sys.O_ACCMODE) == Sys.O_RDONLY ? rd : wr, f);
    }
    if (park) {
      return new int[] {rd, wr};
    }
    t.call("close(" + rd + ")", Sys.SYS_CLOSE, rd);
    t.call("close(" + wr + ")", Sys.SYS_CLOSE, wr);
    return null;
  }

  /** What the processes of a tree share while it is rebuilt: pipes by id, and the ends parked per host pid. */
  static final class Shared {
    /** pipe id -> {creator's pid as the tree sees it, parked read end, parked write end}. */
    final Map<String, int[]> pipes = new LinkedHashMap<>();
    final Map<Integer, List<Integer>> parked = new LinkedHashMap<>();
    /** Where each pipe's unread bytes are: the record and parts of a process that reads it. */
    final Map<String, Data> data = new LinkedHashMap<>();
    final java.util.Set<String> filled = new java.util.HashSet<>();
    /** The socketpairs of the tree, made like pipes. */
    final UnixSockets.Shared sockets = new UnixSockets.Shared();

    record Data(FdRecord record, ImageReader reader) {}

    /** Notes the pipes with bytes and the socket ends that {@code img} (read through {@code reader}) holds. */
    void noteData(ProcessImage img, ImageReader reader) {
      sockets.note(img, reader);
      for (FdRecord f : img.fds()) {
        if ((f.kind() == FdKind.PIPE || f.kind() == FdKind.FIFO) && f.pos() > 0 && !data.containsKey(f.path())) {
          data.put(f.path(), new Data(f, reader));
        }
      }
    }

    /** Closes the parked ends in each creator, which is fully rebuilt and stopped: a short injection round each. */
    void closeParked() throws ProcessException {
      closeIn(parked);
      sockets.closeParked();
    }

    /** Closes descriptors in processes that are rebuilt and stopped, by host pid. */
    static void closeIn(Map<Integer, List<Integer>> fdsByHost) throws ProcessException {
      for (Map.Entry<Integer, List<Integer>> e : fdsByHost.entrySet()) {
        try (Tracee t = new Tracee(e.getKey())) {
          t.beginInjection(t.findVdsoSyscall(t.maps()));
          try {
            for (int fd : e.getValue()) {
              t.call("close(parked " + fd + ")", Sys.SYS_CLOSE, fd);
            }
          } finally {
            t.endInjection();
          }
        }
      }
    }
  }

  /**
   * Takes another process's descriptor into this one (the same open file description), above
   * {@code floor}: pidfd_open and pidfd_getfd injected here. Needs ptrace access to the source,
   * which the restoring tasks have through the capabilities they hold until the end.
   */
  static int importFd(Tracee t, int srcPid, int srcFd, int floor, long scratch) throws ProcessException {
    int pidfd = (int) t.call("pidfd_open(" + srcPid + ")", Sys.SYS_PIDFD_OPEN, srcPid, 0);
    int fd;
    try {
      fd = (int) t.call("pidfd_getfd(" + srcPid + ", " + srcFd + ")", Sys.SYS_PIDFD_GETFD, pidfd, srcFd, 0);
    } finally {
      t.call("close(pidfd " + pidfd + ")", Sys.SYS_CLOSE, pidfd);
    }
    return above(t, fd, floor);
  }

  private static void restoreFifo(Tracee t, String path, List<FdRecord> ends, long capacity, byte[] data, long scratch,
      int floor) throws ProcessException {
    t.write(scratch, Tracee.cString(path));
    // Open for both, so neither this open nor the ones below wait for a peer.
    int tmp = above(t, (int) t.call("open(" + path + ") to refill the FIFO", Sys.SYS_OPEN, scratch,
        Sys.O_RDWR | Sys.O_NONBLOCK | Sys.O_CLOEXEC, 0), floor);
    fill(t, path, tmp, capacity, data, scratch);
    for (FdRecord f : ends) {
      t.write(scratch, Tracee.cString(path));
      int fd = above(t, (int) t.call("open(" + path + ") for fd " + f.fd(), Sys.SYS_OPEN, scratch,
          (f.flags() & Sys.O_ACCMODE) | Sys.O_NONBLOCK | Sys.O_CLOEXEC, 0), floor);
      place(t, fd, f);
      t.call("close(" + fd + ")", Sys.SYS_CLOSE, fd);
    }
    t.call("close(" + tmp + ")", Sys.SYS_CLOSE, tmp);
  }

  /** Moves a temporary descriptor above every number the image needs, so placing ends never overwrites it. */
  static int above(Tracee t, int fd, int floor) throws ProcessException {
    if (fd >= floor) {
      return fd;
    }
    int moved = (int) t.call("fcntl(F_DUPFD_CLOEXEC, " + fd + ", " + floor + ")", Sys.SYS_FCNTL, fd, Sys.F_DUPFD_CLOEXEC, floor);
    t.call("close(" + fd + ")", Sys.SYS_CLOSE, fd);
    return moved;
  }

  /** Sizes the pipe as it was and writes its unread bytes into it through the scratch area. */
  private static void fill(Tracee t, String id, int wr, long capacity, byte[] data, long scratch) throws ProcessException {
    if (capacity > 0) {
      t.call("fcntl(F_SETPIPE_SZ, " + capacity + ") for " + id, Sys.SYS_FCNTL, wr, Sys.F_SETPIPE_SZ, capacity);
    }
    for (int off = 0; off < data.length; ) {
      int n = (int) Math.min(DATA_MAX, data.length - off);
      t.write(scratch + DATA_AT, java.util.Arrays.copyOfRange(data, off, off + n));
      long wrote = t.call("write(" + n + " bytes into " + id + ")", Sys.SYS_WRITE, wr, scratch + DATA_AT, n);
      if (wrote <= 0) {
        throw new ProcessException(t.pid, id + ": the pipe took " + off + " of its " + data.length + " bytes");
      }
      off += (int) wrote;
    }
  }

  /** Puts one end at the record's number, with its descriptor and file status flags. */
  private static void place(Tracee t, int from, FdRecord f) throws ProcessException {
    t.call("dup3(" + from + ", " + f.fd() + ")", Sys.SYS_DUP3, from, f.fd(), f.flags() & Sys.O_CLOEXEC);
    int status = f.flags() & ~(Sys.O_ACCMODE | Sys.O_CLOEXEC | Sys.O_CREAT | Sys.O_EXCL | Sys.O_NOCTTY | Sys.O_TRUNC);
    t.call("fcntl(F_SETFL) of " + f.fd(), Sys.SYS_FCNTL, f.fd(), Sys.F_SETFL, status);
  }
}
