package dev.ckpt.linux.internal;

import com.sun.jna.LastErrorException;
import dev.ckpt.CheckpointException;
import dev.ckpt.CheckpointInfo;
import dev.ckpt.ImageReader;
import dev.ckpt.ImageWriter;
import dev.ckpt.linux.FdPolicy;
import dev.ckpt.linux.Mode;
import dev.ckpt.linux.ProcessException;
import dev.ckpt.linux.RestoredProcess;
import dev.ckpt.linux.Stdio;
import dev.ckpt.linux.TracedProcess;
import dev.ckpt.linux.internal.jna.Errno;
import dev.ckpt.linux.internal.jna.LibC;
import dev.ckpt.linux.internal.jna.Sys;
import dev.ckpt.linux.internal.proc.ProcFs;
import java.time.Duration;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** What {@code NativeCheckpointer} does, behind its public face. */
public final class NativeEngine implements AutoCloseable {
  /** Listings of a changing tree the census before the freeze tries before it refuses. */
  private static final int PRECHECK_ATTEMPTS = 5;

  private final Tracer tracer = new Tracer("ckpt-tracer");
  private final FileIdentities identities = new FileIdentities();
  private final MemoryDumper.Pool buffers = new MemoryDumper.Pool();
  private final FdPolicy fdPolicy;
  private final boolean verifyRestore;
  private final boolean trackChanges;

  public NativeEngine(FdPolicy fdPolicy, boolean verifyRestore, boolean trackChanges, java.time.Duration holdSigterm) {
    tracer.holdSigterm(holdSigterm);
    this.fdPolicy = fdPolicy;
    this.verifyRestore = verifyRestore;
    this.trackChanges = trackChanges;
  }

  private class Handle implements TracedProcess {
    final Tracer.Traced traced;

    Handle(Tracer.Traced traced) {
      this.traced = traced;
    }

    @Override
    public int pid() {
      return traced.pid();
    }

    @Override
    public int waitFor() throws InterruptedException {
      try {
        return traced.exit().get();
      } catch (ExecutionException e) {
        throw new IllegalStateException("pid " + pid() + " can no longer be waited for: " + e.getCause().getMessage(), e.getCause());
      }
    }

    @Override
    public OptionalInt waitFor(Duration timeout) throws InterruptedException {
      try {
        return OptionalInt.of(traced.exit().get(timeout.toNanos(), TimeUnit.NANOSECONDS));
      } catch (TimeoutException e) {
        return OptionalInt.empty();
      } catch (ExecutionException e) {
        throw new IllegalStateException("pid " + pid() + " can no longer be waited for: " + e.getCause().getMessage(), e.getCause());
      }
    }

    @Override
    public boolean isAlive() {
      return !traced.exit().isDone();
    }

    @Override
    public void kill() {
      try {
        LibC.kill(pid(), Sys.SIGKILL);
      } catch (LastErrorException e) {
        // Already gone: nothing to kill.
      }
    }

    @Override
    public String toString() {
      return "pid " + pid();
    }
  }

  private final class Restored extends Handle implements RestoredProcess {
    final CheckpointInfo from;

    Restored(Tracer.Traced traced, CheckpointInfo from) {
      super(traced);
      this.from = from;
    }

    @Override
    public CheckpointInfo restoredFrom() {
      return from;
    }
  }

  public TracedProcess launch(List<String> command, Stdio stdio) throws CheckpointException {
    Launcher.Spawned spawned = Launcher.spawnStopped(command, stdio);
    int shell = spawned.pid();
    return tracer.call(() -> {
      Tracer.Traced t = tracer.track(shell);
      try {
        Launcher.seizeUntilExec(spawned, 0);
        Sys.ptrace(Sys.PTRACE_SETOPTIONS, shell, 0, 0, "SETOPTIONS");
        Sys.ptrace(Sys.PTRACE_CONT, shell, 0, 0, "CONT");
      } catch (ProcessException e) {
        tracer.untrack(shell);
        try {
          LibC.kill(shell, Sys.SIGKILL);
        } catch (LastErrorException ignored) {
          // It did not start.
        }
        throw new CheckpointException("launching " + command + " failed: " + e.getMessage(), e);
      }
      t.held = false;
      return new Handle(t);
    });
  }

