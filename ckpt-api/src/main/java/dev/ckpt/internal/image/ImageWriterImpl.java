package dev.ckpt.internal.image;

import dev.ckpt.CheckpointException;
import dev.ckpt.CheckpointInfo;
import dev.ckpt.Compression;
import dev.ckpt.ImageWriter;
import dev.ckpt.PartOutput;
import dev.ckpt.ProgressListener;
import dev.ckpt.StoreException;
import dev.ckpt.spi.JobLock;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The dump pipeline. The caller's thread copies part bytes into pooled chunk buffers; executor
 * tasks detect zeros, hash, deduplicate, compress and append to packs, and the task that fills a
 * pack uploads it. The fixed buffer pool is the back-pressure: memory stays bounded by
 * {@code buffers * chunkSize + (parallelism + 1) * packSize} whatever the image size.
 */
final class ImageWriterImpl implements ImageWriter {
  private static final Logger LOG = LoggerFactory.getLogger(ImageWriterImpl.class);

  private final DefaultCheckpointStore store;
  private final String job;
  private final Map<Hash256, ChunkLoc> known;
  private final Executor executor;
  private final int chunkSize;
  private final int packSize;
  private final boolean compress;
  private final PackFormat format;
  private final Instant started;
  private final ProgressListener progress;
  private final byte[] zeros;
  /** Chunks travel to workers in batches: one task and one hand-off per batch, not per chunk. */
  private final int batchSize;
  private final ThreadLocal<byte[]> records;

  private final BlockingQueue<byte[]> buffers;
  /**
   * Chunk tasks that read a caller's own array ({@link BorrowingPartOutput#writeBorrowed}) in
   * flight: as many as there are pooled buffers, so a borrowed write paces itself like a copied
   * one, and commit waits for them as for the pooled ones.
   */
  private final java.util.concurrent.Semaphore borrowed;
  private final int bufferCount;
  private final AtomicReference<Throwable> failure = new AtomicReference<>();
  private final ConcurrentHashMap<Hash256, Boolean> claimed = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<Hash256, ChunkLoc> written = new ConcurrentHashMap<>();
  private final Set<String> uploadedPacks = ConcurrentHashMap.newKeySet();
  private final LongAdder bytesScanned = new LongAdder();
  private final LongAdder newRawBytes = new LongAdder();
  private final LongAdder newStoredBytes = new LongAdder();
  private final LongAdder newChunks = new LongAdder();
  private final LongAdder reusedChunks = new LongAdder();

  private final Object packLock = new Object();
  private PackBuffer currentPack;
  private final BlockingQueue<byte[]> packArrays;
  private final int maxPackArrays;
  private int createdPackArrays;

  private final Map<String, String> attributes = new LinkedHashMap<>();
  private final List<PartState> parts = new ArrayList<>();
  private final Set<String> partNames = new HashSet<>();
  private PartOutputImpl openPart;
  private boolean finished;
  /**
   * Set once the manifest write has been sent. From then on the manifest may exist whatever the
   * store answered, and a manifest whose packs were deleted is a lost checkpoint: this writer's
   * packs are left to GC, which deletes them only when no manifest references them.
   */
  private volatile boolean manifestSent;

  /**
   * One chunk-sized (or zero-run) piece of a part. {@code hash} stays null for zeros. A piece
   * taken from the base may be a slice of a chunk: {@code length} bytes from {@code from}.
   */
  private static final class Slot {
    final long length;
    final int from;
    volatile Hash256 hash;

    Slot(long length) {
      this(length, 0);
    }

    Slot(long length, int from) {
      this.length = length;
      this.from = from;
    }
  }

  private static final class PartState {
    final String name;
    final Map<String, String> attributes;
    final List<Slot> slots = new ArrayList<>();
    long size;

    PartState(String name, Map<String, String> attributes) {
      this.name = name;
      this.attributes = attributes;
    }
  }

  private static final class PackBuffer {
    final String name = UUID.randomUUID().toString().replace("-", "");
    final byte[] data;
    int length;

    PackBuffer(byte[] data) {
      this.data = data;
      ByteBuffer b = ByteBuffer.wrap(data);
      PackFormat.writeHeader(b);
      this.length = b.position();
    }
  }

