package dev.ckpt.store.tck;

import dev.ckpt.CheckpointException;
import dev.ckpt.CheckpointInfo;
import dev.ckpt.CheckpointStore;
import dev.ckpt.CommitUnknownException;
import dev.ckpt.ConsistencyResult;
import dev.ckpt.ImageReader;
import dev.ckpt.ImageWriter;
import dev.ckpt.PartOutput;
import dev.ckpt.VerifyResult;
import dev.ckpt.spi.BlobStore;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The fault matrix's store rows, for any store: a bounded loop of checkpoints under injected
 * faults, after which every checkpoint is verified with the faults gone and the store checked for
 * consistency ({@code ckpt verify --all}). Each row counts what a user would: checkpoints
 * committed, checkpoints that failed cleanly (an exception, and no checkpoint), and checkpoints
 * lost (reported committed, then missing or damaged), which must be 0.
 */
public final class FaultMatrix {
  private FaultMatrix() {}

  /**
   * One cell of the matrix.
   *
   * @param committed checkpoints whose commit returned, or that exist and verify after an unclear one
   * @param failedCleanly checkpoints that failed with an exception and left no checkpoint
   * @param lost checkpoints reported committed that are missing or damaged afterwards
   * @param faults faults injected, by kind
   * @param problems everything wrong found afterwards: lost checkpoints, damaged or unexpected ones,
   *     an inconsistent store
   */
  public record Cell(int committed, int failedCleanly, int lost, Map<RandomFaultBlobStore.Kind, Integer> faults,
      List<String> problems) {
    /**
     * Copies the collections.
     *
     * @param committed checkpoints committed
     * @param failedCleanly checkpoints that failed cleanly
     * @param lost checkpoints lost
     * @param faults faults injected, by kind
     * @param problems what was found wrong
     */
    public Cell {
      faults = Map.copyOf(faults);
      problems = List.copyOf(problems);
    }

    @Override
    public String toString() {
      return committed + " committed, " + failedCleanly + " failed cleanly, " + lost + " lost"
          + (faults.isEmpty() ? "" : " (faults injected: " + faults + ")");
    }
  }

  /**
   * Writes {@code checkpoints} checkpoints of one job through {@code store} while a share
   * {@code rate} of its operations fail before acting, lose their answer after acting, answer
   * wrongly, or answer slowly; runs gc (with no grace period) every 20 checkpoints under the same
   * faults. Then, with the faults healed, verifies every checkpoint, checks that each committed
   * one holds what was written, that no other checkpoint appeared damaged, and that the store is
   * consistent; gc runs once more and everything is verified again.
   *
   * @param store the store under test, empty for {@code job}; it is not closed
   * @param job the job name to use
   * @param checkpoints how many checkpoints to attempt
   * @param rate the share of operations that misbehave
   * @param seed the seed of the faults and of the content
   * @return the cell
   * @throws Exception if the store cannot be read once healed
   */
  public static Cell injectedFaults(BlobStore store, String job, int checkpoints, double rate, long seed) throws Exception {
    RandomFaultBlobStore faulty = new RandomFaultBlobStore(new Unclosed(store), rate, seed, Duration.ofMillis(50));
    Random random = new Random(seed);
    // 64 chunks of 16 KiB; about a tenth of them change each time, so later checkpoints reuse packs.
    byte[] content = new byte[1 << 20];
    random.nextBytes(content);
    Attempts attempts = new Attempts(job);
    try (CheckpointStore cs = CheckpointStore.builder().blobStore(faulty).parallelism(2).chunkSize(16 * 1024)
        .packSize(1 << 20).gcGracePeriod(Duration.ZERO).build()) {
      for (int i = 0; i < checkpoints; i++) {
        for (int k = 0; k < 6; k++) {
          content[random.nextInt(content.length)] = (byte) random.nextInt();
        }
        attempts.attempt(cs, content);
        if (i % 20 == 19) {
          attempts.gc(cs);
        }
      }
    }
    faulty.heal();
    return attempts.settle(store, faulty.injected());
  }

