package dev.ckpt.linux.internal;

import com.sun.jna.LastErrorException;
import dev.ckpt.CheckpointException;
import dev.ckpt.ImageReader;
import dev.ckpt.PartSink;
import dev.ckpt.linux.ProcessException;
import dev.ckpt.linux.Stdio;
import dev.ckpt.linux.internal.ProcessImage.FdKind;
import dev.ckpt.linux.internal.ProcessImage.FdRecord;
import dev.ckpt.linux.internal.ProcessImage.FileIdentity;
import dev.ckpt.linux.internal.ProcessImage.VmaKind;
import dev.ckpt.linux.internal.ProcessImage.VmaRecord;
import dev.ckpt.linux.internal.jna.Errno;
import dev.ckpt.linux.internal.jna.LibC;
import dev.ckpt.linux.internal.jna.Sys;
import dev.ckpt.linux.internal.proc.ProcFs;
import dev.ckpt.linux.internal.proc.Vma;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Rebuilds a process from an image inside a fresh process of the same executable, held at its
 * exec stop: every step is a system call injected into it. On any failure the half-built process
 * is killed and the error names the step.
 */
final class ProcessRestorer {
  private static final Logger LOG = LoggerFactory.getLogger(ProcessRestorer.class);
  static final long PAGE = 4096;
  private static final long SCRATCH_SIZE = 1 << 20;
  private static final long DATA = PAGE;
  private static final long TEMP = 64 * 1024;
  /** Where the batched injected calls run: clear of the vDSO parking at TEMP and the pipe bytes above DATA + 256 KiB. */
  private static final long BATCH = 192 * 1024;
  private static final int PROT_RW = Sys.PROT_READ | Sys.PROT_WRITE;
  private static final int MAP_SHARED = Sys.MAP_SHARED, MAP_PRIVATE = Sys.MAP_PRIVATE, MAP_FIXED = Sys.MAP_FIXED,
      MAP_ANON = Sys.MAP_ANONYMOUS, MAP_GROWSDOWN = Sys.MAP_GROWSDOWN, MAP_FIXED_NOREPLACE = Sys.MAP_FIXED_NOREPLACE;
  private static final int O_ACCMODE = Sys.O_ACCMODE, O_CREAT = Sys.O_CREAT, O_EXCL = Sys.O_EXCL, O_NOCTTY = Sys.O_NOCTTY,
      O_TRUNC = Sys.O_TRUNC, O_CLOEXEC = Sys.O_CLOEXEC;
  private static final int SYS_DUP3 = Sys.SYS_DUP3;
  private static final int PR_SET_MM = Sys.PR_SET_MM, PR_SET_MM_MAP = Sys.PR_SET_MM_MAP;

  private final FileIdentities identities;
  private final boolean verify;
  private String step = "start";

  /** With {@code verify}, the rebuilt process's state is read back and compared with the image before it runs. */
  ProcessRestorer(FileIdentities identities, boolean verify) {
    this.identities = identities;
    this.verify = verify;
  }

  static ProcessImage readImage(ImageReader r) throws CheckpointException {
    if (!"process".equals(r.attributes().get("kind"))) {
      throw new CheckpointException("checkpoint " + r.info().ref() + " is not a process image (kind "
          + r.attributes().get("kind") + ")");
    }
    return ProcessImage.decode(r.info().ref(), r.readBytes(ProcessImage.PART));
  }

  /** Checks what can be checked before any process exists. */
  void preflight(ProcessImage img, String ref) throws CheckpointException {
    int uid = LibC.getuid();
    if (img.uid() != uid) {
      throw new CheckpointException("checkpoint " + ref + " was taken from a process of uid " + img.uid()
          + "; restore runs as uid " + uid + " and restores only its own processes");
    }
    for (FileIdentity f : img.files()) {
      String why = identities.mismatch(f);
      if (why != null) {
        throw new CheckpointException("checkpoint " + ref + " needs " + f.path() + " as it was at checkpoint time: " + why);
      }
    }
    writtenFilesCanBeFitted(img, ref);
    for (VmaRecord v : img.vmas()) {
      if (v.kind() == VmaKind.OWNED_FILE) {
        String owner = Path.of(v.path()).getFileName().toString();
        if (ProcFs.alive(Integer.parseInt(owner))) {
          throw new CheckpointException("checkpoint " + ref + " maps " + v.path() + ", its own performance-counter file,"
              + " but pid " + owner + " on this host is alive and owns that file now: restore once it is gone, or run"
              + " the JVM with -XX:+PerfDisableSharedMem");
        }
      }
    }
    Map<String, Long> here = specials(ownMaps());
    Map<String, Long> saved = new HashMap<>();
    for (VmaRecord v : img.vmas()) {
      if (isSpecial(v.kind())) {
        saved.put(v.path(), v.length());
      }
    }
    if (!here.equals(saved)) {
      throw new CheckpointException("checkpoint " + ref + " was taken under a kernel with vDSO layout " + saved
          + "; this kernel has " + here + ": restore needs the same kernel");
    }
  }

  private static List<Vma> ownMaps() throws CheckpointException {
    try {
      return ProcFs.parseMaps(Files.readString(Path.of("/proc/self/maps")));
    } catch (IOException e) {
      throw new CheckpointException("reading /proc/self/maps failed: " + e, e);
    }
  }

  private static Map<String, Long> specials(List<Vma> maps) {
    Map<String, Long> m = new HashMap<>();
    for (Vma v : maps) {
      VmaKind k = MemoryDumper.kind(v);
      if (isSpecial(k)) {
        m.put(v.path(), v.length());
      }
    }
    return m;
  }

  static boolean isSpecial(VmaKind k) {
    return k == VmaKind.VDSO || k == VmaKind.VVAR || k == VmaKind.VVAR_VCLOCK;
  }

  /** Whether the image is restored in a user and pid namespace of its own, with its pid and tids. */
  static boolean namespaced(ProcessImage img) {
    return img.threads().size() > 1;
  }

