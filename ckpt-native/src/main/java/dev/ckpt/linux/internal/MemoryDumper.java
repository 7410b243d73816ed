package dev.ckpt.linux.internal;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import dev.ckpt.CheckpointException;
import dev.ckpt.ImageWriter;
import dev.ckpt.PartOutput;
import dev.ckpt.linux.ProcessException;
import dev.ckpt.linux.internal.ProcessImage.VmaKind;
import dev.ckpt.linux.internal.ProcessImage.VmaRecord;
import dev.ckpt.linux.internal.jna.LibC;
import dev.ckpt.linux.internal.jna.Sys;
import dev.ckpt.linux.internal.proc.Vma;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Writes the contents of a stopped process's mappings as image parts. /proc/PID/pagemap says
 * which pages exist: untouched pages become zero runs that cost nothing, and pages of private
 * file mappings are dumped only where the process changed them (they are anonymous copies).
 */
final class MemoryDumper {
  static final long PAGE = 4096;
  private static final int BUFFER = 1 << 20;

  /**
   * A dumper's reused, page-aligned buffers. Fresh memory costs a page fault per page in this
   * VM: 3 ms for 1 MiB, which a dumper made while the process is frozen added to the freeze. A
   * {@link Pool} keeps them from one checkpoint to the next.
   */
  record Buffers(Memory data, Memory pagemap) {
    static Buffers allocate() {
      Buffers b = new Buffers(new Memory(BUFFER), new Memory(8 * 8192));
      b.data.clear(); // faulted in now, not during the reads
      return b;
    }
  }

  /** Buffers kept between checkpoints (a few: a tree's extra ones are left to the collector). */
  static final class Pool {
    private final java.util.concurrent.BlockingQueue<Buffers> idle = new java.util.concurrent.ArrayBlockingQueue<>(4);

    /** Idle buffers, made if there are none. */
    Buffers take() {
      Buffers b = idle.poll();
      return b != null ? b : Buffers.allocate();
    }

    /** Makes buffers for up to {@code n} dumpers ahead, before a freeze needs them. */
    void reserve(int n) {
      while (idle.size() < Math.min(n, 4) && idle.offer(Buffers.allocate())) {
        // filled one
      }
    }

    /** Gives buffers back once their dumper's last read has returned. */
    void give(Buffers b) {
      idle.offer(b);
    }
  }

  private final Buffers buffers;
  private final Memory buffer;
  private final Memory pagemapBuffer;
  private long bytesRead;

  MemoryDumper(Buffers buffers) {
    this.buffers = buffers;
    this.buffer = buffers.data();
    this.pagemapBuffer = buffers.pagemap();
  }

  Buffers buffers() {
    return buffers;
  }

  long bytesRead() {
    return bytesRead;
  }

  static VmaKind kind(Vma v) {
    return switch (v.path()) {
      case "[vdso]" -> VmaKind.VDSO;
      case "[vvar]" -> VmaKind.VVAR;
      case "[vvar_vclock]" -> VmaKind.VVAR_VCLOCK;
      case "[heap]" -> VmaKind.HEAP;
      case "[stack]" -> VmaKind.STACK;
      default -> {
        if (v.sharedAnonymous() || v.memfd()) {
          yield VmaKind.SHARED_ANON;
        }
        if (v.fileBacked() && v.shared() && ownedFile(v.path())) {
          yield VmaKind.OWNED_FILE;
        }
        if (v.fileBacked()) {
          yield v.shared() ? VmaKind.FILE_SHARED : VmaKind.FILE_PRIVATE;
        }
        yield VmaKind.ANON;
      }
    };
  }

  private static final java.util.regex.Pattern OWNED = java.util.regex.Pattern.compile("/tmp/hsperfdata_[^/]+/[0-9]+");

  /**
   * A file only its process uses, named after its pid: the JVM's performance counters, which it
   * maps shared and rewrites all the time, and which no other program writes (jstat reads them).
   */
  static boolean ownedFile(String path) {
    return OWNED.matcher(path).matches();
  }

