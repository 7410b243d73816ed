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
      return committed + " committed, " + failedCleanly + " failed cleanly, " + lost + " lost (faults injected: " + faults + ")";
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
    Map<Long, String> reported = new HashMap<>(); // id -> digest of what was written
    Map<String, Integer> unclear = new HashMap<>(); // digest -> count
    Map<String, String> failedWith = new HashMap<>(); // digest -> the exception of a commit that failed
    int failed = 0;
    try (CheckpointStore cs = CheckpointStore.builder().blobStore(faulty).parallelism(2).chunkSize(16 * 1024)
        .packSize(1 << 20).gcGracePeriod(Duration.ZERO).build()) {
      for (int i = 0; i < checkpoints; i++) {
        for (int k = 0; k < 6; k++) {
          content[random.nextInt(content.length)] = (byte) random.nextInt();
        }
        String digest = digest(content);
        try (ImageWriter w = cs.newImage(job)) {
          try (PartOutput out = w.part("data", Map.of())) {
            out.write(content, 0, content.length);
          }
          CheckpointInfo c = w.commit();
          reported.put(c.id(), digest);
        } catch (CommitUnknownException e) {
          unclear.merge(digest, 1, Integer::sum);
        } catch (CheckpointException e) {
          failed++;
          failedWith.put(digest, e.getClass().getSimpleName() + ": " + e.getMessage());
        }
        if (i % 20 == 19) {
          try {
            cs.gc(job);
          } catch (CheckpointException e) {
            // gc under faults may stop; it must never delete what a checkpoint needs
          }
        }
      }
    }
    faulty.heal();
    List<String> problems = new ArrayList<>();
    // What must be in the store: every checkpoint reported committed, then the unclear ones found intact.
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
              problems.add(job + "@" + e.getKey() + " exists although its commit failed with " + failedWith.get(e.getValue())
                  + ": that failure was not clean");
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
    return new Cell(expected.size(), failed, lost.size(), faulty.injected(), problems);
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
    String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    for (int round = 0; round < kills; round++) {
      java.nio.file.Path out = work.resolve("writer-" + round + ".log");
      Process child = new ProcessBuilder(java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "-Xmx256m", "-XX:TieredStopAtLevel=1", "-cp", cp, FaultMatrix.class.getName(), store.toString(), job,
          Long.toString(seed + round)).redirectErrorStream(true).redirectOutput(out.toFile())
          .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
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
          String got = null;
          try (ImageReader r = cs.open(job, e.getKey())) {
            got = digest(r.readBytes("data"));
          } catch (CheckpointException gone) {
            // counted below
          }
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

  /**
   * The child of {@link #sigkillLoop}: writes checkpoints of job {@code args[1]} to the store at
   * {@code args[0]} back to back until it is killed, keeping the newest 3, and prints
   * "committed ID DIGEST" after each commit returns.
   *
   * @param args the store URI, the job, a seed
   * @throws Exception whatever stops it (the parent reads it from the output)
   */
  public static void main(String[] args) throws Exception {
    Random random = new Random(Long.parseLong(args[2]));
    byte[] content = new byte[1 << 20];
    random.nextBytes(content);
    try (CheckpointStore cs = CheckpointStore.builder().uri(java.net.URI.create(args[0])).parallelism(2)
        .chunkSize(16 * 1024).packSize(1 << 20).gcGracePeriod(Duration.ZERO).build()) {
      for (int i = 0; ; i++) {
        for (int k = 0; k < 6; k++) {
          content[random.nextInt(content.length)] = (byte) random.nextInt();
        }
        String digest = digest(content);
        try (ImageWriter w = cs.newImage(args[1])) {
          try (PartOutput out = w.part("data", Map.of())) {
            out.write(content, 0, content.length);
          }
          CheckpointInfo c = w.commit();
          System.out.println("committed " + c.id() + " " + digest);
          System.out.flush();
        }
        if (i % 5 == 4) {
          cs.retain(args[1], dev.ckpt.Retention.keepLast(3));
        }
      }
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
