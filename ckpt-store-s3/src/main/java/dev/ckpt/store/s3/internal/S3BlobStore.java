package dev.ckpt.store.s3.internal;

import dev.ckpt.CheckpointException;
import dev.ckpt.NoSuchKeyException;
import dev.ckpt.StoreConfigurationException;
import dev.ckpt.StoreException;
import dev.ckpt.spi.BlobInfo;
import dev.ckpt.spi.BlobKeys;
import dev.ckpt.spi.BlobStore;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ReadableByteChannel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.ChecksumAlgorithm;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.CreateMultipartUploadRequest;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;
import software.amazon.awssdk.services.s3.model.ServerSideEncryption;
import software.amazon.awssdk.services.s3.model.UploadPartResponse;

/**
 * A {@link BlobStore} on one bucket and key prefix. Blobs up to the part size go up in one PUT;
 * larger ones as a multipart upload whose parts are sent in parallel from a bounded number of
 * part buffers, and which is aborted on any failure. {@link #putIfAbsent} is a PUT with
 * {@code If-None-Match: *}. Retries with backoff are the SDK's, configured once on the client.
 */
public final class S3BlobStore implements BlobStore {
  private static final Logger LOG = LoggerFactory.getLogger(S3BlobStore.class);
  /** Attempts for a conditional PUT that meets 409 ConditionalRequestConflict (a racing writer in flight). */
  private static final int CONFLICT_ATTEMPTS = 10;

  private final S3Config config;
  private final S3Client s3;
  private final ExecutorService parts;
  private final boolean ownsParts;
  private final String name;

  /** Unwraps envelope-encryption data keys; null unless the URI names an envelopeKey. */
  private final software.amazon.awssdk.services.kms.KmsClient kms;

  public S3BlobStore(S3Config config, S3Client s3, ExecutorService parts, boolean ownsParts) {
    this(config, s3, parts, ownsParts, null);
  }

  public S3BlobStore(S3Config config, S3Client s3, ExecutorService parts, boolean ownsParts,
      software.amazon.awssdk.services.kms.KmsClient kms) {
    this.kms = kms;
    this.config = config;
    this.s3 = s3;
    this.parts = parts;
    this.ownsParts = ownsParts;
    this.name = config.redacted();
  }

  /** The URI with any secret key blanked: it ends up in messages, logs and the CLI's output. */
  @Override
  public URI uri() {
    return URI.create(name);
  }

  /** The S3 key of a blob key. */
  String objectKey(String key) {
    return config.prefix() + key;
  }

  @Override
  public void put(String key, InputStream data, long size) throws StoreException {
    BlobKeys.check(key);
    if (size < 0) {
      throw new IllegalArgumentException("negative size " + size + " for " + key);
    }
    if (size <= config.partSize()) {
      // Read the whole blob before sending anything: a source that fails or ends early then
      // leaves the store untouched, and the SDK can resend the same bytes on a retry.
      byte[] bytes = readExactly(key, data, (int) size, 0, size);
      putSingle(key, bytes, 0, bytes.length);
      return;
    }
    long[] sent = {0};
    multipart(key, size, () -> {
      int n = (int) Math.min(config.partSize(), size - sent[0]);
      byte[] part = readExactly(key, data, n, sent[0], size);
      sent[0] += n;
      return ByteBuffer.wrap(part);
    });
  }

  @Override
  public void put(String key, ByteBuffer data) throws StoreException {
    BlobKeys.check(key);
    ByteBuffer b = data.duplicate();
    long size = b.remaining();
    if (size <= config.partSize()) {
      putSingle(key, b);
      return;
    }
    multipart(key, size, () -> {
      int n = (int) Math.min(config.partSize(), b.remaining());
      ByteBuffer slice = b.slice().limit(n);
      b.position(b.position() + n);
      return slice;
    });
  }

  @Override
  public void put(String key, byte[] data) throws StoreException {
    put(key, ByteBuffer.wrap(data));
  }

  private void putSingle(String key, byte[] bytes, int off, int len) throws StoreException {
    putSingle(key, ByteBuffer.wrap(bytes, off, len));
  }

