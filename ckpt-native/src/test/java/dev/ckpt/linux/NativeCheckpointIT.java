package dev.ckpt.linux;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ckpt.CheckpointException;
import dev.ckpt.CheckpointInfo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Each test runs a program once without ckpt, then once under ckpt: checkpointed with VACATE at
 * a random moment (the process is killed right after the commit), restored, and run to the end.
 * Its stdout and output files must equal the uninterrupted run's, byte for byte.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class NativeCheckpointIT {
  @TempDir
  Path dir;
  final Random random = new Random();

  NativeCheckpointer checkpointer(String job) throws Exception {
    return NativeCheckpointer.builder().store(dir.resolve("store").toUri().resolve("?create=true")).job(job).build();
  }

  /** Prepares a fresh working directory; {@code setup} puts input files in it. */
  interface Setup {
    void prepare(Path workDir) throws Exception;
  }

  void interruptedRunMatches(String job, List<String> command, String stdinName, List<String> outputs, int minDelayMs,
      int maxDelayMs, Setup setup) throws Exception {
    Path ref = Files.createDirectories(dir.resolve("reference"));
    Path run = Files.createDirectories(dir.resolve("run"));
    setup.prepare(ref);
    setup.prepare(run);
    long started = System.nanoTime();
    byte[] expected = Programs.reference(ref, stdinName == null ? null : ref.resolve(stdinName), command.toArray(String[]::new));
    long referenceMs = (System.nanoTime() - started) / 1_000_000;
    Path out = run.resolve("stdout");
    // Machines differ in speed: the checkpoint falls in the first 60% of this machine's own
    // reference run, so a fast machine never finishes the program before the checkpoint.
    int upper = (int) Math.min(maxDelayMs, referenceMs * 6 / 10);
    int lower = Math.min(minDelayMs, upper / 2);
    assertTrue(upper > lower, job + " ran only " + referenceMs + " ms uninterrupted; lengthen its run");
    int delay = lower + random.nextInt(upper - lower);
    try (NativeCheckpointer ckpt = checkpointer(job)) {
      Stdio stdio = new Stdio(stdinName == null ? Path.of("/dev/null") : run.resolve(stdinName), out, null, run);
      TracedProcess p = ckpt.launch(stdio, command.toArray(String[]::new));
      Thread.sleep(delay);
      assertTrue(p.isAlive(), job + " ended before the checkpoint at " + delay + " ms; lengthen its run");
      CheckpointInfo info = checkpointRetryingMomentaryRefusals(ckpt, p);
      OptionalInt killed = p.waitFor(Duration.ofSeconds(10));
      assertTrue(killed.isPresent(), "vacated process still running");
      assertEquals(128 + 9, killed.getAsInt(), "vacate kills with SIGKILL");
      RestoredProcess r = ckpt.restore(job, new Stdio(Path.of("/dev/null"), null, null, null));
      assertEquals(info.id(), r.restoredFrom().id());
      OptionalInt code = r.waitFor(Duration.ofSeconds(60));
      if (code.isEmpty()) {
        r.kill();
      }
      assertTrue(code.isPresent(), "restored " + job + " (checkpoint at " + delay + " ms) did not finish in 60 s; output so far:\n" + tail(out));
      assertEquals(0, code.getAsInt(), job + " restored from a checkpoint at " + delay + " ms exited with " + code.getAsInt()
          + "; output so far:\n" + tail(out));
    }
    byte[] got = Files.readAllBytes(out);
    assertArrayEquals(expected, got, () -> job + " stdout after a checkpoint at " + delay + " ms; expected:\n"
        + new String(expected, java.nio.charset.StandardCharsets.UTF_8) + "\ngot:\n" + new String(got, java.nio.charset.StandardCharsets.UTF_8));
    for (String name : outputs) {
      assertArrayEquals(Files.readAllBytes(ref.resolve(name)), Files.readAllBytes(run.resolve(name)),
          job + " output " + name + " after a checkpoint at " + delay + " ms");
    }
  }

  /**
   * Some refusals depend on the moment (two descriptors an epoll watches are ready at once) and
   * say to try again: the process runs on unharmed, and the test does, a few times.
   */
  static CheckpointInfo checkpointRetryingMomentaryRefusals(NativeCheckpointer ckpt, TracedProcess p) throws Exception {
    for (int attempt = 1; ; attempt++) {
      try {
        return ckpt.checkpoint(p, Mode.VACATE);
      } catch (CheckpointException e) {
        if (attempt == 5 || e.getMessage() == null || !e.getMessage().contains("try the checkpoint again")) {
          throw e;
        }
        Thread.sleep(3);
      }
    }
  }

  void interruptedRunMatches(String job, List<String> command, int minDelayMs, int maxDelayMs) throws Exception {
    interruptedRunMatches(job, command, null, List.of(), minDelayMs, maxDelayMs, d -> { });
  }

  /**
   * Eight threads, caught in futex, read, poll, nanosleep, a barrier and a contended mutex, one
   * about to die holding a robust mutex: restored with their pid and tids, each checks its
   * cached tid, name and mask, and main joins them all.
   */
  @Test
  void multiThreadedProcess_resumesWithItsPidAndTids() throws Exception {
    interruptedRunMatches("mtworkers", List.of(Programs.path("mtworkers"), "200"), 300, 2500);
  }

  /**
   * As user nobody, without privileges: the restore makes a user and pid namespace of its own
   * to give the pid and tids back.
   */
  @Test
  void multiThreadedProcess_resumesWithItsPidAndTids_asAnUnprivilegedUser() throws Exception {
    try (AsNobody nobody = new AsNobody("this test")) {
      Path program = nobody.copy(Programs.path("mtworkers"));
      Path ref = Files.createDirectories(dir.resolve("reference"));
      byte[] expected = Programs.reference(ref, null, program.toString(), "200");
      Path work = nobody.directory("work");
      Path store = nobody.directory("store");
      int delay = 300 + random.nextInt(1500);
      AsNobody.Result r = nobody.run(InterruptedRunMain.class, 120, store.toUri() + "?create=true", work.toString(),
          Integer.toString(delay), program.toString(), "200");
      assertEquals(0, r.exitCode(), "checkpoint at " + delay + " ms:\n" + r.output());
      assertArrayEquals(expected, Files.readAllBytes(work.resolve("stdout")), "stdout after a checkpoint at " + delay + " ms");
    }
  }

  /**
   * Where nobody may not create user namespaces (user.max_user_namespaces = 0 in the namespace
   * the test runs it in), an unprivileged restore of threads cannot give their tids back: it is
   * refused, saying why and what to change, and the checkpoint stays whole: where they may, it
   * restores.
   */
  @Test
  void restoreWithoutUserNamespaces_isRefusedSayingWhy_andWorksWhereTheyAreEnabled() throws Exception {
    try (AsNobody nobody = new AsNobody("this test")) {
      Path program = nobody.copy(Programs.path("mtworkers"));
      Path ref = Files.createDirectories(dir.resolve("reference"));
      byte[] expected = Programs.reference(ref, null, program.toString(), "200");
      Path work = nobody.directory("work");
      Path store = nobody.directory("store");
      int delay = 300 + random.nextInt(1000);
      AsNobody.Result refused = nobody.runWithoutUserNamespaces(InterruptedRunMain.class, 120, store.toUri() + "?create=true",
          work.toString(), Integer.toString(delay), program.toString(), "200");
      assertEquals(103, refused.exitCode(), "the restore should fail:\n" + refused.output());
      assertTrue(refused.output().contains("does not let uid 65534 create one")
          && refused.output().contains("Enable user namespaces (sysctl user.max_user_namespaces > 0)"), refused.output());
      AsNobody.Result restored = nobody.run(RestoreMain.class, 120, store.toUri().toString(), "nobody");
      assertEquals(0, restored.exitCode(), "restore once user namespaces are back:\n" + restored.output());
      assertArrayEquals(expected, Files.readAllBytes(work.resolve("stdout")), "stdout after a checkpoint at " + delay + " ms");
    }
  }

  @Test
  void counter_resumesWhereItStopped() throws Exception {
    interruptedRunMatches("counter", List.of(Programs.path("counter"), "200", "5"), 100, 800);
  }

  @Test
  void heapOf256MiB_checksumsMatchAfterRestore() throws Exception {
    interruptedRunMatches("heap", List.of(Programs.path("heap"), "256", "100"), 700, 2000);
  }

  @Test
  void sharedAnonymousAndMemfdMemory_isRestored() throws Exception {
    interruptedRunMatches("sharedmem", List.of(Programs.path("sharedmem")), 300, 1800);
  }

  @Test
  void deepRecursion_stackIsRestored() throws Exception {
    interruptedRunMatches("recursion", List.of(Programs.path("recursion")), 200, 700);
  }

  @Test
  void fileReaderAndWriters_offsetsAndAppendsAreRestored() throws Exception {
    interruptedRunMatches("fileio", List.of(Programs.path("fileio"), "input.bin", "seeked.bin", "appended.txt"), null,
        List.of("seeked.bin", "appended.txt"), 200, 1200, d -> {
          byte[] data = new byte[3 << 20];
          new Random(7).nextBytes(data);
          Files.write(d.resolve("input.bin"), data);
        });
  }

  @Test
  void timersHandlersAndPendingSignals_surviveRestore() throws Exception {
    interruptedRunMatches("signals", List.of(Programs.path("signals")), 300, 1700);
  }

  /**
   * An event loop on epoll, woken by a periodic timerfd, an eventfd and a signalfd, with an
   * edge-triggered pipe, a semaphore eventfd and a far one-shot timerfd: each comes back with
   * its counter, mask, time and watches.
   */
  @Test
  void eventLoopOnEpollWithTimerfdEventfdAndSignalfd_resumes() throws Exception {
    interruptedRunMatches("eventfiles", List.of(Programs.path("eventfiles")), 200, 1200);
  }

  /**
   * Stream, datagram and seqpacket socketpairs with bytes and messages queued in both
   * directions: the queues are copied without consuming them and sent again after restore.
   */
  @Test
  void socketpairsWithDataInFlight_keepTheirQueues() throws Exception {
    interruptedRunMatches("socketpairs", List.of(Programs.path("socketpairs")), 200, 1000);
  }

  @Test
  void socketpairWhosePeerWasClosed_givesItsBytesThenEof() throws Exception {
    interruptedRunMatches("socketpairs-peerclosed", List.of(Programs.path("socketpairs"), "peerclosed"), 200, 900);
  }

  /** A parent and a child talking over a stream socketpair, with a datagram pair filled in bursts. */
  @Test
  void socketpairsBetweenParentAndChild_stayConnected() throws Exception {
    interruptedRunMatches("socketpairs-fork", List.of(Programs.path("socketpairs"), "fork"), 200, 1200);
  }

  /** The child's stdin and stdout are its end of the pair: within the checkpoint, so not re-wired. */
  @Test
  void socketpairOnAChildsStdio_staysBetweenParentAndChild() throws Exception {
    interruptedRunMatches("socketpairs-stdio", List.of(Programs.path("socketpairs"), "stdio"), 200, 1200);
  }

  /**
   * As user nobody, twice (the second time in the namespace the first restore made): the
   * socketpairs between parent and child, and the epoll event loop.
   */
  @Test
  void socketpairsInATree_resumeAsAnUnprivilegedUser() throws Exception {
    twiceAsNobody("socketpairs", "fork");
  }

  @Test
  void eventLoopOnEpoll_resumesAsAnUnprivilegedUser() throws Exception {
    twiceAsNobody("eventfiles");
  }

  private void twiceAsNobody(String name, String... args) throws Exception {
    twiceAsNobody((150 + random.nextInt(350)) + "," + (150 + random.nextInt(300)), List.of(), name, args);
  }

  /**
   * Runs {@code name} as nobody, checkpointed and restored after each of {@code delays} (the
   * second time in the namespace the first restore made), and compares its stdout and
   * {@code outputs} (files in its directory) with an uninterrupted run's.
   */
  private void twiceAsNobody(String delays, List<String> outputs, String name, String... args) throws Exception {
    try (AsNobody nobody = new AsNobody("this test")) {
      Path program = nobody.copy(Programs.path(name));
      List<String> command = new java.util.ArrayList<>(List.of(program.toString()));
      command.addAll(List.of(args));
      Path ref = Files.createDirectories(dir.resolve("reference"));
      byte[] expected = Programs.reference(ref, null, command.toArray(String[]::new));
      Path work = nobody.directory("work");
      Path store = nobody.directory("store");
      List<String> main = new java.util.ArrayList<>(List.of(store.toUri() + "?create=true", work.toString(), delays));
      main.addAll(command);
      AsNobody.Result r = nobody.run(InterruptedRunMain.class, 120, main.toArray(String[]::new));
      assertEquals(0, r.exitCode(), "checkpoints at " + delays + " ms:\n" + r.output());
      assertTrue(r.output().contains("restored again"), r.output());
      byte[] got = Files.readAllBytes(work.resolve("stdout"));
      assertArrayEquals(expected, got, () -> name + " stdout after checkpoints at " + delays + " ms; expected:\n"
          + new String(expected) + "\ngot:\n" + new String(got));
      for (String output : outputs) {
        assertArrayEquals(Files.readAllBytes(ref.resolve(output)), Files.readAllBytes(work.resolve(output)),
            name + " output " + output + " after checkpoints at " + delays + " ms");
      }
    }
  }

  /** The state a periodic timerfd shows after expiring unread (0 left) once came back disarmed. */
  @Test
  void periodicTimerfdExpiredUnread_comesBackArmed() throws Exception {
    interruptedRunMatches("eventfiles-unread", List.of(Programs.path("eventfiles"), "unread"), 200, 1100);
  }

  @Test
  void eventfdSharedByParentAndChild_staysOneCounter() throws Exception {
    interruptedRunMatches("eventfiles-fork", List.of(Programs.path("eventfiles"), "fork"), 200, 1200);
  }

  /**
   * A process caught in sigsuspend, ppoll or pselect shows the kernel its temporary mask; the
   * mask it returns to after the wait is the one it had before the call, in the restored process
   * too.
   */
  @Test
  void waitsWithATemporaryMask_returnToTheProgramsOwnMask() throws Exception {
    interruptedRunMatches("tempmask", List.of(Programs.path("tempmask")), 200, 1400);
  }

  @Test
  void threadsWaitingWithTemporaryMasks_returnToTheirOwnMasks() throws Exception {
    interruptedRunMatches("tempmask-threads", List.of(Programs.path("tempmask"), "threads"), 200, 1400);
  }

  /**
   * The exact state that once came back disarmed: a periodic ITIMER_REAL that has fired while its
   * SIGALRM is blocked reads back as "interval set, value 0". Checkpoints are taken until one
   * holds that state; that one is restored, and must tick on.
   */
  @Test
  void periodicRealTimerExpiredWithSignalPending_comesBackArmed() throws Exception {
    List<String> command = List.of(Programs.path("itimers"), "real");
    Path work = Files.createDirectories(dir.resolve("itimer-real"));
    byte[] expected = Programs.reference(work, null, command.toArray(String[]::new));
    Path out = work.resolve("stdout");
    try (NativeCheckpointer ckpt = checkpointer("itimer")) {
      TracedProcess p = ckpt.launch(new Stdio(Path.of("/dev/null"), out, null, work), command.toArray(String[]::new));
      CheckpointInfo expired = null;
      for (int attempt = 0; attempt < 20 && expired == null; attempt++) {
        Thread.sleep(50 + random.nextInt(60));
        CheckpointInfo info = ckpt.checkpoint(p, Mode.CONTINUE);
        ProcessSummary s;
        try (dev.ckpt.ImageReader r = ckpt.store().open("itimer", info.id())) {
          s = NativeCheckpointer.describe(r);
        }
        if (s.signals().contains("itimer real: every 0.010000 s, next in 0.000000 s")) {
          expired = info;
        }
      }
      assertTrue(expired != null, "no checkpoint in 20 found the timer expired with its SIGALRM pending");
      p.kill();
      p.waitFor(Duration.ofSeconds(10));
      RestoredProcess r = ckpt.restore("itimer", expired.id(), new Stdio(Path.of("/dev/null"), null, null, null));
      assertEquals(OptionalInt.of(0), r.waitFor(Duration.ofSeconds(30)), "restored timer program:\n" + tail(out));
    }
    assertArrayEquals(expected, Files.readAllBytes(out), "a restored periodic ITIMER_REAL must keep its interval and tick on");
  }

  @Test
  void virtualTimer_keepsItsIntervalAndTicks() throws Exception {
    interruptedRunMatches("itimer-virtual", List.of(Programs.path("itimers"), "virtual"), 200, 1200);
  }

  @Test
  void profilingTimer_keepsItsIntervalAndTicks() throws Exception {
    interruptedRunMatches("itimer-prof", List.of(Programs.path("itimers"), "prof"), 200, 1200);
  }

  @Test
  void pipeWhoseWriterExited_unreadBytesAreReadAfterRestore() throws Exception {
    interruptedRunMatches("pipe-self", List.of(Programs.path("pipeconsumer"), "self", "60000"), 150, 1200);
  }

  /** A pipe whose both ends the process holds, with bytes in flight before and after the checkpoint. */
  @Test
  void pipeHeldAtBothEnds_bytesInFlightAreReadAfterRestore() throws Exception {
    interruptedRunMatches("selfpipe", List.of(Programs.path("holder"), "selfpipe"), 150, 1300);
  }

  /** A write end whose read end is closed stays broken: writes fail with EPIPE before and after. */
  @Test
  void pipeWhoseReaderIsGone_writesStillFailWithEpipeAfterRestore() throws Exception {
    interruptedRunMatches("brokenpipe", List.of(Programs.path("holder"), "brokenpipe"), 150, 1300);
  }

  /**
   * A named FIFO on stdin, filled and closed by its only writer before the checkpoint: the bytes
   * still unread live only in the pipe, and must be read after restore, then EOF.
   */
  @Test
  void namedFifoWhoseWriterExited_unreadBytesAreReadAfterRestore() throws Exception {
    byte[] data = new byte[60000];
    random.nextBytes(data);
    Path ref = Files.createDirectories(dir.resolve("fifo-ref"));
    Files.write(ref.resolve("data.bin"), data);
    String prog = Programs.path("pipeconsumer");
    byte[] expected = Programs.reference(ref, ref.resolve("data.bin"), prog, "stdin");
    Path work = Files.createDirectories(dir.resolve("fifo-run"));
    Path fifo = work.resolve("fifo");
    assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
    Path out = work.resolve("stdout");
    int delay = 150 + random.nextInt(500);
    try (NativeCheckpointer ckpt = checkpointer("fifo")) {
      TracedProcess p;
      // Opened for both so that opening the reader's end does not wait; closed before the dump.
      try (java.io.RandomAccessFile writer = new java.io.RandomAccessFile(fifo.toFile(), "rw")) {
        p = ckpt.launch(new Stdio(fifo, out, null, work), prog, "stdin");
        writer.write(data);
      }
      Thread.sleep(delay);
      assertTrue(p.isAlive(), "the FIFO reader ended before the checkpoint at " + delay + " ms");
      ckpt.checkpoint(p, Mode.VACATE);
      p.waitFor(Duration.ofSeconds(10));
      RestoredProcess r = ckpt.restore("fifo", new Stdio(Path.of("/dev/null"), null, null, null));
      assertEquals(OptionalInt.of(0), r.waitFor(Duration.ofSeconds(30)), "restored FIFO reader:\n" + tail(out));
    }
    assertArrayEquals(expected, Files.readAllBytes(out), "FIFO reader's output after a checkpoint at " + delay + " ms");
  }

  @Test
  void processAttributes_rlimitsPrctlFlagsNiceAffinityAltstack_areRestored() throws Exception {
    interruptedRunMatches("attrs", List.of(Programs.path("holder"), "attrs"), 200, 1300);
  }

  /** madvise hints, MAP_NORESERVE, and a read-only shared file mapping that may become writable. */
  @Test
  void mappingFlags_madviseNoreserveAndMayWrite_areRestored() throws Exception {
    interruptedRunMatches("madvise", List.of(Programs.path("holder"), "madvise"), 100, 900);
  }

  /** Two POSIX timers come back with their ids, clocks, signal values, intervals and remaining time. */
  @Test
  void posixTimers_areRecreatedWithTheirIdsAndKeepFiring() throws Exception {
    interruptedRunMatches("posixtimer", List.of(Programs.path("holder"), "posixtimer"), 150, 1300);
  }

  @Test
  void floatingPointAndAvxState_isRestored() throws Exception {
    interruptedRunMatches("fpavx", List.of(Programs.path("fpavx")), 200, 1400);
  }

  @Test
  void blockedInNanosleep_sleepIsRestarted() throws Exception {
    interruptedRunMatches("sleeper", List.of(Programs.path("sleeper")), 200, 2000);
  }

  /** Feeds {@code lines} into a FIFO one at a time, so each read() of the program returns one line. */
  private static void feed(java.io.RandomAccessFile fifo, int from, int to) throws Exception {
    for (int i = from; i < to; i++) {
      fifo.write(("line " + i + " through the pipe\n").getBytes());
      Thread.sleep(60);
    }
  }

  @Test
  void blockedInReadOnAPipe_readsOnAfterRestore() throws Exception {
    String prog = Programs.path("pipereader");
    byte[][] outputs = new byte[2][];
    for (int run = 0; run < 2; run++) {
      Path work = Files.createDirectories(dir.resolve("pipe-" + run));
      Path fifo = work.resolve("fifo");
      assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
      Path out = work.resolve("stdout");
      // Held open for reading and writing, so neither end's open blocks and EOF comes only on close.
      try (java.io.RandomAccessFile writer = new java.io.RandomAccessFile(fifo.toFile(), "rw");
           NativeCheckpointer ckpt = checkpointer("pipe" + run)) {
        TracedProcess p = ckpt.launch(new Stdio(fifo, out, null, work), prog);
        feed(writer, 0, 5);
        if (run == 1) {
          Thread.sleep(100); // blocked in read() now
          ckpt.checkpoint(p, Mode.VACATE);
          p.waitFor(Duration.ofSeconds(10));
          p = ckpt.restore("pipe1", new Stdio(fifo, null, null, null));
        }
        feed(writer, 5, 10);
        Thread.sleep(100);
        writer.close(); // the last writer is gone: EOF
        // The restored process's own stdin end still keeps the FIFO open for reading only.
        OptionalInt code = p.waitFor(Duration.ofSeconds(30));
        assertEquals(OptionalInt.of(0), code, "pipe reader after run " + run + ":\n" + tail(out));
      }
      outputs[run] = Files.readAllBytes(out);
    }
    // The bytes, not the reads: two feeds that arrive before the reader wakes are one read, in
    // either run, on a loaded machine.
    for (byte[] o : outputs) {
      List<String> lines = new String(o, java.nio.charset.StandardCharsets.UTF_8).lines().toList();
      long got = lines.stream().filter(l -> l.startsWith("got ")).mapToLong(l -> Long.parseLong(l.split(" ")[1])).sum();
      assertEquals("eof after " + got + " bytes", lines.get(lines.size() - 1), lines.toString());
    }
    assertEquals(new String(outputs[0]).lines().reduce((a, b) -> b).orElseThrow(),
        new String(outputs[1]).lines().reduce((a, b) -> b).orElseThrow(), "bytes read in all, without and with a restore");
  }

  @Test
  void rseqUser_keepsWorkingAfterRestore() throws Exception {
    interruptedRunMatches("rseq", List.of(Programs.path("rseq")), 200, 900);
  }

  @Test
  void python3Loop_resumes() throws Exception {
    String script = "import hashlib, time\n"
        + "h = hashlib.sha256()\n"
        + "for i in range(100):\n"
        + "    for j in range(20000):\n"
        + "        h.update(str(i * j).encode())\n"
        + "    print(i, h.hexdigest()[:16], flush=True)\n"
        + "    time.sleep(0.02)\n";
    interruptedRunMatches("python", List.of(Programs.require("python3"), "loop.py"), null, List.of(), 300, 1500,
        d -> Files.writeString(d.resolve("loop.py"), script));
  }

  /**
   * A thread pool: the workers wait in futexes on the work queue, the GIL passes between them.
   */
  @Test
  void python3ThreadPoolExecutor_resumes() throws Exception {
    String script = "import hashlib, time\n"
        + "from concurrent.futures import ThreadPoolExecutor\n"
        + "def work(i):\n"
        + "    h = hashlib.sha256()\n"
        + "    for j in range(3000):\n"
        + "        h.update(str(i * j).encode())\n"
        + "    return h.hexdigest()[:16]\n"
        + "with ThreadPoolExecutor(max_workers=4) as pool:\n"
        + "    for step in range(80):\n"
        + "        print(step, ' '.join(pool.map(work, range(step * 8, step * 8 + 8))), flush=True)\n"
        + "        time.sleep(0.02)\n";
    interruptedRunMatches("pythonpool", List.of(Programs.require("python3"), "pool.py"), null, List.of(), 300, 2000,
        d -> Files.writeString(d.resolve("pool.py"), script));
  }

  /**
   * An unmodified OpenJDK 17, running a program with a thread pool: about 20 threads, its own
   * signal handlers, and its performance-counter file in /tmp/hsperfdata_USER, which the image
   * carries. (Compiled here: the source launcher holds a socket, which ckpt refuses.)
   */
  @Test
  void unmodifiedJvmWithAThreadPool_resumes() throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    interruptedRunMatches("jvm", List.of(java, "-Xmx64m", "-cp", ".", "Count"), null, List.of(), 300, 3000,
        NativeCheckpointIT::compileCount);
  }

  /**
   * A JVM checkpointed without stopping it still owns its performance-counter file: a restore
   * meanwhile is refused, naming the file and the pid, and the running JVM goes on unharmed.
   */
  @Test
  void jvmStillRunning_itsRestoreIsRefusedNamingItsPerfCounterFile() throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Path run = Files.createDirectories(dir.resolve("run"));
    compileCount(run);
    try (NativeCheckpointer ckpt = checkpointer("jvm-live")) {
      // Output to /dev/null: a growing output file would be refused first, for another reason.
      TracedProcess p = ckpt.launch(new Stdio(Path.of("/dev/null"), Path.of("/dev/null"), null, run), java, "-Xmx64m",
          "-cp", ".", "Count");
      Thread.sleep(800);
      ckpt.checkpoint(p, Mode.CONTINUE);
      CheckpointException e = assertThrows(CheckpointException.class,
          () -> ckpt.restore("jvm-live", new Stdio(Path.of("/dev/null"), null, null, null)));
      assertTrue(e.getMessage().contains("/hsperfdata_") && e.getMessage().contains("pid " + p.pid() + " on this host is alive"),
          e.getMessage());
      assertEquals(OptionalInt.of(0), p.waitFor(Duration.ofSeconds(60)), "the JVM after a refused restore");
    }
  }

  static void compileCount(Path d) throws Exception {
    String source = "import java.util.concurrent.*;\n"
        + "public class Count {\n"
        + "  public static void main(String[] a) throws Exception {\n"
        + "    ExecutorService pool = Executors.newFixedThreadPool(3);\n"
        + "    long total = 0;\n"
        + "    for (int i = 0; i < 300; i++) {\n"
        + "      final int k = i;\n"
        + "      Future<Long> f1 = pool.submit(() -> { long s = 0; for (int j = 0; j < 200000; j++) s += (long) j * k % 7; return s; });\n"
        + "      Future<Long> f2 = pool.submit(() -> { long s = 1; for (int j = 0; j < 200000; j++) s = s * 31 + j + k; return s; });\n"
        + "      total += f1.get() + f2.get();\n"
        + "      System.out.println(i + \" \" + total);\n"
        + "      Thread.sleep(10);\n"
        + "    }\n"
        + "    pool.shutdown();\n"
        + "    System.out.println(\"done \" + total);\n"
        + "  }\n"
        + "}\n";
    Files.writeString(d.resolve("Count.java"), source);
    Process javac = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "javac").toString(), "Count.java")
        .directory(d.toFile()).inheritIO().start();
    assertTrue(javac.waitFor(60, TimeUnit.SECONDS) && javac.exitValue() == 0, "javac Count.java");
  }

  /** A tree of four: sh waiting for a pipeline of three, joined by two pipes with data in flight. */
  @Test
  void shellPipelineOfFourProcesses_producesTheSameDigest() throws Exception {
    interruptedRunMatches("pipeline", List.of(Programs.require("sh"), "-c", "seq 1 30000000 | gzip -1 | md5sum"), 300, 2000);
  }

  /**
   * A parent, a child in its own process group that takes turns with it through two pipes,
   * writing through one shared file offset and one MAP_SHARED anonymous page, and a zombie child
   * reaped only at the end. After restore the parent signals the child's group.
   */
  @Test
  void processTreeWithZombieGroupSharedOffsetAndSharedMemory_resumes() throws Exception {
    interruptedRunMatches("family", List.of(Programs.path("family"), "300"), null, List.of("family.log"), 200, 2000,
        d -> { });
  }

  /**
   * The same tree as user nobody: restored in a user and pid namespace of its own, then
   * checkpointed and restored again from there.
   */
  @Test
  void processTree_resumesAsAnUnprivilegedUser() throws Exception {
    twiceAsNobody((200 + random.nextInt(800)) + "," + (200 + random.nextInt(600)), List.of("family.log"), "family", "300");
  }

  /** make -j2 building a generated C project: make, two compiler drivers and their cc1 and as at any moment. */
  @Test
  void makeJ2BuildingAGeneratedProject_resumes() throws Exception {
    Programs.require("make");
    Programs.require("cc");
    interruptedRunMatches("make", List.of(Programs.require("sh"), "-c", "make -s -j2 && ./prog"), null, List.of(), 300, 2500,
        d -> {
          int n = 30;
          StringBuilder main = new StringBuilder("#include <stdio.h>\n");
          StringBuilder objs = new StringBuilder("OBJS = main.o");
          for (int i = 1; i <= n; i++) {
            StringBuilder f = new StringBuilder("int f" + i + "(int x) {\n int s = 0;\n");
            for (int j = 1; j <= 600; j++) {
              f.append(" s += (x * ").append(j).append(") ^ (s >> 3) + ").append(i).append(";\n");
            }
            Files.writeString(d.resolve("f" + i + ".c"), f.append(" return s;\n}\n"));
            main.append("int f").append(i).append("(int);\n");
            objs.append(" f").append(i).append(".o");
          }
          main.append("int main(void) {\n long t = 0;\n");
          for (int i = 1; i <= n; i++) {
            main.append(" t += f").append(i).append("(").append(i).append(");\n");
          }
          Files.writeString(d.resolve("main.c"), main.append(" printf(\"total %ld\\n\", t);\n return 0;\n}\n"));
          Files.writeString(d.resolve("Makefile"), objs + "\nprog: $(OBJS)\n\tcc -o prog $(OBJS)\n%.o: %.c\n\tcc -O2 -c $< -o $@\n");
        });
  }

  /**
   * A shell that forks a short-lived child again and again: descendants appear and exit while
   * the census reads them before the freeze, and every checkpoint still commits (CI once failed
   * a make -j2 checkpoint on a child that exited while its fd table was listed).
   */
  @Test
  void shellForkingShortLivedChildren_everyCheckpointCommits() throws Exception {
    String sh = Programs.require("sh");
    // Forks until told to stop, however fast this machine is.
    String script = "i=0; while [ ! -e stop ]; do /bin/true; i=$((i+1)); done; echo stopped";
    Path run = Files.createDirectories(dir.resolve("run"));
    Path out = run.resolve("stdout");
    try (NativeCheckpointer ckpt = checkpointer("forks")) {
      TracedProcess p = ckpt.launch(new Stdio(Path.of("/dev/null"), out, null, run), sh, "-c", script);
      for (int i = 0; i < 20; i++) {
        ckpt.checkpoint(p, Mode.CONTINUE);
      }
      checkpointRetryingMomentaryRefusals(ckpt, p);
      Files.createFile(run.resolve("stop"));
      RestoredProcess r = ckpt.restore("forks", new Stdio(Path.of("/dev/null"), null, null, null));
      OptionalInt code = r.waitFor(Duration.ofSeconds(60));
      if (code.isEmpty()) {
        r.kill();
      }
      assertEquals(OptionalInt.of(0), code, "restored shell; output so far:\n" + tail(out));
    }
    assertEquals("stopped\n", Files.readString(out));
  }

  /** sort of a file twenty times its buffer: it spills sorted runs to temporary files and merges them. */
  @Test
  void sortSpillingToTemporaryFiles_producesTheSameDigest() throws Exception {
    interruptedRunMatches("sort", List.of(Programs.require("sh"), "-c", "mkdir -p tmp && sort -S 2M -T tmp big.txt | md5sum"),
        null, List.of(), 200, 2000, d -> {
          Random r = new Random(5);
          StringBuilder sb = new StringBuilder();
          for (int i = 0; i < 2_000_000; i++) {
            sb.append(r.nextInt(1_000_000_000)).append(" line ").append(i).append('\n');
          }
          Files.writeString(d.resolve("big.txt"), sb);
        });
  }

  /** A POSIX timer aimed at a thread other than the main one (SIGEV_THREAD_ID) keeps its thread. */
  @Test
  void posixTimerAimedAtAWorkerThread_firesInThatThreadAfterRestore() throws Exception {
    interruptedRunMatches("threadtimer", List.of(Programs.path("threadtimer"), "500"), 300, 2000);
  }

  /**
   * Eight threads that hold numbers in ymm8-ymm15 across a system call: each thread's extended
   * state comes back as it was (a restore that lost it prints changed registers). They also write
   * into memory advised MADV_HUGEPAGE, which a threaded restore writes before it advises it; the
   * restore's self-check compares the advice, the program its contents.
   */
  @Test
  void threadsHoldingVectorRegistersAcrossASystemCall_keepThem() throws Exception {
    interruptedRunMatches("mtvector", List.of(Programs.path("mtvector"), "100"), 300, 1500);
  }

  /** Scale: a process with 1,000 threads. */
  @Test
  void processWithAThousandThreads_resumes() throws Exception {
    interruptedRunMatches("manythreads", List.of(Programs.path("manythreads"), "1000", "150"), 400, 2500);
  }

  /** Scale: a tree of 50 processes. */
  @Test
  void treeOfFiftyProcesses_resumes() throws Exception {
    interruptedRunMatches("manyprocs", List.of(Programs.path("manyprocs"), "50", "150"), 300, 2500);
  }

  @Test
  void bcComputingDigits_resumes() throws Exception {
    interruptedRunMatches("bc", List.of(Programs.require("bc"), "-l", "pi.bc"), null, List.of(), 100, 600,
        d -> Files.writeString(d.resolve("pi.bc"), "scale=1500\n4*a(1)\ne(1)\nquit\n"));
  }

  @Test
  void gzipOfALargeFile_producesTheSameArchive() throws Exception {
    interruptedRunMatches("gzip", List.of(Programs.require("gzip"), "-9", "-n", "-c", "big.txt"), null, List.of(), 150, 700,
        d -> {
          StringBuilder sb = new StringBuilder();
          Random r = new Random(3);
          while (sb.length() < 40 << 20) {
            sb.append("line ").append(r.nextInt(1000000)).append(" of a large log with some words\n");
          }
          Files.writeString(d.resolve("big.txt"), sb);
        });
  }

  static String tail(Path p) throws java.io.IOException {
    byte[] b = Files.readAllBytes(p);
    String s = new String(b, java.nio.charset.StandardCharsets.ISO_8859_1);
    return s.length() > 2000 ? "..." + s.substring(s.length() - 2000) : s;
  }
}
