package dev.ckpt.store.s3;

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
import dev.ckpt.PartOutput;
import dev.ckpt.StoreConfigurationException;
import dev.ckpt.StoreException;
import dev.ckpt.spi.BlobStore;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** What the S3 store does beyond the TCK: configuration errors, multipart abort, headers on the wire, lost answers. */
class S3StoreIT {
  @RegisterExtension
  static final S3ProxyServer S3 = new S3ProxyServer();

  @BeforeAll
  static void bucket() {
    S3.createBucket("store-it");
  }

  private static byte[] random(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  @Test
  void wrongCredentials_failAtOpen_namingTheCredentials() {
    URI uri = URI.create("s3://store-it/x?endpoint=" + S3.endpoint() + "&pathStyle=true&accessKey=testkey&secretKey=wrong");
    StoreConfigurationException e = assertThrows(StoreConfigurationException.class, () -> CheckpointStore.open(uri));
    assertTrue(e.getMessage().contains("check the credentials"), e.getMessage());
    assertTrue(e.getMessage().contains("HTTP 403"), e.getMessage());
    assertFalse(e.getMessage().contains("wrong"), "the secret must not appear in messages: " + e.getMessage());
  }

  @Test
  void credentials_comeFromANamedProfile() throws Exception {
    java.nio.file.Path file = java.nio.file.Files.createTempFile("ckpt-aws-credentials", "");
    String previous = System.getProperty("aws.sharedCredentialsFile");
    try {
      java.nio.file.Files.writeString(file, "[ckpt-test]\naws_access_key_id = " + S3ProxyServer.KEY
          + "\naws_secret_access_key = " + S3ProxyServer.SECRET + "\n[wrong]\naws_access_key_id = "
          + S3ProxyServer.KEY + "\naws_secret_access_key = nope\n");
      System.setProperty("aws.sharedCredentialsFile", file.toString());
      String base = "s3://store-it/profile?endpoint=" + S3.endpoint() + "&pathStyle=true&profile=";
      try (CheckpointStore store = CheckpointStore.open(URI.create(base + "ckpt-test"))) {
        assertEquals(List.of(), store.jobs());
      }
      StoreConfigurationException e = assertThrows(StoreConfigurationException.class,
          () -> CheckpointStore.open(URI.create(base + "wrong")));
      assertTrue(e.getMessage().contains("check the credentials"), e.getMessage());
    } finally {
      restore("aws.sharedCredentialsFile", previous);
      java.nio.file.Files.deleteIfExists(file);
    }
  }

  @Test
  void credentials_comeFromTheDefaultChain_whenTheUriNamesNone() throws Exception {
    String key = System.getProperty("aws.accessKeyId");
    String secret = System.getProperty("aws.secretAccessKey");
    try {
      System.setProperty("aws.accessKeyId", S3ProxyServer.KEY);
      System.setProperty("aws.secretAccessKey", S3ProxyServer.SECRET);
      try (CheckpointStore store = CheckpointStore.open(
          URI.create("s3://store-it/chain?endpoint=" + S3.endpoint() + "&pathStyle=true"))) {
        assertEquals(List.of(), store.jobs());
      }
    } finally {
      restore("aws.accessKeyId", key);
      restore("aws.secretAccessKey", secret);
    }
  }

  private static void restore(String property, String value) {
    if (value == null) {
      System.clearProperty(property);
    } else {
      System.setProperty(property, value);
    }
  }

  @Test
  void secretKeyInTheUri_neverShowsInTheStoreUri() throws Exception {
    try (CheckpointStore store = CheckpointStore.open(S3.uri("store-it"))) {
      assertFalse(store.uri().toString().contains(S3ProxyServer.SECRET), store.uri().toString());
      assertTrue(store.uri().toString().contains("secretKey=***"), store.uri().toString());
    }
  }

  @Test
  void unknownAccessKey_failsAtOpen_namingTheCredentials() {
    URI uri = URI.create("s3://store-it/x?endpoint=" + S3.endpoint() + "&pathStyle=true&accessKey=nobody&secretKey=testsecret");
    StoreConfigurationException e = assertThrows(StoreConfigurationException.class, () -> CheckpointStore.open(uri));
    assertTrue(e.getMessage().contains("check the credentials"), e.getMessage());
  }

  @Test
  void missingBucket_failsAtOpen_namingTheBucket_andCreateTrueCreatesIt() throws Exception {
    URI uri = S3.uri("no-such-bucket");
    StoreConfigurationException e = assertThrows(StoreConfigurationException.class, () -> CheckpointStore.open(uri));
    assertTrue(e.getMessage().contains("bucket 'no-such-bucket' does not exist"), e.getMessage());
    assertTrue(e.getMessage().contains("create=true"), e.getMessage());

    try (CheckpointStore store = CheckpointStore.open(S3.uri("made-on-open", "create=true"))) {
      assertEquals(List.of(), store.jobs());
    }
    assertTrue(S3.admin().listBuckets().buckets().stream().anyMatch(b -> b.name().equals("made-on-open")));
  }

  @Test
  void unreachableEndpoint_failsAtOpen_namingTheEndpoint() throws Exception {
    int closedPort;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      closedPort = s.getLocalPort();
    }
    URI uri = URI.create("s3://store-it/x?endpoint=http://127.0.0.1:" + closedPort + "&accessKey=a&secretKey=b&maxAttempts=1");
    CheckpointException e = assertThrows(CheckpointException.class, () -> CheckpointStore.open(uri));
    assertTrue(e.getMessage().contains("open bucket store-it failed after 1 attempts"), e.getMessage());
    assertTrue(e.getMessage().contains("127.0.0.1:" + closedPort), e.getMessage());
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "s3:///nobucket|no bucket",
      "s3://Bad_Bucket/x|not a valid S3 bucket name",
      "s3://bkt/x?colour=red|unknown option 'colour'",
      "s3://bkt/x?accessKey=a|accessKey and secretKey go together",
      "s3://bkt/x?partSize=1M|partSize 1048576 is outside",
      "s3://bkt/x?partSize=lots|partSize=lots is not a size",
      "s3://bkt/x?uploadThreads=0|uploadThreads=0 is not a whole number",
      "s3://bkt/x?sse=rot13|sse 'rot13' is not one of",
      "s3://bkt/x?kmsKeyId=k|kmsKeyId needs sse=aws:kms",
      "s3://bkt/x?storageClass=CHEAP|storageClass 'CHEAP' is not one of",
      "s3://bkt/x?storageClass=GLACIER|cannot be read back",
      "s3://bkt/x?pathStyle=yes|pathStyle=yes is neither true nor false",
      "s3://bkt/x?endpoint=ftp://h|endpoint 'ftp://h' is not an http",
      "s3://bkt/.hidden|segment '.hidden'",
  })
  void badUris_areRefused_withTheReason(String row) {
    String[] p = row.split("\\|");
    StoreConfigurationException e = assertThrows(StoreConfigurationException.class,
        () -> new S3StoreProvider().open(URI.create(p[0])));
    assertTrue(e.getMessage().contains(p[1]), e.getMessage());
  }

  @Test
  void multipartUpload_thatFailsMidway_isAborted_andLeavesNoBlob() throws Exception {
    try (BlobStore store = new S3StoreProvider().open(S3.uri("store-it", "partSize=5MiB"))) {
      InputStream failing = new InputStream() {
        long n;

        @Override
        public int read() throws IOException {
          byte[] one = new byte[1];
          return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
          if (n > (12L << 20)) {
            throw new IOException("source broke after two parts");
          }
          int k = Math.min(len, 1 << 16);
          n += k;
          return k;
        }
      };
      StoreException e = assertThrows(StoreException.class, () -> store.put("big/torn", failing, 40L << 20));
      assertTrue(e.getMessage().contains("source broke after two parts"), e.getMessage());
      assertTrue(store.stat("big/torn").isEmpty());
      assertEquals(List.of(), S3.openUploads("store-it"), "the multipart upload must be aborted");
    }
  }

  @Test
  void streamMuchLargerThanTheHeap_goesUpWithBoundedMemory() throws Exception {
    // 256 MiB through a JVM with a 48 MiB heap: 8 MiB parts, 2 in flight plus the one being read.
    URI uri = S3.uri("store-it", "partSize=8MiB", "uploadThreads=2");
    String java = ProcessHandle.current().info().command().orElse("java");
    Process child = new ProcessBuilder(java, "-Xmx48m", "-cp", System.getProperty("java.class.path"),
        StreamPutMain.class.getName(), uri.toString(), "256", "big/stream").redirectErrorStream(true).start();
    String output = new String(child.getInputStream().readAllBytes());
    assertTrue(child.waitFor(5, TimeUnit.MINUTES), "the child finished");
    assertEquals(0, child.exitValue(), output);
    assertTrue(output.contains("DONE"), output);
    try (BlobStore store = new S3StoreProvider().open(uri)) {
      assertEquals(256L << 20, store.stat("big/stream").orElseThrow().size());
      for (long at : new long[] {0, 8L << 20, (200L << 20) + 12345, (256L << 20) - 100}) {
        try (InputStream in = store.get("big/stream", at, 100)) {
          byte[] got = in.readAllBytes();
          for (int i = 0; i < got.length; i++) {
            assertEquals(StreamPutMain.at(at + i), got[i], "byte " + (at + i));
          }
        }
      }
      assertEquals(List.of(), S3.openUploads("store-it"));
    }
  }

  @Test
  void largeBuffer_goesUpInParallelParts_andReadsBackWhole() throws Exception {
    FaultProxy proxy = new FaultProxy(S3.port(), 1);
    try (proxy; BlobStore store = new S3StoreProvider().open(S3.uriVia(proxy.endpoint(), "store-it", "partSize=5MiB"))) {
      byte[] data = random(23 << 20, 5);
      store.put("big/buffer", java.nio.ByteBuffer.wrap(data));
      try (InputStream in = store.get("big/buffer")) {
        assertArrayEquals(data, in.readAllBytes());
      }
      long parts = proxy.heads().stream().filter(h -> h.startsWith("PUT ") && h.contains("partNumber=")).count();
      assertEquals(5, parts, "23 MiB in 5 MiB parts");
      assertTrue(proxy.maxInFlight() >= 2, "parts went up in parallel: at most " + proxy.maxInFlight() + " at once");
      assertEquals(List.of(), S3.openUploads("store-it"));
    }
  }

  @Test
  void storageClassAndChecksums_goOverTheWire_onPutsAndParts() throws Exception {
    FaultProxy proxy = new FaultProxy(S3.port(), 2);
    try (proxy; BlobStore store = new S3StoreProvider().open(S3.uriVia(proxy.endpoint(), "store-it",
        "storageClass=STANDARD_IA", "partSize=5MiB"))) {
      store.put("sc/small", new byte[1000]);
      byte[] large = random(11 << 20, 3);
      store.put("sc/large", java.nio.ByteBuffer.wrap(large));
      try (InputStream in = store.get("sc/large")) {
        assertArrayEquals(large, in.readAllBytes());
      }
      List<String> creates = proxy.heads().stream()
          .filter(h -> (h.startsWith("PUT ") && !h.contains("partNumber=")) || h.startsWith("POST ") && h.contains("?uploads"))
          .toList();
      assertEquals(2, creates.size(), "one PUT and one CreateMultipartUpload: " + creates);
      for (String h : creates) {
        assertTrue(h.toLowerCase(java.util.Locale.ROOT).contains("x-amz-storage-class: standard_ia"), h);
      }
      List<String> bodies = proxy.heads().stream().filter(h -> h.startsWith("PUT ")).toList();
      assertEquals(4, bodies.size(), "one PUT and three parts");
      for (String h : bodies) {
        assertTrue(h.toLowerCase(java.util.Locale.ROOT).contains("crc32"), "every upload carries a CRC32: " + h);
      }
    }
  }

  /**
   * S3Proxy implements no server-side encryption and answers 501, so this checks what can be
   * checked here: the SSE-KMS headers are sent, and a server's refusal comes back as a clear error.
   */
  @ParameterizedTest
  @ValueSource(strings = {"sse=aws:kms&kmsKeyId=alias/ckpt-test", "sse=AES256"})
  void serverSideEncryption_headersAreSent_andARefusalIsReportedClearly(String options) throws Exception {
    FaultProxy proxy = new FaultProxy(S3.port(), 4);
    try (proxy; BlobStore store = new S3StoreProvider().open(S3.uriVia(proxy.endpoint(), "store-it", options))) {
      StoreException e = assertThrows(StoreException.class, () -> store.put("enc/small", new byte[1000]));
      assertTrue(e.getMessage().contains("put enc/small failed (HTTP 501 NotImplemented"), e.getMessage());
      assertTrue(e.getMessage().contains("encryption"), e.getMessage());
      String head = proxy.heads().stream().filter(h -> h.startsWith("PUT ")).findFirst().orElseThrow()
          .toLowerCase(java.util.Locale.ROOT);
      if (options.contains("kms")) {
        assertTrue(head.contains("x-amz-server-side-encryption: aws:kms"), head);
        assertTrue(head.contains("x-amz-server-side-encryption-aws-kms-key-id: alias/ckpt-test"), head);
      } else {
        assertTrue(head.contains("x-amz-server-side-encryption: aes256"), head);
      }
      assertTrue(store.stat("enc/small").isEmpty());
    }
  }

  @Test
  void createOncePut_whoseAnswerIsLost_stillReportsItsOwnWin() throws Exception {
    FaultProxy proxy = new FaultProxy(S3.port(), 3);
    try (proxy; BlobStore store = new S3StoreProvider().open(S3.uriVia(proxy.endpoint(), "store-it"))) {
      proxy.loseResponses(line -> line.startsWith("PUT ") && line.contains("/m/1 "), 1);
      assertTrue(store.putIfAbsent("m/1", "mine".getBytes()), "the retry meets 412 on our own bytes: a win");
      assertEquals(1, proxy.injected(FaultProxy.Fault.LOSE_RESPONSE));
      proxy.loseResponses(line -> line.startsWith("PUT ") && line.contains("/m/1 "), 1);
      assertFalse(store.putIfAbsent("m/1", "theirs".getBytes()), "other bytes under the key: a loss");
      try (InputStream in = store.get("m/1")) {
        assertArrayEquals("mine".getBytes(), in.readAllBytes());
      }
    }
  }

  @Test
  void checkpoints_roundTripThroughS3_andTheSecondStoresOnlyWhatChanged() throws Exception {
    try (CheckpointStore store = CheckpointStore.open(S3.uri("store-it"))) {
      byte[] state = random(8 << 20, 9);
      CheckpointInfo first = write(store, state);
      for (int i = 0; i < 4096; i++) {
        state[(3 << 20) + i] ^= 1;
      }
      CheckpointInfo second = write(store, state);
      assertEquals(first.id() + 1, second.id());
      assertTrue(second.newRawBytes() <= 128 << 10, "only the changed chunks are new: " + second);
      try (ImageReader r = store.open("sim", second.id())) {
        assertArrayEquals(state, r.readBytes("state"));
      }
      assertTrue(store.verify("sim", first.id()).ok());
    }
  }

  private static CheckpointInfo write(CheckpointStore store, byte[] state) throws Exception {
    try (ImageWriter w = store.newImage("sim")) {
      try (PartOutput out = w.part("state", Map.of())) {
        out.write(state, 0, state.length);
      }
      return w.commit();
    }
  }
}
