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
@Command(name = "demo", description = {"A self-contained tour: start a counting process, checkpoint it, kill it, restore it,",
    "and watch it continue. --app-state tours application-state checkpoints instead."})
final class DemoCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @picocli.CommandLine.Option(names = "--app-state", description = "Tour application-state checkpoints (objects and off-heap memory).")
  boolean appState;

  private static final int COUNT = 40;
  private static final String COUNTER = "import time\n"
      + "for i in range(1, " + COUNT + " + 1):\n"
      + "    print('count', i, flush=True)\n"
      + "    time.sleep(0.15)\n";

  private static void pause(long ms) throws InterruptedException {
    Thread.sleep(ms);
  }

  /** Prints the lines added to {@code file} since {@code shown} lines, and returns the new count. */
  private static int follow(PrintWriter out, Path file, int shown, String prefix) throws java.io.IOException {
    java.util.List<String> lines = Files.exists(file) ? Files.readAllLines(file) : java.util.List.of();
    for (int i = shown; i < lines.size(); i++) {
      out.println(prefix + lines.get(i));
    }
    out.flush();
    return Math.max(shown, lines.size());
  }

  private int nativeTour(PrintWriter out) throws Exception {
    String python = java.util.stream.Stream.of("/usr/bin/python3", "/bin/python3", "/usr/local/bin/python3")
        .filter(p -> Files.isExecutable(Path.of(p))).findFirst()
        .orElseThrow(() -> new IllegalStateException("the demo counts with python3, which is not installed (apt-get install python3)"));
    Path work = Files.createTempDirectory("ckpt-demo-");
    Path script = Files.writeString(work.resolve("count.py"), COUNTER);
    Path output = work.resolve("count.out");
    java.net.URI store = java.net.URI.create(work.resolve("store").toUri() + "?create=true");
    out.printf("store: %s%n%n", work.resolve("store").toUri());
    try (dev.ckpt.linux.NativeCheckpointer ckpt = dev.ckpt.linux.NativeCheckpointer.builder().store(store).job("demo").build()) {
      dev.ckpt.linux.TracedProcess p = ckpt.launch(
          // Files of its own: a stderr shared with the demo's would be cut back to its checkpoint length on restore.
          dev.ckpt.linux.Stdio.files(java.nio.file.Path.of("/dev/null"), output, work.resolve("count.err")), python,
          script.toString());
      out.printf("started %s %s as pid %d; it counts to %d, one line every 150 ms:%n", python, script.getFileName(), p.pid(), COUNT);
      int shown = 0;
      for (int i = 0; i < 8; i++) {
        pause(150);
        shown = follow(out, output, shown, "  pid " + p.pid() + " | ");
      }
      CheckpointInfo c1 = ckpt.checkpoint(p, dev.ckpt.linux.Mode.CONTINUE);
      out.printf("%ncheckpoint %s while it runs: %s of memory, %s stored, stopped for %d ms%n%n", c1.ref(),
          size(c1.logicalBytes()), size(c1.newStoredBytes()), c1.frozen().toMillis());
      for (int i = 0; i < 6; i++) {
        pause(150);
        shown = follow(out, output, shown, "  pid " + p.pid() + " | ");
      }
      CheckpointInfo c2 = ckpt.checkpoint(p, dev.ckpt.linux.Mode.VACATE);
      p.waitFor(java.time.Duration.ofSeconds(10));
      shown = follow(out, output, shown, "  pid " + p.pid() + " | ");
      out.printf("%ncheckpoint %s, then the process is killed (vacate): %s stored this time, %.0f%% of its chunks were already in the store%n",
          c2.ref(), size(c2.newStoredBytes()), 100 * c2.dedupRatio());
      out.printf("*** pid %d is gone ***%n%n", p.pid());
      pause(500);
      dev.ckpt.linux.RestoredProcess r = ckpt.restore("demo");
      out.printf("restored %s as pid %d; it goes on counting where it stopped:%n", r.restoredFrom().ref(), r.pid());
      while (r.isAlive()) {
        pause(150);
        shown = follow(out, output, shown, "  pid " + r.pid() + " | ");
      }
      int code = r.waitFor();
      follow(out, output, shown, "  pid " + r.pid() + " | ");
      java.util.List<String> lines = Files.readAllLines(output);
      boolean whole = lines.size() == COUNT;
      for (int i = 0; whole && i < COUNT; i++) {
        whole = lines.get(i).equals("count " + (i + 1));
      }
      out.printf("%nexit code %d; the output counts 1 to %d %s%n", code, COUNT,
          whole ? "with no line lost or repeated" : "WITH GAPS OR REPEATS");
      out.printf("see the checkpoints: ./ckpt ls --store %s%n", work.resolve("store"));
      return whole && code == 0 ? 0 : 1;
    }
  }

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
    if (!appState) {
      return nativeTour(out);
    }
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