  /**
   * Writes checkpoints of one job through {@code store} back to back, with gc (no grace period)
   * every 20, while {@code restart} restarts the server {@code restarts} times, each after a
   * random 0.3 to 1.5 s of writing. Then, with the server up, checks everything as
   * {@link #injectedFaults} does.
   *
   * @param store the store under test, empty for {@code job}; it is not closed
   * @param job the job name to use
   * @param restarts how many restarts
   * @param restart stops the server the way its host would (SIGKILL, say) and starts it again,
   *     returning once it answers
   * @param seed the seed of the moments and of the content
   * @return the cell (its fault counts are empty)
   * @throws Exception if a restart fails, the writer fails with anything but a CheckpointException,
   *     or the store cannot be read afterwards
   */
  public static Cell serverRestarts(BlobStore store, String job, int restarts, ServerRestart restart, long seed)
      throws Exception {
    Random random = new Random(seed);
    Attempts attempts = new Attempts(job);
    java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
    java.util.concurrent.atomic.AtomicReference<Throwable> writerFailure = new java.util.concurrent.atomic.AtomicReference<>();
    Thread writer = new Thread(() -> {
      Random r = new Random(seed + 1);
      byte[] content = new byte[1 << 20];
      r.nextBytes(content);
      try (CheckpointStore cs = CheckpointStore.builder().blobStore(new Unclosed(store)).parallelism(2)
          .chunkSize(16 * 1024).packSize(1 << 20).gcGracePeriod(Duration.ZERO).build()) {
        for (int i = 0; !stop.get(); i++) {
          for (int k = 0; k < 6; k++) {
            content[r.nextInt(content.length)] = (byte) r.nextInt();
          }
          attempts.attempt(cs, content);
          if (i % 20 == 19) {
            attempts.gc(cs);
          }
        }
      } catch (Throwable t) {
        writerFailure.set(t);
      }
    }, "fault-matrix-writer");
    writer.start();
    try {
      for (int i = 0; i < restarts; i++) {
        Thread.sleep(300 + random.nextInt(1200));
        restart.restart();
      }
      Thread.sleep(1000); // some checkpoints after the last restart
    } finally {
      stop.set(true);
      writer.join(java.util.concurrent.TimeUnit.MINUTES.toMillis(3));
    }
    if (writer.isAlive()) {
      throw new AssertionError("the writer did not stop within 3 minutes of the last restart");
    }
    if (writerFailure.get() != null) {
      throw new AssertionError("the writer failed with something other than a CheckpointException", writerFailure.get());
    }
    return attempts.settle(store, Map.of());
  }

  /** Restarts a store's server, for {@link #serverRestarts}. */
  @FunctionalInterface
  public interface ServerRestart {
    /**
     * Stops the server and starts it again; returns once it answers.
     *
     * @throws Exception if it cannot be restarted
     */
    void restart() throws Exception;
  }

