package dev.ckpt.store.local.internal;

import dev.ckpt.NoSuchKeyException;
import dev.ckpt.StoreException;
import dev.ckpt.spi.BlobInfo;
import dev.ckpt.spi.BlobKeys;
import dev.ckpt.spi.BlobStore;
import dev.ckpt.spi.BlobStreams;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;

/**
 * Blobs as files under a root directory. Every write goes to a dot-named temporary file that is
 * fsynced before it is renamed (put) or hard-linked (putIfAbsent, which fails atomically if the
 * target exists), and the directory is fsynced after, so a crash leaves the old blob or the new
 * one, never a torn one.
 */
public final class LocalBlobStore implements BlobStore {
  private static final FileAttribute<Set<PosixFilePermission>> FILE_MODE =
      PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"));
  private static final FileAttribute<Set<PosixFilePermission>> DIR_MODE =
      PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"));
  private static final int COPY_BUFFER = 1 << 20;

  private final URI uri;
  private final Path root;

  public LocalBlobStore(URI uri, Path root) {
    this.uri = uri;
    this.root = root;
  }

  @Override
  public URI uri() {
    return uri;
  }

  private Path path(String key) {
    return root.resolve(BlobKeys.check(key));
  }

  private StoreException failure(String op, String key, IOException e) {
    String reason = e instanceof NoSuchFileException ? "no such file " + e.getMessage()
        : e instanceof java.nio.file.AccessDeniedException ? "permission denied on " + e.getMessage()
        : e.getMessage() != null ? e.getMessage() : e.toString();
    return new StoreException(key, "store " + uri + ": " + op + " " + key + " failed: " + reason, e);
  }

  @Override
  public void put(String key, InputStream data, long size) throws StoreException {
    Path target = path(key);
    Path tmp = null;
    try {
      tmp = writeTemp(target, data, size, key);
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      tmp = null;
      syncDirectory(target.getParent());
    } catch (IOException e) {
      throw failure("put", key, e);
    } finally {
      deleteQuietly(tmp);
    }
  }

