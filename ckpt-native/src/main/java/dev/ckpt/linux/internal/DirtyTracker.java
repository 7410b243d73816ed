package dev.ckpt.linux.internal;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import dev.ckpt.linux.ProcessException;
import dev.ckpt.linux.internal.ProcessImage.VmaKind;
import dev.ckpt.linux.internal.ProcessImage.VmaRecord;
import dev.ckpt.linux.internal.jna.Errno;
import dev.ckpt.linux.internal.jna.LibC;
import dev.ckpt.linux.internal.jna.Sys;
import dev.ckpt.linux.internal.proc.Vma;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Finds the pages a running process wrote since its last checkpoint, without soft-dirty (off on
 * this kernel). A userfaultfd in asynchronous write-protect mode is made in the process (one
 * injected call) and taken by the checkpointer with pidfd_getfd; the process's own descriptor is
 * closed again, so its fd table is as before. The checkpointer registers the process's private
 * anonymous mappings with it and write-protects their pages. The kernel lifts the protection of
 * a page at its first write, without stopping the process; at the next checkpoint one
 * PAGEMAP_SCAN of /proc/PID/pagemap per mapping reports the pages written since and protects
 * them again, in one step, while the process is frozen.
 *
 * <p>Changes are relative to a base checkpoint, which becomes the base only once it is committed
 * ({@link #committed}). A checkpoint that fails after the scan loses what the scan reset, so the
 * tracker is then closed ({@link #close}) and the next checkpoint hashes everything, as does the
 * first one. A mapping whose registration was lost (moved by mremap, replaced by mmap, or the
 * process exec'd) fails the scan's own check (PM_SCAN_CHECK_WPASYNC) and is read in full.
 * Writes the kernel makes without a page fault (into pages pinned for DMA or io_uring's
 * registered buffers) are not seen, as soft-dirty does not see them either.
 */
final class DirtyTracker implements AutoCloseable {
  private final int pid;
  /** The checkpointer's descriptor of the process's userfaultfd; -1 before {@link #create}. */
  private int uffd = -1;
  /** Mappings registered with it: start to end, as they were registered. */
  private final Map<Long, Long> registered = new HashMap<>();
  /**
   * The committed checkpoint the written pages are counted from, as its commit returned it (to
   * check that its number still names it), and its mappings by start; null while there is none.
   */
  private dev.ckpt.CheckpointInfo baseInfo;
  private Map<Long, VmaRecord> base = Map.of();

  /** A checkpoint is between its {@link #begin} and its commit or failure. */
  private boolean inFlight;

  DirtyTracker(int pid) {
    this.pid = pid;
  }

  /**
   * Claims the tracker for one checkpoint; false while another checkpoint of the process holds
   * it. Two checkpoints at once must not both scan: the second would count from the first's scan
   * while its base is still the checkpoint before, and miss what was written in between.
   */
  synchronized boolean begin() {
    if (inFlight) {
      return false;
    }
    inFlight = true;
    return true;
  }

  /** Gives the tracker back after a checkpoint that did not scan. */
  synchronized void end() {
    inFlight = false;
  }

  int pid() {
    return pid;
  }

  synchronized boolean created() {
    return uffd >= 0;
  }

  /** The checkpoint of {@code job} changes are counted from, or null while there is none. */
  synchronized dev.ckpt.CheckpointInfo base(String job) {
    return baseInfo != null && job.equals(baseInfo.job()) ? baseInfo : null;
  }

  /** The base's record of the mapping at {@code start}, or null. */
  synchronized VmaRecord base(long start) {
    return base.get(start);
  }

  /**
   * Whether a mapping showing the smaps flag {@code uw} is registered with this tracker's
   * userfaultfd: the census refuses that flag for a process's own userfaultfd, not for ckpt's.
   */
  synchronized boolean owns(Vma v) {
    // Asked of the kernel: registering a mapping again on the userfaultfd it belongs to
    // succeeds; one that belongs to another fails with EBUSY. A registered mapping may have
    // grown or merged since (a stack growing down, an arena grown by mprotect).
    return uffd >= 0 && registerErrno(v.start(), v.end()) == 0;
  }

  /**
   * Whether the userfaultfd still belongs to the process's memory: after an exec the process has
   * new memory and the userfaultfd the old one. A stale tracker is emptied here (as by {@link
   * #reset}), and the checkpoint reads everything.
   */
  synchronized boolean alive() {
    if (uffd < 0) {
      return false;
    }
    // UFFDIO_WRITEPROTECT asks the kernel for the memory before it looks for a mapping, and
    // fails with ESRCH once that memory is gone. The probe is the page at the bottom of the
    // address space, which processes do not map in practice (ENOENT then): it works with nothing
    // registered (an exec during a checkpoint leaves nothing), and were that page registered,
    // lifting its protection would only have its window read again.
    try (Memory wp = new Memory(24)) {
      wp.setLong(0, PROBE_ADDRESS);
      wp.setLong(8, MemoryDumper.PAGE);
      wp.setLong(16, 0);
      LibC.syscall(Sys.SYS_IOCTL, uffd, Sys.UFFDIO_WRITEPROTECT, Pointer.nativeValue(wp), 0, 0, 0);
      return true;
    } catch (LastErrorException e) {
      if (e.getErrorCode() == Errno.ESRCH) {
        reset();
        return false;
      }
      return true;
    }
  }

  private static final long PROBE_ADDRESS = 0x1000;


  /** The mappings tracked: private anonymous memory, which is also what the snapshot holds. */
  static boolean eligible(Vma v) {
    VmaKind k = MemoryDumper.kind(v);
    return (k == VmaKind.ANON || k == VmaKind.HEAP || k == VmaKind.STACK) && !v.path().equals("[vsyscall]");
  }

  /**
   * Inside an injection into the stopped process: makes its userfaultfd, takes it, and closes the
   * process's descriptor. Returns false (and the process is as before) where the kernel has no
   * asynchronous write-protect mode or forbids userfaultfd.
   */
  synchronized boolean create(Tracee t) throws ProcessException {
    long fd;
    try {
      fd = t.call("userfaultfd", Sys.SYS_USERFAULTFD, Sys.O_CLOEXEC | Sys.O_NONBLOCK | Sys.UFFD_USER_MODE_ONLY);
    } catch (ProcessException e) {
      if (e.errno() == Errno.EPERM || e.errno() == Errno.ENOSYS || e.errno() == Errno.EINVAL) {
        return false; // vm.unprivileged_userfaultfd, seccomp, or no userfaultfd here
      }
      throw e;
    }
    int pidfd = -1;
    try {
      pidfd = (int) LibC.syscall(Sys.SYS_PIDFD_OPEN, pid, 0, 0, 0, 0, 0);
      uffd = (int) LibC.syscall(Sys.SYS_PIDFD_GETFD, pidfd, fd, 0, 0, 0, 0);
    } catch (LastErrorException e) {
      throw Sys.error("pidfd_getfd of its userfaultfd " + fd, pid, e);
    } finally {
      if (pidfd >= 0) {
        LibC.close(pidfd);
      }
      t.call("close(userfaultfd " + fd + ")", Sys.SYS_CLOSE, fd);
    }
    try (Memory api = new Memory(24)) {
      api.setLong(0, Sys.UFFD_API);
      api.setLong(8, Sys.UFFD_FEATURE_WP_ASYNC | Sys.UFFD_FEATURE_WP_UNPOPULATED);
      api.setLong(16, 0);
      LibC.syscall(Sys.SYS_IOCTL, uffd, Sys.UFFDIO_API, Pointer.nativeValue(api), 0, 0, 0);
      return true;
    } catch (LastErrorException e) {
      close(); // a kernel before 6.7: no asynchronous write-protect
      return false;
    }
  }

  /**
   * Before the freeze, while the process runs: the pages written since the base in each tracked
   * mapping, protected again. Most of a scan's cost is
   * protecting those pages again; done here, the scan in the freeze ({@link #rearm} with this
   * result) meets only the pages written in between. From this call on, a checkpoint that
   * fails must {@link #close} the tracker.
   */
  synchronized Map<Long, long[]> prescan(List<Vma> maps) throws ProcessException {
    Map<Long, long[]> written = new HashMap<>();
    if (baseInfo == null) {
      return written;
    }
    int pagemap = openPagemap();
    try (Memory arg = new Memory(Sys.PM_SCAN_ARG_SIZE); Memory vec = new Memory((long) Sys.PAGE_REGION_SIZE * REGIONS)) {
      for (Vma v : maps) {
        Long end = registered.get(v.start());
        VmaRecord b = base.get(v.start());
        if (eligible(v) && end != null && end == v.end() && b != null && b.end() == v.end()) {
          long[] runs = scan(pagemap, arg, vec, v, Sys.PAGE_IS_WRITTEN);
          if (runs != null) {
            written.put(v.start(), runs);
          }
        }
      }
    } finally {
      LibC.close(pagemap);
    }
    return written;
  }

  private int openPagemap() throws ProcessException {
    try {
      return LibC.open("/proc/" + pid + "/pagemap", Sys.O_RDONLY | Sys.O_CLOEXEC, 0);
    } catch (LastErrorException e) {
      throw Sys.error("open(/proc/" + pid + "/pagemap)", pid, e);
    }
  }

  /**
   * While the process is frozen: for every tracked mapping the base knows, the pages written
   * since the base, as [first page, count] runs from the mapping's start, protected again by the
   * same scan, together with those {@code before} ({@link #prescan}) found. Every other private
   * anonymous mapping is registered and protected from now on, so that the next checkpoint can
   * count from this one. Mappings absent from the result are read in full.
   */
  synchronized Map<Long, long[]> rearm(List<Vma> maps, Map<Long, long[]> before) throws ProcessException {
    Map<Long, long[]> written = new HashMap<>();
    Set<Long> present = new java.util.HashSet<>();
    int pagemap = openPagemap();
    try (Memory arg = new Memory(Sys.PM_SCAN_ARG_SIZE); Memory vec = new Memory((long) Sys.PAGE_REGION_SIZE * REGIONS)) {
      for (Vma v : maps) {
        if (!eligible(v)) {
          continue;
        }
        present.add(v.start());
        Long end = registered.get(v.start());
        if (end != null && end == v.end()) {
          long[] runs = scan(pagemap, arg, vec, v, Sys.PAGE_IS_WRITTEN);
          if (runs != null) {
            VmaRecord b = base.get(v.start());
            if (b != null && b.end() == v.end()) {
              written.put(v.start(), union(before.getOrDefault(v.start(), new long[0]), runs));
            }
            continue;
          }
        }
        // New, changed, or no longer registered: registered (again) and protected from now.
        registered.remove(v.start());
        if (register(v) && scan(pagemap, arg, vec, v, 0) != null) {
          registered.put(v.start(), v.end());
        }
      }
    } finally {
      LibC.close(pagemap);
    }
    registered.keySet().retainAll(present);
    return written;
  }

  /** The pages of two sorted run lists ([first, count] pairs), as one sorted list of maximal runs. */
  static long[] union(long[] a, long[] b) {
    List<long[]> all = new ArrayList<>();
    for (long[] runs : new long[][] {a, b}) {
      for (int i = 0; i < runs.length; i += 2) {
        all.add(new long[] {runs[i], runs[i] + runs[i + 1]});
      }
    }
    all.sort(java.util.Comparator.comparingLong(r -> r[0]));
    List<Long> out = new ArrayList<>();
    long s = -1;
    long e = -1;
    for (long[] r : all) {
      if (s >= 0 && r[0] <= e) {
        e = Math.max(e, r[1]);
        continue;
      }
      if (s >= 0) {
        out.add(s);
        out.add(e - s);
      }
      s = r[0];
      e = r[1];
    }
    if (s >= 0) {
      out.add(s);
      out.add(e - s);
    }
    return out.stream().mapToLong(Long::longValue).toArray();
  }

  /** The most page regions one scan call returns; the scan goes on from where it stopped. */
  private static final int REGIONS = 1024;

  /**
   * PAGEMAP_SCAN of one mapping, protecting every page it reports: with {@code category}
   * PAGE_IS_WRITTEN, the pages written since the last scan; with 0, all of them. Returns the
   * written pages as runs, or null if the mapping is not (all) registered with asynchronous
   * write-protect.
   */
  private long[] scan(int pagemap, Memory arg, Memory vec, Vma v, long category) throws ProcessException {
    PagemapScan.Runs runs = new PagemapScan.Runs();
    try {
      // Only pages that exist: a hole protected gets a marker, and with markers the untouched
      // half of a big mapping gets page tables that the scan then walks and every fork copies
      // (9 to 13 ms more frozen per GiB here). A page dropped since (MADV_DONTNEED) is found
      // by the dump instead: it was present in the base and is not now.
      PagemapScan.walk(pagemap, arg, vec, REGIONS, v.start(), v.end(), Sys.PM_SCAN_WP_MATCHING | Sys.PM_SCAN_CHECK_WPASYNC,
          category, Sys.PAGE_IS_PRESENT | Sys.PAGE_IS_SWAPPED, Sys.PAGE_IS_WRITTEN, (s, e, categories) -> {
            if ((categories & Sys.PAGE_IS_WRITTEN) != 0) {
              runs.add((s - v.start()) / MemoryDumper.PAGE, (e - s) / MemoryDumper.PAGE);
            }
          });
    } catch (LastErrorException e) {
      // EPERM, EINVAL: not registered (all of it) with asynchronous write-protect. ESRCH: the
      // memory the pagemap was opened on is gone (an exec after the tracker's probe). Either
      // way nothing is known of it, and it is read in full.
      if (e.getErrorCode() == Errno.EPERM || e.getErrorCode() == Errno.EINVAL || e.getErrorCode() == Errno.ESRCH) {
        return null;
      }
      throw Sys.error(String.format("PAGEMAP_SCAN of 0x%x-0x%x", v.start(), v.end()), pid, e);
    }
    return runs.toArray();
  }

  /** UFFDIO_REGISTER in write-protect mode; 0 or the errno. */
  private int registerErrno(long start, long end) {
    try (Memory reg = new Memory(32)) {
      reg.setLong(0, start);
      reg.setLong(8, end - start);
      reg.setLong(16, Sys.UFFDIO_REGISTER_MODE_WP);
      reg.setLong(24, 0);
      LibC.syscall(Sys.SYS_IOCTL, uffd, Sys.UFFDIO_REGISTER, Pointer.nativeValue(reg), 0, 0, 0);
      return 0;
    } catch (LastErrorException e) {
      return e.getErrorCode();
    }
  }

  private boolean register(Vma v) {
    // EBUSY: the process registered it with a userfaultfd of its own (the census refuses that);
    // EINVAL or EPERM: memory that cannot be write-protected. Read in full each time.
    return registerErrno(v.start(), v.end()) == 0;
  }


  /** The checkpoint whose scan ran last is committed: changes now count from it. */
  synchronized void committed(dev.ckpt.CheckpointInfo info, List<VmaRecord> records) {
    Map<Long, VmaRecord> byStart = new HashMap<>();
    for (VmaRecord r : records) {
      byStart.put(r.start(), r);
    }
    baseInfo = info;
    base = byStart;
    inFlight = false;
  }

  /** Ends tracking: closing the userfaultfd unregisters every mapping and lifts every protection. */
  @Override
  public synchronized void close() {
    reset();
    inFlight = false;
  }

  /**
   * Closes the userfaultfd and forgets the base; a checkpoint that began the tracker still holds
   * it, so that another does not scan before that one ends.
   */
  synchronized void reset() {
    if (uffd >= 0) {
      try {
        LibC.close(uffd);
      } catch (LastErrorException ignored) {
        // Nothing to do about a failed close.
      }
      uffd = -1;
    }
    registered.clear();
    baseInfo = null;
    base = Map.of();
  }
}
