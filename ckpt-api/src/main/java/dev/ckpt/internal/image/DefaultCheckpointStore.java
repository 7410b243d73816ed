package dev.ckpt.internal.image;

import dev.ckpt.CheckpointException;
import dev.ckpt.Encryption;
import dev.ckpt.CheckpointInfo;
import dev.ckpt.CheckpointNotFoundException;
import dev.ckpt.CheckpointStore;
import dev.ckpt.CheckpointTimeoutException;
import dev.ckpt.CommitConflictException;
import dev.ckpt.CommitUnknownException;
import dev.ckpt.Compression;
import dev.ckpt.CorruptImageException;
import dev.ckpt.GcResult;
import dev.ckpt.ImageReader;
import dev.ckpt.ImageWriter;
import dev.ckpt.NoSuchKeyException;
import dev.ckpt.ProgressListener;
import dev.ckpt.Retention;
import dev.ckpt.StoreException;
import dev.ckpt.VerifyResult;
import dev.ckpt.internal.StoreProviders;
import dev.ckpt.spi.BlobInfo;
import dev.ckpt.spi.BlobStore;
import dev.ckpt.spi.JobLock;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The one {@link CheckpointStore} implementation; public only for {@link CheckpointStore.Builder}. */
public final class DefaultCheckpointStore implements CheckpointStore {
  private static final Logger LOG = LoggerFactory.getLogger(DefaultCheckpointStore.class);
  /** Reads of a manifest whose write had no clear answer, before its outcome is called unknown. */
  private static final int READ_BACK_ATTEMPTS = 3;
  private static final long READ_BACK_PAUSE_MILLIS = 200;

  private final BlobStore blobs;
  private final boolean ownsBlobs;
  private final ExecutorService executor;
  private final boolean ownsExecutor;
  private final int parallelism;
  private final Clock clock;

  /** The clock deadlines are measured on. */
  Clock clock() {
    return clock;
  }
  private final Compression compression;
  private final int chunkSize;
  private final int packSize;
  private final Duration gcGrace;
  private final PackFormat format = new PackFormat();
  private final ChunkFetcher fetcher;
  private final Map<String, JobIndex> indexes = new HashMap<>();
  private final ProgressListener progress;
  private final KeyRing keys;

  private DefaultCheckpointStore(BlobStore blobs, boolean ownsBlobs, ExecutorService executor, boolean ownsExecutor,
      int parallelism, Clock clock, Compression compression, int chunkSize, int packSize, Duration gcGrace,
      ProgressListener progress, KeyRing keys) {
    this.keys = keys;
    this.blobs = blobs;
    this.ownsBlobs = ownsBlobs;
    this.executor = executor;
    this.ownsExecutor = ownsExecutor;
    this.parallelism = parallelism;
    this.clock = clock;
    this.compression = compression;
    this.chunkSize = chunkSize;
    this.packSize = packSize;
    this.gcGrace = gcGrace;
    this.progress = progress;
    this.fetcher = new ChunkFetcher(blobs, executor, parallelism, format, progress, keys);
  }

  /** The query parameter of a store URI that names a key file; taken out before the provider sees the URI. */
  public static final String KEY_FILE_PARAM = "keyFile";