  /** The job's writer lock, given up at commit or abort. */
  private final JobLock lock;
  /** Ids and records under the store's current key, or none. */
  private final Sealing sealing;

  ImageWriterImpl(DefaultCheckpointStore store, String job, Map<Hash256, ChunkLoc> known, Executor executor,
      int parallelism, int chunkSize, int packSize, Compression compression, PackFormat format, Instant started,
      ProgressListener progress, JobLock lock, Sealing sealing) {
    this.sealing = sealing;
    this.lock = lock;
    this.progress = progress;
    this.store = store;
    this.job = job;
    this.known = known;
    this.executor = executor;
    this.chunkSize = chunkSize;
    this.packSize = packSize;
    this.compress = compression == Compression.LZ4;
    this.format = format;
    this.started = started;
    this.zeros = new byte[chunkSize];
    this.batchSize = Math.max(chunkSize, 1 << 20);
    this.records = ThreadLocal.withInitial(() -> new byte[format.maxRecordLength(chunkSize)]);
    this.bufferCount = 2 * parallelism + 1;
    this.buffers = new ArrayBlockingQueue<>(bufferCount);
    for (int i = 0; i < bufferCount; i++) {
      buffers.add(new byte[batchSize]);
    }
    this.borrowed = new java.util.concurrent.Semaphore(bufferCount);
    this.maxPackArrays = parallelism + 1;
    this.packArrays = new ArrayBlockingQueue<>(maxPackArrays);
  }

  @Override
  public PartOutput part(String name, Map<String, String> attrs) throws CheckpointException {
    checkOpen();
    Objects.requireNonNull(attrs, "attributes");
    if (name == null || !Layout.PART.matcher(name).matches()) {
      throw new IllegalArgumentException("part name '" + name + "' must be 1 to 255 characters of [A-Za-z0-9._:/-]");
    }
    if (openPart != null) {
      throw new IllegalStateException("part " + openPart.state.name + " is still open; close it before starting " + name);
    }
    if (!partNames.add(name)) {
      throw new IllegalArgumentException("part " + name + " was already written to this image");
    }
    PartState state = new PartState(name, Map.copyOf(attrs));
    parts.add(state);
    openPart = new PartOutputImpl(state);
    return openPart;
  }

  private Instant deadline;

  @Override
  public ImageWriter deadline(Instant deadline) {
    checkOpen();
    this.deadline = deadline;
    return this;
  }

  Instant deadline() {
    return deadline;
  }

  @Override
  public void checkDeadline() throws dev.ckpt.CheckpointTimeoutException {
    if (deadline != null && store.clock().instant().isAfter(deadline)) {
      throw new dev.ckpt.CheckpointTimeoutException("checkpoint of job " + job + " passed its deadline " + deadline
          + " while its source was captured; aborted, nothing committed");
    }
  }

  @Override
  public int chunkSize() {
    return chunkSize;
  }

  /** The base's parts by name, and each part's extent start offsets; set by {@link #base}. */
  private Manifest base;
  private Map<String, Manifest.Part> baseParts;
  private final Map<String, long[]> baseOffsets = new HashMap<>();

  @Override
  public boolean base(long id) {
    return base(id, null);
  }

  @Override
  public boolean base(CheckpointInfo of) {
    return of.job().equals(job) && base(of.id(), of);
  }

  /** Sets checkpoint {@code id} as the base, if it can be one and (with {@code of}) is still that checkpoint. */
  private boolean base(long id, CheckpointInfo of) {
    checkOpen();
    try {
      Manifest m = store.readManifest(job, id);
      if (of != null && (m.created().toEpochMilli() != of.created().toEpochMilli() || m.parentId() != of.parentId())) {
        LOG.debug("job {}: checkpoint {} is no longer the one committed at {}: not a base", job, id, of.created());
        return false;
      }
      if (m.chunkSize() != chunkSize) {
        return false; // chunks of another size do not line up with this image's
      }
      if (!Objects.equals(m.keyId(), sealing.keyId())) {
        return false; // its chunks are sealed with another key (or none), and its ids are not this image's
      }
      Map<String, Manifest.Part> byName = new HashMap<>();
      for (Manifest.Part p : m.parts()) {
        byName.put(p.name(), p);
      }
      base = m;
      baseParts = byName;
      baseOffsets.clear();
      return true;
    } catch (CheckpointException e) {
      LOG.debug("job {}: checkpoint {} cannot be a base: {}", job, id, e.getMessage());
      return false;
    }
  }

