package dev.ckpt.benchmarks;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
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
 * Dump and restore of a 1 GiB process (512 MiB resident: a quarter random, a quarter text, half
 * never touched) to the local store on tmpfs, against a raw process_vm_readv of the same resident
 * memory in the same run. Prints medians of wall time, frozen time and bytes stored.
 * Usage: NativeDump path/to/membench [iterations]
 */
public final class NativeDump {
  private static final long RESIDENT = 512L << 20;
  /**
   * Rounds run before measuring: with one, the JIT was still compiling (up to 0.4 s of C2 time
   * per round on these 2 cores) in the measured rounds, as JMH's warm-up would prevent.
   */
  private static final int WARMUP = 3;

  private NativeDump() {}

  public static void main(String[] args) throws Exception {
    String membench = args[0];
    int iterations = args.length > 1 ? Integer.parseInt(args[1]) : 5;
    Path dir = ImageData.scratch("native");
    List<Double> readv = new ArrayList<>();
    List<Double> dump = new ArrayList<>();
    List<Double> frozen = new ArrayList<>();
    List<Double> restore = new ArrayList<>();
    long stored = 0;
    String criu = criu();
    List<Double> criuDump = new ArrayList<>();
    List<Double> criuRestore = new ArrayList<>();
    long criuBytes = 0;
    try (CheckpointStore store = CheckpointStore.open(dir.toUri())) {
      for (int i = 0; i < iterations + WARMUP; i++) {
        String job = "bench" + i;
        Path out = dir.resolve(job + ".out");
        try (NativeCheckpointer ckpt = NativeCheckpointer.builder().store(store).job(job).build()) {
          TracedProcess p = ckpt.launch(Stdio.files(Path.of("/dev/null"), out, null), membench);
          long base = waitReady(out);
          double tRead = processVmReadv(p.pid(), base);
          long t0 = System.nanoTime();
          CheckpointInfo info = ckpt.checkpoint(p, Mode.CONTINUE);
          double tDump = (System.nanoTime() - t0) / 1e9;
          double tFrozen = Long.parseLong(info.attributes().get("frozen.nanos")) / 1e9;
          p.kill();
          p.waitFor(Duration.ofSeconds(10));
          long t1 = System.nanoTime();
          RestoredProcess r = ckpt.restore(job, Stdio.files(Path.of("/dev/null"), null, null));
          double tRestore = (System.nanoTime() - t1) / 1e9;
          r.kill();
          r.waitFor(Duration.ofSeconds(10));
          if (i >= WARMUP) {
            readv.add(tRead);
            dump.add(tDump);
            frozen.add(tFrozen);
            restore.add(tRestore);
            stored = info.newStoredBytes();
          }
        }
        ImageData.delete(dir.resolve(job));
        if (criu != null) {
          // Interleaved round by round, so both tools meet the same state of the machine.
          double[] c = criuRound(criu, membench, dir.resolve("criu" + i));
          if (i >= WARMUP) {
            criuDump.add(c[0]);
            criuRestore.add(c[1]);
            criuBytes = (long) c[2];
          }
        }
      }
    } finally {
      ImageData.delete(dir);
    }
    double mReadv = median(readv);
    double mDump = median(dump);
    double mFrozen = median(frozen);
    double mRestore = median(restore);
    System.out.printf("| process_vm_readv of 512 MiB resident (baseline) | %.0f ms | %.2f GB/s | 1.00x |%n",
        mReadv * 1e3, RESIDENT / mReadv / 1e9);
    System.out.printf("| dump (wall) | %.0f ms | %.2f GB/s | %.2fx |%n", mDump * 1e3, RESIDENT / mDump / 1e9, mReadv / mDump);
    System.out.printf("| dump (frozen) | %.0f ms | | frozen/wall %.2f |%n", mFrozen * 1e3, mFrozen / mDump);
    System.out.printf("| restore (until running) | %.0f ms | %.2f GB/s | %.2fx |%n", mRestore * 1e3,
        RESIDENT / mRestore / 1e9, mReadv / mRestore);
    System.out.printf("bytes stored by one dump: %d (%.1f%% of the 512 MiB resident)%n", stored, 100.0 * stored / RESIDENT);
    if (criu == null) {
      System.out.println("criu: not found (set CRIU=/path/to/criu or put it on PATH), no comparison. Debian's criu 3.17"
          + " fails on kernels 6.13 and later; 4.1+ is needed, and it needs root");
      return;
    }
    double cDump = median(criuDump);
    double cRestore = median(criuRestore);
    System.out.println(version(criu) + ", same process, rounds interleaved with ckpt's:");
    System.out.println("| what | criu median | ckpt median | ckpt time / criu time |");
    System.out.println("|---|---|---|---|");
    System.out.printf("| dump, process left running | %.0f ms | %.0f ms | %.2fx |%n", cDump * 1e3, mDump * 1e3,
        mDump / cDump);
    System.out.printf("| restore, until the process runs | %.0f ms | %.0f ms | %.2fx |%n", cRestore * 1e3,
        mRestore * 1e3, mRestore / cRestore);
    System.out.printf("criu page images: %d bytes (%.1f%% of the 512 MiB resident; criu does not compress)%n",
        criuBytes, 100.0 * criuBytes / RESIDENT);
  }

