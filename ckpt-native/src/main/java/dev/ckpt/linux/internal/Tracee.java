package dev.ckpt.linux.internal;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import dev.ckpt.linux.ProcessException;
import dev.ckpt.linux.internal.jna.Errno;
import dev.ckpt.linux.internal.jna.LibC;
import dev.ckpt.linux.internal.jna.Sys;
import dev.ckpt.linux.internal.proc.ProcFs;
import dev.ckpt.linux.internal.proc.Vma;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A seized, stopped process and the operations on it: registers, its memory through
 * /proc/PID/mem, and system calls injected by single-stepping a {@code syscall} instruction with
 * chosen registers. Used only on the tracer thread.
 */
final class Tracee implements AutoCloseable {
  static final int O_RDWR = 2;

  /** The host id, for ptrace and /proc. */
  final int pid;
  /** The id the task has in its own pid namespace, for ids passed to calls injected into it. */
  final int self;
  private int memFd = -1;
  private long syscallSite;
  private Regs saved;
  private final Memory regBuf = new Memory(Regs.SIZE);

  Tracee(int pid) {
    this(pid, pid);
  }

  Tracee(int pid, int self) {
    this.pid = pid;
    this.self = self;
  }

  Regs getRegs() throws ProcessException {
    Sys.ptrace(Sys.PTRACE_GETREGS, pid, 0, regBuf, "GETREGS");
    return Regs.of(regBuf.getByteArray(0, Regs.SIZE));
  }

  void setRegs(Regs r) throws ProcessException {
    regBuf.write(0, r.bytes(), 0, Regs.SIZE);
    Sys.ptrace(Sys.PTRACE_SETREGS, pid, 0, regBuf, "SETREGS");
  }

  /** Reads a regset with PTRACE_GETREGSET; returns exactly the bytes the kernel filled. */
  byte[] getRegset(int type, int max) throws ProcessException {
    try (Memory buf = new Memory(max); Memory iov = new Memory(16)) {
      buf.clear();
      iov.setLong(0, Pointer.nativeValue(buf));
      iov.setLong(8, max);
      Sys.ptrace(Sys.PTRACE_GETREGSET, pid, type, iov, "GETREGSET(" + type + ")");
      return buf.getByteArray(0, (int) iov.getLong(8));
    }
  }

  void setRegset(int type, byte[] data) throws ProcessException {
    try (Memory buf = new Memory(data.length); Memory iov = new Memory(16)) {
      buf.write(0, data, 0, data.length);
      iov.setLong(0, Pointer.nativeValue(buf));
      iov.setLong(8, data.length);
      Sys.ptrace(Sys.PTRACE_SETREGSET, pid, type, iov, "SETREGSET(" + type + ")");
    }
  }

  int memFd() throws ProcessException {
    if (memFd < 0) {
      try {
        memFd = LibC.open("/proc/" + pid + "/mem", O_RDWR, 0);
      } catch (LastErrorException e) {
        throw Sys.error("open(/proc/" + pid + "/mem)", pid, e);
      }
    }
    return memFd;
  }

  void read(long addr, Pointer buf, long len) throws ProcessException {
    long done = 0;
    while (done < len) {
      long n;
      try {
        n = LibC.pread(memFd(), buf.share(done), len - done, addr + done);
      } catch (LastErrorException e) {
        throw Sys.error(String.format("reading %d bytes of memory at 0x%x", len - done, addr + done), pid, e);
      }
      if (n <= 0) {
        throw new ProcessException(pid, String.format("reading memory at 0x%x returned %d", addr + done, n));
      }
      done += n;
    }
  }

  byte[] read(long addr, int len) throws ProcessException {
    try (Memory m = new Memory(Math.max(1, len))) {
      read(addr, m, len);
      return m.getByteArray(0, len);
    }
  }

  void write(long addr, Pointer buf, long len) throws ProcessException {
    long done = 0;
    while (done < len) {
      long n;
      try {
        n = LibC.pwrite(memFd(), buf.share(done), len - done, addr + done);
      } catch (LastErrorException e) {
        throw Sys.error(String.format("writing %d bytes of memory at 0x%x", len - done, addr + done), pid, e);
      }
      if (n <= 0) {
        throw new ProcessException(pid, String.format("writing memory at 0x%x returned %d", addr + done, n));
      }
      done += n;
    }
  }

  void write(long addr, byte[] data) throws ProcessException {
    if (data.length == 0) {
      return;
    }
    try (Memory m = new Memory(data.length)) {
      m.write(0, data, 0, data.length);
      write(addr, m, data.length);
    }
  }