  /**
   * The identity of a shared anonymous or memfd object, {@code shm:DEV:INODE}: mappings with the
   * same key, in one process or several of a tree, are one object, and restore maps one object
   * for them (version 3; older images have an empty path and get an object per mapping).
   */
  static String shmKey(Vma v) {
    return v.inode() == 0 ? "" : "shm:" + v.device() + ":" + v.inode();
  }

  /** The record of a mapping without contents, or null for one that is not part of an image ([vsyscall]). */
  static VmaRecord record(Vma v) {
    if (v.path().equals("[vsyscall]")) {
      return null;
    }
    String path = v.sharedAnonymous() ? shmKey(v) : v.fileBacked() ? v.path() : (v.path().startsWith("[") ? v.path() : "");
    return new VmaRecord(v.start(), v.end(), v.prot(), kind(v), v.offset(), path, new long[0]);
  }

  /** How often, in bytes read, the deadline is looked at. */
  private static final long DEADLINE_EVERY = 16L << 20;
  private long checkedAt;

  /** Dumps one mapping and returns its record (with the page runs whose contents it wrote). */
  VmaRecord dump(Tracee t, Vma v, ImageWriter image) throws CheckpointException {
    return dump(t, v, image, null, null);
  }

  /**
   * Dumps one mapping; with {@code written} (the pages written since the writer's base
   * checkpoint, as runs, from DirtyTracker) and {@code base} (the base's record of the same
   * mapping), each chunk-sized window with no page written and the same pages present as in the
   * base is taken from the base without reading it.
   */
  VmaRecord dump(Tracee t, Vma v, ImageWriter image, long[] written, VmaRecord base) throws CheckpointException {
    VmaRecord empty = record(v);
    VmaKind kind = empty == null ? null : empty.kind();
    if (kind == null) {
      return null;
    }
    if (kind == VmaKind.VDSO || kind == VmaKind.VVAR || kind == VmaKind.VVAR_VCLOCK || kind == VmaKind.FILE_SHARED) {
      return empty; // the kernel or the file holds these contents
    }
    long pages = v.length() / PAGE;
    long[] dumped = kind == VmaKind.SHARED_ANON || kind == VmaKind.OWNED_FILE
        ? (pages == 0 ? new long[0] : new long[] {0, pages}) // every page: the object holds them all
        : presentRuns(t.pid, v, kind == VmaKind.FILE_PRIVATE);
    if (dumped.length == 0) {
      return empty;
    }
    VmaRecord rec = new VmaRecord(v.start(), v.end(), v.prot(), kind, v.offset(), empty.path(), dumped);
    int chunk = written == null ? 0 : image.chunkSize();
    if (written != null && base != null && base.end() == v.end() && base.kind() == kind && chunk % PAGE == 0) {
      try (PartOutput out = image.part(rec.part(), Map.of())) {
        dumpChanged(t, v, out, image, dumped, base.dumped(), written, chunk / PAGE);
      }
      return rec;
    }
    try (PartOutput out = image.part(rec.part(), Map.of())) {
      long pos = 0;
      for (int r = 0; r < dumped.length; r += 2) {
        long from = dumped[r] * PAGE;
        long len = dumped[r + 1] * PAGE;
        out.writeZeros(from - pos);
        copy(t, v.start() + from, len, out, image);
        pos = from + len;
      }
      out.writeZeros(v.length() - pos);
    }
    return rec;
  }

  /** Reads {@code length} bytes of the process at {@code addr} into {@code out}, through the reused buffer. */
  private void copy(Tracee t, long addr, long length, PartOutput out, ImageWriter image) throws CheckpointException {
    for (long off = 0; off < length; off += BUFFER) {
      int n = (int) Math.min(BUFFER, length - off);
      if (bytesRead - checkedAt >= DEADLINE_EVERY) {
        image.checkDeadline(); // the process may be frozen: a timeout must bound that too
        checkedAt = bytesRead;
      }
      t.read(addr + off, buffer, n);
      out.write(buffer.getByteBuffer(0, n));
      bytesRead += n;
    }
  }

