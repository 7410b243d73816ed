package dev.ckpt.benchmarks;

import dev.ckpt.CheckpointInfo;
import dev.ckpt.CheckpointStore;
import dev.ckpt.linux.Mode;
import dev.ckpt.linux.NativeCheckpointer;
import dev.ckpt.linux.Stdio;
import dev.ckpt.linux.TracedProcess;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The second checkpoint of a running process, one second after its first: {@code membench churn}
 * (1 GiB mapped, 512 MiB resident, 1% of the resident pages rewritten every second, scattered),
 * checkpointed with {@code Mode.CONTINUE} to the local store on tmpfs. Each round measures it
 * with page tracking (userfaultfd) and, as the same-run baseline, without (every byte hashed
 * again), the two interleaved. Prints medians of the second checkpoint's wall time, frozen time,
 * bytes read and bytes stored. Usage: NativeIncremental path/to/membench [iterations] [chunk size in KiB]
 */
public final class NativeIncremental {
  private static final int WARMUP = 2;

  private NativeIncremental() {}

  public static void main(String[] args) throws Exception {
    String membench = args[0];
    int iterations = args.length > 1 ? Integer.parseInt(args[1]) : 5;
    int chunkKiB = args.length > 2 ? Integer.parseInt(args[2]) : 64;
    Path dir = ImageData.scratch("incremental-native");
    List<double[]> tracked = new ArrayList<>();
    List<double[]> hashed = new ArrayList<>();
    try (CheckpointStore store = CheckpointStore.builder().uri(dir.toUri()).chunkSize(chunkKiB * 1024).build()) {
      for (int i = 0; i < iterations + WARMUP; i++) {
        for (boolean track : new boolean[] {true, false}) {
          String job = (track ? "tracked" : "hashed") + i;
          double[] r = round(store, membench, job, track, dir.resolve(job + ".out"));
          if (i >= WARMUP) {
            (track ? tracked : hashed).add(r);
          }
          ImageData.delete(dir.resolve(job));
        }
      }
    }
    String[] what = {"second checkpoint, wall", "second checkpoint, frozen", "second checkpoint, bytes read",
        "second checkpoint, bytes stored", "first checkpoint, bytes stored"};
    for (int k = 0; k < what.length; k++) {
      double t = median(tracked, k);
      double h = median(hashed, k);
      String unit = k < 2 ? String.format("%.0f ms | %.0f ms", t * 1e3, h * 1e3) : String.format("%,.0f | %,.0f", t, h);
      System.out.printf("| %s | %s | %.3fx |%n", what[k], unit, t / h);
    }
  }

  /** {second wall s, second frozen s, second bytes read, second bytes stored, first bytes stored}. */
  private static double[] round(CheckpointStore store, String membench, String job, boolean track, Path out)
      throws Exception {
    try (NativeCheckpointer ckpt = NativeCheckpointer.builder().store(store).job(job).trackChanges(track).build()) {
      TracedProcess p = ckpt.launch(Stdio.files(Path.of("/dev/null"), out, null), membench, "churn");
      NativeDump.waitReady(out);
      CheckpointInfo first = ckpt.checkpoint(p, Mode.CONTINUE);
      Thread.sleep(1000);
      long t0 = System.nanoTime();
      CheckpointInfo second = ckpt.checkpoint(p, Mode.CONTINUE);
      double wall = (System.nanoTime() - t0) / 1e9;
      p.kill();
      p.waitFor(Duration.ofSeconds(10));
      if (track != second.changeTracking().equals("userfaultfd-wp")) {
        throw new IllegalStateException("second checkpoint of " + job + " used " + second.changeTracking());
      }
      return new double[] {wall, second.frozen().toNanos() / 1e9, second.bytesRead(), second.newStoredBytes(),
          first.newStoredBytes()};
    }
  }

  private static double median(List<double[]> rows, int k) {
    List<Double> xs = new ArrayList<>();
    rows.forEach(r -> xs.add(r[k]));
    Collections.sort(xs);
    return xs.get(xs.size() / 2);
  }
}
