package dev.ckpt;

import com.esotericsoftware.kryo.Kryo;
import dev.ckpt.internal.app.AppCheckpointer;
import dev.ckpt.internal.app.StateRegistration;
import java.net.URI;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * Checkpoints this application's own state: registered {@link Checkpointable} objects (with Kryo)
 * and off-heap memory segments, into any store, incrementally.
 *
 * <pre>{@code
 * ByteBuffer grid = ByteBuffer.allocateDirect(1 << 30);
 * try (Checkpointer ckpt = Checkpointer.builder()
 *     .store(URI.create("file:///var/lib/ckpt"))
 *     .job("sim-42")
 *     .register("model", model)              // a Checkpointable
 *     .registerSegment("grid", grid)
 *     .kryoClasses(ModelState.class, double[].class)
 *     .build()) {
 *   if (ckpt.latest().isPresent()) ckpt.restoreLatest();
 *   ... compute ...; ckpt.checkpoint();
 * }
 * }</pre>
 *
 * <p>Thread-safe: checkpoints and restores of one checkpointer run one at a time. A checkpoint
 * holds one moment of all registered state only if the threads that change it are paused while it
 * is copied: pause them in {@link CheckpointHook#beforeCheckpoint()} and let them go in {@link
 * CheckpointHook#afterSnapshot()}. The copy costs memory: the checkpointer keeps a buffer as large
 * as each registered segment from its first checkpoint until it is closed ({@link
 * Builder#copySegments} turns the copy off).
 */
public interface Checkpointer extends AutoCloseable {

  static Builder builder() {
    return new Builder();
  }

  String job();

  /**
   * Runs the before-hooks, copies every registered state, runs the afterSnapshot hooks, then
   * writes and commits the copy and runs the afterCheckpoint hooks (see {@link CheckpointHook}).
   * Every failure is a {@link CheckpointException}; the hooks get their after-calls whatever
   * happened.
   */
  CheckpointInfo checkpoint() throws CheckpointException;

  /**
   * As {@link #checkpoint()}, but only the snapshot runs on the calling thread: when this returns,
   * the state has been copied and the afterSnapshot hooks have run; the copy is written and
   * committed on the checkpointer's executor ({@link Builder#executor}). The future completes
   * with the committed checkpoint, or exceptionally with a {@link CheckpointException}.
   * Checkpoints are taken and written one after another: a snapshot waits until the write
   * before it has finished, since the copy's buffers are reused.
   *
   * @throws IllegalStateException if this checkpointer is closed
   */
  java.util.concurrent.CompletableFuture<CheckpointInfo> checkpointAsync();

  /**
   * As {@link #checkpoint()}, aborted with {@link CheckpointTimeoutException} (nothing committed)
   * if the store's clock passes {@code deadline} before the manifest is written.
   */
  CheckpointInfo checkpoint(java.time.Instant deadline) throws CheckpointException;

  /**
   * Fills the registered state from the newest checkpoint. Segments are written in place; objects
   * are handed to {@link Checkpointable#restoreState} only after every part has been verified. If
   * this throws, registered objects are untouched but segment contents are unspecified.
   */
  CheckpointInfo restoreLatest() throws CheckpointException;

  /** As {@link #restoreLatest()}, from checkpoint {@code id}. */
  CheckpointInfo restore(long id) throws CheckpointException;

  Optional<CheckpointInfo> latest() throws CheckpointException;

  CheckpointStore store();

  /**
   * Waits for a checkpoint being written to finish, then closes the store if this checkpointer
   * opened it, and the executor if it made its own. Later calls throw {@link IllegalStateException}.
   */
  @Override
  void close();

  /** Settings for a {@link Checkpointer}. */
  final class Builder {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._:-]{1,200}");

    private URI uri;
    private CheckpointStore store;
    private String job;
    private final Map<String, StateRegistration> states = new LinkedHashMap<>();
    private final List<CheckpointHook> hooks = new ArrayList<>();
    private final List<Class<?>> kryoClasses = new ArrayList<>();
    private Consumer<Kryo> kryoConfig = k -> { };
    private Retention retention;
    private Compression compression = Compression.LZ4;
    private java.util.concurrent.Executor executor;
    private boolean copySegments = true;

    private Builder() {}

    /**
     * Whether a checkpoint copies every segment during its snapshot (the default) and writes the
     * copy while the application runs on. With {@code false} segments are written from where
     * they are, the afterSnapshot hooks run only once they are written, and the application is
     * paused for the whole write: no memory for copies and no copying time (a plain copy of 1 GiB
     * takes about 70 ms here, benchmarks/README.md), at the price of the pause. The afterSnapshot
     * hooks of an asynchronous checkpoint then run on the executor, not on the calling thread.
     */
    public Builder copySegments(boolean copy) {
      this.copySegments = copy;
      return this;
    }

    /**
     * Where {@link Checkpointer#checkpointAsync()} writes and commits its snapshots. By default the
     * checkpointer starts one daemon thread of its own at the first asynchronous checkpoint and
     * stops it on {@link Checkpointer#close()}.
     */
    public Builder executor(java.util.concurrent.Executor executor) {
      this.executor = Objects.requireNonNull(executor, "executor");
      return this;
    }

    /** Opens the store at {@code uri}; the checkpointer closes it. */
    public Builder store(URI uri) {
      this.uri = Objects.requireNonNull(uri, "uri");
      this.store = null;
      return this;
    }

    /** Uses a store opened by the caller, who closes it. */
    public Builder store(CheckpointStore store) {
      this.store = Objects.requireNonNull(store, "store");
      this.uri = null;
      return this;
    }

    public Builder job(String job) {
      this.job = Objects.requireNonNull(job, "job");
      return this;
    }

    /** Registers an object whose state is saved under {@code name}; it is also a hook. */
    public Builder register(String name, Checkpointable<?> state) {
      add(name, StateRegistration.object(name, Objects.requireNonNull(state, "state")));
      hooks.add(state);
      return this;
    }

    /**
     * Registers the whole of {@code buffer} (from 0 to its capacity, whatever its position) as a
     * segment. Restore writes into it, so the restoring JVM registers one of the same capacity.
     */
    public Builder registerSegment(String name, ByteBuffer buffer) {
      Objects.requireNonNull(buffer, "buffer");
      if (buffer.isReadOnly()) {
        throw new IllegalArgumentException("segment " + name + " is read-only: restore could not fill it");
      }
      add(name, StateRegistration.buffer(name, buffer));
      return this;
    }

    /**
     * Registers native memory as a segment (for a JNA {@code Pointer}, {@code
     * dev.ckpt.linux.JnaMemory.of(pointer, length)} in ckpt-native).
     */
    public Builder registerSegment(String name, NativeMemory memory) {
      Objects.requireNonNull(memory, "memory");
      if (memory.length() < 0) {
        throw new IllegalArgumentException("segment " + name + " has negative length " + memory.length());
      }
      add(name, StateRegistration.memory(name, memory));
      return this;
    }

    private void add(String name, StateRegistration r) {
      if (name == null || !NAME.matcher(name).matches()) {
        throw new IllegalArgumentException("state name '" + name + "' must be 1 to 200 characters of [A-Za-z0-9._:-]");
      }
      if (states.putIfAbsent(name, r) != null) {
        throw new IllegalArgumentException("state name '" + name + "' is already registered");
      }
    }

    public Builder hook(CheckpointHook hook) {
      hooks.add(Objects.requireNonNull(hook, "hook"));
      return this;
    }

    /**
     * Classes Kryo may write, registered in this order (the order fixes their ids, so keep it
     * stable between the JVM that checkpoints and the one that restores).
     */
    public Builder kryoClasses(Class<?>... classes) {
      for (Class<?> c : classes) {
        kryoClasses.add(Objects.requireNonNull(c, "class"));
      }
      return this;
    }

    /** Further Kryo set-up (custom serializers), applied after {@link #kryoClasses}. */
    public Builder kryoConfig(Consumer<Kryo> config) {
      this.kryoConfig = Objects.requireNonNull(config, "config");
      return this;
    }

    /** Applied after each committed checkpoint, followed by garbage collection. */
    public Builder retention(Retention retention) {
      this.retention = Objects.requireNonNull(retention, "retention");
      return this;
    }

    /** Compression for a store opened from a URI. */
    public Builder compression(Compression compression) {
      this.compression = Objects.requireNonNull(compression, "compression");
      return this;
    }

    public Checkpointer build() throws CheckpointException {
      if (job == null) {
        throw new IllegalStateException("set the job name with job(...)");
      }
      if (uri == null && store == null) {
        throw new IllegalStateException("set the store with store(URI) or store(CheckpointStore)");
      }
      CheckpointStore.checkJobName(job);
      boolean owns = store == null;
      CheckpointStore s = owns ? CheckpointStore.builder().uri(uri).compression(compression).build() : store;
      return new AppCheckpointer(s, owns, job, List.copyOf(states.values()), List.copyOf(hooks),
          List.copyOf(kryoClasses), kryoConfig, retention, executor, copySegments);
    }
  }
}