  /**
   * One CRIU round on a fresh membench: {@code criu dump --leave-running} (the process stays
   * frozen while its pages are written, as in ckpt's CONTINUE mode) to a directory on tmpfs, then
   * {@code criu restore -d} (until the restored process runs). Returns dump seconds, restore
   * seconds and the size of the page images.
   */
  private static double[] criuRound(String criu, String membench, Path images) throws Exception {
    Files.createDirectories(images);
    Path out = images.resolveSibling(images.getFileName() + ".out");
    Process p = new ProcessBuilder("setsid", membench).redirectInput(Path.of("/dev/null").toFile())
        .redirectOutput(out.toFile()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    try {
      waitReady(out);
      long t0 = System.nanoTime();
      run(criu, "dump", "-t", Long.toString(p.pid()), "-D", images.toString(), "--leave-running", "-o", "dump.log");
      double tDump = (System.nanoTime() - t0) / 1e9;
      p.destroyForcibly().waitFor();
      long t1 = System.nanoTime();
      run(criu, "restore", "-D", images.toString(), "-d", "-o", "restore.log");
      double tRestore = (System.nanoTime() - t1) / 1e9;
      long bytes;
      try (var s = Files.list(images)) {
        bytes = s.filter(f -> f.getFileName().toString().startsWith("pages-")).mapToLong(f -> f.toFile().length()).sum();
      }
      return new double[] {tDump, tRestore, bytes};
    } finally {
      p.destroyForcibly().waitFor();
      ProcessHandle.of(p.pid()).ifPresent(h -> {
        h.destroyForcibly();
        h.onExit().join();
      });
      ImageData.delete(images);
      Files.deleteIfExists(out);
    }
  }

  private static void run(String... command) throws Exception {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(p.getInputStream().readAllBytes());
    if (p.waitFor() != 0) {
      throw new IllegalStateException(String.join(" ", command) + " failed: " + output);
    }
  }

  private static String version(String criu) throws Exception {
    Process p = new ProcessBuilder(criu, "--version").redirectErrorStream(true).start();
    String v = new String(p.getInputStream().readAllBytes()).lines().findFirst().orElse("?");
    p.waitFor();
    return "criu " + v.replace("Version: ", "");
  }

  static long waitReady(Path out) throws Exception {
    long deadline = System.currentTimeMillis() + 60_000;
    while (System.currentTimeMillis() < deadline) {
      if (Files.exists(out)) {
        String s = Files.readString(out);
        if (s.startsWith("ready ")) {
          return Long.parseUnsignedLong(s.substring(8).trim(), 16);
        }
      }
      Thread.sleep(10);
    }
    throw new IllegalStateException("membench did not get ready");
  }

  /** Reads the 512 MiB resident half with process_vm_readv into one reused 1 MiB buffer. */
  private static double processVmReadv(int pid, long base) {
    int chunk = 1 << 20;
    try (Memory buf = new Memory(chunk); Memory local = new Memory(16); Memory remote = new Memory(16)) {
      buf.clear();
      local.setPointer(0, buf);
      local.setLong(8, chunk);
      long t0 = System.nanoTime();
      for (long off = 0; off < RESIDENT; off += chunk) {
        remote.setLong(0, base + off);
        remote.setLong(8, chunk);
        long n = LibC.syscall(310, pid, Pointer.nativeValue(local), 1, Pointer.nativeValue(remote), 1, 0);
        if (n != chunk) {
          throw new IllegalStateException("process_vm_readv returned " + n);
        }
      }
      return (System.nanoTime() - t0) / 1e9;
    }
  }

  private static double median(List<Double> xs) {
    List<Double> s = new ArrayList<>(xs);
    Collections.sort(s);
    return s.get(s.size() / 2);
  }

  private static String criu() {
    String given = System.getenv("CRIU");
    if (given != null && Files.isExecutable(Path.of(given))) {
      return given;
    }
    for (String d : System.getenv().getOrDefault("PATH", "").split(":")) {
      Path p = Path.of(d, "criu");
      if (Files.isExecutable(p)) {
        return p.toString();
      }
    }
    return null;
  }
}