  /**
   * Most extents a chunk-sized window of the base may have for a range inside it to be taken
   * from the base: beyond this, the window is stored whole again. Each sparse checkpoint cuts a
   * window into more slices; this bounds the chunks a restore reads for one window.
   */
  static final int MAX_WINDOW_EXTENTS = 8;

  /**
   * The slots of base part {@code name} covering [{@code from}, {@code from + length}), slices of
   * the base's chunks where the range cuts them, or null if the base does not have them all, a
   * chunk among them is not reusable now, or the range is inside a window the base has already
   * cut into more than {@link #MAX_WINDOW_EXTENTS} extents.
   */
  private List<Slot> fromBase(String name, long from, long length) {
    Manifest.Part p = baseParts == null ? null : baseParts.get(name);
    if (p == null || from + length > p.size()) {
      return null;
    }
    long[] starts = baseOffsets.computeIfAbsent(name, k -> {
      long[] at = new long[p.extentCount() + 1];
      for (int e = 0; e < p.extentCount(); e++) {
        at[e + 1] = at[e] + p.length()[e];
      }
      return at;
    });
    long end = from + length;
    if (from % chunkSize != 0 && cutUp(p, starts, from) || end % chunkSize != 0 && end != p.size() && cutUp(p, starts, end)) {
      return null;
    }
    int e = extentAt(starts, from);
    List<Slot> out = new ArrayList<>();
    long pos = from;
    for (; pos < end && e < p.extentCount(); e++) {
      long take = Math.min(starts[e + 1], end) - pos;
      int c = p.chunkIndex()[e];
      if (c < 0) {
        out.add(new Slot(take));
        pos += take;
        continue;
      }
      Hash256 h = base.chunks().get(c).hash();
      if (!known.containsKey(h)) {
        return null; // its pack is condemned or gone: the bytes must be stored again
      }
      Slot s = new Slot(take, p.from()[e] + (int) (pos - starts[e]));
      s.hash = h;
      out.add(s);
      pos += take;
    }
    return pos == end ? out : null;
  }

  /** Whether the base has cut the window around byte {@code at} into more than {@link #MAX_WINDOW_EXTENTS} extents. */
  private boolean cutUp(Manifest.Part p, long[] starts, long at) {
    long window = at - at % chunkSize;
    int first = extentAt(starts, window);
    int last = extentAt(starts, Math.min(p.size(), window + chunkSize) - 1);
    return last - first + 1 > MAX_WINDOW_EXTENTS;
  }

  /** The extent that holds byte {@code at}, given the extents' start offsets. */
  private static int extentAt(long[] starts, long at) {
    int e = java.util.Arrays.binarySearch(starts, at);
    return e < 0 ? -e - 2 : e;
  }

  @Override
  public ImageWriter attribute(String key, String value) {
    if (dev.ckpt.CheckpointInfo.KEY_ID.equals(key)) {
      throw new IllegalArgumentException("attribute " + key + " is reserved: the store reports a checkpoint's key id from its"
          + " authenticated header");
    }
    checkOpen();
    attributes.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
    return this;
  }

  private void checkOpen() {
    if (finished) {
      throw new IllegalStateException("image writer for job " + job + " is already committed or closed");
    }
  }

  private void rethrowFailure() throws CheckpointException {
    Throwable t = failure.get();
    if (t == null) {
      return;
    }
    if (t instanceof CheckpointException ce) {
      throw new CheckpointException("checkpoint of job " + job + " failed: " + ce.getMessage(), ce);
    }
    throw new CheckpointException("checkpoint of job " + job + " failed: " + t, t);
  }

  private void fail(Throwable t) {
    if (!failure.compareAndSet(null, t)) {
      Throwable first = failure.get();
      if (first != t) {
        first.addSuppressed(t);
      }
    }
  }