  /** Writes {@code data}'s remaining bytes at {@code addr}; safe from any thread. */
  void write(long addr, ByteBuffer data) throws ProcessException {
    if (data.isDirect()) {
      write(addr, com.sun.jna.Native.getDirectBufferPointer(data).share(data.position()), data.remaining());
    } else {
      byte[] b = new byte[data.remaining()];
      data.duplicate().get(b);
      write(addr, b);
    }
  }

  /** Finds a {@code syscall} instruction (0f 05) in the process's vDSO. */
  long findVdsoSyscall(List<Vma> maps) throws ProcessException {
    for (Vma v : maps) {
      if (v.path().equals("[vdso]")) {
        byte[] text = read(v.start(), (int) v.length());
        for (int i = 0; i + 1 < text.length; i++) {
          if (text[i] == 0x0f && text[i + 1] == 0x05) {
            return v.start() + i;
          }
        }
      }
    }
    throw new ProcessException(pid, "no syscall instruction in the vDSO; cannot inject system calls");
  }

  /**
   * Starts injecting: remembers the registers and signal mask to put back and where a syscall
   * instruction is, and blocks every signal, so a timer firing meanwhile stays pending instead of
   * interrupting an injected call.
   */
  void beginInjection(long site) throws ProcessException {
    Regs regs = getRegs();
    refuseLostTemporaryMask(regs);
    this.saved = regs;
    this.syscallSite = site;
    try (Memory m = new Memory(8)) {
      Sys.ptrace(Sys.PTRACE_GETSIGMASK, pid, 8, m, "GETSIGMASK");
      savedMask = m.getLong(0);
      // Everything but SIGTRAP: single-stepping raises a forced SIGTRAP, and the kernel resets the
      // handler of a forced signal that is blocked, which would take the program's own handler.
      m.setLong(0, ~(1L << (Sys.SIGTRAP - 1)));
      Sys.ptrace(Sys.PTRACE_SETSIGMASK, pid, 8, m, "SETSIGMASK");
    }
  }

  private long savedMask;

  /**
   * A thread stopped in rt_sigsuspend, ppoll, pselect6 or epoll_pwait shows PTRACE_GETSIGMASK
   * the mask it had before the call (the kernel keeps it aside while the call's temporary mask is
   * in force), and re-enters the call on resume: that is what is saved and restored. One case
   * does not fit: epoll_pwait that has just failed with EINTR, whose signal is still to be
   * delivered under the temporary mask. PTRACE_SETSIGMASK drops the kept mask, so the handler
   * would not run, or run under another mask; nothing has been changed yet, and the checkpoint
   * is refused (the next one finds the signal handled).
   */
  private void refuseLostTemporaryMask(Regs r) throws ProcessException {
    long nr = r.get(Regs.ORIG_RAX);
    if ((nr == Sys.SYS_EPOLL_PWAIT || nr == Sys.SYS_EPOLL_PWAIT2) && r.get(Regs.RAX) == -Errno.EINTR) {
      throw new ProcessException(pid, "thread " + pid + " was stopped returning EINTR from epoll_pwait with a signal still"
          + " to deliver under the call's temporary mask, which a checkpoint would lose; try the checkpoint again");
    }
  }

  void moveSyscallSite(long site) {
    this.syscallSite = site;
  }

  Regs savedRegs() {
    return saved;
  }

  /**
   * Runs one system call in the tracee and returns its result. orig_rax is -1 so the kernel's
   * restart logic never touches an injected call.
   */
  long call(String what, int nr, long... args) throws ProcessException {
    Regs r = saved.copy();
    r.set(Regs.RAX, nr).set(Regs.ORIG_RAX, -1).set(Regs.RIP, syscallSite);
    int[] order = {Regs.RDI, Regs.RSI, Regs.RDX, Regs.R10, Regs.R8, Regs.R9};
    for (int i = 0; i < args.length; i++) {
      r.set(order[i], args[i]);
    }
    Regs after = null;
    // A stop inside a system call's exit path (the exec event is one) reports the first
    // single-step trap on that exit, before our instruction runs: then rip has not moved, and
    // the step is taken again.
    for (int attempt = 0; attempt < 2; attempt++) {
      setRegs(r);
      Sys.ptrace(Sys.PTRACE_SINGLESTEP, pid, 0, 0, "SINGLESTEP");
      int st = awaitStop(what);
      if (Sys.stopSignal(st) != Sys.SIGTRAP) {
        throw new ProcessException(pid, "injected " + what + " stopped with signal " + Sys.stopSignal(st) + " instead of SIGTRAP");
      }
      after = getRegs();
      if (after.get(Regs.RIP) == syscallSite + 2) {
        break;
      }
      after = null;
    }
    if (after == null) {
      throw new ProcessException(pid, "injected " + what + " did not execute (single-step did not pass the syscall instruction)");
    }
    long ret = after.get(Regs.RAX);
    if (ret < 0 && ret > -4096) {
      throw new ProcessException(pid, what + " (injected syscall " + nr + ") failed: " + Errno.name((int) -ret), (int) -ret, null);
    }
    return ret;
  }

