package dev.ckpt.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ckpt.CheckpointException;
import dev.ckpt.CheckpointInfo;
import dev.ckpt.CheckpointStore;
import dev.ckpt.GcResult;
import dev.ckpt.ImageReader;
import dev.ckpt.ImageWriter;
import dev.ckpt.PartOutput;
import dev.ckpt.Retention;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GarbageCollectionIT {
  @TempDir
  Path dir;

  private static CheckpointInfo write(CheckpointStore store, String job, long seed) throws Exception {
    byte[] b = new byte[2 << 20];
    new Random(seed).nextBytes(b);
    try (ImageWriter w = store.newImage(job)) {
      try (PartOutput out = w.part("data", Map.of())) {
        out.write(b, 0, b.length);
      }
      return w.commit();
    }
  }

  private long packCount(Path root, String job) throws Exception {
    try (Stream<Path> s = Files.list(root.resolve(job).resolve("packs"))) {
      return s.filter(p -> !p.getFileName().toString().startsWith(".")).count();
    }
  }

  @Test
  void unreferencedPacks_surviveTheGracePeriod_thenGo() throws Exception {
    TestClock clock = new TestClock(Instant.now());
    try (CheckpointStore store = CheckpointStore.builder().uri(dir.toUri()).clock(clock)
        .gcGracePeriod(Duration.ofHours(1)).build()) {
      write(store, "j", 1);
      write(store, "j", 2);
      CheckpointInfo third = write(store, "j", 3);
      long packsBefore = packCount(dir, "j");

      GcResult r = store.retain("j", Retention.keepLast(1));
      assertEquals(List.of(1L, 2L), r.deletedCheckpoints());
      assertEquals(0, r.deletedPacks(), "packs found unreferenced are condemned, not deleted");
      assertTrue(r.keptForGracePeriod() >= 2, r.toString());
      assertEquals(packsBefore, packCount(dir, "j"));

      clock.advance(Duration.ofHours(2));
      GcResult later = store.gc("j");
      assertTrue(later.deletedPacks() >= 2 && later.bytesFreed() > 4 << 20, later.toString());
      assertTrue(packCount(dir, "j") < packsBefore);
      assertTrue(store.verify("j", third.id()).ok());
      byte[] expected = new byte[2 << 20];
      new Random(3).nextBytes(expected);
      try (ImageReader reader = store.open("j", third.id())) {
        assertArrayEquals(expected, reader.readBytes("data"));
      }
    }
  }

  @Test
  void retentionByAge_keepsRecentOnes_andAlwaysTheNewest() throws Exception {
    TestClock clock = new TestClock(Instant.now());
    try (CheckpointStore store = CheckpointStore.builder().uri(dir.toUri()).clock(clock).build()) {
      write(store, "a", 1);
      clock.advance(Duration.ofMinutes(30));
      write(store, "a", 2);
      clock.advance(Duration.ofMinutes(30));
      write(store, "a", 3);
      clock.advance(Duration.ofMinutes(10));
      GcResult r = store.retain("a", Retention.keepNewerThan(Duration.ofMinutes(45)));
      assertEquals(List.of(1L), r.deletedCheckpoints());
      clock.advance(Duration.ofDays(1));
      store.retain("a", Retention.keepNewerThan(Duration.ofMinutes(45)));
      assertEquals(List.of(3L), store.checkpoints("a").stream().map(CheckpointInfo::id).toList());
    }
  }

  @Test
  void deduplicatedChunks_stayAlive_whileAnyCheckpointUsesThem() throws Exception {
    TestClock clock = new TestClock(Instant.now());
    try (CheckpointStore store = CheckpointStore.builder().uri(dir.toUri()).clock(clock)
        .gcGracePeriod(Duration.ZERO).build()) {
      write(store, "d", 7);
      CheckpointInfo same = write(store, "d", 7); // every chunk reused from checkpoint 1
      assertEquals(0, same.newChunks());
      clock.advance(Duration.ofSeconds(1));
      store.retain("d", Retention.keepLast(1));
      assertTrue(store.verify("d", same.id()).ok(), "packs written by checkpoint 1 are still referenced by 2");
    }
  }

  private static byte[] content(long seed) {
    byte[] b = new byte[2 << 20];
    new Random(seed).nextBytes(b);
    return b;
  }

  /**
   * A writer deduplicates against checkpoint 1 while another store (another process's view of
   * the same directory) deletes checkpoint 1 and collects garbage: the packs the writer reuses
   * are condemned, not deleted, and the writer does not commit a checkpoint that would need them.
   */
  @Test
  void packReusedByAWriterElsewhere_isCondemnedNotDeleted_andThatWriterDoesNotCommit() throws Exception {
    TestClock clock = new TestClock(Instant.now());
    try (CheckpointStore writer = CheckpointStore.builder().uri(dir.toUri()).clock(clock)
            .gcGracePeriod(Duration.ofHours(1)).build();
        CheckpointStore collector = CheckpointStore.builder().uri(dir.toUri()).clock(clock)
            .gcGracePeriod(Duration.ofHours(1)).build()) {
      write(writer, "j", 1);
      CheckpointInfo second = write(writer, "j", 2);
      clock.advance(Duration.ofHours(2));
      ImageWriter w = writer.newImage("j");
      try (PartOutput out = w.part("data", Map.of())) {
        byte[] b = content(1);
        out.write(b, 0, b.length); // every chunk is in checkpoint 1's packs
      }

      GcResult r = collector.retain("j", Retention.keepLast(1));
      assertEquals(List.of(1L), r.deletedCheckpoints());
      assertEquals(0, r.deletedPacks(), "old but just found unreferenced: condemned, not deleted");
      assertTrue(r.keptForGracePeriod() >= 1, r.toString());

      CheckpointException e = assertThrows(CheckpointException.class, w::commit);
      assertTrue(e.getMessage().contains("condemned") && e.getMessage().contains("retry"), e.getMessage());
      assertEquals(List.of(2L), writer.checkpoints("j").stream().map(CheckpointInfo::id).toList(),
          "nothing was committed");

      CheckpointInfo retry = write(writer, "j", 1);
      assertTrue(retry.newChunks() > 0, "the retry stores the condemned chunks anew: " + retry);
      clock.advance(Duration.ofHours(2));
      GcResult later = collector.gc("j");
      assertTrue(later.deletedPacks() >= 1, later.toString());
      assertTrue(writer.verify("j", second.id()).ok());
      assertTrue(writer.verify("j", retry.id()).ok());
      try (ImageReader reader = writer.open("j", retry.id())) {
        assertArrayEquals(content(1), reader.readBytes("data"));
      }
      try (Stream<Path> markers = Files.list(dir.resolve("j/condemned"))) {
        assertEquals(0, markers.count(), "the markers of deleted packs are gone");
      }
    }
  }

  @Test
  void markerOnAReferencedPack_orOnAMissingOne_isRemoved_andThePackStays() throws Exception {
    TestClock clock = new TestClock(Instant.now());
    try (CheckpointStore store = CheckpointStore.builder().uri(dir.toUri()).clock(clock)
        .gcGracePeriod(Duration.ofHours(1)).build()) {
      CheckpointInfo only = write(store, "m", 5);
      Path condemned = Files.createDirectories(dir.resolve("m/condemned"));
      String pack;
      try (Stream<Path> s = Files.list(dir.resolve("m/packs"))) {
        pack = s.findFirst().orElseThrow().getFileName().toString();
      }
      // As a GC would leave them had a writer committed after the condemnation, and after a crash.
      Files.writeString(condemned.resolve(pack), "0\n");
      Files.writeString(condemned.resolve("0123456789abcdef0123456789abcdef"), "0\n");
      clock.advance(Duration.ofHours(2));
      GcResult r = store.gc("m");
      assertEquals(0, r.deletedPacks());
      assertFalse(Files.exists(condemned.resolve(pack)), "a referenced pack is no longer condemned");
      assertFalse(Files.exists(condemned.resolve("0123456789abcdef0123456789abcdef")), "a marker without a pack goes");
      assertTrue(store.verify("m", only.id()).ok());
    }
  }
}
