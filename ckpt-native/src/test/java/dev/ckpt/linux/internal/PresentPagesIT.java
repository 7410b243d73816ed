package dev.ckpt.linux.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ckpt.linux.internal.proc.ProcFs;
import dev.ckpt.linux.internal.proc.Vma;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Which pages of a mapping a dump reads: PAGEMAP_SCAN's ranges must name exactly the pages the
 * pagemap's own entries do, present or swapped, and in a private file mapping only those the
 * process wrote (a page missed would restore as zeros or as the file's bytes).
 */
@Timeout(value = 1, unit = TimeUnit.MINUTES)
class PresentPagesIT {
  @TempDir
  Path dir;

  @Test
  void pagemapScan_findsThePagesThePagemapEntriesDo_inEveryMappingOfAStoppedProcess() throws Exception {
    String heap = Path.of(System.getProperty("ckpt.testPrograms"), "heap").toString();
    Path out = dir.resolve("heap.out");
    // 24 MiB with every fourth word zero: written pages, never-touched ones beyond, libraries'
    // private file mappings with some pages copied (relocations) and most not.
    Process p = new ProcessBuilder(heap, "24", "100000").redirectOutput(out.toFile()).start();
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (!Files.readString(out).contains("round 0 ") && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      assertTrue(new ProcessBuilder("kill", "-STOP", Long.toString(p.pid())).start().waitFor() == 0, "kill -STOP");
      int pid = (int) p.pid();
      MemoryDumper dumper = new MemoryDumper(MemoryDumper.Buffers.allocate());
      int partial = 0;
      int fileExcluded = 0;
      for (Vma v : ProcFs.maps(pid)) {
        ProcessImage.VmaKind kind = MemoryDumper.record(v) == null ? null : MemoryDumper.kind(v);
        if (kind != ProcessImage.VmaKind.ANON && kind != ProcessImage.VmaKind.HEAP && kind != ProcessImage.VmaKind.STACK
            && kind != ProcessImage.VmaKind.FILE_PRIVATE) {
          continue;
        }
        boolean anonOnly = kind == ProcessImage.VmaKind.FILE_PRIVATE;
        long[][] both = dumper.presentRunsBothWays(pid, v, anonOnly);
        assertNotNull(both[0], "PAGEMAP_SCAN (Linux 6.7+) is missing on this kernel: the dump reads pagemap entries instead");
        assertArrayEquals(both[1], both[0], "pages of " + v);
        long pages = 0;
        for (int i = 1; i < both[1].length; i += 2) {
          pages += both[1][i];
        }
        if (pages > 0 && pages < v.length() / MemoryDumper.PAGE) {
          partial++;
        }
        if (anonOnly) {
          long[][] present = dumper.presentRunsBothWays(pid, v, false);
          assertArrayEquals(present[1], present[0], "present pages of " + v);
          if (!java.util.Arrays.equals(present[1], both[1])) {
            fileExcluded++; // the file's own pages, present and left out
          }
        }
      }
      assertTrue(partial >= 3 && fileExcluded >= 1, "the mappings compared had pages both present and absent ("
          + partial + " mappings), and private file mappings with file pages left out (" + fileExcluded + ")");
    } finally {
      p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }
}
