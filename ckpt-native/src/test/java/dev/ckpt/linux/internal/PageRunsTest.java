package dev.ckpt.linux.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The page-run arithmetic of tracked dumps: merging written runs, and clipping runs to a window. */
class PageRunsTest {

  @Test
  void union_mergesOverlappingAndAdjacentRuns_inOrder() {
    long[] a = {0, 2, 10, 5};
    long[] b = {2, 1, 12, 10, 40, 1};
    assertArrayEquals(new long[] {0, 3, 10, 12, 40, 1}, DirtyTracker.union(a, b));
    assertArrayEquals(new long[] {5, 1}, DirtyTracker.union(new long[0], new long[] {5, 1}));
    assertArrayEquals(new long[0], DirtyTracker.union(new long[0], new long[0]));
  }

  @Test
  void union_coversExactlyThePagesOfBoth_onRandomRuns() {
    Random r = new Random(3);
    for (int round = 0; round < 200; round++) {
      boolean[] want = new boolean[300];
      long[][] lists = new long[2][];
      for (int l = 0; l < 2; l++) {
        boolean[] pages = new boolean[300];
        for (int i = 0; i < 300; i++) {
          pages[i] = r.nextInt(4) == 0;
          want[i] |= pages[i];
        }
        lists[l] = runs(pages);
      }
      assertArrayEquals(runs(want), DirtyTracker.union(lists[0], lists[1]), "round " + round);
    }
  }

  @Test
  void clip_givesThePartsOfRunsInsideAWindow() {
    long[] runs = {0, 4, 10, 20, 100, 1};
    List<long[]> c = MemoryDumper.clip(runs, 2, 16);
    assertEquals(2, c.size());
    assertArrayEquals(new long[] {2, 4}, c.get(0));
    assertArrayEquals(new long[] {10, 16}, c.get(1));
    assertEquals(0, MemoryDumper.clip(runs, 30, 100).size());
    assertArrayEquals(new long[] {100, 101}, MemoryDumper.clip(runs, 96, 112).get(0));
  }

  private static long[] runs(boolean[] pages) {
    java.util.List<Long> out = new java.util.ArrayList<>();
    for (int i = 0; i < pages.length; ) {
      if (!pages[i]) {
        i++;
        continue;
      }
      int j = i;
      while (j < pages.length && pages[j]) {
        j++;
      }
      out.add((long) i);
      out.add((long) (j - i));
      i = j;
    }
    return out.stream().mapToLong(Long::longValue).toArray();
  }
}