  private void putSingle(String key, ByteBuffer bytes) throws StoreException {
    try {
      s3.putObject(putRequest(key).build(), body(bytes));
    } catch (SdkException e) {
      throw error("put", key, e);
    }
  }

  private PutObjectRequest.Builder putRequest(String key) {
    PutObjectRequest.Builder b = PutObjectRequest.builder().bucket(config.bucket()).key(objectKey(key))
        .contentType("application/octet-stream").checksumAlgorithm(ChecksumAlgorithm.CRC32);
    config.sse().ifPresent(s -> b.serverSideEncryption(ServerSideEncryption.fromValue(s)));
    config.kmsKeyId().ifPresent(b::ssekmsKeyId);
    config.storageClass().ifPresent(b::storageClass);
    return b;
  }

  /**
   * A body that streams straight from the buffer and can be replayed for a retry, instead of
   * {@code RequestBody.fromRemainingByteBuffer}, which copies it first.
   */
  private static RequestBody body(ByteBuffer bytes) {
    ByteBuffer fixed = bytes.duplicate();
    return RequestBody.fromContentProvider(() -> new ByteBufferInputStream(fixed.duplicate()), fixed.remaining(),
        "application/octet-stream");
  }

  private interface PartSource {
    ByteBuffer next() throws StoreException;
  }

  private void multipart(String key, long size, PartSource source) throws StoreException {
    CreateMultipartUploadRequest.Builder create = CreateMultipartUploadRequest.builder().bucket(config.bucket())
        .key(objectKey(key)).contentType("application/octet-stream").checksumAlgorithm(ChecksumAlgorithm.CRC32);
    config.sse().ifPresent(s -> create.serverSideEncryption(ServerSideEncryption.fromValue(s)));
    config.kmsKeyId().ifPresent(create::ssekmsKeyId);
    config.storageClass().ifPresent(create::storageClass);
    String uploadId;
    try {
      uploadId = s3.createMultipartUpload(create.build()).uploadId();
    } catch (SdkException e) {
      throw error("start multipart upload of", key, e);
    }
    // At most uploadThreads parts in flight, plus the one being read: memory stays bounded
    // whatever the blob's size.
    Semaphore inFlight = new Semaphore(config.uploadThreads());
    List<Future<CompletedPart>> pending = new ArrayList<>();
    boolean completed = false;
    try {
      long queued = 0;
      int partNumber = 0;
      while (queued < size) {
        inFlight.acquire();
        failFast(pending);
        ByteBuffer part;
        try {
          part = source.next();
        } catch (StoreException | RuntimeException e) {
          inFlight.release();
          throw e;
        }
        queued += part.remaining();
        int number = ++partNumber;
        pending.add(parts.submit(() -> {
          try {
            UploadPartResponse r = s3.uploadPart(p -> p.bucket(config.bucket()).key(objectKey(key))
                .uploadId(uploadId).partNumber(number).contentLength((long) part.remaining())
                .checksumAlgorithm(ChecksumAlgorithm.CRC32), body(part));
            return CompletedPart.builder().partNumber(number).eTag(r.eTag()).checksumCRC32(r.checksumCRC32()).build();
          } finally {
            inFlight.release();
          }
        }));
      }
      List<CompletedPart> done = new ArrayList<>(pending.size());
      for (Future<CompletedPart> f : pending) {
        done.add(f.get());
      }
      s3.completeMultipartUpload(c -> c.bucket(config.bucket()).key(objectKey(key)).uploadId(uploadId)
          .multipartUpload(m -> m.parts(done)));
      completed = true;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StoreException(key, "store " + name + ": multipart upload of " + key + " interrupted", e);
    } catch (ExecutionException e) {
      Throwable c = e.getCause();
      if (c instanceof SdkException se) {
        throw error("upload a part of", key, se);
      }
      throw new StoreException(key, "store " + name + ": upload of a part of " + key + " failed: " + c, c);
    } catch (SdkException e) {
      throw error("complete multipart upload of", key, e);
    } finally {
      if (!completed) {
        for (Future<CompletedPart> f : pending) {
          f.cancel(true);
        }
        abort(key, uploadId);
      }
    }
  }