  public TracedProcess attach(int pid) throws CheckpointException {
    return tracer.call(() -> {
      if (!ProcFs.alive(pid)) {
        throw new ProcessException(pid, "no such process");
      }
      String parent;
      try {
        parent = ProcFs.status(pid).getOrDefault("PPid", "0");
      } catch (java.io.IOException e) {
        throw new ProcessException(pid, "no such process (" + e.getMessage() + ")");
      }
      if (Long.parseLong(parent) == ProcessHandle.current().pid()) {
        // The JDK's process reaper waits for its children and would take their ptrace stops.
        throw new ProcessException(pid, "is a child of this JVM (started with ProcessBuilder or Runtime.exec), whose"
            + " process reaper would take its ptrace stops; start it with launch() instead");
      }
      Tracer.Traced t = tracer.track(pid);
      try {
        Sys.ptrace(Sys.PTRACE_SEIZE, pid, 0, 0, "SEIZE");
      } catch (ProcessException e) {
        tracer.untrack(pid);
        if (e.errno() == Errno.ESRCH || (e.errno() == Errno.EPERM && !ProcFs.alive(pid))) {
          // The kernel refuses to seize a task that is already exiting.
          throw new ProcessException(pid, "exited before it could be traced (PTRACE_SEIZE: " + Errno.name(e.errno()) + ")",
              e.errno(), e);
        }
        if (e.errno() == Errno.EPERM) {
          throw new ProcessException(pid, "cannot be traced (EPERM): it belongs to another user, is already traced, "
              + "or kernel.yama.ptrace_scope forbids it", Errno.EPERM, e);
        }
        throw e;
      }
      t.held = false;
      return new Handle(t);
    });
  }

  /**
   * Stops the process with PTRACE_INTERRUPT and waits for the stop. A signal that arrives first
   * has already been taken from its queue: it is passed on (with its own siginfo) and the stop
   * comes right after, with the handler's frame set up, as if the signal had come just before.
   */
  private void stop(Tracer.Traced t) throws ProcessException {
    Sys.ptrace(Sys.PTRACE_INTERRUPT, t.pid(), 0, 0, "INTERRUPT");
    while (true) {
      int st = Sys.waitpid(t.pid(), false);
      if (Sys.exited(st) || Sys.signaled(st)) {
        tracer.handle(t, st);
        throw new ProcessException(t.pid(), "exited before it could be checkpointed (status " + st + ")");
      }
      int sig = Sys.stopSignal(st);
      if (Sys.event(st) == Sys.PTRACE_EVENT_STOP) {
        if (sig != Sys.SIGTRAP) {
          // A signal passed on above stopped it (SIGSTOP, SIGTSTP…): leave it stopped, as it would be.
          Sys.ptrace(Sys.PTRACE_LISTEN, t.pid(), 0, 0, "LISTEN");
          t.groupStopped = true;
          throw new ProcessException(t.pid(), "was stopped by signal " + sig + " while ckpt stopped it; checkpoint it once it runs");
        }
        return;
      }
      Sys.ptrace(Sys.PTRACE_CONT, t.pid(), 0, Sys.event(st) == 0 ? tracer.passOn(t, sig) : 0, "CONT");
    }
  }

  /**
   * Freezes the process and writes its state and memory into {@code w} on the tracer thread. A
   * CONTINUE checkpoint then resumes it and commits on the caller's thread, so that the tracer is
   * free to pass on the signals the running process gets while chunks are stored and the
   * manifest written. A VACATE checkpoint keeps it frozen until the commit, then kills it.
   */
  public CheckpointInfo checkpoint(TracedProcess process, ImageWriter w, Mode mode) throws CheckpointException {
    if (!(process instanceof Handle h)) {
      throw new IllegalArgumentException("not a process of this checkpointer: " + process);
    }
    Tracer.Traced t = h.traced;
    List<Integer> frozenThreads = new java.util.ArrayList<>();
    List<ProcessTree.Member> members = new java.util.ArrayList<>();
    Capture[] snapshot = {null};
    ProcessDumper.Tracking tracking = new ProcessDumper.Tracking();
    boolean done = false;
    try {
      long start = System.nanoTime();
      frozenPart(t, w, mode, frozenThreads, members, snapshot, tracking);
      long captured = System.nanoTime();
      CheckpointInfo info = afterFrozen(t, w, mode, frozenThreads, members, snapshot, tracking);
      done = true;
      if (PHASES.isDebugEnabled()) {
        PHASES.debug("pid {}: checkpoint {}@{}: {} µs to the end of the freeze ({} µs frozen), {} µs after it (snapshot reads {} µs), "
            + "{} bytes read", t.pid(), info.job(), info.id(), (captured - start) / 1000,
            Long.parseLong(info.attributes().getOrDefault(CheckpointInfo.FROZEN_NANOS, "0")) / 1000,
            (System.nanoTime() - captured) / 1000, tracking.snapshotReadNanos / 1000, info.bytesRead());
      }
      return info;
    } finally {
      if (!done) {
        // Whatever failed (an Error too): pages a scan reset are in no committed checkpoint.
        tracking.failed();
      }
    }
  }

