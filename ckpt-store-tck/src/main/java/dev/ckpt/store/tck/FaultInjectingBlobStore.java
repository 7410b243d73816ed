package dev.ckpt.store.tck;

import dev.ckpt.StoreException;
import dev.ckpt.spi.BlobInfo;
import dev.ckpt.spi.BlobStore;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * A store that fails on command: each rule makes operations of one kind on matching keys fail, a
 * given number of times, in one of three ways ({@link Fault}):
 *
 * <ul>
 *   <li>{@link Fault#FAIL}: the operation throws a {@link StoreException} with the given reason
 *       and has no effect on the delegate, as a failure before the write would.</li>
 *   <li>{@link Fault#APPLY_THEN_THROW}: the operation reaches the delegate and takes effect, then
 *       its answer is lost: it throws, as a connection reset after the server acted would.</li>
 *   <li>{@link Fault#APPLY_THEN_WRONG_ANSWER}: the operation takes effect, then returns the
 *       opposite of what the delegate answered, as a store that retried its own write and met
 *       the result of the first attempt would.</li>
 * </ul>
 *
 * <pre>{@code
 * FaultInjectingBlobStore store = new FaultInjectingBlobStore(new InMemoryBlobStore());
 * store.fail(Op.PUT_IF_ABSENT, key -> key.contains("/manifests/"), "No space left on device", 1);
 * store.inject(Op.PUT_IF_ABSENT, Fault.APPLY_THEN_THROW, key -> key.contains("/manifests/"), "Connection reset", 1);
 * }</pre>
 */
public class FaultInjectingBlobStore extends ForwardingBlobStore {

  /** The operation a rule applies to. */
  public enum Op {
    /** Every {@code put} overload. */
    PUT,
    /** {@code putIfAbsent}. */
    PUT_IF_ABSENT,
    /** Both {@code get}s, and {@code read}. */
    GET,
    /** {@code list}; the rule's key predicate is given the prefix. */
    LIST,
    /** {@code delete}. */
    DELETE,
    /** {@code stat}. */
    STAT
  }

  /** How an injected failure shows. */
  public enum Fault {
    /** Throw before the delegate is called: nothing happens. */
    FAIL,
    /** Call the delegate, then throw: the operation happened, the caller cannot tell. For PUT, PUT_IF_ABSENT, DELETE. */
    APPLY_THEN_THROW,
    /**
     * Call the delegate, then return the opposite of its answer: {@code false} for a
     * {@code putIfAbsent} that created the blob, and so on. For PUT_IF_ABSENT and DELETE, the
     * operations that answer.
     */
    APPLY_THEN_WRONG_ANSWER
  }

  private record Rule(Op op, Fault fault, Predicate<String> keys, String reason, AtomicInteger remaining) {}

  private final List<Rule> rules = new CopyOnWriteArrayList<>();
  private final AtomicInteger injected = new AtomicInteger();

  /**
   * Wraps {@code delegate}, with no rules yet.
   *
   * @param delegate the store that does the work
   */
  public FaultInjectingBlobStore(BlobStore delegate) {
    super(delegate);
  }

  /**
   * Fails the next {@code times} operations {@code op} on keys matching {@code keys}, before they happen.
   *
   * @param op the operation to fail
   * @param keys which keys the rule applies to
   * @param reason the message of the thrown {@link StoreException}
   * @param times how many operations to fail, at least 1
   * @return this store
   */
  public FaultInjectingBlobStore fail(Op op, Predicate<String> keys, String reason, int times) {
    return inject(op, Fault.FAIL, keys, reason, times);
  }

  /**
   * Makes the next {@code times} operations {@code op} on keys matching {@code keys} fail the way
   * {@code fault} says; {@code reason} is the message of a thrown failure.
   *
   * @param op the operation to fail
   * @param fault how it fails
   * @param keys which keys the rule applies to
   * @param reason the message of the thrown {@link StoreException}
   * @param times how many operations to fail, at least 1
   * @return this store
   * @throws IllegalArgumentException if {@code fault} makes no sense for {@code op} (an operation
   *     that changes nothing cannot be applied first; a {@code put} returns no answer to falsify)
   */
  public FaultInjectingBlobStore inject(Op op, Fault fault, Predicate<String> keys, String reason, int times) {
    Objects.requireNonNull(op, "op");
    Objects.requireNonNull(fault, "fault");
    Objects.requireNonNull(keys, "keys");
    Objects.requireNonNull(reason, "reason");
    if (times < 1) {
      throw new IllegalArgumentException("times must be positive, got " + times);
    }
    boolean writes = op == Op.PUT || op == Op.PUT_IF_ABSENT || op == Op.DELETE;
    if (fault == Fault.APPLY_THEN_THROW && !writes) {
      throw new IllegalArgumentException(fault + " needs an operation that changes the store, not " + op);
    }
    if (fault == Fault.APPLY_THEN_WRONG_ANSWER && op != Op.PUT_IF_ABSENT && op != Op.DELETE) {
      throw new IllegalArgumentException(fault + " needs an operation that answers true or false, not " + op);
    }
    rules.add(new Rule(op, fault, keys, reason, new AtomicInteger(times)));
    return this;
  }

  /** Removes every rule. */
  public void heal() {
    rules.clear();
  }

  /**
   * How many operations have been failed so far, in any of the ways.
   *
   * @return the count since this store was made; {@link #heal()} does not reset it
   */
  public int injectedFailures() {
    return injected.get();
  }

  /** The rule that fires for this call, its count taken; FAIL rules throw here, before the delegate. */
  private Rule check(Op op, String key) throws StoreException {
    for (Rule r : rules) {
      if (r.op() == op && r.keys().test(key) && r.remaining().getAndDecrement() > 0) {
        injected.incrementAndGet();
        if (r.fault() == Fault.FAIL) {
          throw failure(r, key);
        }
        return r;
      }
    }
    return null;
  }

  private StoreException failure(Rule r, String key) {
    String when = r.fault() == Fault.FAIL ? "" : " after it was applied";
    return new StoreException(key, "store " + uri() + ": " + r.op() + " " + key + " failed" + when + ": " + r.reason()
        + " (injected)");
  }

  /** After the delegate acted: throws for APPLY_THEN_THROW, else gives the answer the rule wants seen. */
  private boolean answer(Rule r, String key, boolean actual) throws StoreException {
    if (r == null) {
      return actual;
    }
    if (r.fault() == Fault.APPLY_THEN_THROW) {
      throw failure(r, key);
    }
    return !actual;
  }

  @Override
  public void put(String key, InputStream data, long size) throws StoreException {
    Rule r = check(Op.PUT, key);
    super.put(key, data, size);
    answer(r, key, true);
  }

  @Override
  public void put(String key, byte[] data) throws StoreException {
    Rule r = check(Op.PUT, key);
    super.put(key, data);
    answer(r, key, true);
  }

  @Override
  public void put(String key, ByteBuffer data) throws StoreException {
    Rule r = check(Op.PUT, key);
    super.put(key, data);
    answer(r, key, true);
  }

  @Override
  public int read(String key, long offset, ByteBuffer dst) throws StoreException {
    check(Op.GET, key);
    return super.read(key, offset, dst);
  }

  @Override
  public boolean putIfAbsent(String key, byte[] data) throws StoreException {
    Rule r = check(Op.PUT_IF_ABSENT, key);
    return answer(r, key, super.putIfAbsent(key, data));
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
    Rule r = check(Op.DELETE, key);
    return answer(r, key, super.delete(key));
  }

  @Override
  public Optional<BlobInfo> stat(String key) throws StoreException {
    check(Op.STAT, key);
    return super.stat(key);
  }
}
