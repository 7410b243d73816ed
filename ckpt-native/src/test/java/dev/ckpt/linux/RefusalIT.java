package dev.ckpt.linux;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The census: a dump of a process that holds something ckpt cannot reproduce is refused with one
 * line naming it, the store stays as it was, and the process runs on unharmed to the same end it
 * would have reached.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class RefusalIT {
  @TempDir
  Path dir;

  NativeCheckpointer checkpointer(String job) throws Exception {
    return NativeCheckpointer.builder().store(dir.resolve("store").toUri().resolve("?create=true")).job(job).build();
  }

  void assertStoreUntouched(NativeCheckpointer ckpt) throws Exception {
    assertEquals(List.of(), ckpt.store().jobs(), "a refused dump leaves no job and no checkpoint in the store");
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "epollready | epoll fd 5 watches fds [3, 4], which are all ready",
      "epollet    | epoll fd 5 watches fd 3 edge-triggered, and it is ready",
      "epollstale | epoll fd 4 watches a file added as fd 3, which the process no longer holds as fd 3",
      "epollnested | epoll fd 4 watches another epoll (fd 3)",
      "timerfdcancel | fd 3 is a timerfd with TFD_TIMER_CANCEL_ON_SET",
      "inotify    | fd 3 is an anonymous inode (inotify)",
      "unixnamed  | fd 3 is a socket (socket:[",
      "unixlisten | that is listening; ckpt restores only AF_UNIX socketpairs without a name",
      "unixoutside | held outside the checkpoint by pid ",
      "unixfds    | fd 4 (socket:[",
      "unixpasscred | has SO_PASSCRED, SO_PASSSEC or SO_PASSPIDFD set",
      "unixpasspidfd | has SO_PASSCRED, SO_PASSSEC or SO_PASSPIDFD set",
      "unixoob    | has out-of-band data (MSG_OOB) queued, which ckpt does not restore",
      "unixempty  | has an empty message queued, which ckpt cannot copy without consuming it",
      "epollreused | epoll fd 4 watches two files added as fd 3",
      "unixunaccepted | connected to a listening socket that has not accepted the connection yet",
      "unixinflight | which no process of the checkpoint holds and ckpt cannot see held elsewhere",
      "epolloneshot | epoll fd 4 watches fd 3 with EPOLLONESHOT, fired and not re-armed",
      "opath      | fd 3 is an O_PATH descriptor of /tmp",
      "pipereopen | fds 3 and 5 are separate opens of one end of pipe:[",
      "procfd     | fd 3 is open on /proc/1/stat",
      "flock      | holds a file lock",
      "seccomp    | has seccomp mode 2",
      "cwddeleted | has a deleted working directory",
      "cwdproc    | has its working directory in /proc",
      "sysvshm    | maps SysV shared memory segment",
      "mlock      | of memory locked with mlock",
      "uffd       | userfaultfd",
      "userns     | runs in another user namespace",
      "schedbatch | has scheduling policy 3 (SCHED_BATCH)",
      "sigtrap    | has a SIGTRAP pending",
      "oasync     | has O_ASYNC",
      "mseal      | with mseal (smaps flag sl)",
      "chroot     | has its root directory at /tmp (chroot)",
      "gid        | has Gid '0 65534 0 65534' where the checkpointer has '0 0 0 0'",
      "childsocket | is a socket",
      "childgid   | has Gid '0 65534 0 65534' where the checkpointer has '0 0 0 0'"})
  void heldResource_isRefusedByNameAndTheProcessRunsOn(String mode, String expected) throws Exception {
    Path out = dir.resolve(mode + ".out");
    try (NativeCheckpointer ckpt = checkpointer(mode)) {
      TracedProcess p = ckpt.launch(new Stdio(Path.of("/dev/null"), out, null, dir), Programs.path("holder"), mode);
      Thread.sleep(300);
      assertTrue(p.isAlive(), mode + " holder ended early:\n" + Files.readString(out));
      Path maps = Path.of("/proc", Integer.toString(p.pid()), "maps");
      List<String> mappings = Files.readAllLines(maps);
      ProcessException e = assertThrows(ProcessException.class, () -> ckpt.checkpoint(p, Mode.CONTINUE));
      // A refusal while frozen leaves none of ckpt's injected pages behind either.
      assertEquals(mappings, Files.readAllLines(maps), mode + ": the mappings after the refusal");
      assertTrue(e.getMessage().contains(expected), "refusal of " + mode + " should name it (" + expected + "): " + e.getMessage());
      if (mode.startsWith("child")) {
        // A process of the tree: the refusal names it, not the root.
        assertTrue(e.getMessage().startsWith("pid ") && !e.getMessage().startsWith("pid " + p.pid() + ": "), e.getMessage());
      } else {
        assertTrue(e.getMessage().startsWith("pid " + p.pid() + ": "), e.getMessage());
      }
      assertEquals(1, e.getMessage().lines().count(), "one line: " + e.getMessage());
      assertStoreUntouched(ckpt);
      assertEquals(OptionalInt.of(0), p.waitFor(Duration.ofSeconds(30)), mode + " after a refused dump:\n" + Files.readString(out));
    }
    List<String> lines = Files.readAllLines(out);
    for (int tick = 10; tick <= 150; tick += 10) {
      assertTrue(lines.contains("tick " + tick), mode + " lost tick " + tick + " after a refused dump: " + lines);
    }
    assertEquals("done", lines.get(lines.size() - 1));
  }

  @Test
  void stoppedProcess_isRefusedAndRunsOnAfterSigcont() throws Exception {
    Path out = dir.resolve("stopped.out");
    try (NativeCheckpointer ckpt = checkpointer("stopped")) {
      TracedProcess p = ckpt.launch(new Stdio(Path.of("/dev/null"), out, null, dir), Programs.path("holder"), "plain");
      Thread.sleep(200);
      assertEquals(0, new ProcessBuilder("kill", "-STOP", Integer.toString(p.pid())).start().waitFor());
      Thread.sleep(200);
      ProcessException e = assertThrows(ProcessException.class, () -> ckpt.checkpoint(p, Mode.VACATE));
      assertTrue(e.getMessage().contains("is stopped (SIGSTOP or SIGTSTP"), e.getMessage());
      assertStoreUntouched(ckpt);
      assertEquals(0, new ProcessBuilder("kill", "-CONT", Integer.toString(p.pid())).start().waitFor());
      assertEquals(OptionalInt.of(0), p.waitFor(Duration.ofSeconds(30)), "the stopped process after SIGCONT");
    }
    List<String> lines = Files.readAllLines(out);
    assertEquals("done", lines.get(lines.size() - 1), lines.toString());
    assertEquals(15, lines.stream().filter(l -> l.startsWith("tick ")).count(), lines.toString());
  }

  @Test
  void pipeReaderFedByALiveWriterOutside_isRefusedNamingTheWriterAndReadsOn() throws Exception {
    Path lines = dir.resolve("lines.txt");
    StringBuilder sb = new StringBuilder();
    for (int i = 1; i <= 120; i++) {
      sb.append("line ").append(i).append(" of the feed\n");
    }
    Files.writeString(lines, sb);
    String consumer = Programs.path("pipeconsumer");
    byte[] expected = Programs.reference(dir, lines, consumer, "stdin");
    Path out = dir.resolve("feed.out");
    Path pidFile = dir.resolve("consumer.pid");
    // The writer (a shell loop) lives on outside the process being checkpointed.
    String script = "while read l; do echo \"$l\"; sleep 0.02; done < \"$0\" | { echo $BASHPID > \"$1\"; exec \"$2\" stdin > \"$3\"; }";
    Process sh = new ProcessBuilder("setsid", "-w", "bash", "-c", script, lines.toString(), pidFile.toString(), consumer,
        out.toString()).redirectInput(new File("/dev/null")).start();
    long deadline = System.currentTimeMillis() + 10_000;
    while ((!Files.exists(pidFile) || Files.readString(pidFile).isBlank()) && System.currentTimeMillis() < deadline) {
      Thread.sleep(5);
    }
    int pid = Integer.parseInt(Files.readString(pidFile).trim());
    Thread.sleep(300);
    try (NativeCheckpointer ckpt = checkpointer("feed")) {
      TracedProcess p = ckpt.attach(pid);
      ProcessException e = assertThrows(ProcessException.class, () -> ckpt.checkpoint(p, Mode.VACATE));
      assertTrue(e.getMessage().matches("pid " + pid + ": fd 0 reads pipe:\\[\\d+\\], whose write end is held outside the"
          + " checkpoint by pid \\d+ \\(bash\\) fd 1.*"), e.getMessage());
      assertStoreUntouched(ckpt);
    }
    assertTrue(sh.waitFor(60, TimeUnit.SECONDS), "the fed pipeline did not finish");
    // A pipe fed line by line returns shorter reads than the file did: compare the totals.
    List<String> got = Files.readAllLines(out);
    assertEquals(new String(expected, StandardCharsets.UTF_8).strip(), got.get(got.size() - 1),
        "the reader got every byte after a refused dump");
  }
}