  /**
   * The census of every member while the tree runs. Members come and go meanwhile (make's
   * compilers): one that has exited is skipped, and a refusal that may come from the change (a
   * pipe "held outside" by a child forked since the listing) is tried again on a new listing. The
   * census while frozen decides in the end.
   */
  private java.util.Map<Long, java.util.Set<String>> precheckTree(Tracer.Traced t, java.util.Set<Integer> running)
      throws CheckpointException {
    for (int attempt = 1; ; attempt++) {
      PipeState.Outside outside = new PipeState.Outside(running);
      java.util.Map<Long, java.util.Set<String>> rootFlags = null;
      try {
        for (int p : running) {
          try {
            java.util.Map<Long, java.util.Set<String>> flags = ProcessDumper.precheck(p, fdPolicy, outside,
                p == t.pid() ? t.tracker : null);
            if (p == t.pid()) {
              rootFlags = flags;
            }
          } catch (ProcessException e) {
            if (p == t.pid() || ProcFs.alive(p)) {
              throw e;
            }
          }
        }
        return rootFlags;
      } catch (ProcessException e) {
        java.util.Set<Integer> now = ProcessTree.withDescendants(t.pid());
        if (attempt == PRECHECK_ATTEMPTS || now.equals(running)) {
          throw e;
        }
        running = now;
      }
    }
  }

  private void frozenPart(Tracer.Traced t, ImageWriter w, Mode mode, List<Integer> frozenThreads,
      List<ProcessTree.Member> members, Capture[] snapshot, ProcessDumper.Tracking tracking) throws CheckpointException {
    // The listing of every other process's descriptors (who else holds its pipes, sockets and
    // stdio files) is the longest read of the freeze, and needs nothing of the tracer: this
    // thread does it while the tracer reads the process (ProcessDumper#listAside).
    java.util.concurrent.BlockingQueue<Runnable> aside = new java.util.concurrent.LinkedBlockingQueue<>();
    tracer.call(() -> {
      if (t.exit().isDone()) {
        throw new ProcessException(t.pid(), "has already exited; nothing to checkpoint");
      }
      String state = ProcFs.state(t.pid());
      if (t.groupStopped || state.equals("T")) {
        throw new ProcessException(t.pid(), "is stopped (SIGSTOP or SIGTSTP, state " + state + "); a restored process would"
            + " run instead of waiting for SIGCONT: checkpoint it once it runs");
      }
      t.held = true;
      boolean keepFrozen = false;
      try {
        // The census first on the running process: what it refuses is refused without stopping
        // it at all, and the work (and, in a fresh JVM, the class loading) is done before the
        // freeze. It runs again while frozen, where it decides.
        java.util.Set<Integer> running = ProcessTree.withDescendants(t.pid());
        if (t.tracker != null && (running.size() > 1 || !t.tracker.alive())) {
          // A tree is read in full, its root without the tracker's registrations; after an exec
          // the tracker watched the old memory (capture makes a new userfaultfd).
          t.tracker.reset();
        }
        DirtyTracker tracker = trackChanges && mode == Mode.CONTINUE && running.size() == 1 ? trackerOf(t) : null;
        // Another checkpoint of this process between its scan and its commit owns the tracker:
        // this one neither uses nor resets it.
        if (tracker != null && tracker.begin()) {
          tracking.tracker = tracker;
        }
        java.util.Map<Long, java.util.Set<String>> censusFlags = precheckTree(t, running);
        CheckpointInfo baseInfo = tracking.tracker == null || !tracking.tracker.created() ? null
            : tracking.tracker.base(w.job());
        if (baseInfo != null) {
          // Before the freeze: the base manifest from the store, and the written pages
          // (re-protected: from here on a failure must end the tracking).
          tracking.based = w.base(baseInfo);
          tracking.rearmed = true;
          tracking.before = tracking.tracker.prescan(ProcFs.maps(t.pid()));
        }
        buffers.reserve(running.size());
        long stopAt = System.nanoTime();
        stop(t);
        frozenThreads.addAll(ThreadDumper.freeze(t.pid()));
        members.addAll(ProcessTree.freeze(t.pid(), frozenThreads));
        // A CONTINUE checkpoint reads private memory from copy-on-write snapshots after the
        // processes run on; the rest, and everything without a snapshot, now. The tracker's scan
        // runs in the capture, just before the snapshot's fork.
        if (tracking.tracker != null && members.size() == 1) {
          tracking.rearmed = true; // the capture may make and arm the tracker
        }
        Capture c = captureFrozen(members, w, mode == Mode.CONTINUE, t.tracker,
            tracking.tracker != null && members.size() == 1 ? tracking : null, censusFlags, aside);
        tracking.rootVmas = () -> c.rootVmas;
        if (tracking.scanned) {
          org.slf4j.LoggerFactory.getLogger(NativeEngine.class).debug("pid {}: page tracking scan {} µs, {} mappings tracked",
              t.pid(), tracking.scanNanos / 1000, tracking.written.size());
          if (tracking.based && !tracking.written.isEmpty() && c.snapshots()) {
            c.pending.get(0).written = tracking.written;
            c.pending.get(0).tracker = tracking.tracker;
            tracking.used = true;
          }
        } else if (tracking.rearmed) {
          // The prescan reset pages that no scan in the freeze counts (a child appeared, or no
          // snapshot): this checkpoint hashes everything, and tracking starts again.
          tracking.failed();
        }
        long bytesRead;
        if (c.snapshots()) {
          try {
            requireStillFrozen(members);
          } catch (ProcessException e) {
            // Killed while frozen: its snapshot goes with it (a dying parent's children are reparented and reaped).
            c.endSnapshots();
            c.releaseBuffers();
            throw e;
          }
          snapshot[0] = c;
          bytesRead = c.frozenBytes();
        } else {
          try {
            bytesRead = c.complete(w);
          } finally {
            c.releaseBuffers();
          }
          requireStillFrozen(members);
        }
        w.attribute(CheckpointInfo.FROZEN_NANOS, Long.toString(System.nanoTime() - stopAt))
            .attribute(CheckpointInfo.READ_BYTES, Long.toString(bytesRead))
            .attribute(CheckpointInfo.CHANGE_TRACKING, "content-hash");
        keepFrozen = mode == Mode.VACATE;
        return null;
      } catch (LastErrorException e) {
        throw Sys.error("checkpoint", t.pid(), e);
      } catch (ProcessEndedException e) {
        ended(t, e);
        throw e;
      } finally {
        if (!keepFrozen) {
          // CONTINUE: every byte is out of the process; it runs on while chunks are stored and
          // committed. A failed dump: it runs on as if nothing had happened.
          if (!members.isEmpty()) {
            ProcessTree.release(members);
          }
          if (!frozenThreads.isEmpty() && !stopped(t.pid())) {
            // Killed while frozen: the kernel reports its exit only once the threads ckpt holds
            // are reaped (detaching a dead thread fails and leaves it a zombie).
            ThreadDumper.reap(frozenThreads);
          } else {
            ThreadDumper.release(frozenThreads);
          }
          if (!t.groupStopped) {
            resumeIfAlive(t);
          }
          t.held = false;
        }
      }
    }, aside);
  }

