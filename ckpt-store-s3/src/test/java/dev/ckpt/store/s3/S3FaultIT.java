package dev.ckpt.store.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ckpt.CheckpointException;
import dev.ckpt.CheckpointInfo;
import dev.ckpt.CheckpointStore;
import dev.ckpt.ImageReader;
import dev.ckpt.ImageWriter;
import dev.ckpt.PartOutput;
import dev.ckpt.VerifyResult;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Checkpoints through a proxy that fails about 10% of requests with 500, 503 SlowDown or a
 * connection reset: they still commit, no manifest ever shows an incomplete checkpoint, and no
 * multipart upload is left open.
 */
class S3FaultIT {
  @RegisterExtension
  static final S3ProxyServer S3 = new S3ProxyServer();

  @BeforeAll
  static void bucket() {
    S3.createBucket("faults");
  }

  /** 12 MiB of state, packed into 5 MiB packs uploaded in 5 MiB parts, so every checkpoint uses multipart. */
  private static final int STATE = 12 << 20;

  @Test
  void twentyCheckpoints_commitThroughTenPercentFaults() throws Exception {
    FaultProxy proxy = new FaultProxy(S3.port(), 42);
    proxy.faultRate(0.10);
    Random random = new Random(7);
    byte[] state = new byte[STATE];
    random.nextBytes(state);
    List<byte[]> committed = new ArrayList<>();
    try (proxy; CheckpointStore store = CheckpointStore.builder()
        .uri(S3.uriVia(proxy.endpoint(), "faults", "partSize=5MiB", "maxAttempts=10"))
        .packSize(6 << 20).build()) {
      for (int i = 0; i < 20; i++) {
        mutate(state, random);
        CheckpointInfo info = write(store, "steady", state);
        assertEquals(i + 1, info.id());
        committed.add(state.clone());
        assertEquals(List.of(), S3.openUploads("faults"), "after checkpoint " + info.id());
      }
      assertTrue(proxy.requests() > 200, "enough traffic to mean something: " + proxy.requests());
      int faults = proxy.injected(FaultProxy.Fault.ERROR_500) + proxy.injected(FaultProxy.Fault.SLOW_DOWN_503)
          + proxy.injected(FaultProxy.Fault.RESET);
      assertTrue(faults > proxy.requests() / 20, faults + " faults in " + proxy.requests() + " requests");
      assertTrue(proxy.injected(FaultProxy.Fault.ERROR_500) > 0 && proxy.injected(FaultProxy.Fault.SLOW_DOWN_503) > 0
          && proxy.injected(FaultProxy.Fault.RESET) > 0, "every kind of fault was injected");
      proxy.faultRate(0);
      for (CheckpointInfo c : store.checkpoints("steady")) {
        assertTrue(store.verify("steady", c.id()).ok(), "checkpoint " + c.id());
        try (ImageReader r = store.open("steady", c.id())) {
          assertArrayEquals(committed.get((int) c.id() - 1), r.readBytes("state"), "checkpoint " + c.id());
        }
      }
    }
  }

  @Test
  void withoutRetries_failedCheckpoints_leaveNoManifestAndNoOpenUpload() throws Exception {
    FaultProxy proxy = new FaultProxy(S3.port(), 43);
    Random random = new Random(8);
    byte[] state = new byte[STATE];
    random.nextBytes(state);
    try (proxy; CheckpointStore store = CheckpointStore.builder()
        .uri(S3.uriVia(proxy.endpoint(), "faults", "partSize=5MiB", "maxAttempts=1"))
        .packSize(6 << 20).build()) {
      proxy.faultRate(0);
      CheckpointInfo base = write(store, "flaky", state);
      byte[] baseState = state.clone();
      proxy.faultRate(0.10);
      int failed = 0;
      long lastId = base.id();
      List<byte[]> committed = new ArrayList<>(List.of(baseState));
      for (int i = 0; i < 20; i++) {
        mutate(state, random);
        try {
          CheckpointInfo info = write(store, "flaky", state);
          assertEquals(lastId + 1, info.id());
          lastId = info.id();
          committed.add(state.clone());
        } catch (CheckpointException e) {
          failed++;
        }
      }
      proxy.faultRate(0);
      assertTrue(failed > 0, "with no retries, some of 20 checkpoints must fail at a 10% fault rate");
      List<CheckpointInfo> all = store.checkpoints("flaky");
      assertEquals(committed.size(), all.size(), "one manifest per committed checkpoint, none for a failed one");
      for (int i = 0; i < all.size(); i++) {
        assertTrue(store.verify("flaky", all.get(i).id()).ok());
        try (ImageReader r = store.open("flaky", all.get(i).id())) {
          assertArrayEquals(committed.get(i), r.readBytes("state"));
        }
      }
      assertEquals(List.of(), S3.openUploads("faults"), "no multipart upload left open");
    }
  }

