package dev.ckpt.benchmarks;

import dev.ckpt.CheckpointInfo;
import dev.ckpt.CheckpointStore;
import dev.ckpt.linux.Mode;
import dev.ckpt.linux.NativeCheckpointer;
import dev.ckpt.linux.RestoredProcess;
import dev.ckpt.linux.Stdio;
import dev.ckpt.linux.TracedProcess;
import dev.ckpt.linux.internal.jna.LibC;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Dump and restore of many tasks: a process with N threads (manythreads) and a tree of N
 * processes (manyprocs), each dumped with its tasks frozen and killed (ckpt VACATE, criu dump),
 * then restored until it runs (ckpt restore, criu restore -d), rounds of the two tools
 * interleaved. Prints medians, and per thread or per process. The benchmark makes itself a child
 * subreaper and reaps the killed trees at once, so that their pids are free for the restores of
 * both tools without waiting for init.
 * Usage: NativeScale path/to/manythreads path/to/manyprocs [threads] [processes] [iterations]
 */
public final class NativeScale {
  private static final int WARMUP = 2;
  private static final int PR_SET_CHILD_SUBREAPER = 36;

  private NativeScale() {}

  public static void main(String[] args) throws Exception {
    int threads = args.length > 2 ? Integer.parseInt(args[2]) : 1000;
    int processes = args.length > 3 ? Integer.parseInt(args[3]) : 50;
    int iterations = args.length > 4 ? Integer.parseInt(args[4]) : 5;
    LibC.syscall(157, PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0, 0);
    String criu = System.getenv("CRIU");
    measure("process with " + threads + " threads", "thread", threads, List.of(args[0], Integer.toString(threads), "1000"),
        iterations, criu);
    measure("tree of " + processes + " processes", "process", processes, List.of(args[1], Integer.toString(processes), "1000"),
        iterations, criu);
  }

  private static void measure(String what, String unit, int n, List<String> command, int iterations, String criu)
      throws Exception {
    Path dir = ImageData.scratch("scale");
    List<Double> dump = new ArrayList<>();
    List<Double> restore = new ArrayList<>();
    List<Double> criuDump = new ArrayList<>();
    List<Double> criuRestore = new ArrayList<>();
    try (CheckpointStore store = CheckpointStore.open(dir.toUri())) {
      for (int i = 0; i < iterations + WARMUP; i++) {
        String job = "scale" + i;
        Path out = dir.resolve(job + ".out");
        // Launched by ckpt, not as a child of this JVM, whose process reaper would take its
        // ptrace stops; it is reparented to this subreaper, which reaps it once killed.
        try (NativeCheckpointer ckpt = NativeCheckpointer.builder().store(store).job(job).verifyRestore(false).build()) {
          TracedProcess t = ckpt.launch(Stdio.files(Path.of("/dev/null"), out, null), command.toArray(String[]::new));
          awaitStarted(command, out);
          long t0 = System.nanoTime();
          ckpt.checkpoint(t, Mode.VACATE);
          double tDump = (System.nanoTime() - t0) / 1e9;
          t.waitFor(Duration.ofSeconds(30));
          reapOrphans();
          long t1 = System.nanoTime();
          RestoredProcess r = ckpt.restore(job, Stdio.files(Path.of("/dev/null"), null, null));
          double tRestore = (System.nanoTime() - t1) / 1e9;
          r.kill();
          r.waitFor(Duration.ofSeconds(10));
          killTree();
          if (i >= WARMUP) {
            dump.add(tDump);
            restore.add(tRestore);
          }
        }
        ImageData.delete(dir.resolve(job));
        if (criu != null) {
          double[] c = criuRound(criu, command, dir.resolve("criu" + i));
          if (i >= WARMUP) {
            criuDump.add(c[0]);
            criuRestore.add(c[1]);
          }
        }
      }
    } finally {
      ImageData.delete(dir);
    }
    double d = median(dump);
    double r = median(restore);
    System.out.printf("| %s | ckpt dump (frozen, then killed) | %.0f ms | %.3f ms per %s |%n", what, d * 1e3, d * 1e3 / n, unit);
    System.out.printf("| %s | ckpt restore (until running) | %.0f ms | %.3f ms per %s |%n", what, r * 1e3, r * 1e3 / n, unit);
    if (criu != null) {
      double cd = median(criuDump);
      double cr = median(criuRestore);
      System.out.printf("| %s | criu dump | %.0f ms | %.3f ms per %s; ckpt/criu %.2fx |%n", what, cd * 1e3, cd * 1e3 / n, unit,
          d / cd);
      System.out.printf("| %s | criu restore -d | %.0f ms | %.3f ms per %s; ckpt/criu %.2fx |%n", what, cr * 1e3, cr * 1e3 / n,
          unit, r / cr);
    }
  }

