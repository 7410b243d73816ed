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
 * CheckpointHook#afterSnapshot()}. The copy costs memory: the checkpointer keeps, in the Java heap,
 * arrays as large as each registered segment from its first checkpoint until it is closed ({@link
 * Builder#copySegments} turns the copy off; without twice their size free in the heap, segments
 * are written in place, said once in the log).
 */
public interface Checkpointer extends AutoCloseable {

  /**
   * Starts the settings of a checkpointer.
   *
   * @return a new builder
   */
  static Builder builder() {
    return new Builder();
  }

  /**
   * The job whose checkpoints this checkpointer writes and reads.
   *
   * @return the job's name
   */
  String job();

  /**
   * Runs the before-hooks, copies every registered state, runs the afterSnapshot hooks, then
   * writes and commits the copy and runs the afterCheckpoint hooks (see {@link CheckpointHook}).
   * Every failure is a {@link CheckpointException}; the hooks get their after-calls whatever
   * happened.
   *
   * @return the committed checkpoint
   * @throws CheckpointException if a hook, the copy or the write failed
   * @throws IllegalStateException if this checkpointer is closed, or if called from one of its
   *     own hooks
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
   * @return a future of the committed checkpoint
   * @throws IllegalStateException if this checkpointer is closed
   */
  java.util.concurrent.CompletableFuture<CheckpointInfo> checkpointAsync();

  /**
   * As {@link #checkpoint()}, aborted with {@link CheckpointTimeoutException} (nothing committed)
   * if the store's clock passes {@code deadline} before the manifest is written.
   *
   * @param deadline when the checkpoint must be committed by, or null for no limit
   * @return the committed checkpoint
   * @throws CheckpointException if a hook, the copy or the write failed, or the deadline passed
   */
  CheckpointInfo checkpoint(java.time.Instant deadline) throws CheckpointException;

  /**
   * Fills the registered state from the newest checkpoint. Segments are written in place; objects
   * are handed to {@link Checkpointable#restoreState} only after every part has been verified. If
   * this throws, registered objects are untouched but segment contents are unspecified.
   *
   * @return the checkpoint restored
   * @throws CheckpointNotFoundException if the job has no checkpoint, or the checkpoint lacks a
   *     registered state
   * @throws CheckpointException if the checkpoint does not match the registrations, fails
   *     verification, or a hook or {@link Checkpointable#restoreState} fails
   */
  CheckpointInfo restoreLatest() throws CheckpointException;

  /**
   * As {@link #restoreLatest()}, from checkpoint {@code id}.
   *
   * @param id the checkpoint's number within the job
   * @return the checkpoint restored
   * @throws CheckpointNotFoundException if the job has no checkpoint {@code id}, or it lacks a
   *     registered state
   * @throws CheckpointException as for {@link #restoreLatest()}
   */
  CheckpointInfo restore(long id) throws CheckpointException;

  /**
   * The job's newest checkpoint.
   *
   * @return the checkpoint, or empty if the job has none
   * @throws CheckpointException if the store cannot be read
   */
  Optional<CheckpointInfo> latest() throws CheckpointException;

  /**
   * The store this checkpointer writes to.
   *
   * @return the store, opened by the checkpointer or given to its builder
   */
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
     *
     * @param copy {@code false} to write segments in place
     * @return this builder
     */
    public Builder copySegments(boolean copy) {
      this.copySegments = copy;
      return this;
    }

    /**
     * Where {@link Checkpointer#checkpointAsync()} writes and commits its snapshots. By default the
     * checkpointer starts one daemon thread of its own at the first asynchronous checkpoint and
     * stops it on {@link Checkpointer#close()}.
     *
     * @param executor the executor, which the checkpointer does not shut down
     * @return this builder
     */
    public Builder executor(java.util.concurrent.Executor executor) {
      this.executor = Objects.requireNonNull(executor, "executor");
      return this;
    }

    /**
     * Opens the store at {@code uri}; the checkpointer closes it.
     *
     * @param uri the store's URI; replaces a store given before
     * @return this builder
     */
    public Builder store(URI uri) {
      this.uri = Objects.requireNonNull(uri, "uri");
      this.store = null;
      return this;
    }

    /**
     * Uses a store opened by the caller, who closes it.
     *
     * @param store the store; replaces a URI given before
     * @return this builder
     */
    public Builder store(CheckpointStore store) {
      this.store = Objects.requireNonNull(store, "store");
      this.uri = null;
      return this;
    }

    /**
     * The job the checkpoints belong to; required.
     *
     * @param job the job's name, checked by {@link #build()}
     * @return this builder
     */
    public Builder job(String job) {
      this.job = Objects.requireNonNull(job, "job");
      return this;
    }

    /**
     * Registers an object whose state is saved under {@code name}; it is also a hook.
     *
     * @param name 1 to 200 characters of {@code [A-Za-z0-9._:-]}, unique among the registrations
     * @param state the object
     * @return this builder
     * @throws IllegalArgumentException if {@code name} is invalid or already registered
     */
    public Builder register(String name, Checkpointable<?> state) {
      add(name, StateRegistration.object(name, Objects.requireNonNull(state, "state")));
      hooks.add(state);
      return this;
    }

    /**
     * Registers the whole of {@code buffer} (from 0 to its capacity, whatever its position) as a
     * segment. Restore writes into it, so the restoring JVM registers one of the same capacity.
     *
     * @param name 1 to 200 characters of {@code [A-Za-z0-9._:-]}, unique among the registrations
     * @param buffer the buffer, not read-only
     * @return this builder
     * @throws IllegalArgumentException if {@code name} is invalid or already registered, or
     *     {@code buffer} is read-only
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
     *
     * @param name 1 to 200 characters of {@code [A-Za-z0-9._:-]}, unique among the registrations
     * @param memory the memory
     * @return this builder
     * @throws IllegalArgumentException if {@code name} is invalid or already registered
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

    /**
     * Adds a hook with no state of its own; hooks run in the order added, registered objects
     * included.
     *
     * @param hook the hook
     * @return this builder
     */
    public Builder hook(CheckpointHook hook) {
      hooks.add(Objects.requireNonNull(hook, "hook"));
      return this;
    }

    /**
     * Classes Kryo may write, registered in this order (the order fixes their ids, so keep it
     * stable between the JVM that checkpoints and the one that restores).
     *
     * @param classes the classes, added after any registered before
     * @return this builder
     */
    public Builder kryoClasses(Class<?>... classes) {
      for (Class<?> c : classes) {
        kryoClasses.add(Objects.requireNonNull(c, "class"));
      }
      return this;
    }

    /**
     * Further Kryo set-up (custom serializers), applied after {@link #kryoClasses}.
     *
     * @param config called with the checkpointer's Kryo instance; replaces any set before
     * @return this builder
     */
    public Builder kryoConfig(Consumer<Kryo> config) {
      this.kryoConfig = Objects.requireNonNull(config, "config");
      return this;
    }

    /**
     * Applied after each committed checkpoint, followed by garbage collection; default none.
     *
     * @param retention which checkpoints to keep
     * @return this builder
     */
    public Builder retention(Retention retention) {
      this.retention = Objects.requireNonNull(retention, "retention");
      return this;
    }

    /**
     * Compression for a store opened from a URI; default {@link Compression#LZ4}.
     *
     * @param compression the compression; ignored for a store given with {@link #store(CheckpointStore)}
     * @return this builder
     */
    public Builder compression(Compression compression) {
      this.compression = Objects.requireNonNull(compression, "compression");
      return this;
    }

    /**
     * Makes the checkpointer, opening its store if given as a URI.
     *
     * @return the checkpointer, which the caller closes
     * @throws IllegalStateException if the job or the store is not set
     * @throws IllegalArgumentException if the job name is invalid
     * @throws CheckpointException if the store cannot be opened
     */
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
