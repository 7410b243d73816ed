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

  /**
   * Starts the settings of a store.
   *
   * @return a new builder
   */
  static Builder builder() {
    return new Builder();
  }

  /**
   * Returns {@code job} if it is a valid job name (1 to 128 characters of {@code [A-Za-z0-9_.-]},
   * starting with a letter or digit), else throws IllegalArgumentException saying so.
   *
   * @param job the name to check
   * @return {@code job}
   */
  static String checkJobName(String job) {
    return DefaultCheckpointStore.checkJob(job);
  }

  /**
   * Opens the store at {@code uri} with default settings.
   *
   * @param uri the store's URI; its scheme chooses the {@link dev.ckpt.spi.StoreProvider}
   * @return the store, which the caller closes
   * @throws StoreConfigurationException if no provider serves the scheme or the URI is invalid
   * @throws CheckpointException if the store cannot be opened
   */
  static CheckpointStore open(URI uri) throws CheckpointException {
    return builder().uri(uri).build();
  }

  /**
   * Where the store lives.
   *
   * @return the blob store's URI
   */
  URI uri();

  /**
   * Names of the jobs that have at least one checkpoint.
   *
   * @return the job names
   * @throws CheckpointException if the store cannot be listed
   */
  List<String> jobs() throws CheckpointException;

  /**
   * Every committed checkpoint of {@code job}, oldest first. Empty for an unknown job.
   *
   * @param job the job's name
   * @return the checkpoints, oldest first
   * @throws CheckpointException if the store cannot be read
   */
  List<CheckpointInfo> checkpoints(String job) throws CheckpointException;

  /**
   * The newest committed checkpoint of {@code job}, if any.
   *
   * @param job the job's name
   * @return the checkpoint, or empty if the job has none
   * @throws CheckpointException if the store cannot be read
   */
  Optional<CheckpointInfo> latest(String job) throws CheckpointException;

  /**
   * Starts a new checkpoint of {@code job}; it deduplicates against all the job's chunks.
   *
   * @param job the job's name
   * @return the writer, which the caller commits or closes
   * @throws CheckpointException if the store cannot be read, or the job's lock cannot be taken
   */
  ImageWriter newImage(String job) throws CheckpointException;

  /**
   * Opens checkpoint {@code id} of {@code job}, verifying its manifest.
   *
   * @param job the job's name
   * @param id the checkpoint's number within the job
   * @return the reader, which the caller closes
   * @throws CheckpointNotFoundException if the job has no checkpoint {@code id}
   * @throws CorruptImageException if the manifest fails its checks
   * @throws CheckpointException if the store cannot be read
   */
  ImageReader open(String job, long id) throws CheckpointException;

  /**
   * Opens the newest checkpoint of {@code job}.
   *
   * @param job the job's name
   * @return the reader, which the caller closes
   * @throws CheckpointNotFoundException if the job has no checkpoint
   * @throws CheckpointException as for {@link #open(String, long)}
   */
  ImageReader openLatest(String job) throws CheckpointException;

  /**
   * Reads every chunk of a checkpoint and checks its hash; reports problems rather than throwing
   * on them. A missing pack is one problem, however many chunks it held.
   *
   * @param job the job's name
   * @param id the checkpoint's number within the job
   * @return what was checked and what was found wrong
   * @throws CheckpointNotFoundException if the job has no checkpoint {@code id}
   * @throws CheckpointException if the manifest cannot be read or is corrupt
   */
  VerifyResult verify(String job, long id) throws CheckpointException;

  /**
   * Checks {@code job}'s part of the store without reading chunks: every manifest decodes (and
   * authenticates, with keys), and every pack a checkpoint references exists. What gc will clean
   * (packs no checkpoint references, stale condemnation markers) is reported as notes, not
   * problems. With {@link #verify} of each checkpoint, this is {@code ckpt verify --all}.
   *
   * @param job the job's name
   * @return what was found
   * @throws CheckpointException if the store cannot be listed or read
   */
  ConsistencyResult checkConsistency(String job) throws CheckpointException;

  /**
   * Deletes the checkpoints {@code retention} does not keep, then runs {@link #gc(String)}.
   *
   * @param job the job's name
   * @param retention which checkpoints to keep
   * @return what was deleted, and the broken checkpoints found
   * @throws CheckpointException if the store cannot be read or a delete fails
   */
  GcResult retain(String job, Retention retention) throws CheckpointException;

  /**
   * Deletes packs that no checkpoint of {@code job} references and that are older than the
   * grace period, so a checkpoint being written concurrently is never broken. Reports, and
   * never deletes, checkpoints that reference a pack which does not exist.
   *
   * @param job the job's name
   * @return what was deleted, and the broken checkpoints found
   * @throws CheckpointException if the store cannot be read or a delete fails
   */
  GcResult gc(String job) throws CheckpointException;

  /**
   * The blob store underneath.
   *
   * @return the blob store, owned by this store unless given to its builder
   */
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
    private Encryption encryption;

    private Builder() {}

    /**
     * Seals new checkpoints with the current key and opens only images these keys authenticate
     * (docs/SECURITY.md). A store URI may instead name a key file with {@code keyFile=PATH}; not
     * both. Without keys, images are stored unencrypted and encrypted ones cannot be opened.
     *
     * @param encryption the keys
     * @return this builder
     */
    public Builder encryption(Encryption encryption) {
      this.encryption = Objects.requireNonNull(encryption, "encryption");
      return this;
    }

    /**
     * The store, found by URI scheme among the {@link dev.ckpt.spi.StoreProvider}s.
     *
     * @param uri the store's URI; replaces a blob store given before
     * @return this builder
     */
    public Builder uri(URI uri) {
      this.uri = Objects.requireNonNull(uri, "uri");
      this.blobStore = null;
      return this;
    }

    /**
     * A blob store opened by the caller, who stays responsible for closing it.
     *
     * @param store the blob store; replaces a URI given before
     * @return this builder
     */
    public Builder blobStore(BlobStore store) {
      this.blobStore = Objects.requireNonNull(store, "store");
      this.uri = null;
      return this;
    }

    /**
     * Runs hashing, compression, uploads and downloads. The caller keeps ownership. Without one,
     * the store creates a pool of {@link #parallelism(int)} threads and shuts it down on close.
     *
     * @param executor the executor
     * @return this builder
     */
    public Builder executor(ExecutorService executor) {
      this.executor = Objects.requireNonNull(executor, "executor");
      return this;
    }

    /**
     * How many chunks or downloads may be in flight at once; bounds memory. Default: cores, at least 2.
     *
     * @param n the parallelism, from 1 to 256
     * @return this builder
     */
    public Builder parallelism(int n) {
      if (n < 1 || n > 256) {
        throw new IllegalArgumentException("parallelism must be in [1, 256], got " + n);
      }
      this.parallelism = n;
      return this;
    }

    /**
     * The clock for creation times, deadlines and the GC grace period; default the system UTC clock.
     *
     * @param clock the clock
     * @return this builder
     */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /**
     * How new chunks are compressed; default {@link Compression#LZ4}. Reading handles either.
     *
     * @param compression the compression
     * @return this builder
     */
    public Builder compression(Compression compression) {
      this.compression = Objects.requireNonNull(compression, "compression");
      return this;
    }

    /**
     * Chunk size in bytes: a power of two from 4 KiB (a page) to 4 MiB. Default 64 KiB.
     *
     * @param bytes the chunk size
     * @return this builder
     */
    public Builder chunkSize(int bytes) {
      if (bytes < 4096 || bytes > 4 << 20 || Integer.bitCount(bytes) != 1) {
        throw new IllegalArgumentException("chunk size must be a power of two in [4096, 4194304], got " + bytes);
      }
      this.chunkSize = bytes;
      return this;
    }

    /**
     * Target pack size in bytes, from 1 MiB to 256 MiB. Default 16 MiB.
     *
     * @param bytes the pack size, at least two chunks
     * @return this builder
     */
    public Builder packSize(int bytes) {
      if (bytes < 1 << 20 || bytes > 256 << 20) {
        throw new IllegalArgumentException("pack size must be in [1 MiB, 256 MiB], got " + bytes);
      }
      this.packSize = bytes;
      return this;
    }

    /**
     * Unreferenced packs younger than this are never deleted. Default one hour.
     *
     * @param grace the grace period, not negative
     * @return this builder
     */
    public Builder gcGracePeriod(Duration grace) {
      if (grace.isNegative()) {
        throw new IllegalArgumentException("gc grace period must not be negative, got " + grace);
      }
      this.gcGracePeriod = grace;
      return this;
    }

    /**
     * Where to look for store providers; default the thread's context class loader.
     *
     * @param loader the class loader
     * @return this builder
     */
    public Builder classLoader(ClassLoader loader) {
      this.classLoader = Objects.requireNonNull(loader, "loader");
      return this;
    }

    /**
     * Told of the bytes every write and read of this store moves, for progress bars.
     *
     * @param listener the listener; default none
     * @return this builder
     */
    public Builder progress(ProgressListener listener) {
      this.progress = Objects.requireNonNull(listener, "listener");
      return this;
    }

    /**
     * Opens the store.
     *
     * @return the store, which the caller closes
     * @throws IllegalStateException if neither a URI nor a blob store is set, or a pack cannot
     *     hold two chunks
     * @throws StoreConfigurationException if no provider serves the URI's scheme or the URI is invalid
     * @throws CheckpointException if the store cannot be opened
     */
    public CheckpointStore build() throws CheckpointException {
      if (uri == null && blobStore == null) {
        throw new IllegalStateException("set a store with uri(...) or blobStore(...)");
      }
      if (packSize < 2 * chunkSize) {
        throw new IllegalStateException("pack size " + packSize + " must hold at least two chunks of " + chunkSize);
      }
      return DefaultCheckpointStore.create(uri, blobStore, executor, parallelism, clock, compression, chunkSize,
          packSize, gcGracePeriod, classLoader, progress, encryption);
    }
  }
}