  /**
   * Writes {@code checkpoints} checkpoints of fresh random content (0.25 to 3 MiB each) through a
   * store on a small file system, keeping the newest 2 and running gc (no grace period) after
   * each commit, so the file system fills up and frees again. A checkpoint that does not fit must
   * fail with a CheckpointException, and after each failure every checkpoint committed and kept must
   * still read back as written. The last checkpoint, of 256 KiB after retention has kept only one,
   * must commit: the space comes back. Afterwards everything is checked as {@link #injectedFaults}
   * does, except the checkpoints retention deleted on purpose.
   *
   * @param store the store under test, on a file system of a few MiB, empty for {@code job}; it is not closed
   * @param job the job name to use
   * @param checkpoints how many checkpoints to attempt
   * @param seed the seed of the sizes and contents
   * @return the cell (its fault counts are empty)
   * @throws Exception if the store cannot be read
   */
  public static Cell diskFull(BlobStore store, String job, int checkpoints, long seed) throws Exception {
    Random random = new Random(seed);
    Attempts attempts = new Attempts(job);
    List<String> problems = new ArrayList<>();
    java.util.Set<Long> lostAfterFailure = new java.util.TreeSet<>();
    try (CheckpointStore cs = CheckpointStore.builder().blobStore(new Unclosed(store)).parallelism(2).chunkSize(64 * 1024)
        .packSize(1 << 20).gcGracePeriod(Duration.ZERO).build()) {
      for (int i = 0; i < checkpoints - 1; i++) {
        byte[] content = new byte[(256 << 10) + random.nextInt(11 * (256 << 10))];
        random.nextBytes(content);
        int failedBefore = attempts.failed;
        attempts.attempt(cs, content);
        if (attempts.failed > failedBefore) {
          // Every checkpoint committed and not deleted by retention must still read back.
          for (Map.Entry<Long, String> e : new HashMap<>(attempts.reported).entrySet()) {
            String got = readBack(cs, job, e.getKey());
            if (!e.getValue().equals(got) && lostAfterFailure.add(e.getKey())) {
              problems.add("after a failed checkpoint, the committed " + job + "@" + e.getKey() + " is "
                  + (got == null ? "missing or unreadable" : "not what was written"));
            }
          }
        }
        retain(cs, attempts, 2, null);
      }
      // The space comes back: with one checkpoint kept, a small one fits (a failed write that
      // left its data behind would keep the disk full for good).
      retain(cs, attempts, 1, problems);
      byte[] small = new byte[256 << 10];
      random.nextBytes(small);
      int failedBefore = attempts.failed;
      attempts.attempt(cs, small);
      if (attempts.failed > failedBefore) {
        problems.add("the store did not recover from its full disk: with one checkpoint kept, 256 KiB did not fit: "
            + attempts.failedWith.get(digest(small)));
      }
    }
    attempts.failedWith.values().stream().map(f -> f.replaceAll("[0-9a-f]{32}", "…")).distinct().limit(3)
        .forEach(f -> System.out.println("disk full, failed cleanly: " + f));
    Cell settled = attempts.settle(store, Map.of());
    problems.addAll(settled.problems());
    return new Cell(settled.committed() + attempts.retired.size(), settled.failedCleanly(),
        lostAfterFailure.size() + settled.lost(), Map.of(), problems);
  }

  /**
   * Retention keeping {@code keep}, then gc: the checkpoints it reports deleted leave what the
   * store must hold. On a full disk either may fail (never deleting what a kept checkpoint
   * needs); with {@code problems}, that failure is one.
   */
  private static void retain(CheckpointStore cs, Attempts attempts, int keep, List<String> problems) {
    try {
      attempts.retire(cs.retain(attempts.job, dev.ckpt.Retention.keepLast(keep)).deletedCheckpoints());
      cs.gc(attempts.job);
    } catch (CheckpointException e) {
      if (problems != null) {
        problems.add("the store did not recover from its full disk: retention keeping " + keep + " failed: "
            + e.getMessage());
      }
    }
  }


  /** The outcomes of one job's checkpoints, and the check of the store against them afterwards. */
  private static final class Attempts {
    final String job;
    /** Checkpoints reported committed: id, digest of what was written. */
    final Map<Long, String> reported = java.util.Collections.synchronizedMap(new HashMap<>());
    final Map<String, Integer> unclear = new HashMap<>(); // digest -> count
    final Map<String, String> failedWith = new HashMap<>(); // digest -> the exception of a commit that failed
    int failed;
    /** Reported committed, then deleted by retention on purpose (diskFull). */
    final java.util.Set<Long> retired = new java.util.TreeSet<>();

    Attempts(String job) {
      this.job = job;
    }

    synchronized void attempt(CheckpointStore cs, byte[] content) throws Exception {
      String digest = digest(content);
      try {
        CheckpointInfo c = writeData(cs, job, content);
        reported.put(c.id(), digest);
      } catch (CommitUnknownException e) {
        unclear.merge(digest, 1, Integer::sum);
      } catch (CheckpointException e) {
        failed++;
        failedWith.put(digest, e.getClass().getSimpleName() + ": " + e.getMessage());
      }
    }

    void gc(CheckpointStore cs) {
      try {
        cs.gc(job);
      } catch (CheckpointException e) {
        // gc under faults may stop; it must never delete what a checkpoint needs
      }
    }

    /** Checkpoints retention deleted on purpose: no longer expected in the store. */
    synchronized void retire(List<Long> ids) {
      for (long id : ids) {
        if (reported.remove(id) != null) {
          retired.add(id);
        }
      }
    }