  /**
   * Whether a process ckpt stopped is still in its ptrace stop: the kernel refuses ptrace
   * requests to a task that has left it or has a fatal signal pending (SIGKILL).
   */
  private static boolean stopped(int pid) {
    try (com.sun.jna.Memory regs = new com.sun.jna.Memory(27 * 8)) {
      Sys.ptrace(Sys.PTRACE_GETREGS, pid, 0, regs, "GETREGS");
      return true;
    } catch (ProcessException e) {
      return false;
    }
  }

  /** Where a checkpoint's time went, at debug level: "Measure where the time goes" starts here. */
  private static final org.slf4j.Logger PHASES = org.slf4j.LoggerFactory.getLogger(NativeEngine.class.getName() + ".phases");

  private CheckpointInfo afterFrozen(Tracer.Traced t, ImageWriter w, Mode mode, List<Integer> frozenThreads,
      List<ProcessTree.Member> members, Capture[] snapshot, ProcessDumper.Tracking tracking) throws CheckpointException {
    Capture c = snapshot[0];
    if (c != null) {
      try {
        long readStart = System.nanoTime();
        long read;
        try {
          read = c.complete(w);
        } catch (CheckpointException | RuntimeException e) {
          requireSnapshotsStopped(c, e); // a killed snapshot is the cause whatever read failed
          throw e;
        }
        tracking.snapshotReadNanos = System.nanoTime() - readStart;
        // A snapshot killed while it was read (the OOM killer counts its whole size) may have
        // had pages unmapped under the reads, which then read as absent: only a snapshot still
        // stopped after the last read proves the memory read is whole.
        requireSnapshotsStopped(c, null);
        w.attribute(CheckpointInfo.READ_BYTES, Long.toString(read))
            .attribute(CheckpointInfo.SNAPSHOT_BYTES, Long.toString(c.snapshotBytes()));
        if (tracking.used) {
          w.attribute(CheckpointInfo.CHANGE_TRACKING, "userfaultfd-wp");
        }
      } finally {
        c.endSnapshots();
        c.releaseBuffers();
        // The process reaps its killed snapshot in a short stop, before the commit: a zombie
        // child left for later would be taken for a member by a checkpoint that overlaps it.
        tracer.call(() -> {
          c.reapSnapshots(t);
          return null;
        });
      }
    }
    return commitFrozen(t, w, mode, frozenThreads, members, tracking);
  }

