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
import dev.ckpt.linux.internal.jna.Errno;
import dev.ckpt.linux.internal.jna.LibC;
import dev.ckpt.linux.internal.jna.Sys;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Connected AF_UNIX sockets without a name (socketpair) whose ends are both held in the
 * checkpoint, or whose other end nobody holds any more. At dump the kernel's socket table
 * (sock_diag) gives each socket its peer, name and shutdown state; the bytes or messages queued
 * to each end are copied without consuming them (MSG_PEEK from a duplicate taken with
 * pidfd_getfd, walking the queue with SO_PEEK_OFF, which is put back). Restore makes the pair
 * once, in the first process that holds an end, sends each end's queue again from the other end
 * (message by message for datagram and seqpacket sockets), applies the shutdowns, closes an end
 * nobody held, and parks the rest for the later processes of a tree, like pipes.
 *
 * <p>Refused: a socket of another family, a named or listening one, one connected to a socket
 * held outside the checkpoint, descriptors or credentials in flight, and SO_PASSCRED or
 * SO_PASSSEC. On fds 0-2 such a socket is the caller's stream instead, re-wired at restore; a
 * socketpair on stdio between processes of the checkpoint stays one.
 */
final class UnixSockets {
  static final String PART_PREFIX = "socket/";
  private static final int PEEK_MAX = 1 << 20;
  private static final long DATA_AT = 256 * 1024;
  private static final int DATA_MAX = 512 * 1024;

  private UnixSockets() {}

  /** One AF_UNIX socket as sock_diag lists it. */
  record Diag(long ino, int type, int state, long peer, boolean named, int shutdown) {}

  /** A socket end of an image: its own and its peer's inode, type, shutdown bits and options. */
  record End(long ino, long peer, int type, int shutdown, int sndbuf, int rcvbuf, int rcvlowat, int peekOff,
      long rcvtimeo, long sndtimeo) {
    String path() {
      return "socket:[" + ino + "] peer=" + peer + " type=" + type + " shutdown=" + shutdown + " sndbuf=" + sndbuf
          + " rcvbuf=" + rcvbuf + " rcvlowat=" + rcvlowat + " peekoff=" + peekOff + " rcvtimeo=" + rcvtimeo
          + " sndtimeo=" + sndtimeo;
    }

    static End of(String path) {
      Map<String, String> v = new HashMap<>();
      String[] w = path.split(" ");
      for (int i = 1; i < w.length; i++) {
        int eq = w[i].indexOf('=');
        v.put(w[i].substring(0, eq), w[i].substring(eq + 1));
      }
      return new End(Long.parseLong(w[0].substring(8, w[0].length() - 1)), Long.parseLong(v.get("peer")),
          Integer.parseInt(v.get("type")), Integer.parseInt(v.get("shutdown")), Integer.parseInt(v.get("sndbuf")),
          Integer.parseInt(v.get("rcvbuf")), Integer.parseInt(v.get("rcvlowat")), Integer.parseInt(v.get("peekoff")),
          Long.parseLong(v.get("rcvtimeo")), Long.parseLong(v.get("sndtimeo")));
    }

    boolean messages() {
      return type != Sys.SOCK_STREAM;
    }
  }

  /** The checks of {@link #dump} alone, copying nothing: for the census before the freeze. */
  static List<FdRecord> check(int pid, List<FdRecord> fds, FdPolicy policy, PipeState.Outside tree) throws CheckpointException {
    return dump(pid, fds, policy, null, tree);
  }

