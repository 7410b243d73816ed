package dev.ckpt.linux.internal;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import dev.ckpt.linux.ProcessException;
import dev.ckpt.linux.internal.ProcessImage.FdKind;
import dev.ckpt.linux.internal.ProcessImage.FdRecord;
import dev.ckpt.linux.internal.jna.Errno;
import dev.ckpt.linux.internal.jna.LibC;
import dev.ckpt.linux.internal.jna.Sys;
import dev.ckpt.linux.internal.proc.ProcFs;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * eventfd, timerfd, signalfd and epoll descriptors. Their whole state is in
 * /proc/PID/fdinfo/FD, read at dump without touching the process; restore makes each again with
 * injected calls (eventfd2, timerfd_create and timerfd_settime, signalfd4, epoll_create1 and one
 * epoll_ctl per watched descriptor), after every other descriptor for epoll. The record keeps the
 * state in the fields of {@link FdRecord} (docs/FORMAT.md):
 * <ul>
 *   <li>eventfd: path {@code anon_inode:[eventfd]}, with {@code " semaphore"} for EFD_SEMAPHORE;
 *       pos the counter;
 *   <li>timerfd: path {@code anon_inode:[timerfd] clock=C ticks=T}; pos the time to the next
 *       expiry and size the interval, in nanoseconds, relative as for itimers (both 0:
 *       disarmed; pos 0 alone: a periodic timer that has expired and not been read);
 *   <li>signalfd: pos the signal mask;
 *   <li>epoll: path {@code anon_inode:[eventpoll]} then one {@code " tfd:events:data"} (hex) per
 *       watched descriptor, in fd order.
 * </ul>
 * What a re-created epoll cannot reproduce is refused: a watched file that is no longer the
 * process's descriptor of that number, a watched epoll, an edge-triggered descriptor that is
 * ready (whether its edge was reported already cannot be read), and two or more ready
 * descriptors (the order in which epoll would report them cannot be read).
 */
final class EventFiles {
  static final String EVENTFD = "anon_inode:[eventfd]";
  static final String TIMERFD = "anon_inode:[timerfd]";
  static final String SIGNALFD = "anon_inode:[signalfd]";
  static final String EPOLL = "anon_inode:[eventpoll]";
  private static final long POLL_EVENTS = 0xffff;
  private static final Pattern WATCH = Pattern.compile("tfd:\\s*(\\d+)\\s+events:\\s*([0-9a-f]+)\\s+data:\\s*([0-9a-f]+)");
  private static final Pattern TIME = Pattern.compile("\\(\\s*(\\d+),\\s*(\\d+)\\s*\\)");
  private static final long NANOS = 1_000_000_000L;

  private EventFiles() {}

  static boolean isEventFile(FdKind k) {
    return k == FdKind.EVENTFD || k == FdKind.TIMERFD || k == FdKind.SIGNALFD || k == FdKind.EPOLL;
  }

  /** One watched descriptor of an epoll record. */
  record Watch(int fd, long events, long data) {}

