package dev.ckpt.benchmarks;

import com.sun.jna.Memory;
import dev.ckpt.CheckpointInfo;
import dev.ckpt.CheckpointStore;
import dev.ckpt.Checkpointer;
import dev.ckpt.store.nfs.internal.rpc.Nfs3Client;
import java.net.URI;
import java.time.Duration;
import java.util.Arrays;

/**
 * Checkpoint and restore of a 1 GiB image through the NFS store's direct mode (NFSv3 from Java),
 * against a raw sequential NFSv3 write (1 MiB UNSTABLE WRITEs and a COMMIT) and read (1 MiB
 * READs) of the same bytes over the same client code, in the same run. Usage:
 * {@code NfsTransfer <host> <export> <iterations>}; benchmarks/nfs.sh starts NFS-Ganesha.
 */
public final class NfsTransfer {
  private NfsTransfer() {}

  public static void main(String[] args) throws Exception {
    String host = args[0];
    String export = args[1];
    int iterations = Integer.parseInt(args[2]);
    System.out.println("| image | ckpt operation | ckpt median | raw NFSv3 median | ckpt time / raw time |");
    System.out.println("|---|---|---|---|---|");
    for (boolean random : new boolean[] {false, true}) {
      run(host, export, random, iterations);
    }
  }

  private static void run(String host, String export, boolean random, int iterations) throws Exception {
    Memory memory = ImageData.allocate(random);
    String kind = random ? "random" : "standard";
    URI uri = URI.create("nfs://" + host + export + "/bench-" + kind + "?create=true");
    long[] dump = new long[iterations];
    long[] restore = new long[iterations];
    long[] write = new long[iterations];
    long[] read = new long[iterations];
    long stored = 0;
    try (CheckpointStore store = CheckpointStore.open(uri);
        Nfs3Client raw = Nfs3Client.mount(host, 0, export, 0, 0, Duration.ofSeconds(30), Duration.ofSeconds(60), 4)
            .client()) {
      for (int i = 0; i < iterations; i++) {
        String job = "dump-" + i;
        try (Checkpointer c = Checkpointer.builder().store(store).job(job)
            .registerSegment("heap", dev.ckpt.linux.JnaMemory.of(memory, ImageData.SIZE)).build()) {
          long t0 = System.nanoTime();
          CheckpointInfo info = c.checkpoint();
          dump[i] = System.nanoTime() - t0;
          stored = info.newStoredBytes();
          t0 = System.nanoTime();
          c.restoreLatest();
          restore[i] = System.nanoTime() - t0;
        }
        String name = "raw-" + kind + "-" + i;
        long t0 = System.nanoTime();
        Nfs3Client.Fh fh = raw.create(raw.root(), name, 0600, true).fh();
        byte[] buf = new byte[raw.writeSize()];
        for (long off = 0; off < ImageData.SIZE; off += buf.length) {
          memory.read(off, buf, 0, buf.length);
          raw.write(fh, name, off, buf, 0, buf.length, false);
        }
        raw.commit(fh, name);
        write[i] = System.nanoTime() - t0;
        t0 = System.nanoTime();
        byte[] in = new byte[raw.readSize()];
        for (long off = 0; off < ImageData.SIZE; ) {
          int n = raw.read(fh, name, off, in, 0, in.length);
          memory.write(off, in, 0, n);
          off += n;
        }
        read[i] = System.nanoTime() - t0;
        raw.remove(raw.root(), name);
        // Remove the job so the next iteration writes into recycled pages too (see README).
        store.retain(job, dev.ckpt.Retention.keepLast(1));
        for (var b : store.blobs().list(job + "/")) {
          store.blobs().delete(b.key());
        }
      }
    } finally {
      memory.close();
    }
    row(kind + " (ckpt stored " + stored / (1 << 20) + " MiB)", "checkpoint vs sequential write + COMMIT", dump, write);
    row(kind, "restore vs sequential read", restore, read);
  }

  private static void row(String image, String op, long[] ckpt, long[] raw) {
    double c = median(ckpt) / 1e6;
    double r = median(raw) / 1e6;
    System.out.printf("| %s | %s | %.0f ms (%.2f GB/s) | %.0f ms (%.2f GB/s) | %.2fx |%n", image, op, c,
        ImageData.SIZE / c / 1e6, r, ImageData.SIZE / r / 1e6, c / r);
  }

  private static double median(long[] xs) {
    long[] s = xs.clone();
    Arrays.sort(s);
    return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2.0;
  }

}