  public static CheckpointStore create(URI uri, BlobStore blobStore, ExecutorService executor, int parallelism,
      Clock clock, Compression compression, int chunkSize, int packSize, Duration gcGrace, ClassLoader loader,
      ProgressListener progress, Encryption encryption) throws CheckpointException {
    if (uri != null && uri.getRawQuery() != null) {
      List<String> kept = new ArrayList<>();
      String keyFile = null;
      for (String kv : uri.getRawQuery().split("&")) {
        if (kv.startsWith(KEY_FILE_PARAM + "=")) {
          if (keyFile != null) {
            throw new dev.ckpt.StoreConfigurationException("the store URI (" + uri.getScheme() + ":) names " + KEY_FILE_PARAM
                + " twice");
          }
          try {
            // Percent-escapes only: a '+' in a path is a '+'.
            keyFile = java.net.URLDecoder.decode(kv.substring(KEY_FILE_PARAM.length() + 1).replace("+", "%2B"),
                StandardCharsets.UTF_8);
          } catch (IllegalArgumentException e) {
            throw new dev.ckpt.StoreConfigurationException("the store URI (" + uri.getScheme() + ":) has a malformed "
                + KEY_FILE_PARAM + ": " + e.getMessage());
          }
          if (keyFile.isEmpty()) {
            throw new dev.ckpt.StoreConfigurationException("the store URI (" + uri.getScheme() + ":) has an empty "
                + KEY_FILE_PARAM);
          }
        } else if (!kv.isEmpty()) {
          kept.add(kv);
        }
      }
      if (keyFile != null) {
        if (encryption != null) {
          throw new dev.ckpt.StoreConfigurationException("the store URI (" + uri.getScheme() + ":) names a key file, and"
              + " keys were also given to the builder; give them once");
        }
        encryption = Encryption.fromKeyFile(java.nio.file.Path.of(keyFile));
        uri = withoutKeyFile(uri, kept);
      }
    }
    boolean ownsBlobs = blobStore == null;
    BlobStore blobs = ownsBlobs
        ? StoreProviders.open(uri, loader != null ? loader : Thread.currentThread().getContextClassLoader())
        : blobStore;
    try {
      // The store's own keys (a KMS envelope) seal; keys given as well open older checkpoints.
      java.util.Optional<Encryption> own = blobs.encryption();
      if (own.isPresent()) {
        encryption = encryption == null ? own.get() : own.get().withOlderKeys(encryption);
      }
    } catch (CheckpointException | RuntimeException e) {
      if (ownsBlobs) {
        blobs.close();
      }
      throw e;
    }
    boolean ownsExecutor = executor == null;
    ExecutorService exec = ownsExecutor ? Executors.newFixedThreadPool(parallelism, namedThreads()) : executor;
    return new DefaultCheckpointStore(blobs, ownsBlobs, exec, ownsExecutor, parallelism, clock, compression,
        chunkSize, packSize, gcGrace, progress, KeyRing.of(encryption));
  }

  /**
   * {@code uri} with only the {@code kept} query parameters, and everything else exactly as it was
   * written: the text before the first '?' (which cannot occur unescaped before the query) and the
   * fragment.
   */
  static URI withoutKeyFile(URI uri, List<String> kept) {
    String s = uri.toString();
    int q = s.indexOf('?');
    int f = s.indexOf('#', q);
    return URI.create(s.substring(0, q) + (kept.isEmpty() ? "" : "?" + String.join("&", kept)) + (f < 0 ? "" : s.substring(f)));
  }

  /** The one job-name check, for the public entry points. */
  public static String checkJob(String job) {
    return Layout.checkJob(job);
  }

