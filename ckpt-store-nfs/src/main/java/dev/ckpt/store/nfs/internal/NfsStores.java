package dev.ckpt.store.nfs.internal;

import dev.ckpt.CheckpointPolicy;
import dev.ckpt.StoreConfigurationException;
import dev.ckpt.spi.BlobStore;
import dev.ckpt.store.nfs.internal.rpc.Nfs3Client;
import dev.ckpt.store.nfs.internal.rpc.NfsStatusException;
import dev.ckpt.store.nfs.internal.rpc.RpcException;
import java.io.IOException;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/** Parses {@code nfs:} URIs and opens the store they name, mounted or direct. */
public final class NfsStores {
  private static final Set<String> COMMON = Set.of("create", "lease", "lockWait", "attempts");
  private static final Set<String> DIRECT = Set.of("uid", "gid", "timeout", "retryFor", "connections");

  private NfsStores() {}

  public static BlobStore open(URI uri, Clock clock) throws StoreConfigurationException {
    Map<String, String> q = query(uri);
    boolean direct = uri.getHost() != null && !uri.getHost().isEmpty();
    Set<String> known = new TreeSet<>(COMMON);
    if (direct) {
      known.addAll(DIRECT);
    }
    for (String k : q.keySet()) {
      if (!known.contains(k)) {
        throw bad(uri, "unknown option '" + k + "'" + (DIRECT.contains(k) ? " (it applies to nfs://host/… only)" : "")
            + "; known: " + String.join(", ", known));
      }
    }
    String path = uri.getPath();
    if (path == null || !path.startsWith("/") || path.equals("/")) {
      throw bad(uri, direct ? "no export path; use nfs://host/export/path" : "no absolute path; use nfs:///mnt/share/dir");
    }
    boolean create = bool(uri, q, "create");
    NfsBlobStore.Options options = new NfsBlobStore.Options(
        intIn(uri, q, "attempts", 6, 1, 50),
        duration(uri, q, "lease", Duration.ofSeconds(60)),
        duration(uri, q, "lockWait", Duration.ofMinutes(5)),
        10, Duration.ofMillis(100), clock);
    if (options.lease().toMillis() < 1000) {
      throw bad(uri, "lease " + q.get("lease") + " is shorter than 1 s");
    }
    NfsFiles files = direct ? direct(uri, q, stripSlash(path), create) : mounted(uri, Paths.get(path), create);
    return new NfsBlobStore(uri, files, options);
  }

  /** For tests: a store over given file operations. */
  static NfsBlobStore over(URI uri, NfsFiles files, NfsBlobStore.Options options) {
    return new NfsBlobStore(uri, files, options);
  }

  private static String stripSlash(String p) {
    return p.length() > 1 && p.endsWith("/") ? p.substring(0, p.length() - 1) : p;
  }

  private static NfsFiles mounted(URI uri, Path root, boolean create) throws StoreConfigurationException {
    if (!Files.exists(root)) {
      if (!create) {
        throw new StoreConfigurationException("store " + uri + ": directory " + root
            + " does not exist; mount the NFS share there, or add ?create=true to the URI");
      }
      try {
        Files.createDirectories(root, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
      } catch (IOException e) {
        throw new StoreConfigurationException("store " + uri + ": cannot create directory " + root + ": " + e, e);
      }
    }
    if (!Files.isDirectory(root)) {
      throw new StoreConfigurationException("store " + uri + ": " + root + " is not a directory");
    }
    return new MountedFiles(root);
  }

  private static NfsFiles direct(URI uri, Map<String, String> q, String path, boolean create)
      throws StoreConfigurationException {
    int[] ids = processIds();
    int uid = intIn(uri, q, "uid", ids[0], 0, Integer.MAX_VALUE);
    int gid = intIn(uri, q, "gid", ids[1], 0, Integer.MAX_VALUE);
    Duration timeout = duration(uri, q, "timeout", Duration.ofSeconds(30));
    Duration retryFor = duration(uri, q, "retryFor", Duration.ofSeconds(60));
    int connections = intIn(uri, q, "connections", 4, 1, 64);
    Nfs3Client.Mounted m;
    try {
      m = Nfs3Client.mount(uri.getHost(), uri.getPort(), path, uid, gid, timeout, retryFor, connections);
    } catch (IOException | RpcException | NfsStatusException e) {
      throw new StoreConfigurationException("store " + uri + ": cannot mount " + path + " from " + uri.getHost()
          + ": " + e.getMessage(), e);
    }
    try {
      return DirectFiles.open(m, uri.toString(), create);
    } catch (IOException e) {
      m.client().close();
      throw new StoreConfigurationException("store " + uri + ": " + e.getMessage()
          + (e instanceof java.nio.file.NoSuchFileException ? "; add ?create=true to the URI" : ""), e);
    }
  }

  /** This process's uid and gid, sent as AUTH_SYS credentials. */
  private static int[] processIds() {
    int[] ids = {65534, 65534};
    try {
      for (String line : Files.readAllLines(Paths.get("/proc/self/status"))) {
        if (line.startsWith("Uid:")) {
          ids[0] = Integer.parseInt(line.split("\\s+")[1]);
        } else if (line.startsWith("Gid:")) {
          ids[1] = Integer.parseInt(line.split("\\s+")[1]);
        }
      }
    } catch (IOException | RuntimeException e) {
      // not Linux: keep nobody, or give uid= and gid= in the URI
    }
    return ids;
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
      q.put(URLDecoder.decode(kv.substring(0, eq), StandardCharsets.UTF_8),
          URLDecoder.decode(kv.substring(eq + 1), StandardCharsets.UTF_8));
    }
    return q;
  }

  private static boolean bool(URI uri, Map<String, String> q, String name) throws StoreConfigurationException {
    String v = q.get(name);
    if (v == null || v.equals("false")) {
      return false;
    }
    if (v.equals("true")) {
      return true;
    }
    throw bad(uri, name + "=" + v + " is neither true nor false");
  }

  private static int intIn(URI uri, Map<String, String> q, String name, int dflt, int min, int max)
      throws StoreConfigurationException {
    String v = q.get(name);
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
    throw bad(uri, name + "=" + v + " is not a whole number in [" + min + ", " + max + "]");
  }

  private static Duration duration(URI uri, Map<String, String> q, String name, Duration dflt)
      throws StoreConfigurationException {
    String v = q.get(name);
    if (v == null) {
      return dflt;
    }
    try {
      return CheckpointPolicy.parseDuration(v);
    } catch (IllegalArgumentException e) {
      throw bad(uri, name + "=" + v + ": " + e.getMessage());
    }
  }

  private static StoreConfigurationException bad(URI uri, String why) {
    return new StoreConfigurationException("store URI '" + uri + "': " + why);
  }
}