  /**
   * Resolves the provisional socket records ({@code socket:[ino]}, kind UNIX): refuses (or with
   * {@link FdPolicy#CLOSE} leaves out) what is not a socketpair within the checkpoint, and with a
   * writer stores each end's queue. Returns the final fd list.
   */
  static List<FdRecord> dump(int pid, List<FdRecord> fds, FdPolicy policy, ImageWriter w, PipeState.Outside tree)
      throws CheckpointException {
    if (fds.stream().noneMatch(f -> f.kind() == FdKind.UNIX)) {
      return fds;
    }
    Map<Long, Diag> table = diag(pid);
    Set<String> ids = new java.util.HashSet<>();
    for (FdRecord f : fds) {
      Diag d = f.kind() == FdKind.UNIX ? table.get(inode(f.path())) : null;
      if (d != null && d.peer() != 0 && table.containsKey(d.peer())) {
        ids.add("socket:[" + d.peer() + "]");
      }
    }
    Map<String, List<PipeState.Holder>> outside = ids.isEmpty() ? Map.of() : tree.holders(ids);
    Set<String> inside = ids.isEmpty() ? Set.of() : heldIn(tree.inside(), ids);
    List<FdRecord> out = new ArrayList<>();
    Map<Long, Integer> stored = new HashMap<>();
    for (FdRecord f : fds) {
      if (f.kind() != FdKind.UNIX) {
        out.add(f);
        continue;
      }
      long ino = inode(f.path());
      Diag d = table.get(ino);
      String refusal = refusal(f, d, table, outside, inside);
      if (refusal != null && f.fd() <= 2) {
        // Stdio on a socket that leads out of the checkpoint (a service manager's log stream, a
        // network connection) is the caller's stream: re-wired at restore, as a terminal is.
        out.add(new FdRecord(f.fd(), FdKind.STDIO, f.path(), f.flags(), 0, 0));
        continue;
      }
      if (refusal != null) {
        if (policy == FdPolicy.CLOSE) {
          continue;
        }
        throw new ProcessException(pid, refusal);
      }
      End end;
      byte[] queue;
      try (Peer p = new Peer(pid, f.fd())) {
        end = p.end(d);
        queue = w == null || stored.containsKey(ino) ? null : p.queue(d, f.fd());
      }
      int length = stored.getOrDefault(ino, 0);
      if (queue != null && queue.length > 0) {
        try (PartOutput o = w.part(PART_PREFIX + ino, Map.of("kind", "socket-queue"))) {
          o.write(ByteBuffer.wrap(queue));
        }
        length = queue.length;
      }
      stored.put(ino, length);
      out.add(new FdRecord(f.fd(), FdKind.UNIX, end.path(), f.flags(), length, 0));
    }
    return out;
  }

  private static String refusal(FdRecord f, Diag d, Map<Long, Diag> table, Map<String, List<PipeState.Holder>> outside,
      Set<String> inside) {
    String what = "fd " + f.fd() + " is a socket (" + f.path() + ")";
    if (d == null) {
      return what + " that is not an AF_UNIX socket, which ckpt cannot checkpoint; close it in the program, or leave"
          + " such descriptors out (FdPolicy.CLOSE, or --close-fds on the command line)";
    }
    // A connected socket whose peer was closed shows no peer (the kernel's peer has no inode
    // left); for a stream or seqpacket one, both directions are then shut down. A client whose
    // connection its listener has not accepted yet shows no peer either, without those.
    boolean peerClosed = d.peer() == 0 && d.state() == Sys.TCP_ESTABLISHED
        && (d.type() == Sys.SOCK_DGRAM || d.shutdown() == 3);
    if (d.peer() == 0 && d.state() == Sys.TCP_ESTABLISHED && !peerClosed) {
      return what + " connected to a listening socket that has not accepted the connection yet, which ckpt does not"
          + " restore";
    }
    if (d.named() || d.state() == Sys.TCP_LISTEN || (d.peer() == 0 && !peerClosed)) {
      return what + " that is " + (d.state() == Sys.TCP_LISTEN ? "listening" : d.named() ? "bound to a name" : "not connected")
          + "; ckpt restores only AF_UNIX socketpairs without a name, close it in the program, or leave such descriptors"
          + " out (FdPolicy.CLOSE, or --close-fds on the command line)";
    }
    Diag peer = d.peer() == 0 ? null : table.get(d.peer());
    if (peer != null && peer.named()) {
      return what + " connected to a named socket, which ckpt does not restore";
    }
    List<PipeState.Holder> holders = outside.getOrDefault("socket:[" + d.peer() + "]", List.of());
    if (!holders.isEmpty()) {
      return what + " connected to socket:[" + d.peer() + "], held outside the checkpoint by "
          + Census.abbreviate(holders.stream().map(PipeState.Holder::toString).toList())
          + "; a restored process could not be connected to it again";
    }
    if (d.peer() != 0 && !inside.contains("socket:[" + d.peer() + "]")) {
      // In flight in a message, or held by a process whose descriptors ckpt may not read.
      return what + " connected to socket:[" + d.peer() + "], which no process of the checkpoint holds and ckpt cannot"
          + " see held elsewhere; a restore would have to close it";
    }
    return null;
  }

