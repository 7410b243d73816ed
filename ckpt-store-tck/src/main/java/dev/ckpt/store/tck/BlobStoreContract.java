package dev.ckpt.store.tck;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ckpt.CheckpointException;
import dev.ckpt.CheckpointInfo;
import dev.ckpt.CheckpointStore;
import dev.ckpt.ImageReader;
import dev.ckpt.ImageWriter;
import dev.ckpt.NoSuchKeyException;
import dev.ckpt.PartOutput;
import dev.ckpt.StoreException;
import dev.ckpt.spi.BlobInfo;
import dev.ckpt.spi.BlobStore;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The contract of {@link BlobStore}. A backend proves itself by extending this class and
 * returning a new, empty store from {@link #newStore()}:
 *
 * <pre>{@code
 * class MyStoreTest extends BlobStoreContract {
 *   @Override protected BlobStore newStore() throws Exception { return new MyStore(freshBucket()); }
 * }
 * }</pre>
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
public abstract class BlobStoreContract {

  /**
   * A new store with no blobs in it. Called once per test; the TCK closes it.
   *
   * @return the store to test
   * @throws Exception if the store cannot be made; the test fails
   */
  protected abstract BlobStore newStore() throws Exception;

  /** The store of the running test, from {@link #newStore()}. */
  protected BlobStore store;

  @BeforeEach
  void openStore() throws Exception {
    store = newStore();
    assertEquals(List.of(), store.list(""), "newStore() must return an empty store");
  }

  @AfterEach
  void closeStore() {
    if (store != null) {
      store.close();
    }
  }

  /**
   * Reproducible test data.
   *
   * @param n how many bytes
   * @param seed the seed of the generator; equal seeds give equal bytes
   * @return {@code n} random bytes
   */
  protected static byte[] randomBytes(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  /**
   * Reads a whole blob of {@link #store}.
   *
   * @param key the blob's key
   * @return the blob's bytes
   * @throws Exception if the store fails
   */
  protected byte[] read(String key) throws Exception {
    try (InputStream in = store.get(key)) {
      return in.readAllBytes();
    }
  }

  /**
   * Reads a range of a blob of {@link #store}.
   *
   * @param key the blob's key
   * @param offset the first byte to read
   * @param length the most bytes to read
   * @return the bytes read
   * @throws Exception if the store fails
   */
  protected byte[] read(String key, long offset, long length) throws Exception {
    try (InputStream in = store.get(key, offset, length)) {
      return in.readAllBytes();
    }
  }

  @ParameterizedTest(name = "{0} bytes")
  @ValueSource(ints = {0, 1, 4095, 4096, 65537, 1 << 20, 64 << 20})
  void put_then_get_returnsSameBytes(int size) throws Exception {
    byte[] data = randomBytes(size, size);
    store.put("job/packs/blob", new ByteArrayInputStream(data), size);
    assertArrayEquals(data, read("job/packs/blob"));
    assertEquals(size, store.stat("job/packs/blob").orElseThrow().size());
  }

  @Test
  void put_replacesExistingBlob() throws Exception {
    store.put("a/b", "first".getBytes());
    store.put("a/b", "second!".getBytes());
    assertArrayEquals("second!".getBytes(), read("a/b"));
    assertEquals(1, store.list("a/").size());
  }

  @Test
  void put_whoseDataEndsEarly_failsAndLeavesPreviousBlob() throws Exception {
    store.put("a/b", "old".getBytes());
    assertThrows(StoreException.class, () -> store.put("a/b", new ByteArrayInputStream(new byte[10]), 100));
    assertArrayEquals("old".getBytes(), read("a/b"));
    assertEquals(List.of("a/b"), keys(store.list("")));
  }

  @Test
  void put_whoseDataFailsMidway_leavesNoBlobAndNoListing() throws Exception {
    InputStream failing = new InputStream() {
      int n;

      @Override
      public int read() throws IOException {
        if (n++ > 100_000) {
          throw new IOException("source broke (simulated crash of the writer)");
        }
        return 7;
      }
    };
    assertThrows(StoreException.class, () -> store.put("a/torn", failing, 1_000_000));
    assertEquals(Optional.empty(), store.stat("a/torn"));
    assertEquals(List.of(), store.list(""));
    assertThrows(NoSuchKeyException.class, () -> store.get("a/torn"));
  }

  @Test
  void getRange_returnsExactlyThoseBytes() throws Exception {
    byte[] data = randomBytes(100_000, 1);
    store.put("r/x", data);
    assertArrayEquals(Arrays.copyOfRange(data, 0, 10), read("r/x", 0, 10));
    assertArrayEquals(Arrays.copyOfRange(data, 4096, 4096 + 65536), read("r/x", 4096, 65536));
    assertArrayEquals(Arrays.copyOfRange(data, 99_990, 100_000), read("r/x", 99_990, 10));
  }

  @Test
  void getRange_pastTheEnd_returnsWhatThereIs() throws Exception {
    byte[] data = randomBytes(1000, 2);
    store.put("r/x", data);
    assertArrayEquals(Arrays.copyOfRange(data, 900, 1000), read("r/x", 900, 500));
    assertArrayEquals(new byte[0], read("r/x", 1000, 10));
  }

  @Test
  void getRange_startingBeyondTheEnd_fails() throws Exception {
    store.put("r/x", new byte[10]);
    assertThrows(StoreException.class, () -> read("r/x", 11, 1));
  }

  @Test
  void missingKey_getAndRangeThrowNoSuchKey_statIsEmpty() throws Exception {
    NoSuchKeyException e = assertThrows(NoSuchKeyException.class, () -> store.get("no/such"));
    assertTrue(e.getMessage().contains("no/such"), e.getMessage());
    assertThrows(NoSuchKeyException.class, () -> store.get("no/such", 0, 1));
    assertEquals(Optional.empty(), store.stat("no/such"));
  }

  @Test
  void putIfAbsent_createsOnce_andNeverOverwrites() throws Exception {
    assertTrue(store.putIfAbsent("m/1", "winner".getBytes()));
    assertFalse(store.putIfAbsent("m/1", "loser".getBytes()));
    assertArrayEquals("winner".getBytes(), read("m/1"));
  }

  @Test
  void putIfAbsent_racingThreads_exactlyOneWins() throws Exception {
    int threads = 8;
    int rounds = 20;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      for (int round = 0; round < rounds; round++) {
        String key = "race/" + round;
        CountDownLatch start = new CountDownLatch(1);
        List<Future<Boolean>> results = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
          byte[] mine = ("writer-" + t + "-" + "x".repeat(t * 1000)).getBytes();
          Callable<Boolean> c = () -> {
            start.await();
            return store.putIfAbsent(key, mine);
          };
          results.add(pool.submit(c));
        }
        start.countDown();
        int winners = 0;
        int winner = -1;
        for (int t = 0; t < threads; t++) {
          if (results.get(t).get(60, TimeUnit.SECONDS)) {
            winners++;
            winner = t;
          }
        }
        assertEquals(1, winners, "round " + round + ": exactly one putIfAbsent must win");
        assertArrayEquals(("writer-" + winner + "-" + "x".repeat(winner * 1000)).getBytes(), read(key),
            "the stored blob is the winner's, whole");
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void list_returnsKeysUnderPrefix_sortedWithSizes() throws Exception {
    store.put("j1/packs/b", new byte[3]);
    store.put("j1/packs/a", new byte[5]);
    store.put("j1/manifests/1", new byte[1]);
    store.put("j2/packs/a", new byte[2]);
    store.put("j10/packs/a", new byte[4]);
    assertEquals(List.of("j1/packs/a", "j1/packs/b"), keys(store.list("j1/packs/")));
    assertEquals(List.of(5L, 3L), store.list("j1/packs/").stream().map(BlobInfo::size).toList());
    assertEquals(List.of("j1/manifests/1", "j1/packs/a", "j1/packs/b"), keys(store.list("j1/")));
    assertEquals(List.of("j1/manifests/1", "j1/packs/a", "j1/packs/b", "j10/packs/a"), keys(store.list("j1")));
    assertEquals(5, store.list("").size());
    assertEquals(List.of(), store.list("nothing/"));
  }

  @Test
  void list_seesEveryCompletedPut_andNoDeletedKey() throws Exception {
    int n = 200;
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<?>> fs = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        String key = String.format("c/%04d", i);
        fs.add(pool.submit(() -> {
          store.put(key, new byte[] {1, 2, 3});
          return null;
        }));
      }
      for (Future<?> f : fs) {
        f.get(60, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
    assertEquals(n, store.list("c/").size());
    for (int i = 0; i < n; i += 2) {
      assertTrue(store.delete(String.format("c/%04d", i)));
    }
    List<String> left = keys(store.list("c/"));
    assertEquals(n / 2, left.size());
    assertTrue(left.stream().allMatch(k -> Integer.parseInt(k.substring(2)) % 2 == 1), left.toString());
  }

  @Test
  void delete_isIdempotent() throws Exception {
    store.put("d/x", new byte[1]);
    assertTrue(store.delete("d/x"));
    assertFalse(store.delete("d/x"));
    assertFalse(store.delete("d/never"));
    assertEquals(Optional.empty(), store.stat("d/x"));
  }

  @Test
  void stat_reportsSizeAndRecentModificationTime() throws Exception {
    Instant before = Instant.now().minusSeconds(120);
    store.put("s/x", new byte[1234]);
    BlobInfo info = store.stat("s/x").orElseThrow();
    assertEquals("s/x", info.key());
    assertEquals(1234, info.size());
    assertTrue(info.lastModified().isAfter(before), "modification time " + info.lastModified());
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "/abs", "a//b", "a/../b", "../x", ".hidden", "a/.tmp", "sp ace", "a/", "ü"})
  void invalidKeys_areRejected(String key) {
    assertThrows(IllegalArgumentException.class, () -> store.put(key, new byte[1]));
  }

  // --- The commit protocol on this store: data first, manifest last, create-once. ---

  private CheckpointStore engine(BlobStore blobs) throws CheckpointException {
    return CheckpointStore.builder().blobStore(blobs).parallelism(2).gcGracePeriod(Duration.ZERO).build();
  }

  private static CheckpointInfo writeImage(CheckpointStore engine, String job, byte[] content) throws CheckpointException {
    try (ImageWriter w = engine.newImage(job)) {
      try (PartOutput out = w.part("data", Map.of())) {
        out.write(content, 0, content.length);
      }
      return w.commit();
    }
  }

  /** A manifest write that fails before it reaches the store (lost answers: below). */
  @Test
  void failedManifestWrite_leavesPreviousCheckpointLatestAndIntact() throws Exception {
    FaultInjectingBlobStore faulty = new FaultInjectingBlobStore(store);
    byte[] first = randomBytes(300_000, 11);
    byte[] second = randomBytes(300_000, 12);
    try (CheckpointStore engine = engine(faulty)) {
      CheckpointInfo c1 = writeImage(engine, "job", first);
      faulty.fail(FaultInjectingBlobStore.Op.PUT_IF_ABSENT, k -> k.contains("/manifests/"), "connection reset", 1);
      assertThrows(StoreException.class, () -> writeImage(engine, "job", second));
      assertEquals(c1.id(), engine.latest("job").orElseThrow().id());
      try (ImageReader r = engine.openLatest("job")) {
        assertArrayEquals(first, r.readBytes("data"));
      }
      assertTrue(engine.verify("job", c1.id()).ok());
    }
  }

  /**
   * The manifest write reaches the store and its answer is lost, or is wrong, or the write never
   * lands: the checkpoint is committed and restorable, or absent, and the next one, which shares
   * most of its chunks, commits either way.
   */
  @ParameterizedTest
  @EnumSource(FaultInjectingBlobStore.Fault.class)
  void manifestWriteWithLostAnswer_leavesCheckpointCommittedOrAbsent_andTheNextCommits(
      FaultInjectingBlobStore.Fault fault) throws Exception {
    FaultInjectingBlobStore faulty = new FaultInjectingBlobStore(store);
    byte[] first = randomBytes(300_000, 21);
    byte[] second = first.clone();
    second[150_000] ^= 1;
    try (CheckpointStore engine = engine(faulty)) {
      CheckpointInfo c1 = writeImage(engine, "job", first);
      faulty.inject(FaultInjectingBlobStore.Op.PUT_IF_ABSENT, fault, k -> k.contains("/manifests/"),
          "connection reset", 1);
      CheckpointInfo c2 = null;
      try {
        c2 = writeImage(engine, "job", second);
      } catch (CheckpointException notCommitted) {
        // allowed, if and only if no manifest was left behind: checked below
      }
      assertEquals(1, faulty.injectedFailures());
      List<Long> ids = ids(engine, "job");
      if (c2 != null) {
        assertEquals(List.of(c1.id(), c1.id() + 1), ids);
        assertEquals(c1.id() + 1, c2.id());
        assertRestores(engine, c2.id(), second);
      } else {
        assertEquals(List.of(c1.id()), ids, "a checkpoint reported as not committed has no manifest");
      }
      CheckpointInfo next = writeImage(engine, "job", second);
      assertEquals(ids.get(ids.size() - 1) + 1, next.id());
      for (long id : ids(engine, "job")) {
        assertRestores(engine, id, id == c1.id() ? first : second);
      }
    }
  }

  @Test
  void packWriteWithLostAnswer_failsTheCheckpoint_andTheNextCommits() throws Exception {
    FaultInjectingBlobStore faulty = new FaultInjectingBlobStore(store);
    byte[] first = randomBytes(300_000, 31);
    byte[] second = randomBytes(300_000, 32);
    try (CheckpointStore engine = engine(faulty)) {
      CheckpointInfo c1 = writeImage(engine, "job", first);
      faulty.inject(FaultInjectingBlobStore.Op.PUT, FaultInjectingBlobStore.Fault.APPLY_THEN_THROW,
          k -> k.contains("/packs/"), "connection reset", 1);
      assertThrows(CheckpointException.class, () -> writeImage(engine, "job", second));
      assertEquals(List.of(c1.id()), ids(engine, "job"));
      CheckpointInfo c2 = writeImage(engine, "job", second);
      assertEquals(c1.id() + 1, c2.id());
      assertRestores(engine, c1.id(), first);
      assertRestores(engine, c2.id(), second);
    }
  }

  @ParameterizedTest
  @EnumSource(value = FaultInjectingBlobStore.Fault.class, names = {"APPLY_THEN_THROW", "APPLY_THEN_WRONG_ANSWER"})
  void deletesWithLostAnswers_inRetentionAndGc_neverDamageAKeptCheckpoint(FaultInjectingBlobStore.Fault fault)
      throws Exception {
    FaultInjectingBlobStore faulty = new FaultInjectingBlobStore(store);
    byte[] last = randomBytes(300_000, 43);
    try (CheckpointStore engine = engine(faulty)) {
      writeImage(engine, "job", randomBytes(300_000, 41));
      writeImage(engine, "job", randomBytes(300_000, 42));
      CheckpointInfo kept = writeImage(engine, "job", last);
      faulty.inject(FaultInjectingBlobStore.Op.DELETE, fault, k -> true, "connection reset", 3);
      try {
        engine.retain("job", dev.ckpt.Retention.keepLast(1));
      } catch (StoreException lost) {
        // the answer to a delete was lost; the next pass finishes the work
      }
      faulty.heal();
      engine.retain("job", dev.ckpt.Retention.keepLast(1));
      engine.gc("job");
      assertEquals(List.of(kept.id()), ids(engine, "job"));
      assertRestores(engine, kept.id(), last);
    }
  }

  private static List<Long> ids(CheckpointStore engine, String job) throws CheckpointException {
    return engine.checkpoints(job).stream().map(CheckpointInfo::id).toList();
  }

  private static void assertRestores(CheckpointStore engine, long id, byte[] expected) throws Exception {
    dev.ckpt.VerifyResult v = engine.verify("job", id);
    assertTrue(v.ok(), "checkpoint " + id + ": " + v.problems());
    try (ImageReader r = engine.open("job", id)) {
      assertArrayEquals(expected, r.readBytes("data"), "checkpoint " + id);
    }
  }

  @Test
  void failedChunkWrite_leavesNoManifest() throws Exception {
    FaultInjectingBlobStore faulty = new FaultInjectingBlobStore(store);
    try (CheckpointStore engine = engine(faulty)) {
      faulty.fail(FaultInjectingBlobStore.Op.PUT, k -> k.contains("/packs/"), "No space left on device", 1);
      CheckpointException e = assertThrows(CheckpointException.class, () -> writeImage(engine, "job", randomBytes(200_000, 3)));
      assertTrue(e.getMessage().contains("No space left on device"), e.getMessage());
      assertEquals(Optional.empty(), engine.latest("job"));
      assertEquals(List.of(), store.list("job/manifests/"));
    }
  }

  @Test
  void twoWritersOfOneJob_neverCommitTheSameNumber() throws Exception {
    int writers = 4;
    ExecutorService pool = Executors.newFixedThreadPool(writers);
    try (CheckpointStore a = engine(store); CheckpointStore b = engine(store)) {
      List<Future<Long>> ids = new ArrayList<>();
      CountDownLatch start = new CountDownLatch(1);
      for (int i = 0; i < writers; i++) {
        CheckpointStore engine = i % 2 == 0 ? a : b;
        byte[] content = randomBytes(100_000, 100 + i);
        ids.add(pool.submit(() -> {
          start.await();
          try {
            return writeImage(engine, "shared", content).id();
          } catch (dev.ckpt.CommitConflictException lost) {
            return -1L;
          }
        }));
      }
      start.countDown();
      List<Long> committed = new ArrayList<>();
      for (Future<Long> f : ids) {
        long id = f.get(120, TimeUnit.SECONDS);
        if (id > 0) {
          committed.add(id);
        }
      }
      assertEquals(committed.stream().distinct().count(), committed.size(), "ids " + committed);
      assertEquals(committed.size(), a.checkpoints("shared").size());
      assertTrue(committed.size() >= 1);
    } finally {
      pool.shutdownNow();
    }
  }

  private static List<String> keys(List<BlobInfo> infos) {
    return infos.stream().map(BlobInfo::key).toList();
  }
}
