package dev.ckpt.spi;

import dev.ckpt.CheckpointException;
import dev.ckpt.Encryption;
import dev.ckpt.NoSuchKeyException;
import dev.ckpt.StoreException;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Optional;

/**
 * A flat blob store: the whole contract a storage backend has to meet. All format logic
 * (chunking, hashing, compression, manifests, garbage collection) lives above it, so a backend
 * stays a thin adapter.
 *
 * <p>Keys are validated with {@link BlobKeys#check(String)}: slash-separated segments of
 * {@code [A-Za-z0-9._-]}, none empty and none starting with a dot. Backends may therefore use
 * dot-names for their own temporary files and must leave them out of {@link #list(String)}.
 *
 * <p>Guarantees every implementation gives (and the TCK checks):
 * <ul>
 *   <li>{@link #put} and {@link #putIfAbsent} are atomic: a reader sees the whole blob or no
 *       blob, never a prefix, even if the writer crashes midway;</li>
 *   <li>a blob is durable when the call returns;</li>
 *   <li>{@link #putIfAbsent} succeeds for exactly one of any number of concurrent callers;</li>
 *   <li>a blob is listed by {@link #list} once a put of it has returned.</li>
 * </ul>
 *
 * <p>Non-goals: renames, appends, directories, metadata beyond size and modification time.
 * Implementations are safe for use by several threads at once.
 */
public interface BlobStore extends AutoCloseable {

  /**
   * Where this store lives, as given to its {@link StoreProvider}.
   *
   * @return the store's URI
   */
  URI uri();

  /**
   * Stores {@code size} bytes read from {@code data} under {@code key}, replacing any blob there.
   * Fails, leaving any previous blob intact, if the stream ends before {@code size} bytes.
   *
   * @param key the blob's key
   * @param data the bytes to store; the caller closes it
   * @param size how many bytes to read from {@code data}
   * @throws StoreException if the write fails or {@code data} ends early
   */
  void put(String key, InputStream data, long size) throws StoreException;

  /**
   * Convenience for small blobs: {@link #put(String, InputStream, long)} of a whole array.
   *
   * @param key the blob's key
   * @param data the blob's bytes
   * @throws StoreException if the write fails
   */
  default void put(String key, byte[] data) throws StoreException {
    put(key, new ByteArrayInputStream(data), data.length);
  }

  /**
   * Stores the remaining bytes of {@code data} (without consuming them), with the semantics of
   * {@link #put(String, InputStream, long)}. The engine writes packs through this method; a
   * backend that can write a buffer without copying it to a stream first should override it.
   *
   * @param key the blob's key
   * @param data the bytes from its position to its limit are stored; its position is left as is
   * @throws StoreException if the write fails
   */
  default void put(String key, ByteBuffer data) throws StoreException {
    ByteBuffer b = data.duplicate();
    if (b.hasArray()) {
      put(key, new ByteArrayInputStream(b.array(), b.arrayOffset() + b.position(), b.remaining()), b.remaining());
      return;
    }
    byte[] copy = new byte[b.remaining()];
    b.get(copy);
    put(key, new ByteArrayInputStream(copy), copy.length);
  }

  /**
   * Creates {@code key} with {@code data} only if no blob exists under it. This is the commit
   * primitive: of several concurrent callers exactly one gets {@code true}.
   *
   * @param key the blob's key
   * @param data the blob's bytes
   * @return {@code true} if this call created the blob, {@code false} if one already existed
   * @throws StoreException if the store cannot tell whether the blob was created
   */
  boolean putIfAbsent(String key, byte[] data) throws StoreException;

  /**
   * Opens the whole blob. The caller closes the stream.
   *
   * @param key the blob's key
   * @return the blob's bytes
   * @throws NoSuchKeyException if there is no blob under {@code key}
   * @throws StoreException if the store cannot be read
   */
  InputStream get(String key) throws StoreException;

  /**
   * Opens {@code length} bytes of the blob starting at {@code offset}, or fewer if the blob ends
   * first. An {@code offset} beyond the blob's size is an error.
   *
   * @param key the blob's key
   * @param offset the first byte to read, from the start of the blob
   * @param length the most bytes to read
   * @return the range's bytes; the caller closes the stream
   * @throws NoSuchKeyException if there is no blob under {@code key}
   */
  InputStream get(String key, long offset, long length) throws StoreException;

