package dev.ckpt.store.s3.internal;

import dev.ckpt.StoreConfigurationException;
import dev.ckpt.spi.StoreOptions;
import java.net.URI;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import software.amazon.awssdk.services.s3.model.StorageClass;

/**
 * What an {@code s3://bucket/prefix?option=value&…} URI asks for, checked once when the store
 * opens so that a typo fails before any data moves.
 */
public record S3Config(
    URI uri,
    String bucket,
    String prefix,
    Optional<String> region,
    Optional<URI> endpoint,
    boolean pathStyle,
    Optional<String> profile,
    Optional<String> accessKey,
    Optional<String> secretKey,
    Optional<String> sse,
    Optional<String> kmsKeyId,
    Optional<StorageClass> storageClass,
    long partSize,
    int uploadThreads,
    int maxAttempts,
    boolean create,
    /** A KMS key (id, ARN or alias/NAME) that wraps the data keys of envelope encryption. */
    Optional<String> envelopeKey,
    /** KMS keys whose data keys still open older checkpoints (a rotation's former envelopeKeys). */
    java.util.List<String> envelopeOlderKeys,
    /** Where KMS is reached, if not AWS's endpoint for the region. */
    Optional<URI> kmsEndpoint,
    /** The URI with any secret key blanked, for messages and logs. */
    String redacted) {

  /** S3 refuses multipart parts below 5 MiB (except the last). */
  public static final long MIN_PART_SIZE = 5L << 20;
  /** S3 refuses parts above 5 GiB; we also hold parts in memory, so stay far below. */
  public static final long MAX_PART_SIZE = 512L << 20;
  public static final long DEFAULT_PART_SIZE = 16L << 20;
  public static final int DEFAULT_UPLOAD_THREADS = 4;
  public static final int DEFAULT_MAX_ATTEMPTS = 8;

  static final Set<String> OPTIONS = Set.of("region", "endpoint", "pathStyle", "profile", "accessKey", "secretKey",
      "sse", "kmsKeyId", "storageClass", "partSize", "uploadThreads", "maxAttempts", "create",
      "envelopeKey", "envelopeOlderKeys", "kmsEndpoint");

  private static final Pattern BUCKET = Pattern.compile("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]");
  private static final Pattern PREFIX_SEGMENT = Pattern.compile("[A-Za-z0-9._-]+");

  /** Parses and checks {@code uri}; every error names the URI and the option at fault. */
  public static S3Config parse(URI uri) throws StoreConfigurationException {
    StoreOptions q = StoreOptions.parse(uri, OPTIONS, Set.of("secretKey"));
    if (!"s3".equalsIgnoreCase(uri.getScheme())) {
      throw q.error("scheme is not s3");
    }
    String bucket = uri.getAuthority();
    if (bucket == null || bucket.isEmpty()) {
      throw q.error("no bucket; use s3://bucket/prefix");
    }
    if (!BUCKET.matcher(bucket).matches() || bucket.contains("..")) {
      throw q.error("bucket name '" + bucket + "' is not a valid S3 bucket name "
          + "(3 to 63 characters: lower-case letters, digits, dots and hyphens)");
    }
    String path = uri.getPath() == null ? "" : uri.getPath();
    String prefix = trimSlashes(path);
    if (!prefix.isEmpty()) {
      for (String segment : prefix.split("/", -1)) {
        if (!PREFIX_SEGMENT.matcher(segment).matches() || segment.startsWith(".")) {
          throw q.error("prefix '" + prefix + "' has segment '" + segment
              + "'; segments are [A-Za-z0-9._-], not empty, not starting with a dot");
        }
      }
      prefix = prefix + "/";
    }
    Optional<URI> endpoint = Optional.empty();
    if (q.has("endpoint")) {
      URI e = parseEndpoint(q.string("endpoint").orElseThrow());
      if (e == null) {
        throw q.error("endpoint '" + q.string("endpoint").orElseThrow() + "' is not an http:// or https:// URL");
      }
      endpoint = Optional.of(e);
    }
    Optional<String> accessKey = q.string("accessKey");
    Optional<String> secretKey = q.string("secretKey");
    if (accessKey.isPresent() != secretKey.isPresent()) {
      throw q.error("accessKey and secretKey go together; give both or neither");
    }
    if (accessKey.isPresent() && q.has("profile")) {
      throw q.error("give either static keys (accessKey, secretKey) or a profile, not both");
    }
    Optional<String> sse = q.string("sse").map(v -> switch (v) {
      case "AES256", "aes256", "s3" -> "AES256";
      case "aws:kms", "kms" -> "aws:kms";
      default -> "";
    });
    if (sse.isPresent() && sse.get().isEmpty()) {
      throw q.error("sse '" + q.string("sse").orElseThrow() + "' is not one of AES256 (SSE-S3) or aws:kms (SSE-KMS)");
    }
    Optional<String> kmsKeyId = q.string("kmsKeyId");
    if (kmsKeyId.isPresent() && !sse.equals(Optional.of("aws:kms"))) {
      throw q.error("kmsKeyId needs sse=aws:kms");
    }
    Optional<StorageClass> storageClass = Optional.empty();
    if (q.has("storageClass")) {
      String given = q.string("storageClass").orElseThrow();
      StorageClass sc = StorageClass.fromValue(given.toUpperCase(Locale.ROOT));
      if (sc == StorageClass.UNKNOWN_TO_SDK_VERSION) {
        throw q.error("storageClass '" + given + "' is not one of " + StorageClass.knownValues());
      }
      if (sc == StorageClass.GLACIER || sc == StorageClass.DEEP_ARCHIVE) {
        throw q.error("storageClass " + sc + " cannot be read back without a restore request; "
            + "checkpoints must be readable at once");
      }
      storageClass = Optional.of(sc);
    }
    long partSize = q.size("partSize", DEFAULT_PART_SIZE);
    if (partSize < MIN_PART_SIZE || partSize > MAX_PART_SIZE) {
      throw q.error("partSize " + partSize + " is outside [5 MiB, 512 MiB]");
    }
    Optional<URI> kmsEndpoint = Optional.empty();
    if (q.has("kmsEndpoint")) {
      URI e = parseEndpoint(q.string("kmsEndpoint").orElseThrow());
      if (e == null) {
        throw q.error("kmsEndpoint '" + q.string("kmsEndpoint").orElseThrow() + "' is not an http:// or https:// URL");
      }
      kmsEndpoint = Optional.of(e);
    }
    Optional<String> envelopeKey = q.string("envelopeKey");
    if (kmsEndpoint.isPresent() && envelopeKey.isEmpty()) {
      throw q.error("kmsEndpoint needs envelopeKey (the KMS key that wraps the data keys)");
    }
    if (envelopeKey.isPresent() && envelopeKey.get().isBlank()) {
      throw q.error("envelopeKey is empty; give a KMS key id, ARN or alias/NAME");
    }
    java.util.List<String> olderKeys = q.string("envelopeOlderKeys").map(v -> java.util.Arrays.stream(v.split(","))
        .map(String::strip).filter(k -> !k.isEmpty()).toList()).orElse(java.util.List.of());
    if (!olderKeys.isEmpty() && envelopeKey.isEmpty()) {
      throw q.error("envelopeOlderKeys needs envelopeKey (the KMS key whose data key seals new checkpoints)");
    }
    int threads = q.integer("uploadThreads", DEFAULT_UPLOAD_THREADS, 1, 64);
    int attempts = q.integer("maxAttempts", DEFAULT_MAX_ATTEMPTS, 1, 20);
    return new S3Config(uri, bucket, prefix, q.string("region"), endpoint, q.bool("pathStyle"), q.string("profile"),
        accessKey, secretKey, sse, kmsKeyId, storageClass, partSize, threads, attempts, q.bool("create"),
        envelopeKey, olderKeys, kmsEndpoint, q.redacted());
  }

  private static URI parseEndpoint(String e) {
    try {
      URI u = URI.create(e);
      if (!("http".equals(u.getScheme()) || "https".equals(u.getScheme())) || u.getHost() == null) {
        return null;
      }
      return u;
    } catch (IllegalArgumentException ex) {
      return null;
    }
  }

  private static String trimSlashes(String p) {
    int b = 0;
    int e = p.length();
    while (b < e && p.charAt(b) == '/') {
      b++;
    }
    while (e > b && p.charAt(e - 1) == '/') {
      e--;
    }
    return p.substring(b, e);
  }
}
