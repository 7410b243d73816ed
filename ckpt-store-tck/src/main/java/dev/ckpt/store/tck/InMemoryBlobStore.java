package dev.ckpt.store.tck;

import dev.ckpt.NoSuchKeyException;
import dev.ckpt.StoreException;
import dev.ckpt.spi.BlobInfo;
import dev.ckpt.spi.BlobKeys;
import dev.ckpt.spi.BlobStore;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * A store in memory, for tests and for trying ckpt without a disk. Meets the whole
 * {@link BlobStore} contract; blobs vanish with the object.
 */
public final class InMemoryBlobStore implements BlobStore {
  private record Blob(byte[] data, java.time.Instant modified) {}

  private final ConcurrentSkipListMap<String, Blob> blobs = new ConcurrentSkipListMap<>();
  private final Clock clock;
  private final URI uri;

  /** An empty store whose modification times come from the system clock. */
  public InMemoryBlobStore() {
    this(Clock.systemUTC());
  }

  /**
   * An empty store whose modification times come from {@code clock}, so GC grace periods can be
   * tested without waiting.
   *
   * @param clock the source of modification times
   */
  public InMemoryBlobStore(Clock clock) {
    this.clock = clock;
    this.uri = URI.create("mem:/" + Integer.toHexString(System.identityHashCode(this)));
  }

  @Override
  public URI uri() {
    return uri;
  }

  @Override
  public void put(String key, InputStream data, long size) throws StoreException {
    blobs.put(BlobKeys.check(key), new Blob(readExactly(key, data, size), clock.instant()));
  }

  private byte[] readExactly(String key, InputStream data, long size) throws StoreException {
    if (size < 0 || size > Integer.MAX_VALUE - 16) {
      throw new IllegalArgumentException("size " + size + " out of range for an in-memory blob " + key);
    }
    try {
      byte[] b = data.readNBytes((int) size);
      if (b.length != size) {
        throw new StoreException(key, "store " + uri + ": put " + key + " failed: the data ended after " + b.length + " of " + size + " bytes");
      }
      return b;
    } catch (IOException e) {
      throw new StoreException(key, "store " + uri + ": put " + key + " failed: " + e.getMessage(), e);
    }
  }

  @Override
  public boolean putIfAbsent(String key, byte[] data) {
    return blobs.putIfAbsent(BlobKeys.check(key), new Blob(data.clone(), clock.instant())) == null;
  }

  private Blob blob(String key) throws NoSuchKeyException {
    Blob b = blobs.get(BlobKeys.check(key));
    if (b == null) {
      throw new NoSuchKeyException(uri.toString(), key);
    }
    return b;
  }

  @Override
  public InputStream get(String key) throws StoreException {
    return new ByteArrayInputStream(blob(key).data());
  }

  @Override
  public InputStream get(String key, long offset, long length) throws StoreException {
    if (offset < 0 || length < 0) {
      throw new IllegalArgumentException("negative range " + offset + "+" + length + " for " + key);
    }
    byte[] d = blob(key).data();
    if (offset > d.length) {
      throw new StoreException(key, "store " + uri + ": range at " + offset + " starts past the end of " + key + " (" + d.length + " bytes)");
    }
    return new ByteArrayInputStream(d, (int) offset, (int) Math.min(length, d.length - offset));
  }

  @Override
  public List<BlobInfo> list(String prefix) {
    BlobKeys.checkPrefix(prefix);
    List<BlobInfo> out = new ArrayList<>();
    for (Map.Entry<String, Blob> e : blobs.tailMap(prefix, true).entrySet()) {
      if (!e.getKey().startsWith(prefix)) {
        break;
      }
      out.add(new BlobInfo(e.getKey(), e.getValue().data().length, e.getValue().modified()));
    }
    return out;
  }

  @Override
  public boolean delete(String key) {
    return blobs.remove(BlobKeys.check(key)) != null;
  }

  @Override
  public Optional<BlobInfo> stat(String key) {
    Blob b = blobs.get(BlobKeys.check(key));
    return b == null ? Optional.empty() : Optional.of(new BlobInfo(key, b.data().length, b.modified()));
  }

  @Override
  public void close() {
    blobs.clear();
  }
}