  /**
   * On the tracer thread: launches the executable and rebuilds the image in it. A multi-threaded
   * image is rebuilt in a user and pid namespace of its own, where its pid and tids are given
   * back; a single-threaded one runs under a new pid, as in the checkpointer's namespace.
   */
  int restore(ImageReader r, ProcessImage img, Stdio stdio) throws CheckpointException {
    String ref = r.info().ref();
    int pid = 0;
    List<Integer> others = new ArrayList<>();
    int launched = 0;
    try {
      Tracee t;
      long[] caps = null;
      List<Integer> ids = img.threads().stream().map(ProcessImage.ThreadRecord::tid).toList();
      // A single-threaded process gets its pid back too when the checkpointer may choose host
      // pids and the pid is free right now; otherwise it runs under a new pid, as before.
      boolean threaded = namespaced(img);
      boolean host = PidNamespace.mayChooseHostIds()
          && (threaded ? PidNamespace.hostIdsFree(ids) : PidNamespace.hostIdsFreeNow(ids));
      if (threaded || host) {
        if (!host) {
          step = "check namespace";
          PidNamespace.check(ref);
        }
        LOG.debug("restoring {} threads of pid {} {}", ids.size(), img.thread().tid(),
            host ? "with their host ids" : "in a user and pid namespace of their own");
        step = host ? "launch" : "namespace";
        PidNamespace.Launched ns = host ? PidNamespace.launchHost(img.exe(), stdio) : PidNamespace.launch(img.exe(), stdio);
        launched = ns.init(); // killing the namespace's pid 1 ends what was made
        // On the host the launched executable already runs with the checkpointer's capabilities.
        caps = host ? null : PidNamespace.ownCapabilities();
        step = "create pid " + img.thread().tid();
        pid = PidNamespace.createProcess(ns.init(), img.thread().tid());
        // A session leader, as a process started by ckpt's launcher is (and the plain path makes it).
        TreeBuilder.join(pid, img.thread().tid(), img.thread().tid(), img.thread().tid(), -1);
        t = new Tracee(pid, img.thread().tid());
      } else {
        step = "launch";
        Launcher.Spawned spawned = Launcher.spawnStopped(List.of(img.exe()), stdio);
        pid = spawned.pid();
        t = new Tracee(pid);
        step = "seize";
        Launcher.seizeUntilExec(spawned, Sys.PTRACE_O_EXITKILL);
      }
      try (t) {
        SharedMemory shm = new SharedMemory();
        shm.note(img);
        List<ThreadRestorer.Created> threads = rebuild(t, r, img, caps, null, shm, others);
        if (verify) {
          step = "verify";
          List<String> diff = RestoreCheck.differences(img,
              new ProcessDumper(identities).capture(t, dev.ckpt.linux.FdPolicy.FAIL, null));
          if (!diff.isEmpty()) {
            throw new ProcessException(pid, "the rebuilt process differs from the image, so it was not let run: "
                + String.join("; ", diff.subList(0, Math.min(5, diff.size())))
                + (diff.size() > 5 ? "; and " + (diff.size() - 5) + " more" : ""));
          }
        }
        int main = pid;
        run("resume", () -> {
          Sys.ptrace(Sys.PTRACE_SETOPTIONS, main, 0, 0, "SETOPTIONS");
          settle(t, img, threads, true);
          ThreadRestorer.release(threads);
          continueMain(main);
        });
        return pid;
      }
    } catch (CheckpointException | RuntimeException e) {
      if (pid != 0) {
        PidNamespace.kill(pid);
        ThreadDumper.reap(others);
      }
      if (launched != 0) {
        PidNamespace.kill(launched);
      }
      throw new CheckpointException("restore of " + ref + " failed at step '" + step + "'"
          + (pid != 0 ? " (half-built pid " + pid + " killed)" : "") + ": " + e.getMessage(), e);
    }
  }

  /**
   * On the tracer thread: rebuilds a process tree with its pids, in a user and pid namespace of
   * its own unless the checkpointer may choose host pids and they are free. First the skeleton
   * (every process made by its parent, in its session and group, zombies ended), then each live
   * process rebuilt, parents first: a descriptor shared with an earlier process is taken from it,
   * a pipe made once. Nothing runs until every process is built and checked; on any failure every
   * process made is killed and the error names the process and the step. Returns the root's host pid.
   */
  int restoreTree(ImageReader r, List<ProcessTree.Member> members, List<ProcessImage> images, Stdio stdio)
      throws CheckpointException {
    String ref = r.info().ref();
    Map<Integer, Integer> hosts = new java.util.LinkedHashMap<>();
    List<Integer> threads = new ArrayList<>();
    int launched = 0;
    ProcessTree.Member root = members.get(0);
    String who = "pid " + root.pid();
    try {
      List<Integer> ids = new ArrayList<>();
      members.forEach(m -> ids.add(m.pid()));
      images.forEach(i -> i.threads().subList(1, i.threads().size()).forEach(th -> ids.add(th.tid())));
      boolean host = PidNamespace.mayChooseHostIds() && PidNamespace.hostIdsFree(ids);
      if (!host) {
        step = "check namespace";
        PidNamespace.check(ref);
      }
      LOG.debug("restoring a tree of {} processes under pid {} {}", members.size(), root.pid(),
          host ? "with their host ids" : "in a user and pid namespace of their own");
      step = host ? "launch" : "namespace";
      PidNamespace.Launched ns = host ? PidNamespace.launchHost(images.get(0).exe(), stdio)
          : PidNamespace.launch(images.get(0).exe(), stdio);
      launched = ns.init();
      long[] caps = host ? null : PidNamespace.ownCapabilities();
      step = "create";
      PidNamespace.Created made = PidNamespace.create(ns.init(), root.pid());
      hosts.put(root.pid(), made.host());
      TreeBuilder.join(made.host(), root.pid(), root.pgid(), root.sid(), -1);
      Map<Integer, ProcessTree.Member> byPid = new HashMap<>();
      members.forEach(m -> byPid.put(m.pid(), m));
      for (ProcessTree.Member m : members.subList(1, members.size())) {
        who = "pid " + m.pid();
        step = "create";
        int child = TreeBuilder.fork(hosts.get(m.ppid()), m.ppid(), m.pid(), made.page());
        hosts.put(m.pid(), child);
        step = "session and group";
        TreeBuilder.join(child, m.pid(), m.pgid(), m.sid(), byPid.get(m.ppid()).pgid());
        if (m.zombie()) {
          step = "zombie";
          TreeBuilder.becomeZombie(child, m.pid(), m.waitStatus(), made.page());
        }
      }
      PipeState.Shared shared = new PipeState.Shared();
      java.util.Set<Integer> hostSet = new java.util.HashSet<>(hosts.values());
      List<ProcessTree.Member> live = members.stream().filter(m -> !m.zombie()).toList();
      SharedMemory shm = new SharedMemory();
      List<List<ThreadRestorer.Created>> memberThreads = new ArrayList<>();
      for (int i = 0; i < live.size(); i++) {
        shared.noteData(images.get(i), PartPrefix.reader(r, live.get(i).prefix(i == 0)));
        shm.note(images.get(i));
      }
      for (int i = 0; i < live.size(); i++) {
        ProcessTree.Member m = live.get(i);
        who = "pid " + m.pid();
        try (Tracee t = new Tracee(hosts.get(m.pid()), m.pid())) {
          memberThreads.add(rebuild(t, PartPrefix.reader(r, m.prefix(i == 0)), images.get(i), caps, shared, shm, threads));
        }
      }
      who = "pid " + root.pid();
      step = "close parked pipe ends and memfds";
      shared.closeParked();
      shm.closeParked();
      if (verify) {
        for (int i = 0; i < live.size(); i++) {
          ProcessTree.Member m = live.get(i);
          who = "pid " + m.pid();
          step = "verify";
          try (Tracee t = new Tracee(hosts.get(m.pid()), m.pid())) {
            List<String> diff = RestoreCheck.differences(images.get(i),
                new ProcessDumper(identities, hostSet).capture(t, dev.ckpt.linux.FdPolicy.FAIL, null));
            if (!diff.isEmpty()) {
              throw new ProcessException(t.pid, "the rebuilt process differs from the image, so it was not let run: "
                  + String.join("; ", diff.subList(0, Math.min(5, diff.size())))
                  + (diff.size() > 5 ? "; and " + (diff.size() - 5) + " more" : ""));
            }
          }
        }
      }
      who = "pid " + root.pid();
      step = "resume";
      Sys.ptrace(Sys.PTRACE_SETOPTIONS, hosts.get(root.pid()), 0, 0, "SETOPTIONS");
      for (int i = 0; i < live.size(); i++) {
        try (Tracee t = new Tracee(hosts.get(live.get(i).pid()), live.get(i).pid())) {
          settle(t, images.get(i), memberThreads.get(i), true);
        }
      }
      // Anything let go may end its process, or another, at once: ESRCH then is not a failure.
      for (int tid : threads) {
        detachIfThere(tid, "thread " + tid);
      }
      for (int i = live.size() - 1; i >= 1; i--) {
        detachIfThere(hosts.get(live.get(i).pid()), "pid " + live.get(i).pid());
      }
      int rootHost = hosts.get(root.pid());
      continueMain(rootHost);
      return rootHost;
    } catch (CheckpointException | RuntimeException e) {
      for (int h : hosts.values()) {
        PidNamespace.kill(h);
      }
      ThreadDumper.reap(threads);
      ThreadDumper.reap(new ArrayList<>(hosts.values()));
      if (launched != 0) {
        PidNamespace.kill(launched);
      }
      throw new CheckpointException("restore of " + ref + " failed in " + who + " at step '" + step + "'"
          + (hosts.isEmpty() ? "" : " (its " + hosts.size() + " processes made so far killed)") + ": " + e.getMessage(), e);
    }
  }

