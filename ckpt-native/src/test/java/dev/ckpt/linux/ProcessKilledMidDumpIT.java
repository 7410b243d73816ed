package dev.ckpt.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ckpt.CheckpointException;
import dev.ckpt.CheckpointInfo;
import dev.ckpt.ConsistencyResult;
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
 * The fault matrix's row "SIGKILL of the checkpointed process mid-dump" (README, "Failures"): a
 * program with 64 MiB of memory is killed at a random moment of its checkpoint, VACATE and
 * CONTINUE in turn. Each checkpoint either fails with a CheckpointException naming the pid or
 * commits a whole image: every committed one is restored, and its output file must end up as an
 * undisturbed run's (the program checksums all of its memory each round). Nothing else may appear
 * in the store, which must be consistent.
 */
class ProcessKilledMidDumpIT {
  private static final Path DEV_NULL = Path.of("/dev/null");

  @TempDir
  Path dir;

  @Test
  @Timeout(value = 4, unit = TimeUnit.MINUTES)
  void processKilledAtRandomMomentsOfItsCheckpoint_failsCleanlyOrCommitsAWholeImage() throws Exception {
    row("heap", new String[] {Programs.path("heap"), "64", "60"}, "round 0 ", 300_000, 8);
  }

  /**
   * Eight threads: ckpt holds the other seven stopped while it injects calls into the main one,
   * so a kill then must neither hang the checkpoint (the kernel reports the main thread's exit
   * only once those threads are reaped) nor leave the process impossible to wait for.
   */
  @Test
  @Timeout(value = 4, unit = TimeUnit.MINUTES)
  void multiThreadedProcessKilledDuringItsCheckpoint_failsCleanlyOrCommitsAWholeImage() throws Exception {
    row("mtworkers", new String[] {Programs.path("mtworkers"), "60"}, "started 8 threads", 200_000, 8);
  }

  private void row(String job, String[] command, String ready, int maxDelayMicros, int rounds) throws Exception {
    byte[] reference = Programs.reference(Files.createDirectories(dir.resolve(job + "-ref")), null, command);
    Random random = new Random(Long.getLong("ckpt.test.seed", 20261203L));
    int committed = 0;
    int failed = 0;
    int lost = 0;
    List<String> problems = new ArrayList<>();
    List<Long> ids = new ArrayList<>();
    try (NativeCheckpointer ckpt = NativeCheckpointer.builder().store(dir.resolve("store").toUri().resolve("?create=true"))
        .job(job).build()) {
      for (int round = 0; round < rounds; round++) {
        Path out = dir.resolve(job + "-" + round + ".out");
        TracedProcess p = ckpt.launch(Stdio.files(DEV_NULL, out, null), command);
        awaitOutput(out, ready);
        Mode mode = round % 2 == 0 ? Mode.VACATE : Mode.CONTINUE;
        long delayMicros = random.nextInt(maxDelayMicros);
        Thread killer = new Thread(() -> {
          try {
            TimeUnit.MICROSECONDS.sleep(delayMicros);
          } catch (InterruptedException ignored) {
            return;
          }
          p.kill();
        });
        killer.start();
        CheckpointInfo info = null;
        try {
          info = ckpt.checkpoint(p, mode);
        } catch (CheckpointException e) {
          failed++;
          if (!e.getMessage().contains("pid " + p.pid())) {
            problems.add("round " + round + ": the failure does not name pid " + p.pid() + ": " + e.getMessage());
          }
        } finally {
          killer.join();
          p.kill();
          p.waitFor(Duration.ofSeconds(30));
        }
        if (info == null) {
          continue;
        }
        committed++;
        ids.add(info.id());
        // The restored process writes on in the same file from its offset at the checkpoint: an
        // image of the moment of the freeze ends with the file an undisturbed run writes.
        RestoredProcess r = ckpt.restore(job, info.id(), new Stdio(DEV_NULL, null, null, null));
        OptionalInt exit = r.waitFor(Duration.ofSeconds(60));
        byte[] got = Files.readAllBytes(out);
        if (!exit.equals(OptionalInt.of(0)) || !java.util.Arrays.equals(reference, got)) {
          lost++;
          problems.add("round " + round + " (" + mode + ", killed after " + delayMicros / 1000 + " ms): " + job + "@" + info.id()
              + " restored to exit " + exit + " and " + (java.util.Arrays.equals(reference, got) ? "the reference output"
              : "output that differs from the reference"));
        }
      }
      ConsistencyResult c = ckpt.store().checkConsistency(job);
      problems.addAll(c.problems());
      List<Long> inStore = c.checkpoints().stream().map(CheckpointInfo::id).toList();
      if (!inStore.equals(ids)) {
        problems.add("the store holds checkpoints " + inStore + ", the committed ones were " + ids);
      }
      for (long id : inStore) {
        if (!ckpt.store().verify(job, id).ok()) {
          problems.add(job + "@" + id + " does not verify");
        }
      }
    }
    System.out.println("FAULT MATRIX | SIGKILL of the checkpointed process mid-dump (" + job + ", " + rounds + " rounds, VACATE and CONTINUE) | local | "
        + committed + " committed, " + failed + " failed cleanly, " + lost + " lost");
    assertEquals(0, lost, problems.toString());
    assertTrue(problems.isEmpty(), problems.toString());
    assertTrue(failed > 0 && committed > 0, "the kills must both fail and spare checkpoints: " + committed + " committed, "
        + failed + " failed");
  }

  private static void awaitOutput(Path out, String text) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!Files.exists(out) || !Files.readString(out).contains(text)) {
      assertTrue(System.nanoTime() < deadline, out + " never printed '" + text + "'");
      Thread.sleep(5);
    }
  }
}
