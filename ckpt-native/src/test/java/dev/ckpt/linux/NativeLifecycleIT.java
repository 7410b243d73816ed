package dev.ckpt.linux;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ckpt.CheckpointException;
import dev.ckpt.CheckpointInfo;
import java.io.File;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 3, unit = TimeUnit.MINUTES)
class NativeLifecycleIT {
  /** Programs read nothing: not this JVM's stdin, a pipe whose writer (Maven) lives on and would be refused. */
  static final Path DEV_NULL = Path.of("/dev/null");
  @TempDir
  Path dir;

  URI store() {
    return dir.resolve("store").toUri().resolve("?create=true");
  }

  NativeCheckpointer checkpointer(String job) throws Exception {
    return NativeCheckpointer.builder().store(store()).job(job).build();
  }

  @Test
  void periodicCheckpoints_storeOnlyChanges_andRestoreFromThirdAndFifth() throws Exception {
    String prog = Programs.path("bigstatic");
    Path ref = Files.createDirectories(dir.resolve("ref"));
    byte[] expected = Programs.reference(ref, null, prog, "600");
    Path out = dir.resolve("periodic.out");
    List<CheckpointInfo> infos = new ArrayList<>();
    try (NativeCheckpointer ckpt = checkpointer("periodic")) {
      TracedProcess p = ckpt.launch(Stdio.files(DEV_NULL, out, null), prog, "600");
      // Not a fixed delay: on a slow machine the first checkpoint fell inside the initial 64 MiB
      // fill, and the second stored the rest of it.
      awaitOutput(out, "step 0 ");
      for (int i = 0; i < 5; i++) {
        infos.add(ckpt.checkpoint(p, Mode.CONTINUE));
        Thread.sleep(120);
      }
      assertTrue(p.isAlive(), "still running after 5 checkpoints");
      p.kill();
      p.waitFor(Duration.ofSeconds(10));
      long first = infos.get(0).newStoredBytes();
      for (int i = 1; i < 5; i++) {
        assertTrue(infos.get(i).newStoredBytes() * 10 < first, "checkpoint " + (i + 1) + " stored "
            + infos.get(i).newStoredBytes() + " bytes, the first " + first);
        assertEquals(infos.get(i - 1).id(), infos.get(i).parentId());
      }
      for (int which : new int[] {2, 4}) {
        RestoredProcess r = ckpt.restore("periodic", infos.get(which).id(), Stdio.inherit());
        OptionalInt code = r.waitFor(Duration.ofSeconds(60));
        assertEquals(OptionalInt.of(0), code, "restored from checkpoint " + (which + 1));
        assertArrayEquals(expected, Files.readAllBytes(out), "output after restoring checkpoint " + (which + 1));
      }
    }
  }

  /**
   * Checkpoints every 150 ms of a program whose memory changes in every way tracking must follow
   * (scattered writes, a buffer moved by mremap, pages dropped with MADV_DONTNEED, a late
   * mapping): after the first, each reads only the pages written since, and a restore from any
   * of them ends with the uninterrupted run's output. The restored process is tracked too: its
   * first checkpoint hashes everything again, the next reads only what changed.
   */
  @Test
  void trackedCheckpoints_readOnlyWrittenPages_andEachRestoresExactly() throws Exception {
    String prog = Programs.path("dirtypages");
    byte[] expected = Programs.reference(Files.createDirectories(dir.resolve("dirty-ref")), null, prog, "400");
    Path out = dir.resolve("dirty.out");
    List<CheckpointInfo> infos = new ArrayList<>();
    try (NativeCheckpointer ckpt = checkpointer("dirty")) {
      TracedProcess p = ckpt.launch(Stdio.files(DEV_NULL, out, null), prog, "400");
      awaitOutput(out, "step 0 ");
      while (p.isAlive() && infos.size() < 16 && !Files.readString(out).contains("step 340 ")) {
        infos.add(ckpt.checkpoint(p, Mode.CONTINUE));
        Thread.sleep(150);
      }
      p.kill();
      p.waitFor(Duration.ofSeconds(10));
      assertTrue(infos.size() >= 5, "only " + infos.size() + " checkpoints before step 340");
      assertEquals("content-hash", infos.get(0).changeTracking());
      long first = infos.get(0).bytesRead();
      List<Long> reads = new ArrayList<>();
      for (CheckpointInfo i : infos.subList(1, infos.size())) {
        assertEquals("userfaultfd-wp", i.changeTracking(), "checkpoint " + i.id());
        reads.add(i.bytesRead());
      }
      // The mremap may split a mapping the kernel had merged with its neighbour: the pieces are
      // new to the tracker and read in full once.
      assertTrue(reads.stream().filter(r -> r * 4 >= first).count() <= 1, "reads " + reads + ", the first " + first);
      assertTrue(reads.stream().sorted().toList().get(reads.size() / 2) * 6 < first, "reads " + reads + ", the first " + first);
      int[] which = {1, infos.size() / 2, infos.size() - 1};
      for (int w : which) {
        RestoredProcess r = ckpt.restore("dirty", infos.get(w).id(), Stdio.inherit());
        if (w == which[1]) {
          // The restored process, checkpointed twice while it runs, then put back where the second left it.
          CheckpointInfo a = ckpt.checkpoint(r, Mode.CONTINUE);
          Thread.sleep(150);
          CheckpointInfo b = ckpt.checkpoint(r, Mode.CONTINUE);
          assertEquals("content-hash", a.changeTracking(), "a restored process's first checkpoint");
          assertEquals("userfaultfd-wp", b.changeTracking(), "a restored process's second checkpoint");
          r.kill();
          r.waitFor(Duration.ofSeconds(10));
          r = ckpt.restore("dirty", b.id(), Stdio.inherit());
        }
        endsAsUninterrupted(r, infos.get(w).id(), expected, out);
      }
    }
  }