  private static ThreadFactory namedThreads() {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, "ckpt-io-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }

  @Override
  public URI uri() {
    return blobs.uri();
  }

  @Override
  public BlobStore blobs() {
    return blobs;
  }

  @Override
  public List<String> jobs() throws CheckpointException {
    TreeSet<String> jobs = new TreeSet<>();
    for (BlobInfo b : blobs.list("")) {
      String job = Layout.jobOfManifestKey(b.key());
      if (job != null) {
        jobs.add(job);
      }
    }
    return List.copyOf(jobs);
  }

  private List<Long> manifestIds(String job) throws CheckpointException {
    List<Long> ids = new ArrayList<>();
    for (BlobInfo b : blobs.list(Layout.manifestPrefix(job))) {
      OptionalLong id = Layout.manifestId(job, b.key());
      if (id.isPresent()) {
        ids.add(id.getAsLong());
      }
    }
    ids.sort(null);
    return ids;
  }

  Manifest readManifest(String job, long id) throws CheckpointException {
    String key = Layout.manifestKey(job, id);
    byte[] data;
    try (InputStream in = blobs.get(key)) {
      data = in.readAllBytes();
    } catch (NoSuchKeyException e) {
      throw new CheckpointNotFoundException("job " + job + " has no checkpoint " + id + " in " + blobs.uri());
    } catch (IOException e) {
      throw new CheckpointException("reading manifest " + key + " from " + blobs.uri() + " failed: " + e.getMessage(), e);
    }
    Manifest m = ManifestCodec.decode(key, data, keys);
    if (!m.job().equals(job) || m.id() != id) {
      throw new CorruptImageException("manifest " + key + " claims to be " + m.job() + "@" + m.id());
    }
    return m;
  }

  /** The manifest's attributes with the key id as the manifest's header says, never as an attribute claims. */
  private static Map<String, String> withKeyId(Manifest m) {
    if (m.keyId() == null && !m.attributes().containsKey(CheckpointInfo.KEY_ID)) {
      return m.attributes();
    }
    Map<String, String> attrs = new LinkedHashMap<>(m.attributes());
    attrs.remove(CheckpointInfo.KEY_ID);
    if (m.keyId() != null) {
      attrs.put(CheckpointInfo.KEY_ID, m.keyId());
    }
    return attrs;
  }

  /**
   * Refuses an unencrypted checkpoint where keys are required. Allowed unencrypted images are
   * accepted only if no checkpoint of the job before them is sealed: one numbered after
   * encryption began could have been put there by anyone who can write the store.
   */
  private void checkEncrypted(String job, Manifest m) throws CheckpointException {
    if (m.keyId() != null || !keys.current().sealed()) {
      return;
    }
    String what = "checkpoint " + job + "@" + m.id();
    keys.checkEncrypted(null, what);
    for (long id : manifestIds(job)) {
      if (id >= m.id()) {
        break;
      }
      boolean sealed;
      try {
        sealed = readManifest(job, id).keyId() != null;
      } catch (CheckpointNotFoundException gone) {
        continue;
      } catch (CheckpointException e) {
        // A key not configured, a manifest that does not authenticate or is damaged: counted as
        // sealed, so that damaging the earlier manifests does not admit a planted one.
        sealed = true;
      }
      if (sealed) {
        throw new dev.ckpt.ImageKeyException(what + " is not encrypted but comes after " + job + "@" + id + ", which is;"
            + " unencrypted images are allowed only from before encryption began (anyone who can write the store could have"
            + " put this one there)");
      }
    }
  }

  private static CheckpointInfo info(Manifest m) {
    Manifest.Stats s = m.stats();
    return new CheckpointInfo(m.job(), m.id(), m.parentId(), m.created(), m.logicalBytes(), s.bytesScanned(),
        s.newRawBytes(), s.newStoredBytes(), m.referencedBytes(), s.newChunks(), s.reusedChunks(),
        Duration.ofNanos(s.durationNanos()), withKeyId(m));
  }

  @Override
  public List<CheckpointInfo> checkpoints(String job) throws CheckpointException {
    Layout.checkJob(job);
    List<CheckpointInfo> out = new ArrayList<>();
    for (long id : manifestIds(job)) {
      out.add(info(readManifest(job, id)));
    }
    return out;
  }

  @Override
  public Optional<CheckpointInfo> latest(String job) throws CheckpointException {
    Layout.checkJob(job);
    List<Long> ids = manifestIds(job);
    return ids.isEmpty() ? Optional.empty() : Optional.of(info(readManifest(job, ids.get(ids.size() - 1))));
  }

  @Override
  public ImageWriter newImage(String job) throws CheckpointException {
    Layout.checkJob(job);
    // Locked before the index is read, so it includes whatever the previous holder committed.
    JobLock lock = blobs.lockJob(job);
    try {
      Set<String> referenced = refreshIndex(job);
      // A condemned pack may be deleted by a GC running elsewhere: its chunks are written anew.
      Set<String> unusable = condemnedPacks(job);
      // So are those of a missing pack. A committed manifest is no proof that its packs exist (a
      // lost commit answer once made writers delete them; storage can lose files), and reusing a
      // missing pack would fail this checkpoint and every later one that shares its chunks.
      referenced.removeAll(unusable);
      Set<String> missing = missingPacks(job, referenced);
      if (!missing.isEmpty()) {
        LOG.warn("job {}: {} packs referenced by committed checkpoints are missing ({}); their chunks are stored"
            + " again. gc lists the checkpoints that cannot be restored", job, missing.size(), missing);
        unusable.addAll(missing);
      }
      Map<Hash256, ChunkLoc> known;
      synchronized (indexes) {
        known = indexes.get(job).snapshot(unusable);
      }
      return new ImageWriterImpl(this, job, known, executor, parallelism, chunkSize, packSize, compression, format,
          clock.instant(), progress, lock, keys.current());
    } catch (CheckpointException | RuntimeException e) {
      try {
        lock.close();
      } catch (StoreException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
  }

  /** Brings the job's chunk index up to date with the manifests now in the store; returns the packs they reference. */
  private Set<String> refreshIndex(String job) throws CheckpointException {
    synchronized (indexes) {
      JobIndex index = indexes.computeIfAbsent(job, j -> new JobIndex());
      Set<Long> present = new HashSet<>(manifestIds(job));
      for (Long gone : new ArrayList<>(index.manifests())) {
        if (!present.contains(gone)) {
          index.remove(gone);
        }
      }
      for (long id : present) {
        if (!index.manifests().contains(id)) {
          try {
            Manifest m = readManifest(job, id);
            if (java.util.Objects.equals(m.keyId(), keys.current().keyId())) {
              index.add(m);
            } else {
              // Ids under another key (or none) name other contents: nothing to share.
              index.addUnshared(id);
            }
          } catch (CheckpointNotFoundException raced) {
            // Deleted by retention since the listing: nothing to deduplicate against.
          } catch (CheckpointException damaged) {
            // A damaged manifest must not stop new checkpoints; they just don't reuse its chunks.
            LOG.warn("not deduplicating against {}@{}: {}", job, id, damaged.getMessage());
          }
        }
      }
      return index.packs();
    }
  }

  /**
   * Which of {@code packs} do not exist: one listing of the job's packs, then a stat of each one
   * the listing lacks, since a listing can miss a new file (NFS attribute caches) and a pack
   * wrongly thought missing would be reported as damage.
   */
  private Set<String> missingPacks(String job, Collection<String> packs) throws CheckpointException {
    if (packs.isEmpty()) {
      return Set.of();
    }
    Set<String> listed = new HashSet<>();
    for (BlobInfo b : blobs.list(Layout.packPrefix(job))) {
      String pack = Layout.packName(job, b.key());
      if (pack != null) {
        listed.add(pack);
      }
    }
    Set<String> missing = new LinkedHashSet<>();
    for (String pack : packs) {
      if (!listed.contains(pack) && !missing.contains(pack) && blobs.stat(Layout.packKey(job, pack)).isEmpty()) {
        missing.add(pack);
      }
    }
    return missing;
  }

  /**
   * Second phase of a write: every chunk is stored; check that reused packs still exist, pick the
   * next number and create the manifest once.
   */
  CheckpointInfo commit(ImageWriterImpl writer, Manifest draft, Set<String> ownPacks, long storedSoFar)
      throws CheckpointException {
    String job = writer.job();
    List<String> reused = draft.packs().stream().filter(p -> !ownPacks.contains(p)).toList();
    // Only reused packs can be condemned under a writer; a checkpoint that reuses none lists nothing.
    Set<String> condemned = reused.isEmpty() ? Set.of() : condemnedPacks(job);
    for (String pack : reused) {
      if (condemned.contains(pack)) {
        throw new CheckpointException("checkpoint of job " + job + " reuses chunks of pack " + pack
            + ", which a concurrent gc condemned (no checkpoint referenced it any more); not committed, retry the"
            + " checkpoint: the retry stores those chunks anew");
      }
      if (blobs.stat(Layout.packKey(job, pack)).isEmpty()) {
        throw new CheckpointException("checkpoint of job " + job + " reuses chunks of pack " + pack
            + ", which was deleted meanwhile (concurrent gc, or lost by the store); not committed, retry the"
            + " checkpoint: the retry stores those chunks anew");
      }
    }
    if (writer.deadline() != null && clock.instant().isAfter(writer.deadline())) {
      throw new CheckpointTimeoutException("checkpoint of job " + job + " passed its deadline " + writer.deadline()
          + " before commit; aborted, nothing committed");
    }
    List<Long> ids = manifestIds(job);
    long parent = ids.isEmpty() ? 0 : ids.get(ids.size() - 1);
    long id = parent + 1;
    Instant now = clock.instant();
    Manifest.Stats d = draft.stats();
    // The manifest's own size counts as stored; encode once to learn it, then with it.
    Manifest m = withHeader(draft, id, parent, now, d, storedSoFar, writer.started());
    byte[] bytes = ManifestCodec.encode(m, keys.current());
    m = withHeader(draft, id, parent, now, d, storedSoFar + bytes.length, writer.started());
    bytes = ManifestCodec.encode(m, keys.current());
    String key = Layout.manifestKey(job, id);
    writer.manifestSent();
    boolean created;
    StoreException sendFailure = null;
    try {
      created = blobs.putIfAbsent(key, bytes);
    } catch (StoreException e) {
      sendFailure = e;
      created = false;
    }
    if (!created) {
      // A failure or a "taken" is not the truth: the write may have landed and only its answer
      // been lost, or a store may have retried its own write and met it. The key's bytes decide.
      resolveUnclearCommit(job + "@" + id, key, bytes, sendFailure);
    }
    synchronized (indexes) {
      indexes.computeIfAbsent(job, j -> new JobIndex()).add(m);
    }
    return info(m);
  }

  /**
   * Returns if {@code key} holds exactly {@code ours}: committed. Otherwise throws what is true:
   * {@link CommitConflictException} for another writer's bytes, a {@link StoreException} if no
   * manifest is there (not committed), {@link CommitUnknownException} if the key cannot be read.
   * Nothing is deleted on any of these paths.
   */
  private void resolveUnclearCommit(String ref, String key, byte[] ours, StoreException sendFailure)
      throws CheckpointException {
    String what = sendFailure != null ? "writing its manifest " + key + " failed (" + sendFailure.getMessage() + ")"
        : "the store answered that its manifest " + key + " already exists";
    byte[] found;
    try {
      found = readBack(key);
    } catch (CheckpointException e) {
      CommitUnknownException unknown = new CommitUnknownException("checkpoint " + ref + ": " + what
          + ", and reading it back failed too (" + e.getMessage() + "): the checkpoint may or may not exist. Its"
          + " packs are kept; once the store answers again, the job's checkpoints show whether " + ref
          + " exists, and the next checkpoint takes the next free number", e);
      if (sendFailure != null) {
        unknown.addSuppressed(sendFailure);
      }
      throw unknown;
    }
    if (found != null && Arrays.equals(found, ours)) {
      LOG.info("checkpoint {} is committed: {}, but the manifest read back is this writer's", ref, what);
      return;
    }
    if (found != null) {
      CommitConflictException conflict = new CommitConflictException("checkpoint " + ref
          + " was committed by another writer first (" + key + " holds its manifest); this checkpoint was not"
          + " committed, and its packs are left to gc");
      if (sendFailure != null) {
        conflict.addSuppressed(sendFailure);
      }
      throw conflict;
    }
    if (sendFailure != null) {
      throw new StoreException(key, "checkpoint " + ref + " was not committed: " + what + ", and reading it back"
          + " finds no manifest; its packs are left to gc, retry the checkpoint", sendFailure);
    }
    throw new StoreException(key, "checkpoint " + ref + " was not committed: " + what + ", but reading it back"
        + " finds none (the store's answer was wrong); its packs are left to gc, retry the checkpoint");
  }

  /** The bytes under {@code key}, or null if there is none; a few attempts, then the last failure. */
  private byte[] readBack(String key) throws CheckpointException {
    for (int attempt = 1; ; attempt++) {
      try (InputStream in = blobs.get(key)) {
        return in.readAllBytes();
      } catch (NoSuchKeyException e) {
        return null;
      } catch (IOException | CheckpointException e) {
        if (attempt >= READ_BACK_ATTEMPTS) {
          throw e instanceof CheckpointException ce ? ce
              : new StoreException(key, "reading " + key + " from " + blobs.uri() + " failed: " + e.getMessage(), e);
        }
        LOG.debug("reading back {} failed ({}); attempt {} of {}", key, e.getMessage(), attempt, READ_BACK_ATTEMPTS);
      }
      try {
        Thread.sleep(READ_BACK_PAUSE_MILLIS * attempt);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new CheckpointException("interrupted while reading back " + key, e);
      }
    }
  }

  private static Manifest withHeader(Manifest draft, long id, long parent, Instant now, Manifest.Stats d, long stored,
      Instant started) {
    Manifest.Stats stats = new Manifest.Stats(d.bytesScanned(), d.newRawBytes(), stored, d.newChunks(),
        d.reusedChunks(), ImageWriterImpl.between(started, now).toNanos());
    return new Manifest(draft.job(), id, parent, now, draft.chunkSize(), draft.attributes(), draft.packs(),
        draft.chunks(), draft.parts(), stats, draft.keyId());
  }

  @Override
  public ImageReader open(String job, long id) throws CheckpointException {
    Layout.checkJob(job);
    Manifest m = readManifest(job, id);
    checkEncrypted(job, m);
    return new ImageReaderImpl(fetcher, m, info(m));
  }

  @Override
  public ImageReader openLatest(String job) throws CheckpointException {
    Layout.checkJob(job);
    List<Long> ids = manifestIds(job);
    if (ids.isEmpty()) {
      throw new CheckpointNotFoundException("job " + job + " has no checkpoint in " + blobs.uri());
    }
    return open(job, ids.get(ids.size() - 1));
  }

  @Override
  public VerifyResult verify(String job, long id) throws CheckpointException {
    Layout.checkJob(job);
    Manifest m = readManifest(job, id);
    checkEncrypted(job, m);
    // One line per missing pack: reading its chunks would report it once per range read.
    Set<String> missing = missingPacks(job, m.packs());
    Set<String> problems = new LinkedHashSet<>();
    if (!missing.isEmpty()) {
      Map<String, Integer> chunksIn = new LinkedHashMap<>();
      missing.forEach(p -> chunksIn.put(p, 0));
      for (Manifest.Chunk c : m.chunks()) {
        chunksIn.computeIfPresent(m.packs().get(c.pack()), (p, n) -> n + 1);
      }
      chunksIn.forEach((p, n) -> problems.add("checkpoint " + job + "@" + id + ": pack " + Layout.packKey(job, p)
          + " is missing (" + n + " chunks of this checkpoint are in it)"));
    }
    // A set: a pack that vanishes while it is verified is named once too, not once per range.
    int n = fetcher.verifyAll(m, missing, problems::add);
    return new VerifyResult(info(m), n, new ArrayList<>(problems));
  }

  @Override
  public dev.ckpt.ConsistencyResult checkConsistency(String job) throws CheckpointException {
    Layout.checkJob(job);
    List<String> problems = new ArrayList<>();
    List<String> notes = new ArrayList<>();
    Map<Long, List<String>> packsOf = new TreeMap<>();
    Set<String> referenced = new HashSet<>();
    List<CheckpointInfo> checkpoints = new ArrayList<>();
    for (long id : manifestIds(job)) {
      try {
        Manifest m = readManifest(job, id);
        checkpoints.add(info(m));
        packsOf.put(id, m.packs());
        referenced.addAll(m.packs());
      } catch (CheckpointNotFoundException raced) {
        // Deleted by retention since the listing.
      } catch (CheckpointException e) {
        problems.add("checkpoint " + job + "@" + id + ": " + e.getMessage());
      }
    }
    Set<String> present = new HashSet<>();
    int unreferenced = 0;
    long unreferencedBytes = 0;
    for (BlobInfo b : blobs.list(Layout.packPrefix(job))) {
      String pack = Layout.packName(job, b.key());
      if (pack == null) {
        continue;
      }
      present.add(pack);
      if (!referenced.contains(pack)) {
        unreferenced++;
        unreferencedBytes += b.size();
      }
    }
    for (Map.Entry<Long, List<String>> e : missingPacks(job, packsOf, present).entrySet()) {
      for (String pack : e.getValue()) {
        problems.add("checkpoint " + job + "@" + e.getKey() + " references pack " + Layout.packKey(job, pack)
            + ", which does not exist");
      }
    }
    if (unreferenced > 0 && problems.isEmpty()) {
      notes.add(job + ": " + unreferenced + " packs (" + unreferencedBytes + " bytes) are referenced by no checkpoint (a"
          + " checkpoint being written, or one that stopped); gc deletes them after its grace period");
    } else if (unreferenced > 0) {
      notes.add(job + ": " + unreferenced + " packs (" + unreferencedBytes + " bytes) are referenced by no readable"
          + " checkpoint; they may be an unreadable one's, and gc of this job stops until its manifests all read");
    }
    for (String pack : condemnedPacks(job)) {
      if (!present.contains(pack)) {
        notes.add(job + ": condemnation marker of pack " + pack + ", which is gone; gc removes it");
      } else if (referenced.contains(pack)) {
        notes.add(job + ": pack " + pack + " is condemned but referenced again by a checkpoint; gc keeps it and removes"
            + " the marker");
      }
    }
    return new dev.ckpt.ConsistencyResult(job, checkpoints, present.size(), problems, notes);
  }

  /**
   * Keeps what {@code retention} says, counting only checkpoints whose packs all exist towards
   * {@code keepLast}: a checkpoint is kept if fewer than {@code keepLast} intact ones are newer.
   * So the newest checkpoint that can be restored is never deleted in favour of broken newer
   * ones, which are kept too while they are that new (GC reports them).
   */
  @Override
  public GcResult retain(String job, Retention retention) throws CheckpointException {
    Layout.checkJob(job);
    List<Manifest> all = new ArrayList<>();
    for (long id : manifestIds(job)) {
      all.add(readManifest(job, id));
    }
    Set<String> missing = missingPacks(job, all.stream().flatMap(m -> m.packs().stream()).distinct().toList());
    Instant now = clock.instant();
    List<Long> deleted = new ArrayList<>();
    int intactNewer = 0;
    for (int i = all.size() - 1; i >= 0; i--) {
      Manifest m = all.get(i);
      boolean keep = intactNewer < retention.keepLast()
          || (!retention.keepWithin().isZero() && m.created().isAfter(now.minus(retention.keepWithin())));
      if (!keep) {
        blobs.delete(Layout.manifestKey(job, m.id()));
        deleted.add(m.id());
      }
      if (m.packs().stream().noneMatch(missing::contains)) {
        intactNewer++;
      }
    }
    deleted.sort(null);
    GcResult swept = gc(job);
    return new GcResult(deleted, swept.deletedPacks(), swept.bytesFreed(), swept.keptForGracePeriod(),
        swept.brokenCheckpoints());
  }

  /**
   * Two-phase sweep (docs/FORMAT.md, "Garbage collection"): an unreferenced pack is first
   * condemned, with a marker, and deleted only by a GC that finds it still unreferenced a grace
   * period later. Writers never reuse a condemned pack and look again just before they commit,
   * so a writer in another process that deduplicated against a checkpoint retention then deleted
   * either commits before the pack can go (and the later GC sees its manifest), or does not
   * commit at all.
   */
  @Override
  public GcResult gc(String job) throws CheckpointException {
    Layout.checkJob(job);
    Set<Long> marked = new HashSet<>();
    Set<String> referenced = new HashSet<>();
    Map<Long, List<String>> packsOf = new TreeMap<>();
    mark(job, marked, referenced, packsOf);
    Map<String, Instant> condemnedAt = readCondemned(job);
    Instant now = clock.instant();
    List<BlobInfo> due = new ArrayList<>();
    Set<String> present = new HashSet<>();
    int waiting = 0;
    for (BlobInfo b : blobs.list(Layout.packPrefix(job))) {
      String pack = Layout.packName(job, b.key());
      if (pack == null) {
        continue;
      }
      present.add(pack);
      if (referenced.contains(pack)) {
        continue;
      }
      Instant at = condemnedAt.get(pack);
      if (at == null) {
        condemn(job, pack, now);
        at = now;
      }
      if (now.isBefore(at.plus(gcGrace))) {
        waiting++;
      } else {
        due.add(b);
      }
    }
    for (String pack : condemnedAt.keySet()) {
      if (referenced.contains(pack) || !present.contains(pack)) {
        // Referenced again (a writer that looked before the condemnation) or already gone.
        blobs.delete(Layout.condemnedKey(job, pack));
      }
    }
    List<Long> broken = broken(job, packsOf, present);
    if (due.isEmpty()) {
      return new GcResult(List.of(), 0, 0, waiting, broken);
    }
    // Checkpoints committed while we listed may reference candidates: mark again before sweeping.
    mark(job, marked, referenced, new HashMap<>());
    int deleted = 0;
    long freed = 0;
    for (BlobInfo b : due) {
      String pack = Layout.packName(job, b.key());
      if (!referenced.contains(pack) && blobs.delete(b.key())) {
        deleted++;
        freed += b.size();
      }
      blobs.delete(Layout.condemnedKey(job, pack));
    }
    LOG.debug("gc of job {}: deleted {} packs, {} bytes; {} condemned packs wait out the grace period", job, deleted,
        freed, waiting);
    return new GcResult(List.of(), deleted, freed, waiting, broken);
  }

  /**
   * For each checkpoint of {@code packsOf} that references packs not in {@code listed} and not
   * found by a stat either, those packs; a listing can miss a file that exists (NFS attribute
   * caches), so only a stat says it is gone.
   */
  private Map<Long, List<String>> missingPacks(String job, Map<Long, List<String>> packsOf, Set<String> listed)
      throws StoreException {
    Map<String, Boolean> exists = new HashMap<>();
    Map<Long, List<String>> missing = new TreeMap<>();
    for (Map.Entry<Long, List<String>> e : packsOf.entrySet()) {
      for (String pack : e.getValue()) {
        if (listed.contains(pack)) {
          continue;
        }
        Boolean there = exists.get(pack);
        if (there == null) {
          there = blobs.stat(Layout.packKey(job, pack)).isPresent();
          exists.put(pack, there);
        }
        if (!there) {
          missing.computeIfAbsent(e.getKey(), k -> new ArrayList<>()).add(pack);
        }
      }
    }
    return missing;
  }

  /**
   * The checkpoints that reference a pack not in {@code listed} and not found by a stat either.
   * They cannot be restored; GC names them and leaves them: deleting a manifest is retention's
   * decision, and the rest of such a checkpoint may still be worth reading.
   */
  private List<Long> broken(String job, Map<Long, List<String>> packsOf, Set<String> listed) throws StoreException {
    List<Long> broken = new ArrayList<>(missingPacks(job, packsOf, listed).keySet());
    if (!broken.isEmpty()) {
      LOG.warn("gc of job {}: checkpoints {} reference packs that do not exist and cannot be restored; they are"
          + " kept, run verify on them for details", job, broken);
    }
    return broken;
  }

  private Set<String> condemnedPacks(String job) throws CheckpointException {
    Set<String> packs = new HashSet<>();
    for (BlobInfo b : blobs.list(Layout.condemnedPrefix(job))) {
      String pack = Layout.condemnedPack(job, b.key());
      if (pack != null) {
        packs.add(pack);
      }
    }
    return packs;
  }

  /** Condemnation times by pack; a marker that cannot be read counts as condemned now. */
  private Map<String, Instant> readCondemned(String job) throws CheckpointException {
    Map<String, Instant> at = new HashMap<>();
    Instant now = clock.instant();
    for (String pack : condemnedPacks(job)) {
      String key = Layout.condemnedKey(job, pack);
      try (InputStream in = blobs.get(key)) {
        at.put(pack, Instant.ofEpochMilli(Long.parseLong(new String(in.readNBytes(32), StandardCharsets.US_ASCII).trim())));
      } catch (NoSuchKeyException raced) {
        // Removed by another GC since the listing.
      } catch (IOException | NumberFormatException e) {
        LOG.warn("condemnation marker {} is unreadable ({}); condemning pack {} again", key, e.getMessage(), pack);
        condemn(job, pack, now);
        at.put(pack, now);
      }
    }
    return at;
  }

  private void condemn(String job, String pack, Instant now) throws StoreException {
    blobs.put(Layout.condemnedKey(job, pack),
        ByteBuffer.wrap((now.toEpochMilli() + "\n").getBytes(StandardCharsets.US_ASCII)));
  }

  /** Adds the packs of every manifest not yet marked, also by id; any unreadable manifest stops GC. */
  private void mark(String job, Set<Long> marked, Set<String> referenced, Map<Long, List<String>> packsOf)
      throws CheckpointException {
    for (long id : manifestIds(job)) {
      if (marked.add(id)) {
        Manifest m;
        try {
          m = readManifest(job, id);
        } catch (CheckpointNotFoundException raced) {
          continue;
        } catch (CheckpointException e) {
          throw new CheckpointException("gc of job " + job + " stopped, nothing deleted: cannot tell what "
              + job + "@" + id + " references: " + e.getMessage(), e);
        }
        referenced.addAll(m.packs());
        packsOf.put(id, m.packs());
      }
    }
  }

  @Override
  public void close() {
    if (ownsExecutor) {
      executor.shutdownNow();
    }
    if (ownsBlobs) {
      blobs.close();
    }
  }
}