  /**
   * Rebuilds the image in {@code t}, stopped at its exec stop or as a fresh copy of its parent,
   * as a sequence of named steps; a failure names the step. With {@code caps}, every task is
   * given those capability sets last (see ThreadRestorer#setCapabilities). The host tids of the
   * threads it makes go to {@code made} at once, so that a failure later reaps them too.
   */
  private List<ThreadRestorer.Created> rebuild(Tracee t, ImageReader r, ProcessImage img, long[] caps,
      PipeState.Shared shared, SharedMemory shm, List<Integer> made) throws CheckpointException {
    Rebuild b = new Rebuild(t, r, img, caps, shared, shm, made);
    run("scratch", b::scratch);
    run("unmap", b::unmap);
    run("vdso", b::vdso);
    run("owned files", b::ownedFiles);
    run("map", b::map);
    run("memory", b::memory);
    run("madvise", b::madvise);
    run("protect", b::protect);
    run("mm", b::mm);
    run("fds", b::fds);
    run("pipes", b::pipes);
    run("sockets", b::sockets);
    run("shared descriptors", b::sharedDescriptors);
    run("epolls", b::epolls);
    run("cwd", b::cwd);
    run("attributes", b::attributes);
    run("signals", b::signals);
    run("threads", b::threads);
    // After the threads: its rseq registration has the kernel read the process's rseq area (and
    // the critical-section descriptor it points to) at the next return to user space, and the
    // threads step writes most memory.
    run("main thread", b::mainThread);
    if (shared != null) {
      run("drain SIGCHLD", b::drainSigchld);
    }
    run("pending signals", b::pendingSignals);
    run("timers", b::timers);
    if (caps != null) {
      run("capabilities", b::capabilities);
    }
    if (shared == null) {
      run("close memfds", b::closeMemfds);
    }
    run("unmap scratch", b::unmapScratch);
    run("sigmask", b::sigmask);
    run("registers", b::registers);
    return b.threads;
  }

  /** One step of a rebuild. */
  private interface Step {
    void run() throws CheckpointException;
  }

  private void run(String name, Step s) throws CheckpointException {
    step = name;
    long started = System.nanoTime();
    s.run();
    if (LOG.isDebugEnabled()) {
      LOG.debug("step {}: {} µs", name, (System.nanoTime() - started) / 1000);
    }
  }

  /** The state one rebuild carries from step to step. */
  private final class Rebuild {
    final Tracee t;
    final ImageReader r;
    final ProcessImage img;
    final long[] caps;
    final PipeState.Shared shared;
    final SharedMemory shm;
    final int pid;
    final ProcessImage.ThreadRecord th;
    /** Above every descriptor number the image needs. */
    final int floor;
    long scratch;
    List<Vma> specials = new ArrayList<>();
    List<VmaRecord> reprotect = new ArrayList<>();
    List<ThreadRestorer.Created> threads = List.of();

    final List<Integer> made;

    Rebuild(Tracee t, ImageReader r, ProcessImage img, long[] caps, PipeState.Shared shared, SharedMemory shm,
        List<Integer> made) {
      this.made = made;
      this.t = t;
      this.r = r;
      this.img = img;
      this.caps = caps;
      this.shared = shared;
      this.shm = shm;
      this.pid = t.pid;
      this.th = img.thread();
      int f = 3;
      for (FdRecord fd : img.fds()) {
        f = Math.max(f, fd.fd() + 1);
      }
      this.floor = f;
    }

    /** Executable scratch memory clear of every saved and current mapping, with a syscall instruction. */
    void scratch() throws CheckpointException {
      List<Vma> current = t.maps();
      scratch = chooseScratch(img.vmas(), current);
      t.beginInjection(t.findVdsoSyscall(current));
      long got = t.call("mmap(scratch)", Sys.SYS_MMAP, scratch, SCRATCH_SIZE, Sys.PROT_READ | Sys.PROT_WRITE | Sys.PROT_EXEC, MAP_PRIVATE | MAP_ANON | MAP_FIXED_NOREPLACE, -1, 0);
      if (got != scratch) {
        throw new ProcessException(pid, String.format("mmap(scratch) placed it at 0x%x instead of 0x%x", got, scratch));
      }
      t.write(scratch, new byte[] {0x0f, 0x05});
      t.moveSyscallSite(scratch);
    }

    /** Everything the fresh process maps goes, but the scratch, [vsyscall], and the vDSO and vvar, kept for the next step. */
    void unmap() throws CheckpointException {
      for (Vma v : t.maps()) {
        if (v.start() == scratch || v.path().equals("[vsyscall]")) {
          continue;
        }
        if (isSpecial(MemoryDumper.kind(v))) {
          specials.add(v);
          continue;
        }
        t.call("munmap(" + v.name() + ")", Sys.SYS_MUNMAP, v.start(), v.length());
      }
    }