  /**
   * The freeze takes the mappings' flags from the census before it, and checks them against the
   * snapshot's. A mapping whose fork advice flips every 20 ms (WIPEONFORK, KEEPONFORK) is caught
   * changing in between: such a checkpoint fails naming it, nothing is committed, and every
   * checkpoint that commits restores with the mapping's contents intact.
   */
  @Test
  void adviceChangedBetweenCensusAndFreeze_failsTheCheckpoint_andNoCommittedOneIsWrong() throws Exception {
    Path out = dir.resolve("flip.out");
    List<CheckpointInfo> committed = new ArrayList<>();
    int changed = 0;
    try (NativeCheckpointer ckpt = checkpointer("flip")) {
      TracedProcess p = ckpt.launch(Stdio.files(DEV_NULL, out, null), Programs.path("madvflip"), "100000");
      awaitOutput(out, "it 3\n");
      for (int i = 0; i < 30 && (changed == 0 || committed.size() < 2); i++) {
        try {
          committed.add(ckpt.checkpoint(p, Mode.CONTINUE));
        } catch (CheckpointException e) {
          assertTrue(e.getMessage().contains("changed between the census and the freeze"), e.getMessage());
          changed++;
        }
      }
      p.kill();
      p.waitFor(Duration.ofSeconds(10));
      assertTrue(changed > 0, "the flags never changed in between in 30 checkpoints; " + committed.size() + " committed");
      assertTrue(committed.size() >= 2, "only " + committed.size() + " of 30 checkpoints committed");
      // The newest first: each restore finds the output at least as long as at its checkpoint.
      for (CheckpointInfo c : List.of(committed.get(committed.size() - 1), committed.get(committed.size() - 2))) {
        RestoredProcess r = ckpt.restore("flip", c.id(), Stdio.inherit());
        int at = Files.readString(out).split("\n").length;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (Files.readString(out).split("\n").length < at + 10 && r.isAlive()) {
          assertTrue(System.nanoTime() < deadline, "the restored process made no progress");
          Thread.sleep(20);
        }
        r.kill();
        r.waitFor(Duration.ofSeconds(10));
        String text = Files.readString(out);
        assertFalse(text.contains("CORRUPT"), "restored from " + c.id() + ":\n" + text.substring(Math.max(0, text.length() - 300)));
      }
    }
  }

  /**
   * With {@code holdSigterm}, a SIGTERM that no vacate takes reaches the process after the hold,
   * with its own sender and code (si_pid of the kill command, SI_USER), not the checkpointer's; a
   * process's SIGTERM to itself is not held.
   */
  @Test
  void heldSigterm_reachesTheProcessAfterTheHold_fromItsOwnSender() throws Exception {
    Path out = dir.resolve("term.out");
    try (NativeCheckpointer ckpt = NativeCheckpointer.builder().store(store()).job("term")
        .holdSigterm(Duration.ofMillis(800)).build()) {
      TracedProcess p = ckpt.launch(Stdio.files(DEV_NULL, out, null), Programs.path("termwait"), "3000");
      awaitOutput(out, "tick 5\n");
      long sent = System.nanoTime();
      Process kill = new ProcessBuilder("kill", "-TERM", Integer.toString(p.pid())).start();
      assertEquals(0, kill.waitFor());
      assertEquals(OptionalInt.of(0), p.waitFor(Duration.ofSeconds(20)));
      long held = System.nanoTime() - sent;
      String text = Files.readString(out);
      assertTrue(text.contains("term from " + kill.pid() + " code 0 at tick"), text.substring(Math.max(0, text.length() - 200)));
      assertTrue(held >= TimeUnit.MILLISECONDS.toNanos(700), "delivered after " + held / 1_000_000 + " ms, not held");
      // A process's SIGTERM to itself is not held: it means it now.
      TracedProcess self = ckpt.launch(Stdio.files(DEV_NULL, out, null), "/bin/sh", "-c", "kill -TERM $$; sleep 5");
      long start = System.nanoTime();
      assertEquals(OptionalInt.of(128 + 15), self.waitFor(Duration.ofSeconds(10)));
      assertTrue(System.nanoTime() - start < TimeUnit.MILLISECONDS.toNanos(700), "its own SIGTERM was held");
    }
  }

  /**
   * A scheduler's eviction signals the checkpointed process and its checkpointer at once. With
   * {@code holdSigterm}, a vacate that commits while the process's SIGTERM is held checkpoints it
   * as of before the signal: the process is stopped without taking it, and its restore runs on
   * to the end, with the output of an uninterrupted run.
   */
  @Test
  void vacateWhileSigtermIsHeld_checkpointsBeforeTheSignal_andTheRestoreRunsToTheEnd() throws Exception {
    String prog = Programs.path("termwait");
    byte[] expected = Programs.reference(Files.createDirectories(dir.resolve("term-ref")), null, prog, "300");
    Path out = dir.resolve("evicted.out");
    try (NativeCheckpointer ckpt = NativeCheckpointer.builder().store(store()).job("evicted")
        .holdSigterm(Duration.ofSeconds(10)).build()) {
      TracedProcess p = ckpt.launch(Stdio.files(DEV_NULL, out, null), prog, "300");
      awaitOutput(out, "tick 20\n");
      assertEquals(0, new ProcessBuilder("kill", "-TERM", Integer.toString(p.pid())).start().waitFor());
      Thread.sleep(100); // taken from the queue and held by now
      CheckpointInfo vacated = ckpt.checkpoint(p, Mode.VACATE);
      p.waitFor(Duration.ofSeconds(10));
      assertFalse(p.isAlive());
      assertFalse(Files.readString(out).contains("term"), "the process took the SIGTERM:\n" + Files.readString(out));
      endsAsUninterrupted(ckpt.restore("evicted", vacated.id(), Stdio.inherit()), vacated.id(), expected, out);
    }
  }

  /**
   * One byte written in every 16th page of 64 MiB of random data: one page in each 64 KiB chunk.
   * The tracked checkpoint after the writes reads, hashes and stores those 1,024 pages (4 MiB),
   * not the 64 MiB of chunks around them, and a restore from either checkpoint ends with the
   * digest the uninterrupted run printed.
   */
  @Test
  void scatteredWrites_costThePagesWritten_notTheirChunks() throws Exception {
    try (NativeCheckpointer ckpt = checkpointer("scatter")) {
      CheckpointInfo[] both = scatterTwiceAndRestore(ckpt, "scatter");
      CheckpointInfo first = both[0];
      CheckpointInfo second = both[1];
      long pages = 1024 * 4096L;
      long slack = 1 << 20; // the stack, libc's data, the process record
      assertTrue(second.bytesRead() < pages + slack, "read " + second.bytesRead() + " bytes for 1024 written pages");
      assertTrue(second.bytesScanned() < pages + slack, "hashed " + second.bytesScanned() + " bytes for 1024 written pages");
      assertTrue(second.newRawBytes() < pages + slack, "stored " + second.newRawBytes() + " bytes for 1024 written pages");
      assertTrue(first.newRawBytes() > 16 * pages, "the first checkpoint stored only " + first.newRawBytes());
    }
  }

  /**
   * Runs scatter.c with a checkpoint before and a tracked one after its scattered writes, lets it
   * end, and restores from both: each ends as the uninterrupted run did. Returns both checkpoints.
   */
  private CheckpointInfo[] scatterTwiceAndRestore(NativeCheckpointer ckpt, String job) throws Exception {
    Path out = dir.resolve(job + ".out");
    String flag = dir.resolve(job).toString();
    TracedProcess p = ckpt.launch(Stdio.files(DEV_NULL, out, null), Programs.path("scatter"), flag);
    awaitOutput(out, "ready");
    CheckpointInfo first = ckpt.checkpoint(p, Mode.CONTINUE);
    Files.createFile(Path.of(flag + ".go"));
    awaitOutput(out, "written");
    CheckpointInfo second = ckpt.checkpoint(p, Mode.CONTINUE);
    Files.createFile(Path.of(flag + ".end"));
    assertEquals(OptionalInt.of(0), p.waitFor(Duration.ofSeconds(30)));
    byte[] expected = Files.readAllBytes(out);
    assertTrue(new String(expected).contains("digest "), new String(expected));
    assertEquals("userfaultfd-wp", second.changeTracking());
    for (CheckpointInfo c : List.of(second, first)) {
      endsAsUninterrupted(ckpt.restore(job, c.id(), Stdio.inherit()), c.id(), expected, out);
    }
    return new CheckpointInfo[] {first, second};
  }

