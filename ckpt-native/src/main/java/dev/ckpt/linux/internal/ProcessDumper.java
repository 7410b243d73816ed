package dev.ckpt.linux.internal;

import com.sun.jna.Memory;
import dev.ckpt.CheckpointException;
import dev.ckpt.ImageWriter;
import dev.ckpt.PartOutput;
import dev.ckpt.linux.FdPolicy;
import dev.ckpt.linux.ProcessException;
import dev.ckpt.linux.internal.ProcessImage.FileIdentity;
import dev.ckpt.linux.internal.ProcessImage.ThreadRecord;
import dev.ckpt.linux.internal.ProcessImage.VmaRecord;
import dev.ckpt.linux.internal.jna.Sys;
import dev.ckpt.linux.internal.proc.ProcFs;
import dev.ckpt.linux.internal.proc.Vma;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Captures a stopped process into an image: thread state, mappings and their contents, file
 * descriptors, signal state, mm fields and the identity of every file it maps. Runs on the
 * tracer thread; the process stays stopped throughout.
 */
final class ProcessDumper {
  static final int XSTATE_MAX = 16384;
  /** Tracee memory for injected calls: results in the first half, the batch code and table in the second. */
  private static final long SCRATCH = 16384;
  private final FileIdentities identities;
  /** Host pids of the processes checkpointed together (the process alone, or its tree). */
  private final Set<Integer> tree;

  ProcessDumper(FileIdentities identities) {
    this(identities, null);
  }

  ProcessDumper(FileIdentities identities, Set<Integer> tree) {
    this.identities = identities;
    this.tree = tree;
  }

  /** The root process's page tracker, if it has one (DirtyTracker), and this checkpoint's use of it. */
  private DirtyTracker tracker;
  private Tracking tracking;

  /** Where each process's memory dumper takes its buffers; null: made for it. */
  private MemoryDumper.Pool buffers;

  void buffers(MemoryDumper.Pool pool) {
    this.buffers = pool;
  }

  void track(DirtyTracker t, Tracking use) {
    this.tracker = t;
    this.tracking = use;
  }

  /**
   * One checkpoint's use of a process's page tracker, from its prescan to its commit. A scan
   * resets the pages it reports: once one ran ({@link #rearmed}), the tracker may count from this
   * checkpoint only if it commits, and is closed otherwise.
   */
  static final class Tracking {
    /** The tracker this checkpoint began ({@link DirtyTracker#begin}); null when it tracks nothing. */
    DirtyTracker tracker;
    /** The writer has the tracker's base checkpoint as its base. */
    boolean based;
    boolean rearmed;
    Map<Long, long[]> before = Map.of();
    Map<Long, long[]> written = Map.of();
    boolean scanned;
    long scanNanos;
    /** Time spent reading the snapshots after the freeze, for the debug log of phases. */
    long snapshotReadNanos;
    /** Some mapping was dumped against the base. */
    boolean used;
    java.util.function.Supplier<List<VmaRecord>> rootVmas = List::of;

    void committed(dev.ckpt.CheckpointInfo info) {
      if (tracker == null) {
        return;
      }
      if (rearmed && scanned) {
        tracker.committed(info, rootVmas.get());
      } else if (rearmed) {
        tracker.close();
      } else {
        tracker.end();
      }
      tracker = null;
    }

    void failed() {
      if (tracker == null) {
        return;
      }
      if (rearmed) {
        tracker.close();
      } else {
        tracker.end();
      }
      tracker = null;
    }
  }

  /**
   * smaps flags without the {@code uw} that the tracker's own registration shows: the census
   * refuses a process's own userfaultfd, not ckpt's.
   */
  static Map<Long, Set<String>> withoutTracker(int pid, Map<Long, Set<String>> flags, List<Vma> maps, DirtyTracker tracker) {
    if (tracker == null || tracker.pid() != pid || !tracker.created()) {
      return flags;
    }
    Map<Long, Set<String>> out = new java.util.HashMap<>(flags);
    for (Vma v : maps) {
      Set<String> f = out.get(v.start());
      if (f != null && f.contains("uw") && tracker.owns(v)) {
        Set<String> less = new java.util.HashSet<>(f);
        less.remove("uw");
        out.put(v.start(), less);
      }
    }
    return out;
  }