  /** Fails, naming it, if a snapshot of {@code c} was killed while it was read; {@code cause} is what the read threw. */
  private void requireSnapshotsStopped(Capture c, Exception cause) throws CheckpointException {
    tracer.call(() -> {
      for (ProcessDumper.Pending p : c.pending) {
        if (p.snapshot != null && !stopped(p.snapshot.host())) {
          throw new ProcessException(p.process.pid, "its memory snapshot (pid " + p.snapshot.host()
              + ") was killed while it was read: nothing was committed", 0, cause);
        }
      }
      return null;
    });
  }

  /** The commit of a captured checkpoint: a VACATE one then kills the frozen process, or thaws it if the commit fails. */
  private CheckpointInfo commitFrozen(Tracer.Traced t, ImageWriter w, Mode mode, List<Integer> frozenThreads,
      List<ProcessTree.Member> members, ProcessDumper.Tracking tracking) throws CheckpointException {
    if (mode == Mode.CONTINUE) {
      CheckpointInfo info = w.commit();
      tracking.committed(info);
      return info;
    }
    CheckpointInfo info;
    try {
      info = w.commit();
    } catch (CheckpointException | RuntimeException e) {
      tracer.call(() -> {
        ProcessTree.release(members);
        ThreadDumper.release(frozenThreads);
        resumeIfAlive(t);
        t.held = false;
        return null;
      });
      throw e;
    }
    tracer.call(() -> {
      try {
        // SIGKILL ends a ptrace-stopped process without letting it run another instruction.
        LibC.kill(t.pid(), Sys.SIGKILL);
      } catch (LastErrorException e) {
        // Already gone.
      }
      ThreadDumper.reap(frozenThreads);
      ProcessTree.killAndReap(members);
      t.held = false;
      return null;
    });
    return info;
  }

  /** The traced process ended during a checkpoint's wait, which took its status: the tracer gets it. */
  private void ended(Tracer.Traced t, ProcessEndedException e) {
    if (e.pid() == t.pid() && e.status() != -1) {
      try {
        tracer.handle(t, e.status());
      } catch (ProcessException impossible) {
        // an exit status needs no ptrace call
      }
    }
  }

  /**
   * Fails unless every live process of the capture is still in its ptrace stop. A SIGKILL ends
   * the stop at once, and a dying process's /proc files read empty (no mappings, no fds): what
   * was read may be a silently partial image, so it must not commit. The kernel refuses ptrace
   * requests to a stopped task with a fatal signal pending, so a request that succeeds after the
   * last read proves the process was stopped throughout.
   */
  private static void requireStillFrozen(List<ProcessTree.Member> members) throws ProcessException {
    for (ProcessTree.Member m : members) {
      if (m.zombie()) {
        continue;
      }
      if (!stopped(m.host())) {
        throw new ProcessException(m.host(), "was killed (or exited) while it was being checkpointed (it left its"
            + " ptrace stop after its state was read): nothing was committed");
      }
    }
  }

  /** The process's page tracker, made at its first tracked checkpoint and closed when it ends. */
  private static DirtyTracker trackerOf(Tracer.Traced t) {
    if (t.tracker == null) {
      DirtyTracker made = new DirtyTracker(t.pid());
      t.tracker = made;
      t.exit().whenComplete((code, failure) -> made.close());
    }
    return t.tracker;
  }

  /**
   * The killed snapshot is a zombie child of the process with no exit signal: the process reaps
   * it with an injected wait4, in a stop as short as the first one's first call. A process that
   * exited or stopped meanwhile keeps it (its reaper, or its own wait with __WALL, takes it).
   */
  private void reapSnapshot(Tracer.Traced t, MemorySnapshot s) {
    if (t.exit().isDone() || t.groupStopped) {
      return;
    }
    t.held = true;
    try (Tracee process = new Tracee(t.pid())) {
      stop(t);
      s.reapIn(process, process.findVdsoSyscall(process.maps()));
    } catch (ProcessEndedException e) {
      ended(t, e);
    } catch (ProcessException e) {
      org.slf4j.LoggerFactory.getLogger(NativeEngine.class).warn("pid {}: reaping its memory snapshot failed: {}", t.pid(),
          e.getMessage());
    } finally {
      if (!t.groupStopped) {
        resumeIfAlive(t);
      }
      t.held = false;
    }
  }