  /**
   * With encryption, a tracked checkpoint takes slices of its base's sealed chunks: both
   * checkpoints restore to the uninterrupted run's output, and the second still stores only
   * about the pages written.
   */
  @Test
  void encryptedTrackedCheckpoints_sliceSealedChunks_andRestoreExactly() throws Exception {
    byte[] key = new byte[32];
    new java.util.Random(5).nextBytes(key);
    try (dev.ckpt.CheckpointStore store = dev.ckpt.CheckpointStore.builder().uri(store())
            .encryption(dev.ckpt.Encryption.withKey("k1", key)).build();
        NativeCheckpointer ckpt = NativeCheckpointer.builder().store(store).job("sealed").build()) {
      CheckpointInfo second = scatterTwiceAndRestore(ckpt, "sealed")[1];
      assertEquals("k1", second.keyId().orElseThrow());
      assertTrue(second.newRawBytes() < 1024 * 4096L + (1 << 20), "stored " + second.newRawBytes() + " bytes");
    }
  }

  /**
   * A program that execs itself half way has new memory at the same addresses: the checkpoint
   * after the exec hashes everything (the userfaultfd watched the old memory), later ones track
   * again, and restores from before and after the exec end as the uninterrupted run.
   */
  @Test
  void trackedProcessThatExecs_isHashedInFullAfterTheExec_andRestoresExactly() throws Exception {
    String prog = Programs.path("dirtypages");
    byte[] expected = Programs.reference(Files.createDirectories(dir.resolve("exec-ref")), null, prog, "400", "exec");
    Path out = dir.resolve("exec.out");
    List<CheckpointInfo> infos = new ArrayList<>();
    try (NativeCheckpointer ckpt = checkpointer("exec")) {
      TracedProcess p = ckpt.launch(Stdio.files(DEV_NULL, out, null), prog, "400", "exec");
      awaitOutput(out, "step 0 ");
      while (p.isAlive() && infos.size() < 18 && !Files.readString(out).contains("step 350 ")) {
        infos.add(ckpt.checkpoint(p, Mode.CONTINUE));
        Thread.sleep(150);
      }
      p.kill();
      p.waitFor(Duration.ofSeconds(10));
      List<String> tracking = infos.stream().map(CheckpointInfo::changeTracking).toList();
      // Only a checkpoint where no mapping could be tracked says content-hash: the first, and
      // the first after the exec (at step 200); tracking then resumes.
      int firstAfter = tracking.subList(1, tracking.size()).indexOf("content-hash") + 1;
      assertTrue(firstAfter > 1 && firstAfter < infos.size() - 1, "checkpoints on both sides of the exec: " + tracking);
      assertEquals("content-hash", tracking.get(0));
      assertEquals("userfaultfd-wp", tracking.get(firstAfter + 1), "after the exec, tracking resumes: " + tracking);
      assertEquals(1, tracking.subList(1, tracking.size()).stream().filter("content-hash"::equals).count(), tracking.toString());
      for (int w : new int[] {firstAfter - 1, firstAfter, infos.size() - 1}) {
        endsAsUninterrupted(ckpt.restore("exec", infos.get(w).id(), Stdio.inherit()), infos.get(w).id(), expected, out);
      }
    }
  }

  /**
   * A second checkpoint taken while the first is still committing (its scan done, its manifest
   * slow) neither uses nor resets the tracker: it hashes everything and restores exactly; the
   * first then loses its commit to it, which ends the tracking, and it starts again.
   */
  @Test
  void checkpointWhileAnotherIsCommitting_hashesEverything_andTrackingRestartsAfter() throws Exception {
    java.util.concurrent.CountDownLatch committing = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.atomic.AtomicBoolean slowNext = new java.util.concurrent.atomic.AtomicBoolean();
    dev.ckpt.CheckpointStore base = dev.ckpt.CheckpointStore.open(dir.resolve("overlap").toUri().resolve("?create=true"));
    dev.ckpt.spi.BlobStore slow = slowCommits(base, committing, () -> slowNext.getAndSet(false));
    String prog = Programs.path("dirtypages");
    byte[] expected = Programs.reference(Files.createDirectories(dir.resolve("overlap-ref")), null, prog, "400");
    Path out = dir.resolve("overlap.out");
    java.util.concurrent.ExecutorService exec = java.util.concurrent.Executors.newSingleThreadExecutor();
    try (dev.ckpt.CheckpointStore store = dev.ckpt.CheckpointStore.builder().blobStore(slow).build();
         NativeCheckpointer ckpt = NativeCheckpointer.builder().store(store).job("overlap").build()) {
      TracedProcess p = ckpt.launch(Stdio.files(DEV_NULL, out, null), prog, "400");
      awaitOutput(out, "step 0 ");
      ckpt.checkpoint(p, Mode.CONTINUE);
      Thread.sleep(150);
      slowNext.set(true);
      java.util.concurrent.Future<CheckpointInfo> first = exec.submit(() -> ckpt.checkpoint(p, Mode.CONTINUE));
      assertTrue(committing.await(30, TimeUnit.SECONDS), "the first checkpoint never reached its commit");
      Thread.sleep(200); // the process writes on meanwhile
      CheckpointInfo second = ckpt.checkpoint(p, Mode.CONTINUE);
      assertEquals("content-hash", second.changeTracking(), "a checkpoint while another holds the tracker");
      java.util.concurrent.ExecutionException lost = assertThrows(java.util.concurrent.ExecutionException.class,
          () -> first.get(30, TimeUnit.SECONDS));
      assertTrue(lost.getCause() instanceof dev.ckpt.CommitConflictException, lost.getCause().toString());
      CheckpointInfo third = ckpt.checkpoint(p, Mode.CONTINUE);
      Thread.sleep(150);
      CheckpointInfo fourth = ckpt.checkpoint(p, Mode.CONTINUE);
      assertEquals("content-hash", third.changeTracking(), "the first checkpoint after the lost commit");
      assertEquals("userfaultfd-wp", fourth.changeTracking(), "tracking again");
      p.kill();
      p.waitFor(Duration.ofSeconds(10));
      for (CheckpointInfo c : List.of(second, fourth)) {
        endsAsUninterrupted(ckpt.restore("overlap", c.id(), Stdio.inherit()), c.id(), expected, out);
      }
    } finally {
      exec.shutdownNow();
      base.close();
    }
  }

