package dev.ckpt.linux.internal;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import dev.ckpt.linux.internal.jna.LibC;
import dev.ckpt.linux.internal.jna.Sys;

/**
 * ioctl(PAGEMAP_SCAN) of /proc/PID/pagemap over a range, region by region, and the page runs
 * built from its regions: the layout of struct pm_scan_arg (linux/fs.h) in one place, for the
 * page tracker and the memory dumper.
 */
final class PagemapScan {
  private PagemapScan() {}

  /** One region of pages with the same categories (of those asked for in the return mask). */
  interface Region {
    void accept(long start, long end, long categories);
  }

  /**
   * Walks {@code [start, end)} with {@code vec} holding up to {@code regions} page_region
   * records per call, going on from where each call stopped. The ioctl's error is thrown for the
   * caller to judge (ENOTTY before Linux 6.7).
   */
  static void walk(int pagemap, Memory arg, Memory vec, int regions, long start, long end, long flags, long categoryMask,
      long anyOf, long returnMask, Region each) throws LastErrorException {
    long from = start;
    while (from < end) {
      arg.clear();
      arg.setLong(0, Sys.PM_SCAN_ARG_SIZE);
      arg.setLong(8, flags);
      arg.setLong(16, from);
      arg.setLong(24, end);
      arg.setLong(40, Pointer.nativeValue(vec));
      arg.setLong(48, regions);
      arg.setLong(72, categoryMask);
      arg.setLong(80, anyOf);
      arg.setLong(88, returnMask);
      long n = LibC.syscall(Sys.SYS_IOCTL, pagemap, Sys.PAGEMAP_SCAN, Pointer.nativeValue(arg), 0, 0, 0);
      for (int i = 0; i < n; i++) {
        long at = (long) Sys.PAGE_REGION_SIZE * i;
        each.accept(vec.getLong(at), vec.getLong(at + 8), vec.getLong(at + 16));
      }
      long walkEnd = arg.getLong(32);
      if (n < regions || walkEnd <= from) {
        return;
      }
      from = walkEnd;
    }
  }

  /** Page runs {first, count, …} in order, merging a run that starts where the last one ends. */
  static final class Runs {
    private long[] runs = new long[16];
    private int size;

    void add(long first, long count) {
      if (size >= 2 && runs[size - 2] + runs[size - 1] == first) {
        runs[size - 1] += count;
        return;
      }
      if (size == runs.length) {
        runs = java.util.Arrays.copyOf(runs, size * 2);
      }
      runs[size++] = first;
      runs[size++] = count;
    }

    long[] toArray() {
      return java.util.Arrays.copyOf(runs, size);
    }
  }
}