  /**
   * The frozen half of a checkpoint of a process or a tree: each live process's state, the memory
   * read while frozen, and its snapshot when asked for; then, still frozen, the open file
   * descriptions the processes share (kcmp compares the frozen fd tables).
   */
  private Capture captureFrozen(List<ProcessTree.Member> members, ImageWriter w, boolean snapshot, DirtyTracker tracker,
      ProcessDumper.Tracking tracking, java.util.Map<Long, java.util.Set<String>> censusFlags,
      java.util.concurrent.BlockingQueue<Runnable> aside) throws CheckpointException {
    boolean tree = members.size() > 1;
    java.util.Set<Integer> hosts = new java.util.HashSet<>();
    members.forEach(m -> hosts.add(m.host()));
    ProcessDumper dumper = tree ? new ProcessDumper(identities, hosts) : new ProcessDumper(identities);
    dumper.track(tracker, tracking);
    dumper.buffers(buffers);
    if (!tree) {
      dumper.listAside(aside);
      dumper.censusFlags(censusFlags); // a process alone: its flags from the census, checked against its snapshot
    }
    List<ProcessTree.Member> live = members.stream().filter(m -> !m.zombie()).toList();
    if (tree) {
      ProcessTree.refuseSharedTables(members.get(0).host(), live);
    }
    Capture c = new Capture(dumper, members, live);
    try {
      for (int i = 0; i < live.size(); i++) {
        ProcessDumper.Pending p = dumper.dumpFrozen(new Tracee(live.get(i).host()), c.writer(w, i), fdPolicy, snapshot);
        c.pending.add(p);
        if (p.snapshot != null) {
          // It shares the process's fd table: the pipe census of the next processes must not
          // take it for a holder outside the tree.
          hosts.add(p.snapshot.host());
        }
      }
      if (tree) {
        List<ProcessImage> shared = ProcessTree.shareDescriptions(live.stream().map(ProcessTree.Member::host).toList(),
            live.stream().map(ProcessTree.Member::pid).toList(), c.pending.stream().map(p -> p.state).toList());
        for (int i = 0; i < live.size(); i++) {
          c.pending.get(i).state = shared.get(i);
        }
      }
      return c;
    } catch (CheckpointException | RuntimeException e) {
      c.endSnapshots();
      throw e;
    }
  }

  /** What {@link #captureFrozen} leaves for after the resume, for one process or each of a tree. */
  private final class Capture {
    final ProcessDumper dumper;
    final List<ProcessTree.Member> members;
    final List<ProcessTree.Member> live;
    final List<ProcessDumper.Pending> pending = new java.util.ArrayList<>();
    /** The first process's mapping records, once {@link #complete} has read them. */
    List<ProcessImage.VmaRecord> rootVmas = List.of();

    Capture(ProcessDumper dumper, List<ProcessTree.Member> members, List<ProcessTree.Member> live) {
      this.dumper = dumper;
      this.members = members;
      this.live = live;
    }

    ImageWriter writer(ImageWriter w, int i) {
      return PartPrefix.writer(w, live.get(i).prefix(i == 0));
    }

    boolean snapshots() {
      return pending.stream().anyMatch(p -> p.snapshot != null);
    }

    long frozenBytes() {
      return pending.stream().mapToLong(p -> p.memory.bytesRead()).sum();
    }

    long snapshotBytes() {
      return pending.stream().filter(p -> p.snapshot != null).mapToLong(p -> Math.max(0, p.snapshot.privateBytes())).sum();
    }

    /** Reads the rest (from the snapshots), writes every process part, the tree part and the attributes. */
    long complete(ImageWriter w) throws CheckpointException {
      long bytes = 0;
      List<ProcessImage> images = new java.util.ArrayList<>();
      try {
        for (ProcessDumper.Pending p : pending) {
          ProcessDumper.Dumped d = dumper.finish(p, writer(w, images.size()));
          images.add(d.image());
          bytes += d.bytesRead();
        }
      } finally {
        pending.forEach(p -> p.process.close());
      }
      rootVmas = images.get(0).vmas();
      for (int i = 0; i < images.size(); i++) {
        ProcessDumper.write(writer(w, i), images.get(i));
      }
      w.attribute("kind", "process").attribute("exe", images.get(0).exe())
          .attribute("pid", Integer.toString(members.get(0).host()));
      if (members.size() > 1) {
        ProcessTree.write(w, members);
        w.attribute("processes", Integer.toString(members.size()));
      }
      return bytes;
    }

    /** Gives the dumpers' buffers back for the next checkpoint, once their reads are over. */
    void releaseBuffers() {
      for (ProcessDumper.Pending p : pending) {
        if (!p.buffersReleased) {
          p.buffersReleased = true;
          buffers.give(p.memory.buffers());
        }
      }
    }

    void endSnapshots() {
      for (ProcessDumper.Pending p : pending) {
        if (p.snapshot != null) {
          p.snapshot.end();
        }
        p.process.close();
      }
    }