  /** Which of {@code ids} ({@code socket:[ino]}) a process of {@code tree} holds. */
  private static Set<String> heldIn(Set<Integer> tree, Set<String> ids) {
    Set<String> out = new java.util.HashSet<>();
    for (int member : tree) {
      try (java.nio.file.DirectoryStream<java.nio.file.Path> fds = java.nio.file.Files.newDirectoryStream(
          dev.ckpt.linux.internal.proc.ProcFs.dir(member).resolve("fd"))) {
        for (java.nio.file.Path fd : fds) {
          try {
            String target = java.nio.file.Files.readSymbolicLink(fd).toString();
            if (ids.contains(target)) {
              out.add(target);
            }
          } catch (java.io.IOException e) {
            // Closed meanwhile.
          }
        }
      } catch (java.io.IOException e) {
        // A member that has just ended holds nothing.
      }
    }
    return out;
  }

  static long inode(String path) {
    int end = path.indexOf(']');
    return Long.parseLong(path.substring(8, end));
  }

  /**
   * The AF_UNIX sockets of the checkpointer's network namespace (the census made sure it is the
   * process's), from NETLINK_SOCK_DIAG.
   */
  static Map<Long, Diag> diag(int pid) throws ProcessException {
    Map<Long, Diag> out = new LinkedHashMap<>();
    int fd = -1;
    try (Memory req = new Memory(40); Memory addr = new Memory(12); Memory buf = new Memory(65536)) {
      fd = (int) LibC.syscall(Sys.SYS_SOCKET, Sys.AF_NETLINK, Sys.SOCK_RAW | Sys.O_CLOEXEC, Sys.NETLINK_SOCK_DIAG, 0, 0, 0);
      req.clear();
      req.setInt(0, 40);
      req.setShort(4, (short) Sys.SOCK_DIAG_BY_FAMILY);
      req.setShort(6, (short) (Sys.NLM_F_REQUEST | Sys.NLM_F_DUMP));
      req.setByte(16, (byte) Sys.AF_UNIX);
      req.setInt(20, -1); // every state
      req.setInt(28, Sys.UDIAG_SHOW_NAME | Sys.UDIAG_SHOW_PEER);
      addr.clear();
      addr.setShort(0, (short) Sys.AF_NETLINK);
      LibC.syscall(Sys.SYS_SENDTO, fd, Pointer.nativeValue(req), 40, 0, Pointer.nativeValue(addr), 12);
      while (true) {
        long n = LibC.syscall(Sys.SYS_RECVFROM, fd, Pointer.nativeValue(buf), 65536, 0, 0, 0);
        ByteBuffer b = buf.getByteBuffer(0, n).order(ByteOrder.LITTLE_ENDIAN);
        for (int at = 0; at + 16 <= n; ) {
          int len = b.getInt(at);
          int type = b.getShort(at + 4);
          if (type == Sys.NLMSG_DONE) {
            return out;
          }
          if (type == Sys.NLMSG_ERROR) {
            throw new ProcessException(pid, "sock_diag of AF_UNIX sockets failed: " + Errno.name(-b.getInt(at + 16)));
          }
          parse(b, at + 16, at + len, out);
          at += (len + 3) & ~3;
        }
      }
    } catch (LastErrorException e) {
      throw Sys.error("listing AF_UNIX sockets (sock_diag)", pid, e);
    } finally {
      if (fd >= 0) {
        LibC.close(fd);
      }
    }
  }