  /**
   * Runs a system call that creates a task (clone3) with the tracee's PTRACE_O_TRACE{FORK,CLONE}
   * options set, so that the new task starts traced and stopped. Returns {the call's result as
   * the tracee sees it, the new task's host id}. The new task's first stop is left to the caller.
   */
  long[] callCreating(String what, int nr, long... args) throws ProcessException {
    Regs r = saved.copy();
    r.set(Regs.RAX, nr).set(Regs.ORIG_RAX, -1).set(Regs.RIP, syscallSite);
    int[] order = {Regs.RDI, Regs.RSI, Regs.RDX, Regs.R10, Regs.R8, Regs.R9};
    for (int i = 0; i < args.length; i++) {
      r.set(order[i], args[i]);
    }
    setRegs(r);
    long child = 0;
    Sys.ptrace(Sys.PTRACE_SINGLESTEP, pid, 0, 0, "SINGLESTEP");
    for (int stops = 0; stops < 4; stops++) {
      int st = awaitStop(what);
      int event = Sys.event(st);
      if (event == Sys.PTRACE_EVENT_FORK || event == Sys.PTRACE_EVENT_VFORK || event == Sys.PTRACE_EVENT_CLONE) {
        try (Memory m = new Memory(8)) {
          Sys.ptrace(Sys.PTRACE_GETEVENTMSG, pid, 0, m, "GETEVENTMSG");
          child = m.getLong(0);
        }
        Sys.ptrace(Sys.PTRACE_SINGLESTEP, pid, 0, 0, "SINGLESTEP");
        continue;
      }
      if (Sys.stopSignal(st) != Sys.SIGTRAP) {
        throw new ProcessException(pid, "injected " + what + " stopped with signal " + Sys.stopSignal(st) + " instead of SIGTRAP");
      }
      Regs after = getRegs();
      if (after.get(Regs.RIP) != syscallSite + 2) {
        // The single-step trap of a syscall exit path the tracee was stopped in: step again.
        setRegs(r);
        Sys.ptrace(Sys.PTRACE_SINGLESTEP, pid, 0, 0, "SINGLESTEP");
        continue;
      }
      long ret = after.get(Regs.RAX);
      if (ret < 0 && ret > -4096) {
        throw new ProcessException(pid, what + " (injected syscall " + nr + ") failed: " + Errno.name((int) -ret), (int) -ret, null);
      }
      if (child == 0) {
        throw new ProcessException(pid, "injected " + what + " returned " + ret + " but reported no new task");
      }
      return new long[] {ret, child};
    }
    throw new ProcessException(pid, "injected " + what + " did not complete");
  }

  /**
   * Waits for the first stop of a task created traced by {@link #callCreating}. It inherits the
   * injection's blocked mask, so nothing but that stop can come first.
   */
  static void awaitNewTask(int owner, int tid) throws ProcessException {
    int st = Sys.waitpid(tid, false);
    if (!Sys.stopped(st) || Sys.event(st) != Sys.PTRACE_EVENT_STOP) {
      throw new ProcessException(owner, "new task " + tid + " reported status 0x" + Integer.toHexString(st)
          + " instead of its first stop");
    }
  }