  /**
   * The record of {@code fd} from its /proc/PID/fdinfo {@code text}, or null when it is none of
   * the four. With {@code readiness}, an epoll's watched descriptors are polled (from a duplicate
   * taken with pidfd_getfd, which consumes nothing) for the refusals above; a restore's
   * self-check leaves that out.
   */
  static FdRecord record(int pid, int fd, String target, int flags, String text, boolean readiness)
      throws ProcessException {
    if (!target.equals(EVENTFD) && !target.equals(TIMERFD) && !target.equals(SIGNALFD) && !target.equals(EPOLL)) {
      return null;
    }
    Map<String, String> info = ProcFs.parseStatus(text);
    try {
      switch (target) {
        case EVENTFD -> {
          long count = Long.parseUnsignedLong(info.get("eventfd-count").trim(), 16);
          boolean semaphore = "1".equals(info.getOrDefault("eventfd-semaphore", "0").trim());
          return new FdRecord(fd, FdKind.EVENTFD, EVENTFD + (semaphore ? " semaphore" : ""), flags, count, 0);
        }
        case SIGNALFD -> {
          return new FdRecord(fd, FdKind.SIGNALFD, SIGNALFD, flags, Long.parseUnsignedLong(info.get("sigmask").trim(), 16), 0);
        }
        case TIMERFD -> {
          int settime = Integer.parseInt(info.get("settime flags").trim(), 8);
          if ((settime & Sys.TFD_TIMER_CANCEL_ON_SET) != 0) {
            throw new ProcessException(pid, "fd " + fd + " is a timerfd with TFD_TIMER_CANCEL_ON_SET, whose cancellation by a"
                + " clock change a restore could not reproduce");
          }
          return new FdRecord(fd, FdKind.TIMERFD, TIMERFD + " clock=" + info.get("clockid").trim() + " ticks="
              + Long.parseUnsignedLong(info.get("ticks").trim()), flags, nanos(info.get("it_value")),
              nanos(info.get("it_interval")));
        }
        default -> {
          List<Watch> watches = watches(text);
          java.util.Set<Integer> seen = new java.util.HashSet<>();
          for (Watch w : watches) {
            if (!seen.add(w.fd())) {
              throw new ProcessException(pid, "epoll fd " + fd + " watches two files added as fd " + w.fd()
                  + " (one of them closed and the number reused), which a restore could not add again");
            }
          }
          for (Watch w : watches) {
            if ((w.events() & ~Sys.EP_PRIVATE_BITS) == 0) {
              // epoll_ctl always adds EPOLLERR and EPOLLHUP: a fired one-shot watch cannot be made again.
              throw new ProcessException(pid, "epoll fd " + fd + " watches fd " + w.fd() + " with EPOLLONESHOT, fired and"
                  + " not re-armed, which a restore would arm again; try the checkpoint again");
            }
            check(pid, fd, w);
          }
          if (readiness) {
            checkReadiness(pid, fd, watches);
          }
          return new FdRecord(fd, FdKind.EPOLL, epollPath(watches), flags, 0, 0);
        }
      }
    } catch (RuntimeException e) {
      throw new ProcessException(pid, "fd " + fd + " (" + target + "): /proc/" + pid + "/fdinfo/" + fd
          + " is not as expected: " + e, 0, e);
    }
  }

  static List<Watch> watches(String fdinfo) {
    List<Watch> out = new ArrayList<>();
    Matcher m = WATCH.matcher(fdinfo);
    while (m.find()) {
      out.add(new Watch(Integer.parseInt(m.group(1)), Long.parseLong(m.group(2), 16), Long.parseUnsignedLong(m.group(3), 16)));
    }
    out.sort(java.util.Comparator.comparingInt(Watch::fd));
    return out;
  }

  static String epollPath(List<Watch> watches) {
    StringBuilder b = new StringBuilder(EPOLL);
    for (Watch w : watches) {
      b.append(' ').append(w.fd()).append(':').append(Long.toHexString(w.events())).append(':')
          .append(Long.toHexString(w.data()));
    }
    return b.toString();
  }

  /** The watched descriptors of an epoll record. */
  static List<Watch> watches(FdRecord f) {
    List<Watch> out = new ArrayList<>();
    String[] words = f.path().split(" ");
    for (int i = 1; i < words.length; i++) {
      String[] x = words[i].split(":");
      out.add(new Watch(Integer.parseInt(x[0]), Long.parseLong(x[1], 16), Long.parseUnsignedLong(x[2], 16)));
    }
    return out;
  }

  private static long nanos(String time) {
    Matcher m = TIME.matcher(time);
    if (!m.find()) {
      throw new IllegalArgumentException("no (seconds, nanoseconds) in '" + time + "'");
    }
    return Long.parseLong(m.group(1)) * NANOS + Long.parseLong(m.group(2));
  }