  private static void parse(ByteBuffer b, int at, int end, Map<Long, Diag> out) {
    int type = b.get(at + 1);
    int state = b.get(at + 2);
    long ino = b.getInt(at + 4) & 0xffffffffL;
    long peer = 0;
    boolean named = false;
    int shutdown = 0;
    for (int a = at + 16; a + 4 <= end; ) {
      int len = b.getShort(a) & 0xffff;
      int kind = b.getShort(a + 2);
      if (len < 4) {
        break;
      }
      if (kind == Sys.UNIX_DIAG_NAME) {
        named = true;
      } else if (kind == Sys.UNIX_DIAG_PEER) {
        peer = b.getInt(a + 4) & 0xffffffffL;
      } else if (kind == Sys.UNIX_DIAG_SHUTDOWN) {
        shutdown = b.get(a + 4);
      }
      a += (len + 3) & ~3;
    }
    out.put(ino, new Diag(ino, type, state, peer, named, shutdown));
  }

  /** Our duplicate of a process's socket, taken with pidfd_getfd. */
  private static final class Peer implements AutoCloseable {
    final int pid;
    int pidfd = -1;
    int fd = -1;

    Peer(int pid, int srcFd) throws ProcessException {
      this.pid = pid;
      try {
        pidfd = (int) LibC.syscall(Sys.SYS_PIDFD_OPEN, pid, 0, 0, 0, 0, 0);
        fd = (int) LibC.syscall(Sys.SYS_PIDFD_GETFD, pidfd, srcFd, 0, 0, 0, 0);
      } catch (LastErrorException e) {
        close();
        throw Sys.error("pidfd_getfd of socket fd " + srcFd, pid, e);
      }
    }

    int option(int name) throws ProcessException {
      try (Memory v = new Memory(4); Memory len = new Memory(4)) {
        v.setInt(0, 0);
        len.setInt(0, 4);
        LibC.syscall(Sys.SYS_GETSOCKOPT, fd, Sys.SOL_SOCKET, name, Pointer.nativeValue(v), Pointer.nativeValue(len), 0);
        return v.getInt(0);
      } catch (LastErrorException e) {
        if (e.getErrorCode() == Errno.ENOPROTOOPT && name == Sys.SO_PASSPIDFD) {
          return 0; // a kernel before SO_PASSPIDFD
        }
        throw Sys.error("getsockopt(" + name + ") of a socket", pid, e);
      }
    }

    /** Whether a byte sent with MSG_OOB waits (a peek at it consumes nothing). */
    boolean hasOutOfBandByte() throws ProcessException {
      try (Memory one = new Memory(1)) {
        LibC.syscall(Sys.SYS_RECVFROM, fd, Pointer.nativeValue(one), 1, Sys.MSG_OOB | Sys.MSG_PEEK | Sys.MSG_DONTWAIT, 0, 0);
        return true;
      } catch (LastErrorException e) {
        if (e.getErrorCode() == Errno.EAGAIN || e.getErrorCode() == Errno.EINVAL) {
          return false;
        }
        throw Sys.error("recv(MSG_OOB | MSG_PEEK) of a socket", pid, e);
      }
    }

    int queued() throws ProcessException {
      try (Memory v = new Memory(4)) {
        v.setInt(0, 0);
        LibC.syscall(Sys.SYS_IOCTL, fd, Sys.SIOCINQ, Pointer.nativeValue(v), 0, 0, 0);
        return v.getInt(0);
      } catch (LastErrorException e) {
        throw Sys.error("ioctl(SIOCINQ) of a socket", pid, e);
      }
    }

