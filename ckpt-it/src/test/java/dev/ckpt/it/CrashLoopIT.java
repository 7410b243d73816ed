package dev.ckpt.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ckpt.CheckpointInfo;
import dev.ckpt.CheckpointStore;
import dev.ckpt.Checkpointer;
import dev.ckpt.VerifyResult;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGKILLs a JVM that writes checkpoints back to back, 10 times at random moments (50 with
 * {@code -Dckpt.faultMatrix.kills=50}, as the README's fault matrix was measured). After each
 * kill the last committed checkpoint must restore and verify byte for byte, and no checkpoint the
 * child reported as committed may be missing.
 */
class CrashLoopIT {
  static final int KILLS = Integer.getInteger("ckpt.faultMatrix.kills", 10);

  @TempDir
  Path dir;

  @Test
  @Timeout(value = 10, unit = TimeUnit.MINUTES)
  void sigkillAtRandomPoints_neverLosesTheLastCommittedCheckpoint() throws Exception {
    Path root = dir.resolve("store");
    Files.createDirectory(root);
    URI store = root.toUri();
    Random random = new Random(20261125);
    long lastSeenCommitted = 0;
    int killsAfterACommit = 0;
    for (int round = 0; round < KILLS; round++) {
      Path out = dir.resolve("child-" + round + ".log");
      Process child = ChildJvm.start(out, List.of("-Xmx128m", "-XX:TieredStopAtLevel=1"), CrashWriterMain.class, store.toString());
      // Every fifth kill lands at a fixed time from the launch, in the JVM's start and restore on
      // a slow machine; the others wait for the child's first commit of this round, then land
      // anywhere in its write loop (a fixed window alone let a slow start take most rounds).
      if (round % 5 != 0) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (child.isAlive() && !(Files.exists(out) && Files.readString(out).contains("committed "))) {
          assertTrue(System.nanoTime() < deadline, "round " + round + ": no commit in 60 s:\n" + Files.readString(out));
          Thread.sleep(10);
        }
      }
      long waitMs = round % 5 != 0 ? random.nextInt(1200) : 300 + random.nextInt(1200);
      boolean exited = child.waitFor(waitMs, TimeUnit.MILLISECONDS);
      if (exited) {
        throw new AssertionError("child exited by itself with " + child.exitValue() + ":\n" + Files.readString(out));
      }
      child.destroyForcibly(); // SIGKILL
      assertTrue(child.waitFor(30, TimeUnit.SECONDS), "child did not die");
      List<String> lines = Files.readAllLines(out);
      for (String l : lines) {
        if (l.startsWith("Exception") || l.contains("at dev.ckpt")) {
          throw new AssertionError("child failed in round " + round + ":\n" + String.join("\n", lines));
        }
      }
      long reported = lines.stream().filter(l -> l.startsWith("committed "))
          .mapToLong(l -> Long.parseLong(l.split(" ")[1])).max().orElse(lastSeenCommitted);

      try (CheckpointStore s = CheckpointStore.open(store)) {
        Optional<CheckpointInfo> latest = s.latest("crash");
        if (reported > 0) {
          assertTrue(latest.isPresent(), "round " + round + ": child reported " + reported + " committed, store has none");
          assertTrue(latest.get().id() >= reported, "round " + round + ": reported " + reported + ", latest " + latest.get().id());
          killsAfterACommit++;
        }
        if (latest.isPresent()) {
          assertTrue(latest.get().id() >= lastSeenCommitted, "checkpoint ids went backwards");
          lastSeenCommitted = latest.get().id();
          VerifyResult v = s.verify("crash", latest.get().id());
          assertTrue(v.ok(), "round " + round + ": " + v.problems());
          CrashState state = new CrashState();
          try (Checkpointer ckpt = CrashState.builder(store, state).store(s).build()) {
            ckpt.restoreLatest();
          }
          state.verify();
        }
      }
    }
    assertTrue(killsAfterACommit >= KILLS / 2, "too few rounds got past the first commit: " + killsAfterACommit);
    assertTrue(lastSeenCommitted > KILLS, "checkpoints advanced to " + lastSeenCommitted);
  }
}