    /** The vDSO and vvar move to their old addresses, through a parking place in the scratch. */
    void vdso() throws CheckpointException {
      long temp = scratch + TEMP;
      Map<String, Long> parked = new HashMap<>();
      for (Vma v : specials) {
        t.call("mremap(" + v.path() + " to scratch)", Sys.SYS_MREMAP, v.start(), v.length(), v.length(), Sys.MREMAP_MAYMOVE | Sys.MREMAP_FIXED, temp);
        parked.put(v.path(), temp);
        temp += v.length();
      }
      for (VmaRecord v : img.vmas()) {
        if (isSpecial(v.kind())) {
          t.call("mremap(" + v.path() + ")", Sys.SYS_MREMAP, parked.get(v.path()), v.length(), v.length(), Sys.MREMAP_MAYMOVE | Sys.MREMAP_FIXED, v.start());
        }
      }
    }

    void ownedFiles() throws CheckpointException {
      for (VmaRecord v : img.vmas()) {
        if (v.kind() == VmaKind.OWNED_FILE) {
          writeOwnedFile(pid, v);
        }
      }
    }

    /** Every saved mapping, at its address, writable until its pages are written. */
    void map() throws CheckpointException {
      Map<String, Long> openFiles = new HashMap<>();
      List<long[]> maps = new ArrayList<>();
      List<String> names = new ArrayList<>();
      for (VmaRecord v : img.vmas()) {
        if (isSpecial(v.kind())) {
          continue;
        }
        boolean content = v.dumped().length > 0;
        int prot = content ? v.protection() | PROT_RW : v.protection();
        if (content && prot != v.protection()) {
          reprotect.add(v);
        }
        long fd = -1;
        int flags;
        switch (v.kind()) {
          case FILE_PRIVATE, FILE_SHARED -> {
            boolean sharedMap = v.kind() == VmaKind.FILE_SHARED;
            // A shared mapping made through a writable descriptor may be made writable later (mprotect).
            boolean rw = sharedMap && ((v.protection() & 2) != 0 || (v.prot() & VmaFlags.MAY_WRITE) != 0);
            String key = (rw ? "rw:" : "ro:") + v.path();
            Long open = openFiles.get(key);
            if (open == null) {
              long at = scratch + DATA;
              t.write(at, Tracee.cString(v.path()));
              open = t.call("open(" + v.path() + ")", Sys.SYS_OPEN, at, rw ? 2 : 0, 0);
              openFiles.put(key, open);
            }
            fd = open;
            flags = (sharedMap ? MAP_SHARED : MAP_PRIVATE) | MAP_FIXED;
          }
          case OWNED_FILE -> {
            long at = scratch + DATA;
            t.write(at, Tracee.cString(v.path()));
            fd = t.call("open(" + v.path() + ")", Sys.SYS_OPEN, at, Sys.O_RDWR, 0);
            openFiles.put("owned:" + v.path() + ":" + v.start(), fd);
            flags = MAP_SHARED | MAP_FIXED;
          }
          case SHARED_ANON -> {
            if (shm.shared(v)) {
              shm.map(t, v, prot, scratch + DATA, floor);
              continue;
            }
            flags = MAP_SHARED | MAP_ANON | MAP_FIXED;
          }
          case STACK -> flags = MAP_PRIVATE | MAP_ANON | MAP_FIXED | MAP_GROWSDOWN;
          default -> flags = MAP_PRIVATE | MAP_ANON | MAP_FIXED;
        }
        if ((v.prot() & VmaFlags.NORESERVE) != 0) {
          flags |= VmaFlags.MAP_NORESERVE;
        }
        maps.add(new long[] {Sys.SYS_MMAP, v.start(), v.length(), prot, flags, fd, fd < 0 ? 0 : v.offset()});
        names.add("mmap(" + v.part() + " " + v.path() + ")");
      }
      calls(maps, names);
      for (long fd : openFiles.values()) {
        t.call("close(" + fd + ")", Sys.SYS_CLOSE, fd);
      }
    }

    /**
     * Writes the memory of every mapping, or, in a process with threads, only of those that a
     * write through /proc/PID/mem could no longer reach once they have their last protection
     * (shared ones, and read-only ones where the kernel forbids forced writes). The rest, most of
     * it, is written while the main thread makes the threads ({@link #threads}).
     */
    void memory() throws CheckpointException {
      t.memFd(); // opened here: the engine's threads write through it concurrently
      Map<String, MemorySink> now = new java.util.LinkedHashMap<>();
      Map<String, MemorySink> later = new java.util.LinkedHashMap<>();
      boolean threaded = img.threads().size() > 1;
      for (VmaRecord v : img.vmas()) {
        if (v.dumped().length > 0) {
          // Not where MADV_HUGEPAGE is advised (the madvise step comes first): a write there
          // would fault in a whole huge page around each page the dump found present.
          boolean privateWritable = switch (v.kind()) {
            case ANON, HEAP, STACK, FILE_PRIVATE -> (v.protection() & Sys.PROT_WRITE) != 0 && !VmaFlags.hugePages(v.prot());
            default -> false;
          };
          (threaded && privateWritable ? later : now).put(v.part(), new MemorySink(t, v));
        }
      }
      r.readAll(now);
      deferred = later;
    }

    /** Private writable memory {@link #memory} left for the threads step to write. */
    Map<String, MemorySink> deferred = Map.of();

    void madvise() throws CheckpointException {
      List<long[]> calls = new ArrayList<>();
      List<String> names = new ArrayList<>();
      for (VmaRecord v : img.vmas()) {
        for (int advice : VmaFlags.advice(v.prot())) {
          calls.add(new long[] {Sys.SYS_MADVISE, v.start(), v.length(), advice, 0, 0, 0});
          names.add("madvise(" + v.part() + ", " + advice + ")");
        }
      }
      calls(calls, names);
    }

    void protect() throws CheckpointException {
      List<long[]> calls = new ArrayList<>();
      List<String> names = new ArrayList<>();
      for (VmaRecord v : reprotect) {
        calls.add(new long[] {Sys.SYS_MPROTECT, v.start(), v.length(), v.protection(), 0, 0, 0});
        names.add("mprotect(" + v.part() + ")");
      }
      calls(calls, names);
    }

    /**
     * Runs calls ({nr, six arguments}) in batches of the injected loop instead of one
     * single-stepped call each: a process with many mappings (a thread's stack and guard page
     * each) makes thousands. The table stays below the pipe bytes at DATA + 256 KiB.
     */
    private void calls(List<long[]> calls, List<String> names) throws CheckpointException {
      int most = (int) ((DATA + 256 * 1024 - BATCH - 256) / Tracee.BATCH_ENTRY) - 1;
      for (int from = 0; from < calls.size(); from += most) {
        int to = Math.min(calls.size(), from + most);
        long[] results = t.callBatch(names.get(from) + " and " + (to - from - 1) + " more", scratch + BATCH,
            scratch + BATCH + 256, calls.subList(from, to).toArray(long[][]::new));
        for (int i = 0; i < results.length; i++) {
          long r = results[i];
          if (r < 0 && r > -4096) {
            throw new ProcessException(t.pid, names.get(from + i) + " (injected syscall " + calls.get(from + i)[0]
                + ") failed: " + Errno.name((int) -r), (int) -r, null);
          }
        }
      }
    }