  /** Starts the program as a child of this JVM (setsid makes it a session leader, as ckpt's launcher does). */
  private static Process start(List<String> command, Path out) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("setsid"));
    cmd.addAll(command);
    Process p = new ProcessBuilder(cmd).redirectInput(Path.of("/dev/null").toFile()).redirectOutput(out.toFile())
        .redirectError(ProcessBuilder.Redirect.DISCARD).start();
    try {
      awaitStarted(command, out);
    } catch (IllegalStateException e) {
      p.destroyForcibly();
      throw e;
    }
    return p;
  }

  private static void awaitStarted(List<String> command, Path out) throws Exception {
    long deadline = System.currentTimeMillis() + 30_000;
    while (System.currentTimeMillis() < deadline) {
      if (Files.exists(out) && Files.readString(out).contains("started")) {
        return;
      }
      Thread.sleep(5);
    }
    throw new IllegalStateException(command + " did not start");
  }

  private static double[] criuRound(String criu, List<String> command, Path images) throws Exception {
    Files.createDirectories(images);
    Path out = images.resolveSibling(images.getFileName() + ".out");
    Process p = start(command, out);
    try {
      long t0 = System.nanoTime();
      run(criu, "dump", "-t", Long.toString(p.pid()), "-D", images.toString(), "-o", "dump.log");
      double tDump = (System.nanoTime() - t0) / 1e9;
      p.waitFor();
      reapOrphans();
      long t1 = System.nanoTime();
      run(criu, "restore", "-D", images.toString(), "-d", "-o", "restore.log");
      double tRestore = (System.nanoTime() - t1) / 1e9;
      killTree();
      return new double[] {tDump, tRestore};
    } finally {
      p.destroyForcibly().waitFor();
      ImageData.delete(images);
      Files.deleteIfExists(out);
    }
  }

  /** SIGKILLs every descendant of this JVM but its own helper processes, and reaps them. */
  private static void killTree() throws Exception {
    for (ProcessHandle h : ProcessHandle.current().descendants().toList()) {
      String cmd = h.info().command().orElse("");
      if (cmd.contains("manythreads") || cmd.contains("manyprocs") || cmd.contains("setsid") || cmd.contains("unshare")) {
        h.destroyForcibly();
      }
    }
    Thread.sleep(50);
    reapOrphans();
  }

  /** Reaps the zombies reparented to this subreaper (not children the JVM started, which it reaps itself). */
  private static void reapOrphans() throws Exception {
    for (int round = 0; round < 100; round++) {
      boolean any = false;
      for (var task : Files.newDirectoryStream(Path.of("/proc/self/task"))) {
        String kids = Files.readString(task.resolve("children")).trim();
        if (kids.isEmpty()) {
          continue;
        }
        for (String k : kids.split("\\s+")) {
          int pid = Integer.parseInt(k);
          String stat;
          try {
            stat = Files.readString(Path.of("/proc", k, "stat"));
          } catch (java.io.IOException e) {
            continue;
          }
          char state = stat.charAt(stat.lastIndexOf(')') + 2);
          if (state == 'Z' && ProcessHandle.current().children().noneMatch(h -> h.pid() == pid && isOurs(h))) {
            LibC.waitpid(pid, new int[1], 0x40000000 | 1);
            any = true;
          }
        }
      }
      if (!any) {
        return;
      }
    }
  }

  /** A child started with ProcessBuilder: the JVM's reaper waits for it. */
  private static boolean isOurs(ProcessHandle h) {
    return h.info().command().map(c -> c.endsWith("setsid")).orElse(false);
  }

  private static void run(String... command) throws Exception {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(p.getInputStream().readAllBytes());
    if (p.waitFor() != 0) {
      throw new IllegalStateException(String.join(" ", command) + " failed: " + output);
    }
  }

  private static double median(List<Double> xs) {
    List<Double> s = new ArrayList<>(xs);
    Collections.sort(s);
    return s.get(s.size() / 2);
  }
}