    /**
     * With the store healthy: verifies and reads back every checkpoint, counts unclear commits
     * that landed as committed and the others as failed, checks that every one reported
     * committed holds what was written, that no other checkpoint appeared, and that the store
     * is consistent; then gc and all of it again.
     */
    Cell settle(BlobStore store, Map<RandomFaultBlobStore.Kind, Integer> faults) throws Exception {
      List<String> problems = new ArrayList<>();
      Map<Long, String> expected = new HashMap<>(reported);
      java.util.Set<Long> lost = new java.util.TreeSet<>();
      try (CheckpointStore cs = CheckpointStore.builder().blobStore(new Unclosed(store)).gcGracePeriod(Duration.ZERO).build()) {
        for (int pass = 0; pass < 2; pass++) {
          String when = pass == 0 ? "" : " after a gc";
          Map<Long, String> found = new HashMap<>();
          ConsistencyResult consistency = cs.checkConsistency(job);
          for (String p : consistency.problems()) {
            problems.add(p + when);
          }
          if (pass == 1 && !consistency.notes().isEmpty()) {
            problems.add("a gc with no grace period left " + consistency.notes());
          }
          for (CheckpointInfo c : consistency.checkpoints()) {
            try {
              VerifyResult v = cs.verify(job, c.id());
              if (!v.ok()) {
                problems.add(job + "@" + c.id() + " is damaged" + when + ": " + v.problems());
                continue;
              }
              try (ImageReader r = cs.open(job, c.id())) {
                found.put(c.id(), digest(r.readBytes("data")));
              }
            } catch (CheckpointException e) {
              problems.add(job + "@" + c.id() + " cannot be read" + when + ": " + e.getMessage());
            }
          }
          if (pass == 0) {
            for (Map.Entry<Long, String> e : found.entrySet()) {
              if (reported.containsKey(e.getKey())) {
                continue;
              }
              if (unclear.getOrDefault(e.getValue(), 0) > 0) {
                unclear.merge(e.getValue(), -1, Integer::sum); // an unclear commit that landed: committed
                expected.put(e.getKey(), e.getValue());
              } else if (failedWith.containsKey(e.getValue())) {
                problems.add(job + "@" + e.getKey() + " exists although its commit failed with "
                    + failedWith.get(e.getValue()) + ": that failure was not clean");
              } else {
                problems.add(job + "@" + e.getKey() + " holds nothing any attempt wrote");
              }
            }
            failed += unclear.values().stream().mapToInt(Integer::intValue).sum();
          }
          for (Map.Entry<Long, String> e : expected.entrySet()) {
            String got = found.get(e.getKey());
            if (!e.getValue().equals(got) && lost.add(e.getKey())) {
              problems.add(job + "@" + e.getKey() + " was committed and is " + (got != null ? "not what was written"
                  : consistency.checkpoints().stream().anyMatch(c -> c.id() == e.getKey()) ? "damaged" : "missing") + when);
            }
          }
          if (pass == 0) {
            cs.gc(job);
          }
        }
      }
      return new Cell(expected.size(), failed, lost.size(), faults, problems);
    }
  }

  /**
   * One cell of the SIGKILL row.
   *
   * @param kills JVMs killed
   * @param committed checkpoints the killed JVMs reported committed, all rounds together
   * @param lost rounds after which the newest checkpoint reported committed was missing or damaged
   * @param problems everything wrong found after a kill
   */
  public record KillCell(int kills, int committed, int lost, List<String> problems) {
    /**
     * Copies the list.
     *
     * @param kills JVMs killed
     * @param committed checkpoints reported committed
     * @param lost rounds that lost the newest committed checkpoint
     * @param problems what was found wrong
     */
    public KillCell {
      problems = List.copyOf(problems);
    }

    @Override
    public String toString() {
      return kills + " kills, " + committed + " committed, " + lost + " lost";
    }
  }

