package dev.ckpt.linux.internal;

import dev.ckpt.CheckpointException;
import dev.ckpt.linux.ProcessException;
import com.sun.jna.LastErrorException;
import dev.ckpt.linux.internal.jna.LibC;
import dev.ckpt.linux.internal.jna.Sys;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one thread that makes every ptrace and waitpid call for the processes of one
 * {@code NativeCheckpointer} (the kernel answers ESRCH to ptrace calls from any other thread).
 * Between tasks it reaps the stops of running tracees: signals are passed on, group-stops are
 * honoured with PTRACE_LISTEN, and exits complete the process's exit future.
 */
public final class Tracer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Tracer.class);

  /** A process this tracer has seized. {@code held} while a checkpoint or restore owns its stops. */
  public static final class Traced {
    final int pid;
    final CompletableFuture<Integer> exit = new CompletableFuture<>();
    volatile boolean held;
    /** In a group-stop (SIGSTOP, SIGTSTP…) that the tracer honoured with PTRACE_LISTEN. */
    volatile boolean groupStopped;
    /** The pages it writes, tracked after its first CONTINUE checkpoint; used on the tracer thread. */
    DirtyTracker tracker;
    /** The siginfo of a SIGTERM held back ({@link #holdSigterm}), and when it is delivered after all. */
    private byte[] heldTerm;
    private long heldTermUntil;
    /** The held SIGTERM was sent again: its next delivery gets the original siginfo and goes through. */
    private boolean redeliveringTerm;

    Traced(int pid) {
      this.pid = pid;
    }

    public int pid() {
      return pid;
    }

    public CompletableFuture<Integer> exit() {
      return exit;
    }
  }

  /** How long a SIGTERM to a traced process is held before it is delivered; 0 when it is not held. */
  private volatile long termHoldNanos;
  private final Thread thread;
  private final BlockingQueue<FutureTask<?>> tasks = new LinkedBlockingQueue<>();
  private final Map<Integer, Traced> traced = new ConcurrentHashMap<>();
  private volatile boolean running = true;

  public Tracer(String name) {
    thread = new Thread(this::loop, name);
    thread.setDaemon(true);
    thread.start();
  }

  private void loop() {
    while (running) {
      try {
        FutureTask<?> t = tasks.poll(traced.isEmpty() ? 50 : 2, TimeUnit.MILLISECONDS);
        if (t != null) {
          t.run();
        }
        reap();
      } catch (InterruptedException e) {
        return;
      } catch (RuntimeException e) {
        LOG.error("tracer loop: {}", e.toString(), e);
      }
    }
  }

  private void reap() {
    for (Traced t : traced.values()) {
      if (t.held) {
        continue;
      }
      try {
        if (t.heldTerm != null && !t.redeliveringTerm && System.nanoTime() - t.heldTermUntil > 0) {
          // No vacate took the process in time: the SIGTERM was for it alone, and it gets it now.
          t.redeliveringTerm = true;
          try {
            // To the main thread, the one traced: there the next delivery-stop gives it its own siginfo back.
            LibC.syscall(Sys.SYS_TGKILL, t.pid, t.pid, Sys.SIGTERM, 0, 0, 0);
          } catch (LastErrorException e) {
            // Gone meanwhile: its exit is reaped below.
          }
        }
        int st = Sys.waitpid(t.pid, true);
        if (st == -1) {
          continue;
        }
        handle(t, st);
      } catch (ProcessException e) {
        // ECHILD: no longer ours to wait for (detached or reaped elsewhere).
        traced.remove(t.pid);
        t.exit.completeExceptionally(e);
      }
    }
  }

  /** What a running tracee's stop means when no checkpoint is in progress. */
  void handle(Traced t, int st) throws ProcessException {
    if (Sys.exited(st)) {
      traced.remove(t.pid);
      t.exit.complete(Sys.exitCode(st));
    } else if (Sys.signaled(st)) {
      traced.remove(t.pid);
      t.exit.complete(128 + Sys.termSignal(st));
    } else if (Sys.stopped(st)) {
      int sig = Sys.stopSignal(st);
      int event = Sys.event(st);
      if (event == Sys.PTRACE_EVENT_STOP) {
        boolean groupStop = sig == Sys.SIGSTOP || sig == 20 || sig == 21 || sig == 22;
        t.groupStopped = groupStop;
        Sys.ptrace(groupStop ? Sys.PTRACE_LISTEN : Sys.PTRACE_CONT, t.pid, 0, 0, groupStop ? "LISTEN" : "CONT");
      } else if (event != 0) {
        Sys.ptrace(Sys.PTRACE_CONT, t.pid, 0, 0, "CONT");
      } else {
        t.groupStopped = false; // running again: it took a signal (SIGCONT among them)
        if (sig == 4 || sig == 7 || sig == 8 || sig == 11) {
          logFault(t.pid, sig);
        }
        sig = passOn(t, sig);
        Sys.ptrace(Sys.PTRACE_CONT, t.pid, 0, sig, "CONT(" + sig + ")");
      }
    }
  }

  /**
   * Holds back every SIGTERM sent to a traced process for {@code hold}, or (zero) stops doing so.
   * A batch scheduler that evicts a job (Slurm's scancel, requeue and preemption) sends SIGTERM
   * to every process of the job at once, the checkpointer's JVM and the checkpointed program
   * alike: held, the program's is not taken before the checkpointer's vacate freezes it, and a
   * vacate that commits kills the program as of before the signal. A SIGTERM no vacate took in
   * time is delivered then, with its own siginfo, and one held when tracing ends is sent as the
   * process is detached. Only another process's kill() is held, not the process's own raise(),
   * and only when the main thread takes it: a thread-directed SIGTERM, or a process-directed one
   * another thread takes, is delivered at once.
   */
  public void holdSigterm(java.time.Duration hold) {
    termHoldNanos = hold.toNanos();
  }

  /**
   * The signal to let a process take at a signal-delivery-stop of {@code sig}: 0 for a SIGTERM it
   * holds back ({@link #holdSigterm}), {@code sig} otherwise. On the tracer thread.
   */
  int passOn(Traced t, int sig) throws ProcessException {
    if (sig != Sys.SIGTERM) {
      return sig;
    }
    if (t.redeliveringTerm) {
      t.redeliveringTerm = false;
      if (t.heldTerm != null) {
        try (com.sun.jna.Memory info = new com.sun.jna.Memory(SIGINFO_BYTES)) {
          info.write(0, t.heldTerm, 0, SIGINFO_BYTES);
          Sys.ptrace(Sys.PTRACE_SETSIGINFO, t.pid, 0, info, "SETSIGINFO");
        }
        t.heldTerm = null;
      }
      return sig;
    }
    long hold = termHoldNanos;
    if (hold <= 0) {
      return sig;
    }
    if (t.heldTerm == null) {
      byte[] siginfo;
      try (com.sun.jna.Memory info = new com.sun.jna.Memory(SIGINFO_BYTES)) {
        Sys.ptrace(Sys.PTRACE_GETSIGINFO, t.pid, 0, info, "GETSIGINFO");
        siginfo = info.getByteArray(0, SIGINFO_BYTES);
      }
      java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(siginfo).order(java.nio.ByteOrder.LITTLE_ENDIAN);
      if (b.getInt(SI_CODE) != SI_USER || b.getInt(SI_PID) == t.pid) {
        // Not another process's kill(): raise(), a thread's tgkill, the kernel. The process
        // means it for itself now, whatever a scheduler does.
        return sig;
      }
      t.heldTerm = siginfo;
      t.heldTermUntil = System.nanoTime() + hold;
      LOG.info("pid {}: SIGTERM held for {} ms, for a vacate to checkpoint the process before it", t.pid, hold / 1_000_000);
    }
    return 0; // a second SIGTERM meanwhile merges with the held one, as a pending one would
  }

  private static final int SIGINFO_BYTES = 128;
  /** x86-64 siginfo_t: si_code at 8, and for kill() the sender's pid at 16. */
  private static final int SI_CODE = 8;
  private static final int SI_PID = 16;
  private static final int SI_USER = 0;

  /** A crash of a traced process is worth a line: where it faulted and on what address. */
  private static void logFault(int pid, int sig) {
    try (com.sun.jna.Memory info = new com.sun.jna.Memory(128); Tracee t = new Tracee(pid)) {
      Sys.ptrace(Sys.PTRACE_GETSIGINFO, pid, 0, info, "GETSIGINFO");
      Regs r = t.getRegs();
      long rip = r.get(Regs.RIP);
      String where = "";
      for (dev.ckpt.linux.internal.proc.Vma v : t.maps()) {
        if (rip >= v.start() && rip < v.end()) {
          where = " (" + v.path() + " + 0x" + Long.toHexString(rip - v.start() + v.offset()) + ")";
        }
      }
      LOG.warn("pid {} received fatal signal {} (code {}) at rip 0x{}{} for address 0x{}", pid, sig, info.getInt(8),
          Long.toHexString(rip), where, Long.toHexString(info.getLong(16)));
    } catch (ProcessException e) {
      LOG.warn("pid {} received fatal signal {}", pid, sig);
    }
  }

  public Traced track(int pid) {
    Traced t = new Traced(pid);
    t.held = true;
    traced.put(pid, t);
    return t;
  }

  public void untrack(int pid) {
    traced.remove(pid);
  }

  /** Runs {@code task} on the tracer thread and returns its result. */
  public <T> T call(Callable<T> task) throws CheckpointException {
    if (Thread.currentThread() == thread) {
      try {
        return task.call();
      } catch (CheckpointException | RuntimeException e) {
        throw e;
      } catch (Exception e) {
        throw new CheckpointException(e.toString(), e);
      }
    }
    if (!running) {
      throw new IllegalStateException("the native checkpointer is closed");
    }
    FutureTask<T> f = new FutureTask<>(task);
    tasks.add(f);
    return await(f);
  }

  /**
   * {@link #call}, with the calling thread running the side work that {@code task} hands it
   * through {@code aside} while it runs, instead of only waiting: reads of other processes that
   * overlap the task's own. The task may run a piece itself when it needs its result first (a
   * FutureTask runs once); what is still queued when the task ends is dropped.
   */
  public <T> T call(Callable<T> task, BlockingQueue<Runnable> aside) throws CheckpointException {
    if (Thread.currentThread() == thread) {
      return call(task);
    }
    if (!running) {
      throw new IllegalStateException("the native checkpointer is closed");
    }
    Runnable done = () -> { };
    FutureTask<T> f = new FutureTask<>(() -> {
      try {
        return task.call();
      } finally {
        aside.clear();
        aside.add(done);
      }
    });
    tasks.add(f);
    try {
      for (Runnable r = aside.take(); r != done; r = aside.take()) {
        r.run();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CheckpointException("interrupted while waiting for the tracer thread", e);
    }
    return await(f);
  }

  private static <T> T await(FutureTask<T> f) throws CheckpointException {
    try {
      return f.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CheckpointException("interrupted while waiting for the tracer thread", e);
    } catch (ExecutionException e) {
      Throwable c = e.getCause();
      if (c instanceof CheckpointException ce) {
        throw ce;
      }
      if (c instanceof RuntimeException re) {
        throw re;
      }
      if (c instanceof Error err) {
        throw err;
      }
      throw new CheckpointException(c.toString(), c);
    }
  }

  /**
   * Detaches every process still traced, on the tracer thread: each is interrupted into a stop
   * and let go with PTRACE_DETACH, passing on a signal that arrived meanwhile, so it runs on
   * untraced. A process that stays in a group-stop is detached stopped, as it was.
   */
  private void detachAll() {
    for (Traced t : traced.values()) {
      if (t.exit.isDone()) {
        continue;
      }
      try {
        Sys.ptrace(Sys.PTRACE_INTERRUPT, t.pid, 0, 0, "INTERRUPT");
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (System.nanoTime() < deadline) {
          int st = Sys.waitpid(t.pid, false);
          if (Sys.exited(st) || Sys.signaled(st)) {
            handle(t, st);
            break;
          }
          int sig = Sys.event(st) == 0 ? Sys.stopSignal(st) : 0;
          if (Sys.event(st) == Sys.PTRACE_EVENT_STOP || sig != 0) {
            Sys.ptrace(Sys.PTRACE_DETACH, t.pid, 0, sig, "DETACH");
            if (t.heldTerm != null && !t.redeliveringTerm) {
              // Held for a vacate that did not come: the process gets it now, untraced.
              try {
                LibC.kill(t.pid, Sys.SIGTERM);
              } catch (LastErrorException e) {
                // Gone meanwhile.
              }
            }
            t.exit.completeExceptionally(new IllegalStateException("pid " + t.pid + " was detached when its checkpointer closed"));
            break;
          }
          Sys.ptrace(Sys.PTRACE_CONT, t.pid, 0, 0, "CONT");
        }
      } catch (ProcessException e) {
        LOG.warn("detaching pid {} failed: {}", t.pid, e.getMessage());
      }
      traced.remove(t.pid);
    }
  }

  @Override
  public void close() {
    if (running && Thread.currentThread() != thread) {
      try {
        call(() -> {
          detachAll();
          return null;
        });
      } catch (CheckpointException | RuntimeException e) {
        LOG.warn("detaching traced processes failed: {}", e.toString());
      }
    }
    running = false;
    thread.interrupt();
    try {
      thread.join(5000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