  /**
   * Reads up to {@code dst.remaining()} bytes of the blob starting at {@code offset} into
   * {@code dst}, advancing its position, and returns how many were read (fewer only at the end
   * of the blob). The engine reads packs through this method into direct buffers; a backend that
   * can fill a buffer without an intermediate stream should override it.
   *
   * @param key the blob's key
   * @param offset the first byte to read, from the start of the blob
   * @param dst the buffer to fill
   * @return the number of bytes read
   * @throws NoSuchKeyException if there is no blob under {@code key}
   */
  default int read(String key, long offset, ByteBuffer dst) throws StoreException {
    int want = dst.remaining();
    try (InputStream in = get(key, offset, want)) {
      byte[] buf = new byte[Math.min(want, 1 << 16)];
      int total = 0;
      while (total < want) {
        int n = in.read(buf, 0, Math.min(buf.length, want - total));
        if (n < 0) {
          break;
        }
        dst.put(buf, 0, n);
        total += n;
      }
      return total;
    } catch (java.io.IOException e) {
      throw new StoreException(key, "store " + uri() + ": read " + key + " at " + offset + " failed: " + e.getMessage(), e);
    }
  }

  /**
   * The largest ranged read the engine should ask for in one call, in bytes. A remote store,
   * where each request costs a round trip and server work, answers more than the default 4 MiB;
   * the engine holds up to its parallelism plus one buffers of this size (clamped to [1 MiB,
   * 64 MiB]) while restoring.
   *
   * @return the read size in bytes; 4 MiB unless overridden
   */
  default int preferredReadSize() {
    return 4 << 20;
  }

  /**
   * A buffer for {@link #read(String, long, ByteBuffer)}, of the kind this store fills most
   * cheaply: direct for a store that reads files with a {@code FileChannel} (the default), heap
   * for one that reads a network stream into arrays, where a direct buffer costs a copy.
   *
   * @param capacity the buffer's size in bytes
   * @return a new buffer, position 0 and limit {@code capacity}
   */
  default ByteBuffer allocateReadBuffer(int capacity) {
    return ByteBuffer.allocateDirect(capacity);
  }

  /**
   * Takes the writer lock of {@code job}, waiting as long as the store is configured to, and
   * fails with a {@link StoreException} naming the holder if it cannot. The default takes no
   * lock: stores on one host, or with an atomic create-once commit and no shared writers to
   * keep apart, need none.
   *
   * @param job the job's name
   * @return the lock, which the caller closes to give it up
   * @throws StoreException if the lock is held by another writer past the wait, or cannot be taken
   */
  default JobLock lockJob(String job) throws StoreException {
    return JobLock.NONE;
  }

  /**
   * Every blob whose key starts with {@code prefix}, sorted by key.
   *
   * @param prefix a prefix valid for {@link BlobKeys#checkPrefix(String)}; empty lists everything
   * @return the blobs, sorted by key
   * @throws StoreException if the store cannot be listed
   */
  List<BlobInfo> list(String prefix) throws StoreException;

  /**
   * Deletes a blob. Deleting a missing key is not an error.
   *
   * @param key the blob's key
   * @return whether a blob was there
   * @throws StoreException if the delete fails
   */
  boolean delete(String key) throws StoreException;

  /**
   * Size and modification time of a blob, or empty if there is none.
   *
   * @param key the blob's key
   * @return what the store knows of the blob, or empty
   * @throws StoreException if the store cannot be asked
   */
  Optional<BlobInfo> stat(String key) throws StoreException;

  /** Releases connections and threads; a closed store must not be used. */
  @Override
  void close();

  /**
   * Keys for encryption at rest that the store itself supplies, used only when the store's user
   * gave none: envelope encryption, where data keys are kept in the store wrapped by a key
   * service (the S3 store's {@code envelopeKey} option, with AWS KMS). Called once, when the image
   * engine opens the store. The default supplies none.
   *
   * @return the keys, or empty
   * @throws CheckpointException if the store is configured for keys it cannot obtain (the key
   *     service refuses, or is unreachable); the message names the key
   */
  default Optional<Encryption> encryption() throws CheckpointException {
    return Optional.empty();
  }
}