    void mm() throws CheckpointException {
      ByteBuffer map = Tracee.le(104);
      for (long x : img.mm()) {
        map.putLong(x);
      }
      long auxvAt = scratch + DATA + 1024;
      // A process of a tree starts as a copy of its parent: its /proc/PID/exe is set here (this
      // needs CAP_CHECKPOINT_RESTORE, which the restore's tasks hold until the end).
      long exeFd = -1;
      if (!img.exe().equals(Census.link(ProcFs.dir(pid).resolve("exe")))) {
        t.write(scratch + DATA + 2048, Tracee.cString(img.exe()));
        exeFd = t.call("open(" + img.exe() + ") for exe_fd", Sys.SYS_OPEN, scratch + DATA + 2048, 0, 0);
      }
      map.putLong(auxvAt).putInt(img.auxv().length).putInt((int) exeFd);
      t.write(auxvAt, img.auxv());
      t.write(scratch + DATA, map.array());
      t.call("prctl(PR_SET_MM_MAP)", Sys.SYS_PRCTL, PR_SET_MM, PR_SET_MM_MAP, scratch + DATA, 104, 0);
      if (exeFd >= 0) {
        t.call("close(exe_fd)", Sys.SYS_CLOSE, exeFd);
      }
    }

    void fds() throws CheckpointException {
      restoreFds(t, img, scratch + DATA, shm.parkedIn(t.pid));
    }

    void pipes() throws CheckpointException {
      PipeState.restore(t, r, img.fds(), scratch + DATA, shared);
    }

    /** A single process makes its pairs alone and closes what it parked at once; a tree's wait for the whole tree. */
    void sockets() throws CheckpointException {
      UnixSockets.Shared pairs = shared != null ? shared.sockets : new UnixSockets.Shared();
      if (shared == null) {
        pairs.note(img, r);
      }
      UnixSockets.restore(t, img.fds(), scratch + DATA, pairs, floor);
      if (shared == null) {
        for (int fd : pairs.parked.getOrDefault(t.pid, List.of())) {
          t.call("close(parked " + fd + ")", Sys.SYS_CLOSE, fd);
        }
      }
    }

    void sharedDescriptors() throws CheckpointException {
      for (FdRecord f : img.fds()) {
        // pos is the source's pid in the image; the image's own pid means another fd of this process.
        if (f.kind() == FdKind.SHARED && (int) f.pos() == img.thread().tid() && sharesEpoll(f)) {
          continue; // made with the epolls
        } else if (f.kind() == FdKind.SHARED && (int) f.pos() == img.thread().tid()) {
          t.call("dup3(" + f.size() + ", " + f.fd() + ")", SYS_DUP3, f.size(), f.fd(), f.flags() & O_CLOEXEC);
        } else if (f.kind() == FdKind.SHARED) {
          int fd = PipeState.importFd(t, (int) f.pos(), (int) f.size(), floor, scratch + DATA);
          t.call("dup3(" + fd + ", " + f.fd() + ")", SYS_DUP3, fd, f.fd(), f.flags() & O_CLOEXEC);
          t.call("close(" + fd + ")", Sys.SYS_CLOSE, fd);
        }
      }
    }

    /** Last of the descriptors, since an epoll adds the ones it watches by number; then their duplicates. */
    void epolls() throws CheckpointException {
      for (FdRecord f : img.fds()) {
        if (f.kind() == FdKind.EPOLL) {
          EventFiles.restoreEpoll(t, f, scratch + DATA);
        }
      }
      for (FdRecord f : img.fds()) {
        if (f.kind() == FdKind.SHARED && (int) f.pos() == img.thread().tid() && sharesEpoll(f)) {
          t.call("dup3(" + f.size() + ", " + f.fd() + ")", SYS_DUP3, f.size(), f.fd(), f.flags() & O_CLOEXEC);
        }
      }
    }

    private boolean sharesEpoll(FdRecord shared) {
      return img.fds().stream().anyMatch(g -> g.fd() == shared.size() && g.kind() == FdKind.EPOLL);
    }

    void cwd() throws CheckpointException {
      t.write(scratch + DATA, Tracee.cString(img.cwd()));
      t.call("chdir(" + img.cwd() + ")", Sys.SYS_CHDIR, scratch + DATA);
      t.call("umask", Sys.SYS_UMASK, img.umask());
    }

    void attributes() throws CheckpointException {
      AttributeState.restore(t, scratch + DATA, img.attributes());
    }

    void signals() throws CheckpointException {
      restoreSigactions(t, img.sigactions(), scratch + BATCH);
    }

    void mainThread() throws CheckpointException {
      ThreadRestorer.perThread(t, th, scratch + DATA);
    }

    void threads() throws CheckpointException {
      List<ThreadRestorer.Created> created = new ArrayList<>();
      try {
        ThreadRestorer.create(t, img, scratch + BATCH, caps, created, () -> r.readAll(deferred));
      } finally {
        created.forEach(c -> made.add(c.hostTid()));
      }
      threads = created;
    }

    /** Children made for the tree that ended as zombies queued SIGCHLD here; the image's own pending signals are queued next. */
    void drainSigchld() throws CheckpointException {
      t.write(scratch + DATA, Tracee.le(32).putLong(0, 1L << (Sys.SIGCHLD - 1)).array());
      for (int i = 0; i < 64; i++) {
        try {
          t.call("rt_sigtimedwait(SIGCHLD)", Sys.SYS_RT_SIGTIMEDWAIT, scratch + DATA, 0, scratch + DATA + 16, 8);
        } catch (ProcessException e) {
          if (e.errno() == Errno.EAGAIN) {
            break;
          }
          throw e;
        }
      }
  
    }

    void pendingSignals() throws CheckpointException {
      ThreadRestorer.queuePending(t, threads, img.attributes(), scratch, scratch + DATA);
      for (byte[] info : img.pendingPrivate()) {
        if (TimerState.requeuedByTimer(info, img.attributes())) {
          continue; // its timer queues it again below
        }
        t.write(scratch + DATA, info);
        int sig = ByteBuffer.wrap(info).order(java.nio.ByteOrder.LITTLE_ENDIAN).getInt(0);
        t.call("rt_tgsigqueueinfo(" + sig + ")", Sys.SYS_RT_TGSIGQUEUEINFO, t.self, t.self, sig, scratch + DATA);
      }
      for (byte[] info : img.pendingShared()) {
        if (TimerState.requeuedByTimer(info, img.attributes())) {
          continue;
        }
        t.write(scratch + DATA, info);
        int sig = ByteBuffer.wrap(info).order(java.nio.ByteOrder.LITTLE_ENDIAN).getInt(0);
        t.call("rt_sigqueueinfo(" + sig + ")", Sys.SYS_RT_SIGQUEUEINFO, t.self, sig, scratch + DATA);
      }
    }

