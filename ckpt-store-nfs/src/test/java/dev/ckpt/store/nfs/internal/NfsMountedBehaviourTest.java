package dev.ckpt.store.nfs.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ckpt.CheckpointInfo;
import dev.ckpt.CheckpointStore;
import dev.ckpt.GcResult;
import dev.ckpt.ImageReader;
import dev.ckpt.ImageWriter;
import dev.ckpt.PartOutput;
import dev.ckpt.Retention;
import dev.ckpt.StoreConfigurationException;
import dev.ckpt.StoreException;
import dev.ckpt.spi.BlobStore;
import dev.ckpt.spi.JobLock;
import dev.ckpt.store.nfs.NfsStoreProvider;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Mounted mode against the NFS behaviours one at a time, on a local directory that reproduces them. */
class NfsMountedBehaviourTest {
  @TempDir
  Path dir;

  /** A clock tests move by hand, for leases. */
  static final class ManualClock extends Clock {
    final AtomicLong millis = new AtomicLong(Instant.parse("2026-11-25T12:00:00Z").toEpochMilli());

    @Override
    public java.time.ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return Instant.ofEpochMilli(millis.get());
    }

    void advance(Duration d) {
      millis.addAndGet(d.toMillis());
    }
  }

  private NfsBlobStore store(NfsFiles files, Clock clock, Duration lease, Duration lockWait) {
    return NfsStores.over(URI.create("nfs://" + dir), files, new NfsBlobStore.Options(6, lease, lockWait, 5,
        Duration.ofMillis(10), clock));
  }

  private static CheckpointInfo write(CheckpointStore store, String job, byte[] data) throws Exception {
    try (ImageWriter w = store.newImage(job)) {
      try (PartOutput out = w.part("state", Map.of())) {
        out.write(data, 0, data.length);
      }
      return w.commit();
    }
  }

  private static byte[] random(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  @Test
  void latestCheckpoint_isFound_evenWhileListingsDoNotShowIt() throws Exception {
    // Every published name stays out of the next 3 listings, as with attribute caching.
    FaultyFiles lagging = new FaultyFiles(dir, 0, 0, 3);
    try (CheckpointStore writer = CheckpointStore.builder().blobStore(store(lagging, Clock.systemUTC(),
        Duration.ofSeconds(30), Duration.ofSeconds(5))).build()) {
      write(writer, "sim", random(300_000, 1));
      CheckpointInfo second = write(writer, "sim", random(300_000, 2));
      // A reader on another "client" (its own store and caches) whose listings lag too.
      try (CheckpointStore reader = CheckpointStore.builder().blobStore(store(lagging, Clock.systemUTC(),
          Duration.ofSeconds(30), Duration.ofSeconds(5))).build()) {
        assertEquals(second.id(), reader.latest("sim").orElseThrow().id());
        try (ImageReader r = reader.openLatest("sim")) {
          assertArrayEquals(random(300_000, 2), r.readBytes("state"));
        }
      }
      CheckpointInfo third = write(writer, "sim", random(300_000, 3));
      assertEquals(3, third.id(), "the writer numbered past checkpoints its listing did not show");
    }
  }

  @Test
  void sillyRenamedFiles_areNeitherListedNorCollected() throws Exception {
    FaultyFiles files = new FaultyFiles(dir, 0, 0, 0);
    try (CheckpointStore store = CheckpointStore.builder().blobStore(store(files, Clock.systemUTC(),
        Duration.ofSeconds(30), Duration.ofSeconds(5))).gcGracePeriod(Duration.ZERO).build()) {
      write(store, "job", random(2 << 20, 1));
      write(store, "job", random(2 << 20, 2));
      GcResult gc = store.retain("job", Retention.keepLast(1));
      assertEquals(1, gc.deletedCheckpoints().size());
      Path packs = dir.resolve("job/packs");
      assertFalse(FaultyFiles.sillyNames(packs).isEmpty() && FaultyFiles.sillyNames(dir.resolve("job/manifests")).isEmpty(),
          "removing files left .nfs copies, as NFS does");
      for (var b : store.blobs().list("")) {
        assertFalse(b.key().contains(".nfs"), "listed " + b.key());
      }
      int before = FaultyFiles.sillyNames(packs).size() + FaultyFiles.sillyNames(dir.resolve("job/manifests")).size();
      store.gc("job");
      int after = FaultyFiles.sillyNames(packs).size() + FaultyFiles.sillyNames(dir.resolve("job/manifests")).size();
      assertTrue(after >= before, "gc must leave .nfs files to the NFS client");
      assertTrue(store.verify("job", 2).ok());
    }
  }

  @Test
  void staleHandlesAndIoErrors_areRetried_untilTheyPersist() throws Exception {
    FaultyFiles files = new FaultyFiles(dir, 3, 5, 0);
    NfsBlobStore blobs = store(files, Clock.systemUTC(), Duration.ofSeconds(30), Duration.ofSeconds(5));
    try (CheckpointStore store = CheckpointStore.builder().blobStore(blobs).build()) {
      CheckpointInfo c = write(store, "job", random(1 << 20, 4));
      assertTrue(store.verify("job", c.id()).ok());
      assertTrue(files.injectedStale.get() > 0 && files.injectedEio.get() > 0);
      files.breakDisk();
      StoreException e = assertThrows(StoreException.class, () -> blobs.put("job/packs/x", new byte[10]));
      assertTrue(e.getMessage().contains("failed after 6 attempts"), e.getMessage());
      assertTrue(e.getMessage().contains("Input/output error"), e.getMessage());
      assertTrue(e.getMessage().contains("job/packs/x"), e.getMessage());
    }
  }

  @Test
  void writerLock_isExclusive_andNamesItsHolderWhenWaitingRunsOut() throws Exception {
    MountedFiles files = new MountedFiles(dir);
    try (BlobStore a = store(files, Clock.systemUTC(), Duration.ofSeconds(30), Duration.ofMillis(300));
        BlobStore b = store(files, Clock.systemUTC(), Duration.ofSeconds(30), Duration.ofMillis(300))) {
      try (JobLock held = a.lockJob("job")) {
        StoreException e = assertThrows(StoreException.class, () -> b.lockJob("job"));
        assertTrue(e.getMessage().contains("job job is being written by host "), e.getMessage());
        assertTrue(e.getMessage().contains("pid " + ProcessHandle.current().pid()), e.getMessage());
        String lock = Files.readString(dir.resolve("job/.lock"), StandardCharsets.UTF_8);
        assertTrue(lock.startsWith("ckpt-lock v1\nowner "), lock);
      }
      try (JobLock next = b.lockJob("job")) {
        assertTrue(Files.exists(dir.resolve("job/.lock")));
      }
      assertFalse(Files.exists(dir.resolve("job/.lock")), "released");
      assertFalse(Files.exists(dir.resolve("job")), "a job that got only a lock leaves no directory behind");
    }
  }

  @Test
  void lockOfACrashedWriter_isTakenOver_onceItsLeaseHasRunOut() throws Exception {
    ManualClock clock = new ManualClock();
    MountedFiles files = new MountedFiles(dir);
    NfsBlobStore crashed = store(files, clock, Duration.ofSeconds(20), Duration.ofMillis(200));
    crashed.lockJob("job"); // never released: its owner "crashed"
    NfsBlobStore next = store(files, clock, Duration.ofSeconds(20), Duration.ofMillis(200));
    assertThrows(StoreException.class, () -> next.lockJob("job"), "a live lease is respected");
    clock.advance(Duration.ofSeconds(21));
    try (JobLock taken = next.lockJob("job")) {
      String lock = Files.readString(dir.resolve("job/.lock"), StandardCharsets.UTF_8);
      long expires = Long.parseLong(lock.substring(lock.indexOf("expires ") + 8).trim());
      assertEquals(clock.millis() + 20_000, expires, "the new holder's lease");
    }
    assertFalse(Files.exists(dir.resolve("job")), "nothing left behind: no lock, no stale copy, no empty directory");
  }

  @Test
  void longCheckpoint_renewsItsLease_soNoOneTakesItOver() throws Exception {
    ManualClock clock = new ManualClock();
    MountedFiles files = new MountedFiles(dir);
    NfsBlobStore writer = store(files, clock, Duration.ofSeconds(30), Duration.ofMillis(100));
    NfsBlobStore other = store(files, clock, Duration.ofSeconds(30), Duration.ofMillis(100));
    try (JobLock lock = writer.lockJob("job")) {
      for (int i = 0; i < 6; i++) {
        clock.advance(Duration.ofSeconds(15));
        writer.put("job/packs/p" + i, new byte[100]); // progress renews the lease
      }
      assertThrows(StoreException.class, () -> other.lockJob("job"), "90 s in, the lease is still live");
    }
  }

  @Test
  void temporaryFilesOfACrashedWriter_areRemovedByListingsOnceOld() throws Exception {
    ManualClock clock = new ManualClock();
    NfsBlobStore blobs = store(new MountedFiles(dir), clock, Duration.ofSeconds(30), Duration.ofSeconds(1));
    Files.createDirectories(dir.resolve("job/packs"));
    Path orphan = Files.write(dir.resolve("job/packs/.tmp-abc-1234"), new byte[10]);
    Files.setLastModifiedTime(orphan, java.nio.file.attribute.FileTime.from(clock.instant()));
    blobs.list("job/packs/");
    assertTrue(Files.exists(orphan), "young: maybe a writer is still at it");
    clock.advance(Duration.ofHours(2));
    blobs.list("job/packs/");
    assertFalse(Files.exists(orphan));
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "nfs:///|no absolute path",
      "nfs://host|no export path",
      "nfs:///x/y?colour=red|unknown option 'colour'",
      "nfs:///x/y?uid=0|option 'uid' applies to nfs://host/… only",
      "nfs:///x/y?lease=0s|shorter than 1 s",
      "nfs:///x/y?lease=soon|lease=soon",
      "nfs:///no/such/dir|does not exist; mount the NFS share there",
      "nfs://127.0.0.1:1/export/x?timeout=1s&retryFor=1s|cannot mount /export/x from 127.0.0.1",
  })
  void badUris_areRefused_withTheReason(String row) {
    String[] p = row.split("\\|");
    StoreConfigurationException e = assertThrows(StoreConfigurationException.class,
        () -> new NfsStoreProvider().open(URI.create(p[0])));
    assertTrue(e.getMessage().contains(p[1]), e.getMessage());
  }
}
