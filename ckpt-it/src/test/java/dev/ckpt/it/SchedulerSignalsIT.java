package dev.ckpt.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ckpt.CheckpointStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** SIGUSR2 checkpoints and continues, SIGTSTP vacates, SIGTERM vacates when configured: in a real JVM. */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class SchedulerSignalsIT {
  @TempDir
  Path dir;

  private Process start(Path log, String... extra) throws Exception {
    return startWith(log, "40", extra);
  }

  private Process startWith(Path log, String srSignum, String... extra) throws Exception {
    Path store = Files.createDirectories(dir.resolve("store"));
    String[] args = new String[1 + extra.length];
    args[0] = store.toUri().toString();
    System.arraycopy(extra, 0, args, 1, extra.length);
    Process p = ChildJvm.start(log, List.of("-Xmx128m"), SignalledAppMain.class, args, Map.of("_JAVA_SR_SIGNUM", srSignum));
    waitFor(log, "ready");
    return p;
  }

  private static void waitFor(Path log, String text) throws Exception {
    long deadline = System.currentTimeMillis() + 60_000;
    while (!Files.readString(log).contains(text)) {
      if (System.currentTimeMillis() > deadline) {
        throw new AssertionError("no '" + text + "' in:\n" + Files.readString(log));
      }
      Thread.sleep(20);
    }
  }

  private static void signal(Process p, String sig) throws Exception {
    assertEquals(0, new ProcessBuilder("kill", "-" + sig, Long.toString(p.pid())).start().waitFor());
  }

  @Test
  void sigusr2CheckpointsAndContinues_sigtstpVacates() throws Exception {
    Path log = dir.resolve("a.log");
    Process p = start(log);
    signal(p, "USR2");
    waitFor(log, "event COMMITTED ON_DEMAND signalled@1");
    assertTrue(p.isAlive(), "continues after SIGUSR2");
    signal(p, "TSTP");
    waitFor(log, "vacated signalled@2");
    assertTrue(p.waitFor(30, TimeUnit.SECONDS), Files.readString(log));
    assertTrue(Files.readString(log).contains("stopped"), Files.readString(log));
    try (CheckpointStore s = CheckpointStore.open(dir.resolve("store").toUri())) {
      assertEquals(2, s.latest("signalled").orElseThrow().id());
    }
  }

  /** Without a free SIGUSR2, HotSpot's own thread suspends would look like "checkpoint now": refused, with the fix. */
  @Test
  void handleSignals_inAJvmThatSuspendsThreadsWithSigusr2_isRefusedWithTheFix() throws Exception {
    Path log = dir.resolve("d.log");
    Process p = startWith(log, "", "no-free-sigusr2");
    assertTrue(p.waitFor(30, TimeUnit.SECONDS), Files.readString(log));
    assertTrue(Files.readString(log).contains("refused: handleSignals(true) needs SIGUSR2")
        && Files.readString(log).contains("_JAVA_SR_SIGNUM=40"), Files.readString(log));
  }

  @Test
  void close_putsBackTheSignalHandlersItReplaced() throws Exception {
    Path log = dir.resolve("c.log");
    Process p = start(log, "close-restores-handlers");
    signal(p, "TSTP");
    waitFor(log, "the application's SIGTSTP handler ran");
    assertTrue(p.waitFor(30, TimeUnit.SECONDS), Files.readString(log));
    try (CheckpointStore s = CheckpointStore.open(dir.resolve("store").toUri())) {
      assertTrue(s.latest("signalled").isEmpty(), "SIGTSTP after close must not vacate");
    }
  }

  @Test
  void jvmShutdown_vacatesWhenConfigured() throws Exception {
    Path log = dir.resolve("b.log");
    Process p = start(log, "vacate-on-shutdown");
    signal(p, "TERM");
    assertTrue(p.waitFor(30, TimeUnit.SECONDS), Files.readString(log));
    assertTrue(Files.readString(log).contains("vacated signalled@1"), Files.readString(log));
    try (CheckpointStore s = CheckpointStore.open(dir.resolve("store").toUri())) {
      assertEquals(1, s.latest("signalled").orElseThrow().id());
    }
  }
}