  /**
   * The mappings' flags as the census before the freeze read them, for a process dumped alone.
   * Reading /proc/PID/smaps walks every page table entry (15 ms for 512 MiB resident), and the
   * freeze needs only the flags: with a snapshot, the freeze uses these, and {@link #finish}
   * checks them against the snapshot's own smaps, which has the flags of the fork's moment.
   */
  private Map<Long, Set<String>> censusFlags;

  void censusFlags(Map<Long, Set<String>> flags) {
    this.censusFlags = flags;
  }

  /** Set by {@link #dumpFrozen}: capture makes a snapshot while its injected calls run. */
  private boolean snapshotWanted;
  private MemorySnapshot snapshotTaken;

  private Set<Integer> tree(int pid) {
    return tree == null ? Set.of(pid) : tree;
  }

  /** Who holds what outside the checkpoint: scanned once per checkpoint, for all its processes. */
  private PipeState.Outside outside;

  /** Where the listing of the descriptors outside a process alone goes, to run on another thread; null: none. */
  private java.util.concurrent.BlockingQueue<Runnable> aside;

  /**
   * For a process alone: {@link #capture} hands the listing of the descriptors outside it to
   * {@code aside}, whose thread runs it while the injected calls do theirs. It starts once every
   * thread is frozen and ckpt's own copies of the process's descriptors are closed again (those
   * of an epoll's watched files, which the listing would take for holders outside).
   */
  void listAside(java.util.concurrent.BlockingQueue<Runnable> queue) {
    this.aside = queue;
  }

  private PipeState.Outside outside(int pid) {
    if (outside == null || !outside.inside().equals(tree(pid))) {
      outside = new PipeState.Outside(tree(pid));
    }
    return outside;
  }

  /** A process's memory written into {@code w}, and its image, not yet written. */
  record Dumped(ProcessImage image, long bytesRead) {}

  /** Writes the process part of an image. */
  static void write(ImageWriter w, ProcessImage image) throws CheckpointException {
    byte[] encoded = image.encode();
    try (PartOutput out = w.part(ProcessImage.PART, Map.of("kind", "process-state", "version",
        Integer.toString(ProcessImage.VERSION)))) {
      out.write(ByteBuffer.wrap(encoded));
    }
  }

  /**
   * A dump in two halves around the process's resume. Frozen: its state, and, with
   * {@code snapshot}, a copy-on-write fork of it (MemorySnapshot) made by an injected clone3;
   * then the mappings the fork does not hold as they were (shared memory, MADV_DONTFORK,
   * MADV_WIPEONFORK) are read from the process itself. Everything else is read by
   * {@link #finish} from the snapshot, while the process runs on. Without a snapshot (not
   * asked, or the fork failed) everything is read here.
   */
  Pending dumpFrozen(Tracee t, ImageWriter w, FdPolicy policy, boolean snapshot) throws CheckpointException {
    this.snapshotWanted = snapshot;
    ProcessImage state;
    try {
      state = capture(t, policy, w);
    } catch (CheckpointException | RuntimeException e) {
      if (snapshotTaken != null) {
        snapshotTaken.end();
        snapshotTaken = null;
      }
      throw e;
    }
    // The descriptions this process shares among its own fds, compared while it is frozen.
    state = ProcessTree.shareDescriptions(List.of(t.pid), List.of(state.thread().tid()), List.of(state)).get(0);
    Pending p = new Pending(t, state, snapshotTaken,
        new MemoryDumper(buffers == null ? MemoryDumper.Buffers.allocate() : buffers.take()));
    snapshotTaken = null;
    p.flagsToVerify = flagsToVerify;
    p.frozenMaps = mapsUsed;
    flagsToVerify = null;
    try {
      frozenMemory(p, t, w);
    } catch (CheckpointException | RuntimeException e) {
      if (p.snapshot != null) {
        p.snapshot.end();
      }
      throw e;
    }
    return p;
  }

