package dev.ckpt.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ckpt.CheckpointInfo;
import dev.ckpt.CheckpointStore;
import dev.ckpt.ConsistencyResult;
import dev.ckpt.ImageReader;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fault matrix's two-writers row for the local store: two JVMs write checkpoints of one job
 * into one store at the same time. No number is committed twice, every checkpoint reported
 * committed holds what its writer wrote, and the store is consistent afterwards.
 */
class TwoWriterJvmsIT {
  @TempDir
  Path dir;

  @Test
  @Timeout(value = 4, unit = TimeUnit.MINUTES)
  void twoJvmsWritingOneJob_neverCommitOneNumberTwice_andLoseNothing() throws Exception {
    Path root = Files.createDirectory(dir.resolve("store"));
    URI store = root.toUri();
    Path start = dir.resolve("start");
    int each = 25;
    List<Process> writers = new ArrayList<>();
    List<Path> logs = new ArrayList<>();
    Map<Long, String> reported = new HashMap<>();
    List<List<Long>> idsOf = List.of(new ArrayList<>(), new ArrayList<>());
    int failed = 0;
    int conflicts = 0;
    int unclear = 0;
    try {
      for (int w = 0; w < 2; w++) {
        Path log = dir.resolve("writer-" + w + ".log");
        logs.add(log);
        writers.add(ChildJvm.start(log, List.of("-Xmx128m"), TwoWriterMain.class, store.toString(), "shared",
            Integer.toString(each), Integer.toString(100 + w), start.toString()));
      }
      Thread.sleep(2000); // both JVMs started and waiting: they begin together
      Files.createFile(start);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(150);
      for (int w = 0; w < 2; w++) {
        long left = deadline - System.nanoTime();
        assertTrue(writers.get(w).waitFor(Math.max(1, left), TimeUnit.NANOSECONDS), "writer " + w + " did not finish");
        assertEquals(0, writers.get(w).exitValue(), Files.readString(logs.get(w)));
      }
    } finally {
      writers.forEach(Process::destroyForcibly);
    }
    for (int w = 0; w < 2; w++) {
      for (String line : Files.readAllLines(logs.get(w))) {
        String[] f = line.split(" ");
        if (f[0].equals("committed")) {
          String before = reported.put(Long.parseLong(f[1]), f[2]);
          assertEquals(null, before, "checkpoint " + f[1] + " reported committed by both writers");
          idsOf.get(w).add(Long.parseLong(f[1]));
        } else if (f[0].equals("failed")) {
          failed++;
          if (line.contains("CommitConflictException")) {
            conflicts++;
          }
        } else if (f[0].equals("unclear")) {
          unclear++;
        }
      }
    }
    for (int w = 0; w < 2; w++) {
      assertTrue(!idsOf.get(w).isEmpty(), "writer " + w + " committed nothing");
    }
    // They ran at the same time: their numbers interleave.
    assertTrue(idsOf.get(0).get(0) < idsOf.get(1).get(idsOf.get(1).size() - 1)
        && idsOf.get(1).get(0) < idsOf.get(0).get(idsOf.get(0).size() - 1), "the writers did not overlap: " + idsOf);
    int lost = 0;
    try (CheckpointStore s = CheckpointStore.open(store)) {
      ConsistencyResult c = s.checkConsistency("shared");
      assertTrue(c.ok(), c.problems().toString());
      for (CheckpointInfo info : c.checkpoints()) {
        assertTrue(s.verify("shared", info.id()).ok(), "shared@" + info.id());
      }
      for (Map.Entry<Long, String> e : reported.entrySet()) {
        try (ImageReader r = s.open("shared", e.getKey())) {
          String got = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(r.readBytes("data")));
          if (!got.equals(e.getValue())) {
            lost++;
          }
        }
      }
      System.out.println("FAULT MATRIX | two writers on one job from two JVMs | local | " + reported.size() + " committed, "
          + failed + " failed cleanly (" + conflicts + " conflicts), " + unclear + " unclear, " + lost + " lost; "
          + c.checkpoints().size() + " checkpoints in the store");
      assertEquals(0, lost);
      assertTrue(c.checkpoints().size() >= reported.size() && c.checkpoints().size() <= reported.size() + unclear,
          c.checkpoints().size() + " checkpoints in the store for " + reported.size() + " committed and " + unclear + " unclear");
    }
    assertEquals(2 * each, reported.size() + failed + unclear);
  }
}