  private static long committed(List<dev.ckpt.CheckpointEvent> events) {
    synchronized (events) {
      return events.stream().filter(e -> e.type() == dev.ckpt.CheckpointEvent.Type.COMMITTED).count();
    }
  }

  /**
   * Waits until {@code out} holds {@code text}: dirtypages prints its first step once its initial
   * 48 MiB are written, and a first checkpoint before that would find most of its memory new to
   * the next one.
   */
  private static void awaitOutput(Path out, String text) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!Files.readString(out).contains(text)) {
      assertTrue(System.nanoTime() < deadline, out + " never printed '" + text + "'");
      Thread.sleep(10);
    }
  }

  /**
   * {@code base}'s blobs, with each manifest write that {@code when} picks counting down {@code
   * committing} and then taking 1.5 s: a commit that is slow to answer.
   */
  private static dev.ckpt.spi.BlobStore slowCommits(dev.ckpt.CheckpointStore base,
      java.util.concurrent.CountDownLatch committing, java.util.function.BooleanSupplier when) {
    return new dev.ckpt.store.tck.ForwardingBlobStore(base.blobs()) {
      @Override
      public boolean putIfAbsent(String key, byte[] data) throws dev.ckpt.StoreException {
        if (when.getAsBoolean()) {
          committing.countDown();
          try {
            Thread.sleep(1500);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
        return super.putIfAbsent(key, data);
      }
    };
  }

  /** A process restored from checkpoint {@code id} exits 0, and {@code out} then holds the uninterrupted run's output. */
  private static void endsAsUninterrupted(RestoredProcess r, long id, byte[] expected, Path out) throws Exception {
    assertEquals(OptionalInt.of(0), r.waitFor(Duration.ofSeconds(60)), "restored from checkpoint " + id);
    assertArrayEquals(expected, Files.readAllBytes(out), "output after restoring checkpoint " + id);
  }

  /** With tracking off every checkpoint hashes all memory, and says so. */
  @Test
  void trackingOff_everyCheckpointHashesEverything() throws Exception {
    try (NativeCheckpointer ckpt = NativeCheckpointer.builder().store(store()).job("untracked").trackChanges(false).build()) {
      TracedProcess p = ckpt.launch(Stdio.files(DEV_NULL, dir.resolve("u.out"), null), Programs.path("dirtypages"), "400");
      Thread.sleep(200);
      CheckpointInfo a = ckpt.checkpoint(p, Mode.CONTINUE);
      CheckpointInfo b = ckpt.checkpoint(p, Mode.CONTINUE);
      p.kill();
      assertEquals("content-hash", a.changeTracking());
      assertEquals("content-hash", b.changeTracking());
      assertTrue(b.bytesRead() * 2 > a.bytesRead(), "the second read " + b.bytesRead() + " bytes, the first " + a.bytesRead());
    }
  }

  @Test
  void scheduledEvery200ms_thenVacated_restoresAndContinues() throws Exception {
    String prog = Programs.path("counter");
    Path ref = Files.createDirectories(dir.resolve("ref"));
    byte[] expected = Programs.reference(ref, null, prog, "1500", "5");
    Path out = dir.resolve("scheduled.out");
    List<dev.ckpt.CheckpointEvent> events = java.util.Collections.synchronizedList(new ArrayList<>());
    try (NativeCheckpointer ckpt = checkpointer("scheduled")) {
      TracedProcess p = ckpt.launch(Stdio.files(DEV_NULL, out, null), prog, "1500", "5");
      try (dev.ckpt.CheckpointScheduler s = dev.ckpt.CheckpointScheduler.builder(ckpt.target(p))
          .policy(dev.ckpt.CheckpointPolicy.builder().interval(Duration.ofMillis(200)).retainLast(3).build())
          .listener(events::add).start()) {
        // Counted, not timed: a slow machine commits fewer per second, and the vacate must come
        // while the program still runs.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (committed(events) < 5 && System.nanoTime() < deadline) {
          Thread.sleep(20);
        }
        CheckpointInfo last = s.vacate().get(30, TimeUnit.SECONDS);
        assertEquals(OptionalInt.of(137), p.waitFor(Duration.ofSeconds(10)), "vacate kills the process");
        assertTrue(committed(events) >= 5, "checkpoints every 200 ms committed in 30 s: " + committed(events));
        assertTrue(events.stream().noneMatch(e -> e.type() == dev.ckpt.CheckpointEvent.Type.FAILED), events.toString());
        assertEquals(3, ckpt.store().checkpoints("scheduled").size(), "retention keeps 3");
        RestoredProcess r = ckpt.restore("scheduled");
        assertEquals(last.id(), r.restoredFrom().id());
        assertEquals(OptionalInt.of(0), r.waitFor(Duration.ofSeconds(60)));
      }
    }
    assertArrayEquals(expected, Files.readAllBytes(out));
  }

  @Test
  void restoreInAnotherJvm_continuesTheProcess() throws Exception {
    String prog = Programs.path("counter");
    Path ref = Files.createDirectories(dir.resolve("ref"));
    byte[] expected = Programs.reference(ref, null, prog, "150", "20");
    Path out = dir.resolve("migrated.out");
    try (NativeCheckpointer ckpt = checkpointer("migrate")) {
      TracedProcess p = ckpt.launch(Stdio.files(DEV_NULL, out, null), prog, "150", "20");
      awaitOutput(out, "count 20 ");
      ckpt.checkpoint(p, Mode.VACATE);
      p.waitFor(Duration.ofSeconds(10));
    }
    String cp = System.getProperty("java.class.path");
    Path log = dir.resolve("restore-jvm.log");
    Process jvm = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp", cp,
        RestoreMain.class.getName(), store().toString(), "migrate")
        .redirectErrorStream(true).redirectOutput(log.toFile()).redirectInput(new File("/dev/null")).start();
    assertTrue(jvm.waitFor(60, TimeUnit.SECONDS), "restoring JVM did not finish");
    assertEquals(0, jvm.exitValue(), Files.readString(log));
    assertTrue(Files.readString(log).contains("restored pid"), Files.readString(log));
    assertArrayEquals(expected, Files.readAllBytes(out));
  }

  @Test
  void socketDescriptor_isRefusedByDefault_namingIt_andClosedOnRequest() throws Exception {
    String prog = Programs.path("withsocket");
    try (NativeCheckpointer ckpt = checkpointer("socket")) {
      TracedProcess p = ckpt.launch(Stdio.files(DEV_NULL, dir.resolve("s.out"), null), prog);
      Thread.sleep(200);
      ProcessException e = assertThrows(ProcessException.class, () -> ckpt.checkpoint(p, Mode.CONTINUE));
      assertTrue(e.getMessage().contains("fd 3") && e.getMessage().contains("socket"), e.getMessage());
      assertTrue(ckpt.store().latest("socket").isEmpty(), "nothing committed");
      assertTrue(p.isAlive(), "the process runs on after a refused checkpoint");
      p.kill();
    }
    try (NativeCheckpointer ckpt = NativeCheckpointer.builder().store(store()).job("socket").fdPolicy(FdPolicy.CLOSE).build()) {
      Path out = dir.resolve("s2.out");
      TracedProcess p = ckpt.launch(Stdio.files(DEV_NULL, out, null), prog);
      Thread.sleep(200);
      ckpt.checkpoint(p, Mode.VACATE);
      p.waitFor(Duration.ofSeconds(10));
      RestoredProcess r = ckpt.restore("socket");
      assertEquals(OptionalInt.of(0), r.waitFor(Duration.ofSeconds(30)));
      assertTrue(Files.readString(out).contains("tick 149 socket 3"));
    }
  }

  private TracedProcess launchThreaded(NativeCheckpointer ckpt, Path out, String... args) throws Exception {
    List<String> cmd = new java.util.ArrayList<>(List.of(Programs.path("threaded")));
    cmd.addAll(List.of(args));
    TracedProcess p = ckpt.launch(Stdio.files(DEV_NULL, out, null), cmd.toArray(String[]::new));
    long deadline = System.currentTimeMillis() + 10_000;
    while (!Files.readString(out).contains("two threads") && System.currentTimeMillis() < deadline) {
      Thread.sleep(10);
    }
    return p;
  }

  @Test
  void multiThreadedProcess_runsOnAfterAContinueCheckpoint_andItsCopyRestoresBesideIt() throws Exception {
    try (NativeCheckpointer ckpt = checkpointer("threads")) {
      TracedProcess p = launchThreaded(ckpt, dir.resolve("t.out"));
      ckpt.checkpoint(p, Mode.CONTINUE);
      Thread.sleep(100);
      assertTrue(p.isAlive());
      String stat = Files.readString(Path.of("/proc", Integer.toString(p.pid()), "stat"));
      assertEquals('S', stat.charAt(stat.lastIndexOf(')') + 2), "the original runs on (asleep in its own call): " + stat);
      // Its pid and tids are taken by the original: the copy gets them in a namespace of its own.
      RestoredProcess r = ckpt.restore("threads");
      Thread.sleep(100);
      assertTrue(r.isAlive());
      assertTrue(p.isAlive());
      r.kill();
      p.kill();
      assertEquals(OptionalInt.of(137), r.waitFor(Duration.ofSeconds(10)));
    }
  }

  /**
   * A restore that fails in one process of a tree (its working directory is gone) kills every
   * process it made, and names the process and the step.
   */
  @Test
  void treeRestoreThatFailsInAChild_killsEveryProcessMade_andNamesTheChildAndStep() throws Exception {
    Path work = java.nio.file.Files.createDirectories(dir.resolve("tree-work"));
    try (NativeCheckpointer ckpt = checkpointer("subshell")) {
      Path out = dir.resolve("s.out");
      TracedProcess p = ckpt.launch(new Stdio(DEV_NULL, out, null, work), "/bin/sh", "-c",
          "mkdir -p sub; (cd sub && echo in-sub && sleep 30); echo done");
      long deadline = System.currentTimeMillis() + 10_000;
      while (!Files.readString(out).contains("in-sub") && System.currentTimeMillis() < deadline) {
        Thread.sleep(10);
      }
      CheckpointInfo info = ckpt.checkpoint(p, Mode.VACATE);
      // sh, and the subshell (dash execs its last command, sleep, in it)
      assertEquals("2", info.attributes().get("processes"), info.attributes().toString());
      p.waitFor(Duration.ofSeconds(10));
      new ProcessBuilder("rm", "-rf", work.resolve("sub").toString()).start().waitFor();
      CheckpointException e = assertThrows(CheckpointException.class, () -> ckpt.restore("subshell"));
      assertTrue(e.getMessage().contains("step 'cwd'") && e.getMessage().contains("killed"), e.getMessage());
      java.util.regex.Matcher m = java.util.regex.Pattern.compile("failed in pid (\\d+)").matcher(e.getMessage());
      assertTrue(m.find(), e.getMessage());
      assertTrue(p.pid() != Integer.parseInt(m.group(1)), "the failing process is the child, not the root: " + e.getMessage());
      // Nothing of the half-built tree runs on: no process is left running the tree's programs here.
      Thread.sleep(200);
      for (long pid : ProcessHandle.allProcesses().map(ProcessHandle::pid).toList()) {
        String cmd = ProcessHandle.of(pid).flatMap(h -> h.info().command()).orElse("");
        String cwd = "";
        try {
          cwd = Files.readSymbolicLink(Path.of("/proc", Long.toString(pid), "cwd")).toString();
        } catch (java.io.IOException ignored) {
          // gone, or not ours
        }
        assertFalse(cwd.startsWith(work.toString()) && !cmd.isEmpty(), "pid " + pid + " (" + cmd + ") still runs in " + cwd);
      }
    }
  }

  @Test
  void threadAtAnotherNiceThanItsMainThread_isRefusedNamingTheThread() throws Exception {
    try (NativeCheckpointer ckpt = checkpointer("nice")) {
      TracedProcess p = launchThreaded(ckpt, dir.resolve("n.out"), "nice");
      ProcessException e = assertThrows(ProcessException.class, () -> ckpt.checkpoint(p, Mode.CONTINUE));
      assertTrue(e.getMessage().contains("has thread ") && e.getMessage().contains("at nice 5"), e.getMessage());
      assertTrue(ckpt.store().latest("nice").isEmpty());
      assertTrue(p.isAlive());
      p.kill();
    }
  }

  @Test
  void changedExecutable_isRefusedAtRestore_namingTheFile() throws Exception {
    Path exe = dir.resolve("counter-copy");
    Files.copy(Path.of(Programs.path("counter")), exe, StandardCopyOption.COPY_ATTRIBUTES);
    try (NativeCheckpointer ckpt = checkpointer("changed")) {
      TracedProcess p = ckpt.launch(Stdio.files(DEV_NULL, dir.resolve("c.out"), null), exe.toString(), "500", "5");
      Thread.sleep(200);
      ckpt.checkpoint(p, Mode.VACATE);
      p.waitFor(Duration.ofSeconds(10));
      Files.write(exe, new byte[] {0}, StandardOpenOption.APPEND);
      CheckpointException e = assertThrows(CheckpointException.class, () -> ckpt.restore("changed"));
      assertTrue(e.getMessage().contains(exe.toString()), e.getMessage());
    }
  }

  @Test
  void processThatExitsDuringTheDump_leavesTheStoreUntouched() throws Exception {
    try (NativeCheckpointer ckpt = checkpointer("exits")) {
      TracedProcess p = ckpt.launch(Stdio.files(DEV_NULL, dir.resolve("e.out"), null), Programs.path("heap"), "512", "100");
      awaitOutput(dir.resolve("e.out"), "round 0 "); // its 512 MiB are written
      // Early in the dump, well before its 512 MiB are read: a process that dies after the
      // dump has read everything has left a whole image, and that checkpoint rightly commits
      // (seen once at 60 ms on a busy machine).
      Thread killer = new Thread(() -> {
        try {
          Thread.sleep(30);
        } catch (InterruptedException ignored) {
          return;
        }
        p.kill();
      });
      killer.start();
      // VACATE reads all memory from the frozen process itself (a CONTINUE checkpoint reads it
      // from a snapshot, which outlives the process: see below).
      CheckpointException e = assertThrows(CheckpointException.class, () -> ckpt.checkpoint(p, Mode.VACATE));
      killer.join();
      assertTrue(e.getMessage().contains("pid " + p.pid()), e.getMessage());
      assertTrue(ckpt.store().latest("exits").isEmpty(), "no checkpoint committed");
      assertTrue(ckpt.store().blobs().list("exits/").isEmpty(), "no chunks left behind: " + ckpt.store().blobs().list("exits/"));
    }
  }

  /**
   * A CONTINUE checkpoint freezes the process only while its state is read and a copy-on-write
   * snapshot is forked; 512 MiB of memory are then read from the snapshot while it runs on. The
   * image restores to a process that verifies every page, and the snapshot leaves no child behind.
   */
  @Test
  void continueCheckpoint_readsMemoryFromASnapshotWhileTheProcessRuns() throws Exception {
    Path ref = java.nio.file.Files.createDirectories(dir.resolve("snap-ref"));
    byte[] expected = Programs.reference(ref, null, Programs.path("heap"), "256", "150");
    try (NativeCheckpointer ckpt = checkpointer("snap")) {
      Path out = dir.resolve("snap.out");
      TracedProcess p = ckpt.launch(Stdio.files(DEV_NULL, out, null), Programs.path("heap"), "256", "150");
      awaitOutput(out, "round 0 "); // its 256 MiB are written
      CheckpointInfo info = ckpt.checkpoint(p, Mode.CONTINUE);
      assertTrue(info.attributes().containsKey(CheckpointInfo.SNAPSHOT_BYTES), info.attributes().toString());
      long read = info.bytesRead();
      assertTrue(read > 150L << 20, "read " + read + " bytes");
      assertTrue(info.frozen().multipliedBy(2).compareTo(info.duration()) < 0,
          "frozen " + info.frozen() + " of " + info.duration() + ": most of the dump ran with the process running");
      Thread.sleep(100);
      String children = Files.readString(Path.of("/proc", Integer.toString(p.pid()), "task", Integer.toString(p.pid()),
          "children")).trim();
      assertEquals("", children, "the snapshot was reaped by the process");
      p.kill();
      p.waitFor(Duration.ofSeconds(10));
      RestoredProcess r = ckpt.restore("snap", new Stdio(DEV_NULL, null, null, null));
      assertEquals(OptionalInt.of(0), r.waitFor(Duration.ofSeconds(120)));
      assertArrayEquals(expected, Files.readAllBytes(out), "the restored process goes on from the snapshot's state");
    }
  }

  /**
   * A CONTINUE checkpoint of a tree: each process gets its own snapshot, the tree runs on while
   * they are read, and every process reaps its own. The tree is then killed and restored, and
   * ends with the uninterrupted run's digest.
   */
  @Test
  void treeContinueCheckpoint_readsEachProcessFromItsSnapshot_andRestores() throws Exception {
    String script = "seq 1 30000000 | gzip -1 | md5sum";
    Path ref = java.nio.file.Files.createDirectories(dir.resolve("tree-ref"));
    byte[] expected = Programs.reference(ref, null, "/bin/sh", "-c", script);
    Path work = java.nio.file.Files.createDirectories(dir.resolve("tree-snap"));
    try (NativeCheckpointer ckpt = checkpointer("treesnap")) {
      Path out = work.resolve("out");
      TracedProcess p = ckpt.launch(new Stdio(DEV_NULL, out, null, work), "/bin/sh", "-c", script);
      Thread.sleep(700);
      CheckpointInfo info = ckpt.checkpoint(p, Mode.CONTINUE);
      assertEquals("4", info.attributes().get("processes"), info.attributes().toString());
      assertTrue(info.attributes().containsKey(CheckpointInfo.SNAPSHOT_BYTES), info.attributes().toString());
      try (dev.ckpt.ImageReader image = ckpt.store().open("treesnap", info.id())) {
        String tree = NativeCheckpointer.describe(image).attributes().stream().filter(a -> a.startsWith("process tree: "))
            .findFirst().orElse("none");
        assertTrue(tree.startsWith("process tree: 4 processes: " + p.pid() + " (root), session leader; "), tree);
      }
      Thread.sleep(100);
      for (String pid : ProcessTreeOf.pids(p.pid())) {
        String kids = Files.readString(Path.of("/proc", pid, "task", pid, "children")).trim();
        for (String k : kids.isEmpty() ? new String[0] : kids.split(" ")) {
          String stat = Files.readString(Path.of("/proc", k, "stat"));
          assertTrue(stat.charAt(stat.lastIndexOf(')') + 2) != 'Z', "pid " + pid + " has a zombie child " + k + " left");
        }
      }
      // The whole group (the launched shell leads it) dies at once, as a batch system kills a job.
      new ProcessBuilder("kill", "-9", "--", "-" + p.pid()).start().waitFor();
      p.waitFor(Duration.ofSeconds(10));
      RestoredProcess r = ckpt.restore("treesnap", new Stdio(DEV_NULL, null, null, null));
      assertEquals(OptionalInt.of(0), r.waitFor(Duration.ofSeconds(120)));
    }
    assertArrayEquals(expected, Files.readAllBytes(work.resolve("out")));
  }

  /** The pids of a process and its descendants, from /proc. */
  static final class ProcessTreeOf {
    static List<String> pids(int root) throws java.io.IOException {
      List<String> out = new ArrayList<>(List.of(Integer.toString(root)));
      for (int i = 0; i < out.size(); i++) {
        Path children = Path.of("/proc", out.get(i), "task", out.get(i), "children");
        if (Files.exists(children)) {
          String kids = Files.readString(children).trim();
          if (!kids.isEmpty()) {
            out.addAll(List.of(kids.split(" ")));
          }
        }
      }
      return out;
    }
  }

  /**
   * The memory snapshot killed (as the OOM killer would) while a CONTINUE checkpoint reads it:
   * the pages it had may read as absent, so the checkpoint fails naming the snapshot, nothing is
   * committed, the killed snapshot is reaped, and the process runs on to its normal output.
   */
  @Test
  void snapshotKilledWhileRead_failsTheCheckpoint_commitsNothing_andTheProcessRunsOn() throws Exception {
    Path ref = Files.createDirectories(dir.resolve("snapkill-ref"));
    byte[] expected = Programs.reference(ref, null, Programs.path("heap"), "256", "20");
    Path out = dir.resolve("snapkill.out");
    java.util.concurrent.ExecutorService exec = java.util.concurrent.Executors.newSingleThreadExecutor();
    try (NativeCheckpointer ckpt = checkpointer("snapkill")) {
      TracedProcess p = ckpt.launch(Stdio.files(DEV_NULL, out, null), Programs.path("heap"), "256", "20");
      awaitOutput(out, "round 0 ");
      String pid = Integer.toString(p.pid());
      java.util.concurrent.Future<CheckpointInfo> f = exec.submit(() -> ckpt.checkpoint(p, Mode.CONTINUE));
      String snapshot = "";
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (snapshot.isEmpty() && !f.isDone() && System.nanoTime() < deadline) {
        // The snapshot is the process's only child, stopped while it is read; once the process
        // runs again, it is being read (a killed one left to reap is a zombie instead).
        String kids = Files.readString(Path.of("/proc", pid, "task", pid, "children")).trim();
        if (!kids.isEmpty() && !dev.ckpt.linux.internal.proc.ProcFs.state(p.pid()).equals("t")
            && dev.ckpt.linux.internal.proc.ProcFs.state(Integer.parseInt(kids)).equals("t")) {
          snapshot = kids;
        } else {
          Thread.onSpinWait();
        }
      }
      assertFalse(snapshot.isEmpty(), "no snapshot child was seen while the checkpoint read it");
      new ProcessBuilder("kill", "-KILL", snapshot).start().waitFor();
      java.util.concurrent.ExecutionException e = assertThrows(java.util.concurrent.ExecutionException.class,
          () -> f.get(60, TimeUnit.SECONDS));
      assertTrue(e.getCause() instanceof CheckpointException, e.getCause().toString());
      assertTrue(e.getCause().getMessage().contains(snapshot), "names the snapshot " + snapshot + ": " + e.getCause().getMessage());
      assertTrue(ckpt.store().checkpoints("snapkill").isEmpty(), "nothing committed");
      assertEquals(OptionalInt.of(0), p.waitFor(Duration.ofSeconds(60)), "the process runs on after the failed checkpoint");
      assertFalse(Files.exists(Path.of("/proc", snapshot)), "the killed snapshot was reaped");
    } finally {
      exec.shutdownNow();
    }
    assertArrayEquals(expected, Files.readAllBytes(out));
  }

  /**
   * While a CONTINUE checkpoint's chunks and manifest go to a slow store, the process runs and
   * takes its signals: the tracer thread is not held by the store I/O (a SIGALRM used to stop
   * the process until the commit ended).
   */
  @Test
  void continueCheckpoint_processTakesItsSignalsWhileTheStoreIsSlow() throws Exception {
    java.util.concurrent.CountDownLatch committing = new java.util.concurrent.CountDownLatch(1);
    dev.ckpt.CheckpointStore base = dev.ckpt.CheckpointStore.open(dir.resolve("slow").toUri().resolve("?create=true"));
    dev.ckpt.spi.BlobStore slow = slowCommits(base, committing, () -> true);
    Path out = dir.resolve("slow.out");
    java.util.concurrent.ExecutorService exec = java.util.concurrent.Executors.newSingleThreadExecutor();
    try (dev.ckpt.CheckpointStore store = dev.ckpt.CheckpointStore.builder().blobStore(slow).build();
         NativeCheckpointer ckpt = NativeCheckpointer.builder().store(store).job("slow").build()) {
      TracedProcess p = ckpt.launch(Stdio.files(DEV_NULL, out, null), Programs.path("signals"));
      Thread.sleep(300);
      java.util.concurrent.Future<CheckpointInfo> f = exec.submit(() -> ckpt.checkpoint(p, Mode.CONTINUE));
      assertTrue(committing.await(30, TimeUnit.SECONDS), "the checkpoint never reached its commit");
      long before = Files.readAllLines(out).size();
      Thread.sleep(1000);
      long during = Files.readAllLines(out).size();
      assertTrue(during >= before + 2, "the process printed " + (during - before)
          + " lines (one per 10 SIGALRMs) during a 1 s stretch of the commit: it was held by the tracer");
      assertEquals(1, f.get(30, TimeUnit.SECONDS).id());
      assertEquals(java.util.OptionalInt.of(0), p.waitFor(Duration.ofSeconds(30)));
    } finally {
      exec.shutdownNow();
      base.close();
    }
  }

  /**
   * close() lets go of processes still running: detached explicitly on the tracer thread (a
   * signal caught in a stop is passed on, not dropped as the kernel's detach at tracer exit
   * would), they run on untraced to their normal end.
   */
  @Test
  void close_detachesRunningProcesses_whichRunOnToTheirEnd() throws Exception {
    Path out = dir.resolve("detached.out");
    TracedProcess p;
    try (NativeCheckpointer ckpt = checkpointer("detached")) {
      p = ckpt.launch(Stdio.files(DEV_NULL, out, null), Programs.path("signals"));
      Thread.sleep(300);
      String tracer = tracerOf(p.pid());
      assertTrue(Files.exists(Path.of("/proc/self/task", tracer)), "traced by a thread of this JVM while open, not " + tracer);
    }
    assertEquals("0", tracerOf(p.pid()), "not traced after close");
    long deadline = System.currentTimeMillis() + 30_000;
    while (dev.ckpt.linux.internal.proc.ProcFs.alive(p.pid()) && System.currentTimeMillis() < deadline) {
      Thread.sleep(20);
    }
    List<String> lines = Files.readAllLines(out);
    assertTrue(lines.get(lines.size() - 1).startsWith("done: usr1 10 usr2 1"), lines.toString());
  }

  /**
   * A deadline bounds the freeze, not only the commit: the dump of a 512 MiB process that passes
   * its deadline stops reading memory, thaws the process, and commits nothing.
   */
  @Test
  void deadlinePassedWhileFrozen_abortsTheDump_andTheProcessRunsOn() throws Exception {
    Path out = dir.resolve("deadline.out");
    String prog = Programs.path("heap");
    byte[] expected = Programs.reference(dir, null, prog, "512", "6");
    try (NativeCheckpointer ckpt = checkpointer("deadline")) {
      TracedProcess p = ckpt.launch(Stdio.files(DEV_NULL, out, null), prog, "512", "6");
      long deadline = System.currentTimeMillis() + 20_000;
      while (Files.readString(out).isEmpty() && System.currentTimeMillis() < deadline) {
        Thread.sleep(20); // the heap is filled once the first round is printed
      }
      dev.ckpt.CheckpointTimeoutException e = assertThrows(dev.ckpt.CheckpointTimeoutException.class,
          () -> ckpt.checkpoint(p, Mode.VACATE, java.time.Instant.now().plusMillis(30)));
      assertTrue(e.getMessage().contains("while its source was captured"), e.getMessage());
      assertTrue(ckpt.store().checkpoints("deadline").isEmpty(), "nothing committed");
      assertEquals(OptionalInt.of(0), p.waitFor(Duration.ofSeconds(60)), "the process runs on after the aborted dump");
    }
    assertArrayEquals(expected, Files.readAllBytes(out));
  }

  /**
   * A file the process was writing has grown since the checkpoint while another process holds
   * it open for writing: cutting it back would destroy that process's data, so restore refuses
   * before anything is touched, and the file keeps every byte.
   */
  @Test
  void restore_refusesToCutBackAFileAnotherProcessIsWriting() throws Exception {
    Path out = dir.resolve("shared.out");
    try (NativeCheckpointer ckpt = checkpointer("shared")) {
      TracedProcess p = ckpt.launch(Stdio.files(DEV_NULL, out, null), Programs.path("counter"), "100", "20");
      awaitOutput(out, "count 5 ");
      ckpt.checkpoint(p, Mode.VACATE);
      p.waitFor(Duration.ofSeconds(10));
      try (java.io.FileOutputStream other = new java.io.FileOutputStream(out.toFile(), true)) {
        other.write("written by another process\n".getBytes());
        other.flush();
        CheckpointException e = assertThrows(CheckpointException.class, () -> ckpt.restore("shared", Stdio.files(DEV_NULL, null, null)));
        assertTrue(e.getMessage().contains("has grown since the checkpoint and pid " + ProcessHandle.current().pid())
            && e.getMessage().contains("holds it open for writing"), e.getMessage());
      }
      assertTrue(Files.readString(out).endsWith("written by another process\n"), "the file keeps every byte");
    }
  }

  @Test
  void launchOrResume_launchesAFreshJob_thenResumesItFromItsNewestCheckpoint() throws Exception {
    Path out = dir.resolve("resume.out");
    String prog = Programs.path("counter");
    byte[] expected = Programs.reference(dir, null, prog, "150", "20");
    try (NativeCheckpointer ckpt = checkpointer("resume")) {
      TracedProcess first = ckpt.launchOrResume(Stdio.files(DEV_NULL, out, null), prog, "150", "20");
      assertFalse(first instanceof RestoredProcess, "no checkpoint yet: launched");
      awaitOutput(out, "count 15 ");
      ckpt.checkpoint(first, Mode.VACATE);
      first.waitFor(Duration.ofSeconds(10));
      TracedProcess second = ckpt.launchOrResume(Stdio.files(DEV_NULL, null, null), prog, "150", "20");
      assertTrue(second instanceof RestoredProcess, "resumed from " + ckpt.store().latest("resume"));
      assertEquals(OptionalInt.of(0), second.waitFor(Duration.ofSeconds(30)));
    }
    assertArrayEquals(expected, Files.readAllBytes(out));
  }

  /**
   * A launch that fails (its stdout cannot be opened) leaves no temporary directory behind and
   * no launcher shell waiting: the error says what failed.
   */
  @Test
  void failedLaunch_leavesNoTemporaryFilesOrShellBehind() throws Exception {
    Path tmp = Path.of(System.getProperty("java.io.tmpdir"));
    java.util.Set<Path> before = launchDirs(tmp);
    try (NativeCheckpointer ckpt = checkpointer("nolaunch")) {
      CheckpointException e = assertThrows(CheckpointException.class, () -> ckpt.launch(
          Stdio.files(DEV_NULL, dir.resolve("no-such-dir").resolve("out"), null), Programs.path("counter"), "100", "5"));
      assertTrue(e.getMessage().contains("no-such-dir"), e.getMessage());
    }
    java.util.Set<Path> left = launchDirs(tmp);
    left.removeAll(before);
    assertEquals(java.util.Set.of(), left, "temporary directories left by a failed launch");
    Process pgrep = new ProcessBuilder("pgrep", "-f", "ckpt-launch-.*" + Programs.path("counter")).start();
    assertTrue(pgrep.waitFor(10, TimeUnit.SECONDS));
    assertEquals("", new String(pgrep.getInputStream().readAllBytes()).trim(), "launcher shells still waiting");
  }

  private static java.util.Set<Path> launchDirs(Path tmp) throws Exception {
    try (java.util.stream.Stream<Path> s = Files.list(tmp)) {
      return s.filter(p -> p.getFileName().toString().startsWith("ckpt-launch-"))
          .collect(java.util.stream.Collectors.toCollection(java.util.HashSet::new));
    }
  }

  static String tracerOf(int pid) throws Exception {
    return dev.ckpt.linux.internal.proc.ProcFs.status(pid).get("TracerPid");
  }

  @Test
  void attachToARunningProcess_checkpointsAndItRunsOn() throws Exception {
    Path out = dir.resolve("a.out");
    Process starter = new ProcessBuilder("setsid", "-f", "sh", "-c", "echo $$ > \"$0\"; exec \"$1\" 600 5 > \"$2\"",
        dir.resolve("pid").toString(), Programs.path("counter"), out.toString()).redirectInput(DEV_NULL.toFile()).start();
    assertTrue(starter.waitFor(10, TimeUnit.SECONDS));
    long deadline = System.currentTimeMillis() + 10_000;
    while ((!Files.exists(dir.resolve("pid")) || Files.readString(dir.resolve("pid")).isBlank())
        && System.currentTimeMillis() < deadline) {
      Thread.sleep(5);
    }
    int pid = Integer.parseInt(Files.readString(dir.resolve("pid")).trim());
    Thread.sleep(200);
    try (NativeCheckpointer ckpt = checkpointer("attached")) {
      TracedProcess p = ckpt.attach(pid);
      CheckpointInfo info = ckpt.checkpoint(p, Mode.CONTINUE);
      assertEquals("process", info.attributes().get("kind"));
      assertEquals(OptionalInt.of(0), p.waitFor(Duration.ofSeconds(30)));
      assertTrue(Files.readString(out).contains("done"));
      ProcessException e = assertThrows(ProcessException.class, () -> ckpt.attach(pid));
      assertTrue(e.getMessage().contains("pid " + pid), e.getMessage());
    }
  }

  @Test
  void childOfThisJvm_isRefusedAtAttach_namingLaunchInstead() throws Exception {
    Process child = new ProcessBuilder("sleep", "30").start();
    try (NativeCheckpointer ckpt = checkpointer("jvmchild")) {
      ProcessException e = assertThrows(ProcessException.class, () -> ckpt.attach((int) child.pid()));
      assertTrue(e.getMessage().contains("child of this JVM") && e.getMessage().contains("launch()"), e.getMessage());
      assertTrue(child.isAlive());
    } finally {
      child.destroyForcibly().waitFor();
    }
  }

  @Test
  void wrongPid_isNamed() throws Exception {
    try (NativeCheckpointer ckpt = checkpointer("nopid")) {
      ProcessException e = assertThrows(ProcessException.class, () -> ckpt.attach(999_999_999 / 2));
      assertTrue(e.getMessage().contains("no such process"), e.getMessage());
      assertFalse(e.getMessage().isBlank());
    }
  }
}