    /** After the pending signals: an expired timer's signal must already be queued when it fires again. */
    void timers() throws CheckpointException {
      TimerState.restore(t, scratch + DATA, img.attributes(), th.tid());
      for (int which = 0; which < img.itimers().length; which++) {
        byte[] val = img.itimers()[which];
        if (!allZero(val)) {
          t.write(scratch + DATA, armable(val));
          t.call("setitimer(" + which + ")", Sys.SYS_SETITIMER, which, scratch + DATA, 0);
        }
      }
    }

    /** The main thread's; the other threads set theirs when they were made. */
    void capabilities() throws CheckpointException {
      ThreadRestorer.setCapabilities(t, caps, scratch + DATA);
  
    }

    void closeMemfds() throws CheckpointException {
        shm.closeParkedIn(t);
    }

    void unmapScratch() throws CheckpointException {
      t.moveSyscallSite(t.findVdsoSyscall(t.maps()));
      t.call("munmap(scratch)", Sys.SYS_MUNMAP, scratch, SCRATCH_SIZE);
    }

    /** Last but the registers, so no signal queued above is delivered in the middle of an injected call. */
    void sigmask() throws CheckpointException {
      try (com.sun.jna.Memory m = new com.sun.jna.Memory(8)) {
        m.setLong(0, maskForResume(t, Regs.of(th.regs()), th.sigmask()));
        Sys.ptrace(Sys.PTRACE_SETSIGMASK, pid, 8, m, "SETSIGMASK");
      }
    }

    void registers() throws CheckpointException {
      t.setRegset(Sys.NT_X86_XSTATE, th.xstate());
      settle(t, img, threads, false);
    }
  }

  /**
   * A process stopped inside a system call shows rax = -ERESTART* and orig_rax = the call. The
   * new process must re-enter that call: back rip over the 2-byte syscall instruction and put
   * the call number back in rax. A call that would have used the kernel's restart block
   * (nanosleep, poll) is re-issued with its original arguments, still in the registers.
   */
  static Regs restartAdjusted(Regs regs) {
    Regs r = regs.copy();
    long orig = r.get(Regs.ORIG_RAX);
    long rax = r.get(Regs.RAX);
    if (orig >= 0 && (rax == -512 || rax == -513 || rax == -514 || rax == -516)) {
      r.set(Regs.RAX, orig).set(Regs.RIP, r.get(Regs.RIP) - 2);
    }
    r.set(Regs.ORIG_RAX, -1);
    return r;
  }

  /**
   * Lets the main thread run, last. Its threads run already and may have ended the process
   * (exit_group) meanwhile: the main thread is then no longer in a stop (ESRCH), the restore has
   * still succeeded, and its tracer collects the exit.
   */
  private static void continueMain(int pid) throws ProcessException {
    try {
      Sys.ptrace(Sys.PTRACE_CONT, pid, 0, 0, "CONT");
    } catch (ProcessException e) {
      if (e.errno() != Errno.ESRCH || ProcFs.alive(pid)) {
        throw e;
      }
    }
  }

  private static void detachIfThere(int task, String what) throws ProcessException {
    try {
      Sys.ptrace(Sys.PTRACE_DETACH, task, 0, 0, "DETACH(" + what + ")");
    } catch (ProcessException e) {
      if (e.errno() != Errno.ESRCH) {
        throw e;
      }
    }
  }

  /**
   * Sets the registers every thread resumes with from the signals pending right now. Called at
   * the end of the rebuild and once more just before the process runs: a timer that fires in
   * between (during the self-check) would otherwise find a call re-entered that it should
   * interrupt.
   */
  static void settle(Tracee t, ProcessImage img, List<ThreadRestorer.Created> threads, boolean again)
      throws ProcessException {
    ProcessImage.ThreadRecord th = img.thread();
    Regs regs = Regs.of(th.regs());
    if (!again || signalMayInterrupt(regs, th.sigmask(), img.sigactions())) {
      t.setRegs(resumeRegs(regs, maskForResume(t, regs, th.sigmask()), again ? pendingNow(t.pid, t.pid) : java.util.Set.of(),
          img.sigactions()));
    }
    ThreadRestorer.finish(threads, img, t.pid, again);
  }

  /**
   * Whether a signal pending at resume could change the registers {@link #resumeRegs} gives a
   * thread: only if it was in an interruptible call and some signal it does not block has a
   * handler. Otherwise the last settle keeps the registers the first one set, without reading
   * its pending signals from /proc, which costs more than the rest of a thread's settle.
   */
  static boolean signalMayInterrupt(Regs regs, long sigmask, byte[][] sigactions) {
    long rax = regs.get(Regs.RAX);
    if (regs.get(Regs.ORIG_RAX) < 0 || (rax != -512 && rax != -514 && rax != -516)) {
      return false;
    }
    for (int sig = 1; sig <= sigactions.length && sig <= 64; sig++) {
      long handler = ByteBuffer.wrap(sigactions[sig - 1]).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong(0);
      if ((sigmask & (1L << (sig - 1))) == 0 && handler != 0 && handler != 1) {
        return true;
      }
    }
    return false;
  }

  /**
   * The registers a restored thread resumes with. As the kernel does for a task stopped in a
   * system call when a signal with a handler is delivered: the restored thread takes its first
   * deliverable pending signal first thing, so a call that returned -ERESTARTNOHAND or
   * -ERESTART_RESTARTBLOCK, or -ERESTARTSYS for a handler without SA_RESTART, must fail with
   * EINTR after the handler, not be entered again (a pause() would otherwise wait for one more
   * signal). Without such a signal the call is re-entered ({@link #restartAdjusted}).
   */
  static Regs resumeRegs(Regs regs, long sigmask, java.util.Set<Integer> pending, byte[][] sigactions) {
    long orig = regs.get(Regs.ORIG_RAX);
    long rax = regs.get(Regs.RAX);
    if (orig >= 0 && (rax == -512 || rax == -514 || rax == -516)) {
      for (int sig : new java.util.TreeSet<>(pending)) {
        if (sig < 1 || sig > sigactions.length || (sigmask & (1L << (sig - 1))) != 0) {
          continue;
        }
        ByteBuffer act = ByteBuffer.wrap(sigactions[sig - 1]).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        long handler = act.getLong(0);
        if (handler == 0 || handler == 1) {
          continue; // default or ignored: no handler runs, the call is restarted
        }
        if (rax == -512 && (act.getLong(8) & Sys.SA_RESTART) != 0) {
          break;
        }
        Regs r = regs.copy();
        r.set(Regs.RAX, -Errno.EINTR).set(Regs.ORIG_RAX, -1);
        return r;
      }
    }
    return restartAdjusted(regs);
  }

  /**
   * The mask a restored thread resumes with. One stopped in rt_sigtimedwait shows the mask the
   * call set for its wait (the waited signals unblocked): re-entered, the call unblocks them
   * again; until then they are blocked as before the call, so one already pending is taken by
   * the call and not delivered (which, for a signal left at its default action, would kill it).
   */
  static long maskForResume(Tracee t, Regs regs, long sigmask) throws ProcessException {
    long rax = regs.get(Regs.RAX);
    if (regs.get(Regs.ORIG_RAX) == Sys.SYS_RT_SIGTIMEDWAIT && rax <= -512 && rax >= -516 && regs.get(Regs.RDI) != 0) {
      byte[] waited = t.read(regs.get(Regs.RDI), 8);
      return sigmask | ByteBuffer.wrap(waited).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong(0);
    }
    return sigmask;
  }

