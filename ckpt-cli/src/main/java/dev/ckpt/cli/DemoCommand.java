package dev.ckpt.cli;

import dev.ckpt.CheckpointInfo;
import dev.ckpt.Checkpointable;
import dev.ckpt.Checkpointer;
import dev.ckpt.Retention;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * A self-contained tour of application-state checkpoints: a sieve keeps its progress in an
 * object and its table off-heap, is checkpointed as it runs, "crashes", and resumes from the store.
 */
@Command(name = "demo", description = "A self-contained tour: checkpoint a computation, lose it, restore it and continue.")
final class DemoCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  /** Progress of the sieve: how far it got and how many primes it found. */
  static final class Progress {
    long next = 2;
    long primes;
  }

  static final class Sieve implements Checkpointable<Progress> {
    static final int LIMIT = 64 << 20;
    final ByteBuffer composite = ByteBuffer.allocateDirect(LIMIT);
    Progress progress = new Progress();

    void run(long steps) {
      for (long s = 0; s < steps && progress.next < LIMIT; s++, progress.next++) {
        int n = (int) progress.next;
        if (composite.get(n) == 0) {
          progress.primes++;
          for (long m = (long) n * n; m < LIMIT; m += n) {
            composite.put((int) m, (byte) 1);
          }
        }
      }
    }

    @Override
    public Progress captureState() {
      return progress;
    }

    @Override
    public void restoreState(Progress state) {
      progress = state;
    }
  }

  private static Checkpointer checkpointer(Path store, Sieve sieve) throws Exception {
    return Checkpointer.builder().store(store.toUri()).job("sieve").register("progress", sieve)
        .registerSegment("table", sieve.composite).kryoClasses(Progress.class).retention(Retention.keepLast(3)).build();
  }

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    Path store = Files.createTempDirectory("ckpt-demo-");
    out.printf("store: %s%n%n", store.toUri());
    Sieve sieve = new Sieve();
    try (Checkpointer ckpt = checkpointer(store, sieve)) {
      for (int i = 0; i < 4; i++) {
        sieve.run(3_000_000);
        CheckpointInfo c = ckpt.checkpoint();
        out.printf("checkpoint %s: sieve at %,d, %,d primes; %s of state, %s stored (%.0f%% deduplicated) in %d ms%n",
            c.ref(), sieve.progress.next, sieve.progress.primes, size(c.logicalBytes()), size(c.newStoredBytes()),
            100 * c.dedupRatio(), c.duration().toMillis());
      }
    }
    long expectedAt = sieve.progress.next;
    out.printf("%n*** the process loses its state (as if killed) ***%n%n");
    Sieve fresh = new Sieve();
    try (Checkpointer ckpt = checkpointer(store, fresh)) {
      CheckpointInfo r = ckpt.restoreLatest();
      boolean same = fresh.progress.next == expectedAt;
      out.printf("restored %s: sieve at %,d, %,d primes%s%n", r.ref(), fresh.progress.next, fresh.progress.primes,
          same ? " (exactly where it stopped)" : " (MISMATCH: it stopped at " + expectedAt + ")");
      fresh.run(Long.MAX_VALUE);
      out.printf("finished: %,d primes below %,d%n", fresh.progress.primes, (long) Sieve.LIMIT);
      return same ? 0 : 1;
    }
  }

  static String size(long bytes) {
    if (bytes < 1024) {
      return bytes + " B";
    }
    String[] units = {"KiB", "MiB", "GiB", "TiB"};
    double v = bytes;
    int u = -1;
    while (v >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    return String.format("%.1f %s", v, units[u]);
  }
}
