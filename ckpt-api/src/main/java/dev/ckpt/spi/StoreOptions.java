package dev.ckpt.spi;

import dev.ckpt.CheckpointPolicy;
import dev.ckpt.StoreConfigurationException;
import java.io.IOException;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * The {@code ?name=value&…} options of a store URI, for {@link StoreProvider}s: parsed once,
 * checked against the names the store knows, read with typed getters. Every error is a
 * {@link StoreConfigurationException} that names the URI (with secrets blanked), the option and
 * the reason, so that a typo fails before any data moves.
 */
public final class StoreOptions {
  private final URI uri;
  private final Set<String> secrets;
  private final Map<String, String> values;

  private StoreOptions(URI uri, Set<String> secrets, Map<String, String> values) {
    this.uri = uri;
    this.secrets = secrets;
    this.values = values;
  }

  /**
   * Parses the query of {@code uri}. An option not in {@code known}, one given twice, or one
   * without a value is an error. Values of the options in {@code secrets} never appear in
   * messages.
   *
   * @param uri the store URI
   * @param known the option names the store accepts
   * @param secrets the option names whose values are blanked in messages
   * @return the parsed options
   * @throws StoreConfigurationException if an option is unknown, repeated or has no value
   */
  public static StoreOptions parse(URI uri, Set<String> known, Set<String> secrets) throws StoreConfigurationException {
    StoreOptions o = new StoreOptions(uri, Set.copyOf(secrets), new LinkedHashMap<>());
    String raw = uri.getRawQuery();
    if (raw == null || raw.isEmpty()) {
      return o;
    }
    for (String kv : raw.split("&")) {
      if (kv.isEmpty()) {
        continue;
      }
      int eq = kv.indexOf('=');
      if (eq <= 0) {
        throw o.error("option '" + kv + "' has no value; write name=value");
      }
      String k = URLDecoder.decode(kv.substring(0, eq), StandardCharsets.UTF_8);
      String v = URLDecoder.decode(kv.substring(eq + 1), StandardCharsets.UTF_8);
      if (!known.contains(k)) {
        throw o.error("unknown option '" + k + "'; known: " + String.join(", ", new TreeSet<>(known)));
      }
      if (o.values.put(k, v) != null) {
        throw o.error("option '" + k + "' is given twice");
      }
    }
    return o;
  }

  /**
   * Parses the query of {@code uri}, which has no secret options; see
   * {@link #parse(URI, Set, Set)}.
   *
   * @param uri the store URI
   * @param known the option names the store accepts
   * @return the parsed options
   * @throws StoreConfigurationException if an option is unknown, repeated or has no value
   */
  public static StoreOptions parse(URI uri, Set<String> known) throws StoreConfigurationException {
    return parse(uri, known, Set.of());
  }

  /**
   * Whether the URI gives option {@code name}.
   *
   * @param name the option's name
   * @return {@code true} if the option is present
   */
  public boolean has(String name) {
    return values.containsKey(name);
  }

  /**
   * The value of option {@code name}, decoded, as given.
   *
   * @param name the option's name
   * @return the value, or empty if the option is absent
   */
  public Optional<String> string(String name) {
    return Optional.ofNullable(values.get(name));
  }

  /**
   * A boolean option: {@code true} or {@code false}; absent is false.
   *
   * @param name the option's name
   * @return the option's value
   * @throws StoreConfigurationException if the value is neither {@code true} nor {@code false}
   */
  public boolean bool(String name) throws StoreConfigurationException {
    String v = values.get(name);
    if (v == null || v.equals("false")) {
      return false;
    }
    if (v.equals("true")) {
      return true;
    }
    throw error(name + "=" + v + " is neither true nor false");
  }

