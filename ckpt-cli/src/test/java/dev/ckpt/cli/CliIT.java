package dev.ckpt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Every subcommand end to end on real processes (a C program and python3) and the local store. */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class CliIT {
  @TempDir
  Path dir;
  String store;
  Path counter;

  record Result(int code, String out, String err) {}

  Result ckpt(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
    return new Result(code, out.toString(), err.toString());
  }

  @BeforeEach
  void compileCounter() throws Exception {
    store = dir.resolve("store").toString();
    Files.createDirectories(Path.of(store));
    Path src = dir.resolve("counter.c");
    Files.writeString(src, "#include <stdio.h>\n#include <stdlib.h>\n#include <time.h>\n"
        + "int main(int c, char **v) { int n = atoi(v[1]); setvbuf(stdout, NULL, _IOLBF, 0);\n"
        + "  for (int i = 1; i <= n; i++) { printf(\"count %d\\n\", i); struct timespec t = {0, 10000000};"
        + " while (nanosleep(&t, &t)); }\n  return 0; }\n");
    counter = dir.resolve("counter");
    Process gcc;
    try {
      gcc = new ProcessBuilder("gcc", "-O2", "-o", counter.toString(), src.toString()).inheritIO().start();
    } catch (java.io.IOException e) {
      throw new AssertionError("gcc is needed to compile the CLI test program; ./scripts/test installs it", e);
    }
    assertEquals(0, gcc.waitFor());
  }

  /** Starts a command outside this JVM (setsid) with stdout to a file; returns its pid. */
  int start(Path out, String... command) throws Exception {
    Path pidFile = dir.resolve("pid-" + System.nanoTime());
    List<String> cmd = new ArrayList<>(List.of("setsid", "-f", "sh", "-c", "echo $$ > \"$0\"; exec \"$@\" > \"$OUT\"",
        pidFile.toString()));
    cmd.addAll(List.of(command));
    // Not this JVM's pipe as stdin: a pipe whose writer lives on outside is refused at dump.
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectInput(new java.io.File("/dev/null"));
    pb.environment().put("OUT", out.toString());
    assertEquals(0, pb.start().waitFor());
    long deadline = System.currentTimeMillis() + 10_000;
    while (System.currentTimeMillis() < deadline) {
      if (Files.exists(pidFile) && !Files.readString(pidFile).isBlank()) {
        return Integer.parseInt(Files.readString(pidFile).trim());
      }
      Thread.sleep(5);
    }
    throw new AssertionError("process did not start");
  }

  static void waitGone(int pid) throws InterruptedException {
    long deadline = System.currentTimeMillis() + 60_000;
    while (Files.exists(Path.of("/proc/" + pid)) && System.currentTimeMillis() < deadline) {
      try {
        if (Files.readString(Path.of("/proc/" + pid + "/stat")).contains(") Z ")) {
          return;
        }
      } catch (java.io.IOException gone) {
        return;
      }
      Thread.sleep(20);
    }
  }

  static String expectedCount(int n) {
    StringBuilder b = new StringBuilder();
    for (int i = 1; i <= n; i++) {
      b.append("count ").append(i).append('\n');
    }
    return b.toString();
  }

  @Test
  void dumpLsInspectVerifyRestoreGc_onACProgram() throws Exception {
    Path out = dir.resolve("c.out");
    int pid = start(out, counter.toString(), "900");
    Thread.sleep(300);

    Result d1 = ckpt("dump", Integer.toString(pid), "--store", store, "--name", "cjob");
    assertEquals(0, d1.code(), d1.err());
    assertEquals("cjob@1", d1.out().trim());
    assertTrue(d1.err().matches("(?s).*checkpointed pid \\d+ as cjob@1: .* read, .* stored; frozen \\d+\\.\\d ms of \\d+\\.\\d ms"
        + " \\(content-hash\\).*"), "dump names its frozen time, bytes read and tracking method: " + d1.err());

    Result ls = ckpt("ls", "--store", store);
    assertEquals(0, ls.code(), ls.err());
    assertTrue(ls.out().contains("cjob@1") && ls.out().contains("process"), ls.out());
    Result lsJson = ckpt("ls", "--store", store, "--json");
    assertTrue(lsJson.out().contains("\"job\":\"cjob\"") && lsJson.out().contains("\"id\":1"), lsJson.out());
    assertTrue(lsJson.out().matches("(?s).*\"bytesRead\":[1-9]\\d*,\"frozenMillis\":[0-9.]+,\"changeTracking\":\"content-hash\".*"),
        "ls --json carries the typed figures: " + lsJson.out());

    Result inspect = ckpt("inspect", "cjob@1", "--store", store);
    assertEquals(0, inspect.code(), inspect.err());
    assertTrue(inspect.out().contains("registers: rip") && inspect.out().contains("maps:")
        && inspect.out().contains(counter.toString()) && inspect.out().contains("fds:") && inspect.out().contains("signals:"),
        inspect.out());
    Result inspectJson = ckpt("inspect", "cjob", "--store", store, "--json");
    assertTrue(inspectJson.out().startsWith("{") && inspectJson.out().contains("\"exe\":"), inspectJson.out());

    Result verify = ckpt("verify", "cjob@1", "--store", store);
    assertEquals(0, verify.code(), verify.err());
    assertTrue(verify.out().contains("ok"), verify.out());

    Result d2 = ckpt("dump", Integer.toString(pid), "--store", store, "--name", "cjob", "--kill");
    assertEquals(0, d2.code(), d2.err());
    assertEquals("cjob@2", d2.out().trim());
    waitGone(pid);

    Result restore = ckpt("restore", "cjob", "--store", store);
    assertEquals(0, restore.code(), restore.err());
    assertTrue(restore.err().contains("restored cjob@2 as pid"), restore.err());
    assertEquals(expectedCount(900), Files.readString(out));

    Result gc = ckpt("gc", "--keep", "1", "--store", store);
    assertEquals(0, gc.code(), gc.err());
    assertTrue(gc.out().contains("cjob: deleted 1 checkpoints [1]"), gc.out());
  }

  @Test
  void encryptedDump_restoresOnlyWithItsKeyFile_andInspectNamesTheKey() throws Exception {
    Path keys = dir.resolve("keys");
    byte[] key = new byte[32];
    new java.util.Random(11).nextBytes(key);
    Files.writeString(keys, "k1:" + java.util.Base64.getEncoder().encodeToString(key) + "\n");
    Files.setPosixFilePermissions(keys, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
    Path out = dir.resolve("e.out");
    int pid = start(out, counter.toString(), "600");
    Thread.sleep(300);
    Result d = ckpt("dump", Integer.toString(pid), "--store", store, "--name", "ejob", "--kill", "--key-file", keys.toString());
    assertEquals(0, d.code(), d.err());
    waitGone(pid);

    Result inspect = ckpt("inspect", "ejob@1", "--store", store, "--key-file", keys.toString());
    assertEquals(0, inspect.code(), inspect.err());
    assertTrue(inspect.out().contains("encrypted with key k1"), inspect.out());
    Result noKey = ckpt("restore", "ejob", "--store", store);
    assertEquals(1, noKey.code(), noKey.out() + noKey.err());
    assertTrue(noKey.err().contains("encrypted with key 'k1', which is not configured"), noKey.err());
    assertEquals(1, noKey.err().strip().lines().count(), "one line: " + noKey.err());
    Result verify = ckpt("verify", "ejob@1", "--store", store, "--key-file", keys.toString());
    assertEquals(0, verify.code(), verify.err());

    Result restore = ckpt("restore", "ejob", "--store", store, "--key-file", keys.toString());
    assertEquals(0, restore.code(), restore.err());
    assertEquals(expectedCount(600), Files.readString(out));
  }

  /** Writes a checkpoint of {@code bytes} to {@code job} through the API. */
  private void writeImage(String job, byte[] bytes) throws Exception {
    try (dev.ckpt.CheckpointStore s = dev.ckpt.CheckpointStore.open(Path.of(store).toUri());
        dev.ckpt.ImageWriter w = s.newImage(job)) {
      try (dev.ckpt.PartOutput out = w.part("data", java.util.Map.of())) {
        out.write(bytes, 0, bytes.length);
      }
      w.commit();
    }
  }

  private List<Path> packs(String job) throws Exception {
    try (java.util.stream.Stream<Path> s = Files.list(Path.of(store, job, "packs"))) {
      return s.sorted().toList();
    }
  }

  @Test
  void verifyAll_checksEveryCheckpointAndTheStore_notesWhatGcCleans_andNamesEveryFault() throws Exception {
    java.util.Random r = new java.util.Random(9);
    byte[] a1 = new byte[300_000];
    byte[] a2 = new byte[300_000];
    byte[] b1 = new byte[300_000];
    r.nextBytes(a1);
    r.nextBytes(a2);
    r.nextBytes(b1);
    writeImage("a", a1);
    writeImage("a", a2);
    writeImage("b", b1);
    Result ok = ckpt("verify", "--all", "--store", store);
    assertEquals(0, ok.code(), ok.err());
    assertTrue(ok.out().contains("a@1: ok") && ok.out().contains("a@2: ok") && ok.out().contains("b@1: ok"), ok.out());
    assertTrue(ok.out().contains("verified 3 checkpoints of 2 jobs and the store's consistency: all ok"), ok.out());

    // A pack no checkpoint references (a writer that stopped) is a note, not a fault.
    Files.copy(packs("b").get(0), Path.of(store, "b", "packs", "0123456789abcdef0123456789abcdef"));
    Result note = ckpt("verify", "--all", "--store", store);
    assertEquals(0, note.code(), note.err());
    assertTrue(note.out().contains("note: b: 1 packs") && note.out().contains("gc deletes them"), note.out());

    // A byte flipped in a pack of a, b's referenced pack deleted, and neither named only once.
    Path aPack = packs("a").get(0);
    byte[] bytes = Files.readAllBytes(aPack);
    bytes[bytes.length - 100] ^= 1;
    Files.write(aPack, bytes);
    for (Path p : packs("b")) {
      if (!p.getFileName().toString().equals("0123456789abcdef0123456789abcdef")) {
        Files.delete(p);
      }
    }
    Result bad = ckpt("verify", "--all", "--store", store);
    assertEquals(1, bad.code(), bad.out() + bad.err());
    assertTrue(bad.err().contains("checkpoint b@1 references pack b/packs/") && bad.err().contains("which does not exist"),
        bad.err());
    assertTrue(bad.err().contains("a@"), "the damaged chunk of a is named: " + bad.err());
    assertTrue(bad.err().matches("(?s).*ckpt verify: \\d+ problems in 3 checkpoints of 2 jobs.*"), bad.err());

    // A manifest cut short: a problem of its own, and the other checkpoints are still verified.
    Path m = Path.of(store, "a", "manifests", String.format("%020d", 2));
    Files.write(m, java.util.Arrays.copyOf(Files.readAllBytes(m), 40));
    Result cut = ckpt("verify", "--all", "--store", store);
    assertEquals(1, cut.code());
    assertTrue(cut.err().contains("checkpoint a@2: manifest") && cut.err().contains("truncated"), cut.err());

    Result neither = ckpt("verify", "--store", store);
    assertEquals(2, neither.code(), neither.err());
    assertTrue(neither.err().contains("give either JOB[@ID] or --all"), neither.err());
  }

  @Test
  void dumpAndRestore_throughTheNfsStoreInMountedMode() throws Exception {
    Path out = dir.resolve("n.out");
    int pid = start(out, counter.toString(), "600");
    Thread.sleep(300);
    String nfs = "nfs://" + dir.resolve("share") + "?create=true&lease=10s";
    Result d = ckpt("dump", Integer.toString(pid), "--store", nfs, "--name", "njob", "--kill");
    assertEquals(0, d.code(), d.err());
    assertEquals("njob@1", d.out().trim());
    waitGone(pid);
    assertTrue(Files.exists(dir.resolve("share/njob/.latest")), "the NFS store wrote its latest pointer");
    assertTrue(Files.notExists(dir.resolve("share/njob/.lock")), "and released its writer lock");
    Result ls = ckpt("ls", "--store", nfs);
    assertTrue(ls.out().contains("njob@1"), ls.out());
    Result restore = ckpt("restore", "njob", "--store", nfs);
    assertEquals(0, restore.code(), restore.err());
    assertEquals(expectedCount(600), Files.readString(out));
  }

  @Test
  void restoreExitsWithTheProcessCode_andDetachPrintsThePid_onPython() throws Exception {
    Path script = dir.resolve("count.py");
    Files.writeString(script, "import sys, time\nfor i in range(1, 61):\n    print('count', i, flush=True)\n"
        + "    time.sleep(0.04)\nsys.exit(3)\n");
    String python = Stream.of("/usr/bin/python3", "/bin/python3").filter(p -> new File(p).canExecute()).findFirst()
        .orElseThrow(() -> new AssertionError("python3 is not installed; ./scripts/test installs it"));
    Path out = dir.resolve("py.out");
    // 2.4 s of counting: the in-process CLI can take most of a second to attach on a loaded machine.
    int pid = start(out, python, script.toString());
    Thread.sleep(350);
    Result d = ckpt("dump", Integer.toString(pid), "--store", store, "--kill");
    assertEquals(0, d.code(), d.err());
    String job = d.out().trim().substring(0, d.out().trim().indexOf('@'));
    waitGone(pid);
    Result r = ckpt("restore", "--store", store);
    assertEquals(3, r.code(), "restore exits with the restored process's code: " + r.err());
    assertEquals(expectedCount(60), Files.readString(out));

    Result detached = ckpt("restore", job, "--store", store, "--detach");
    assertEquals(0, detached.code(), detached.err());
    int newPid = Integer.parseInt(detached.out().trim());
    assertTrue(newPid > 0);
    waitGone(newPid);
    assertEquals(expectedCount(60), Files.readString(out));
  }

  @Test
  void runCheckpointsPeriodically_vacatesOnSigtstp_andTheJobResumes() throws Exception {
    Path out = dir.resolve("run.out");
    Path log = dir.resolve("run.log");
    ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
        System.getProperty("java.class.path"), Main.class.getName(), "run", "--every", "200ms", "--keep", "2",
        "--store", store, "--name", "runjob", "--", "sh", "-c", "exec \"$0\" 1200 > \"$1\"", counter.toString(), out.toString());
    pb.environment().put("_JAVA_SR_SIGNUM", "40");
    pb.redirectErrorStream(true).redirectOutput(log.toFile()).redirectInput(new File("/dev/null"));
    Process jvm = pb.start();
    long deadline = System.currentTimeMillis() + 30_000;
    while (Files.readString(log).split("checkpoint runjob@").length < 4 && System.currentTimeMillis() < deadline) {
      Thread.sleep(50);
    }
    new ProcessBuilder("kill", "-USR2", Long.toString(jvm.pid())).start().waitFor();
    Thread.sleep(300);
    new ProcessBuilder("kill", "-TSTP", Long.toString(jvm.pid())).start().waitFor();
    assertTrue(jvm.waitFor(30, TimeUnit.SECONDS), Files.readString(log));
    String text = Files.readString(log);
    assertEquals(0, jvm.exitValue(), text);
    assertTrue(text.contains("process stopped") && text.contains("vacated"), text);
    Result ls = ckpt("ls", "--store", store);
    long kept = ls.out().lines().filter(l -> l.startsWith("runjob@")).count();
    assertEquals(2, kept, "--keep 2 keeps two checkpoints:\n" + ls.out());
    Result restore = ckpt("restore", "runjob", "--store", store);
    assertEquals(0, restore.code(), restore.err());
    assertEquals(expectedCount(1200), Files.readString(out));
  }

  /** Starts {@code ckpt run} in a JVM of its own, as a batch system would, with stdout and stderr to {@code log}. */
  Process runJvm(Path log, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
        System.getProperty("java.class.path"), Main.class.getName(), "run"));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().put("_JAVA_SR_SIGNUM", "40");
    pb.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
        .redirectInput(new File("/dev/null"));
    return pb.start();
  }

  /** A counter that ends with exit code 3, so the job's own code can be told from ckpt's. */
  Path counterExiting3() throws Exception {
    Path src = dir.resolve("counter3.c");
    Files.writeString(src, Files.readString(dir.resolve("counter.c")).replace("return 0;", "return 3;"));
    Path exe = dir.resolve("counter3");
    assertEquals(0, new ProcessBuilder("gcc", "-O2", "-o", exe.toString(), src.toString()).inheritIO().start().waitFor());
    return exe;
  }

  /**
   * HTCondor's self-checkpointing protocol, without HTCondor: a driver starts the same
   * {@code ckpt run --vacate-exit-code 85} again each time it exits with 85, and sends SIGTERM
   * (as an eviction does) a while after each start. The job resumes each time from its newest
   * checkpoint; its output is that of an uninterrupted run, and the last exit code is its own.
   */
  @Test
  void runVacatedBySigtermRepeatedly_resumesEachTime_withTheProgramsOwnOutputAndExitCode() throws Exception {
    Path exe = counterExiting3();
    Path out = dir.resolve("condor.out");
    Path log = dir.resolve("condor.log");
    String[] args = {"--every", "300ms", "--keep", "2", "--vacate-exit-code", "85", "--store", store, "--name", "condor", "--",
        "sh", "-c", "exec \"$0\" 1500 > \"$1\"", exe.toString(), out.toString()};
    int starts = 0;
    int vacates = 0;
    int code = -1;
    java.util.Random random = new java.util.Random();
    while (starts < 15) {
      starts++;
      Process jvm = runJvm(log, args);
      if (vacates < 3) {
        long deadline = System.currentTimeMillis() + 30_000;
        int want = Files.readString(log).split("checkpoint condor@").length + 1;
        while (Files.readString(log).split("checkpoint condor@").length < want && jvm.isAlive()
            && System.currentTimeMillis() < deadline) {
          Thread.sleep(50);
        }
        Thread.sleep(random.nextInt(300));
        new ProcessBuilder("kill", "-TERM", Long.toString(jvm.pid())).start().waitFor();
      }
      assertTrue(jvm.waitFor(60, TimeUnit.SECONDS), Files.readString(log));
      code = jvm.exitValue();
      if (code != 85) {
        break;
      }
      vacates++;
    }
    String text = Files.readString(log);
    assertEquals(3, vacates, "three evictions, each answered with the vacate code:\n" + text);
    assertEquals(3, code, "the job's own exit code after three resumes:\n" + text);
    assertEquals(3, text.split("ckpt run: resumed condor@").length - 1, text);
    assertEquals(expectedCount(1500), Files.readString(out));
  }

  /**
   * {@code ckpt run} refuses before it starts CMD when the store cannot be reached (it could hold
   * a checkpoint of the job, which a fresh start would throw away) and when {@code --requeue} is
   * asked outside a Slurm job.
   */
  @Test
  void runWithAnUnreachableStoreOrRequeueOutsideSlurm_failsBeforeStartingTheCommand() throws Exception {
    Path marker = dir.resolve("started");
    String unreachable = "s3://ckpt/jobs?endpoint=http://127.0.0.1:9&pathStyle=true&accessKey=a&secretKey=b&region=us-east-1";
    Result r = ckpt("run", "--name", "away", "--store", unreachable, "--", "touch", marker.toString());
    assertTrue(r.code() != 0, "exit code " + r.code());
    assertTrue(r.err().contains("127.0.0.1:9"), "names the store:\n" + r.err());
    assertFalse(Files.exists(marker), "the command started although the store may hold its checkpoint");
    Result q = ckpt("run", "--requeue", "--name", "norequeue", "--store", store, "--", "touch", marker.toString());
    assertEquals(2, q.code(), q.err());
    assertTrue(q.err().contains("--requeue") && q.err().contains("SLURM_JOB_ID"), q.err());
    assertFalse(Files.exists(marker));
  }

  @Test
  void runOfAJobWhoseCheckpointCannotBeRestored_failsNamingIt_andNeverStartsOver() throws Exception {
    Path exe = dir.resolve("counter-copy");
    Files.copy(counter, exe);
    Path out = dir.resolve("broken.out");
    Path log = dir.resolve("broken.log");
    String[] args = {"--every", "200ms", "--store", store, "--name", "broken", "--", exe.toString(), "400"};
    Process jvm = runJvm(log, args);
    long deadline = System.currentTimeMillis() + 30_000;
    while (!Files.readString(log).contains("checkpoint broken@1") && System.currentTimeMillis() < deadline) {
      Thread.sleep(50);
    }
    new ProcessBuilder("kill", "-TERM", Long.toString(jvm.pid())).start().waitFor();
    assertTrue(jvm.waitFor(60, TimeUnit.SECONDS));
    Files.writeString(exe, "#!/bin/sh\necho changed\n"); // the executable changed since the checkpoint
    Process again = runJvm(log, args);
    assertTrue(again.waitFor(60, TimeUnit.SECONDS));
    String text = Files.readString(log);
    assertEquals(1, again.exitValue(), text);
    assertTrue(text.contains("job broken has checkpoint broken@") && text.contains("--fresh"), text);
    assertTrue(!text.contains("changed"), "it must not start the command over: " + text);
    Files.deleteIfExists(out);
  }

  @Test
  void secondRunOfTheSameJob_isRefusedNamingTheFirst_andALockLeftByAKilledRunIsTakenOver() throws Exception {
    Path log = dir.resolve("lock.log");
    String[] args = {"--every", "10s", "--store", store, "--name", "locked", "--", counter.toString(), "3000"};
    Process first = runJvm(log, args);
    long deadline = System.currentTimeMillis() + 30_000;
    while (!Files.readString(log).contains("started as pid") && System.currentTimeMillis() < deadline) {
      Thread.sleep(50);
    }
    Path log2 = dir.resolve("lock2.log");
    Process second = runJvm(log2, args);
    assertTrue(second.waitFor(60, TimeUnit.SECONDS));
    assertEquals(1, second.exitValue(), Files.readString(log2));
    assertTrue(Files.readString(log2).contains("job locked is already run by ckpt pid " + first.pid()), Files.readString(log2));
    // The first ckpt dies without a word (its job with it): its lock is stale and the next run takes over.
    String jobPid = Files.readString(log).replaceAll("(?s).*started as pid (\\d+).*", "$1");
    new ProcessBuilder("kill", "-KILL", Long.toString(first.pid()), jobPid).start().waitFor();
    assertTrue(first.waitFor(30, TimeUnit.SECONDS));
    Path log3 = dir.resolve("lock3.log");
    Process third = runJvm(log3, "--every", "10s", "--store", store, "--name", "locked", "--fresh", "--", counter.toString(), "5");
    assertTrue(third.waitFor(60, TimeUnit.SECONDS));
    assertEquals(0, third.exitValue(), Files.readString(log3));
    assertFalse(Files.exists(Path.of(store, "locked", "run.lock")), "released when the run ends");
  }

  /** {@code ckpt demo > file 2>&1}: a clean file (no NUL bytes), each count once, the process continuing after restore. */
  @Test
  void demoRedirectedToAFile_showsTheProcessContinueAfterRestore_inACleanFile() throws Exception {
    Path log = dir.resolve("demo.log");
    ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
        System.getProperty("java.class.path"), Main.class.getName(), "demo");
    pb.environment().put("_JAVA_SR_SIGNUM", "40");
    pb.redirectErrorStream(true).redirectOutput(log.toFile()).redirectInput(new File("/dev/null"));
    Process jvm = pb.start();
    assertTrue(jvm.waitFor(90, TimeUnit.SECONDS), Files.readString(log));
    byte[] bytes = Files.readAllBytes(log);
    String text = new String(bytes, java.nio.charset.StandardCharsets.UTF_8);
    assertEquals(0, jvm.exitValue(), text);
    for (byte b : bytes) {
      assertTrue(b != 0, "a NUL byte in the demo's output:\n" + text);
    }
    assertTrue(text.contains("with no line lost or repeated") && text.contains("restored demo@2"), text);
    for (int i = 1; i <= 40; i++) {
      int n = i;
      assertEquals(1, text.lines().filter(l -> l.endsWith("| count " + n)).count(), "count " + n + " once:\n" + text);
    }
  }

  @Test
  void wrongPid_wrongStore_unknownJob_damagedImage_andUsage_giveOneClearLineAndTheRightCode() throws Exception {
    Result wrongPid = ckpt("dump", "999999999", "--store", store);
    assertEquals(2, wrongPid.code());
    assertTrue(wrongPid.err().contains("no process 999999999"), wrongPid.err());
    assertEquals(1, wrongPid.err().lines().count(), wrongPid.err());

    Result scheme = ckpt("ls", "--store", "ftp://host/x");
    assertEquals(1, scheme.code());
    assertTrue(scheme.err().contains("'ftp'"), scheme.err());
    Result missing = ckpt("ls", "--store", dir.resolve("nowhere").toUri().toString());
    assertEquals(1, missing.code());
    assertTrue(missing.err().contains("nowhere") && missing.err().contains("does not exist"), missing.err());

    Result unknown = ckpt("restore", "nosuchjob", "--store", store);
    assertEquals(1, unknown.code());
    assertTrue(unknown.err().contains("no job 'nosuchjob'"), unknown.err());
    assertEquals(1, unknown.err().lines().count(), unknown.err());

    Path out = dir.resolve("d.out");
    int pid = start(out, counter.toString(), "300");
    Thread.sleep(200);
    assertEquals(0, ckpt("dump", Integer.toString(pid), "--store", store, "--name", "dmg", "--kill").code());
    Path pack;
    try (Stream<Path> s = Files.list(Path.of(store, "dmg", "packs"))) {
      pack = s.findFirst().orElseThrow();
    }
    byte[] b = Files.readAllBytes(pack);
    b[200] ^= 0x5a;
    Files.write(pack, b);
    Result verify = ckpt("verify", "dmg", "--store", store);
    assertEquals(1, verify.code());
    assertTrue(verify.err().contains("damaged"), verify.err());
    Result restore = ckpt("restore", "dmg@1", "--store", store);
    assertEquals(1, restore.code());
    assertTrue(restore.err().contains(pack.getFileName().toString()), restore.err());
    assertEquals(1, restore.err().lines().count(), restore.err());
    Result debug = ckpt("restore", "dmg@1", "--store", store, "--debug");
    assertTrue(debug.err().lines().count() > 3 && debug.err().contains("at dev.ckpt"), "--debug prints the stack trace");

    Files.delete(pack);
    Result gcBroken = ckpt("gc", "--store", store);
    assertEquals(0, gcBroken.code(), gcBroken.err());
    assertTrue(gcBroken.out().contains("dmg: checkpoints [1] reference missing packs"), gcBroken.out());
    assertTrue(ckpt("ls", "--store", store).out().contains("dmg@1 "), "gc kept the broken checkpoint");
    Result verifyMissing = ckpt("verify", "dmg", "--store", store);
    assertEquals(1, verifyMissing.code());
    assertEquals(1, verifyMissing.err().lines().filter(l -> l.contains(pack.getFileName() + " is missing")).count(),
        "a missing pack is named once: " + verifyMissing.err());

    assertEquals(2, ckpt("dump").code(), "missing PID is a usage error");
    assertEquals(2, ckpt("gc", "--keep", "0", "--store", store).code());
    assertEquals(2, ckpt("inspect", "x@notanumber", "--store", store).code());
    assertFalse(ckpt("--help").out().isBlank());
    for (String command : List.of("run", "dump", "restore", "ls", "inspect", "verify", "gc", "demo")) {
      Result help = ckpt(command, "--help");
      assertEquals(0, help.code(), command + " --help: " + help.err());
      assertTrue(help.out().startsWith("Usage: ckpt " + command), command + " --help: " + help.out());
      assertEquals(help.out(), ckpt("help", command).out(), "ckpt help " + command);
    }
  }
}
