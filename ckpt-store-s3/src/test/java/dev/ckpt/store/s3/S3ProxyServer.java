package dev.ckpt.store.s3;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * A real S3 server for tests: S3Proxy 4.1.0 with the filesystem provider, started as its own
 * process on a free port of 127.0.0.1. Its jar bundles an unshaded AWS SDK, so it never joins
 * the test class path; Maven copies it to {@code target/s3proxy/s3proxy.jar}.
 */
public final class S3ProxyServer implements BeforeAllCallback, AfterAllCallback {
  public static final String KEY = "testkey";
  public static final String SECRET = "testsecret";

  private final AtomicInteger prefixes = new AtomicInteger();
  private Process process;
  private Path dir;
  private int port;
  private S3Client admin;

  @Override
  public void beforeAll(ExtensionContext context) throws Exception {
    start();
  }

  @Override
  public void afterAll(ExtensionContext context) {
    stop();
  }

  public void start() throws Exception {
    start(null);
  }

  /**
   * Starts the server with its objects under {@code data} (a small file system, say), or under
   * a fresh temporary directory when null.
   */
  public void start(Path data) throws Exception {
    String jarProperty = System.getProperty("ckpt.s3proxyJar");
    if (jarProperty == null || !Files.isRegularFile(Paths.get(jarProperty))) {
      fail("S3Proxy is missing: expected its jar at system property ckpt.s3proxyJar (" + jarProperty
          + "); run the tests through Maven (mvn verify), which copies org.gaul:s3proxy:4.1.0:jar-with-dependencies "
          + "to ckpt-store-s3/target/s3proxy/s3proxy.jar");
    }
    dir = Files.createTempDirectory("ckpt-s3proxy-");
    if (data == null) {
      data = Files.createDirectories(dir.resolve("data"));
    }
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    Path props = dir.resolve("s3proxy.properties");
    Files.writeString(props, String.join("\n",
        "s3proxy.endpoint=http://127.0.0.1:" + port,
        "s3proxy.authorization=aws-v2-or-v4",
        "s3proxy.identity=" + KEY,
        "s3proxy.credential=" + SECRET,
        "jclouds.provider=filesystem",
        "jclouds.filesystem.basedir=" + data,
        "s3proxy.ignore-unknown-headers=true",
        ""));
    this.props = props;
    launch();
    admin = client(endpoint());
  }

  private Path props;

  /** Starts the server process on the port and properties chosen, and waits until it answers. */
  private void launch() throws Exception {
    Path log = dir.resolve("s3proxy.log");
    process = new ProcessBuilder(Paths.get(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx1g", "-jar", System.getProperty("ckpt.s3proxyJar"), "--properties", props.toString())
        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (true) {
      if (!process.isAlive()) {
        fail("S3Proxy exited with " + process.exitValue() + " before answering; its log:\n" + Files.readString(log));
      }
      try {
        HttpURLConnection c = (HttpURLConnection) URI.create(endpoint() + "/").toURL().openConnection();
        c.setConnectTimeout(500);
        c.setReadTimeout(2000);
        c.getResponseCode();
        c.disconnect();
        break;
      } catch (IOException notYet) {
        if (System.nanoTime() > deadline) {
          stop();
          fail("S3Proxy did not answer on " + endpoint() + " within 60 s; its log:\n" + Files.readString(log));
        }
        Thread.sleep(100);
      }
    }
  }

  /**
   * Kills the server (SIGKILL: what a crash or a host's restart does to it) and starts it again on
   * the same port with the same objects; returns once it answers.
   */
  public void restart() throws Exception {
    process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    launch();
  }

  public String endpoint() {
    return "http://127.0.0.1:" + port;
  }

  public int port() {
    return port;
  }

  /** A plain SDK client with the test credentials, for setting up and inspecting buckets. */
  public S3Client admin() {
    return admin;
  }

  public static S3Client client(String endpoint) {
    return S3Client.builder().endpointOverride(URI.create(endpoint)).region(Region.US_EAST_1).forcePathStyle(true)
        .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(KEY, SECRET))).build();
  }

  public void createBucket(String bucket) {
    admin.createBucket(b -> b.bucket(bucket));
  }

  /** A store URI on a fresh prefix of {@code bucket}, through {@code endpoint}, with extra options. */
  public URI uriVia(String endpoint, String bucket, String... options) {
    StringBuilder s = new StringBuilder("s3://" + bucket + "/t" + prefixes.incrementAndGet()
        + "?endpoint=" + endpoint + "&pathStyle=true&accessKey=" + KEY + "&secretKey=" + SECRET);
    for (String o : options) {
      s.append('&').append(o);
    }
    return URI.create(s.toString());
  }

  public URI uri(String bucket, String... options) {
    return uriVia(endpoint(), bucket, options);
  }

  /** Multipart uploads the server still holds open in {@code bucket}. */
  public List<String> openUploads(String bucket) {
    return admin.listMultipartUploads(b -> b.bucket(bucket)).uploads().stream()
        .map(u -> u.key() + " " + u.uploadId()).toList();
  }

  public void stop() {
    if (admin != null) {
      admin.close();
      admin = null;
    }
    if (process != null) {
      process.destroy();
      try {
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
          process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      process = null;
    }
    if (dir != null) {
      try (Stream<Path> s = Files.walk(dir)) {
        s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      } catch (IOException ignored) {
        // a temp directory; the OS cleans it
      }
      dir = null;
    }
  }

  static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }
}
