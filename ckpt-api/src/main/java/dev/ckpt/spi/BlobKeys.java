package dev.ckpt.spi;

/** The one definition of a valid store key, shared by the engine and every backend. */
public final class BlobKeys {
  /** Longest key accepted; S3 allows 1024 bytes and we leave room for a prefix. */
  public static final int MAX_LENGTH = 512;

  private BlobKeys() {}

  /**
   * Returns {@code key} if it is valid, else throws {@link IllegalArgumentException} saying why.
   * A prefix for {@link BlobStore#list} may end with a slash or be empty; use
   * {@link #checkPrefix(String)} for those.
   *
   * @param key the key to check
   * @return {@code key}
   */
  public static String check(String key) {
    if (key == null || key.isEmpty()) {
      throw new IllegalArgumentException("empty store key");
    }
    if (key.length() > MAX_LENGTH) {
      throw new IllegalArgumentException("store key longer than " + MAX_LENGTH + " characters: " + key.substring(0, 64) + "...");
    }
    checkSegments(key, false);
    return key;
  }

  /**
   * Whether {@code name} is a valid key. Backends use it to leave foreign names out of listings:
   * their own temporary files, or files a file system made (NFS's {@code .nfsXXXX}).
   *
   * @param name a file or object name, possibly null
   * @return whether {@link #check(String)} accepts {@code name}
   */
  public static boolean isValid(String name) {
    try {
      check(name);
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  /**
   * Validates a listing prefix: empty, or a key-like string that may end with a slash.
   *
   * @param prefix the prefix to check
   * @return {@code prefix}
   * @throws IllegalArgumentException if {@code prefix} is null or not a valid prefix
   */
  public static String checkPrefix(String prefix) {
    if (prefix == null) {
      throw new IllegalArgumentException("null store key prefix");
    }
    if (prefix.isEmpty()) {
      return prefix;
    }
    if (prefix.length() > MAX_LENGTH) {
      throw new IllegalArgumentException("store key prefix longer than " + MAX_LENGTH + " characters");
    }
    checkSegments(prefix, true);
    return prefix;
  }

  private static void checkSegments(String key, boolean prefix) {
    int segmentStart = 0;
    for (int i = 0; i <= key.length(); i++) {
      boolean end = i == key.length();
      char c = end ? '/' : key.charAt(i);
      if (c == '/') {
        if (i == segmentStart) {
          if (end && prefix && i > 0) {
            return; // "a/b/" is a fine prefix
          }
          throw new IllegalArgumentException("store key '" + key + "' has an empty segment");
        }
        segmentStart = i + 1;
        continue;
      }
      if (i == segmentStart && c == '.') {
        throw new IllegalArgumentException("store key '" + key + "' has a segment starting with '.' (reserved for store-internal files)");
      }
      boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
          || c == '-' || c == '_' || c == '.';
      if (!ok) {
        throw new IllegalArgumentException("store key '" + key + "' has character '" + c + "' outside [A-Za-z0-9._-/]");
      }
    }
  }
}
