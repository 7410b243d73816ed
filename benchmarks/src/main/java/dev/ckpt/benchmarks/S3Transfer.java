package dev.ckpt.benchmarks;

import com.sun.jna.Memory;
import dev.ckpt.CheckpointInfo;
import dev.ckpt.CheckpointStore;
import dev.ckpt.Checkpointer;
import java.io.InputStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ReadableByteChannel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.apache5.Apache5HttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.ObjectIdentifier;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * Checkpoint and restore of a 1 GiB image to an S3 server, against the raw SDK moving the same
 * bytes in the same run: a multipart upload in 16 MiB parts, 4 in flight; the same bytes as 64
 * objects of 16 MiB with single PUTs, 4 in flight (what ckpt sends); and a download in 16 MiB
 * ranged GETs, 4 in flight, straight into the same native memory. Usage:
 * {@code S3Transfer <endpoint> <bucket> <iterations>}; the server must accept the key
 * {@code testkey}/{@code testsecret} (benchmarks/s3.sh starts S3Proxy so).
 */
public final class S3Transfer {
  private static final long PART = 16L << 20;
  private static final int THREADS = 4;

  private S3Transfer() {}

  public static void main(String[] args) throws Exception {
    String endpoint = args[0];
    String bucket = args[1];
    int iterations = Integer.parseInt(args[2]);
    int parallelism = args.length > 3 ? Integer.parseInt(args[3]) : 0;
    String kinds = args.length > 4 ? args[4] : "mixed,random";
    try (S3Client s3 = S3Client.builder().endpointOverride(URI.create(endpoint)).region(Region.US_EAST_1)
        .forcePathStyle(true).httpClientBuilder(Apache5HttpClient.builder().maxConnections(64))
        .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("testkey", "testsecret")))
        .build()) {
      s3.createBucket(b -> b.bucket(bucket));
      System.out.println("| image | operation | ckpt median | raw SDK median | raw / ckpt | ckpt / raw |");
      System.out.println("|---|---|---|---|---|---|");
      for (String kind : kinds.split(",")) {
        run(s3, endpoint, bucket, kind.equals("random"), iterations, parallelism);
      }
    }
  }

  private static void run(S3Client s3, String endpoint, String bucket, boolean random, int iterations,
      int parallelism)
      throws Exception {
    Memory memory = ImageData.allocate(random);
    String kind = random ? "random" : "mixed";
    URI uri = URI.create("s3://" + bucket + "/" + kind + "?endpoint=" + endpoint
        + "&pathStyle=true&accessKey=testkey&secretKey=testsecret");
    long[] dump = new long[iterations];
    long[] restore = new long[iterations];
    long[] upload = new long[iterations];
    long[] download = new long[iterations];
    long[] puts = new long[iterations];
    ExecutorService pool = Executors.newFixedThreadPool(THREADS);
    long stored = 0;
    CheckpointStore.Builder builder = CheckpointStore.builder().uri(uri);
    if (parallelism > 0) {
      builder.parallelism(parallelism);
    }
    try (CheckpointStore store = builder.build()) {
      for (int i = 0; i < iterations; i++) {
        // A new job each time, so each dump is a first dump and deduplicates against nothing.
        String job = "dump-" + i;
        try (Checkpointer c = checkpointer(store, job, memory)) {
          Cpu cpu = Cpu.start();
          long t0 = System.nanoTime();
          CheckpointInfo info = c.checkpoint();
          dump[i] = System.nanoTime() - t0;
          cpu.report(kind + " checkpoint");
          stored = info.newStoredBytes();
          cpu = Cpu.start();
          t0 = System.nanoTime();
          c.restoreLatest();
          restore[i] = System.nanoTime() - t0;
          cpu.report(kind + " restore");
        }
        Cpu cpu = Cpu.start();
        long t0 = System.nanoTime();
        rawUpload(s3, pool, bucket, "raw/" + kind, memory);
        upload[i] = System.nanoTime() - t0;
        cpu.report(kind + " raw upload");
        cpu = Cpu.start();
        t0 = System.nanoTime();
        rawDownload(s3, pool, bucket, "raw/" + kind, memory);
        download[i] = System.nanoTime() - t0;
        cpu.report(kind + " raw download");
        cpu = Cpu.start();
        t0 = System.nanoTime();
        rawPuts(s3, pool, bucket, "raw/" + kind + "-objects/", memory);
        puts[i] = System.nanoTime() - t0;
        cpu.report(kind + " raw 16 MiB PUTs");
        // Empty the bucket between iterations, so every write lands in recycled pages (see README).
        deleteAll(s3, bucket);
      }
    } finally {
      pool.shutdownNow();
      memory.close();
    }
    row(kind + " (ckpt stored " + stored / (1 << 20) + " MiB)", "checkpoint / multipart upload", dump, upload);
    row(kind, "checkpoint / 16 MiB single PUTs", dump, puts);
    row(kind, "restore / ranged download", restore, download);
  }

  private static Checkpointer checkpointer(CheckpointStore store, String job, Memory memory) throws Exception {
    return Checkpointer.builder().store(store).job(job).registerSegment("heap", dev.ckpt.linux.JnaMemory.of(memory, ImageData.SIZE)).build();
  }

  private static void rawUpload(S3Client s3, ExecutorService pool, String bucket, String key, Memory memory)
      throws Exception {
    String id = s3.createMultipartUpload(b -> b.bucket(bucket).key(key)).uploadId();
    List<Future<CompletedPart>> parts = new ArrayList<>();
    for (long off = 0; off < ImageData.SIZE; off += PART) {
      int number = (int) (off / PART) + 1;
      ByteBuffer slice = memory.getByteBuffer(off, PART);
      parts.add(pool.submit(() -> {
        String etag = s3.uploadPart(p -> p.bucket(bucket).key(key).uploadId(id).partNumber(number),
            RequestBody.fromRemainingByteBuffer(slice)).eTag();
        return CompletedPart.builder().partNumber(number).eTag(etag).build();
      }));
    }
    List<CompletedPart> done = new ArrayList<>();
    for (Future<CompletedPart> f : parts) {
      done.add(f.get());
    }
    s3.completeMultipartUpload(c -> c.bucket(bucket).key(key).uploadId(id).multipartUpload(m -> m.parts(done)));
  }

  /** What ckpt itself sends: one PUT per 16 MiB object, 4 in flight. */
  private static void rawPuts(S3Client s3, ExecutorService pool, String bucket, String prefix, Memory memory)
      throws Exception {
    List<Future<?>> puts = new ArrayList<>();
    for (long off = 0; off < ImageData.SIZE; off += PART) {
      String key = prefix + off / PART;
      ByteBuffer slice = memory.getByteBuffer(off, PART);
      puts.add(pool.submit(() -> s3.putObject(p -> p.bucket(bucket).key(key),
          RequestBody.fromRemainingByteBuffer(slice))));
    }
    for (Future<?> f : puts) {
      f.get();
    }
  }

  private static void rawDownload(S3Client s3, ExecutorService pool, String bucket, String key, Memory memory)
      throws Exception {
    List<Future<Long>> parts = new ArrayList<>();
    for (long off = 0; off < ImageData.SIZE; off += PART) {
      long start = off;
      parts.add(pool.submit(() -> {
        ByteBuffer dst = memory.getByteBuffer(start, PART);
        try (InputStream in = s3.getObject(g -> g.bucket(bucket).key(key)
            .range("bytes=" + start + "-" + (start + PART - 1))); ReadableByteChannel ch = Channels.newChannel(in)) {
          long n = 0;
          while (dst.hasRemaining() && ch.read(dst) >= 0) {
            n = dst.position();
          }
          return n;
        }
      }));
    }
    for (Future<Long> f : parts) {
      if (f.get() != PART) {
        throw new IllegalStateException("short part download");
      }
    }
  }

  private static void deleteAll(S3Client s3, String bucket) {
    List<ObjectIdentifier> ids = new ArrayList<>();
    for (S3Object o : s3.listObjectsV2Paginator(l -> l.bucket(bucket)).contents()) {
      ids.add(ObjectIdentifier.builder().key(o.key()).build());
    }
    for (int i = 0; i < ids.size(); i += 1000) {
      List<ObjectIdentifier> batch = ids.subList(i, Math.min(ids.size(), i + 1000));
      s3.deleteObjects(d -> d.bucket(bucket).delete(x -> x.objects(batch)));
    }
  }

  private static void row(String image, String op, long[] ckpt, long[] raw) {
    double c = median(ckpt) / 1e6;
    double r = median(raw) / 1e6;
    System.out.printf("| %s | %s | %.0f ms (%.2f GB/s) | %.0f ms (%.2f GB/s) | %.2fx | %.2fx |%n", image, op, c,
        ImageData.SIZE / c / 1e6, r, ImageData.SIZE / r / 1e6, r / c, c / r);
  }

  /**
   * CPU seconds used by this JVM and by the server (pid in S3_SERVER_PID) during one operation,
   * printed to stderr: on 2 cores the two compete, so CPU explains most of the wall-clock figures.
   */
  private record Cpu(long self, long server) {
    static Cpu start() {
      return new Cpu(selfNanos(), serverTicks());
    }

    void report(String what) {
      System.err.printf("cpu %s: client %.2f s, server %.2f s%n", what, (selfNanos() - self) / 1e9,
          (serverTicks() - server) / 100.0);
    }

    private static long selfNanos() {
      return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
          .getOperatingSystemMXBean()).getProcessCpuTime();
    }

    private static long serverTicks() {
      String pid = System.getenv("S3_SERVER_PID");
      if (pid == null) {
        return 0;
      }
      try {
        String stat = java.nio.file.Files.readString(java.nio.file.Path.of("/proc", pid, "stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(f[11]) + Long.parseLong(f[12]);
      } catch (java.io.IOException e) {
        return 0;
      }
    }
  }

  private static double median(long[] xs) {
    long[] s = xs.clone();
    Arrays.sort(s);
    return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2.0;
  }
}
