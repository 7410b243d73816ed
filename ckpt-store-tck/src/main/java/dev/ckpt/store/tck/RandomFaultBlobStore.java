package dev.ckpt.store.tck;

import dev.ckpt.StoreException;
import dev.ckpt.spi.BlobInfo;
import dev.ckpt.spi.BlobStore;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A store that misbehaves at random, as a flaky network and server do: each operation, with
 * probability {@code rate}, fails before it acts (a 5xx), acts and then loses its answer (a reset
 * after the server acted), acts and answers wrongly (as a store that retried its own write, or
 * delete, and met the first attempt's result), or answers slowly. Seeded; with calls from one
 * thread the sequence of faults is the same every run. {@link #heal()} stops the faults. Not
 * faulted: job locks, and streams that fail part way through.
 */
public class RandomFaultBlobStore extends ForwardingBlobStore {

  /** The ways an operation goes wrong. */
  public enum Kind {
    /** Fails before acting: a 5xx or a refused connection. */
    FAIL_BEFORE,
    /** Acts, then fails: a connection reset after the server acted (a lost answer). */
    LOST_ANSWER,
    /** Acts, then says it did nothing: a {@code putIfAbsent} that created, or a {@code delete} that removed. */
    WRONG_ANSWER,
    /** Acts, after a delay: a slow response. */
    SLOW
  }

  private final double rate;
  private final Random random;
  private final Duration slow;
  private final Map<Kind, AtomicInteger> counts = new EnumMap<>(Kind.class);
  private volatile boolean healed;

  /**
   * Wraps {@code delegate}.
   *
   * @param delegate the store that does the work
   * @param rate the probability that an operation misbehaves, 0 to 1
   * @param seed the seed of the choices
   * @param slow how long a slow answer takes
   */
  public RandomFaultBlobStore(BlobStore delegate, double rate, long seed, Duration slow) {
    super(delegate);
    this.rate = rate;
    this.random = new Random(seed);
    this.slow = slow;
    for (Kind k : Kind.values()) {
      counts.put(k, new AtomicInteger());
    }
  }

  /** Stops injecting faults. */
  public void heal() {
    healed = true;
  }

  /**
   * How many faults of each kind were injected.
   *
   * @return counts by kind
   */
  public Map<Kind, Integer> injected() {
    Map<Kind, Integer> m = new EnumMap<>(Kind.class);
    counts.forEach((k, v) -> m.put(k, v.get()));
    return m;
  }

  /** The fault for this call, or null; {@code answers} says whether the operation has an answer to get wrong. */
  private Kind draw(boolean writes, boolean answers) {
    if (healed) {
      return null;
    }
    Kind k;
    synchronized (random) {
      if (random.nextDouble() >= rate) {
        return null;
      }
      int n = random.nextInt(4);
      k = switch (n) {
        case 0 -> Kind.FAIL_BEFORE;
        case 1 -> writes ? Kind.LOST_ANSWER : Kind.FAIL_BEFORE;
        case 2 -> answers ? Kind.WRONG_ANSWER : Kind.SLOW;
        default -> Kind.SLOW;
      };
    }
    counts.get(k).incrementAndGet();
    return k;
  }

  private Kind before(String op, String key, boolean writes, boolean answers) throws StoreException {
    Kind k = draw(writes, answers);
    if (k == Kind.FAIL_BEFORE) {
      throw new StoreException(key, "store " + uri() + ": " + op + " " + key + " failed: 503 Slow Down (injected)");
    }
    if (k == Kind.SLOW) {
      try {
        Thread.sleep(slow.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new StoreException(key, "interrupted during an injected slow answer");
      }
    }
    return k;
  }

  private static void after(Kind k, String op, String key, String uri) throws StoreException {
    if (k == Kind.LOST_ANSWER) {
      throw new StoreException(key, "store " + uri + ": " + op + " " + key + " failed after it was applied: Connection reset"
          + " (injected)");
    }
  }

  @Override
  public void put(String key, InputStream data, long size) throws StoreException {
    Kind k = before("PUT", key, true, false);
    super.put(key, data, size);
    after(k, "PUT", key, uri().toString());
  }

  @Override
  public void put(String key, byte[] data) throws StoreException {
    Kind k = before("PUT", key, true, false);
    super.put(key, data);
    after(k, "PUT", key, uri().toString());
  }

  @Override
  public void put(String key, ByteBuffer data) throws StoreException {
    Kind k = before("PUT", key, true, false);
    super.put(key, data);
    after(k, "PUT", key, uri().toString());
  }

  @Override
  public boolean putIfAbsent(String key, byte[] data) throws StoreException {
    Kind k = before("PUT_IF_ABSENT", key, true, true);
    boolean created = super.putIfAbsent(key, data);
    after(k, "PUT_IF_ABSENT", key, uri().toString());
    // Wrong only as a store that retried its own write is: "exists" for a write that created it.
    return k == Kind.WRONG_ANSWER ? false : created;
  }

  @Override
  public boolean delete(String key) throws StoreException {
    Kind k = before("DELETE", key, true, true);
    boolean deleted = super.delete(key);
    after(k, "DELETE", key, uri().toString());
    // Wrong only as a retried delete is: "not there" for a delete that removed it.
    return k == Kind.WRONG_ANSWER ? false : deleted;
  }

  @Override
  public int read(String key, long offset, ByteBuffer dst) throws StoreException {
    before("GET", key, false, false);
    return super.read(key, offset, dst);
  }

  @Override
  public InputStream get(String key) throws StoreException {
    before("GET", key, false, false);
    return super.get(key);
  }

  @Override
  public InputStream get(String key, long offset, long length) throws StoreException {
    before("GET", key, false, false);
    return super.get(key, offset, length);
  }

  @Override
  public List<BlobInfo> list(String prefix) throws StoreException {
    before("LIST", prefix, false, false);
    return super.list(prefix);
  }

  @Override
  public Optional<BlobInfo> stat(String key) throws StoreException {
    before("HEAD", key, false, false);
    return super.stat(key);
  }
}