  private void frozenMemory(Pending p, Tracee t, ImageWriter w) throws CheckpointException {
    ProcessImage state = p.state;
    Map<Long, VmaRecord> captured = new java.util.HashMap<>();
    for (VmaRecord r : state.vmas()) {
      captured.put(r.start(), r);
    }
    p.files.add(state.exe());
    w.checkDeadline();
    for (Vma v : t.maps()) {
      VmaRecord c = captured.get(v.start());
      if (p.snapshot != null && c != null && MemorySnapshot.holds(c)) {
        p.deferred.add(v);
        p.records.add(null);
        p.captured.put(v.start(), c);
      } else {
        VmaRecord r = p.memory.dump(t, v, w);
        if (r != null) {
          if (c == null || c.end() != r.end()) {
            throw new ProcessException(t.pid, "mapping " + v.name() + " changed while the process was stopped");
          }
          p.records.add(r.withFlags(c.prot() & ~7));
        }
      }
      if (v.fileBacked() && !v.memfd() && !v.sharedAnonymous() && MemoryDumper.kind(v) != ProcessImage.VmaKind.OWNED_FILE) {
        p.files.add(v.path());
      }
    }
  }

  /** What {@link #dumpFrozen} left: the mappings to read from the snapshot, in their order among the others. */
  static final class Pending {
    final Tracee process;
    /** Replaced while frozen once the descriptions shared across a tree are known. */
    ProcessImage state;
    final MemorySnapshot snapshot;
    final MemoryDumper memory;
    final List<Vma> deferred = new ArrayList<>();
    final Map<Long, VmaRecord> captured = new java.util.HashMap<>();
    /** Dumped records in map order; null where a deferred mapping goes. */
    final List<VmaRecord> records = new ArrayList<>();
    final Set<String> files = new LinkedHashSet<>();
    /** The census's flags the freeze used, to check against the snapshot's (see censusFlags); null: read while frozen. */
    Map<Long, Set<String>> flagsToVerify;
    List<Vma> frozenMaps;
    /** By mapping start, the pages written since the writer's base (DirtyTracker#rearm); null: read all. */
    Map<Long, long[]> written;
    DirtyTracker tracker;
    /** Its dumper's buffers went back to the pool: nothing reads into them any more. */
    boolean buffersReleased;

    Pending(Tracee process, ProcessImage state, MemorySnapshot snapshot, MemoryDumper memory) {
      this.process = process;
      this.memory = memory;
      this.state = state;
      this.snapshot = snapshot;
    }
  }

  /**
   * Reads the deferred mappings from the snapshot (on any thread: only memory reads) and
   * assembles the image. The snapshot itself is ended by its owner ({@link MemorySnapshot#end}).
   */
  Dumped finish(Pending p, ImageWriter w) throws CheckpointException {
    int pid = p.process.pid;
    if (p.flagsToVerify != null) {
      int child = p.snapshot.host();
      verifyFlags(pid, p.flagsToVerify, p.frozenMaps, readFlags(child), p.snapshot.tracee().maps(), true);
    }
    ProcessImage state = p.state;
    List<VmaRecord> vmas = new ArrayList<>();
    int next = 0;
    for (VmaRecord r : p.records) {
      if (r != null) {
        vmas.add(r);
        continue;
      }
      Vma v = p.deferred.get(next++);
      VmaRecord c = p.captured.get(v.start());
      long[] changed = p.written == null ? null : p.written.get(v.start());
      VmaRecord got = p.memory.dump(p.snapshot.tracee(), v, w, changed, changed == null ? null : p.tracker.base(v.start()));
      if (got != null) {
        vmas.add(got.withFlags(c.prot() & ~7));
      }
    }
    List<FileIdentity> ids = new ArrayList<>();
    for (String f : p.files) {
      try {
        ids.add(identities.of(f));
      } catch (IOException e) {
        throw new ProcessException(pid, "cannot identify mapped file " + f + ": " + e, 0, e);
      }
    }
    ProcessImage image = new ProcessImage(state.uid(), state.exe(), state.cwd(), state.umask(), state.mm(), state.auxv(),
        vmas, state.threads(), state.fds(), state.sigactions(), state.pendingPrivate(), state.pendingShared(),
        state.itimers(), ids, state.attributes());
    return new Dumped(image, p.memory.bytesRead());
  }

