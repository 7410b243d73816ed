package dev.ckpt.linux.internal;

import dev.ckpt.CorruptImageException;
import dev.ckpt.UnsupportedFormatException;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Everything about a process except its memory contents: the {@code process} part of a native
 * image (docs/FORMAT.md, "Process images"). Memory lives in {@code mem/<start>-<end>} parts.
 */
record ProcessImage(
    int uid,
    String exe,
    String cwd,
    int umask,
    long[] mm,
    byte[] auxv,
    List<VmaRecord> vmas,
    List<ThreadRecord> threads,
    List<FdRecord> fds,
    byte[][] sigactions,
    List<byte[]> pendingPrivate,
    List<byte[]> pendingShared,
    byte[][] itimers,
    List<FileIdentity> files,
    Map<String, long[]> attributes) {

  /**
   * Version 4 adds the descriptor kinds EVENTFD, TIMERFD, SIGNALFD, EPOLL and UNIX. Version 3 adds every thread beside the main one and the per-thread state of all (clear_child_tid,
   * robust list, sigaltstack, name, private pending signals); version 2 added the process
   * attributes, pipe and FIFO descriptors. Versions 1 to 3 are still read.
   */
  static final int VERSION = 4;
  static final String PART = "process";

  // mm[] indexes: the prctl_mm_map fields in order.
  static final int START_CODE = 0, END_CODE = 1, START_DATA = 2, END_DATA = 3, START_BRK = 4, BRK = 5,
      START_STACK = 6, ARG_START = 7, ARG_END = 8, ENV_START = 9, ENV_END = 10;

  /**
   * Kinds of VMA, by how restore recreates them. OWNED_FILE (version 3) is a shared mapping of a
   * file that belongs to the process alone, named after its pid (the JVM's
   * /tmp/hsperfdata_USER/PID): its contents are in the image and restore writes the file again.
   */
  enum VmaKind { ANON, FILE_PRIVATE, FILE_SHARED, SHARED_ANON, HEAP, STACK, VDSO, VVAR, VVAR_VCLOCK, OWNED_FILE }

  /**
   * A mapping; {@code dumped} lists [startPage, pageCount] pairs whose contents are in the image.
   * {@code prot} holds PROT_* in its low 3 bits and, from version 2, {@link VmaFlags} above them.
   */
  record VmaRecord(long start, long end, int prot, VmaKind kind, long offset, String path, long[] dumped) {
    long length() {
      return end - start;
    }

    /** PROT_READ | PROT_WRITE | PROT_EXEC. */
    int protection() {
      return prot & 7;
    }

    VmaRecord withFlags(int flags) {
      return new VmaRecord(start, end, protection() | flags, kind, offset, path, dumped);
    }

    String part() {
      return String.format("mem/%x-%x", start, end);
    }
  }

  ProcessImage {
    if (threads.isEmpty()) {
      throw new IllegalArgumentException("a process has at least one thread");
    }
  }

  /** The main thread (its tid is the pid); the image's other threads follow it in {@link #threads}. */
  ThreadRecord thread() {
    return threads.get(0);
  }

  /**
   * One thread. {@code tid} is the id the process itself sees (the last of /proc's NSpid).
   * {@code altstack} is the thread's stack_t, empty for the main thread, whose sigaltstack is a
   * process attribute; {@code pending} are its private pending signals, empty for the main thread,
   * whose private signals are the image's {@code pendingPrivate}.
   */
  record ThreadRecord(int tid, byte[] regs, byte[] xstate, long sigmask, long rseqPtr, int rseqLen, int rseqSig,
      long clearTid, long robustHead, long robustLen, byte[] altstack, String name, List<byte[]> pending) {
    /** A thread as images before version 3 describe it: only its registers, mask and rseq. */
    ThreadRecord(int tid, byte[] regs, byte[] xstate, long sigmask, long rseqPtr, int rseqLen, int rseqSig) {
      this(tid, regs, xstate, sigmask, rseqPtr, rseqLen, rseqSig, 0, 0, 0, new byte[0], "", List.of());
    }
  }

  /**
   * PIPE and FIFO are new in version 2: pos is the pipe's capacity, size its unread bytes in the
   * image. SHARED (version 3, processes of a tree) is the open file description of another
   * process of the tree: pos is that process's pid, size its fd. EVENTFD, TIMERFD, SIGNALFD and
   * EPOLL are new in version 4; {@link EventFiles} says what their fields hold. UNIX (version 4) is
   * one end of an AF_UNIX socketpair: {@link UnixSockets.End} is its path, pos the length of its
   * stored queue.
   */
  enum FdKind { FILE, DIRECTORY, DEVNULL, STDIO, PIPE, FIFO, SHARED, EVENTFD, TIMERFD, SIGNALFD, EPOLL, UNIX }

  record FdRecord(int fd, FdKind kind, String path, int flags, long pos, long size) {}

  record FileIdentity(String path, long size, long mtimeNanos, String sha256) {}

  byte[] encode() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (DataOutputStream o = new DataOutputStream(bytes)) {
      o.writeShort(VERSION);
      o.writeInt(uid);
      str(o, exe);
      str(o, cwd);
      o.writeInt(umask);
      o.writeInt(mm.length);
      for (long x : mm) {
        o.writeLong(x);
      }
      blob(o, auxv);
      o.writeInt(vmas.size());
      for (VmaRecord v : vmas) {
        o.writeLong(v.start());
        o.writeLong(v.end());
        o.writeInt(v.prot());
        o.writeByte(v.kind().ordinal());
        o.writeLong(v.offset());
        str(o, v.path());
        o.writeInt(v.dumped().length);
        for (long x : v.dumped()) {
          o.writeLong(x);
        }
      }
      cpu(o, thread());
      o.writeInt(fds.size());
      for (FdRecord f : fds) {
        o.writeInt(f.fd());
        o.writeByte(f.kind().ordinal());
        str(o, f.path());
        o.writeInt(f.flags());
        o.writeLong(f.pos());
        o.writeLong(f.size());
      }
      o.writeInt(sigactions.length);
      for (byte[] a : sigactions) {
        blob(o, a);
      }
      list(o, pendingPrivate);
      list(o, pendingShared);
      o.writeInt(itimers.length);
      for (byte[] t : itimers) {
        blob(o, t);
      }
      o.writeInt(files.size());
      for (FileIdentity f : files) {
        str(o, f.path());
        o.writeLong(f.size());
        o.writeLong(f.mtimeNanos());
        str(o, f.sha256());
      }
      o.writeInt(attributes.size());
      for (Map.Entry<String, long[]> e : attributes.entrySet()) {
        str(o, e.getKey());
        o.writeInt(e.getValue().length);
        for (long x : e.getValue()) {
          o.writeLong(x);
        }
      }
      o.writeInt(threads.size());
      for (int i = 0; i < threads.size(); i++) {
        ThreadRecord t = threads.get(i);
        if (i > 0) {
          cpu(o, t);
        }
        o.writeLong(t.clearTid());
        o.writeLong(t.robustHead());
        o.writeLong(t.robustLen());
        blob(o, t.altstack());
        str(o, t.name());
        list(o, t.pending());
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }

  static ProcessImage decode(String ref, byte[] data) throws CorruptImageException, UnsupportedFormatException {
    ByteBuffer in = ByteBuffer.wrap(data);
    try {
      int version = in.getShort() & 0xffff;
      if (version < 1 || version > VERSION) {
        throw new UnsupportedFormatException("process record of " + ref + " has version " + version
            + "; this ckpt reads versions 1 to " + VERSION);
      }
      int uid = in.getInt();
      String exe = str(in);
      String cwd = str(in);
      int umask = in.getInt();
      long[] mm = new long[count(in)];
      for (int i = 0; i < mm.length; i++) {
        mm[i] = in.getLong();
      }
      byte[] auxv = blob(in);
      int nv = count(in);
      List<VmaRecord> vmas = new ArrayList<>(nv);
      for (int i = 0; i < nv; i++) {
        long start = in.getLong();
        long end = in.getLong();
        int prot = in.getInt();
        int kind = in.get();
        long offset = in.getLong();
        String path = str(in);
        long[] dumped = new long[count(in)];
        for (int k = 0; k < dumped.length; k++) {
          dumped[k] = in.getLong();
        }
        if (kind < 0 || kind >= VmaKind.values().length || end <= start) {
          throw new CorruptImageException("process record of " + ref + ": mapping " + i + " is invalid");
        }
        vmas.add(new VmaRecord(start, end, prot, VmaKind.values()[kind], offset, path, dumped));
      }
      ThreadRecord thread = cpu(in);
      int nf = count(in);
      List<FdRecord> fds = new ArrayList<>(nf);
      for (int i = 0; i < nf; i++) {
        int fd = in.getInt();
        int kind = in.get();
        if (kind < 0 || kind >= FdKind.values().length) {
          throw new CorruptImageException("process record of " + ref + ": fd entry " + i + " has kind " + kind);
        }
        fds.add(new FdRecord(fd, FdKind.values()[kind], str(in), in.getInt(), in.getLong(), in.getLong()));
      }
      byte[][] sigactions = new byte[count(in)][];
      for (int i = 0; i < sigactions.length; i++) {
        sigactions[i] = blob(in);
      }
      List<byte[]> pendingPrivate = list(in);
      List<byte[]> pendingShared = list(in);
      byte[][] itimers = new byte[count(in)][];
      for (int i = 0; i < itimers.length; i++) {
        itimers[i] = blob(in);
      }
      int nfi = count(in);
      List<FileIdentity> files = new ArrayList<>(nfi);
      for (int i = 0; i < nfi; i++) {
        files.add(new FileIdentity(str(in), in.getLong(), in.getLong(), str(in)));
      }
      Map<String, long[]> attributes = new LinkedHashMap<>();
      if (version >= 2) {
        int na = count(in);
        for (int i = 0; i < na; i++) {
          String key = str(in);
          long[] v = new long[count(in)];
          for (int k = 0; k < v.length; k++) {
            v[k] = in.getLong();
          }
          attributes.put(key, v);
        }
      }
      List<ThreadRecord> threads = new ArrayList<>();
      if (version >= 3) {
        int nt = count(in);
        if (nt < 1) {
          throw new CorruptImageException("process record of " + ref + " lists no thread");
        }
        for (int i = 0; i < nt; i++) {
          ThreadRecord cpu = i == 0 ? thread : cpu(in);
          threads.add(new ThreadRecord(cpu.tid(), cpu.regs(), cpu.xstate(), cpu.sigmask(), cpu.rseqPtr(), cpu.rseqLen(),
              cpu.rseqSig(), in.getLong(), in.getLong(), in.getLong(), blob(in), str(in), list(in)));
        }
      } else {
        threads.add(thread);
      }
      for (ThreadRecord t : threads) {
        if (t.regs().length != Regs.SIZE) {
          throw new CorruptImageException("process record of " + ref + ": registers of thread " + t.tid() + " are "
              + t.regs().length + " bytes");
        }
      }
      return new ProcessImage(uid, exe, cwd, umask, mm, auxv, vmas, threads, fds, sigactions, pendingPrivate,
          pendingShared, itimers, files, attributes);
    } catch (BufferUnderflowException | IllegalArgumentException e) {
      throw new CorruptImageException("process record of " + ref + " is malformed: " + e, e);
    }
  }

  /** A thread's registers, mask and rseq: the thread record of versions 1 and 2. */
  private static void cpu(DataOutputStream o, ThreadRecord t) throws IOException {
    o.writeInt(t.tid());
    blob(o, t.regs());
    blob(o, t.xstate());
    o.writeLong(t.sigmask());
    o.writeLong(t.rseqPtr());
    o.writeInt(t.rseqLen());
    o.writeInt(t.rseqSig());
  }

  private static ThreadRecord cpu(ByteBuffer in) {
    return new ThreadRecord(in.getInt(), blob(in), blob(in), in.getLong(), in.getLong(), in.getInt(), in.getInt());
  }

  private static int count(ByteBuffer in) {
    int n = in.getInt();
    if (n < 0 || n > in.remaining()) {
      throw new IllegalArgumentException("count " + n + " with " + in.remaining() + " bytes left");
    }
    return n;
  }

  private static void str(DataOutputStream o, String s) throws IOException {
    blob(o, s.getBytes(StandardCharsets.UTF_8));
  }

  private static String str(ByteBuffer in) {
    return new String(blob(in), StandardCharsets.UTF_8);
  }

  private static void blob(DataOutputStream o, byte[] b) throws IOException {
    o.writeInt(b.length);
    o.write(b);
  }

  private static byte[] blob(ByteBuffer in) {
    byte[] b = new byte[count(in)];
    in.get(b);
    return b;
  }

  private static void list(DataOutputStream o, List<byte[]> l) throws IOException {
    o.writeInt(l.size());
    for (byte[] b : l) {
      blob(o, b);
    }
  }

  private static List<byte[]> list(ByteBuffer in) {
    int n = count(in);
    List<byte[]> l = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      l.add(blob(in));
    }
    return l;
  }
}
