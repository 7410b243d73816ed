package dev.ckpt.store.nfs.internal;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Optional;

/**
 * The file operations the NFS store's publishing protocol is written against, with one
 * implementation on a mounted path ({@link MountedFiles}) and one speaking NFSv3 itself
 * ({@link DirectFiles}). Paths are relative to the store's root, slash-separated.
 *
 * <p>Errors that NFS produces and that go away on a retry (a stale file handle, an I/O error, a
 * server that is restarting) are thrown as {@link TransientException}; the store retries those
 * with bounded backoff. Everything else is an ordinary {@link IOException}.
 */
interface NfsFiles extends AutoCloseable {

  /** What the store needs to know of a file. {@code id} is the inode number (fileid). */
  record Stat(String name, long size, long mtimeMillis, long id, long links, boolean directory) {}

  /** Where this lives, for messages. */
  String describe();

  /**
   * Creates {@code path} exclusively (it must not exist), writes {@code size} bytes from
   * {@code data} and makes them durable (fsync, or NFS COMMIT) before returning. Parent
   * directories are created as needed.
   */
  void writeNew(String path, InputStream data, long size) throws IOException;

  /** As {@link #writeNew(String, InputStream, long)}, from a buffer that may be replayed. */
  void writeNew(String path, ByteBuffer data) throws IOException;

  /** Renames {@code from} to {@code to}, replacing {@code to} atomically if it exists. */
  void rename(String from, String to) throws IOException;

  /**
   * Makes {@code newPath} a hard link to {@code existing}; false if {@code newPath} exists. On NFS
   * a false may also be the echo of our own retransmitted LINK: the caller checks the link count.
   */
  boolean link(String existing, String newPath) throws IOException;

  /** Removes a file; false if there was none. */
  boolean delete(String path) throws IOException;

  Optional<Stat> stat(String path) throws IOException;

  /** The entries of a directory (empty if it does not exist), unfiltered. */
  List<Stat> list(String dir) throws IOException;

  /** Reads up to {@code dst.remaining()} bytes at {@code offset}; returns how many. */
  int read(String path, long offset, ByteBuffer dst) throws IOException;

  /** A stream over {@code length} bytes at {@code offset}, or fewer at the end of the file. */
  InputStream open(String path, long offset, long length) throws IOException;

  /** Removes a directory if it is empty; false if it is not empty or not there. */
  boolean deleteEmptyDirectory(String dir) throws IOException;

  /** Makes a directory's entries durable where the file system can; may throw where NFS refuses. */
  void syncDirectory(String dir) throws IOException;

  @Override
  void close();

  /** An NFS error that a retry may cure: ESTALE, EIO, a server that is not answering yet. */
  final class TransientException extends IOException {
    private static final long serialVersionUID = 1L;

    TransientException(String message, Throwable cause) {
      super(message, cause);
    }

    TransientException(String message) {
      super(message);
    }
  }

  static String parent(String path) {
    int slash = path.lastIndexOf('/');
    return slash < 0 ? "" : path.substring(0, slash);
  }

  static String name(String path) {
    return path.substring(path.lastIndexOf('/') + 1);
  }
}