  /**
   * A loop that makes the system calls of a table {nr, six arguments, result} x n, ended by
   * nr = -1, with rbx pointing at it, and stops on int3: one PTRACE_CONT for a batch instead of a
   * single-step round trip per call. rbx survives system calls; rcx and r11, which they clobber,
   * are not used.
   */
  static final byte[] BATCH_CODE = {
      0x48, (byte) 0x8b, 0x03,                    // loop: mov rax, [rbx]
      0x48, (byte) 0x83, (byte) 0xf8, (byte) 0xff, // cmp rax, -1
      0x74, 0x24,                                 // je done
      0x48, (byte) 0x8b, 0x7b, 0x08,              // mov rdi, [rbx+8]
      0x48, (byte) 0x8b, 0x73, 0x10,              // mov rsi, [rbx+16]
      0x48, (byte) 0x8b, 0x53, 0x18,              // mov rdx, [rbx+24]
      0x4c, (byte) 0x8b, 0x53, 0x20,              // mov r10, [rbx+32]
      0x4c, (byte) 0x8b, 0x43, 0x28,              // mov r8, [rbx+40]
      0x4c, (byte) 0x8b, 0x4b, 0x30,              // mov r9, [rbx+48]
      0x0f, 0x05,                                 // syscall
      0x48, (byte) 0x89, 0x43, 0x38,              // mov [rbx+56], rax
      0x48, (byte) 0x83, (byte) 0xc3, 0x40,       // add rbx, 64
      (byte) 0xeb, (byte) 0xd3,                   // jmp loop
      (byte) 0xcc};                               // done: int3
  static final int BATCH_ENTRY = 64;

  /**
   * Runs {@code calls} (each {nr, args...}) in the tracee in one go with {@link #BATCH_CODE},
   * written at {@code code} (executable memory of the tracee) with its table at {@code table}.
   * Returns each call's raw result (a negative errno on failure); the caller decides. Signals
   * stay blocked as for single calls.
   */
  long[] callBatch(String what, long code, long table, long[][] calls) throws ProcessException {
    ByteBuffer t = le(BATCH_ENTRY * (calls.length + 1));
    for (long[] c : calls) {
      int at = t.position();
      for (long x : c) {
        t.putLong(x);
      }
      t.position(at + BATCH_ENTRY);
    }
    t.putLong(-1L);
    write(code, BATCH_CODE);
    write(table, t.array());
    runBatch(what, code, table);
    ByteBuffer out = ByteBuffer.wrap(read(table, BATCH_ENTRY * calls.length)).order(ByteOrder.LITTLE_ENDIAN);
    long[] results = new long[calls.length];
    for (int i = 0; i < calls.length; i++) {
      results[i] = out.getLong(i * BATCH_ENTRY + 56);
    }
    return results;
  }

  /**
   * Read-only calls gathered to run in one batch where the tracee may run injected code, else
   * one at a time: results, and failures named as {@link #call} names them, are the same either
   * way. Each round trip into a stopped process costs tens of microseconds, in the freeze.
   */
  final class Calls {
    private final List<String> names = new ArrayList<>();
    private final List<long[]> calls = new ArrayList<>();

    /** Adds a call; returns its index in {@link #run}'s results. */
    int add(String what, int nr, long... args) {
      long[] c = new long[args.length + 1];
      c[0] = nr;
      System.arraycopy(args, 0, c, 1, args.length);
      names.add(what);
      calls.add(c);
      return calls.size() - 1;
    }

    /**
     * Runs them: in one batch at {@code area} (executable, with room for the code and a table of
     * one entry more than the calls), or one at a time if {@code area} is negative.
     */
    long[] run(long area) throws ProcessException {
      long[] results = new long[calls.size()];
      if (area < 0) {
        for (int i = 0; i < results.length; i++) {
          long[] c = calls.get(i);
          results[i] = call(names.get(i), (int) c[0], java.util.Arrays.copyOfRange(c, 1, c.length));
        }
        return results;
      }
      results = callBatch(names.size() + " calls (" + names.get(0) + "…)", area, area + BATCH_CODE_ROOM,
          calls.toArray(new long[0][]));
      for (int i = 0; i < results.length; i++) {
        long ret = results[i];
        if (ret < 0 && ret > -4096) {
          throw new ProcessException(pid, names.get(i) + " (injected syscall " + calls.get(i)[0] + ") failed: "
              + Errno.name((int) -ret), (int) -ret, null);
        }
      }
      return results;
    }
  }

  /** Room for {@link #BATCH_CODE} before a batch's table. */
  static final int BATCH_CODE_ROOM = 256;

  /**
   * Runs a batch ({@link #BATCH_CODE} at {@code code}, table at {@code table}) written before;
   * the table holds each call's result.
   */
  void runBatch(String what, long code, long table) throws ProcessException {
    startBatch(what, code, table);
    ended(what, code, awaitStop(what));
  }

  /** Work the tracer does while a batch runs in the tracee. */
  interface Meanwhile {
    void run() throws dev.ckpt.CheckpointException;
  }

