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
  @Timeout(value = 3, unit = TimeUnit.MINUTES)
  void twoJvmsWritingOneJob_neverCommitOneNumberTwice_andLoseNothing() throws Exception {
    Path root = Files.createDirectory(dir.resolve("store"));
    URI store = root.toUri();
    int each = 25;
    List<Process> writers = new ArrayList<>();
    List<Path> logs = new ArrayList<>();
    for (int w = 0; w < 2; w++) {
      Path log = dir.resolve("writer-" + w + ".log");
      logs.add(log);
      writers.add(ChildJvm.start(log, List.of("-Xmx128m"), TwoWriterMain.class, store.toString(), "shared",
          Integer.toString(each), Integer.toString(100 + w)));
    }
    for (int w = 0; w < 2; w++) {
      assertTrue(writers.get(w).waitFor(150, TimeUnit.SECONDS), "writer " + w + " did not finish");
      assertEquals(0, writers.get(w).exitValue(), Files.readString(logs.get(w)));
    }
    Map<Long, String> reported = new HashMap<>();
    int failed = 0;
    int unclear = 0;
    for (Path log : logs) {
      for (String line : Files.readAllLines(log)) {
        String[] f = line.split(" ");
        if (f[0].equals("committed")) {
          String before = reported.put(Long.parseLong(f[1]), f[2]);
          assertEquals(null, before, "checkpoint " + f[1] + " reported committed by both writers");
        } else if (f[0].equals("failed")) {
          failed++;
        } else if (f[0].equals("unclear")) {
          unclear++;
        }
      }
    }
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
          + failed + " failed cleanly, " + unclear + " unclear, " + lost + " lost; " + c.checkpoints().size() + " checkpoints in the store");
      assertEquals(0, lost);
      assertTrue(c.checkpoints().size() >= reported.size() && c.checkpoints().size() <= reported.size() + unclear,
          c.checkpoints().size() + " checkpoints in the store for " + reported.size() + " committed and " + unclear + " unclear");
    }
    assertEquals(2 * each, reported.size() + failed + unclear);
    assertTrue(reported.size() > each, "both writers committed: " + reported.size());
  }
}
