package dev.ckpt;

import dev.ckpt.internal.image.DefaultCheckpointStore;
import dev.ckpt.spi.BlobStore;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ExecutorService;

/**
 * The image engine over one store: writes, reads, lists, verifies and garbage-collects
 * checkpoints of any number of jobs. {@link Checkpointer} (application state) and the native
 * process checkpointer are built on it; use it directly to write custom capture sources or tools.
 *
 * <pre>{@code
 * try (CheckpointStore store = CheckpointStore.open(URI.create("file:///var/lib/ckpt"))) {
 *   for (CheckpointInfo c : store.checkpoints("sim-42")) System.out.println(c.ref());
 * }
 * }</pre>
 *
 * <p>Thread-safe. Writers of different jobs run concurrently; two writers of one job never
 * commit the same checkpoint number (the second gets {@link CommitConflictException}).
 */
public interface CheckpointStore extends AutoCloseable {

  static Builder builder() {
    return new Builder();
  }

  /**
   * Returns {@code job} if it is a valid job name (1 to 128 characters of {@code [A-Za-z0-9_.-]},
   * starting with a letter or digit), else throws IllegalArgumentException saying so.
   */
  static String checkJobName(String job) {
    return DefaultCheckpointStore.checkJob(job);
  }

  /** Opens the store at {@code uri} with default settings. */
  static CheckpointStore open(URI uri) throws CheckpointException {
    return builder().uri(uri).build();
  }

  URI uri();

  /** Names of the jobs that have at least one checkpoint. */
  List<String> jobs() throws CheckpointException;

  /** Every committed checkpoint of {@code job}, oldest first. Empty for an unknown job. */
  List<CheckpointInfo> checkpoints(String job) throws CheckpointException;

  /** The newest committed checkpoint of {@code job}, if any. */
  Optional<CheckpointInfo> latest(String job) throws CheckpointException;

  /** Starts a new checkpoint of {@code job}; it deduplicates against all the job's chunks. */
  ImageWriter newImage(String job) throws CheckpointException;

  /** Opens checkpoint {@code id} of {@code job}, verifying its manifest. */
  ImageReader open(String job, long id) throws CheckpointException;

  /** Opens the newest checkpoint of {@code job}. */
  ImageReader openLatest(String job) throws CheckpointException;

  /**
   * Reads every chunk of a checkpoint and checks its hash; reports problems rather than throwing
   * on them. A missing pack is one problem, however many chunks it held.
   */
  VerifyResult verify(String job, long id) throws CheckpointException;

  /** Deletes the checkpoints {@code retention} does not keep, then runs {@link #gc(String)}. */
  GcResult retain(String job, Retention retention) throws CheckpointException;

  /**
   * Deletes packs that no checkpoint of {@code job} references and that are older than the
   * grace period, so a checkpoint being written concurrently is never broken. Reports, and
   * never deletes, checkpoints that reference a pack which does not exist.
   */
  GcResult gc(String job) throws CheckpointException;

  /** The blob store underneath. */
  BlobStore blobs();

  /** Closes the blob store and the executor, if this object created them. */
  @Override
  void close();

  /** Settings for a {@link CheckpointStore}. Validates each value as it is set. */
  final class Builder {
    private URI uri;
    private BlobStore blobStore;
    private ExecutorService executor;
    private int parallelism = Math.max(2, Runtime.getRuntime().availableProcessors());
    private Clock clock = Clock.systemUTC();
    private Compression compression = Compression.LZ4;
    private int chunkSize = 64 * 1024;
    private int packSize = 16 * 1024 * 1024;
    private Duration gcGracePeriod = Duration.ofHours(1);
    private ClassLoader classLoader;
    private ProgressListener progress = ProgressListener.NONE;

    private Builder() {}

    /** The store, found by URI scheme among the {@link dev.ckpt.spi.StoreProvider}s. */
    public Builder uri(URI uri) {
      this.uri = Objects.requireNonNull(uri, "uri");
      this.blobStore = null;
      return this;
    }

    /** A blob store opened by the caller, who stays responsible for closing it. */
    public Builder blobStore(BlobStore store) {
      this.blobStore = Objects.requireNonNull(store, "store");
      this.uri = null;
      return this;
    }

    /**
     * Runs hashing, compression, uploads and downloads. The caller keeps ownership. Without one,
     * the store creates a pool of {@link #parallelism(int)} threads and shuts it down on close.
     */
    public Builder executor(ExecutorService executor) {
      this.executor = Objects.requireNonNull(executor, "executor");
      return this;
    }

    /** How many chunks or downloads may be in flight at once; bounds memory. Default: cores, at least 2. */
    public Builder parallelism(int n) {
      if (n < 1 || n > 256) {
        throw new IllegalArgumentException("parallelism must be in [1, 256], got " + n);
      }
      this.parallelism = n;
      return this;
    }

    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    public Builder compression(Compression compression) {
      this.compression = Objects.requireNonNull(compression, "compression");
      return this;
    }

    /** Chunk size in bytes: a power of two from 4 KiB (a page) to 4 MiB. Default 64 KiB. */
    public Builder chunkSize(int bytes) {
      if (bytes < 4096 || bytes > 4 << 20 || Integer.bitCount(bytes) != 1) {
        throw new IllegalArgumentException("chunk size must be a power of two in [4096, 4194304], got " + bytes);
      }
      this.chunkSize = bytes;
      return this;
    }

    /** Target pack size in bytes, from 1 MiB to 256 MiB. Default 16 MiB. */
    public Builder packSize(int bytes) {
      if (bytes < 1 << 20 || bytes > 256 << 20) {
        throw new IllegalArgumentException("pack size must be in [1 MiB, 256 MiB], got " + bytes);
      }
      this.packSize = bytes;
      return this;
    }

    /** Unreferenced packs younger than this are never deleted. Default one hour. */
    public Builder gcGracePeriod(Duration grace) {
      if (grace.isNegative()) {
        throw new IllegalArgumentException("gc grace period must not be negative, got " + grace);
      }
      this.gcGracePeriod = grace;
      return this;
    }

    /** Where to look for store providers; default the thread's context class loader. */
    public Builder classLoader(ClassLoader loader) {
      this.classLoader = Objects.requireNonNull(loader, "loader");
      return this;
    }

    /** Told of the bytes every write and read of this store moves, for progress bars. */
    public Builder progress(ProgressListener listener) {
      this.progress = Objects.requireNonNull(listener, "listener");
      return this;
    }

    public CheckpointStore build() throws CheckpointException {
      if (uri == null && blobStore == null) {
        throw new IllegalStateException("set a store with uri(...) or blobStore(...)");
      }
      if (packSize < 2 * chunkSize) {
        throw new IllegalStateException("pack size " + packSize + " must hold at least two chunks of " + chunkSize);
      }
      return DefaultCheckpointStore.create(uri, blobStore, executor, parallelism, clock, compression, chunkSize,
          packSize, gcGracePeriod, classLoader, progress);
    }
  }
}