    long timeout(int name) throws ProcessException {
      try (Memory v = new Memory(16); Memory len = new Memory(4)) {
        v.clear();
        len.setInt(0, 16);
        LibC.syscall(Sys.SYS_GETSOCKOPT, fd, Sys.SOL_SOCKET, name, Pointer.nativeValue(v), Pointer.nativeValue(len), 0);
        return v.getLong(0) * 1_000_000L + v.getLong(8);
      } catch (LastErrorException e) {
        throw Sys.error("getsockopt(" + name + ") of a socket", pid, e);
      }
    }

    void setOption(int name, int value) throws ProcessException {
      try (Memory v = new Memory(4)) {
        v.setInt(0, value);
        LibC.syscall(Sys.SYS_SETSOCKOPT, fd, Sys.SOL_SOCKET, name, Pointer.nativeValue(v), 4, 0);
      } catch (LastErrorException e) {
        throw Sys.error("setsockopt(" + name + ") of a socket", pid, e);
      }
    }

    End end(Diag d) throws ProcessException {
      if (option(Sys.SO_PASSCRED) != 0 || option(Sys.SO_PASSSEC) != 0 || option(Sys.SO_PASSPIDFD) != 0) {
        throw new ProcessException(pid, "socket:[" + d.ino() + "] has SO_PASSCRED, SO_PASSSEC or SO_PASSPIDFD set: the"
            + " credentials its messages carry could not be sent again as they were");
      }
      return new End(d.ino(), d.peer(), d.type(), d.shutdown(), option(Sys.SO_SNDBUF), option(Sys.SO_RCVBUF), option(Sys.SO_RCVLOWAT),
          option(Sys.SO_PEEK_OFF), timeout(Sys.SO_RCVTIMEO), timeout(Sys.SO_SNDTIMEO));
    }