  /**
   * SIGKILLs {@code kills} JVMs that write checkpoints of {@code job} to {@code store} back to
   * back (retention keeping 3, so gc runs too), each at a random moment after its first commit,
   * every fifth during its start instead. After each kill: the newest checkpoint any JVM reported
   * committed must be in the store and hold what was written, every checkpoint in the store must
   * verify, and the store must be consistent (unreferenced packs of the killed writer are allowed:
   * gc's to clean).
   *
   * @param store the store's URI, which child JVMs open
   * @param job the job name to use
   * @param kills how many JVMs to kill
   * @param seed the seed of the moments
   * @param work a directory for the children's output
   * @return the cell
   * @throws Exception if a child cannot be started or the store cannot be read
   */
  public static KillCell sigkillLoop(java.net.URI store, String job, int kills, long seed, java.nio.file.Path work)
      throws Exception {
    Random random = new Random(seed);
    List<String> problems = new ArrayList<>();
    Map<Long, String> newest = new HashMap<>(); // the newest reported checkpoint, id -> digest
    int committed = 0;
    int lost = 0;
    for (int round = 0; round < kills; round++) {
      java.nio.file.Path out = work.resolve("writer-" + round + ".log");
      Process child = child(out, "loop", store.toString(), job, Long.toString(seed + round));
      try {
        if (round % 5 != 4) {
          long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(60);
          while (child.isAlive() && !java.nio.file.Files.readString(out).contains("committed ")) {
            if (System.nanoTime() > deadline) {
              throw new AssertionError("round " + round + ": no commit in 60 s:\n" + java.nio.file.Files.readString(out));
            }
            Thread.sleep(10);
          }
        }
        if (child.waitFor(round % 5 != 4 ? random.nextInt(1200) : 200 + random.nextInt(800),
            java.util.concurrent.TimeUnit.MILLISECONDS)) {
          throw new AssertionError("round " + round + ": the writer exited by itself:\n" + java.nio.file.Files.readString(out));
        }
      } finally {
        child.destroyForcibly(); // SIGKILL
        child.waitFor(30, java.util.concurrent.TimeUnit.SECONDS);
      }
      for (String line : java.nio.file.Files.readAllLines(out)) {
        String[] f = line.split(" ");
        if (f.length == 3 && f[0].equals("committed")) {
          committed++;
          newest.clear();
          newest.put(Long.parseLong(f[1]), f[2]);
        } else if (line.contains("Exception")) {
          problems.add("round " + round + ": the writer failed: " + line);
        }
      }
      try (CheckpointStore cs = CheckpointStore.open(store)) {
        ConsistencyResult c = cs.checkConsistency(job);
        for (String p : c.problems()) {
          problems.add("after kill " + round + ": " + p);
        }
        for (CheckpointInfo info : c.checkpoints()) {
          VerifyResult v = cs.verify(job, info.id());
          if (!v.ok()) {
            problems.add("after kill " + round + ": " + job + "@" + info.id() + " is damaged: " + v.problems());
          }
        }
        for (Map.Entry<Long, String> e : newest.entrySet()) {
          String got = readBack(cs, job, e.getKey());
          if (!e.getValue().equals(got)) {
            lost++;
            problems.add("after kill " + round + ": the newest committed checkpoint " + job + "@" + e.getKey() + " is "
                + (got == null ? "missing or unreadable" : "not what was written"));
          }
        }
      }
    }
    return new KillCell(kills, committed, lost, problems);
  }

