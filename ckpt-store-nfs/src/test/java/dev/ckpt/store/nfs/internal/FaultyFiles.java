package dev.ckpt.store.nfs.internal;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@link MountedFiles} on a local directory, misbehaving as an NFS mount does:
 * <ul>
 *   <li>every {@code staleEvery}-th operation fails once with ESTALE (and every
 *       {@code eioEvery}-th with EIO), as after another client renamed or removed a file;</li>
 *   <li>a directory fsync is refused;</li>
 *   <li>removing a file leaves a silly-renamed {@code .nfsXXXX} file behind, as when another
 *       client still has it open;</li>
 *   <li>names published in a directory stay out of its listings for the next
 *       {@code hiddenListings} listings, as with attribute caching.</li>
 * </ul>
 */
final class FaultyFiles implements NfsFiles {
  private final MountedFiles real;
  private final Path root;
  private final int staleEvery;
  private final int eioEvery;
  private final int hiddenListings;
  private final AtomicInteger ops = new AtomicInteger();
  private final AtomicInteger sillies = new AtomicInteger();
  private final ConcurrentHashMap<String, AtomicInteger> hidden = new ConcurrentHashMap<>();
  final AtomicInteger injectedStale = new AtomicInteger();
  final AtomicInteger injectedEio = new AtomicInteger();
  final AtomicInteger refusedDirectorySyncs = new AtomicInteger();
  private volatile boolean brokenDisk;

  FaultyFiles(Path root, int staleEvery, int eioEvery, int hiddenListings) {
    this.real = new MountedFiles(root);
    this.root = root;
    this.staleEvery = staleEvery;
    this.eioEvery = eioEvery;
    this.hiddenListings = hiddenListings;
  }

  /** From now on every operation fails with EIO, as a disk that went bad on the server. */
  void breakDisk() {
    brokenDisk = true;
  }

  private void maybeFail(String what) throws IOException {
    if (brokenDisk) {
      throw new TransientException(what + ": Input/output error");
    }
    int n = ops.incrementAndGet();
    if (staleEvery > 0 && n % staleEvery == 0) {
      injectedStale.incrementAndGet();
      throw new TransientException(what + ": Stale file handle");
    }
    if (eioEvery > 0 && n % eioEvery == 0) {
      injectedEio.incrementAndGet();
      throw new TransientException(what + ": Input/output error");
    }
  }

  private void published(String path) {
    if (hiddenListings > 0) {
      hidden.put(path, new AtomicInteger(hiddenListings));
    }
  }

  @Override
  public String describe() {
    return "faulty " + real.describe();
  }

  @Override
  public void writeNew(String path, InputStream data, long size) throws IOException {
    maybeFail("write " + path);
    real.writeNew(path, data, size);
  }

  @Override
  public void writeNew(String path, ByteBuffer data) throws IOException {
    maybeFail("write " + path);
    real.writeNew(path, data);
  }

  @Override
  public void rename(String from, String to) throws IOException {
    maybeFail("rename " + from);
    real.rename(from, to);
    published(to);
  }

  @Override
  public boolean link(String existing, String newPath) throws IOException {
    maybeFail("link " + newPath);
    boolean ok = real.link(existing, newPath);
    if (ok) {
      published(newPath);
    }
    return ok;
  }

  @Override
  public boolean delete(String path) throws IOException {
    maybeFail("remove " + path);
    Optional<Stat> s = real.stat(path);
    if (s.isPresent() && !s.get().directory() && !NfsFiles.name(path).startsWith(".")) {
      // Another client had it open: NFS renames it to .nfsXXXX instead of removing it.
      Path p = root.resolve(path);
      Files.copy(p, p.resolveSibling(String.format(".nfs%016x", sillies.incrementAndGet())));
    }
    return real.delete(path);
  }

  @Override
  public Optional<Stat> stat(String path) throws IOException {
    maybeFail("stat " + path);
    return real.stat(path);
  }

  @Override
  public List<Stat> list(String dir) throws IOException {
    maybeFail("list " + dir);
    List<Stat> out = new ArrayList<>();
    for (Stat s : real.list(dir)) {
      String rel = dir.isEmpty() ? s.name() : dir + "/" + s.name();
      AtomicInteger left = hidden.get(rel);
      if (left != null && left.getAndDecrement() > 0) {
        continue;
      }
      out.add(s);
    }
    return out;
  }

  @Override
  public int read(String path, long offset, ByteBuffer dst) throws IOException {
    maybeFail("read " + path);
    return real.read(path, offset, dst);
  }

  @Override
  public InputStream open(String path, long offset, long length) throws IOException {
    maybeFail("open " + path);
    return real.open(path, offset, length);
  }

  @Override
  public boolean deleteEmptyDirectory(String dir) throws IOException {
    maybeFail("rmdir " + dir);
    return real.deleteEmptyDirectory(dir);
  }

  @Override
  public void syncDirectory(String dir) throws IOException {
    refusedDirectorySyncs.incrementAndGet();
    throw new IOException(dir + ": fsync: Invalid argument");
  }

  @Override
  public void close() {
    real.close();
  }

  static Set<String> sillyNames(Path dir) throws IOException {
    try (var s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(".nfs"))
          .collect(java.util.stream.Collectors.toSet());
    }
  }
}
