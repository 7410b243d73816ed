package dev.ckpt.linux.internal;

import dev.ckpt.CheckpointException;
import dev.ckpt.linux.ProcessException;
import dev.ckpt.linux.Stdio;
import dev.ckpt.linux.internal.jna.Sys;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Starts programs that are not children of the JVM (whose process reaper would steal their
 * ptrace stops): {@code setsid -f} forks a shell that records its pid, waits on a FIFO, and
 * execs the program once the tracer has seized it and opened the FIFO. The tracer then sees the
 * exec as a ptrace event and holds the fresh program before its first instruction. A FIFO, not
 * SIGSTOP/SIGCONT: a seized process's group-stop can be reported after SIGCONT, and would then
 * stop the program for good.
 */
final class Launcher {
  /**
   * Writes its pid, waits until the FIFO is opened for writing (EOF: the read's status is
   * ignored), then execs. It exits instead when either file is gone: a launch that failed has
   * removed them, and its command must not start unwatched.
   */
  private static final String SCRIPT = "echo $$ > \"$0\" || exit 1; { read _ || :; } < \"$0.go\" || exit 1; exec \"$@\"";
  private static final long TIMEOUT_MS = 10_000;

  private Launcher() {}

  /** A launched shell: its pid and the FIFO that releases it into exec. */
  record Spawned(int pid, Path go) {}

  /** Spawns {@code command} behind a shell that waits for {@link #seizeUntilExec} to release it. */
  static Spawned spawnStopped(List<String> command, Stdio stdio) throws CheckpointException {
    Path pidFile;
    Path go;
    try {
      Path dir = Files.createTempDirectory("ckpt-launch-");
      pidFile = dir.resolve("pid");
      go = dir.resolve("pid.go");
    } catch (IOException e) {
      throw new CheckpointException("cannot prepare the launch of " + command + ": " + e, e);
    }
    boolean launched = false;
    try {
      Spawned s = spawn(command, stdio, pidFile, go);
      launched = true;
      return s;
    } finally {
      if (!launched) {
        // A shell that wrote its pid waits on the FIFO for ever: it goes, with the directory.
        try {
          String pid = Files.exists(pidFile) ? Files.readString(pidFile).trim() : "";
          if (!pid.isEmpty()) {
            dev.ckpt.linux.internal.jna.LibC.kill(Integer.parseInt(pid), Sys.SIGKILL);
          }
        } catch (IOException | RuntimeException ignored) {
          // Nothing more to do: the launch has failed and says so.
        }
        removeFiles(go);
      }
    }
  }

