package dev.ckpt.benchmarks;

import dev.ckpt.linux.Mode;
import dev.ckpt.linux.NativeCheckpointer;
import dev.ckpt.linux.RestoredProcess;
import dev.ckpt.linux.Stdio;
import dev.ckpt.linux.TracedProcess;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * What the restore's self-check (NativeCheckpointer.Builder.verifyRestore) costs: one checkpoint
 * of a process, then restores of it until the restored process runs, alternating with and
 * without the check in the same run. Prints the medians and their ratio.
 * Usage: RestoreVerifyCost path/to/program [rounds] [program args...]
 */
public final class RestoreVerifyCost {
  private static final int WARMUP = 3;

  private RestoreVerifyCost() {}

  public static void main(String[] args) throws Exception {
    String program = args[0];
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 9;
    List<String> command = new ArrayList<>(List.of(program));
    for (int i = 2; i < args.length; i++) {
      command.add(args[i]);
    }
    Path dir = ImageData.scratch("verify");
    java.net.URI store = dir.toUri().resolve("?create=true");
    Stdio quiet = Stdio.files(Path.of("/dev/null"), Path.of("/dev/null"), null);
    try (NativeCheckpointer c = NativeCheckpointer.builder().store(store).job("v").build()) {
      TracedProcess p = c.launch(quiet, command.toArray(String[]::new));
      Thread.sleep(1500);
      c.checkpoint(p, Mode.VACATE);
    }
    List<Double> with = new ArrayList<>();
    List<Double> without = new ArrayList<>();
    try (NativeCheckpointer on = NativeCheckpointer.builder().store(store).job("v").build();
         NativeCheckpointer off = NativeCheckpointer.builder().store(store).job("v").verifyRestore(false).build()) {
      for (int i = 0; i < WARMUP + rounds; i++) {
        for (boolean verify : new boolean[] {i % 2 == 0, i % 2 != 0}) {
          long start = System.nanoTime();
          RestoredProcess r = (verify ? on : off).restore("v", quiet);
          double ms = (System.nanoTime() - start) / 1e6;
          r.kill();
          r.waitFor(Duration.ofSeconds(10));
          if (i >= WARMUP) {
            (verify ? with : without).add(ms);
          }
        }
      }
    }
    double w = median(with);
    double wo = median(without);
    System.out.printf("| restore until it runs, with the self-check | %.1f ms |%n", w);
    System.out.printf("| restore until it runs, without (baseline) | %.1f ms |%n", wo);
    System.out.printf("| cost of the check | %.1f ms (%.3fx the baseline) |%n", w - wo, w / wo);
    ImageData.delete(dir);
  }

  private static double median(List<Double> xs) {
    List<Double> s = new ArrayList<>(xs);
    Collections.sort(s);
    return s.get(s.size() / 2);
  }
}
