package dev.ckpt.store.nfs.internal;

import dev.ckpt.StoreConfigurationException;
import dev.ckpt.spi.BlobStore;
import dev.ckpt.spi.StoreOptions;
import dev.ckpt.store.nfs.internal.rpc.Nfs3Client;
import dev.ckpt.store.nfs.internal.rpc.NfsStatusException;
import dev.ckpt.store.nfs.internal.rpc.RpcException;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.time.Clock;
import java.time.Duration;
import java.util.Set;
import java.util.TreeSet;

/** Parses {@code nfs:} URIs and opens the store they name, mounted or direct. */
public final class NfsStores {
  private static final Set<String> COMMON = Set.of("create", "lease", "lockWait", "attempts");
  private static final Set<String> DIRECT = Set.of("uid", "gid", "timeout", "retryFor", "connections");

  private NfsStores() {}

  public static BlobStore open(URI uri, Clock clock) throws StoreConfigurationException {
    boolean direct = uri.getHost() != null && !uri.getHost().isEmpty();
    StoreOptions q = StoreOptions.parse(uri, union(COMMON, DIRECT));
    if (!direct) {
      for (String k : new TreeSet<>(DIRECT)) {
        if (q.has(k)) {
          throw q.error("option '" + k + "' applies to nfs://host/… only");
        }
      }
    }
    String path = uri.getPath();
    if (path == null || !path.startsWith("/") || path.equals("/")) {
      throw q.error(direct ? "no export path; use nfs://host/export/path" : "no absolute path; use nfs:///mnt/share/dir");
    }
    NfsBlobStore.Options options = new NfsBlobStore.Options(
        q.integer("attempts", 6, 1, 50),
        q.duration("lease", Duration.ofSeconds(60)),
        q.duration("lockWait", Duration.ofMinutes(5)),
        10, Duration.ofMillis(100), clock);
    if (options.lease().toMillis() < 1000) {
      throw q.error("lease " + q.string("lease").orElseThrow() + " is shorter than 1 s");
    }
    NfsFiles files = direct ? direct(uri, q, stripSlash(path))
        : new MountedFiles(q.directory(Paths.get(path), "mount the NFS share there"));
    return new NfsBlobStore(uri, files, options);
  }

  private static Set<String> union(Set<String> a, Set<String> b) {
    Set<String> u = new TreeSet<>(a);
    u.addAll(b);
    return u;
  }

  /** For tests: a store over given file operations. */
  static NfsBlobStore over(URI uri, NfsFiles files, NfsBlobStore.Options options) {
    return new NfsBlobStore(uri, files, options);
  }

  private static String stripSlash(String p) {
    return p.length() > 1 && p.endsWith("/") ? p.substring(0, p.length() - 1) : p;
  }

  private static NfsFiles direct(URI uri, StoreOptions q, String path) throws StoreConfigurationException {
    int[] ids = processIds();
    int uid = q.integer("uid", ids[0], 0, Integer.MAX_VALUE);
    int gid = q.integer("gid", ids[1], 0, Integer.MAX_VALUE);
    Duration timeout = q.duration("timeout", Duration.ofSeconds(30));
    Duration retryFor = q.duration("retryFor", Duration.ofSeconds(60));
    int connections = q.integer("connections", 4, 1, 64);
    boolean create = q.bool("create");
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





}