  private static Spawned spawn(List<String> command, Stdio stdio, Path pidFile, Path go) throws CheckpointException {
    try {
      // mkfifo(3), not the mkfifo program: a process spawned from the JVM costs milliseconds.
      dev.ckpt.linux.internal.jna.LibC.mkfifo(go.toString(), 0600);
    } catch (com.sun.jna.LastErrorException e) {
      throw new CheckpointException("mkfifo(" + go + ") to launch " + command + " failed: "
          + dev.ckpt.linux.internal.jna.Errno.name(e.getErrorCode()), e);
    }
    List<String> cmd = new ArrayList<>(List.of("setsid", "-f", "/bin/sh", "-c", SCRIPT, pidFile.toString()));
    cmd.addAll(command);
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.redirectInput(stdio.stdin() == null ? ProcessBuilder.Redirect.INHERIT : ProcessBuilder.Redirect.from(stdio.stdin().toFile()));
    pb.redirectOutput(stdio.stdout() == null ? ProcessBuilder.Redirect.INHERIT : ProcessBuilder.Redirect.appendTo(stdio.stdout().toFile()));
    pb.redirectError(stdio.stderr() == null ? ProcessBuilder.Redirect.INHERIT : ProcessBuilder.Redirect.appendTo(stdio.stderr().toFile()));
    if (stdio.directory() != null) {
      pb.directory(stdio.directory().toFile());
    }
    try {
      Process setsid = pb.start();
      // The pid file is watched while setsid forks and exits, not after: waiting for its exit
      // first cost as much again as the shell's start.
      long deadline = System.currentTimeMillis() + TIMEOUT_MS;
      while (System.currentTimeMillis() < deadline) {
        if (Files.exists(pidFile)) {
          String s = Files.readString(pidFile).trim();
          if (!s.isEmpty()) {
            return new Spawned(Integer.parseInt(s), go);
          }
        }
        if (!setsid.isAlive() && setsid.exitValue() != 0) {
          throw new CheckpointException("launching " + command + " with setsid failed (exit " + setsid.exitValue()
              + "); is util-linux's setsid installed?");
        }
        java.util.concurrent.locks.LockSupport.parkNanos(200_000);
        if (Thread.interrupted()) {
          throw new InterruptedException();
        }
      }
      setsid.destroyForcibly();
      throw new CheckpointException("launching " + command + ": the launcher shell never reported its pid");
    } catch (IOException e) {
      throw new CheckpointException("launching " + command + " failed: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CheckpointException("interrupted while launching " + command, e);
    }
  }

  /**
   * On the tracer thread: seizes the stopped launcher shell, lets it exec, and returns with the
   * new program held at its exec stop.
   */
  static void seizeUntilExec(Spawned spawned, int options) throws ProcessException {
    int pid = spawned.pid();
    try {
      Sys.ptrace(Sys.PTRACE_SEIZE, pid, 0, options | Sys.PTRACE_O_TRACEEXEC, "SEIZE");
    } catch (ProcessException e) {
      removeFiles(spawned.go()); // the caller kills the shell
      throw e;
    }
    release(spawned);
    long deadline = System.currentTimeMillis() + TIMEOUT_MS;
    while (true) {
      int st = Sys.waitpid(pid, false);
      if (Sys.exited(st) || Sys.signaled(st)) {
        throw new ProcessException(pid, "process ended before exec (status " + st + "); does the program exist?");
      }
      if (Sys.event(st) == Sys.PTRACE_EVENT_EXEC) {
        return;
      }
      if (System.currentTimeMillis() > deadline) {
        throw new ProcessException(pid, "no exec within " + TIMEOUT_MS + " ms of launch");
      }
      int sig = Sys.event(st) == 0 ? Sys.stopSignal(st) : 0;
      Sys.ptrace(Sys.PTRACE_CONT, pid, 0, sig, "CONT");
    }
  }

  /** Opens and closes the FIFO's writing end: the shell's read returns and it execs. */
  private static void release(Spawned spawned) throws ProcessException {
    long deadline = System.currentTimeMillis() + TIMEOUT_MS;
    String path = spawned.go().toString();
    try {
      while (true) {
        try {
          int fd = dev.ckpt.linux.internal.jna.LibC.open(path, 01 | 04000, 0); // O_WRONLY | O_NONBLOCK
          dev.ckpt.linux.internal.jna.LibC.close(fd);
          return;
        } catch (com.sun.jna.LastErrorException e) {
          // ENXIO: the shell has not opened its end yet.
          if (e.getErrorCode() != 6 || System.currentTimeMillis() > deadline) {
            throw Sys.error("open(" + path + ") to release the launcher", spawned.pid(), e);
          }
          java.util.concurrent.locks.LockSupport.parkNanos(100_000);
          if (Thread.interrupted()) {
            throw new InterruptedException();
          }
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ProcessException(spawned.pid(), "interrupted while releasing the launcher");
    } finally {
      removeFiles(spawned.go());
    }
  }

  /** The launch's FIFO, pid file and temporary directory. */
  private static void removeFiles(Path go) {
    try {
      Files.deleteIfExists(go);
      Files.deleteIfExists(go.resolveSibling("pid"));
      Files.deleteIfExists(go.getParent());
    } catch (IOException ignored) {
      // Nothing depends on them any more; a leftover directory is only litter.
    }
  }
}
