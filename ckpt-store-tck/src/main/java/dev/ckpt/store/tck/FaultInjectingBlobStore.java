package dev.ckpt.store.tck;

import dev.ckpt.StoreException;
import dev.ckpt.spi.BlobInfo;
import dev.ckpt.spi.BlobStore;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * A store that fails on command: each rule makes operations of one kind on matching keys throw a
 * {@link StoreException} with a given reason, a given number of times. A failed operation has no
 * effect on the delegate, as a real failure before the write would.
 *
 * <pre>{@code
 * FaultInjectingBlobStore store = new FaultInjectingBlobStore(new InMemoryBlobStore());
 * store.fail(Op.PUT_IF_ABSENT, key -> key.contains("/manifests/"), "No space left on device", 1);
 * }</pre>
 */
public class FaultInjectingBlobStore extends ForwardingBlobStore {

  /** The operation a rule applies to. */
  public enum Op { PUT, PUT_IF_ABSENT, GET, LIST, DELETE, STAT }

  private record Rule(Op op, Predicate<String> keys, String reason, AtomicInteger remaining) {}

  private final List<Rule> rules = new CopyOnWriteArrayList<>();
  private final AtomicInteger injected = new AtomicInteger();

  public FaultInjectingBlobStore(BlobStore delegate) {
    super(delegate);
  }

  /** Fails the next {@code times} operations {@code op} on keys matching {@code keys}. */
  public FaultInjectingBlobStore fail(Op op, Predicate<String> keys, String reason, int times) {
    if (times < 1) {
      throw new IllegalArgumentException("times must be positive, got " + times);
    }
    rules.add(new Rule(op, keys, reason, new AtomicInteger(times)));
    return this;
  }

  /** Removes every rule. */
  public void heal() {
    rules.clear();
  }

  /** How many operations have been failed so far. */
  public int injectedFailures() {
    return injected.get();
  }

  private void check(Op op, String key) throws StoreException {
    for (Rule r : rules) {
      if (r.op() == op && r.keys().test(key) && r.remaining().getAndDecrement() > 0) {
        injected.incrementAndGet();
        throw new StoreException(key, "store " + uri() + ": " + op + " " + key + " failed: " + r.reason() + " (injected)");
      }
    }
  }

  @Override
  public void put(String key, InputStream data, long size) throws StoreException {
    check(Op.PUT, key);
    super.put(key, data, size);
  }

  @Override
  public void put(String key, byte[] data) throws StoreException {
    check(Op.PUT, key);
    super.put(key, data);
  }

  @Override
  public void put(String key, ByteBuffer data) throws StoreException {
    check(Op.PUT, key);
    super.put(key, data);
  }

  @Override
  public int read(String key, long offset, ByteBuffer dst) throws StoreException {
    check(Op.GET, key);
    return super.read(key, offset, dst);
  }

  @Override
  public boolean putIfAbsent(String key, byte[] data) throws StoreException {
    check(Op.PUT_IF_ABSENT, key);
    return super.putIfAbsent(key, data);
  }

  @Override
  public InputStream get(String key) throws StoreException {
    check(Op.GET, key);
    return super.get(key);
  }

  @Override
  public InputStream get(String key, long offset, long length) throws StoreException {
    check(Op.GET, key);
    return super.get(key, offset, length);
  }

  @Override
  public List<BlobInfo> list(String prefix) throws StoreException {
    check(Op.LIST, prefix);
    return super.list(prefix);
  }

  @Override
  public boolean delete(String key) throws StoreException {
    check(Op.DELETE, key);
    return super.delete(key);
  }

  @Override
  public Optional<BlobInfo> stat(String key) throws StoreException {
    check(Op.STAT, key);
    return super.stat(key);
  }
}
