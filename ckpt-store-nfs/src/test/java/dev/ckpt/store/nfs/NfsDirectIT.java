package dev.ckpt.store.nfs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ckpt.CheckpointException;
import dev.ckpt.CheckpointInfo;
import dev.ckpt.CheckpointStore;
import dev.ckpt.ImageReader;
import dev.ckpt.ImageWriter;
import dev.ckpt.PartOutput;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Direct mode against a real NFS-Ganesha: racing writers, a killed writer, a reader, a server restart. */
class NfsDirectIT {
  @RegisterExtension
  static final GaneshaServer NFS = new GaneshaServer();

  private static byte[] content(long seed, int size) {
    byte[] b = new byte[size];
    new Random(seed).nextBytes(b);
    return b;
  }

  private static CheckpointInfo write(CheckpointStore store, String job, byte[] data) throws Exception {
    try (ImageWriter w = store.newImage(job)) {
      try (PartOutput out = w.part("state", Map.of())) {
        out.write(data, 0, data.length);
      }
      return w.commit();
    }
  }

  private static CheckpointStore engine(URI uri) throws CheckpointException {
    return CheckpointStore.builder().uri(uri).packSize(1 << 20).build();
  }

  @Test
  void twoWritersOnDifferentConnections_neverCommitTheSameNumber() throws Exception {
    URI uri = NFS.freshUri("lease=10s");
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try (CheckpointStore a = engine(uri); CheckpointStore b = engine(uri)) {
      // The blob level first: create-once races between the two connections.
      for (int round = 0; round < 20; round++) {
        String key = "race/" + round;
        CountDownLatch go = new CountDownLatch(1);
        Future<Boolean> fa = pool.submit(() -> {
          go.await();
          return a.blobs().putIfAbsent(key, ("a" + key).getBytes());
        });
        Future<Boolean> fb = pool.submit(() -> {
          go.await();
          return b.blobs().putIfAbsent(key, ("b" + key).getBytes());
        });
        go.countDown();
        assertTrue(fa.get(60, TimeUnit.SECONDS) ^ fb.get(60, TimeUnit.SECONDS), "round " + round);
      }
      // Then whole checkpoints of one job from both.
      List<Future<List<Long>>> runs = new ArrayList<>();
      for (CheckpointStore engine : List.of(a, b)) {
        runs.add(pool.submit(() -> {
          List<Long> ids = new ArrayList<>();
          for (int i = 0; i < 5; i++) {
            ids.add(write(engine, "shared", content(ids.size() + (engine == a ? 100 : 200), 300_000)).id());
          }
          return ids;
        }));
      }
      List<Long> all = new ArrayList<>();
      for (Future<List<Long>> f : runs) {
        all.addAll(f.get(120, TimeUnit.SECONDS));
      }
      assertEquals(10, all.stream().distinct().count(), "ids " + all);
      assertEquals(List.of(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L), all.stream().sorted().toList());
      for (long id : all) {
        assertTrue(a.verify("shared", id).ok(), "checkpoint " + id);
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void writerKilledMidCheckpoint_itsLockExpires_andTheNextWriterProceeds() throws Exception {
    URI uri = NFS.freshUri("lease=3s");
    String java = ProcessHandle.current().info().command().orElse("java");
    Process child = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
        NfsWriterMain.class.getName(), uri.toString(), "job").redirectErrorStream(true).start();
    try {
      BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
      String line;
      do {
        line = out.readLine();
      } while (line != null && !line.equals("LOCKED"));
      assertEquals("LOCKED", line, "the child writer took the lock");
      Path packs = NFS.exportDir().resolve(uri.getPath().substring("/export/".length())).resolve("job/packs");
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (count(packs) < 2 && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      assertTrue(count(packs) >= 2, "the child uploaded packs before it died");
      String lock = Files.readString(packs.resolveSibling(".lock"));
      assertTrue(lock.contains(" " + child.pid() + " "), lock);
    } finally {
      child.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
    try (CheckpointStore next = engine(uri)) {
      CheckpointInfo c = write(next, "job", content(7, 500_000));
      assertEquals(1, c.id(), "the dead writer committed nothing");
      assertTrue(next.verify("job", 1).ok());
      assertEquals(1, next.checkpoints("job").size());
    }
  }

  @Test
  void readerOnASecondConnection_seesCommittedCheckpoints_neverAPartialOne() throws Exception {
    URI uri = NFS.freshUri();
    int size = 3 << 20;
    AtomicBoolean done = new AtomicBoolean();
    AtomicInteger seen = new AtomicInteger();
    ExecutorService pool = Executors.newSingleThreadExecutor();
    try (CheckpointStore writer = engine(uri); CheckpointStore reader = engine(uri)) {
      Future<Long> readerRun = pool.submit(() -> {
        long last = 0;
        while (true) {
          // Read the flag first: the pass after the writer finished still looks once more.
          boolean finished = done.get();
          Optional<CheckpointInfo> latest = reader.latest("live");
          if (latest.isPresent() && latest.get().id() != last) {
            last = latest.get().id();
            try (ImageReader r = reader.open("live", last)) {
              assertArrayEquals(content(last, size), r.readBytes("state"), "checkpoint " + last);
            }
            seen.incrementAndGet();
          }
          if (finished) {
            return last;
          }
        }
      });
      for (long id = 1; id <= 10; id++) {
        assertEquals(id, write(writer, "live", content(id, size)).id());
      }
      done.set(true);
      assertEquals(10, readerRun.get(120, TimeUnit.SECONDS), "the reader's last look found the last commit");
      assertTrue(seen.get() >= 1, "the reader saw " + seen.get() + " checkpoints");
      assertEquals(10, reader.latest("live").orElseThrow().id());
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void serverRestartMidCheckpoint_completesOrFailsCleanly_andThePreviousStaysIntact() throws Exception {
    URI uri = NFS.freshUri("retryFor=90s");
    ExecutorService pool = Executors.newSingleThreadExecutor();
    try (CheckpointStore store = engine(uri)) {
      byte[] first = content(1, 2 << 20);
      write(store, "job", first);
      byte[] second = content(2, 48 << 20);
      Future<CheckpointInfo> run = pool.submit(() -> write(store, "job", second));
      Path packs = NFS.exportDir().resolve(uri.getPath().substring("/export/".length())).resolve("job/packs");
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      long before = count(packs);
      while (count(packs) < before + 3 && !run.isDone() && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      assertTrue(!run.isDone(), "the server must go down while checkpoint 2 is being written");
      NFS.stop();
      Thread.sleep(1000);
      NFS.start();
      Optional<CheckpointInfo> outcome;
      try {
        outcome = Optional.of(run.get(180, TimeUnit.SECONDS));
      } catch (java.util.concurrent.ExecutionException e) {
        assertTrue(e.getCause() instanceof CheckpointException, "fails cleanly: " + e.getCause());
        outcome = Optional.empty();
      }
      System.out.println("server restart during checkpoint 2: " + (outcome.isPresent() ? "it completed after retries"
          : "it failed cleanly"));
      try (ImageReader r = store.open("job", 1)) {
        assertArrayEquals(first, r.readBytes("state"), "the previous checkpoint is intact");
      }
      assertTrue(store.verify("job", 1).ok());
      if (outcome.isPresent()) {
        assertEquals(2, outcome.get().id());
        try (ImageReader r = store.open("job", 2)) {
          assertArrayEquals(second, r.readBytes("state"));
        }
      } else {
        assertEquals(1, store.checkpoints("job").size(), "no manifest for the failed checkpoint");
      }
    } finally {
      pool.shutdownNow();
    }
  }

  /**
   * The manifest's create-once LINK reaches Ganesha and is carried out, and every reply to it, the
   * retransmissions' too, is lost until the client stops retrying (retryFor=2s): the store's
   * putIfAbsent fails. The engine reads the manifest back, finds its own, and reports the commit;
   * the newest checkpoint verifies and restores, and the next one commits.
   */
  @Test
  void createOnceLinkWhoseRepliesAreLost_isCommitted_andTheNextCheckpointToo() throws Exception {
    try (RpcReplyLosingProxy proxy = new RpcReplyLosingProxy(2049)) {
      URI uri = URI.create(NFS.freshUri("retryFor=2s").toString()
          .replace("nfs://127.0.0.1/", "nfs://127.0.0.1:" + proxy.port() + "/"));
      try (CheckpointStore store = engine(uri)) {
        byte[] first = content(21, 2 << 20);
        byte[] second = first.clone();
        System.arraycopy(content(22, 256 << 10), 0, second, 1 << 20, 256 << 10);
        assertEquals(1, write(store, "job", first).id());
        proxy.loseLinkReplies(name -> name.matches("[0-9]{20}"), 50);
        assertEquals(2, write(store, "job", second).id());
        proxy.heal();
        assertTrue(proxy.lostReplies() >= 2, "the LINK and its retransmissions lost their replies: "
            + proxy.lostReplies());
        assertEquals(3, write(store, "job", second).id());
        assertEquals(List.of(1L, 2L, 3L), store.checkpoints("job").stream().map(CheckpointInfo::id).toList());
        for (long id = 2; id <= 3; id++) {
          assertTrue(store.verify("job", id).ok(), "checkpoint " + id);
          try (ImageReader r = store.open("job", id)) {
            assertArrayEquals(second, r.readBytes("state"), "checkpoint " + id);
          }
        }
        try (ImageReader r = store.openLatest("job")) {
          assertArrayEquals(second, r.readBytes("state"));
        }
      }
    }
  }

  @Test
  void listingOfThousandsOfBlobs_pagesThroughTheWholeDirectory() throws Exception {
    try (dev.ckpt.spi.BlobStore store = new NfsStoreProvider().open(NFS.freshUri())) {
      int n = 3000;
      for (int i = 0; i < n; i++) {
        store.put(String.format("many/blob-with-a-longish-name-%05d", i), new byte[] {(byte) i});
      }
      // Names of ~40 bytes with attributes and handles need several READDIRPLUS replies.
      var listed = store.list("many/");
      assertEquals(n, listed.size());
      assertEquals("many/blob-with-a-longish-name-02999", listed.get(n - 1).key());
    }
  }

  private static long count(Path dir) throws Exception {
    if (!Files.isDirectory(dir)) {
      return 0;
    }
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(p -> !p.getFileName().toString().startsWith(".")).count();
    }
  }

}
