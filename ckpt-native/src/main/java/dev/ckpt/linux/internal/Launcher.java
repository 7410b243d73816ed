package dev.ckpt.linux.internal;

import dev.ckpt.CheckpointException;
import dev.ckpt.linux.ProcessException;
import dev.ckpt.linux.Stdio;
import dev.ckpt.linux.internal.jna.Sys;
import dev.ckpt.linux.internal.proc.ProcFs;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Starts programs that are not children of the JVM (whose process reaper would steal their
 * ptrace stops): {@code setsid -f} forks a shell that records its pid, stops itself, and execs
 * the program once the tracer has seized it and sent SIGCONT. The tracer then sees the exec as a
 * ptrace event and holds the fresh program before its first instruction.
 */
final class Launcher {
  private static final String SCRIPT = "echo $$ > \"$0\"; kill -STOP $$; exec \"$@\"";
  private static final long TIMEOUT_MS = 10_000;

  private Launcher() {}

  /** Spawns {@code command} and returns the pid of the stopped shell that will exec it. */
  static int spawnStopped(List<String> command, Stdio stdio) throws CheckpointException {
    Path pidFile;
    try {
      pidFile = Files.createTempFile("ckpt-launch-", ".pid");
      Files.delete(pidFile);
    } catch (IOException e) {
      throw new CheckpointException("cannot create a pid file for launching " + command + ": " + e, e);
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
      if (!setsid.waitFor(TIMEOUT_MS, TimeUnit.MILLISECONDS) || setsid.exitValue() != 0) {
        setsid.destroyForcibly();
        throw new CheckpointException("launching " + command + " with setsid failed (exit "
            + (setsid.isAlive() ? "timeout" : setsid.exitValue()) + "); is util-linux's setsid installed?");
      }
      long deadline = System.currentTimeMillis() + TIMEOUT_MS;
      int pid = -1;
      while (System.currentTimeMillis() < deadline) {
        if (Files.exists(pidFile)) {
          String s = Files.readString(pidFile).trim();
          if (!s.isEmpty()) {
            pid = Integer.parseInt(s);
            break;
          }
        }
        Thread.sleep(1);
      }
      if (pid < 0) {
        throw new CheckpointException("launching " + command + ": the launcher shell never reported its pid");
      }
      while (!ProcFs.state(pid).equals("T")) {
        if (System.currentTimeMillis() > deadline) {
          throw new ProcessException(pid, "launcher shell did not stop itself (state '" + ProcFs.state(pid) + "')");
        }
        Thread.sleep(1);
      }
      return pid;
    } catch (IOException e) {
      throw new CheckpointException("launching " + command + " failed: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CheckpointException("interrupted while launching " + command, e);
    } finally {
      new File(pidFile.toString()).delete();
    }
  }

  /**
   * On the tracer thread: seizes the stopped launcher shell, lets it exec, and returns with the
   * new program held at its exec stop.
   */
  static void seizeUntilExec(int pid, int options) throws ProcessException {
    Sys.ptrace(Sys.PTRACE_SEIZE, pid, 0, options | Sys.PTRACE_O_TRACEEXEC, "SEIZE");
    try {
      dev.ckpt.linux.internal.jna.LibC.kill(pid, Sys.SIGCONT);
    } catch (com.sun.jna.LastErrorException e) {
      throw Sys.error("kill(SIGCONT)", pid, e);
    }
    long deadline = System.currentTimeMillis() + TIMEOUT_MS;
    while (true) {
      int st = Sys.waitpid(pid, false);
      if (Sys.exited(st) || Sys.signaled(st)) {
        throw new ProcessException(pid, "process ended before exec (status " + st + "); does the program exist?");
      }
      int event = Sys.event(st);
      int sig = Sys.stopSignal(st);
      if (event == Sys.PTRACE_EVENT_EXEC) {
        return;
      }
      if (System.currentTimeMillis() > deadline) {
        throw new ProcessException(pid, "no exec within " + TIMEOUT_MS + " ms of launch");
      }
      if (event == Sys.PTRACE_EVENT_STOP) {
        Sys.ptrace(Sys.PTRACE_CONT, pid, 0, 0, "CONT");
      } else {
        // SIGCONT and anything else the shell receives before exec goes through.
        Sys.ptrace(Sys.PTRACE_CONT, pid, 0, sig == Sys.SIGSTOP ? 0 : sig, "CONT");
      }
    }
  }
}