  /**
   * No SDK retries, and the proxy forwards the manifest PUT to S3, then loses the answer: the
   * writer cannot tell from the PUT whether it committed. It reads the manifest back, finds its
   * own, and reports the commit; nothing of it is deleted, and the next checkpoint commits.
   */
  @Test
  void manifestPutWhoseResponseIsLost_withoutRetries_isCommitted_andTheNextCheckpointToo() throws Exception {
    FaultProxy proxy = new FaultProxy(S3.port(), 44);
    Random random = new Random(9);
    byte[] state = new byte[STATE];
    random.nextBytes(state);
    try (proxy; CheckpointStore store = CheckpointStore.builder()
        .uri(S3.uriVia(proxy.endpoint(), "faults", "partSize=5MiB", "maxAttempts=1"))
        .packSize(6 << 20).build()) {
      write(store, "lost", state);
      mutate(state, random);
      byte[] second = state.clone();
      proxy.loseResponses(line -> line.startsWith("PUT ") && line.contains("/lost/manifests/"), 1);
      assertEquals(2, write(store, "lost", second).id());
      assertEquals(1, proxy.injected(FaultProxy.Fault.LOSE_RESPONSE));
      mutate(state, random);
      assertEquals(3, write(store, "lost", state).id());
      assertRestores(store, "lost", 2, second);
      assertRestores(store, "lost", 3, state);
      assertEquals(List.of(), S3.openUploads("faults"));
    }
  }

  /**
   * The SDK retries the manifest PUT whose answer was lost and meets 412 on its own write; the
   * store's read-back after the 412 fails as well (two 500s use up both attempts). The engine's
   * own read-back then finds the manifest.
   */
  @Test
  void manifestPutMeets412_andTheStoresReadBackFails_isStillCommitted() throws Exception {
    FaultProxy proxy = new FaultProxy(S3.port(), 45);
    Random random = new Random(10);
    byte[] state = new byte[STATE];
    random.nextBytes(state);
    try (proxy; CheckpointStore store = CheckpointStore.builder()
        .uri(S3.uriVia(proxy.endpoint(), "faults", "partSize=5MiB", "maxAttempts=2"))
        .packSize(6 << 20).build()) {
      write(store, "reread", state);
      mutate(state, random);
      byte[] second = state.clone();
      proxy.loseResponses(line -> line.startsWith("PUT ") && line.contains("/reread/manifests/"), 1);
      proxy.inject(line -> line.startsWith("GET ") && line.contains("/reread/manifests/00000000000000000002"),
          FaultProxy.Fault.ERROR_500, 2);
      assertEquals(2, write(store, "reread", second).id());
      assertEquals(1, proxy.injected(FaultProxy.Fault.LOSE_RESPONSE));
      assertEquals(2, proxy.injected(FaultProxy.Fault.ERROR_500), "the store's read-back failed on both attempts");
      assertTrue(proxy.heads().stream().anyMatch(h -> h.startsWith("PUT ") && h.contains("/reread/manifests/")
          && h.toLowerCase(java.util.Locale.ROOT).contains("if-none-match")), "create-once PUT");
      mutate(state, random);
      assertEquals(3, write(store, "reread", state).id());
      assertRestores(store, "reread", 2, second);
      assertRestores(store, "reread", 3, state);
    }
  }

  private static void assertRestores(CheckpointStore store, String job, long id, byte[] expected) throws Exception {
    VerifyResult v = store.verify(job, id);
    assertTrue(v.ok(), job + "@" + id + ": " + v.problems());
    try (ImageReader r = store.open(job, id)) {
      assertArrayEquals(expected, r.readBytes("state"), job + "@" + id);
    }
  }

  private static void mutate(byte[] state, Random random) {
    int at = random.nextInt(STATE - (1 << 20));
    byte[] patch = new byte[1 << 20];
    random.nextBytes(patch);
    System.arraycopy(patch, 0, state, at, patch.length);
  }

  private static CheckpointInfo write(CheckpointStore store, String job, byte[] state) throws Exception {
    try (ImageWriter w = store.newImage(job)) {
      try (PartOutput out = w.part("state", Map.of())) {
        out.write(state, 0, state.length);
      }
      return w.commit();
    }
  }
}
