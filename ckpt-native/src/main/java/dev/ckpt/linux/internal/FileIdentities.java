package dev.ckpt.linux.internal;

import dev.ckpt.linux.internal.ProcessImage.FileIdentity;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Identities of executables and mapped files: size, modification time and SHA-256. Hashes are
 * cached per path, size, time and inode, so periodic checkpoints hash each library once.
 */
final class FileIdentities {
  private final Map<String, FileIdentity> cache = new ConcurrentHashMap<>();

  FileIdentity of(String path) throws IOException {
    Path p = Path.of(path);
    BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
    long mtime = a.lastModifiedTime().to(java.util.concurrent.TimeUnit.NANOSECONDS);
    String key = path + "|" + a.size() + "|" + mtime + "|" + a.fileKey();
    FileIdentity known = cache.get(key);
    if (known != null) {
      return known;
    }
    FileIdentity id = new FileIdentity(path, a.size(), mtime, sha256(p));
    cache.put(key, id);
    return id;
  }

  static String sha256(Path p) throws IOException {
    MessageDigest d;
    try {
      d = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    byte[] buf = new byte[1 << 16];
    try (InputStream in = Files.newInputStream(p)) {
      for (int n; (n = in.read(buf)) > 0; ) {
        d.update(buf, 0, n);
      }
    }
    return HexFormat.of().formatHex(d.digest());
  }

  /** Null if {@code expected} still matches the file, else why not. */
  String mismatch(FileIdentity expected) {
    try {
      FileIdentity now = of(expected.path());
      if (now.size() != expected.size()) {
        return "size " + now.size() + ", was " + expected.size();
      }
      if (!now.sha256().equals(expected.sha256())) {
        return "content changed (SHA-256 " + now.sha256().substring(0, 16) + "…, was " + expected.sha256().substring(0, 16) + "…)";
      }
      return null;
    } catch (IOException e) {
      return "cannot be read: " + e;
    }
  }
}