  private byte[] takeBuffer() throws CheckpointException {
    try {
      return buffers.take();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CheckpointException("checkpoint of job " + job + " interrupted", e);
    }
  }

  /**
   * Hands a batch to a chunk task: a pooled buffer, or an array the caller lends (for which it
   * has taken a permit of {@link #borrowed}).
   */
  private void submit(List<Slot> slots, byte[] buf, boolean pooled) {
    try {
      executor.execute(() -> process(slots, buf, pooled));
    } catch (RejectedExecutionException e) {
      giveBack(buf, pooled);
      fail(new CheckpointException("executor rejected a chunk task (is it shut down?)", e));
    } catch (RuntimeException | Error e) {
      giveBack(buf, pooled); // the task never runs: drain() must not wait for it
      fail(e);
      throw e;
    }
  }

  /** A batch's buffer back to the pool, or a lent array's permit back: drain() counts on both. */
  private void giveBack(byte[] buf, boolean pooled) {
    if (pooled) {
      buffers.add(buf);
    } else {
      borrowed.release();
    }
  }

  /**
   * Runs on an executor thread: the chunks of one batch, from buffer to pack. A pooled buffer
   * goes back to the pool, a borrowed one gives its permit back.
   */
  private void process(List<Slot> slots, byte[] buf, boolean pooled) {
    try {
      MessageDigest digest = Hash256.newDigest();
      int offset = 0;
      for (Slot slot : slots) {
        if (failure.get() != null) {
          return;
        }
        processChunk(slot, buf, offset, (int) slot.length, digest);
        offset += (int) slot.length;
      }
    } catch (Throwable t) {
      fail(t);
    } finally {
      // The buffer goes back only when its chunks are in packs: drain() counts on that.
      giveBack(buf, pooled);
    }
  }

  private void processChunk(Slot slot, byte[] buf, int offset, int length, MessageDigest digest)
      throws CheckpointException {
    if (Arrays.mismatch(buf, offset, offset + length, zeros, 0, length) < 0) {
      return; // zero chunk: slot.hash stays null
    }
    bytesScanned.add(length);
    Hash256 hash = sealing.id(digest, buf, offset, length);
    slot.hash = hash;
    if (known.containsKey(hash) || claimed.putIfAbsent(hash, Boolean.TRUE) != null) {
      reusedChunks.increment();
      return;
    }
    byte[] record = records.get();
    int recordLength = format.encode(buf, offset, length, hash, compress, record, sealing);
    append(hash, record, recordLength, length, PackFormat.payloadHash(record, recordLength, hash, digest));
    newChunks.increment();
    newRawBytes.add(length);
    newStoredBytes.add(recordLength);
  }

  private void append(Hash256 hash, byte[] record, int recordLength, int rawLength, Hash256 payloadHash)
      throws CheckpointException {
    PackBuffer full = null;
    synchronized (packLock) {
      if (currentPack != null && currentPack.length + recordLength > packSize) {
        full = currentPack;
        currentPack = null;
      }
      if (currentPack == null) {
        currentPack = new PackBuffer(takePackArray());
      }
      System.arraycopy(record, 0, currentPack.data, currentPack.length, recordLength);
      written.put(hash, new ChunkLoc(currentPack.name, currentPack.length, recordLength, rawLength, record[0],
          payloadHash));
      currentPack.length += recordLength;
    }
    if (full != null) {
      upload(full);
    }
  }

  private byte[] takePackArray() throws CheckpointException {
    byte[] a = packArrays.poll();
    if (a != null) {
      return a;
    }
    // Arrays are made lazily, up to one per uploader plus the one being filled, then recycled.
    synchronized (packArrays) {
      if (createdPackArrays < maxPackArrays) {
        createdPackArrays++;
        return new byte[packSize + format.maxRecordLength(chunkSize)];
      }
    }
    try {
      return packArrays.take();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CheckpointException("checkpoint of job " + job + " interrupted", e);
    }
  }

  private void upload(PackBuffer pack) throws StoreException {
    String key = Layout.packKey(job, pack.name);
    try {
      if (failure.get() == null) {
        store.blobs().put(key, ByteBuffer.wrap(pack.data, 0, pack.length));
        uploadedPacks.add(pack.name);
        newStoredBytes.add(PackFormat.HEADER_BYTES);
      }
    } finally {
      packArrays.add(pack.data);
    }
  }