  /**
   * The watched file must be the process's own descriptor of that number (kcmp KCMP_EPOLL_TFD),
   * since restore re-adds it by number, and must not be another epoll, made in no fixed order.
   */
  private static void check(int pid, int epfd, Watch w) throws ProcessException {
    String target;
    try {
      target = Files.readSymbolicLink(ProcFs.dir(pid).resolve("fd").resolve(Integer.toString(w.fd()))).toString();
    } catch (IOException e) {
      target = null;
    }
    boolean same = false;
    if (target != null) {
      try (Memory slot = new Memory(12)) {
        slot.setInt(0, epfd);
        slot.setInt(4, w.fd());
        slot.setInt(8, 0);
        same = LibC.syscall(Sys.SYS_KCMP, pid, pid, Sys.KCMP_EPOLL_TFD, w.fd(), Pointer.nativeValue(slot), 0) == 0;
      } catch (LastErrorException e) {
        if (e.getErrorCode() != Errno.ENOENT && e.getErrorCode() != Errno.EBADF) {
          throw Sys.error("kcmp(KCMP_EPOLL_TFD) of epoll fd " + epfd + " and fd " + w.fd(), pid, e);
        }
      }
    }
    if (!same) {
      throw new ProcessException(pid, "epoll fd " + epfd + " watches a file added as fd " + w.fd()
          + ", which the process no longer holds as fd " + w.fd() + "; a restore could not add it again");
    }
    if (target.equals(EPOLL)) {
      throw new ProcessException(pid, "epoll fd " + epfd + " watches another epoll (fd " + w.fd()
          + "), which ckpt does not restore");
    }
  }

  private static void checkReadiness(int pid, int epfd, List<Watch> watches) throws ProcessException {
    List<Integer> ready = new ArrayList<>();
    int pidfd = -1;
    try {
      for (Watch w : watches) {
        if ((w.events() & POLL_EVENTS) == 0) {
          continue; // a one-shot watch that has fired: disabled until re-armed
        }
        if (pidfd < 0) {
          pidfd = (int) LibC.syscall(Sys.SYS_PIDFD_OPEN, pid, 0, 0, 0, 0, 0);
        }
        int dup = (int) LibC.syscall(Sys.SYS_PIDFD_GETFD, pidfd, w.fd(), 0, 0, 0, 0);
        try (Memory pfd = new Memory(8)) {
          pfd.setInt(0, dup);
          pfd.setShort(4, (short) (w.events() & POLL_EVENTS));
          pfd.setShort(6, (short) 0);
          LibC.syscall(Sys.SYS_POLL, Pointer.nativeValue(pfd), 1, 0, 0, 0, 0);
          if (pfd.getShort(6) != 0) {
            if ((w.events() & Sys.EPOLLET) != 0) {
              throw new ProcessException(pid, "epoll fd " + epfd + " watches fd " + w.fd() + " edge-triggered, and it is"
                  + " ready: whether that edge was reported already cannot be read, and a restore could report it again;"
                  + " try the checkpoint again");
            }
            ready.add(w.fd());
          }
        } finally {
          LibC.close(dup);
        }
      }
    } catch (LastErrorException e) {
      throw Sys.error("polling the descriptors epoll fd " + epfd + " watches", pid, e);
    } finally {
      if (pidfd >= 0) {
        LibC.close(pidfd);
      }
    }
    if (ready.size() > 1) {
      throw new ProcessException(pid, "epoll fd " + epfd + " watches fds " + ready + ", which are all ready: the order in"
          + " which epoll would report them cannot be read, and a restore could report them in another; try the"
          + " checkpoint again");
    }
  }