  /**
   * Writes a mapping window by window ({@code window} pages, the writer's chunk). A window with
   * no written page whose present pages are those of the base is copied from the base. In a
   * window where at most half the pages changed (written, or present in one of the two and not
   * the other), only those are read, and the rest are slices of the base's chunks: scattered
   * writes cost about the pages written, not a whole chunk each. Any other window is read whole.
   * Stretches where no page is present now or in the base are zero in both.
   */
  private void dumpChanged(Tracee t, Vma v, PartOutput out, ImageWriter image, long[] now, long[] before, long[] written,
      long window) throws CheckpointException {
    long pages = v.length() / PAGE;
    java.util.TreeSet<Long> windows = new java.util.TreeSet<>();
    for (long[] runs : new long[][] {now, before, written}) {
      for (int i = 0; i < runs.length; i += 2) {
        for (long w = runs[i] / window; w <= (runs[i] + runs[i + 1] - 1) / window; w++) {
          windows.add(w);
        }
      }
    }
    long pos = 0; // in pages
    for (long w : windows) {
      long from = w * window;
      long to = Math.min(pages, from + window);
      if (from >= to) {
        continue;
      }
      out.writeZeros((from - pos) * PAGE);
      int n = (int) (to - from);
      boolean[] present = mark(clip(now, from, to), from, n);
      boolean[] changed = mark(clip(written, from, to), from, n);
      boolean[] presentBefore = mark(clip(before, from, to), from, n);
      int count = 0;
      for (int i = 0; i < n; i++) {
        changed[i] |= present[i] != presentBefore[i];
        count += changed[i] ? 1 : 0;
      }
      if (count == 0 && out.copyFromBase(n * PAGE)) {
        pos = to;
        continue;
      }
      if (count > 0 && 2 * count <= n) {
        for (int i = 0; i < n; ) {
          int j = i;
          while (j < n && changed[j] == changed[i]) {
            j++;
          }
          if (changed[i] || !out.copyFromBase((j - i) * PAGE)) {
            read(t, v, out, image, present, from, i, j);
          }
          i = j;
        }
      } else {
        read(t, v, out, image, present, from, 0, n);
      }
      pos = to;
    }
    out.writeZeros((pages - pos) * PAGE);
  }

  /** Writes pages [{@code i}, {@code j}) of the window at page {@code from}: the present ones read, the others zeros. */
  private void read(Tracee t, Vma v, PartOutput out, ImageWriter image, boolean[] present, long from, int i, int j)
      throws CheckpointException {
    while (i < j) {
      int k = i;
      while (k < j && present[k] == present[i]) {
        k++;
      }
      if (present[i]) {
        copy(t, v.start() + (from + i) * PAGE, (k - i) * PAGE, out, image);
      } else {
        out.writeZeros((k - i) * PAGE);
      }
      i = k;
    }
  }

  /** The pages of a window of {@code n} pages at page {@code from} that {@code runs} (from clip) cover. */
  private static boolean[] mark(List<long[]> runs, long from, int n) {
    boolean[] in = new boolean[n];
    for (long[] r : runs) {
      java.util.Arrays.fill(in, (int) (r[0] - from), (int) (r[1] - from), true);
    }
    return in;
  }