  /**
   * Waits until every chunk task has finished: they all hand their buffer, or permit, back.
   * Interrupted, it fails the image and still waits, without interruption, for the tasks (they
   * stop at their next chunk): a task must not read a lent array once commit or close returns.
   */
  private void drain() throws CheckpointException {
    List<byte[]> held = new ArrayList<>(bufferCount);
    CheckpointException interrupted = null;
    try {
      while (held.size() < bufferCount) {
        try {
          held.add(buffers.take());
        } catch (InterruptedException e) {
          if (interrupted == null) {
            interrupted = new CheckpointException("checkpoint of job " + job + " interrupted while waiting for chunk tasks", e);
            fail(interrupted);
          }
        }
      }
      borrowed.acquireUninterruptibly(bufferCount);
      borrowed.release(bufferCount);
    } finally {
      buffers.addAll(held);
    }
    if (interrupted != null) {
      Thread.currentThread().interrupt();
      throw interrupted;
    }
  }

  @Override
  public CheckpointInfo commit() throws CheckpointException {
    checkOpen();
    if (openPart != null) {
      throw new IllegalStateException("part " + openPart.state.name + " is still open; close it before commit");
    }
    finished = true;
    boolean committed = false;
    try {
      drain();
      rethrowFailure();
      PackBuffer last;
      synchronized (packLock) {
        last = currentPack;
        currentPack = null;
      }
      if (last != null) {
        upload(last);
      }
      rethrowFailure();
      Manifest draft = buildManifest();
      CheckpointInfo info = store.commit(this, draft, uploadedPacks, newStoredBytes.sum());
      committed = true;
      LOG.debug("committed {}@{}: {} new chunks, {} reused", job, info.id(), info.newChunks(), info.reusedChunks());
      return info;
    } finally {
      if (!committed && !manifestSent) {
        deleteUploaded();
      } else if (!committed) {
        LOG.debug("job {}: the commit failed after its manifest was sent; {} packs are left to gc", job,
            uploadedPacks.size());
      }
      unlock();
    }
  }

  /** Called by the store just before it sends the manifest. */
  void manifestSent() {
    manifestSent = true;
  }

  private void unlock() {
    try {
      lock.close();
    } catch (StoreException e) {
      LOG.warn("job {}: could not release the writer lock: {}", job, e.getMessage());
    }
  }

  /** The manifest without id, parent and creation time, which the store fills in at commit. */
  private Manifest buildManifest() throws CheckpointException {
    Map<Hash256, Integer> chunkIndex = new LinkedHashMap<>();
    List<Manifest.Chunk> chunks = new ArrayList<>();
    Map<String, Integer> packIndex = new LinkedHashMap<>();
    List<String> packs = new ArrayList<>();
    List<Manifest.Part> outParts = new ArrayList<>(parts.size());
    for (PartState p : parts) {
      int[] idx = new int[p.slots.size()];
      long[] length = new long[p.slots.size()];
      int[] from = new int[p.slots.size()];
      int n = 0;
      for (Slot s : p.slots) {
        Hash256 h = s.hash;
        if (h == null) {
          if (n > 0 && idx[n - 1] < 0) {
            length[n - 1] += s.length;
          } else {
            idx[n] = -1;
            length[n] = s.length;
            n++;
          }
          continue;
        }
        Integer ci = chunkIndex.get(h);
        if (ci == null) {
          ChunkLoc loc = written.get(h);
          if (loc == null) {
            loc = known.get(h);
          }
          if (loc == null) {
            throw new IllegalStateException("chunk " + h + " of part " + p.name + " was neither written nor known");
          }
          Integer pi = packIndex.get(loc.pack());
          if (pi == null) {
            pi = packs.size();
            packIndex.put(loc.pack(), pi);
            packs.add(loc.pack());
          }
          ci = chunks.size();
          chunkIndex.put(h, ci);
          chunks.add(new Manifest.Chunk(h, pi, loc.offset(), loc.recordLength(), loc.rawLength(), loc.codec(),
              loc.payloadHash()));
        }
        if (n > 0 && idx[n - 1] == ci && from[n - 1] + length[n - 1] == s.from) {
          length[n - 1] += s.length; // two ranges of one base chunk, copied one after the other
        } else {
          idx[n] = ci;
          length[n] = s.length;
          from[n] = s.from;
          n++;
        }
      }
      outParts.add(new Manifest.Part(p.name, p.attributes, p.size, Arrays.copyOf(idx, n), Arrays.copyOf(length, n),
          Arrays.copyOf(from, n)));
    }
    Manifest.Stats stats = new Manifest.Stats(bytesScanned.sum(), newRawBytes.sum(), newStoredBytes.sum(),
        (int) newChunks.sum(), (int) reusedChunks.sum(), 0);
    return new Manifest(job, 0, 0, started, chunkSize, Map.copyOf(attributes), packs, chunks, outParts, stats, sealing.keyId());
  }

