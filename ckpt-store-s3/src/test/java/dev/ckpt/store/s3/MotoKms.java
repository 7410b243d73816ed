package dev.ckpt.store.s3;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kms.KmsClient;

/**
 * A real KMS for tests: moto's server ({@code moto_server}, from PyPI's {@code moto[server]},
 * which ./scripts/test installs), started as its own process on a free port of 127.0.0.1 and
 * used for KMS only; S3 stays S3Proxy.
 */
public final class MotoKms implements BeforeAllCallback, AfterAllCallback {
  private Process process;
  private Path log;
  private int port;
  private KmsClient admin;

  @Override
  public void beforeAll(ExtensionContext context) throws Exception {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    log = Files.createTempFile("ckpt-moto-", ".log");
    try {
      process = new ProcessBuilder("moto_server", "-H", "127.0.0.1", "-p", Integer.toString(port))
          .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    } catch (IOException e) {
      fail("moto_server is missing (the KMS the envelope-encryption tests use); ./scripts/test installs it with"
          + " pip install 'moto[server]': " + e.getMessage());
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (true) {
      if (!process.isAlive()) {
        fail("moto_server exited with " + process.exitValue() + " before answering; its log:\n" + Files.readString(log));
      }
      try (Socket s = new Socket("127.0.0.1", port)) {
        break;
      } catch (IOException notYet) {
        if (System.nanoTime() > deadline) {
          afterAll(context);
          fail("moto_server did not answer on " + endpoint() + " within 60 s; its log:\n" + Files.readString(log));
        }
        Thread.sleep(100);
      }
    }
    admin = KmsClient.builder().endpointOverride(URI.create(endpoint())).region(Region.US_EAST_1)
        .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(S3ProxyServer.KEY,
            S3ProxyServer.SECRET))).build();
  }

  @Override
  public void afterAll(ExtensionContext context) throws Exception {
    if (admin != null) {
      admin.close();
    }
    if (process != null) {
      process.destroy();
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    }
    if (log != null) {
      Files.deleteIfExists(log);
    }
  }

  public String endpoint() {
    return "http://127.0.0.1:" + port;
  }

  /** A KMS client with the test credentials, for making and disabling keys. */
  public KmsClient admin() {
    return admin;
  }

  /** A new symmetric KMS key; returns its ARN. */
  public String newKey() {
    return admin.createKey(b -> b.description("ckpt test")).keyMetadata().arn();
  }
}