  /**
   * Makes the eventfd, timerfd or signalfd of {@code f} in the stopped process at its number;
   * {@code data}: 64 bytes of scratch in it.
   */
  static void restore(Tracee t, FdRecord f, long data) throws ProcessException {
    int create = f.flags() & (Sys.O_NONBLOCK | Sys.O_CLOEXEC);
    long fd;
    switch (f.kind()) {
      case EVENTFD -> {
        int sem = f.path().endsWith(" semaphore") ? Sys.EFD_SEMAPHORE : 0;
        boolean fits = Long.compareUnsigned(f.pos(), 0xffffffffL) <= 0;
        fd = t.call("eventfd2 for fd " + f.fd(), Sys.SYS_EVENTFD2, fits ? f.pos() : 0, create | sem);
        if (!fits) {
          t.write(data, Tracee.le(8).putLong(0, f.pos()).array());
          t.call("write(eventfd counter) for fd " + f.fd(), Sys.SYS_WRITE, fd, data, 8);
        }
      }
      case SIGNALFD -> {
        t.write(data, Tracee.le(8).putLong(0, f.pos()).array());
        fd = t.call("signalfd4 for fd " + f.fd(), Sys.SYS_SIGNALFD4, -1, data, 8, create);
      }
      case TIMERFD -> {
        int clock = Integer.parseInt(field(f.path(), "clock"));
        long ticks = Long.parseUnsignedLong(field(f.path(), "ticks"));
        fd = t.call("timerfd_create(" + clock + ") for fd " + f.fd(), Sys.SYS_TIMERFD_CREATE, clock, create);
        if (f.pos() != 0 || f.size() != 0) {
          // A periodic timer that has expired and not been read yet shows 0 left: it runs on,
          // its next expiry one interval on (a value of 0 would disarm it).
          long value = f.pos() != 0 ? f.pos() : f.size();
          ByteBuffer spec = Tracee.le(32).putLong(0, f.size() / NANOS).putLong(8, f.size() % NANOS)
              .putLong(16, value / NANOS).putLong(24, value % NANOS);
          t.write(data, spec.array());
          t.call("timerfd_settime for fd " + f.fd(), Sys.SYS_TIMERFD_SETTIME, fd, 0, data, 0);
        }
        if (ticks != 0) {
          t.write(data, Tracee.le(8).putLong(0, ticks).array());
          t.call("ioctl(TFD_IOC_SET_TICKS, " + ticks + ") for fd " + f.fd(), Sys.SYS_IOCTL, fd, Sys.TFD_IOC_SET_TICKS, data);
        }
      }
      default -> throw new IllegalArgumentException(f.kind() + " is not made here");
    }
    place(t, f, fd);
  }

  /**
   * Makes the epoll of {@code f} and adds its watched descriptors, which are all in place by now;
   * {@code data}: 64 bytes of scratch.
   */
  static void restoreEpoll(Tracee t, FdRecord f, long data) throws ProcessException {
    long fd = t.call("epoll_create1 for fd " + f.fd(), Sys.SYS_EPOLL_CREATE1, f.flags() & Sys.O_CLOEXEC);
    place(t, f, fd);
    for (Watch w : watches(f)) {
      // struct epoll_event is packed on x86-64: 4 bytes of events, then 8 of data.
      t.write(data, Tracee.le(12).putInt(0, (int) w.events()).putLong(4, w.data()).array());
      t.call("epoll_ctl(" + f.fd() + ", EPOLL_CTL_ADD, " + w.fd() + ")", Sys.SYS_EPOLL_CTL, f.fd(), Sys.EPOLL_CTL_ADD,
          w.fd(), data);
    }
  }

  /** Moves a new descriptor to the record's number and gives it the record's status flags. */
  private static void place(Tracee t, FdRecord f, long fd) throws ProcessException {
    if (fd != f.fd()) {
      t.call("dup3(" + fd + ", " + f.fd() + ")", Sys.SYS_DUP3, fd, f.fd(), f.flags() & Sys.O_CLOEXEC);
      t.call("close(" + fd + ")", Sys.SYS_CLOSE, fd);
    }
    int status = f.flags() & ~(Sys.O_ACCMODE | Sys.O_CLOEXEC);
    if (status != (f.kind() == FdKind.EPOLL ? 0 : f.flags() & Sys.O_NONBLOCK)) {
      t.call("fcntl(" + f.fd() + ", F_SETFL)", Sys.SYS_FCNTL, f.fd(), Sys.F_SETFL, status);
    }
  }

  /** The value of {@code name=} in a timerfd record's path. */
  static String field(String path, String name) {
    for (String w : path.split(" ")) {
      if (w.startsWith(name + "=")) {
        return w.substring(name.length() + 1);
      }
    }
    throw new IllegalArgumentException("no " + name + "= in '" + path + "'");
  }
}