    /** On the tracer thread: each process reaps its killed snapshot (the root through its tracer, the others seized briefly). */
    void reapSnapshots(Tracer.Traced root) {
      for (int i = 0; i < pending.size(); i++) {
        MemorySnapshot s = pending.get(i).snapshot;
        if (s == null) {
          continue;
        }
        if (i == 0) {
          reapSnapshot(root, s);
        } else {
          reapSnapshotInMember(live.get(i).host(), s);
        }
      }
    }
  }

  /** A process of a tree, running untraced: seized, stopped, made to reap its snapshot, and let go. */
  private static void reapSnapshotInMember(int host, MemorySnapshot s) {
    try {
      Sys.ptrace(Sys.PTRACE_SEIZE, host, 0, 0, "SEIZE(" + host + ")");
    } catch (ProcessException e) {
      return; // gone, or exiting: its own exit leaves the snapshot to init
    }
    try (Tracee process = new Tracee(host)) {
      Sys.ptrace(Sys.PTRACE_INTERRUPT, host, 0, 0, "INTERRUPT");
      for (int i = 0; i < 16; i++) {
        int st = Sys.waitpid(host, false);
        if (Sys.exited(st) || Sys.signaled(st)) {
          return;
        }
        if (Sys.event(st) == Sys.PTRACE_EVENT_STOP) {
          if (Sys.stopSignal(st) == Sys.SIGTRAP) {
            s.reapIn(process, process.findVdsoSyscall(process.maps()));
          }
          break;
        }
        Sys.ptrace(Sys.PTRACE_CONT, host, 0, Sys.event(st) == 0 ? Sys.stopSignal(st) : 0, "CONT");
      }
    } catch (ProcessException e) {
      org.slf4j.LoggerFactory.getLogger(NativeEngine.class).warn("pid {}: reaping its memory snapshot failed: {}", host,
          e.getMessage());
    } finally {
      try {
        Sys.ptrace(Sys.PTRACE_DETACH, host, 0, 0, "DETACH(" + host + ")");
      } catch (ProcessException ignored) {
        // Exited meanwhile.
      }
    }
  }

  /** Resumes a frozen process, unless it is gone. */
  private static void resumeIfAlive(Tracer.Traced t) {
    if (!ProcFs.alive(t.pid())) {
      return;
    }
    try {
      Sys.ptrace(Sys.PTRACE_CONT, t.pid(), 0, 0, "CONT");
    } catch (ProcessException ignored) {
      // Exiting meanwhile.
    }
  }

  public RestoredProcess restore(ImageReader r, Stdio stdio) throws CheckpointException {
    ProcessImage img = ProcessRestorer.readImage(r);
    ProcessRestorer restorer = new ProcessRestorer(identities, verifyRestore);
    List<ProcessTree.Member> tree = ProcessTree.read(r);
    if (tree != null) {
      List<ProcessImage> images = new java.util.ArrayList<>();
      boolean first = true;
      for (ProcessTree.Member m : tree) {
        if (!m.zombie()) {
          ProcessImage i = first ? img : ProcessImage.decode(r.info().ref(),
              r.readBytes(m.prefix(false) + ProcessImage.PART));
          restorer.preflight(i, r.info().ref());
          images.add(i);
          first = false;
        }
      }
      return tracer.call(() -> {
        int pid = restorer.restoreTree(r, tree, images, stdio);
        Tracer.Traced t = tracer.track(pid);
        t.held = false;
        return new Restored(t, r.info());
      });
    }
    restorer.preflight(img, r.info().ref());
    return tracer.call(() -> {
      int pid = restorer.restore(r, img, stdio);
      Tracer.Traced t = tracer.track(pid);
      t.held = false;
      return new Restored(t, r.info());
    });
  }