  /**
   * The signals pending for a rebuilt thread right now, as the kernel will deliver them when it
   * runs: its own queue and, for the main thread, which the kernel prefers for them, its
   * process's. Read at the end, not taken from the image: a timer may have fired during the
   * restore.
   */
  static java.util.Set<Integer> pendingNow(int pid, int tid) throws ProcessException {
    // PTRACE_PEEKSIGINFO on the stopped thread, not /proc/TID/status: the last settle asks for
    // every thread in an interruptible call (most threads of a real program, 1,000 in the scale
    // test), and a status read cost 20 µs a thread. The queue misses only a non-real-time
    // signal that found the user's RLIMIT_SIGPENDING exhausted (queued by bit alone), which the
    // dump's PEEKSIGINFO would miss as well.
    java.util.Set<Integer> out = new java.util.TreeSet<>();
    try (com.sun.jna.Memory args = new com.sun.jna.Memory(16);
        com.sun.jna.Memory info = new com.sun.jna.Memory((long) SignalDumper.SIGINFO_BYTES * PEEK_BATCH)) {
      for (int shared = 0; shared <= (tid == pid ? 1 : 0); shared++) {
        for (long off = 0; ; off += PEEK_BATCH) {
          args.setLong(0, off);
          args.setInt(8, shared);
          args.setInt(12, PEEK_BATCH);
          long n = Sys.ptrace(Sys.PTRACE_PEEKSIGINFO, tid, com.sun.jna.Pointer.nativeValue(args), info,
              "PEEKSIGINFO(thread " + tid + (shared == 1 ? ", shared" : "") + ")");
          for (int k = 0; k < n; k++) {
            out.add(info.getInt((long) k * SignalDumper.SIGINFO_BYTES));
          }
          if (n < PEEK_BATCH) {
            break;
          }
        }
      }
    }
    return out;
  }

  /** Siginfos read by one PTRACE_PEEKSIGINFO: a thread rarely has any pending at resume. */
  private static final int PEEK_BATCH = 8;

  /** {@code keep}: descriptors parked in this process for others, left open. */
  private void restoreFds(Tracee t, ProcessImage img, long data, List<Integer> keep) throws CheckpointException {
    int pid = t.pid;
    Map<Integer, FdRecord> wanted = new HashMap<>();
    for (FdRecord f : img.fds()) {
      wanted.put(f.fd(), f);
    }
    try (DirectoryStream<Path> s = Files.newDirectoryStream(ProcFs.dir(pid).resolve("fd"))) {
      for (Path p : s) {
        int fd = Integer.parseInt(p.getFileName().toString());
        if (fd > 2 && !keep.contains(fd)) {
          t.call("close(" + fd + ")", Sys.SYS_CLOSE, fd);
        }
      }
    } catch (IOException e) {
      throw new ProcessException(pid, "listing fds failed: " + e, 0, e);
    }
    for (int fd = 0; fd <= 2; fd++) {
      if (!wanted.containsKey(fd)) {
        t.call("close(" + fd + ") (closed in the image)", Sys.SYS_CLOSE, fd);
      }
    }
    for (FdRecord f : img.fds()) {
      if (f.kind() == FdKind.STDIO || f.kind() == FdKind.PIPE || f.kind() == FdKind.FIFO || f.kind() == FdKind.SHARED
          || f.kind() == FdKind.EPOLL || f.kind() == FdKind.UNIX) {
        continue;
      }
      if (EventFiles.isEventFile(f.kind())) {
        EventFiles.restore(t, f, data);
        continue;
      }
      if (f.kind() == FdKind.FILE && (f.flags() & O_ACCMODE) != 0) {
        fitWrittenFile(pid, f);
      }
      int flags = f.flags() & ~(O_CREAT | O_EXCL | O_TRUNC | O_NOCTTY);
      t.write(data, Tracee.cString(f.path()));
      long fd = t.call("open(" + f.path() + ") for fd " + f.fd(), Sys.SYS_OPEN, data, flags, 0);
      if (fd != f.fd()) {
        t.call("dup3(" + fd + ", " + f.fd() + ")", SYS_DUP3, fd, f.fd(), f.flags() & O_CLOEXEC);
        t.call("close(" + fd + ")", Sys.SYS_CLOSE, fd);
      }
      if (f.kind() == FdKind.FILE) {
        t.call("lseek(" + f.fd() + ")", Sys.SYS_LSEEK, f.fd(), f.pos(), 0);
      }
    }
  }

  /**
   * Before anything is changed: every file the process was writing must still hold what it held
   * at checkpoint time, and one that grew since may be cut back only if nobody else has it open
   * for writing (truncating it would destroy what that writer wrote, a log shared with the
   * launcher for instance).
   */
  private static void writtenFilesCanBeFitted(ProcessImage img, String ref) throws CheckpointException {
    java.util.Set<String> grown = new java.util.LinkedHashSet<>();
    for (FdRecord f : img.fds()) {
      if (f.kind() != FdKind.FILE || (f.flags() & O_ACCMODE) == 0) {
        continue;
      }
      long size;
      try {
        size = Files.size(Path.of(f.path()));
      } catch (IOException e) {
        throw new CheckpointException("checkpoint " + ref + ": fd " + f.fd() + " was writing " + f.path()
            + ", which cannot be read now: " + e, e);
      }
      if (size < f.size()) {
        throw new CheckpointException("checkpoint " + ref + ": fd " + f.fd() + " was writing " + f.path() + ", which has "
            + size + " bytes now, fewer than the " + f.size() + " it had at checkpoint time: its data was lost meanwhile");
      }
      if (size > f.size()) {
        grown.add(f.path());
      }
    }
    if (grown.isEmpty()) {
      return;
    }
    Map<String, List<PipeState.Holder>> holders = PipeState.holders(java.util.Set.of(), grown);
    for (Map.Entry<String, List<PipeState.Holder>> e : holders.entrySet()) {
      for (PipeState.Holder h : e.getValue()) {
        if (h.writes()) {
          throw new CheckpointException("checkpoint " + ref + ": " + e.getKey() + " has grown since the checkpoint and "
              + h + " holds it open for writing; cutting it back to its length at checkpoint time would destroy what that"
              + " process wrote. Let it finish, or give the restored process other files");
        }
      }
    }
  }

