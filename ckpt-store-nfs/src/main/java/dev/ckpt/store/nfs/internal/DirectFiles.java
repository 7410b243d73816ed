package dev.ckpt.store.nfs.internal;

import dev.ckpt.store.nfs.internal.rpc.Nfs3Client;
import dev.ckpt.store.nfs.internal.rpc.Nfs3Client.Fh;
import dev.ckpt.store.nfs.internal.rpc.Nfs3Client.Node;
import dev.ckpt.store.nfs.internal.rpc.NfsStatusException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * {@link NfsFiles} spoken over NFSv3 from Java, for containers without a mount. Create-once is a
 * GUARDED CREATE, data goes as UNSTABLE WRITEs and one COMMIT (whose verifier must match the
 * writes', or the server lost them in a restart and they are sent again), publication is an
 * atomic RENAME or LINK. Directory handles are cached and dropped on NFS3ERR_STALE.
 */
final class DirectFiles implements NfsFiles {
  private static final int FILE_MODE = 0600;
  private static final int DIR_MODE = 0700;
  private static final int REWRITES = 3;

  private final Nfs3Client nfs;
  private final Fh base;
  private final String where;
  private final CommitHook beforeCommit;
  private final ConcurrentHashMap<String, Fh> dirs = new ConcurrentHashMap<>();

  /**
   * Called with a file's path after its last WRITE and before its COMMIT. Tests restart the
   * server here: nothing else can put a restart exactly between the two.
   */
  interface CommitHook {
    void beforeCommit(String path) throws IOException;
  }

  private DirectFiles(Nfs3Client nfs, Fh base, String where, CommitHook beforeCommit) {
    this.nfs = nfs;
    this.base = base;
    this.where = where;
    this.beforeCommit = beforeCommit;
  }

  /** Mounts the export and walks (creating, if asked) to the store's directory. */
  static DirectFiles open(Nfs3Client.Mounted m, String where, boolean create) throws IOException {
    return open(m, where, create, path -> { });
  }

  static DirectFiles open(Nfs3Client.Mounted m, String where, boolean create, CommitHook beforeCommit)
      throws IOException {
    Fh fh = m.client().root();
    try {
      for (String seg : m.subPath().isEmpty() ? new String[0] : m.subPath().split("/")) {
        Optional<Node> n = m.client().lookup(fh, seg);
        if (n.isEmpty()) {
          if (!create) {
            throw new java.nio.file.NoSuchFileException(where + ": directory " + seg + " does not exist");
          }
          fh = mkdir(m.client(), fh, seg);
        } else {
          if (n.get().attr() != null && !n.get().attr().isDirectory()) {
            throw new java.nio.file.NotDirectoryException(where + ": " + seg + " is not a directory");
          }
          fh = n.get().fh();
        }
      }
    } catch (NfsStatusException e) {
      throw new IOException(where + ": " + e.getMessage(), e);
    }
    return new DirectFiles(m.client(), fh, where, beforeCommit);
  }

  private static Fh mkdir(Nfs3Client nfs, Fh parent, String name) throws IOException, NfsStatusException {
    try {
      return nfs.mkdir(parent, name, DIR_MODE).fh();
    } catch (NfsStatusException e) {
      if (e.status() == NfsStatusException.EXIST) {
        return nfs.lookup(parent, name).orElseThrow(() -> new IOException(name + " exists and vanished")).fh();
      }
      throw e;
    }
  }

  @Override
  public String describe() {
    return where;
  }

  /** The handle of directory {@code dir}, or null if it does not exist and {@code create} is false. */
  private Fh dir(String dir, boolean create) throws IOException, NfsStatusException {
    if (dir.isEmpty()) {
      return base;
    }
    Fh cached = dirs.get(dir);
    if (cached != null) {
      return cached;
    }
    Fh parent = dir(NfsFiles.parent(dir), create);
    if (parent == null) {
      return null;
    }
    String name = NfsFiles.name(dir);
    Optional<Node> n = nfs.lookup(parent, name);
    Fh fh;
    if (n.isPresent()) {
      fh = n.get().fh();
    } else if (create) {
      fh = mkdir(nfs, parent, name);
    } else {
      return null;
    }
    dirs.put(dir, fh);
    return fh;
  }

  private IOException fail(String op, String path, NfsStatusException e) {
    if (e.status() == NfsStatusException.STALE || e.status() == NfsStatusException.BADHANDLE) {
      // Another client removed or replaced a directory we had cached: look it up again.
      dirs.clear();
      return new TransientException(op + " " + path + " on " + where + ": " + e.getMessage(), e);
    }
    if (e.status() == NfsStatusException.IO || e.status() == NfsStatusException.SERVERFAULT) {
      return new TransientException(op + " " + path + " on " + where + ": " + e.getMessage(), e);
    }
    return new IOException(op + " " + path + " on " + where + ": " + e.getMessage(), e);
  }

  private Fh createGuarded(String path) throws IOException, NfsStatusException {
    Fh d = dir(NfsFiles.parent(path), true);
    String name = NfsFiles.name(path);
    try {
      return nfs.create(d, name, FILE_MODE, true).fh();
    } catch (NfsStatusException e) {
      if (e.status() == NfsStatusException.EXIST && e.retransmitted()) {
        // Our own CREATE landed before the connection broke; temp names are unique.
        return nfs.lookup(d, name).orElseThrow(() -> e).fh();
      }
      throw e;
    }
  }

  @Override
  public void writeNew(String path, InputStream data, long size) throws IOException {
    try {
      Fh fh = createGuarded(path);
      int chunk = nfs.writeSize();
      byte[] buf = new byte[(int) Math.min(Math.max(size, 1), chunk)];
      long off = 0;
      Long verf = null;
      boolean mixed = false;
      while (off < size) {
        int want = (int) Math.min(buf.length, size - off);
        int got = data.readNBytes(buf, 0, want);
        if (got < want) {
          throw new IOException("the data ended after " + (off + got) + " of " + size + " bytes");
        }
        long v = nfs.write(fh, path, off, buf, 0, got, false);
        mixed |= verf != null && v != verf;
        verf = v;
        off += got;
      }
      beforeCommit.beforeCommit(path);
      long c = nfs.commit(fh, path);
      if (mixed || (verf != null && c != verf)) {
        // A stream cannot be replayed: fail, and let the writer start the blob again.
        throw new TransientException("write " + path + " on " + where
            + ": the server restarted during the write and lost unstable data");
      }
    } catch (NfsStatusException e) {
      throw fail("write", path, e);
    }
  }

  @Override
  public void writeNew(String path, ByteBuffer data) throws IOException {
    try {
      Fh fh = createGuarded(path);
      for (int attempt = 1; ; attempt++) {
        if (writeAll(fh, path, data)) {
          return;
        }
        if (attempt == REWRITES) {
          throw new TransientException("write " + path + " on " + where + ": the server lost unstable data "
              + REWRITES + " times (it keeps restarting)");
        }
      }
    } catch (NfsStatusException e) {
      throw fail("write", path, e);
    }
  }

  /** UNSTABLE writes and a COMMIT; false if the verifiers show the server dropped them. */
  private boolean writeAll(Fh fh, String path, ByteBuffer data) throws IOException, NfsStatusException {
    ByteBuffer b = data.duplicate();
    int chunk = nfs.writeSize();
    byte[] buf = b.hasArray() ? null : new byte[Math.min(chunk, Math.max(1, b.remaining()))];
    long off = 0;
    Long verf = null;
    boolean same = true;
    while (b.hasRemaining()) {
      int n = Math.min(chunk, b.remaining());
      long v;
      if (b.hasArray()) {
        v = nfs.write(fh, path, off, b.array(), b.arrayOffset() + b.position(), n, false);
        b.position(b.position() + n);
      } else {
        b.get(buf, 0, n);
        v = nfs.write(fh, path, off, buf, 0, n, false);
      }
      same &= verf == null || v == verf;
      verf = v;
      off += n;
    }
    beforeCommit.beforeCommit(path);
    long c = nfs.commit(fh, path);
    return same && (verf == null || c == verf);
  }

  @Override
  public void rename(String from, String to) throws IOException {
    try {
      Fh fd = dir(NfsFiles.parent(from), false);
      Fh td = dir(NfsFiles.parent(to), true);
      if (fd == null) {
        throw new java.nio.file.NoSuchFileException(from);
      }
      try {
        nfs.rename(fd, NfsFiles.name(from), td, NfsFiles.name(to));
      } catch (NfsStatusException e) {
        if (e.status() == NfsStatusException.NOENT && e.retransmitted() && stat(to).isPresent()) {
          return; // our first RENAME went through; its answer was lost
        }
        throw e;
      }
    } catch (NfsStatusException e) {
      throw fail("rename " + from + " to", to, e);
    }
  }

  @Override
  public boolean link(String existing, String newPath) throws IOException {
    try {
      Fh src = lookupFile(existing).orElseThrow(() -> new java.nio.file.NoSuchFileException(existing));
      Fh d = dir(NfsFiles.parent(newPath), true);
      try {
        nfs.link(src, d, NfsFiles.name(newPath));
        return true;
      } catch (NfsStatusException e) {
        if (e.status() == NfsStatusException.EXIST) {
          return false;
        }
        throw e;
      }
    } catch (NfsStatusException e) {
      throw fail("link " + existing + " as", newPath, e);
    }
  }

  private Optional<Fh> lookupFile(String path) throws IOException, NfsStatusException {
    Fh d = dir(NfsFiles.parent(path), false);
    if (d == null) {
      return Optional.empty();
    }
    return nfs.lookup(d, NfsFiles.name(path)).map(Node::fh);
  }

  @Override
  public boolean delete(String path) throws IOException {
    try {
      Fh d = dir(NfsFiles.parent(path), false);
      if (d == null) {
        return false;
      }
      nfs.remove(d, NfsFiles.name(path));
      return true;
    } catch (NfsStatusException e) {
      if (e.status() == NfsStatusException.NOENT) {
        return false;
      }
      throw fail("remove", path, e);
    }
  }

  @Override
  public Optional<Stat> stat(String path) throws IOException {
    try {
      Fh d = path.isEmpty() ? null : dir(NfsFiles.parent(path), false);
      if (d == null) {
        return Optional.empty();
      }
      Optional<Node> n = nfs.lookup(d, NfsFiles.name(path));
      if (n.isEmpty()) {
        return Optional.empty();
      }
      Nfs3Client.Attr a = n.get().attr() != null ? n.get().attr() : nfs.getattr(n.get().fh(), path);
      return Optional.of(stat(NfsFiles.name(path), a));
    } catch (NfsStatusException e) {
      throw fail("stat", path, e);
    }
  }

  private static Stat stat(String name, Nfs3Client.Attr a) {
    return new Stat(name, a.size(), a.mtimeMillis(), a.fileid(), a.nlink(), a.isDirectory());
  }

  @Override
  public List<Stat> list(String dir) throws IOException {
    try {
      Fh d = dir(dir, false);
      if (d == null) {
        return List.of();
      }
      List<Stat> out = new ArrayList<>();
      for (Nfs3Client.Entry e : nfs.readdir(d, dir)) {
        Nfs3Client.Attr a = e.attr();
        if (a == null) {
          Optional<Stat> s = stat(dir.isEmpty() ? e.name() : dir + "/" + e.name());
          s.ifPresent(out::add);
        } else {
          out.add(stat(e.name(), a));
        }
      }
      return out;
    } catch (NfsStatusException e) {
      if (e.status() == NfsStatusException.NOENT) {
        return List.of();
      }
      throw fail("list", dir, e);
    }
  }

  @Override
  public int read(String path, long offset, ByteBuffer dst) throws IOException {
    try {
      Fh fh = lookupFile(path).orElseThrow(() -> new java.nio.file.NoSuchFileException(path));
      int total = 0;
      int chunk = nfs.readSize();
      byte[] buf = dst.hasArray() ? null : new byte[Math.min(chunk, Math.max(1, dst.remaining()))];
      while (dst.hasRemaining()) {
        int want = Math.min(chunk, dst.remaining());
        int n;
        if (dst.hasArray()) {
          n = nfs.read(fh, path, offset + total, dst.array(), dst.arrayOffset() + dst.position(), want);
          dst.position(dst.position() + n);
        } else {
          n = nfs.read(fh, path, offset + total, buf, 0, want);
          dst.put(buf, 0, n);
        }
        if (n == 0) {
          break;
        }
        total += n;
      }
      return total;
    } catch (NfsStatusException e) {
      throw fail("read", path, e);
    }
  }

  @Override
  public InputStream open(String path, long offset, long length) throws IOException {
    Fh fh;
    try {
      fh = lookupFile(path).orElseThrow(() -> new java.nio.file.NoSuchFileException(path));
    } catch (NfsStatusException e) {
      throw fail("open", path, e);
    }
    return new InputStream() {
      private final byte[] buf = new byte[nfs.readSize()];
      private int pos;
      private int lim;
      private long at = offset;
      private long left = length;

      @Override
      public int read() throws IOException {
        byte[] one = new byte[1];
        return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
      }

      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        if (len == 0) {
          return 0;
        }
        if (pos == lim) {
          if (left <= 0) {
            return -1;
          }
          try {
            lim = nfs.read(fh, path, at, buf, 0, (int) Math.min(buf.length, left));
          } catch (NfsStatusException e) {
            throw fail("read", path, e);
          }
          pos = 0;
          if (lim == 0) {
            left = 0;
            return -1;
          }
          at += lim;
          left -= lim;
        }
        int n = Math.min(len, lim - pos);
        System.arraycopy(buf, pos, b, off, n);
        pos += n;
        return n;
      }
    };
  }

  @Override
  public boolean deleteEmptyDirectory(String dir) throws IOException {
    try {
      Fh parent = dir(NfsFiles.parent(dir), false);
      if (parent == null) {
        return false;
      }
      nfs.rmdir(parent, NfsFiles.name(dir));
      dirs.keySet().removeIf(k -> k.equals(dir) || k.startsWith(dir + "/"));
      return true;
    } catch (NfsStatusException e) {
      if (e.status() == NfsStatusException.NOTEMPTY || e.status() == NfsStatusException.EXIST
          || e.status() == NfsStatusException.NOENT) {
        return false;
      }
      throw fail("rmdir", dir, e);
    }
  }

  /** NFSv3 directory operations are synchronous on the server; COMMIT covers file data. */
  @Override
  public void syncDirectory(String dir) {
  }

  @Override
  public void close() {
    nfs.close();
  }
}