  /** A JVM running {@link #main} with {@code args}, this JVM's class path, its output to {@code out}. */
  private static Process child(java.nio.file.Path out, String... args) throws java.io.IOException {
    String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    List<String> cmd = new ArrayList<>(List.of(java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java")
        .toString(), "-Xmx256m", "-XX:TieredStopAtLevel=1", "-cp", cp, FaultMatrix.class.getName()));
    cmd.addAll(List.of(args));
    return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile())
        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
  }

  /**
   * The child JVMs of the rows. {@code loop STORE JOB SEED} ({@link #sigkillLoop}) writes
   * checkpoints back to back until it is killed, keeping the newest 3, and prints
   * "committed ID DIGEST" after each commit returns. {@code steps STORE JOB COUNT SEED START}
   * ({@link #twoWriterJvms}) waits for the file START, writes COUNT checkpoints and prints
   * "committed ID DIGEST", "failed EXCEPTION: MESSAGE" or "unclear DIGEST" for each.
   *
   * @param args the row's child and its arguments
   * @throws Exception whatever stops it (the parent reads it from the output)
   */
  public static void main(String[] args) throws Exception {
    switch (args[0]) {
      case "loop" -> loopWriter(java.net.URI.create(args[1]), args[2], Long.parseLong(args[3]));
      case "steps" -> stepWriter(java.net.URI.create(args[1]), args[2], Integer.parseInt(args[3]), Long.parseLong(args[4]),
          java.nio.file.Path.of(args[5]));
      default -> throw new IllegalArgumentException("unknown child " + args[0]);
    }
  }

  private static void loopWriter(java.net.URI store, String job, long seed) throws Exception {
    Random random = new Random(seed);
    byte[] content = new byte[1 << 20];
    random.nextBytes(content);
    try (CheckpointStore cs = CheckpointStore.builder().uri(store).parallelism(2)
        .chunkSize(16 * 1024).packSize(1 << 20).gcGracePeriod(Duration.ZERO).build()) {
      for (int i = 0; ; i++) {
        for (int k = 0; k < 6; k++) {
          content[random.nextInt(content.length)] = (byte) random.nextInt();
        }
        String digest = digest(content);
        CheckpointInfo c = writeData(cs, job, content);
        System.out.println("committed " + c.id() + " " + digest);
        System.out.flush();
        if (i % 5 == 4) {
          cs.retain(job, dev.ckpt.Retention.keepLast(3));
        }
      }
    }
  }

  /**
   * Half of each step's content is the same in every writer at the same step (so each reuses
   * the others' chunks and packs), half its own.
   */
  private static void stepWriter(java.net.URI store, String job, int count, long seed, java.nio.file.Path start)
      throws Exception {
    Random own = new Random(seed);
    long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(60);
    while (!java.nio.file.Files.exists(start) && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    byte[] content = new byte[256 * 1024];
    try (CheckpointStore s = CheckpointStore.builder().uri(store).parallelism(2).build()) {
      for (int i = 0; i < count; i++) {
        byte[] shared = new byte[content.length / 2];
        new Random(i).nextBytes(shared);
        System.arraycopy(shared, 0, content, 0, shared.length);
        byte[] mine = new byte[content.length - shared.length];
        own.nextBytes(mine);
        System.arraycopy(mine, 0, content, shared.length, mine.length);
        String digest = digest(content);
        try {
          CheckpointInfo c = writeData(s, job, content);
          System.out.println("committed " + c.id() + " " + digest);
        } catch (CommitUnknownException e) {
          System.out.println("unclear " + digest);
        } catch (CheckpointException e) {
          System.out.println("failed " + e.getClass().getSimpleName() + ": " + e.getMessage());
        }
        System.out.flush();
      }
    }
  }

  /**
   * One cell of the two-writers row.
   *
   * @param committed checkpoints reported committed, both writers together
   * @param failedCleanly checkpoints that failed with an exception (conflicts included)
   * @param conflicts of those, commits that lost the race for their number
   * @param unclear commits whose outcome was unknown
   * @param lost checkpoints reported committed that are missing or not what was written
   * @param inStore checkpoints in the store afterwards
   * @param interleaved whether the writers' numbers interleave (a store whose job lock admits one
   *     writer at a time may let one finish first)
   * @param problems everything wrong found
   */
  public record WriterCell(int committed, int failedCleanly, int conflicts, int unclear, int lost, int inStore,
      boolean interleaved, List<String> problems) {
    /**
     * Copies the list.
     *
     * @param committed checkpoints reported committed
     * @param failedCleanly checkpoints that failed
     * @param conflicts commits that lost their number
     * @param unclear commits of unknown outcome
     * @param lost checkpoints lost
     * @param inStore checkpoints in the store
     * @param interleaved whether the writers' numbers interleave
     * @param problems what was found wrong
     */
    public WriterCell {
      problems = List.copyOf(problems);
    }

    @Override
    public String toString() {
      return committed + " committed, " + failedCleanly + " failed cleanly (" + conflicts + " conflicts), " + unclear
          + " unclear, " + lost + " lost; " + inStore + " checkpoints in the store" + (interleaved ? ", numbers interleaved"
          : ", one writer first");
    }
  }

  /**
   * Two JVMs, started together on a start file, each write {@code each} checkpoints of one job
   * to {@code store}. No number may be reported committed by both, every checkpoint reported
   * committed must hold what its writer wrote, every checkpoint in the store must verify, and the store must be consistent. Whether
   * their numbers interleave is reported: the writers run at the same time, but a store whose job
   * lock admits one writer at a time may let one of them finish first.
   *
   * @param store the store's URI, which both JVMs open
   * @param job the job name to use
   * @param each checkpoints each writer attempts
   * @param work a directory for the start file and the writers' output
   * @return the cell
   * @throws Exception if a writer cannot be started or does not finish in 150 s, or the store cannot be read
   */
  public static WriterCell twoWriterJvms(java.net.URI store, String job, int each, java.nio.file.Path work) throws Exception {
    java.nio.file.Path start = work.resolve("start");
    List<Process> writers = new ArrayList<>();
    List<java.nio.file.Path> logs = new ArrayList<>();
    try {
      for (int w = 0; w < 2; w++) {
        java.nio.file.Path log = work.resolve("step-writer-" + w + ".log");
        logs.add(log);
        writers.add(child(log, "steps", store.toString(), job, Integer.toString(each), Integer.toString(100 + w),
            start.toString()));
      }
      Thread.sleep(2000); // both JVMs started and waiting: they begin together
      java.nio.file.Files.createFile(start);
      long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(150);
      for (int w = 0; w < 2; w++) {
        long left = deadline - System.nanoTime();
        if (!writers.get(w).waitFor(Math.max(1, left), java.util.concurrent.TimeUnit.NANOSECONDS)
            || writers.get(w).exitValue() != 0) {
          throw new AssertionError("writer " + w + " did not finish: " + java.nio.file.Files.readString(logs.get(w)));
        }
      }
    } finally {
      writers.forEach(Process::destroyForcibly);
    }
    List<String> problems = new ArrayList<>();
    Map<Long, String> reported = new HashMap<>();
    List<List<Long>> idsOf = List.of(new ArrayList<>(), new ArrayList<>());
    int failed = 0;
    int conflicts = 0;
    int unclear = 0;
    for (int w = 0; w < 2; w++) {
      for (String line : java.nio.file.Files.readAllLines(logs.get(w))) {
        String[] f = line.split(" ");
        if (f[0].equals("committed")) {
          if (reported.put(Long.parseLong(f[1]), f[2]) != null) {
            problems.add(job + "@" + f[1] + " reported committed by both writers");
          }
          idsOf.get(w).add(Long.parseLong(f[1]));
        } else if (f[0].equals("failed")) {
          failed++;
          conflicts += line.contains("CommitConflictException") ? 1 : 0;
        } else if (f[0].equals("unclear")) {
          unclear++;
        }
      }
    }
    if (reported.size() + failed + unclear != 2 * each) {
      problems.add((reported.size() + failed + unclear) + " outcomes for " + 2 * each + " attempts");
    }
    boolean interleaved = false;
    if (idsOf.get(0).isEmpty() || idsOf.get(1).isEmpty()) {
      problems.add("a writer committed nothing: " + idsOf);
    } else {
      interleaved = idsOf.get(0).get(0) < idsOf.get(1).get(idsOf.get(1).size() - 1)
          && idsOf.get(1).get(0) < idsOf.get(0).get(idsOf.get(0).size() - 1);
    }
    int lost = 0;
    int inStore;
    try (CheckpointStore s = CheckpointStore.open(store)) {
      ConsistencyResult c = s.checkConsistency(job);
      problems.addAll(c.problems());
      inStore = c.checkpoints().size();
      for (CheckpointInfo info : c.checkpoints()) {
        VerifyResult v = s.verify(job, info.id());
        if (!v.ok()) {
          problems.add(job + "@" + info.id() + " is damaged: " + v.problems());
        }
      }
      for (Map.Entry<Long, String> e : reported.entrySet()) {
        String got = readBack(s, job, e.getKey());
        if (!e.getValue().equals(got)) {
          lost++;
          problems.add(job + "@" + e.getKey() + " was committed and is " + (got == null ? "missing or unreadable"
              : "not what was written"));
        }
      }
      if (inStore < reported.size() || inStore > reported.size() + unclear) {
        problems.add(inStore + " checkpoints in the store for " + reported.size() + " committed and " + unclear + " unclear");
      }
    }
    return new WriterCell(reported.size(), failed, conflicts, unclear, lost, inStore, interleaved, problems);
  }

  /**
   * Prints the two-writers row's cell and checks it: nothing lost and nothing found wrong, and,
   * for a store without a job lock, that the writers really raced (their numbers interleave).
   *
   * @param store the store, as the table's column names it
   * @param cell the outcome
   * @param mustInterleave whether the writers' numbers must interleave
   */
  public static void assertNothingLost(String store, WriterCell cell, boolean mustInterleave) {
    System.out.println("FAULT MATRIX | two writers on one job from two JVMs | " + store + " | " + cell);
    org.junit.jupiter.api.Assertions.assertEquals(0, cell.lost(), cell.problems().toString());
    org.junit.jupiter.api.Assertions.assertTrue(cell.problems().isEmpty(), cell.problems().toString());
    if (mustInterleave) {
      org.junit.jupiter.api.Assertions.assertTrue(cell.interleaved(), "the writers did not race: " + cell);
    }
  }

  /**
   * As {@link #assertNothingLost(String, String, Cell, int)}, for the SIGKILL row: prints the
   * row, and checks nothing lost or wrong and that the writers got past a commit in most rounds.
   *
   * @param row the fault
   * @param store the store
   * @param cell the outcome
   */
  public static void assertNothingLost(String row, String store, KillCell cell) {
    System.out.println("FAULT MATRIX | " + row + " | " + store + " | " + cell);
    org.junit.jupiter.api.Assertions.assertEquals(0, cell.lost(), cell.problems().toString());
    org.junit.jupiter.api.Assertions.assertTrue(cell.problems().isEmpty(), cell.problems().toString());
    org.junit.jupiter.api.Assertions.assertTrue(cell.committed() >= cell.kills() / 2, "too few commits between kills: " + cell);
  }

  /**
   * Prints {@code cell} as a row of the matrix and checks it: nothing lost, nothing found wrong,
   * every attempt counted once, and faults that both failed and spared checkpoints.
   *
   * @param row the fault, as the README's table names it
   * @param store the store, as the table's column names it
   * @param cell the outcome
   * @param attempted checkpoints attempted
   */
  public static void assertNothingLost(String row, String store, Cell cell, int attempted) {
    System.out.println("FAULT MATRIX | " + row + " | " + store + " | " + cell);
    org.junit.jupiter.api.Assertions.assertEquals(0, cell.lost(), cell.problems().toString());
    org.junit.jupiter.api.Assertions.assertTrue(cell.problems().isEmpty(), cell.problems().toString());
    org.junit.jupiter.api.Assertions.assertEquals(attempted, cell.committed() + cell.failedCleanly(), cell.toString());
    org.junit.jupiter.api.Assertions.assertTrue(cell.committed() > 0 && cell.failedCleanly() > 0,
        "faults must both fail and spare checkpoints: " + cell);
  }

  /**
   * Prints {@code cell} as a row of the matrix and checks it where the number of attempts is not
   * fixed (server restarts): nothing lost, nothing found wrong, and some checkpoints committed.
   *
   * @param row the fault, as the README's table names it
   * @param store the store, as the table's column names it
   * @param cell the outcome
   */
  public static void assertNothingLost(String row, String store, Cell cell) {
    System.out.println("FAULT MATRIX | " + row + " | " + store + " | " + cell);
    org.junit.jupiter.api.Assertions.assertEquals(0, cell.lost(), cell.problems().toString());
    org.junit.jupiter.api.Assertions.assertTrue(cell.problems().isEmpty(), cell.problems().toString());
    org.junit.jupiter.api.Assertions.assertTrue(cell.committed() > 0, "nothing committed: " + cell);
  }

  /** Writes and commits a checkpoint of {@code job} whose one part, "data", holds {@code content}. */
  private static CheckpointInfo writeData(CheckpointStore cs, String job, byte[] content) throws CheckpointException {
    try (ImageWriter w = cs.newImage(job)) {
      try (PartOutput out = w.part("data", Map.of())) {
        out.write(content, 0, content.length);
      }
      return w.commit();
    }
  }

  /** The digest of checkpoint {@code id}'s data as read back, or null if it cannot be read. */
  private static String readBack(CheckpointStore cs, String job, long id) throws Exception {
    try (ImageReader r = cs.open(job, id)) {
      return digest(r.readBytes("data"));
    } catch (CheckpointException gone) {
      return null;
    }
  }

  private static String digest(byte[] b) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
  }

  /** The caller's store, which the matrix's CheckpointStores must not close. */
  private static final class Unclosed extends ForwardingBlobStore {
    Unclosed(BlobStore delegate) {
      super(delegate);
    }

    @Override
    public void close() {}
  }
}
