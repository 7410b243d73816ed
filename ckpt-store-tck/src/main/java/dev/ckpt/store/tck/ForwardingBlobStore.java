package dev.ckpt.store.tck;

import dev.ckpt.StoreException;
import dev.ckpt.spi.BlobInfo;
import dev.ckpt.spi.BlobStore;
import java.io.InputStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Passes every call to a delegate, the optional fast paths included (a decorator that let them
 * fall back to the defaults would change how the store is used: a buffer put the delegate can
 * retry would become a one-shot stream put); extend it to decorate a store (faults, metrics,
 * latency).
 */
public class ForwardingBlobStore implements BlobStore {
  /** The store every call is passed to. */
  protected final BlobStore delegate;

  /**
   * Wraps {@code delegate}.
   *
   * @param delegate the store every call is passed to; closed by {@link #close()}
   */
  public ForwardingBlobStore(BlobStore delegate) {
    this.delegate = Objects.requireNonNull(delegate, "delegate");
  }

  @Override
  public URI uri() {
    return delegate.uri();
  }

  @Override
  public void put(String key, InputStream data, long size) throws StoreException {
    delegate.put(key, data, size);
  }

  @Override
  public void put(String key, byte[] data) throws StoreException {
    delegate.put(key, data);
  }

  @Override
  public void put(String key, ByteBuffer data) throws StoreException {
    delegate.put(key, data);
  }

  @Override
  public int read(String key, long offset, ByteBuffer dst) throws StoreException {
    return delegate.read(key, offset, dst);
  }

  @Override
  public boolean putIfAbsent(String key, byte[] data) throws StoreException {
    return delegate.putIfAbsent(key, data);
  }

  @Override
  public InputStream get(String key) throws StoreException {
    return delegate.get(key);
  }

  @Override
  public InputStream get(String key, long offset, long length) throws StoreException {
    return delegate.get(key, offset, length);
  }

  @Override
  public dev.ckpt.spi.JobLock lockJob(String job) throws StoreException {
    return delegate.lockJob(job);
  }

  @Override
  public Optional<dev.ckpt.Encryption> encryption() throws dev.ckpt.CheckpointException {
    return delegate.encryption();
  }

  @Override
  public int preferredReadSize() {
    return delegate.preferredReadSize();
  }

  @Override
  public ByteBuffer allocateReadBuffer(int capacity) {
    return delegate.allocateReadBuffer(capacity);
  }

  @Override
  public List<BlobInfo> list(String prefix) throws StoreException {
    return delegate.list(prefix);
  }

  @Override
  public boolean delete(String key) throws StoreException {
    return delegate.delete(key);
  }

  @Override
  public Optional<BlobInfo> stat(String key) throws StoreException {
    return delegate.stat(key);
  }

  @Override
  public void close() {
    delegate.close();
  }
}