  /** The parts of {@code runs} ([first, count] pairs, sorted) within pages [from, to), as [start, end) pairs. */
  static List<long[]> clip(long[] runs, long from, long to) {
    int lo = 0;
    int hi = runs.length / 2;
    while (lo < hi) { // the first run that ends after from
      int mid = (lo + hi) >>> 1;
      if (runs[2 * mid] + runs[2 * mid + 1] <= from) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    List<long[]> out = new ArrayList<>();
    for (int i = 2 * lo; i < runs.length && runs[i] < to; i += 2) {
      out.add(new long[] {Math.max(from, runs[i]), Math.min(to, runs[i] + runs[i + 1])});
    }
    return out;
  }

  /**
   * The runs {first page, count} of a mapping's pages that exist (present or swapped), and with
   * {@code anonOnly} only those the process has written (anonymous copies of a private file
   * mapping's pages), from its /proc/PID/pagemap.
   */
  private long[] presentRuns(int pid, Vma v, boolean anonOnly) throws ProcessException {
    int pagemap = openPagemap(pid);
    try {
      long[] runs = scanRuns(pid, pagemap, v, anonOnly);
      return runs != null ? runs : pagemapRuns(pid, pagemap, v, anonOnly);
    } finally {
      LibC.close(pagemap);
    }
  }

  private static int openPagemap(int pid) throws ProcessException {
    try {
      return LibC.open("/proc/" + pid + "/pagemap", 0, 0);
    } catch (LastErrorException e) {
      throw Sys.error("open(/proc/" + pid + "/pagemap)", pid, e);
    }
  }

  /** Both ways of {@link #presentRuns}, {PAGEMAP_SCAN's (null without it), the entries'}: for the test that they agree. */
  long[][] presentRunsBothWays(int pid, Vma v, boolean anonOnly) throws ProcessException {
    int pagemap = openPagemap(pid);
    try {
      return new long[][] {scanRuns(pid, pagemap, v, anonOnly), pagemapRuns(pid, pagemap, v, anonOnly)};
    } finally {
      LibC.close(pagemap);
    }
  }

  /**
   * {@link #presentRuns} with ioctl(PAGEMAP_SCAN), which returns ranges: a few calls instead of
   * reading 8 bytes per page (2 MiB and 8 to 13 ms for 1 GiB here). Null where the kernel has no
   * PAGEMAP_SCAN (before Linux 6.7).
   */
  private long[] scanRuns(int pid, int pagemap, Vma v, boolean anonOnly) throws ProcessException {
    PagemapScan.Runs runs = new PagemapScan.Runs();
    try (Memory arg = new Memory(Sys.PM_SCAN_ARG_SIZE)) {
      PagemapScan.walk(pagemap, arg, pagemapBuffer, (int) (pagemapBuffer.size() / Sys.PAGE_REGION_SIZE), v.start(), v.end(),
          0, 0, Sys.PAGE_IS_PRESENT | Sys.PAGE_IS_SWAPPED,
          Sys.PAGE_IS_PRESENT | Sys.PAGE_IS_SWAPPED | (anonOnly ? Sys.PAGE_IS_FILE : 0), (s, e, categories) -> {
            if (!anonOnly || (categories & Sys.PAGE_IS_FILE) == 0) {
              runs.add((s - v.start()) / PAGE, (e - s) / PAGE);
            }
          });
    } catch (LastErrorException e) {
      if (e.getErrorCode() == dev.ckpt.linux.internal.jna.Errno.ENOTTY
          || e.getErrorCode() == dev.ckpt.linux.internal.jna.Errno.EINVAL) {
        return null;
      }
      throw Sys.error(String.format("PAGEMAP_SCAN of 0x%x-0x%x", v.start(), v.end()), pid, e);
    }
    return runs.toArray();
  }

  /** {@link #presentRuns} from the pagemap's entries, 8 bytes a page, where there is no PAGEMAP_SCAN. */
  private long[] pagemapRuns(int pid, int pagemap, Vma v, boolean anonOnly) throws ProcessException {
    long pages = v.length() / PAGE;
    PagemapScan.Runs runs = new PagemapScan.Runs();
    for (long p0 = 0; p0 < pages; p0 += 8192) {
      int n = (int) Math.min(8192, pages - p0);
      readPagemap(pid, pagemap, v.start() / PAGE + p0, n);
      for (int i = 0; i < n; i++) {
        long e = pagemapBuffer.getLong(8L * i);
        if ((e & (Sys.PM_PRESENT | Sys.PM_SWAPPED)) != 0 && (!anonOnly || (e & Sys.PM_FILE) == 0)) {
          runs.add(p0 + i, 1);
        }
      }
    }
    return runs.toArray();
  }

  private void readPagemap(int pid, int fd, long firstPage, int count) throws ProcessException {
    long want = 8L * count;
    try {
      long got = LibC.pread(fd, pagemapBuffer, want, firstPage * 8);
      if (got != want) {
        throw new ProcessException(pid, "short read of pagemap: " + got + " of " + want + " bytes");
      }
    } catch (LastErrorException e) {
      throw Sys.error("pread(/proc/" + pid + "/pagemap)", pid, e);
    }
  }
}