  Instant started() {
    return started;
  }

  @Override
  public String job() {
    return job;
  }

  @Override
  public void close() {
    if (finished) {
      return;
    }
    finished = true;
    fail(new CheckpointException("image writer for job " + job + " was closed without commit"));
    try {
      drain();
    } catch (CheckpointException e) {
      LOG.warn("abort of job {}: {}", job, e.getMessage());
    }
    deleteUploaded();
    unlock();
  }

  private void deleteUploaded() {
    for (String pack : uploadedPacks) {
      try {
        store.blobs().delete(Layout.packKey(job, pack));
      } catch (StoreException e) {
        // GC collects it later: an unreferenced pack is garbage, never damage.
        LOG.warn("could not delete pack {} of aborted checkpoint of job {}: {}", pack, job, e.getMessage());
      }
    }
    uploadedPacks.clear();
  }

  static Duration between(Instant a, Instant b) {
    Duration d = Duration.between(a, b);
    return d.isNegative() ? Duration.ZERO : d;
  }

  private final class PartOutputImpl implements BorrowingPartOutput {
    final PartState state;
    /**
     * The batch being filled: its bytes are contiguous in {@code buf} but need not be in the part.
     * Ranges copied from the base and zero runs between them take no room, so a sparse capture
     * (a written page here and there) fills one batch and one chunk task, not one per page.
     */
    private byte[] buf;
    private int fill;
    /**
     * How many bytes {@code buf} may take: the batch ends on a chunk boundary of the part (or
     * where the part ends).
     */
    private int limit;
    /** The slots of {@code buf}'s first {@code slotted} bytes; the rest get theirs at the next cut. */
    private List<Slot> bufSlots;
    private int slotted;
    /** Part offset of {@code buf[slotted]}. */
    private long unslottedAt;
    private boolean closed;

    PartOutputImpl(PartState state) {
      this.state = state;
    }

    private void check() throws CheckpointException {
      if (closed) {
        throw new IllegalStateException("part " + state.name + " is closed");
      }
      rethrowFailure();
    }

    /** A buffer for the batch that starts at the part's current position. */
    private void startBatch() throws CheckpointException {
      buf = takeBuffer();
      fill = 0;
      bufSlots = new ArrayList<>();
      slotted = 0;
      unslottedAt = state.size;
      limit = batchSize - (int) (state.size % chunkSize);
    }

    @Override
    public void write(ByteBuffer src) throws CheckpointException {
      check();
      while (src.hasRemaining()) {
        if (buf == null) {
          startBatch();
        }
        int n = Math.min(src.remaining(), limit - fill);
        src.get(buf, fill, n);
        fill += n;
        state.size += n;
        if (fill == limit) {
          flush();
        }
      }
    }

    @Override
    public void writeBorrowed(byte[] b, int length) throws CheckpointException {
      check();
      if (length < 0 || length > b.length) {
        throw new IllegalArgumentException("borrowed write of " + length + " bytes from an array of " + b.length);
      }
      if (fill != 0 || state.size % chunkSize != 0) {
        write(ByteBuffer.wrap(b, 0, length)); // not on a batch boundary: copied as any write
        return;
      }
      if (length == 0) {
        return;
      }
      // The permit first: interrupted here, nothing of this write is in the part.
      try {
        borrowed.acquire();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        CheckpointException ce = new CheckpointException("checkpoint of job " + job + " interrupted", e);
        fail(ce);
        throw ce;
      }
      progress.bytes(length);
      List<Slot> slots = new ArrayList<>(length / chunkSize + 1);
      addSlots(state.size, length, slots);
      state.size += length;
      submit(slots, b, false);
    }

