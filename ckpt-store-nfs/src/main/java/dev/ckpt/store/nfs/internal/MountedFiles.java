package dev.ckpt.store.nfs.internal;

import dev.ckpt.spi.BlobStreams;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

/** {@link NfsFiles} on a path where NFS is mounted (or, in tests, any directory). */
final class MountedFiles implements NfsFiles {
  private static final FileAttribute<Set<PosixFilePermission>> FILE_MODE =
      PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"));
  private static final FileAttribute<Set<PosixFilePermission>> DIR_MODE =
      PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"));

  private final Path root;

  MountedFiles(Path root) {
    this.root = root;
  }

  @Override
  public String describe() {
    return root.toString();
  }

  private Path p(String path) {
    return path.isEmpty() ? root : root.resolve(path);
  }

  @Override
  public void writeNew(String path, InputStream data, long size) throws IOException {
    Path f = p(path);
    mkdirs(f.getParent());
    try (FileChannel ch = FileChannel.open(f, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE), FILE_MODE)) {
      OutputStream out = Channels.newOutputStream(ch);
      byte[] buf = new byte[(int) Math.min(Math.max(size, 1), 1 << 20)];
      long left = size;
      while (left > 0) {
        int n = data.read(buf, 0, (int) Math.min(buf.length, left));
        if (n < 0) {
          throw new IOException("the data ended after " + (size - left) + " of " + size + " bytes");
        }
        out.write(buf, 0, n);
        left -= n;
      }
      ch.force(true);
    } catch (FileSystemException e) {
      throw classify(e);
    }
  }

  @Override
  public void writeNew(String path, ByteBuffer data) throws IOException {
    Path f = p(path);
    mkdirs(f.getParent());
    try (FileChannel ch = FileChannel.open(f, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE), FILE_MODE)) {
      ByteBuffer b = data.duplicate();
      while (b.hasRemaining()) {
        ch.write(b);
      }
      ch.force(true);
    } catch (FileSystemException e) {
      throw classify(e);
    }
  }

  private void mkdirs(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      try {
        Files.createDirectories(dir, DIR_MODE);
      } catch (FileAlreadyExistsException raced) {
        // made meanwhile by another writer
      } catch (FileSystemException e) {
        throw classify(e);
      }
    }
  }

  @Override
  public void rename(String from, String to) throws IOException {
    try {
      Files.move(p(from), p(to), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (FileSystemException e) {
      throw classify(e);
    }
  }

  @Override
  public boolean link(String existing, String newPath) throws IOException {
    try {
      Files.createLink(p(newPath), p(existing));
      return true;
    } catch (FileAlreadyExistsException e) {
      return false;
    } catch (FileSystemException e) {
      throw classify(e);
    }
  }

  @Override
  public boolean delete(String path) throws IOException {
    try {
      return Files.deleteIfExists(p(path));
    } catch (FileSystemException e) {
      throw classify(e);
    }
  }

  @Override
  public Optional<Stat> stat(String path) throws IOException {
    try {
      Map<String, Object> a = Files.readAttributes(p(path), "unix:size,lastModifiedTime,ino,nlink,isDirectory",
          LinkOption.NOFOLLOW_LINKS);
      return Optional.of(new Stat(NfsFiles.name(path), (Long) a.get("size"),
          ((java.nio.file.attribute.FileTime) a.get("lastModifiedTime")).toMillis(), (Long) a.get("ino"),
          ((Number) a.get("nlink")).longValue(), (Boolean) a.get("isDirectory")));
    } catch (NoSuchFileException e) {
      return Optional.empty();
    } catch (FileSystemException e) {
      throw classify(e);
    }
  }

  @Override
  public List<Stat> list(String dir) throws IOException {
    List<Stat> out = new ArrayList<>();
    try (Stream<Path> s = Files.list(p(dir))) {
      for (Path child : (Iterable<Path>) s::iterator) {
        String rel = dir.isEmpty() ? child.getFileName().toString() : dir + "/" + child.getFileName();
        stat(rel).ifPresent(out::add); // gone between listing and stat: skip it
      }
    } catch (NoSuchFileException e) {
      return List.of();
    } catch (FileSystemException e) {
      throw classify(e);
    }
    return out;
  }

  @Override
  public int read(String path, long offset, ByteBuffer dst) throws IOException {
    try (FileChannel ch = FileChannel.open(p(path), StandardOpenOption.READ)) {
      int total = 0;
      while (dst.hasRemaining()) {
        int n = ch.read(dst, offset + total);
        if (n < 0) {
          break;
        }
        total += n;
      }
      return total;
    } catch (FileSystemException e) {
      throw classify(e);
    }
  }

  @Override
  public InputStream open(String path, long offset, long length) throws IOException {
    try {
      FileChannel ch = FileChannel.open(p(path), StandardOpenOption.READ);
      ch.position(offset);
      return BlobStreams.limit(Channels.newInputStream(ch), length);
    } catch (FileSystemException e) {
      throw classify(e);
    }
  }

  @Override
  public boolean deleteEmptyDirectory(String dir) throws IOException {
    try {
      return Files.deleteIfExists(p(dir));
    } catch (java.nio.file.DirectoryNotEmptyException e) {
      return false;
    } catch (FileSystemException e) {
      throw classify(e);
    }
  }

  @Override
  public void syncDirectory(String dir) throws IOException {
    try (FileChannel ch = FileChannel.open(p(dir), StandardOpenOption.READ)) {
      ch.force(true);
    }
  }

  /** ESTALE and EIO may pass: the store retries them. */
  static IOException classify(FileSystemException e) {
    String reason = String.valueOf(e.getReason());
    if (e instanceof NoSuchFileException || e instanceof FileAlreadyExistsException) {
      return e;
    }
    if (reason.contains("Stale file handle") || reason.contains("Input/output error")) {
      return new TransientException(e.getFile() + ": " + reason, e);
    }
    return e;
  }

  @Override
  public void close() {
    // nothing held open
  }
}
