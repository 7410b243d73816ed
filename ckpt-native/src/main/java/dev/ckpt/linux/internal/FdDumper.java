package dev.ckpt.linux.internal;

import dev.ckpt.linux.FdPolicy;
import dev.ckpt.linux.ProcessException;
import dev.ckpt.linux.internal.ProcessImage.FdKind;
import dev.ckpt.linux.internal.ProcessImage.FdRecord;
import dev.ckpt.linux.internal.jna.Sys;
import dev.ckpt.linux.internal.proc.ProcFs;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Records open file descriptors: regular files and directories by path, flags and offset;
 * /dev/null; pipes and FIFOs (resolved by {@link PipeState}); eventfd, timerfd, signalfd and
 * epoll ({@link EventFiles}); terminals and sockets on 0-2 as stdio to re-wire. Anything else
 * (sockets, inotify, pidfds, O_PATH, /proc files, locked or O_ASYNC files) is refused, or with
 * {@link FdPolicy#CLOSE} left out of the image.
 */
final class FdDumper {
  private FdDumper() {}

  /**
   * With {@code readiness}, the descriptors an epoll watches are polled for what a restore could
   * not reproduce ({@link EventFiles}); a restore's self-check leaves that out.
   */
  static List<FdRecord> dump(int pid, FdPolicy policy, boolean readiness) throws ProcessException {
    Path dir = ProcFs.dir(pid).resolve("fd");
    List<Integer> fds = new ArrayList<>();
    try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
      for (Path p : s) {
        fds.add(Integer.parseInt(p.getFileName().toString()));
      }
    } catch (IOException e) {
      throw new ProcessException(pid, "listing " + dir + " failed: " + e, 0, e);
    }
    fds.sort(null);
    List<FdRecord> out = new ArrayList<>();
    for (int fd : fds) {
      String target;
      String fdinfo;
      try {
        target = Files.readSymbolicLink(dir.resolve(Integer.toString(fd))).toString();
        fdinfo = Files.readString(ProcFs.dir(pid).resolve("fdinfo").resolve(Integer.toString(fd)));
      } catch (java.nio.file.NoSuchFileException e) {
        // Closed since the listing: the census before the freeze reads a running process (sort
        // opens and closes its temporary files all the time). Frozen, nothing closes.
        continue;
      } catch (IOException e) {
        throw new ProcessException(pid, "reading fd " + fd + " failed: " + e, 0, e);
      }
      Map<String, String> info = ProcFs.parseStatus(fdinfo);
      int flags = Integer.parseInt(info.getOrDefault("flags", "0"), 8);
      long pos = Long.parseLong(info.getOrDefault("pos", "0"));
      String refusal = refusal(fd, target, flags, info);
      if (refusal != null) {
        if (policy == FdPolicy.CLOSE && fd > 2) {
          continue;
        }
        throw new ProcessException(pid, refusal);
      }
      FdRecord rec = classify(pid, fd, target, flags, pos, fdinfo, readiness);
      if (rec != null) {
        out.add(rec);
      } else if (policy == FdPolicy.FAIL) {
        throw new ProcessException(pid, "fd " + fd + " is " + describe(target)
            + ", which ckpt cannot checkpoint; close it in the program, or leave such descriptors out"
            + " (FdPolicy.CLOSE, or --close-fds on the command line)");
      }
    }
    return out;
  }

  /**
   * Stdout or stderr written to a file that another process writes too (the launcher's own log,
   * a batch system's output file shared with ckpt) is the caller's stream, like a terminal: it
   * is re-wired at restore to the restoring side's stream instead of being cut back to its
   * checkpoint length, which would destroy what the other process wrote.
   */
  static List<FdRecord> rewireSharedStdio(PipeState.Outside tree, List<FdRecord> fds) {
    java.util.Set<String> files = new java.util.HashSet<>();
    for (FdRecord f : fds) {
      if (f.fd() <= 2 && f.kind() == FdKind.FILE && (f.flags() & Sys.O_ACCMODE) != Sys.O_RDONLY) {
        files.add(f.path());
      }
    }
    if (files.isEmpty()) {
      return fds;
    }
    Map<String, List<PipeState.Holder>> holders = tree.holders(files);
    List<FdRecord> out = new ArrayList<>();
    for (FdRecord f : fds) {
      boolean shared = files.contains(f.path()) && f.fd() <= 2
          && holders.getOrDefault(f.path(), List.of()).stream().anyMatch(PipeState.Holder::writes);
      out.add(shared ? new FdRecord(f.fd(), FdKind.STDIO, f.path(), f.flags(), 0, 0) : f);
    }
    return out;
  }

  /** What a descriptor holds that no record reproduces, or null. */
  static String refusal(int fd, String target, int flags, Map<String, String> fdinfo) {
    if ((flags & Sys.O_PATH) != 0) {
      return "fd " + fd + " is an O_PATH descriptor of " + target + ", which ckpt does not restore";
    }
    if (target.startsWith("/proc/") || target.equals("/proc")) {
      return "fd " + fd + " is open on " + target + ", a /proc file that names this process or another, not the restored one";
    }
    if (fdinfo.containsKey("lock")) {
      return "fd " + fd + " (" + target + ") holds a file lock (" + fdinfo.get("lock") + "), which restore would not take again";
    }
    if ((flags & Sys.O_ASYNC) != 0) {
      return "fd " + fd + " (" + target + ") has O_ASYNC (SIGIO to an owner), which ckpt does not restore";
    }
    return null;
  }

  private static FdRecord classify(int pid, int fd, String target, int flags, long pos, String fdinfo, boolean readiness)
      throws ProcessException {
    if (target.startsWith("anon_inode:")) {
      return EventFiles.record(pid, fd, target, flags, fdinfo, readiness);
    }
    if (target.equals("/dev/null")) {
      return new FdRecord(fd, FdKind.DEVNULL, target, flags, 0, 0);
    }
    if (target.startsWith("socket:[")) {
      return new FdRecord(fd, FdKind.UNIX, target, flags, 0, 0); // UnixSockets decides, stdio included
    }
    if (target.startsWith("pipe:[")) {
      return new FdRecord(fd, FdKind.PIPE, target, flags, 0, 0); // PipeState decides
    }
    boolean terminal = target.startsWith("/dev/pts/") || target.startsWith("/dev/tty");
    if (fd <= 2 && terminal) {
      return new FdRecord(fd, FdKind.STDIO, target, flags, 0, 0);
    }
    if (target.startsWith("/") && !target.endsWith(" (deleted)")) {
      try {
        BasicFileAttributes a = Files.readAttributes(Path.of(target), BasicFileAttributes.class);
        if (a.isOther() && isFifo(Path.of(target))) {
          return new FdRecord(fd, FdKind.FIFO, target, flags, 0, 0); // PipeState decides
        }
        if (fd <= 2 && a.isOther()) {
          return new FdRecord(fd, FdKind.STDIO, target, flags, 0, 0); // a FIFO or device as stdio
        }
        if (a.isRegularFile()) {
          return new FdRecord(fd, FdKind.FILE, target, flags, pos, a.size());
        }
        if (a.isDirectory()) {
          return new FdRecord(fd, FdKind.DIRECTORY, target, flags, pos, 0);
        }
      } catch (IOException e) {
        throw new ProcessException(pid, "fd " + fd + " names " + target + ", which cannot be read: " + e, 0, e);
      }
    }
    return null;
  }

  private static boolean isFifo(Path p) throws IOException {
    int mode = (Integer) Files.getAttribute(p, "unix:mode");
    return (mode & 0170000) == 0010000;
  }

  private static String describe(String target) {
    if (target.startsWith("socket:")) {
      return "a socket (" + target + ")";
    }
    if (target.startsWith("anon_inode:")) {
      return "an anonymous inode (" + target.substring(11) + ")";
    }
    if (target.endsWith(" (deleted)")) {
      return "a deleted file (" + target + ")";
    }
    return "'" + target + "'";
  }
}