    @Override
    public void writeZeros(long count) throws CheckpointException {
      check();
      if (count < 0) {
        throw new IllegalArgumentException("negative zero count " + count);
      }
      int partial = (int) (state.size % chunkSize);
      if (partial > 0 && count > 0) {
        // Up to the chunk boundary: part of the chunk being filled, or (after a range copied
        // from the base) zeros of their own, so that the zero run starts on a boundary.
        int n = (int) Math.min(count, chunkSize - partial);
        if (fill > slotted) {
          Arrays.fill(buf, fill, fill + n, (byte) 0);
          fill += n;
          state.size += n;
          if (fill == limit) {
            flush();
          }
        } else {
          cut();
          state.slots.add(new Slot(n));
          state.size += n;
          gap();
        }
        count -= n;
        if (state.size % chunkSize != 0) {
          return;
        }
      }
      long whole = count - count % chunkSize;
      if (whole > 0) {
        cut();
        state.slots.add(new Slot(whole));
        state.size += whole;
        count -= whole;
        gap();
      }
      if (count > 0) {
        if (buf == null) {
          startBatch();
        }
        Arrays.fill(buf, fill, fill + (int) count, (byte) 0);
        fill += (int) count;
        state.size += count;
        if (fill == limit) {
          flush();
        }
      }
    }

    @Override
    public boolean copyFromBase(long length) throws CheckpointException {
      check();
      if (length <= 0) {
        throw new IllegalArgumentException("copyFromBase of " + length + " bytes");
      }
      List<Slot> slots = fromBase(state.name, state.size, length);
      if (slots == null) {
        return false;
      }
      cut(); // the bytes written since the last boundary are a chunk of their own
      for (Slot slot : slots) {
        if (slot.hash != null) {
          reusedChunks.increment();
        }
        state.slots.add(slot);
      }
      state.size += length;
      gap();
      return true;
    }

    /** Gives the bytes of {@code buf} that have none their slots, in the part's order. */
    private void cut() {
      if (fill > slotted) {
        addSlots(unslottedAt, fill - slotted, bufSlots);
        slotted = fill;
      }
    }

    /**
     * After slots that took no room in {@code buf} (zeros, the base's chunks): the next bytes
     * start at the part's position, and the batch's limit moves so that it still ends on a chunk
     * boundary of the part. A batch with no room left before such a boundary is handed off.
     */
    private void gap() {
      if (buf == null) {
        return;
      }
      unslottedAt = state.size;
      int room = batchSize - fill;
      int end = room - (int) ((unslottedAt + room) % chunkSize);
      if (end <= 0) {
        flush();
      } else {
        limit = fill + end;
      }
    }

    /**
     * Slots for {@code length} bytes from part offset {@code at}, added to the part and to
     * {@code into}: cut at the part's chunk boundaries, so that the same bytes at the same offset
     * are the same chunk in every checkpoint.
     */
    private void addSlots(long at, int length, List<Slot> into) {
      int off = 0;
      while (off < length) {
        int n = (int) Math.min(length - off, chunkSize - (at + off) % chunkSize);
        Slot slot = new Slot(n);
        into.add(slot);
        state.slots.add(slot);
        off += n;
      }
    }

    private void flush() {
      cut();
      progress.bytes(fill);
      List<Slot> slots = bufSlots;
      byte[] b = buf;
      buf = null;
      bufSlots = null;
      fill = 0;
      slotted = 0;
      submit(slots, b, true);
    }

    @Override
    public long position() {
      return state.size;
    }

    @Override
    public void close() throws CheckpointException {
      if (closed) {
        return;
      }
      if (buf != null) {
        flush();
      }
      closed = true;
      openPart = null;
      rethrowFailure();
    }
  }
}