  /**
   * {@link #runBatch}, doing {@code meanwhile} on this thread while the tracee runs the batch. A
   * failure of either is thrown once the batch has ended: the tracee is never left running
   * injected code.
   */
  void runBatch(String what, long code, long table, Meanwhile meanwhile) throws dev.ckpt.CheckpointException {
    startBatch(what, code, table);
    Throwable failed = null;
    try {
      meanwhile.run();
    } catch (dev.ckpt.CheckpointException | RuntimeException | Error e) {
      failed = e;
    }
    try {
      ended(what, code, awaitStop(what));
    } catch (ProcessException | RuntimeException e) {
      if (failed != null) {
        e.addSuppressed(failed);
      }
      throw e;
    }
    if (failed instanceof dev.ckpt.CheckpointException c) {
      throw c;
    }
    if (failed instanceof RuntimeException r) {
      throw r;
    }
    if (failed instanceof Error err) {
      throw err;
    }
  }

  /** Lets the tracee run the batch loop at {@code code} over the table at {@code table}. */
  private void startBatch(String what, long code, long table) throws ProcessException {
    setRegs(saved.copy().set(Regs.RIP, code).set(Regs.RBX, table).set(Regs.ORIG_RAX, -1));
    Sys.ptrace(Sys.PTRACE_CONT, pid, 0, 0, "CONT(" + what + ")");
  }

  /** Checks that wait status {@code st} is the batch's closing int3. */
  void ended(String what, long code, int st) throws ProcessException {
    requireStopped(what, st);
    long rip = getRegs().get(Regs.RIP);
    if (Sys.stopSignal(st) != Sys.SIGTRAP || rip != code + BATCH_CODE.length) {
      throw new ProcessException(pid, "injected " + what + " stopped with signal " + Sys.stopSignal(st) + " at 0x"
          + Long.toHexString(rip) + " instead of its end");
    }
  }

  /** Returns wait status {@code st} if it is a stop; an exit or a death ends the injection for good. */
  private int requireStopped(String what, int st) throws ProcessEndedException {
    if (!Sys.stopped(st)) {
      gone = true;
      throw new ProcessEndedException(pid, "process ended while running injected " + what + " (status " + st + ")", st);
    }
    return st;
  }

  /** The process ended during an injected call: nothing is left to restore in it. */
  private boolean gone;

  /** Spins before the wait for a stop starts sleeping: most injected calls end within microseconds. */
  private static final int SPINS = 1000;

  /**
   * Waits for the process's next stop after it was set running injected code, and fails with
   * ProcessEndedException if it ends instead. The wait polls rather than blocks: a multi-threaded
   * process killed while ckpt holds its other threads stopped reports its main thread's exit only
   * once the tracer has reaped those threads, so a blocking wait would never return. A main thread
   * that has become a zombie meanwhile ends the wait, its status left to be reported later.
   */
  int awaitStop(String what) throws ProcessException {
    for (int i = 0; ; i++) {
      int st = Sys.waitpid(pid, true);
      if (st != -1) {
        return requireStopped(what, st);
      }
      if (i < SPINS) {
        Thread.onSpinWait();
        continue;
      }
      String state = ProcFs.state(pid);
      if (state.isEmpty() || state.equals("Z") || state.equals("X")) {
        gone = true;
        throw new ProcessEndedException(pid, "process was killed while running injected " + what, -1);
      }
      java.util.concurrent.locks.LockSupport.parkNanos(20_000);
    }
  }

  void endInjection() throws ProcessException {
    if (gone) {
      saved = null;
      return;
    }
    if (saved != null) {
      setRegs(saved);
      saved = null;
      try (Memory m = new Memory(8)) {
        m.setLong(0, savedMask);
        Sys.ptrace(Sys.PTRACE_SETSIGMASK, pid, 8, m, "SETSIGMASK");
      }
    }
  }

  static byte[] cString(String s) {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    byte[] z = new byte[b.length + 1];
    System.arraycopy(b, 0, z, 0, b.length);
    return z;
  }

  static ByteBuffer le(int size) {
    return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
  }

  List<Vma> maps() throws ProcessException {
    try {
      return ProcFs.maps(pid);
    } catch (IOException e) {
      throw new ProcessException(pid, "reading /proc/" + pid + "/maps failed: " + e.getMessage(), 0, e);
    }
  }

  @Override
  public void close() {
    if (memFd >= 0) {
      try {
        LibC.close(memFd);
      } catch (LastErrorException ignored) {
        // Nothing to do about a failed close of a read descriptor.
      }
      memFd = -1;
    }
    regBuf.close();
  }
}