  private static void failFast(List<Future<CompletedPart>> pending) throws ExecutionException, InterruptedException {
    for (Future<CompletedPart> f : pending) {
      if (f.isDone()) {
        f.get();
      }
    }
  }

  private void abort(String key, String uploadId) {
    try {
      s3.abortMultipartUpload(a -> a.bucket(config.bucket()).key(objectKey(key)).uploadId(uploadId));
    } catch (SdkException e) {
      // The parts stay billed until a lifecycle rule removes them; say so rather than hide it.
      LOG.warn("store {}: could not abort multipart upload {} of {}: {}; add a lifecycle rule "
          + "AbortIncompleteMultipartUpload to the bucket", name, uploadId, key, e.getMessage());
    }
  }

  @Override
  public boolean putIfAbsent(String key, byte[] data) throws StoreException {
    BlobKeys.check(key);
    PutObjectRequest request = putRequest(key).ifNoneMatch("*").build();
    long pause = 50;
    for (int attempt = 1; ; attempt++) {
      try {
        s3.putObject(request, body(ByteBuffer.wrap(data)));
        return true;
      } catch (S3Exception e) {
        if (e.statusCode() == 412) {
          // Either another writer holds the key, or our own earlier attempt landed and only its
          // answer was lost before the SDK retried. Only the bytes tell which.
          return Arrays.equals(data, readIfPresent(key));
        }
        if (e.statusCode() == 409 && attempt < CONFLICT_ATTEMPTS) {
          sleep(key, pause);
          pause = Math.min(pause * 2, 1000);
          continue;
        }
        throw error("create-once put", key, e);
      } catch (SdkException e) {
        throw error("create-once put", key, e);
      }
    }
  }

  private byte[] readIfPresent(String key) throws StoreException {
    try (InputStream in = get(key)) {
      return in.readAllBytes();
    } catch (NoSuchKeyException e) {
      return null;
    } catch (IOException e) {
      throw new StoreException(key, "store " + name + ": read of " + key + " failed: " + e.getMessage(), e);
    }
  }

  @Override
  public InputStream get(String key) throws StoreException {
    BlobKeys.check(key);
    return open(key, GetObjectRequest.builder().bucket(config.bucket()).key(objectKey(key)).build());
  }

  private ResponseInputStream<GetObjectResponse> open(String key, GetObjectRequest request) throws StoreException {
    try {
      return s3.getObject(request);
    } catch (S3Exception e) {
      if (e.statusCode() == 404 && !isNoSuchBucket(e)) {
        throw new NoSuchKeyException(name, key);
      }
      throw error("get", key, e);
    } catch (SdkException e) {
      throw error("get", key, e);
    }
  }

  @Override
  public InputStream get(String key, long offset, long length) throws StoreException {
    BlobKeys.check(key);
    if (offset < 0 || length < 0) {
      throw new IllegalArgumentException("negative range " + offset + "+" + length + " for " + key);
    }
    if (length == 0) {
      long size = stat(key).orElseThrow(() -> new NoSuchKeyException(name, key)).size();
      checkOffset(key, offset, size);
      return new ByteArrayInputStream(new byte[0]);
    }
    String range = "bytes=" + offset + "-" + (offset + length - 1);
    try {
      return open(key, GetObjectRequest.builder().bucket(config.bucket()).key(objectKey(key)).range(range).build());
    } catch (StoreException e) {
      if (e.getCause() instanceof S3Exception s3e && s3e.statusCode() == 416) {
        // S3 answers 416 for a range that starts at the end; our contract returns no bytes there.
        long size = stat(key).orElseThrow(() -> new NoSuchKeyException(name, key)).size();
        checkOffset(key, offset, size);
        return new ByteArrayInputStream(new byte[0]);
      }
      throw e;
    }
  }

  private void checkOffset(String key, long offset, long size) throws StoreException {
    if (offset > size) {
      throw new StoreException(key, "store " + name + ": read of " + key + " at offset " + offset
          + " is beyond its size " + size);
    }
  }

