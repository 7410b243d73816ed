package dev.ckpt;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Base64;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The keys a {@link CheckpointStore} seals and opens images with (docs/SECURITY.md). With
 * encryption, every chunk is sealed with AES-256-GCM, chunk ids are keyed (equal contents under
 * two keys have unrelated ids), and each manifest is authenticated with the key whose id it
 * records. New checkpoints use the {@linkplain #currentKeyId() current key}; older keys, added
 * with {@link #withOlderKey}, only open what they sealed. Restore and verify refuse an image that
 * does not authenticate, one sealed with a key that is not here, and an unencrypted one unless
 * {@link #allowingUnencrypted()} says otherwise.
 *
 * <pre>{@code
 * Encryption keys = Encryption.fromKeyFile(Path.of("/etc/ckpt/keys"));
 * try (CheckpointStore store = CheckpointStore.builder().uri(uri).encryption(keys).build()) { ... }
 * }</pre>
 *
 * <p>A key file holds one key per line, {@code ID:BASE64} of 32 bytes, the current key first;
 * blank lines and lines starting with {@code #} are ignored. It must belong to the user (or root)
 * and be closed to group and others. Immutable; holds the key bytes until it is unreachable.
 */
public final class Encryption {
  /** The environment variable naming a key file, read by {@link #fromEnvironment}. */
  public static final String KEY_FILE_ENV = "CKPT_KEY_FILE";
  /** Key size in bytes: AES-256. */
  public static final int KEY_BYTES = 32;
  private static final Pattern KEY_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");

  private final Map<String, byte[]> keys;
  private final String current;
  private final boolean allowUnencrypted;

  private Encryption(Map<String, byte[]> keys, String current, boolean allowUnencrypted) {
    this.keys = keys;
    this.current = current;
    this.allowUnencrypted = allowUnencrypted;
  }

  /**
   * Encryption with one key, which seals new checkpoints.
   *
   * @param id the key's id, recorded in every manifest it seals: 1 to 64 characters of
   *     {@code [A-Za-z0-9_.-]}, starting with a letter or digit
   * @param key 32 random bytes (copied)
   * @return the settings
   * @throws IllegalArgumentException if the id or the key's length is invalid
   */
  public static Encryption withKey(String id, byte[] key) {
    Map<String, byte[]> keys = new LinkedHashMap<>();
    keys.put(checkId(id), checkKey(id, key));
    return new Encryption(keys, id, false);
  }

  /**
   * These settings plus an older key, which opens the checkpoints it sealed but seals nothing new:
   * the rotation step. Checkpoints sealed with it stay readable until they are deleted.
   *
   * @param id the older key's id
   * @param key its 32 bytes (copied)
   * @return new settings
   * @throws IllegalArgumentException if the id is invalid or already used, or the key's length is wrong
   */
  public Encryption withOlderKey(String id, byte[] key) {
    if (keys.containsKey(checkId(id))) {
      throw new IllegalArgumentException("key id '" + id + "' is given twice");
    }
    Map<String, byte[]> more = new LinkedHashMap<>(keys);
    more.put(id, checkKey(id, key));
    return new Encryption(more, current, allowUnencrypted);
  }

  /**
   * These settings plus every key of {@code older} as an older key (opening only), and its
   * acceptance of unencrypted images: how a store's own keys (the S3 store's KMS envelope) and
   * keys given by the user combine, the store's sealing.
   *
   * @param older keys that open older checkpoints
   * @return new settings
   */
  public Encryption withOlderKeys(Encryption older) {
    Map<String, byte[]> more = new LinkedHashMap<>(keys);
    older.keys.forEach((id, k) -> more.putIfAbsent(id, k.clone()));
    return new Encryption(more, current, allowUnencrypted || older.allowUnencrypted);
  }

  /**
   * These settings, but restore and verify also accept images that are not encrypted (written
   * before encryption was turned on). They are still refused by default.
   *
   * @return new settings
   */
  public Encryption allowingUnencrypted() {
    return new Encryption(keys, current, true);
  }

  /**
   * Reads a key file: one {@code ID:BASE64} line per key, the current key first.
   *
   * @param file the key file, readable by its owner only
   * @return the settings
   * @throws StoreConfigurationException if the file cannot be read, is open to group or others,
   *     belongs to another user, holds no key, or a line is malformed (the message names the file
   *     and line)
   */
  public static Encryption fromKeyFile(Path file) throws StoreConfigurationException {
    List<String> lines;
    try {
      // Whoever may write it can put in a key they know; whoever may read it can read every image.
      Set<PosixFilePermission> mode = Files.getPosixFilePermissions(file);
      for (PosixFilePermission p : mode) {
        if (p.name().startsWith("GROUP_") || p.name().startsWith("OTHERS_")) {
          throw new StoreConfigurationException("key file " + file + " is open to group or others (mode "
              + java.nio.file.attribute.PosixFilePermissions.toString(mode) + "); chmod 600 it");
        }
      }
      // Numeric uids: user.name can be set on the command line. /proc/self belongs to this process's uid.
      int owner = (Integer) Files.getAttribute(file, "unix:uid");
      int self = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
      if (owner != self && owner != 0) {
        throw new StoreConfigurationException("key file " + file + " belongs to uid " + owner + ", not to this process's uid "
            + self + " (or root); whoever owns it can change the keys");
      }
      lines = Files.readAllLines(file, StandardCharsets.US_ASCII);
    } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
      throw new StoreConfigurationException("key file " + file + " cannot be read: " + e, e);
    }
    Encryption e = null;
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i).strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      int colon = line.indexOf(':');
      try {
        if (colon < 0) {
          throw new IllegalArgumentException("expected ID:BASE64");
        }
        String id = line.substring(0, colon);
        byte[] key = Base64.getDecoder().decode(line.substring(colon + 1).strip());
        e = e == null ? withKey(id, key) : e.withOlderKey(id, key);
      } catch (IllegalArgumentException bad) {
        throw new StoreConfigurationException("key file " + file + ", line " + (i + 1) + ": " + bad.getMessage());
      }
    }
    if (e == null) {
      throw new StoreConfigurationException("key file " + file + " holds no key (one ID:BASE64 line per key, the current first)");
    }
    return e;
  }

  /**
   * The key file named by {@value #KEY_FILE_ENV} in {@code env}, if it names one.
   *
   * @param env the environment, usually {@code System.getenv()}
   * @return the settings, or empty if the variable is unset or empty
   * @throws StoreConfigurationException as {@link #fromKeyFile}
   */
  public static Optional<Encryption> fromEnvironment(Map<String, String> env) throws StoreConfigurationException {
    String file = env.get(KEY_FILE_ENV);
    return file == null || file.isEmpty() ? Optional.empty() : Optional.of(fromKeyFile(Path.of(file)));
  }

  /**
   * The id of the key that seals new checkpoints.
   *
   * @return the current key's id
   */
  public String currentKeyId() {
    return current;
  }

  /**
   * Every key's id, the current one first.
   *
   * @return the ids
   */
  public List<String> keyIds() {
    return List.copyOf(keys.keySet());
  }

  /**
   * Whether unencrypted images are accepted.
   *
   * @return true after {@link #allowingUnencrypted()}
   */
  public boolean allowsUnencrypted() {
    return allowUnencrypted;
  }

  /**
   * The key with {@code id}, or null. For the image engine; the returned array is the caller's copy.
   *
   * @param id a key id
   * @return a copy of the key's bytes, or null if there is no such key
   */
  public byte[] key(String id) {
    byte[] k = keys.get(id);
    return k == null ? null : k.clone();
  }

  private static String checkId(String id) {
    Objects.requireNonNull(id, "key id");
    if (!KEY_ID.matcher(id).matches()) {
      throw new IllegalArgumentException("key id '" + id + "' must be 1 to 64 characters of [A-Za-z0-9_.-], starting with a"
          + " letter or digit");
    }
    return id;
  }

  private static byte[] checkKey(String id, byte[] key) {
    Objects.requireNonNull(key, "key");
    if (key.length != KEY_BYTES) {
      throw new IllegalArgumentException("key '" + id + "' has " + key.length + " bytes; it must have " + KEY_BYTES
          + " (AES-256), e.g. head -c 32 /dev/urandom | base64");
    }
    return key.clone();
  }

  @Override
  public String toString() {
    // Never the key bytes.
    return "Encryption[current=" + current + ", keys=" + Collections.unmodifiableSet(keys.keySet())
        + (allowUnencrypted ? ", unencrypted allowed" : "") + "]";
  }
}