  public static dev.ckpt.linux.ProcessSummary describe(ImageReader r) throws CheckpointException {
    ProcessImage img = ProcessRestorer.readImage(r);
    Regs regs = Regs.of(img.thread().regs());
    long orig = regs.get(Regs.ORIG_RAX);
    String registers = String.format("rip 0x%x rsp 0x%x%s, %d bytes of XSAVE state", regs.get(Regs.RIP),
        regs.get(Regs.RSP), orig >= 0 ? " in system call " + orig : "", img.thread().xstate().length);
    List<String> maps = new java.util.ArrayList<>();
    for (ProcessImage.VmaRecord v : img.vmas()) {
      long pages = 0;
      for (int i = 1; i < v.dumped().length; i += 2) {
        pages += v.dumped()[i];
      }
      maps.add(String.format("%012x-%012x %s%s%s %-12s %s%s", v.start(), v.end(), (v.prot() & 1) != 0 ? "r" : "-",
          (v.prot() & 2) != 0 ? "w" : "-", (v.prot() & 4) != 0 ? "x" : "-", v.kind().name().toLowerCase(java.util.Locale.ROOT),
          v.path(), pages > 0 ? " (" + pages * 4 + " KiB dumped)" : ""));
    }
    List<String> fds = new java.util.ArrayList<>();
    for (ProcessImage.FdRecord f : img.fds()) {
      boolean pipe = f.kind() == ProcessImage.FdKind.PIPE || f.kind() == ProcessImage.FdKind.FIFO;
      fds.add(f.fd() + " " + f.kind().name().toLowerCase(java.util.Locale.ROOT) + " " + f.path()
          + ((f.flags() & 3) == 1 ? " (write end)" : (f.flags() & 3) == 0 && pipe ? " (read end)" : "")
          + (f.kind() == ProcessImage.FdKind.FILE ? " at " + f.pos() + " of " + f.size() : "")
          + (pipe ? ", " + f.size() + " unread bytes saved, capacity " + f.pos() : "")
          + (f.kind() == ProcessImage.FdKind.EVENTFD ? ", counter " + Long.toUnsignedString(f.pos()) : "")
          + (f.kind() == ProcessImage.FdKind.SIGNALFD ? String.format(", mask 0x%x", f.pos()) : "")
          + (f.kind() == ProcessImage.FdKind.UNIX ? ", " + f.pos() + " queued bytes saved" : "")
          + (f.kind() == ProcessImage.FdKind.TIMERFD ? String.format(", every %.6f s, next in %.6f s", f.size() / 1e9,
              f.pos() / 1e9) : ""));
    }
    List<String> signals = new java.util.ArrayList<>();
    StringBuilder handled = new StringBuilder();
    StringBuilder ignored = new StringBuilder();
    for (int sig = 1; sig <= img.sigactions().length; sig++) {
      long handler = java.nio.ByteBuffer.wrap(img.sigactions()[sig - 1]).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong(0);
      if (handler == 1) {
        ignored.append(' ').append(sig);
      } else if (handler != 0) {
        handled.append(' ').append(sig);
      }
    }
    signals.add("handled:" + (handled.length() == 0 ? " none" : handled));
    signals.add("ignored:" + (ignored.length() == 0 ? " none" : ignored));
    signals.add(String.format("blocked mask: 0x%x", img.thread().sigmask()));
    signals.add("pending: " + img.pendingPrivate().size() + " private, " + img.pendingShared().size() + " shared");
    String[] timers = {"real", "virtual", "prof"};
    for (int i = 0; i < img.itimers().length; i++) {
      java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(img.itimers()[i]).order(java.nio.ByteOrder.LITTLE_ENDIAN);
      long isec = b.getLong(), iusec = b.getLong(), vsec = b.getLong(), vusec = b.getLong();
      if (vsec != 0 || vusec != 0 || isec != 0 || iusec != 0) {
        signals.add(String.format("itimer %s: every %d.%06d s, next in %d.%06d s", timers[i], isec, iusec, vsec, vusec));
      }
    }
    if (img.thread().rseqPtr() != 0) {
      signals.add(String.format("rseq area at 0x%x", img.thread().rseqPtr()));
    }
    List<String> files = new java.util.ArrayList<>();
    for (ProcessImage.FileIdentity f : img.files()) {
      files.add(f.path() + " (" + f.size() + " bytes, sha256 " + f.sha256().substring(0, 16) + "…)");
    }
    List<String> attributes = new java.util.ArrayList<>();
    if (img.threads().size() > 1) {
      List<String> tids = img.threads().stream().map(th -> th.tid() + (th.name().isEmpty() ? "" : " (" + th.name() + ")")).toList();
      attributes.add("threads: " + tids.size() + ": " + Census.abbreviate(new java.util.ArrayList<>(tids)));
    }
    List<ProcessTree.Member> tree = ProcessTree.read(r);
    if (tree != null) {
      List<String> procs = new java.util.ArrayList<>();
      for (ProcessTree.Member m : tree) {
        procs.add(m.pid() + (m.ppid() == 0 ? " (root)" : " (parent " + m.ppid() + ")")
            + (m.zombie() ? " zombie, wait status " + m.waitStatus() : "")
            + (m.sid() == m.pid() ? ", session leader" : m.pgid() == m.pid() ? ", group leader" : ""));
      }
      attributes.add("process tree: " + tree.size() + " processes: " + String.join("; ", procs));
    }
    AttributeState.describe(img.attributes()).forEach((k, v) -> attributes.add(k + ": " + v));
    return new dev.ckpt.linux.ProcessSummary(img.exe(), img.cwd(), registers, maps, fds, signals, attributes, files);
  }

  @Override
  public void close() {
    tracer.close();
  }
}
