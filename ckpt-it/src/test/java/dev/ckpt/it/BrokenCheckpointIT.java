package dev.ckpt.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ckpt.CheckpointInfo;
import dev.ckpt.CheckpointStore;
import dev.ckpt.GcResult;
import dev.ckpt.ImageReader;
import dev.ckpt.ImageWriter;
import dev.ckpt.PartOutput;
import dev.ckpt.Retention;
import dev.ckpt.VerifyResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A committed checkpoint whose packs are gone (what issue #13 left behind, or a store that lost
 * files): later checkpoints still commit, retention keeps the newest one that can be restored,
 * GC and verify say what is broken.
 */
class BrokenCheckpointIT {
  private static final String JOB = "sim";

  @TempDir
  Path dir;
  TestClock clock;
  CheckpointStore store;

  @BeforeEach
  void open() throws Exception {
    clock = new TestClock(Instant.now());
    store = CheckpointStore.builder().uri(dir.toUri()).clock(clock).parallelism(2).gcGracePeriod(Duration.ZERO)
        .build();
  }

  @AfterEach
  void close() {
    store.close();
  }

  private static byte[] state(long seed, int size) {
    byte[] b = new byte[size];
    new Random(seed).nextBytes(b);
    return b;
  }

  private static byte[] state(long seed) {
    return state(seed, 1 << 20);
  }

  private CheckpointInfo write(byte[] content) throws Exception {
    clock.advance(Duration.ofSeconds(1));
    try (ImageWriter w = store.newImage(JOB)) {
      try (PartOutput out = w.part("state", Map.of())) {
        out.write(content, 0, content.length);
      }
      return w.commit();
    }
  }

  private Set<Path> packFiles() throws Exception {
    try (Stream<Path> s = Files.list(dir.resolve(JOB).resolve("packs"))) {
      return s.filter(p -> !p.getFileName().toString().startsWith(".")).collect(Collectors.toSet());
    }
  }

  /** Writes a checkpoint of new content, then deletes the packs it stored: it stays listed and is broken. */
  private CheckpointInfo writeBroken(byte[] content) throws Exception {
    Set<Path> before = packFiles();
    CheckpointInfo c = write(content);
    Set<Path> own = new HashSet<>(packFiles());
    own.removeAll(before);
    assertFalse(own.isEmpty(), "checkpoint " + c.id() + " stored packs of its own");
    for (Path p : own) {
      Files.delete(p);
    }
    return c;
  }

  private byte[] restore(long id) throws Exception {
    try (ImageReader r = store.open(JOB, id)) {
      return r.readBytes("state");
    }
  }

  private List<Long> ids() throws Exception {
    return store.checkpoints(JOB).stream().map(CheckpointInfo::id).toList();
  }

  @Test
  void checkpointSharingChunksWithABrokenOne_storesThemAgain_andCommits() throws Exception {
    write(state(1));
    writeBroken(state(2));
    CheckpointInfo third = write(state(2));
    assertEquals(3, third.id());
    assertTrue(third.newChunks() >= 16, "the chunks of the missing pack are written again: " + third);
    assertTrue(store.verify(JOB, 3).ok());
    assertArrayEquals(state(2), restore(3));
    CheckpointInfo fourth = write(state(2));
    assertEquals(0, fourth.newChunks(), "and later checkpoints deduplicate against them: " + fourth);
    assertArrayEquals(state(2), restore(4));
  }

  @Test
  void retention_keepsTheNewestCheckpointThatVerifies_overNewerBrokenOnes() throws Exception {
    write(state(1));
    writeBroken(state(2));
    writeBroken(state(3));
    GcResult r = store.retain(JOB, Retention.keepLast(2));
    assertEquals(List.of(), r.deletedCheckpoints(), r.toString());
    assertEquals(List.of(2L, 3L), r.brokenCheckpoints(), r.toString());
    assertEquals(List.of(1L, 2L, 3L), ids());
    assertArrayEquals(state(1), restore(1));
  }

  @Test
  void retention_countsOnlyCheckpointsThatVerify_towardsKeepLast() throws Exception {
    write(state(1));
    write(state(2));
    writeBroken(state(3));
    write(state(4));
    GcResult r = store.retain(JOB, Retention.keepLast(2));
    assertEquals(List.of(1L), r.deletedCheckpoints(), r.toString());
    assertEquals(List.of(3L), r.brokenCheckpoints(), r.toString());
    assertEquals(List.of(2L, 3L, 4L), ids(), "two that verify, and the broken one between them");
    assertArrayEquals(state(2), restore(2));
    assertArrayEquals(state(4), restore(4));
  }

  @Test
  void gc_reportsCheckpointsWhosePacksAreMissing_andNeverDeletesThem() throws Exception {
    write(state(1));
    writeBroken(state(2));
    for (int run = 1; run <= 2; run++) {
      clock.advance(Duration.ofMinutes(1));
      GcResult r = store.gc(JOB);
      assertEquals(List.of(2L), r.brokenCheckpoints(), "run " + run + ": " + r);
      assertEquals(List.of(1L, 2L), ids(), "run " + run);
    }
    assertTrue(store.verify(JOB, 1).ok());
  }

  @Test
  void verify_reportsEachMissingPackOnce() throws Exception {
    write(state(1));
    // 6 MiB of new chunks in one pack: restore and verify read it in more than one range.
    CheckpointInfo broken = writeBroken(state(2, 6 << 20));
    VerifyResult v = store.verify(JOB, broken.id());
    assertFalse(v.ok());
    assertEquals(1, v.problems().size(), v.problems().toString());
    assertTrue(v.problems().get(0).contains("missing") && v.problems().get(0).contains(JOB + "@2"),
        v.problems().toString());
  }
}
