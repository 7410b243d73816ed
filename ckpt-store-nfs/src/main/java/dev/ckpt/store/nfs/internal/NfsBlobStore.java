package dev.ckpt.store.nfs.internal;

import dev.ckpt.NoSuchKeyException;
import dev.ckpt.StoreException;
import dev.ckpt.spi.BlobInfo;
import dev.ckpt.spi.BlobKeys;
import dev.ckpt.spi.BlobStore;
import dev.ckpt.spi.JobLock;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link BlobStore} that is safe on NFS, over either a mounted path or NFSv3 spoken directly.
 *
 * <ul>
 *   <li>Every blob is written under a unique dot-name, made durable, then published: by an
 *       atomic rename ({@link #put}) or a hard link that fails if the name exists
 *       ({@link #putIfAbsent}, the commit). A reader sees a whole blob or none.</li>
 *   <li>ESTALE, EIO and an unanswering server are retried with bounded backoff; a directory
 *       fsync that NFS refuses is tolerated (the rename is already on the server).</li>
 *   <li>Listings leave out dot-names, so NFS's silly-renamed {@code .nfsXXXX} files, our own
 *       temporary files and locks never reach the engine or its garbage collector.</li>
 *   <li>A listing of a job's manifests is not trusted alone: the store also reads the job's
 *       {@code .latest} pointer, written after each commit, and probes the following sequence
 *       numbers, retrying briefly for a manifest the pointer names but the listing misses.</li>
 *   <li>{@link #lockJob} is a lease-based lock file that works on NFSv3 ({@link WriterLock}).</li>
 * </ul>
 */
public final class NfsBlobStore implements BlobStore {
  private static final Logger LOG = LoggerFactory.getLogger(NfsBlobStore.class);
  private static final Pattern MANIFEST = Pattern.compile("([A-Za-z0-9._-]+)/manifests/([0-9]{20})");
  private static final SecureRandom RANDOM = new SecureRandom();
  /** Temporary files older than this were left by a crashed writer and are removed by listings. */
  private static final Duration ABANDONED = Duration.ofHours(1);

  /** Settings that are not the files themselves. */
  public record Options(int attempts, Duration lease, Duration lockWait, int visibilityRetries,
      Duration visibilityPause, Clock clock) {}

  private final URI uri;
  private final NfsFiles files;
  private final Options options;
  private final WriterLock locks;
  private final Map<String, WriterLock.Held> held = new ConcurrentHashMap<>();

  NfsBlobStore(URI uri, NfsFiles files, Options options) {
    this.uri = uri;
    this.files = files;
    this.options = options;
    this.locks = new WriterLock(files, this::run, options.clock(), options.lease(), options.lockWait(), hostName(),
        ProcessHandle.current().pid());
  }

  private static String hostName() {
    try {
      return java.net.InetAddress.getLocalHost().getHostName().replace(' ', '_');
    } catch (IOException e) {
      return "unknown-host";
    }
  }

  static String randomToken() {
    byte[] b = new byte[8];
    RANDOM.nextBytes(b);
    return HexFormat.of().formatHex(b);
  }

  @Override
  public URI uri() {
    return uri;
  }

  // ---- retries

  /** Runs {@code call}, retrying transient NFS errors with backoff; anything else becomes a StoreException. */
  <T> T run(String op, String key, WriterLock.Call<T> call) throws StoreException {
    long pause = 50;
    for (int attempt = 1; ; attempt++) {
      try {
        return call.call();
      } catch (NfsFiles.TransientException e) {
        if (attempt >= options.attempts()) {
          throw new StoreException(key, "store " + uri + ": " + op + " " + key + " failed after " + attempt
              + " attempts: " + e.getMessage(), e);
        }
        LOG.debug("store {}: {} {}: {}; retrying in {} ms", uri, op, key, e.getMessage(), pause);
        sleep(key, pause);
        pause = Math.min(pause * 2, 2000);
      } catch (IOException e) {
        throw new StoreException(key, "store " + uri + ": " + op + " " + key + " failed: " + e.getMessage(), e);
      }
    }
  }

  private static void sleep(String key, long millis) throws StoreException {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StoreException(key, "interrupted while retrying " + key, e);
    }
  }

  private static String temp(String key) {
    return NfsFiles.parent(key) + "/.tmp-" + NfsFiles.name(key) + "-" + randomToken();
  }

  // ---- writes

  @Override
  public void put(String key, InputStream data, long size) throws StoreException {
    BlobKeys.check(key);
    renewLock(key);
    String tmp = temp(key);
    try {
      // A stream cannot be replayed, so its write is tried once; the publication is retried.
      try {
        files.writeNew(tmp, data, size);
      } catch (IOException e) {
        throw new StoreException(key, "store " + uri + ": put " + key + " failed: " + e.getMessage()
            + "; nothing was stored", e);
      }
      publish(key, tmp);
      tmp = null;
    } finally {
      discard(tmp);
    }
  }

  @Override
  public void put(String key, ByteBuffer data) throws StoreException {
    BlobKeys.check(key);
    renewLock(key);
    String tmp = writeTemp(key, data);
    try {
      publish(key, tmp);
      tmp = null;
    } finally {
      discard(tmp);
    }
  }

  @Override
  public void put(String key, byte[] data) throws StoreException {
    put(key, ByteBuffer.wrap(data));
  }

  /**
   * Writes a replayable buffer to a fresh temporary name, starting over on a transient failure.
   * A write that fails for good removes what it wrote: on a full disk, a temporary file left
   * behind (hidden from listings) would keep the space, and every later write would fail too.
   */
  private String writeTemp(String key, ByteBuffer data) throws StoreException {
    String[] tmp = {null};
    boolean written = false;
    try {
      run("write", key, () -> {
        discardQuietly(tmp[0]);
        tmp[0] = temp(key);
        files.writeNew(tmp[0], data);
        return null;
      });
      written = true;
      return tmp[0];
    } finally {
      if (!written) {
        discard(tmp[0]);
      }
    }
  }

  private void publish(String key, String tmp) throws StoreException {
    run("publish", key, () -> {
      files.rename(tmp, key);
      return null;
    });
    syncDirectory(key);
  }

  private void syncDirectory(String key) {
    try {
      files.syncDirectory(NfsFiles.parent(key));
    } catch (IOException e) {
      // NFS may refuse fsync on a directory; the rename is already durable on the server.
      LOG.debug("store {}: directory fsync for {} refused: {}", uri, key, e.getMessage());
    }
  }

  @Override
  public boolean putIfAbsent(String key, byte[] data) throws StoreException {
    BlobKeys.check(key);
    renewLock(key);
    String tmp = writeTemp(key, ByteBuffer.wrap(data));
    boolean won;
    try {
      won = run("create-once publish", key, () -> files.link(tmp, key));
      if (!won) {
        // EXIST can be the echo of our own LINK sent again after a lost reply: the temporary
        // file then has two links.
        won = run("stat", tmp, () -> files.stat(tmp)).map(s -> s.links() >= 2).orElse(false);
      }
    } finally {
      discard(tmp);
    }
    if (won) {
      syncDirectory(key);
      Matcher m = MANIFEST.matcher(key);
      if (m.matches()) {
        updatePointer(m.group(1), Long.parseLong(m.group(2)));
      }
    }
    return won;
  }

  private void discard(String tmp) {
    if (tmp != null) {
      try {
        run("remove temporary", tmp, () -> files.delete(tmp));
      } catch (StoreException e) {
        LOG.warn("store {}: could not remove temporary file {}: {}", uri, tmp, e.getMessage());
      }
    }
  }

  private void discardQuietly(String tmp) {
    if (tmp != null) {
      try {
        files.delete(tmp);
      } catch (IOException ignored) {
        // a later listing removes it once it is old
      }
    }
  }

  // ---- latest pointer

  private static String pointer(String job) {
    return job + "/.latest";
  }

  private void updatePointer(String job, long id) {
    try {
      if (readPointer(job) >= id) {
        return;
      }
      byte[] b = (id + "\n").getBytes(StandardCharsets.US_ASCII);
      String tmp = writeTemp(pointer(job), ByteBuffer.wrap(b));
      try {
        run("publish", pointer(job), () -> {
          files.rename(tmp, pointer(job));
          return null;
        });
      } finally {
        discardQuietly(tmp);
      }
    } catch (StoreException e) {
      // Only a hint for readers; the manifest itself is committed.
      LOG.warn("store {}: could not update the latest pointer of job {}: {}", uri, job, e.getMessage());
    }
  }

  private long readPointer(String job) throws StoreException {
    String p = pointer(job);
    return run("read", p, () -> {
      try (InputStream in = files.open(p, 0, 64)) {
        return Long.parseLong(new String(in.readAllBytes(), StandardCharsets.US_ASCII).trim());
      } catch (NoSuchFileException | NumberFormatException e) {
        return 0L;
      }
    });
  }

  // ---- reads

  @Override
  public InputStream get(String key) throws StoreException {
    BlobKeys.check(key);
    // No stat first: opening finds a missing key, and reading to the end needs no size.
    return openRange(key, 0, Long.MAX_VALUE);
  }

  @Override
  public InputStream get(String key, long offset, long length) throws StoreException {
    BlobKeys.check(key);
    if (offset < 0 || length < 0) {
      throw new IllegalArgumentException("negative range " + offset + "+" + length + " for " + key);
    }
    long size = statOrThrow(key).size();
    if (offset > size) {
      throw new StoreException(key, "store " + uri + ": read of " + key + " at offset " + offset
          + " is beyond its size " + size);
    }
    return openRange(key, offset, Math.min(length, size - offset));
  }

  private InputStream openRange(String key, long offset, long length) throws StoreException {
    if (length == 0) {
      return new ByteArrayInputStream(new byte[0]);
    }
    try {
      return run("open", key, () -> files.open(key, offset, length));
    } catch (StoreException e) {
      if (e.getCause() instanceof NoSuchFileException) {
        throw new NoSuchKeyException(uri.toString(), key);
      }
      throw e;
    }
  }

  private BlobInfo statOrThrow(String key) throws StoreException {
    return stat(key).orElseThrow(() -> new NoSuchKeyException(uri.toString(), key));
  }

  @Override
  public int read(String key, long offset, ByteBuffer dst) throws StoreException {
    BlobKeys.check(key);
    int start = dst.position();
    try {
      return run("read", key, () -> {
        dst.position(start);
        return files.read(key, offset, dst);
      });
    } catch (StoreException e) {
      if (e.getCause() instanceof NoSuchFileException) {
        throw new NoSuchKeyException(uri.toString(), key);
      }
      throw e;
    }
  }

  /** Whole packs: each READ is a round trip. */
  @Override
  public int preferredReadSize() {
    return 16 << 20;
  }

  @Override
  public ByteBuffer allocateReadBuffer(int capacity) {
    return files instanceof DirectFiles ? ByteBuffer.allocate(capacity) : ByteBuffer.allocateDirect(capacity);
  }

  @Override
  public Optional<BlobInfo> stat(String key) throws StoreException {
    BlobKeys.check(key);
    return run("stat", key, () -> files.stat(key))
        .filter(s -> !s.directory())
        .map(s -> new BlobInfo(key, s.size(), Instant.ofEpochMilli(s.mtimeMillis())));
  }

  @Override
  public boolean delete(String key) throws StoreException {
    BlobKeys.check(key);
    return run("delete", key, () -> files.delete(key));
  }

  // ---- listings

  @Override
  public List<BlobInfo> list(String prefix) throws StoreException {
    BlobKeys.checkPrefix(prefix);
    List<BlobInfo> out = new ArrayList<>();
    String start = prefix.contains("/") ? prefix.substring(0, prefix.lastIndexOf('/')) : "";
    walk(start, prefix, out);
    Matcher m = Pattern.compile("([A-Za-z0-9._-]+)/manifests/").matcher(prefix);
    if (m.matches()) {
      probeManifests(m.group(1), out);
    }
    out.sort(Comparator.comparing(BlobInfo::key));
    return out;
  }

  private void walk(String dir, String prefix, List<BlobInfo> out) throws StoreException {
    List<NfsFiles.Stat> entries = run("list", dir.isEmpty() ? "/" : dir, () -> files.list(dir));
    long now = options.clock().millis();
    for (NfsFiles.Stat s : entries) {
      String rel = dir.isEmpty() ? s.name() : dir + "/" + s.name();
      if (s.name().startsWith(".")) {
        // .nfsXXXX (silly renames), our temporaries, locks and pointers: never blobs.
        if (s.name().startsWith(".tmp-") && now - s.mtimeMillis() > ABANDONED.toMillis()) {
          discardQuietly(rel);
        }
        continue;
      }
      if (s.directory()) {
        if (prefix.startsWith(rel + "/") || (rel + "/").startsWith(prefix)) {
          walk(rel, prefix, out);
        }
      } else if (rel.startsWith(prefix) && BlobKeys.isValid(rel)) {
        out.add(new BlobInfo(rel, s.size(), Instant.ofEpochMilli(s.mtimeMillis())));
      }
    }
  }

  /**
   * Adds manifests a stale directory listing missed: the one the pointer names (retried briefly
   * while it is not yet visible), and any that follow the highest known number.
   */
  private void probeManifests(String job, List<BlobInfo> out) throws StoreException {
    long max = 0;
    for (BlobInfo b : out) {
      Matcher m = MANIFEST.matcher(b.key());
      if (m.matches()) {
        max = Math.max(max, Long.parseLong(m.group(2)));
      }
    }
    long pointed = readPointer(job);
    if (pointed > max) {
      for (int i = 0; i <= options.visibilityRetries(); i++) {
        Optional<BlobInfo> s = stat(manifestKey(job, pointed));
        if (s.isPresent()) {
          out.add(s.get());
          max = pointed;
          break;
        }
        if (i < options.visibilityRetries()) {
          sleep(pointer(job), options.visibilityPause().toMillis());
        }
      }
    }
    for (long id = max + 1; ; id++) {
      Optional<BlobInfo> s = stat(manifestKey(job, id));
      if (s.isEmpty()) {
        break;
      }
      out.add(s.get());
    }
  }

  private static String manifestKey(String job, long id) {
    return job + "/manifests/" + String.format("%020d", id);
  }

  // ---- locks

  @Override
  public JobLock lockJob(String job) throws StoreException {
    WriterLock.Held lock = locks.acquire(job);
    held.put(job, lock);
    return () -> {
      held.remove(job, lock);
      lock.close();
    };
  }

  private void renewLock(String key) throws StoreException {
    int slash = key.indexOf('/');
    if (slash > 0) {
      WriterLock.Held lock = held.get(key.substring(0, slash));
      if (lock != null) {
        lock.renewIfDue();
      }
    }
  }

  /** The file operations underneath, for tests. */
  NfsFiles files() {
    return files;
  }

  @Override
  public void close() {
    files.close();
  }

  @Override
  public String toString() {
    return "NfsBlobStore[" + uri + "]";
  }
}