  @Override
  public int read(String key, long offset, ByteBuffer dst) throws StoreException {
    int want = dst.remaining();
    try (InputStream in = get(key, offset, want)) {
      if (dst.hasArray()) {
        int n = in.readNBytes(dst.array(), dst.arrayOffset() + dst.position(), want);
        dst.position(dst.position() + n);
        return n;
      }
      ReadableByteChannel ch = Channels.newChannel(in);
      int total = 0;
      while (dst.hasRemaining()) {
        int n = ch.read(dst);
        if (n < 0) {
          break;
        }
        total += n;
      }
      return total;
    } catch (IOException e) {
      throw new StoreException(key, "store " + name + ": read of " + key + " at " + offset + " failed: "
          + e.getMessage(), e);
    }
  }

  /** Whole packs where possible: each GET costs a round trip and per-request work on the server. */
  @Override
  public int preferredReadSize() {
    return 16 << 20;
  }

  /** The SDK hands out bytes in arrays: a heap buffer takes them without another copy. */
  @Override
  public ByteBuffer allocateReadBuffer(int capacity) {
    return ByteBuffer.allocate(capacity);
  }

  @Override
  public List<BlobInfo> list(String prefix) throws StoreException {
    BlobKeys.checkPrefix(prefix);
    List<BlobInfo> out = new ArrayList<>();
    try {
      for (S3Object o : s3.listObjectsV2Paginator(l -> l.bucket(config.bucket()).prefix(config.prefix() + prefix))
          .contents()) {
        String key = o.key().substring(config.prefix().length());
        if (BlobKeys.isValid(key)) {
          out.add(new BlobInfo(key, o.size(), o.lastModified()));
        }
      }
    } catch (SdkException e) {
      throw error("list", prefix, e);
    }
    out.sort(Comparator.comparing(BlobInfo::key));
    return out;
  }

  @Override
  public boolean delete(String key) throws StoreException {
    BlobKeys.check(key);
    // S3's DELETE answers 204 either way; the HEAD is what tells whether there was a blob.
    boolean existed = stat(key).isPresent();
    try {
      s3.deleteObject(d -> d.bucket(config.bucket()).key(objectKey(key)));
    } catch (SdkException e) {
      throw error("delete", key, e);
    }
    return existed;
  }

  @Override
  public Optional<BlobInfo> stat(String key) throws StoreException {
    BlobKeys.check(key);
    try {
      HeadObjectResponse h = s3.headObject(r -> r.bucket(config.bucket()).key(objectKey(key)));
      return Optional.of(new BlobInfo(key, h.contentLength(), h.lastModified()));
    } catch (S3Exception e) {
      if (e.statusCode() == 404) {
        return Optional.empty();
      }
      throw error("stat", key, e);
    } catch (SdkException e) {
      throw error("stat", key, e);
    }
  }

  /** Fails with a clear message unless the bucket exists and the credentials may use it. */
  public void checkBucket() throws CheckpointException {
    try {
      s3.headBucket(h -> h.bucket(config.bucket()));
      return;
    } catch (S3Exception e) {
      if (e.statusCode() != 404) {
        StoreException se = error("open bucket", config.bucket(), e);
        throw new StoreConfigurationException(se.getMessage(), e);
      }
    } catch (SdkException e) {
      throw error("open bucket", config.bucket(), e);
    }
    if (!config.create()) {
      throw new StoreConfigurationException("store " + name + ": bucket '" + config.bucket()
          + "' does not exist" + config.endpoint().map(u -> " at " + u).orElse("")
          + "; create it, or add create=true to the URI");
    }
    try {
      s3.createBucket(c -> c.bucket(config.bucket()));
    } catch (S3Exception e) {
      if (e.statusCode() != 409) { // created meanwhile by someone else: fine
        throw error("create bucket", config.bucket(), e);
      }
    } catch (SdkException e) {
      throw error("create bucket", config.bucket(), e);
    }
  }