  private Map<Long, Set<String>> flagsToVerify;
  private List<Vma> mapsUsed;

  /**
   * Whether {@code flags} can stand for the frozen process's: it has an entry for every mapping of
   * {@code maps} (none was made since it was read), and none is MADV_DONTFORK (the snapshot lacks
   * those, so their other flags could not be checked against it).
   */
  private static boolean covers(Map<Long, Set<String>> flags, List<Vma> maps) {
    for (Vma v : maps) {
      if (v.path().equals("[vsyscall]")) {
        continue;
      }
      Set<String> f = flags.get(v.start());
      if (f == null || f.contains("dc")) {
        return false;
      }
    }
    return true;
  }

  /**
   * Whether the frozen process holds no userfaultfd. With one, a range it registered after the
   * census would not show in the snapshot (the fork clears the registrations) and, with
   * UFFD_FEATURE_EVENT_FORK, the snapshot's fork would wait for its frozen reader: its flags are
   * read while frozen, and the census refuses it there as before.
   */
  private static boolean noUserfaultfd(int pid) throws ProcessException {
    Path fds = ProcFs.dir(pid).resolve("fd");
    try (java.util.stream.Stream<Path> list = Files.list(fds)) {
      for (Path fd : (Iterable<Path>) list::iterator) {
        try {
          if (Files.readSymbolicLink(fd).toString().equals("anon_inode:[userfaultfd]")) {
            return false;
          }
        } catch (IOException closed) {
          // Closed while listed: the process is frozen, so it was ckpt's own scratch descriptor.
        }
      }
      return true;
    } catch (IOException e) {
      throw new ProcessException(pid, "listing /proc/" + pid + "/fd failed (did it exit?): " + e, 0, e);
    }
  }

  private static Map<Long, Set<String>> readFlags(int pid) throws ProcessException {
    try {
      return ProcFs.vmFlags(pid);
    } catch (IOException e) {
      throw new ProcessException(pid, "reading /proc/" + pid + "/smaps failed (did it exit?): " + e, 0, e);
    }
  }

  /**
   * Checks that the flags the freeze used ({@code used}, read by the census before it) are those
   * of the frozen process: {@code actual} (by mapping start) and {@code actualMaps} are its smaps
   * and maps, or (with {@code ofFork}) its snapshot's, where mlock and userfaultfd flags are
   * cleared by the fork. Each mapping is looked up in the mapping that contains it, which may
   * have merged with a neighbour of the same flags (ckpt's scratch mapping, say). A mapping
   * advised in between (madvise, mprotect…) fails the checkpoint, before anything is committed:
   * the next checkpoint reads them again.
   */
  static void verifyFlags(int pid, Map<Long, Set<String>> used, List<Vma> maps, Map<Long, Set<String>> actual,
      List<Vma> actualMaps, boolean ofFork) throws ProcessException {
    java.util.TreeMap<Long, Vma> byStart = new java.util.TreeMap<>();
    for (Vma a : actualMaps) {
      byStart.put(a.start(), a);
    }
    for (Vma v : maps) {
      if (v.path().equals("[vsyscall]")) {
        continue;
      }
      Set<String> before = used.getOrDefault(v.start(), Set.of());
      Map.Entry<Long, Vma> holder = byStart.floorEntry(v.start());
      Set<String> now = holder == null || holder.getValue().end() < v.end() ? null : actual.get(holder.getKey());
      if (now == null || !VmaFlags.relevant(before).equals(VmaFlags.relevant(now))) {
        throw new ProcessException(pid, "the flags of mapping " + v.name() + " changed between the census and the freeze ("
            + VmaFlags.relevant(before) + " then " + (now == null ? "absent" : VmaFlags.relevant(now))
            + (ofFork ? ", in its snapshot" : "") + "): nothing was committed; checkpoint it again");
      }
    }
  }

