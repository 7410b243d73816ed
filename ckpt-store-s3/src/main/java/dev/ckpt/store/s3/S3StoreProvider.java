package dev.ckpt.store.s3;

import dev.ckpt.CheckpointException;
import dev.ckpt.StoreConfigurationException;
import dev.ckpt.spi.BlobStore;
import dev.ckpt.spi.StoreProvider;
import dev.ckpt.store.s3.internal.S3BlobStore;
import dev.ckpt.store.s3.internal.S3Config;
import java.net.URI;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.ProfileCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.http.apache5.Apache5HttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.regions.providers.DefaultAwsRegionProviderChain;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.KmsClientBuilder;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;

/**
 * Opens stores on Amazon S3 or an S3-compatible server:
 * {@code s3://bucket/prefix?region=…&endpoint=…&pathStyle=true}. The options are listed in the
 * module README. {@link #open(URI)} is what {@code ServiceLoader} calls; {@link #builder(URI)}
 * adds what a URI cannot carry: a credentials provider and the executor for multipart parts.
 *
 * <p>Opening checks the bucket with a HEAD request, so wrong credentials or a missing bucket
 * fail here, with a message that says which, before any checkpoint starts.
 */
public final class S3StoreProvider implements StoreProvider {

  @Override
  public String scheme() {
    return "s3";
  }

  @Override
  public BlobStore open(URI uri) throws CheckpointException {
    return builder(uri).build();
  }

  /**
   * Starts configuring a store for {@code uri}; options in the URI still apply.
   *
   * @param uri an {@code s3:} URI
   * @return a new builder
   */
  public static Builder builder(URI uri) {
    return new Builder(uri);
  }

  /** Configures one S3 store. */
  public static final class Builder {
    private final URI uri;
    private AwsCredentialsProvider credentials;
    private ExecutorService partExecutor;

    private Builder(URI uri) {
      this.uri = Objects.requireNonNull(uri, "uri");
    }

    /**
     * Credentials to use instead of those the URI names (static keys, a profile, or the default chain).
     *
     * @param credentials the credentials provider
     * @return this builder
     */
    public Builder credentials(AwsCredentialsProvider credentials) {
      this.credentials = Objects.requireNonNull(credentials, "credentials");
      return this;
    }

    /**
     * Runs multipart part uploads on {@code executor}, which the caller keeps and shuts down. It
     * must not be the executor that calls the store: a put waits for its parts. Without one, the
     * store starts {@code uploadThreads} daemon threads named {@code ckpt-s3-part-N} and stops
     * them in {@link BlobStore#close()}.
     *
     * @param executor the executor for part uploads
     * @return this builder
     */
    public Builder partExecutor(ExecutorService executor) {
      this.partExecutor = Objects.requireNonNull(executor, "executor");
      return this;
    }

    /**
     * Builds the client and checks the bucket.
     *
     * @return the store, which the caller closes
     * @throws StoreConfigurationException if the URI or its options are invalid, the client cannot
     *     be set up, the server refuses the bucket check, or the bucket does not exist and the URI
     *     does not say {@code create=true}
     * @throws CheckpointException if the server cannot be reached or the bucket cannot be created
     */
    public BlobStore build() throws CheckpointException {
      S3Config config = S3Config.parse(uri);
      S3Client client = client(config);
      boolean owns = partExecutor == null;
      ExecutorService parts = owns ? Executors.newFixedThreadPool(config.uploadThreads(), threads()) : partExecutor;
      KmsClient kms = null;
      S3BlobStore store;
      try {
        if (config.envelopeKey().isPresent()) {
          String key = config.envelopeKey().get();
          // A key ARN says its region (arn:aws:kms:REGION:ACCOUNT:key/ID); else the store's.
          String[] arn = key.split(":");
          KmsClientBuilder k = KmsClient.builder()
              .region(key.startsWith("arn:") && arn.length > 4 && !arn[3].isEmpty() ? Region.of(arn[3]) : region(config))
              .credentialsProvider(credentials != null ? credentials : credentialsFor(config))
              .httpClientBuilder(Apache5HttpClient.builder().useIdleConnectionReaper(false));
          config.kmsEndpoint().ifPresent(k::endpointOverride);
          kms = k.build();
        }
        store = new S3BlobStore(config, client, parts, owns, kms);
      } catch (StoreConfigurationException | RuntimeException e) {
        client.close();
        if (owns) {
          parts.shutdownNow();
        }
        if (e instanceof StoreConfigurationException c) {
          throw c;
        }
        throw new StoreConfigurationException("store URI '" + config.redacted() + "': cannot set up the KMS client: "
            + e.getMessage(), e);
      }
      try {
        store.checkBucket();
      } catch (CheckpointException | RuntimeException e) {
        store.close();
        throw e;
      }
      return store;
    }

    private S3Client client(S3Config config) throws StoreConfigurationException {
      S3ClientBuilder b = S3Client.builder()
          .region(region(config))
          .credentialsProvider(credentials != null ? credentials : credentialsFor(config))
          .forcePathStyle(config.pathStyle())
          // Checksums on both ways: CRC32 on every upload, and checked on every whole-object download.
          .requestChecksumCalculation(RequestChecksumCalculation.WHEN_SUPPORTED)
          .responseChecksumValidation(ResponseChecksumValidation.WHEN_SUPPORTED)
          .httpClientBuilder(Apache5HttpClient.builder()
              .maxConnections(Math.max(64, config.uploadThreads() * 8))
              .connectionTimeout(Duration.ofSeconds(10))
              .socketTimeout(Duration.ofSeconds(60))
              .connectionMaxIdleTime(Duration.ofSeconds(30))
              // The reaper is one static background thread shared by every client in the JVM.
              .useIdleConnectionReaper(false))
          .overrideConfiguration(o -> o.retryStrategy(AwsRetryStrategy.standardRetryStrategy().toBuilder()
              .maxAttempts(config.maxAttempts())
              // The circuit breaker stops retrying after a burst of failures; a checkpoint would
              // rather wait out a flaky network than fail.
              .circuitBreakerEnabled(false)
              .build()));
      config.endpoint().ifPresent(b::endpointOverride);
      try {
        return b.build();
      } catch (SdkClientException e) {
        throw new StoreConfigurationException("store URI '" + config.redacted() + "': cannot set up the S3 client: "
            + e.getMessage(), e);
      }
    }

    private static Region region(S3Config config) throws StoreConfigurationException {
      if (config.region().isPresent()) {
        return Region.of(config.region().get());
      }
      if (config.endpoint().isPresent()) {
        // S3-compatible servers accept any region in the signature; us-east-1 is the convention.
        return Region.US_EAST_1;
      }
      try {
        return DefaultAwsRegionProviderChain.builder().build().getRegion();
      } catch (SdkClientException e) {
        throw new StoreConfigurationException("store URI '" + config.redacted()
            + "': no region: add region=… to the URI, or set AWS_REGION", e);
      }
    }

    private static AwsCredentialsProvider credentialsFor(S3Config config) {
      if (config.accessKey().isPresent()) {
        return StaticCredentialsProvider.create(
            AwsBasicCredentials.create(config.accessKey().get(), config.secretKey().orElseThrow()));
      }
      if (config.profile().isPresent()) {
        return ProfileCredentialsProvider.builder().profileName(config.profile().get()).build();
      }
      return DefaultCredentialsProvider.builder().build();
    }

    private static ThreadFactory threads() {
      AtomicInteger n = new AtomicInteger();
      return r -> {
        Thread t = new Thread(r, "ckpt-s3-part-" + n.incrementAndGet());
        t.setDaemon(true);
        return t;
      };
    }
  }
}