    /**
     * The socket's queue without consuming it: bytes for a stream socket, each message as
     * {u32 length, bytes} otherwise. The socket's SO_PEEK_OFF is used to walk the queue and
     * put back after.
     */
    byte[] queue(Diag d, int srcFd) throws ProcessException {
      boolean messages = d.type() != Sys.SOCK_STREAM;
      int before = option(Sys.SO_PEEK_OFF);
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      setOption(Sys.SO_PEEK_OFF, 0);
      try (Memory data = new Memory(PEEK_MAX); Memory control = new Memory(256); Memory iov = new Memory(16);
          Memory msg = new Memory(56)) {
        while (true) {
          iov.setLong(0, Pointer.nativeValue(data));
          iov.setLong(8, PEEK_MAX);
          msg.clear();
          msg.setLong(16, Pointer.nativeValue(iov));
          msg.setLong(24, 1);
          msg.setLong(32, Pointer.nativeValue(control));
          msg.setLong(40, 256);
          long n;
          try {
            n = LibC.syscall(Sys.SYS_RECVMSG, fd, Pointer.nativeValue(msg), Sys.MSG_PEEK | Sys.MSG_DONTWAIT | (messages ? Sys.MSG_TRUNC : 0),
                0, 0, 0);
          } catch (LastErrorException e) {
            if (e.getErrorCode() == Errno.EAGAIN) {
              break;
            }
            throw Sys.error("peeking at the queue of socket fd " + srcFd, pid, e);
          }
          int flags = msg.getInt(48);
          if (msg.getLong(40) > 0 || (flags & Sys.MSG_CTRUNC) != 0) {
            closeReceivedFds(control, msg.getLong(40));
            throw new ProcessException(pid, "fd " + srcFd + " (socket:[" + d.ino() + "]) has file descriptors or"
                + " credentials in flight in its queue, which ckpt does not restore");
          }
          if (n == 0 && messages && (d.shutdown() & 1) == 0) {
            // SO_PEEK_OFF cannot step over an empty message: it would be peeked again and again.
            throw new ProcessException(pid, "fd " + srcFd + " (socket:[" + d.ino() + "]) has an empty message queued,"
                + " which ckpt cannot copy without consuming it");
          }
          if (n == 0) {
            break; // end of file: the peer is gone and the queue is empty
          }
          if (messages && n > DATA_MAX) {
            throw new ProcessException(pid, "fd " + srcFd + " (socket:[" + d.ino() + "]) has a queued message of " + n
                + " bytes, more than ckpt copies (" + DATA_MAX + ")");
          }
          if (messages) {
            out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) n).array());
          }
          out.writeBytes(data.getByteArray(0, (int) n));
        }
      } finally {
        setOption(Sys.SO_PEEK_OFF, before);
      }
      // A byte sent with MSG_OOB shows in a peek of the stream, but a plain read skips it: sent
      // again inline it would be read. Such a socket is refused; and what was copied must be the
      // whole queue.
      if (!messages && hasOutOfBandByte()) {
        throw new ProcessException(pid, "fd " + srcFd + " (socket:[" + d.ino() + "]) has out-of-band data (MSG_OOB)"
            + " queued, which ckpt does not restore");
      }
      int queued = messages ? out.size() : queued();
      if (out.size() != queued) {
        throw new ProcessException(pid, "fd " + srcFd + " (socket:[" + d.ino() + "]) has " + queued + " bytes queued but"
            + " only " + out.size() + " could be copied, which ckpt does not restore");
      }
      return out.toByteArray();
    }

    private static void closeReceivedFds(Memory control, long length) {
      for (long at = 0; at + 16 <= length; ) {
        long len = control.getLong(at);
        if (len < 16) {
          break;
        }
        int type = control.getInt(at + 12);
        if (control.getInt(at + 8) == Sys.SOL_SOCKET && (type == Sys.SCM_RIGHTS || type == Sys.SCM_PIDFD)) {
          for (long f = at + 16; f + 4 <= at + len; f += 4) {
            try {
              LibC.close(control.getInt(f));
            } catch (LastErrorException ignored) {
              // Ours to close; nothing else to do.
            }
          }
        }
        at += (len + 7) & ~7;
      }
    }

    @Override
    public void close() {
      for (int x : new int[] {fd, pidfd}) {
        if (x >= 0) {
          try {
            LibC.close(x);
          } catch (LastErrorException ignored) {
            // Our own descriptor; nothing to do about a failed close.
          }
        }
      }
      fd = -1;
      pidfd = -1;
    }
  }

  /** What a tree's processes share while it is rebuilt: every socket end of the tree, and the pairs made so far. */
  static final class Shared {
    /** inode -> the record of a holder and its parts. */
    final Map<Long, PipeState.Shared.Data> ends = new LinkedHashMap<>();
    /** inode -> {creator's pid as the tree sees it, parked fd of that end} */
    final Map<Long, int[]> made = new HashMap<>();
    final Map<Integer, List<Integer>> parked = new LinkedHashMap<>();

    void note(ProcessImage img, ImageReader reader) {
      for (FdRecord f : img.fds()) {
        if (f.kind() == FdKind.UNIX) {
          long ino = inode(f.path());
          PipeState.Shared.Data had = ends.get(ino);
          if (had == null || (had.record().pos() == 0 && f.pos() > 0)) {
            ends.put(ino, new PipeState.Shared.Data(f, reader));
          }
        }
      }
    }

    void closeParked() throws ProcessException {
      PipeState.Shared.closeIn(parked);
    }
  }

  /**
   * In the process being restored: puts every socket end of the image at its number, making
   * each pair the first time one of its ends is met in the tree.
   */
  static void restore(Tracee t, List<FdRecord> fds, long scratch, Shared shared, int floor) throws CheckpointException {
    for (FdRecord f : fds) {
      if (f.kind() != FdKind.UNIX) {
        continue;
      }
      End end = End.of(f.path());
      int[] at = shared.made.get(end.ino());
      if (at == null) {
        makePair(t, end, scratch, shared, floor);
        at = shared.made.get(end.ino());
      }
      int fd = at[0] == t.self ? at[1] : PipeState.importFd(t, at[0], at[1], floor, scratch);
      t.call("dup3(" + fd + ", " + f.fd() + ")", Sys.SYS_DUP3, fd, f.fd(), f.flags() & Sys.O_CLOEXEC);
      int status = f.flags() & ~(Sys.O_ACCMODE | Sys.O_CLOEXEC);
      t.call("fcntl(F_SETFL) of " + f.fd(), Sys.SYS_FCNTL, f.fd(), Sys.F_SETFL, status);
      if (at[0] != t.self) {
        t.call("close(" + fd + ")", Sys.SYS_CLOSE, fd);
      }
    }
  }

  private static void makePair(Tracee t, End end, long scratch, Shared shared, int floor) throws CheckpointException {
    t.call("socketpair for socket:[" + end.ino() + "]", Sys.SYS_SOCKETPAIR, Sys.AF_UNIX, end.type() | Sys.O_CLOEXEC, 0, scratch);
    ByteBuffer pair = ByteBuffer.wrap(t.read(scratch, 8)).order(ByteOrder.LITTLE_ENDIAN);
    int a = PipeState.above(t, pair.getInt(0), floor);
    int b = PipeState.above(t, pair.getInt(4), floor);
    PipeState.Shared.Data mine = shared.ends.get(end.ino());
    PipeState.Shared.Data theirs = shared.ends.get(end.peer());
    End other = theirs == null ? null : End.of(theirs.record().path());
    // Each end's queue is sent again from the other end, which is charged for it until it is read:
    // that end gets room for it first, and its own options after.
    fill(t, b, end, mine, scratch);
    if (other != null) {
      fill(t, a, other, theirs, scratch);
    }
    options(t, a, end, scratch);
    if (other != null) {
      options(t, b, other, scratch);
    }
    shutdown(t, a, end.shutdown());
    if (other != null) {
      shutdown(t, b, other.shutdown());
    }
    shared.made.put(end.ino(), new int[] {t.self, a});
    shared.parked.computeIfAbsent(t.pid, k -> new ArrayList<>()).add(a);
    if (other != null) {
      shared.made.put(end.peer(), new int[] {t.self, b});
      shared.parked.get(t.pid).add(b);
    } else {
      t.call("close(" + b + ") (the end nobody held)", Sys.SYS_CLOSE, b);
    }
  }

  private static void options(Tracee t, int fd, End e, long scratch) throws ProcessException {
    // The kernel doubles SO_SNDBUF and SO_RCVBUF as set; the values read back are the doubled ones.
    int[][] ints = {{Sys.SO_SNDBUF, e.sndbuf() / 2}, {Sys.SO_RCVBUF, e.rcvbuf() / 2}, {Sys.SO_RCVLOWAT, e.rcvlowat()},
        {Sys.SO_PEEK_OFF, e.peekOff()}};
    for (int[] o : ints) {
      t.write(scratch, Tracee.le(4).putInt(0, o[1]).array());
      t.call("setsockopt(" + o[0] + ") of socket:[" + e.ino() + "]", Sys.SYS_SETSOCKOPT, fd, Sys.SOL_SOCKET, o[0], scratch, 4);
    }
    long[][] times = {{Sys.SO_RCVTIMEO, e.rcvtimeo()}, {Sys.SO_SNDTIMEO, e.sndtimeo()}};
    for (long[] o : times) {
      if (o[1] != 0) {
        t.write(scratch, Tracee.le(16).putLong(0, o[1] / 1_000_000L).putLong(8, o[1] % 1_000_000L).array());
        t.call("setsockopt(" + o[0] + ") of socket:[" + e.ino() + "]", Sys.SYS_SETSOCKOPT, fd, Sys.SOL_SOCKET, (int) o[0],
            scratch, 16);
      }
    }
  }

  /**
   * Raises the send buffer of {@code from} so that {@code to}'s stored queue fits in it at once.
   * The kernel charges each queued message's whole buffer (about 770 bytes for a 10-byte datagram,
   * twice the payload for a few KiB) to its sender until it is read; a buffer sized to the payload
   * alone took 6 of 12 queued datagrams and then said EAGAIN. Never lowered here: a new socket
   * starts with the system's default.
   */
  private static void roomFor(Tracee t, int from, End to, byte[] q, long scratch) throws ProcessException {
    long need;
    if (to.messages()) {
      ByteBuffer b = ByteBuffer.wrap(q).order(ByteOrder.LITTLE_ENDIAN);
      need = 0;
      while (b.remaining() >= 4) {
        int n = b.getInt();
        need += 2L * n + 1024;
        b.position(b.position() + Math.min(n, b.remaining()));
      }
    } else {
      need = 2L * q.length + 64 * 1024;
    }
    t.write(scratch, Tracee.le(8).putInt(0, 0).putInt(4, 4).array());
    t.call("getsockopt(SO_SNDBUF) of the end sending to socket:[" + to.ino() + "]", Sys.SYS_GETSOCKOPT, from,
        Sys.SOL_SOCKET, Sys.SO_SNDBUF, scratch, scratch + 4);
    int now = ByteBuffer.wrap(t.read(scratch, 4)).order(ByteOrder.LITTLE_ENDIAN).getInt(0);
    if (need > now) {
      // Doubled by the kernel as set, and capped at net.core.wmem_max for an unprivileged process.
      t.write(scratch, Tracee.le(4).putInt(0, (int) Math.min(Integer.MAX_VALUE / 2, (need + 1) / 2)).array());
      t.call("setsockopt(SO_SNDBUF) of the end sending to socket:[" + to.ino() + "]", Sys.SYS_SETSOCKOPT, from,
          Sys.SOL_SOCKET, Sys.SO_SNDBUF, scratch, 4);
    }
  }

  /** Sends {@code to}'s stored queue through {@code from}, the other end of the new pair. */
  private static void fill(Tracee t, int from, End to, PipeState.Shared.Data held, long scratch) throws CheckpointException {
    if (held == null || held.record().pos() == 0) {
      return;
    }
    byte[] q = held.reader().readBytes(PART_PREFIX + to.ino());
    if (q.length != held.record().pos()) {
      throw new ProcessException(t.pid, "socket:[" + to.ino() + "]: the image holds " + q.length + " bytes of its queue, not "
          + held.record().pos());
    }
    roomFor(t, from, to, q, scratch);
    ByteBuffer b = ByteBuffer.wrap(q).order(ByteOrder.LITTLE_ENDIAN);
    while (b.hasRemaining()) {
      int n = to.messages() ? b.getInt() : Math.min(DATA_MAX, b.remaining());
      byte[] chunk = new byte[n];
      b.get(chunk);
      t.write(scratch + DATA_AT, chunk);
      long sent = t.call("sendto(" + n + " bytes queued for socket:[" + to.ino() + "])", Sys.SYS_SENDTO, from,
          scratch + DATA_AT, n, Sys.MSG_DONTWAIT, 0, 0);
      if (sent != n) {
        throw new ProcessException(t.pid, "socket:[" + to.ino() + "]: the new pair took " + sent + " of " + n
            + " queued bytes at once");
      }
    }
  }

  /**
   * Applies an end's shutdown bits (a stream or seqpacket end whose peer is gone shows both; the
   * closing of the other end that follows sets them as well).
   */
  private static void shutdown(Tracee t, int fd, int how) throws ProcessException {
    if (how == 0) {
      return;
    }
    int mode = (how & 1) != 0 && (how & 2) != 0 ? 2 : (how & 2) != 0 ? 1 : 0; // SHUT_RDWR, SHUT_WR, SHUT_RD
    t.call("shutdown(" + fd + ", " + mode + ")", Sys.SYS_SHUTDOWN, fd, mode);
  }

}
