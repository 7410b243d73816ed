package dev.ckpt.store.s3.internal;

import dev.ckpt.StoreConfigurationException;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
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
    boolean create) {

  /** S3 refuses multipart parts below 5 MiB (except the last). */
  public static final long MIN_PART_SIZE = 5L << 20;
  /** S3 refuses parts above 5 GiB; we also hold parts in memory, so stay far below. */
  public static final long MAX_PART_SIZE = 512L << 20;
  public static final long DEFAULT_PART_SIZE = 16L << 20;
  public static final int DEFAULT_UPLOAD_THREADS = 4;
  public static final int DEFAULT_MAX_ATTEMPTS = 8;

  static final Set<String> OPTIONS = Set.of("region", "endpoint", "pathStyle", "profile", "accessKey", "secretKey",
      "sse", "kmsKeyId", "storageClass", "partSize", "uploadThreads", "maxAttempts", "create");

  private static final Pattern BUCKET = Pattern.compile("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]");
  private static final Pattern PREFIX_SEGMENT = Pattern.compile("[A-Za-z0-9._-]+");

  /** Parses and checks {@code uri}; every error names the URI and the option at fault. */
  public static S3Config parse(URI uri) throws StoreConfigurationException {
    if (!"s3".equalsIgnoreCase(uri.getScheme())) {
      throw bad(uri, "scheme is not s3");
    }
    String bucket = uri.getAuthority();
    if (bucket == null || bucket.isEmpty()) {
      throw bad(uri, "no bucket; use s3://bucket/prefix");
    }
    if (!BUCKET.matcher(bucket).matches() || bucket.contains("..")) {
      throw bad(uri, "bucket name '" + bucket + "' is not a valid S3 bucket name "
          + "(3 to 63 characters: lower-case letters, digits, dots and hyphens)");
    }
    String path = uri.getPath() == null ? "" : uri.getPath();
    String prefix = trimSlashes(path);
    if (!prefix.isEmpty()) {
      for (String segment : prefix.split("/", -1)) {
        if (!PREFIX_SEGMENT.matcher(segment).matches() || segment.startsWith(".")) {
          throw bad(uri, "prefix '" + prefix + "' has segment '" + segment
              + "'; segments are [A-Za-z0-9._-], not empty, not starting with a dot");
        }
      }
      prefix = prefix + "/";
    }
    Map<String, String> q = query(uri);
    for (String k : q.keySet()) {
      if (!OPTIONS.contains(k)) {
        throw bad(uri, "unknown option '" + k + "'; known: " + String.join(", ", OPTIONS.stream().sorted().toList()));
      }
    }
    Optional<URI> endpoint = Optional.empty();
    if (q.containsKey("endpoint")) {
      URI e = parseEndpoint(q.get("endpoint"));
      if (e == null) {
        throw bad(uri, "endpoint '" + q.get("endpoint") + "' is not an http:// or https:// URL");
      }
      endpoint = Optional.of(e);
    }
    Optional<String> accessKey = Optional.ofNullable(q.get("accessKey"));
    Optional<String> secretKey = Optional.ofNullable(q.get("secretKey"));
    if (accessKey.isPresent() != secretKey.isPresent()) {
      throw bad(uri, "accessKey and secretKey go together; give both or neither");
    }
    if (accessKey.isPresent() && q.containsKey("profile")) {
      throw bad(uri, "give either static keys (accessKey, secretKey) or a profile, not both");
    }
    Optional<String> sse = Optional.ofNullable(q.get("sse")).map(s -> switch (s) {
      case "AES256", "aes256", "s3" -> "AES256";
      case "aws:kms", "kms" -> "aws:kms";
      default -> "";
    });
    if (sse.isPresent() && sse.get().isEmpty()) {
      throw bad(uri, "sse '" + q.get("sse") + "' is not one of AES256 (SSE-S3) or aws:kms (SSE-KMS)");
    }
    Optional<String> kmsKeyId = Optional.ofNullable(q.get("kmsKeyId"));
    if (kmsKeyId.isPresent() && !sse.equals(Optional.of("aws:kms"))) {
      throw bad(uri, "kmsKeyId needs sse=aws:kms");
    }
    Optional<StorageClass> storageClass = Optional.empty();
    if (q.containsKey("storageClass")) {
      StorageClass sc = StorageClass.fromValue(q.get("storageClass").toUpperCase(Locale.ROOT));
      if (sc == StorageClass.UNKNOWN_TO_SDK_VERSION) {
        throw bad(uri, "storageClass '" + q.get("storageClass") + "' is not one of " + StorageClass.knownValues());
      }
      if (sc == StorageClass.GLACIER || sc == StorageClass.DEEP_ARCHIVE) {
        throw bad(uri, "storageClass " + sc + " cannot be read back without a restore request; "
            + "checkpoints must be readable at once");
      }
      storageClass = Optional.of(sc);
    }
    long partSize = q.containsKey("partSize") ? size(uri, "partSize", q.get("partSize")) : DEFAULT_PART_SIZE;
    if (partSize < MIN_PART_SIZE || partSize > MAX_PART_SIZE) {
      throw bad(uri, "partSize " + partSize + " is outside [5 MiB, 512 MiB]");
    }
    int threads = q.containsKey("uploadThreads") ? intIn(uri, "uploadThreads", q.get("uploadThreads"), 1, 64)
        : DEFAULT_UPLOAD_THREADS;
    int attempts = q.containsKey("maxAttempts") ? intIn(uri, "maxAttempts", q.get("maxAttempts"), 1, 20)
        : DEFAULT_MAX_ATTEMPTS;
    return new S3Config(uri, bucket, prefix, Optional.ofNullable(q.get("region")), endpoint,
        bool(uri, "pathStyle", q.get("pathStyle")), Optional.ofNullable(q.get("profile")), accessKey, secretKey,
        sse, kmsKeyId, storageClass, partSize, threads, attempts, bool(uri, "create", q.get("create")));
  }

  /** The URI with any secret key blanked, for messages and logs. */
  public String redacted() {
    String s = uri.toString();
    return secretKey.isPresent() ? s.replaceAll("secretKey=[^&]*", "secretKey=***") : s;
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

  private static Map<String, String> query(URI uri) throws StoreConfigurationException {
    Map<String, String> q = new LinkedHashMap<>();
    String raw = uri.getRawQuery();
    if (raw == null || raw.isEmpty()) {
      return q;
    }
    for (String kv : raw.split("&")) {
      if (kv.isEmpty()) {
        continue;
      }
      int eq = kv.indexOf('=');
      if (eq <= 0) {
        throw bad(uri, "option '" + kv + "' has no value; write name=value");
      }
      String k = URLDecoder.decode(kv.substring(0, eq), StandardCharsets.UTF_8);
      String v = URLDecoder.decode(kv.substring(eq + 1), StandardCharsets.UTF_8);
      if (q.put(k, v) != null) {
        throw bad(uri, "option '" + k + "' is given twice");
      }
    }
    return q;
  }

  private static boolean bool(URI uri, String name, String v) throws StoreConfigurationException {
    if (v == null || v.equals("false")) {
      return false;
    }
    if (v.equals("true")) {
      return true;
    }
    throw bad(uri, name + "=" + v + " is neither true nor false");
  }

  private static int intIn(URI uri, String name, String v, int min, int max) throws StoreConfigurationException {
    try {
      int n = Integer.parseInt(v);
      if (n >= min && n <= max) {
        return n;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw bad(uri, name + "=" + v + " is not a whole number in [" + min + ", " + max + "]");
  }

  /** Accepts bytes, or a number with K, M or G (binary multiples, optional "iB"). */
  static long size(URI uri, String name, String v) throws StoreConfigurationException {
    String s = v.trim();
    long mult = 1;
    String upper = s.toUpperCase(Locale.ROOT).replace("IB", "").replace("B", "");
    if (upper.endsWith("K")) {
      mult = 1L << 10;
    } else if (upper.endsWith("M")) {
      mult = 1L << 20;
    } else if (upper.endsWith("G")) {
      mult = 1L << 30;
    }
    String digits = mult == 1 ? upper : upper.substring(0, upper.length() - 1);
    try {
      return Math.multiplyExact(Long.parseLong(digits), mult);
    } catch (NumberFormatException | ArithmeticException e) {
      throw bad(uri, name + "=" + v + " is not a size (bytes, or a number with K, M or G)");
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

  private static StoreConfigurationException bad(URI uri, String why) {
    String s = uri.toString().replaceAll("secretKey=[^&]*", "secretKey=***");
    return new StoreConfigurationException("store URI '" + s + "': " + why);
  }
}