  /**
   * A whole number in {@code [min, max]}, or {@code dflt} if absent.
   *
   * @param name the option's name
   * @param dflt the value if the option is absent; not checked against the range
   * @param min the smallest value accepted
   * @param max the largest value accepted
   * @return the option's value, or {@code dflt}
   * @throws StoreConfigurationException if the value is not a whole number in range
   */
  public int integer(String name, int dflt, int min, int max) throws StoreConfigurationException {
    String v = values.get(name);
    if (v == null) {
      return dflt;
    }
    try {
      int n = Integer.parseInt(v);
      if (n >= min && n <= max) {
        return n;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw error(name + "=" + v + " is not a whole number in [" + min + ", " + max + "]");
  }

  /**
   * A size: bytes, or a number with K, M or G (binary multiples; "MiB" and "MB" read the same).
   *
   * @param name the option's name
   * @param dflt the size in bytes if the option is absent
   * @return the size in bytes, or {@code dflt}
   * @throws StoreConfigurationException if the value is not a size, or overflows a {@code long}
   */
  public long size(String name, long dflt) throws StoreConfigurationException {
    String v = values.get(name);
    if (v == null) {
      return dflt;
    }
    String upper = v.trim().toUpperCase(Locale.ROOT).replace("IB", "").replace("B", "");
    long mult = upper.endsWith("K") ? 1L << 10 : upper.endsWith("M") ? 1L << 20 : upper.endsWith("G") ? 1L << 30 : 1;
    String digits = mult == 1 ? upper : upper.substring(0, upper.length() - 1);
    try {
      return Math.multiplyExact(Long.parseLong(digits), mult);
    } catch (NumberFormatException | ArithmeticException e) {
      throw error(name + "=" + v + " is not a size (bytes, or a number with K, M or G)");
    }
  }

  /**
   * A duration such as {@code 30s}, {@code 5m}, {@code 500ms}, or {@code dflt} if absent.
   *
   * @param name the option's name
   * @param dflt the duration if the option is absent
   * @return the option's value, or {@code dflt}
   * @throws StoreConfigurationException if the value is not a duration
   */
  public Duration duration(String name, Duration dflt) throws StoreConfigurationException {
    String v = values.get(name);
    if (v == null) {
      return dflt;
    }
    try {
      return CheckpointPolicy.parseDuration(v);
    } catch (IllegalArgumentException e) {
      throw error(name + "=" + v + ": " + e.getMessage());
    }
  }

  /**
   * The directory a file-based store lives in: it must exist, unless the URI says
   * {@code create=true}, which creates it (and its parents) with mode 0700. {@code whenMissing}
   * tells the user what to do about a missing one, e.g. "mount the NFS share there".
   *
   * @param root the store's directory
   * @param whenMissing advice for the error message if {@code root} does not exist
   * @return {@code root}
   * @throws StoreConfigurationException if {@code root} is missing (and not to be created), cannot
   *     be created, or is not a directory
   */
  public Path directory(Path root, String whenMissing) throws StoreConfigurationException {
    if (!Files.exists(root)) {
      if (!bool("create")) {
        throw error("directory " + root + " does not exist; " + whenMissing + ", or add ?create=true to the URI");
      }
      try {
        Files.createDirectories(root, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
      } catch (IOException e) {
        throw new StoreConfigurationException("store URI '" + redacted() + "': cannot create directory " + root
            + ": " + e, e);
      }
    }
    if (!Files.isDirectory(root)) {
      throw error(root + " is not a directory");
    }
    return root;
  }

  /**
   * The URI with the values of secret options blanked.
   *
   * @return the URI as a string, fit for messages and logs
   */
  public String redacted() {
    String s = uri.toString();
    for (String secret : secrets) {
      s = s.replaceAll("(?<=[?&])" + java.util.regex.Pattern.quote(secret) + "=[^&]*", secret + "=***");
    }
    return s;
  }

  /**
   * An error about this URI: {@code store URI '<uri>': <why>}.
   *
   * @param why the reason, without the URI
   * @return the exception, for the caller to throw
   */
  public StoreConfigurationException error(String why) {
    return new StoreConfigurationException("store URI '" + redacted() + "': " + why);
  }
}