  /**
   * A file the process was writing goes back to its length at checkpoint time: what was written
   * after the checkpoint will be written again by the restored process (an appending writer
   * would otherwise write it twice). A file now shorter than then has lost data: refuse.
   */
  private static void fitWrittenFile(int pid, FdRecord f) throws ProcessException {
    Path p = Path.of(f.path());
    try {
      long size = Files.size(p);
      if (size < f.size()) {
        throw new ProcessException(pid, "fd " + f.fd() + ": " + p + " has " + size + " bytes, fewer than the "
            + f.size() + " it had at checkpoint time");
      }
      if (size > f.size()) {
        LOG.info("truncating {} from {} to {} bytes, its length at checkpoint time", p, size, f.size());
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
          ch.truncate(f.size());
        }
      }
    } catch (IOException e) {
      throw new ProcessException(pid, "fd " + f.fd() + ": " + p + " cannot be reopened: " + e, 0, e);
    }
  }

  /**
   * Creates a file the process owns (OWNED_FILE) at its length at checkpoint time; its contents
   * come with the memory. The file of the checkpointed process itself, left behind when it was
   * killed, is taken over; one whose pid belongs to a live process is another program's and is
   * refused by {@link #preflight}.
   */
  private static void writeOwnedFile(int pid, VmaRecord v) throws ProcessException {
    Path p = Path.of(v.path());
    try {
      Path dir = p.getParent();
      if (!Files.isDirectory(dir)) {
        Files.createDirectories(dir);
        Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
      }
      try (FileChannel ch = FileChannel.open(p, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
        Files.setPosixFilePermissions(p, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        if (ch.size() > v.offset() + v.length()) {
          ch.truncate(v.offset() + v.length());
        }
        if (ch.size() < v.offset() + v.length()) {
          ch.write(ByteBuffer.wrap(new byte[1]), v.offset() + v.length() - 1);
        }
      }
    } catch (IOException e) {
      throw new ProcessException(pid, "writing " + p + ", a file the process owns, failed: " + e, 0, e);
    }
  }

  /**
   * Every sigaction of the image, SIG_DFL ones too (a launched process inherits ignored signals
   * from its launcher), in one batch of injected calls; {@code area} is executable scratch.
   */
  private static void restoreSigactions(Tracee t, byte[][] actions, long area) throws ProcessException {
    long table = area + 256;
    long buffers = table + (long) Tracee.BATCH_ENTRY * (actions.length + 1);
    byte[] all = new byte[actions.length * SignalDumper.SIGACTION_BYTES];
    long[][] calls = new long[actions.length][];
    for (int sig = 1; sig <= actions.length; sig++) {
      System.arraycopy(actions[sig - 1], 0, all, (sig - 1) * SignalDumper.SIGACTION_BYTES,
          Math.min(actions[sig - 1].length, SignalDumper.SIGACTION_BYTES));
      // SIGKILL and SIGSTOP take no action: a getpid stands in so the table stays indexed by signal.
      calls[sig - 1] = sig == Sys.SIGKILL || sig == Sys.SIGSTOP ? new long[] {Sys.SYS_GETPID, 0, 0, 0, 0, 0, 0}
          : new long[] {Sys.SYS_RT_SIGACTION, sig, buffers + (long) (sig - 1) * SignalDumper.SIGACTION_BYTES, 0, 8, 0, 0};
    }
    t.write(buffers, all);
    long[] results = t.callBatch("rt_sigaction(1.." + actions.length + ")", area, table, calls);
    for (int sig = 1; sig <= actions.length; sig++) {
      if (results[sig - 1] < 0) {
        throw new ProcessException(t.pid, "rt_sigaction(" + sig + ") (injected) failed: " + Errno.name((int) -results[sig - 1]),
            (int) -results[sig - 1], null);
      }
    }
  }

  /**
   * A periodic ITIMER_REAL that has fired but whose SIGALRM is not yet dequeued reads back as
   * "interval set, value 0": the kernel re-arms it only when the signal is taken. setitimer with a
   * zero value would disarm it for good, so it is armed to fire at once instead: it expires during
   * the restore, its signal merges with the pending SIGALRM queued before, and taking that signal
   * re-arms it with its interval, exactly as in the dumped process.
   */
  static byte[] armable(byte[] itimerval) {
    ByteBuffer b = ByteBuffer.wrap(itimerval.clone()).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    boolean periodic = b.getLong(0) != 0 || b.getLong(8) != 0;
    boolean expired = b.getLong(16) == 0 && b.getLong(24) == 0;
    if (periodic && expired) {
      b.putLong(24, 1); // 1 µs
    }
    return b.array();
  }

  private static boolean allZero(byte[] b) {
    for (byte x : b) {
      if (x != 0) {
        return false;
      }
    }
    return true;
  }

  /** A free window in both the saved and the current address space, for code and scratch data. */
  static long chooseScratch(List<VmaRecord> saved, List<Vma> current) {
    for (long at = 0x10000000L; at < 0x7f0000000000L; at += 0x1000000L) {
      long end = at + SCRATCH_SIZE;
      boolean free = true;
      for (VmaRecord v : saved) {
        if (v.start() < end && at < v.end()) {
          free = false;
          break;
        }
      }
      for (Vma v : current) {
        if (free && v.start() < end && at < v.end()) {
          free = false;
        }
      }
      if (free) {
        return at;
      }
    }
    throw new IllegalStateException("no free window for the restore scratch area");
  }

  /**
   * Writes a mapping's dumped pages through /proc/PID/mem. In a private file mapping only the
   * dumped pages are written: a chunk also covers pages the process never changed, which read as
   * zeros in the image but must keep the file's bytes.
   */
  private static final class MemorySink implements PartSink {
    private final Tracee t;
    private final VmaRecord v;

    MemorySink(Tracee t, VmaRecord v) {
      this.t = t;
      this.v = v;
    }

    @Override
    public void write(long position, ByteBuffer data) throws IOException {
      // Only the pages the dump found present: a chunk also holds the zeros between them, and
      // writing those would fault in pages the process never had (a thread's 64 KiB chunk of
      // stack holds a page or two), and in a private file mapping would hide the file's bytes.
      long end = position + data.remaining();
      long[] runs = v.dumped();
      for (int i = 0; i < runs.length; i += 2) {
        long from = Math.max(position, runs[i] * PAGE);
        long to = Math.min(end, (runs[i] + runs[i + 1]) * PAGE);
        if (from < to) {
          ByteBuffer slice = data.duplicate();
          slice.position(data.position() + (int) (from - position)).limit(data.position() + (int) (to - position));
          put(from, slice);
        }
      }
    }

    private void put(long position, ByteBuffer data) throws IOException {
      try {
        t.write(v.start() + position, data);
      } catch (ProcessException e) {
        throw new IOException(e.getMessage(), e);
      }
    }

    @Override
    public void zero(long position, long length) throws IOException {
      if (v.kind() != VmaKind.FILE_PRIVATE) {
        return; // fresh anonymous memory is already zero
      }
      long[] runs = v.dumped();
      for (int i = 0; i < runs.length; i += 2) {
        long from = Math.max(position, runs[i] * PAGE);
        long to = Math.min(position + length, (runs[i] + runs[i + 1]) * PAGE);
        for (long at = from; at < to; at += 1 << 20) {
          put(at, ByteBuffer.allocate((int) Math.min(1 << 20, to - at)));
        }
      }
    }
  }
}