  @Override
  public void put(String key, ByteBuffer data) throws StoreException {
    Path target = path(key);
    Path tmp = null;
    try {
      tmp = tempFile(target);
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
        ByteBuffer b = data.duplicate();
        while (b.hasRemaining()) {
          ch.write(b);
        }
        ch.force(true);
      }
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      tmp = null;
      syncDirectory(target.getParent());
    } catch (IOException e) {
      throw failure("put", key, e);
    } finally {
      deleteQuietly(tmp);
    }
  }

  @Override
  public boolean putIfAbsent(String key, byte[] data) throws StoreException {
    Path target = path(key);
    if (Files.exists(target)) {
      return false;
    }
    Path tmp = null;
    try {
      tmp = writeTemp(target, new java.io.ByteArrayInputStream(data), data.length, key);
      try {
        // link(2) fails with EEXIST if the name exists: the create-once primitive.
        Files.createLink(target, tmp);
      } catch (FileAlreadyExistsException e) {
        return false;
      }
      syncDirectory(target.getParent());
      return true;
    } catch (IOException e) {
      throw failure("putIfAbsent", key, e);
    } finally {
      deleteQuietly(tmp);
    }
  }

  private Path writeTemp(Path target, InputStream data, long size, String key) throws IOException, StoreException {
    if (size < 0) {
      throw new IllegalArgumentException("negative size " + size + " for " + key);
    }
    Path tmp = tempFile(target);
    boolean ok = false;
    try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
      byte[] buf = new byte[(int) Math.min(COPY_BUFFER, Math.max(size, 1))];
      long left = size;
      while (left > 0) {
        int n = data.read(buf, 0, (int) Math.min(buf.length, left));
        if (n < 0) {
          throw new StoreException(key, "store " + uri + ": put " + key + " failed: the data ended after "
              + (size - left) + " of " + size + " bytes");
        }
        ByteBuffer bb = ByteBuffer.wrap(buf, 0, n);
        while (bb.hasRemaining()) {
          ch.write(bb);
        }
        left -= n;
      }
      ch.force(true);
      ok = true;
      return tmp;
    } finally {
      if (!ok) {
        deleteQuietly(tmp);
      }
    }
  }

  /** Creates an empty, private, dot-named file next to {@code target}. */
  private Path tempFile(Path target) throws IOException {
    Path dir = target.getParent();
    createDirectories(dir);
    Path tmp = dir.resolve(".tmp-" + UUID.randomUUID());
    Files.createFile(tmp, FILE_MODE);
    return tmp;
  }

  private void createDirectories(Path dir) throws IOException {
    if (Files.isDirectory(dir)) {
      return;
    }
    Path parent = dir.getParent();
    if (parent != null && !parent.equals(root)) {
      createDirectories(parent);
    }
    try {
      Files.createDirectory(dir, DIR_MODE);
      syncDirectory(dir.getParent());
    } catch (FileAlreadyExistsException raced) {
      // Another writer made it.
    }
  }

  private static void syncDirectory(Path dir) throws IOException {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    }
  }

  private static void deleteQuietly(Path p) {
    if (p != null) {
      try {
        Files.deleteIfExists(p);
      } catch (IOException ignored) {
        // A leftover dot-file is invisible to list() and harmless.
      }
    }
  }

  @Override
  public InputStream get(String key) throws StoreException {
    try {
      return Files.newInputStream(path(key));
    } catch (NoSuchFileException e) {
      throw new NoSuchKeyException(uri.toString(), key);
    } catch (IOException e) {
      throw failure("get", key, e);
    }
  }

  @Override
  public InputStream get(String key, long offset, long length) throws StoreException {
    if (offset < 0 || length < 0) {
      throw new IllegalArgumentException("negative range " + offset + "+" + length + " for " + key);
    }
    FileChannel ch = null;
    try {
      ch = FileChannel.open(path(key), StandardOpenOption.READ);
      long size = ch.size();
      if (offset > size) {
        throw new StoreException(key, "store " + uri + ": range at " + offset + " starts past the end of " + key
            + " (" + size + " bytes)");
      }
      ch.position(offset);
      InputStream in = BlobStreams.limit(Channels.newInputStream(ch), Math.min(length, size - offset));
      ch = null;
      return in;
    } catch (NoSuchFileException e) {
      throw new NoSuchKeyException(uri.toString(), key);
    } catch (IOException e) {
      throw failure("get", key, e);
    } finally {
      if (ch != null) {
        try {
          ch.close();
        } catch (IOException ignored) {
          // Nothing was read from it.
        }
      }
    }
  }

  @Override
  public int read(String key, long offset, ByteBuffer dst) throws StoreException {
    try (FileChannel ch = FileChannel.open(path(key), StandardOpenOption.READ)) {
      long size = ch.size();
      if (offset > size) {
        throw new StoreException(key, "store " + uri + ": range at " + offset + " starts past the end of " + key
            + " (" + size + " bytes)");
      }
      int total = 0;
      while (dst.hasRemaining()) {
        int n = ch.read(dst, offset + total);
        if (n < 0) {
          break;
        }
        total += n;
      }
      return total;
    } catch (NoSuchFileException e) {
      throw new NoSuchKeyException(uri.toString(), key);
    } catch (IOException e) {
      throw failure("read", key, e);
    }
  }

  @Override
  public List<BlobInfo> list(String prefix) throws StoreException {
    BlobKeys.checkPrefix(prefix);
    int slash = prefix.lastIndexOf('/');
    Path base = slash < 0 ? root : root.resolve(prefix.substring(0, slash));
    List<BlobInfo> out = new ArrayList<>();
    try {
      walk(base, out, prefix);
    } catch (IOException e) {
      throw failure("list", prefix, e);
    }
    out.sort(Comparator.comparing(BlobInfo::key));
    return out;
  }

  private void walk(Path dir, List<BlobInfo> out, String prefix) throws IOException {
    if (!Files.isDirectory(dir)) {
      return;
    }
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
      for (Path p : entries) {
        String name = p.getFileName().toString();
        if (name.startsWith(".")) {
          continue; // temporary files and anything else that is not a key
        }
        String key = root.relativize(p).toString();
        BasicFileAttributes a;
        try {
          a = Files.readAttributes(p, BasicFileAttributes.class);
        } catch (NoSuchFileException raced) {
          continue;
        }
        if (a.isDirectory()) {
          if (prefix.startsWith(key + "/") || (key + "/").startsWith(prefix) || prefix.isEmpty()) {
            walk(p, out, prefix);
          }
        } else if (a.isRegularFile() && key.startsWith(prefix)) {
          out.add(new BlobInfo(key, a.size(), a.lastModifiedTime().toInstant()));
        }
      }
    } catch (NoSuchFileException raced) {
      // Directory removed while listing: it holds nothing now.
    }
  }

  @Override
  public boolean delete(String key) throws StoreException {
    try {
      return Files.deleteIfExists(path(key));
    } catch (IOException e) {
      throw failure("delete", key, e);
    }
  }

  @Override
  public Optional<BlobInfo> stat(String key) throws StoreException {
    try {
      BasicFileAttributes a = Files.readAttributes(path(key), BasicFileAttributes.class);
      if (!a.isRegularFile()) {
        return Optional.empty();
      }
      return Optional.of(new BlobInfo(key, a.size(), a.lastModifiedTime().toInstant()));
    } catch (NoSuchFileException e) {
      return Optional.empty();
    } catch (IOException e) {
      throw failure("stat", key, e);
    }
  }

  @Override
  public void close() {
    // Holds no open files between calls.
  }
}
