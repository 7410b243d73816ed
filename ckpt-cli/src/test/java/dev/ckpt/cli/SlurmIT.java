package dev.ckpt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code ckpt run} under a real Slurm 22.05 (Debian's): a slurmctld and two slurmd nodes, each
 * node in a network namespace of its own with its own address, so that they are two hosts to
 * Slurm, and an S3 store (S3Proxy) both reach over the namespaces' bridge
 * (src/test/slurm/cluster.sh). A deterministic C program of a few seconds runs as the job; after
 * every eviction its output must be that of an uninterrupted run, byte for byte.
 *
 * <p>Slurm delays a requeued job's start (its BeginTime) by the job credentials' lifetime, 120 s
 * unless {@code AuthInfo=cred_expire} says otherwise; the cluster sets 10 s. The tests let Slurm
 * start it again by itself: released early with {@code scontrol update StartTime=now}, a start in
 * the same second as the requeue carries a credential the node has just revoked and fails at
 * launch (seen in CI: JobState FAILED, ExitCode 1:0, RunTime 0).
 */
@Timeout(value = 8, unit = TimeUnit.MINUTES)
class SlurmIT {
  private static final Path SCRIPT = Path.of("src/test/slurm/cluster.sh").toAbsolutePath();
  private static final int STEPS = 300;
  private static Path dir;
  private static String ctl;
  private static String store;
  private static Path program;
  private static byte[] reference;

  @BeforeAll
  static void startCluster() throws Exception {
    String jar = System.getProperty("ckpt.s3proxyJar");
    if (jar == null || !Files.isRegularFile(Path.of(jar))) {
      fail("S3Proxy is missing: expected its jar at system property ckpt.s3proxyJar (" + jar + "); run the tests through"
          + " Maven (mvn verify), which copies it to ckpt-cli/target/s3proxy/s3proxy.jar");
    }
    dir = Files.createTempDirectory("ckpt-slurm-");
    Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
    Run start = run(List.of("bash", SCRIPT.toString(), "start", dir.resolve("cluster").toString(), jar), Map.of(), 120);
    if (start.code != 0) {
      fail("the test Slurm cluster did not start (" + SCRIPT + ", exit " + start.code + "; it needs root and the Debian "
          + "packages slurmctld, slurmd, slurm-client, munge and iproute2, which ./scripts/test installs):\n" + start.out);
    }
    ctl = Files.readString(dir.resolve("cluster/netns")).trim().split(" ")[0];
    String endpoint = Files.readString(dir.resolve("cluster/s3.endpoint")).trim();
    store = "s3://ckpt/jobs?endpoint=" + endpoint + "&pathStyle=true&accessKey=testkey&secretKey=testsecret&region=us-east-1";
    Path src = dir.resolve("steps.c");
    // Each step rewrites 512 KiB and prints a digest of it: a resume from the wrong state prints other digests.
    Files.writeString(src, String.join("\n",
        "#include <stdint.h>",
        "#include <stdio.h>",
        "#include <stdlib.h>",
        "#include <time.h>",
        "static uint64_t mem[1 << 16];",
        "int main(int argc, char **argv) {",
        "  int n = atoi(argv[1]);",
        "  setvbuf(stdout, NULL, _IOLBF, 0);",
        "  uint64_t h = 1469598103934665603ULL;",
        "  for (int i = 1; i <= n; i++) {",
        "    for (int k = 0; k < (1 << 16); k++) mem[k] = mem[k] * 6364136223846793005ULL + (uint64_t) (i + k);",
        "    h = (h ^ mem[i & 0xffff]) * 1099511628211ULL;",
        "    printf(\"step %d %016llx\\n\", i, (unsigned long long) h);",
        "    struct timespec t = {0, 20 * 1000 * 1000};",
        "    while (nanosleep(&t, &t)) {}",
        "  }",
        "  return 0;",
        "}", ""));
    program = dir.resolve("steps");
    Run gcc = run(List.of("gcc", "-O2", "-o", program.toString(), src.toString()), Map.of(), 60);
    assertEquals(0, gcc.code, "gcc is needed for the Slurm test's program (./scripts/test installs it): " + gcc.out);
    Run ref = run(List.of("sh", "-c", "exec \"$0\" " + STEPS + " > \"$1\"", program.toString(), dir.resolve("ref.out").toString()),
        Map.of(), 60);
    assertEquals(0, ref.code, ref.out);
    reference = Files.readAllBytes(dir.resolve("ref.out"));
  }

  @AfterAll
  static void stopCluster() throws Exception {
    if (dir != null) {
      run(List.of("bash", SCRIPT.toString(), "stop", dir.resolve("cluster").toString()), Map.of(), 60);
      try (java.util.stream.Stream<Path> files = Files.walk(dir)) {
        files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
      }
    }
  }

  /** A test that failed may leave its job queued or running, or a node drained: the next starts clean. */
  @AfterEach
  void cancelJobsAndResumeNodes() throws Exception {
    if (ctl == null) {
      return;
    }
    Map<String, String> env = Map.of("SLURM_CONF", dir.resolve("cluster/slurm.conf").toString());
    run(List.of("ip", "netns", "exec", ctl, "scancel", "--user", "root"), env, 30);
    for (String node : List.of("n1", "n2")) {
      run(List.of("ip", "netns", "exec", ctl, "scontrol", "update", "NodeName=" + node, "State=RESUME"), env, 30);
    }
  }

  /**
   * {@code scontrol requeue} mid-run: Slurm sends SIGTERM to every process of the job; ckpt
   * vacates (the program's own SIGTERM is held until then), the job is queued again, and on its
   * next start {@code ckpt run} resumes it from the checkpoint and it finishes with the output of
   * an uninterrupted run.
   */
  @Test
  void requeuedJob_resumesFromItsCheckpoint_withIdenticalOutput() throws Exception {
    Job job = submit("requeue", true);
    job.awaitLog("checkpoint requeue@", 60);
    slurm("scontrol", "requeue", job.id);
    String log = job.awaitEnd("COMPLETED", 120);
    assertTrue(log.contains("process stopped"), "a vacate checkpoint before the requeue:\n" + log);
    assertTrue(log.contains("ckpt run: resumed requeue@"), log);
    job.assertOutputIsUninterrupted();
  }

  /**
   * {@code sbatch --signal=B:USR1@50 --time=1}: the warning reaches ckpt, which (with
   * {@code --requeue}) vacates the job and asks Slurm to requeue it before its time limit; the
   * job resumes and finishes, in as many starts as its time limit makes it take.
   */
  @Test
  void timeLimitWarning_vacatesAndRequeues_andTheJobFinishes() throws Exception {
    // Slurm checks time limits every 30 s: the warning comes 10 to 40 s after the start, so this
    // job runs long enough to get it.
    Job job = submit("warned", true, 2000, "--time=1", "--signal=B:USR1@50");
    job.awaitLog("Slurm job " + job.id + " requeued", 90);
    // Each start has a minute again, and a warning again: the job may be vacated more than once.
    String log = job.awaitEnd("COMPLETED", 300);
    assertTrue(log.contains("process stopped"), log);
    assertTrue(log.contains("ckpt run: resumed warned@"), log);
    job.assertOutputIsUninterrupted();
  }

  /**
   * The node the job runs on is drained and the job requeued: it resumes on the other node (a
   * different host and address to Slurm) and finishes with the output of an uninterrupted run.
   */
  @Test
  void jobRequeuedFromADrainedNode_resumesOnTheOtherNode() throws Exception {
    Job job = submit("migrate", true);
    job.awaitLog("checkpoint migrate@", 60);
    String first = job.node();
    slurm("scontrol", "update", "NodeName=" + first, "State=DRAIN", "Reason=ckpt-migration-test");
    try {
      slurm("scontrol", "requeue", job.id);
      String log = job.awaitEnd("COMPLETED", 120);
      Matcher m = Pattern.compile("job on (n[12]) at start ([0-9]+)").matcher(log);
      List<String> nodes = new ArrayList<>();
      while (m.find()) {
        nodes.add(m.group(1) + "#" + m.group(2));
      }
      assertEquals(List.of(first + "#0", other(first) + "#1"), nodes, log);
      assertTrue(log.contains("ckpt run: resumed migrate@"), log);
      job.assertOutputIsUninterrupted();
    } finally {
      slurm("scontrol", "update", "NodeName=" + first, "State=RESUME");
    }
  }

  /**
   * {@code scancel}: the job is vacated within KillWait (30 s) rather than killed, ckpt does not
   * requeue a cancelled job (Slurm would), and a later {@code ckpt run} of the same job name, in a new
   * batch job, resumes it.
   */
  @Test
  void cancelledJob_isVacated_andALaterRunOfTheSameNameResumesIt() throws Exception {
    Job job = submit("cancel", true);
    job.awaitLog("checkpoint cancel@", 60);
    long cancelled = System.nanoTime();
    slurm("scancel", job.id);
    String log = job.awaitLog("ckpt run: vacated", 40);
    assertTrue(System.nanoTime() - cancelled < TimeUnit.SECONDS.toNanos(30), "vacated after KillWait:\n" + log);
    job.awaitEnd("CANCELLED", 60);
    assertTrue(log.contains("Slurm job " + job.id + " is COMPLETING, not running; not requeued"), log);
    Job again = submit("cancel", false);
    String log2 = again.awaitEnd("COMPLETED", 120);
    assertTrue(log2.contains("ckpt run: resumed cancel@"), log2);
    again.assertOutputIsUninterrupted();
  }

  private static String other(String node) {
    return node.equals("n1") ? "n2" : "n1";
  }

  private Job submit(String name, boolean requeue, String... sbatchOptions) throws Exception {
    return submit(name, requeue, STEPS, sbatchOptions);
  }

  /** Submits {@code ckpt run --name NAME} of the program as a batch job; its stderr, and ckpt's, go to NAME.log. */
  private Job submit(String name, boolean requeue, int steps, String... sbatchOptions) throws Exception {
    Path out = dir.resolve(name + ".out");
    Path log = dir.resolve(name + ".log");
    Path script = dir.resolve(name + "-" + System.nanoTime() + ".sh");
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Files.writeString(script, String.join("\n",
        "#!/bin/bash",
        "echo \"job on $SLURMD_NODENAME at start ${SLURM_RESTART_COUNT:-0}\" >&2",
        "export _JAVA_SR_SIGNUM=40",
        "exec '" + java + "' -cp '" + System.getProperty("java.class.path") + "' " + Main.class.getName()
            + " run" + (requeue ? " --requeue" : "") + " --every 500ms --keep 2 --grace 20s --name " + name
            + " --store '" + store + "' -- sh -c 'exec \"$0\" " + steps + " > \"$1\"' " + program + " " + out,
        ""));
    List<String> cmd = new ArrayList<>(List.of("sbatch", "--parsable", "--requeue", "--open-mode=append", "-J", name,
        "-o", log.toString(), "-e", log.toString()));
    cmd.addAll(List.of(sbatchOptions));
    cmd.add(script.toString());
    String id = slurm(cmd.toArray(String[]::new)).trim().split(";")[0];
    return new Job(id, name, out, log, steps);
  }

  private final class Job {
    final String id;
    final String name;
    final Path out;
    final Path log;
    final int steps;

    Job(String id, String name, Path out, Path log, int steps) {
      this.id = id;
      this.name = name;
      this.out = out;
      this.log = log;
      this.steps = steps;
    }

    String log() throws IOException {
      return Files.exists(log) ? Files.readString(log) : "";
    }

    Map<String, String> show() throws Exception {
      Map<String, String> fields = new HashMap<>();
      for (String kv : slurm("scontrol", "-o", "show", "job", id).trim().split(" ")) {
        int eq = kv.indexOf('=');
        if (eq > 0) {
          fields.put(kv.substring(0, eq), kv.substring(eq + 1));
        }
      }
      return fields;
    }

    String node() throws Exception {
      return show().get("NodeList");
    }

    String awaitLog(String text, int seconds) throws Exception {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
      while (!log().contains(text)) {
        if (System.nanoTime() > deadline) {
          fail("job " + name + " (" + id + ") did not log '" + text + "' in " + seconds + " s; state " + show() + "; log:\n" + log());
        }
        Thread.sleep(100);
      }
      return log();
    }

    /** Waits for the job to end in {@code state}, through any number of requeues. */
    String awaitEnd(String state, int seconds) throws Exception {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
      Map<String, String> f = show();
      while (!f.get("JobState").equals(state)) {
        if (System.nanoTime() > deadline || Set.of("FAILED", "NODE_FAIL", "BOOT_FAIL", "OUT_OF_MEMORY").contains(f.get("JobState"))) {
          fail("job " + name + " (" + id + ") did not end " + state + " in " + seconds + " s; state " + f + "; log:\n" + log()
              + "\nslurmd logs:\n" + slurmdLogs());
        }
        Thread.sleep(250);
        f = show();
      }
      return log();
    }

    /** What the nodes logged about this job, for a failure's message. */
    String slurmdLogs() throws IOException {
      StringBuilder out = new StringBuilder();
      for (String node : List.of("n1", "n2")) {
        Path file = dir.resolve("cluster/log/slurmd-" + node + ".log");
        if (Files.exists(file)) {
          for (String line : Files.readAllLines(file)) {
            if (line.contains("JobId=" + id + " ") || line.contains("job " + id + " ") || line.contains("error")) {
              out.append(node).append(": ").append(line).append('\n');
            }
          }
        }
      }
      return out.toString();
    }

    void assertOutputIsUninterrupted() throws Exception {
      byte[] want = steps == STEPS ? reference : referenceOf(steps);
      byte[] got = Files.readAllBytes(out);
      assertEquals(new String(want, StandardCharsets.UTF_8).length(), new String(got, StandardCharsets.UTF_8).length(),
          "output length of job " + name + "; log:\n" + log());
      assertTrue(java.util.Arrays.equals(want, got), "output of job " + name + " differs from an uninterrupted run");
      assertEquals("0:0", show().get("ExitCode"), "the job's exit code is the program's own");
    }
  }

  private static byte[] referenceOf(int steps) throws Exception {
    Path ref = dir.resolve("ref-" + steps + ".out");
    if (!Files.exists(ref)) {
      Run r = run(List.of("sh", "-c", "exec \"$0\" " + steps + " > \"$1\"", program.toString(), ref.toString()), Map.of(), 300);
      assertEquals(0, r.code, r.out);
    }
    return Files.readAllBytes(ref);
  }

  /** A Slurm client command, run in the controller's namespace; its output, or a failure that shows it. */
  private static String slurm(String... command) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ctl));
    cmd.addAll(List.of(command));
    Run r = run(cmd, Map.of("SLURM_CONF", dir.resolve("cluster/slurm.conf").toString()), 60);
    assertNotEquals(-1, r.code, "timed out: " + cmd);
    assertEquals(0, r.code, String.join(" ", command) + " failed: " + r.out);
    return r.out;
  }

  private record Run(int code, String out) {}

  private static Run run(List<String> command, Map<String, String> env, int seconds) throws Exception {
    // Output to a file, not a pipe: a daemon the command starts may keep a pipe open forever.
    Path out = Files.createTempFile("ckpt-slurm-cmd-", ".out");
    try {
      ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.toFile())
          .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
      pb.environment().putAll(env);
      pb.environment().put("PATH", pb.environment().getOrDefault("PATH", "/usr/bin:/bin") + ":/usr/sbin:/sbin");
      Process p = pb.start();
      if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return new Run(-1, Files.readString(out));
      }
      return new Run(p.exitValue(), Files.readString(out));
    } finally {
      Files.deleteIfExists(out);
    }
  }
}