  private static boolean isNoSuchBucket(S3Exception e) {
    return e.awsErrorDetails() != null && "NoSuchBucket".equals(e.awsErrorDetails().errorCode());
  }

  private StoreException error(String op, String key, SdkException e) {
    String what = "store " + name + ": " + op + " " + key;
    if (e instanceof S3Exception s3e) {
      String code = s3e.awsErrorDetails() == null ? null : s3e.awsErrorDetails().errorCode();
      String detail = " (HTTP " + s3e.statusCode() + (code == null ? "" : " " + code)
          + (s3e.requestId() == null ? "" : ", request id " + s3e.requestId()) + ")";
      if (s3e.statusCode() == 403 || "InvalidAccessKeyId".equals(code) || "SignatureDoesNotMatch".equals(code)) {
        return new StoreException(key, what + " was refused" + detail
            + ": check the credentials (access key, secret, profile) and that they may use bucket '"
            + config.bucket() + "'", e);
      }
      if (isNoSuchBucket(s3e)) {
        return new StoreException(key, what + " failed: bucket '" + config.bucket() + "' does not exist" + detail, e);
      }
      return new StoreException(key, what + " failed" + detail + ": " + firstLine(s3e), e);
    }
    String attempts = e instanceof SdkClientException ? " after " + config.maxAttempts() + " attempts" : "";
    return new StoreException(key, what + " failed" + attempts + ": " + firstLine(e), e);
  }

  private static String firstLine(Throwable t) {
    String m = String.valueOf(t.getMessage());
    int nl = m.indexOf('\n');
    return nl < 0 ? m : m.substring(0, nl);
  }

  private byte[] readExactly(String key, InputStream in, int n, long at, long size) throws StoreException {
    byte[] buf = new byte[n];
    int got = 0;
    try {
      while (got < n) {
        int r = in.read(buf, got, n - got);
        if (r < 0) {
          throw new StoreException(key, "store " + name + ": put " + key + ": the data ended after "
              + (at + got) + " of " + size + " bytes; nothing was stored");
        }
        got += r;
      }
    } catch (InterruptedIOException e) {
      throw new StoreException(key, "store " + name + ": put " + key + " interrupted", e);
    } catch (IOException e) {
      throw new StoreException(key, "store " + name + ": put " + key + ": reading the data failed after "
          + (at + got) + " of " + size + " bytes: " + e.getMessage() + "; nothing was stored", e);
    }
    return buf;
  }

  private void sleep(String key, long millis) throws StoreException {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StoreException(key, "store " + name + ": interrupted while retrying " + key, e);
    }
  }

  @Override
  public void close() {
    if (ownsParts) {
      parts.shutdownNow();
    }
    s3.close();
    if (kms != null) {
      kms.close();
    }
  }

  /** With {@code envelopeKey}, the data keys kept in this store, unwrapped by KMS ({@link KmsEnvelope}). */
  @Override
  public java.util.Optional<dev.ckpt.Encryption> encryption() throws dev.ckpt.CheckpointException {
    if (kms == null) {
      return java.util.Optional.empty();
    }
    return java.util.Optional.of(new KmsEnvelope(kms, config.envelopeKey().orElseThrow(), config.envelopeOlderKeys(),
        config.bucket() + "/" + config.prefix(), name).load(this));
  }

  @Override
  public String toString() {
    return "S3BlobStore[" + name + "]";
  }

  /** An InputStream over a ByteBuffer; what the SDK reads a request body from. */
  private static final class ByteBufferInputStream extends InputStream {
    private final ByteBuffer b;

    ByteBufferInputStream(ByteBuffer b) {
      this.b = b;
    }

    @Override
    public int read() {
      return b.hasRemaining() ? b.get() & 0xff : -1;
    }

    @Override
    public int read(byte[] dst, int off, int len) {
      if (len == 0) {
        return 0;
      }
      if (!b.hasRemaining()) {
        return -1;
      }
      int n = Math.min(len, b.remaining());
      b.get(dst, off, n);
      return n;
    }

    @Override
    public int available() {
      return b.remaining();
    }
  }
}