  /**
   * The parts of the census that need no stop, run on the running process: /proc state, the fd
   * table and who else holds its pipes. A refusal here leaves the process untouched.
   */
  static Map<Long, Set<String>> precheck(int pid, FdPolicy policy, PipeState.Outside tree, DirtyTracker tracker)
      throws CheckpointException {
    Map<String, String> status;
    String[] stat;
    List<Vma> maps;
    Map<Long, Set<String>> vmFlags;
    try {
      status = ProcFs.status(pid);
      stat = ProcFs.stat(pid);
      maps = ProcFs.maps(pid);
      vmFlags = ProcFs.vmFlags(pid);
    } catch (IOException e) {
      throw new ProcessException(pid, "reading /proc/" + pid + " failed (did it exit?): " + e, 0, e);
    }
    // Children are members: one forked since the tree was listed is frozen with it, and the
    // census while frozen sees it.
    Census.check(pid, status, stat, maps, withoutTracker(pid, vmFlags, maps, tracker), true);
    List<ProcessImage.FdRecord> fds = FdDumper.dump(pid, policy, true);
    PipeState.checkPeers(pid, fds, policy, tree);
    UnixSockets.check(pid, fds, policy, tree);
    return vmFlags;
  }

  /**
   * Everything about a stopped process but its memory contents and file identities, after the
   * census has accepted it. With a writer, pipes are resolved and their unread bytes stored;
   * without one (verifying a restore) pipe descriptors are listed as they are.
   */
  ProcessImage capture(Tracee t, FdPolicy policy, ImageWriter w) throws CheckpointException {
    int pid = t.pid;
    Path proc = ProcFs.dir(pid);
    Map<String, String> status;
    String exe;
    String cwd;
    String[] stat;
    byte[] auxv;
    try {
      status = ProcFs.status(pid);
      exe = Files.readSymbolicLink(proc.resolve("exe")).toString();
      cwd = Files.readSymbolicLink(proc.resolve("cwd")).toString();
      stat = ProcFs.stat(pid);
      auxv = Files.readAllBytes(proc.resolve("auxv"));
    } catch (IOException e) {
      throw new ProcessException(pid, "reading /proc/" + pid + " failed (did it exit?): " + e, 0, e);
    }
    List<Vma> maps = t.maps();
    Map<Long, Set<String>> vmFlags = snapshotWanted && w != null && censusFlags != null && covers(censusFlags, maps)
        && noUserfaultfd(pid) ? censusFlags : null;
    flagsToVerify = vmFlags;
    mapsUsed = maps;
    if (vmFlags == null) {
      try {
        vmFlags = ProcFs.vmFlags(pid);
      } catch (IOException e) {
        throw new ProcessException(pid, "reading /proc/" + pid + "/smaps failed (did it exit?): " + e, 0, e);
      }
    }
    Census.check(pid, status, stat, maps, withoutTracker(pid, vmFlags, maps, tracker), tree(pid).size() > 1);
    int uid = Integer.parseInt(status.get("Uid").split("\\s+")[0]);
    int umask = Integer.parseInt(status.getOrDefault("Umask", "0022"), 8);

    Regs regs = t.getRegs();
    byte[] xstate = t.getRegset(Sys.NT_X86_XSTATE, XSTATE_MAX);
    long sigmask;
    long rseqPtr;
    int rseqLen;
    int rseqSig;
    try (Memory m = new Memory(32)) {
      m.clear();
      Sys.ptrace(Sys.PTRACE_GETSIGMASK, pid, 8, m, "GETSIGMASK");
      sigmask = m.getLong(0);
      m.clear();
      Sys.ptrace(Sys.PTRACE_GET_RSEQ_CONFIGURATION, pid, 24, m, "GET_RSEQ_CONFIGURATION");
      rseqPtr = m.getLong(0);
      rseqLen = m.getInt(8);
      rseqSig = m.getInt(12);
    }
    List<ProcessImage.FdRecord> fds = FdDumper.dump(pid, policy, w != null);
    if (w != null && aside != null && tree == null) {
      outside = PipeState.Outside.ahead(Set.of(pid));
      aside.add(outside.listing());
    }
    byte[][] sigactions;
    byte[][] itimers;
    long brk;
    Map<String, long[]> attributes;
    long clearTid;
    List<ThreadRecord> threads = new ArrayList<>();
    long site = t.findVdsoSyscall(maps);
    t.beginInjection(site);
    try {
      // Executable too, for the batch of 64 rt_sigaction calls: one round trip instead of 64.
      // Where writable code is forbidden (an LSM's execmem rule), one call at a time.
      long scratch;
      boolean executable = true;
      try {
        scratch = t.call("mmap(scratch)", Sys.SYS_MMAP, 0, SCRATCH, Sys.PROT_READ | Sys.PROT_WRITE | Sys.PROT_EXEC,
            Sys.MAP_PRIVATE | Sys.MAP_ANONYMOUS, -1, 0);
      } catch (ProcessException e) {
        if (e.errno() != dev.ckpt.linux.internal.jna.Errno.EACCES && e.errno() != dev.ckpt.linux.internal.jna.Errno.EPERM) {
          throw e;
        }
        executable = false;
        scratch = t.call("mmap(scratch)", Sys.SYS_MMAP, 0, SCRATCH, Sys.PROT_READ | Sys.PROT_WRITE,
            Sys.MAP_PRIVATE | Sys.MAP_ANONYMOUS, -1, 0);
      }
      sigactions = executable ? SignalDumper.sigactionsBatched(t, scratch + SCRATCH / 2)
          : SignalDumper.sigactions(t, scratch);
      itimers = SignalDumper.itimers(t, scratch);
      brk = t.call("brk(0)", 12, 0);
      attributes = AttributeState.dump(t, scratch, executable ? scratch + SCRATCH / 2 : -1, stat);
      TimerState.dump(t, scratch, attributes, w != null);
      clearTid = ThreadDumper.clearTid(t, scratch);
      threads.add(null); // the main thread, below
      for (int tid : ThreadDumper.tids(pid)) {
        if (tid != pid) {
          threads.add(ThreadDumper.capture(pid, tid, site, scratch, executable ? scratch + SCRATCH / 2 : -1));
        }
      }
      if (w != null) {
        // After the injected calls, which the listing of the processes outside overlaps, and
        // before the snapshot's fork: the snapshot shares the fd table and must not be listed.
        try {
          PipeState.Outside outside = outside(pid);
          fds = FdDumper.rewireSharedStdio(outside, PipeState.dump(pid, fds, policy, w, outside));
          fds = UnixSockets.dump(pid, fds, policy, w, outside);
        } catch (CheckpointException | RuntimeException e) {
          // A refusal here ("held outside…") leaves a process that runs on: without ckpt's page.
          try {
            t.call("munmap(scratch)", Sys.SYS_MUNMAP, scratch, SCRATCH);
          } catch (ProcessException unmapped) {
            e.addSuppressed(unmapped);
          }
          throw e;
        }
      }
      if (tracking != null && tracking.tracker != null && w != null && snapshotWanted) {
        DirtyTracker tr = tracking.tracker;
        // The process may have exec'd since the check before the freeze: its registrations
        // were of the old memory, and a new userfaultfd is made for the new.
        tr.alive();
        if (!tr.created()) {
          tr.create(t); // before the fork, which must not inherit its descriptor
        }
        if (tr.created()) {
          // Last before the fork: a write after this scan is reported by the next one, and
          // one before it is in the snapshot.
          long at = System.nanoTime();
          tracking.written = tr.rearm(t.maps(), tracking.before);
          tracking.scanNanos = System.nanoTime() - at;
          tracking.scanned = true;
        }
      }
      if (snapshotWanted && w != null) {
        // Last, after every other injected call, so the fork's copy of memory is the state read.
        snapshotTaken = MemorySnapshot.fork(t, scratch);
      }
      t.call("munmap(scratch)", Sys.SYS_MUNMAP, scratch, SCRATCH);
      if (flagsToVerify != null && snapshotTaken == null) {
        // No snapshot to check them against later: checked now, while frozen, with the census
        // run again on them (a userfaultfd registered in between is refused as before).
        Map<Long, Set<String>> actual = readFlags(pid);
        Census.check(pid, status, stat, maps, withoutTracker(pid, actual, maps, tracker), tree(pid).size() > 1);
        verifyFlags(pid, flagsToVerify, maps, actual, maps, false);
        flagsToVerify = null;
      }
    } catch (ProcessException | RuntimeException e) {
      if (snapshotTaken != null) {
        snapshotTaken.end();
        snapshotTaken = null;
      }
      throw e;
    } finally {
      t.endInjection();
    }
    // After the timers were read: one that fired meanwhile has its signal pending by now (the
    // injected calls run with signals blocked), so timers and pending signals agree.
    List<byte[]> pendingPrivate = SignalDumper.pending(t, false);
    List<byte[]> pendingShared = SignalDumper.pending(t, true);
    if (w != null) {
      List<byte[]> pending = new ArrayList<>(pendingPrivate);
      pending.addAll(pendingShared);
      for (ThreadRecord other : threads.subList(1, threads.size())) {
        pending.addAll(other.pending()); // a timer aimed at that thread queues there
      }
      TimerState.markPendingTimerSignals(t.pid, attributes, pending);
    }
    long[] mm = {
      Long.parseUnsignedLong(stat[26]), Long.parseUnsignedLong(stat[27]), Long.parseUnsignedLong(stat[45]),
      Long.parseUnsignedLong(stat[46]), Long.parseUnsignedLong(stat[47]), brk, Long.parseUnsignedLong(stat[28]),
      Long.parseUnsignedLong(stat[48]), Long.parseUnsignedLong(stat[49]), Long.parseUnsignedLong(stat[50]),
      Long.parseUnsignedLong(stat[51])};
    List<VmaRecord> vmas = new ArrayList<>();
    for (Vma v : maps) {
      VmaRecord r = MemoryDumper.record(v);
      if (r != null) {
        vmas.add(r.withFlags(VmaFlags.encode(vmFlags.getOrDefault(v.start(), Set.of()),
            r.kind() == ProcessImage.VmaKind.FILE_SHARED)));
      }
    }
    long[] robust = ThreadDumper.robustList(pid, pid);
    threads.set(0, new ThreadRecord(ThreadDumper.namespaceId(status, pid), regs.bytes(), xstate, sigmask, rseqPtr, rseqLen,
        rseqSig, clearTid, robust[0], robust[1], new byte[0], ThreadDumper.name(pid, pid), List.of()));
    return new ProcessImage(uid, exe, cwd, umask, mm, auxv, vmas, threads, fds, sigactions,
        pendingPrivate, pendingShared, itimers, List.of(), attributes);
  }
}
