package dev.ckpt.cli;

import dev.ckpt.CheckpointException;
import dev.ckpt.CheckpointInfo;
import dev.ckpt.CheckpointStore;
import dev.ckpt.Retention;
import dev.ckpt.linux.Mode;
import dev.ckpt.linux.NativeCheckpointer;
import dev.ckpt.linux.Stdio;
import dev.ckpt.linux.TracedProcess;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "run", description = {"Run CMD under periodic checkpoints, or resume it from the job's newest checkpoint.",
    "SIGTERM or SIGTSTP to ckpt = vacate: checkpoint, then stop CMD and exit (with --vacate-exit-code).",
    "SIGUSR1 or SIGUSR2 = checkpoint now and go on (a batch scheduler's early warning)."})
final class RunCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Mixin
  Cli.StoreOption store;

  @Option(names = "--every", paramLabel = "DURATION", defaultValue = "10m", description = "Checkpoint interval (default 10m).")
  String every;

  @Option(names = "--keep", paramLabel = "N", defaultValue = "3", description = "Checkpoints to keep (default 3).")
  int keep;

  @Option(names = "--close-fds", description = "Leave descriptors ckpt cannot save (sockets, extra pipes) out of the image; the restored process finds them closed.")
  boolean closeFds;

  @Option(names = "--name", paramLabel = "JOB", description = "Job name. Default: the command's name.")
  String name;

  @Option(names = "--quiet", description = "No line per checkpoint on stderr.")
  boolean quiet;

  @Option(names = "--fresh", description = "Start CMD from the beginning even if the job has checkpoints.")
  boolean fresh;

  @Option(names = "--vacate-exit-code", paramLabel = "N", defaultValue = "0",
      description = "Exit with N after a vacate (HTCondor's checkpoint_exit_code is usually 85). Default 0.")
  int vacateExitCode;

  @Option(names = "--grace", paramLabel = "DURATION", defaultValue = "25s",
      description = "How long the vacate checkpoint may take, freeze included (default 25s, under Slurm's KillWait of 30s).")
  String grace;

  @Parameters(arity = "1..*", paramLabel = "CMD", description = "The command and its arguments (after --).")
  List<String> command;

  @Override
  public Integer call() throws Exception {
    Duration interval = Cli.duration(every);
    if (interval.toMillis() < 10) {
      throw new IllegalArgumentException("--every must be at least 10ms, got " + every);
    }
    if (keep < 1) {
      throw new IllegalArgumentException("--keep must be at least 1, got " + keep);
    }
    String job = name != null ? name : Path.of(command.get(0)).getFileName().toString().replaceAll("[^A-Za-z0-9_.-]", "_");
    PrintWriter err = spec.commandLine().getErr();
    ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "ckpt-run-timer");
      t.setDaemon(true);
      return t;
    });
    CompletableFuture<Boolean> vacated = new CompletableFuture<>();
    try (CheckpointStore s = store.open();
         RunLock lock = RunLock.acquire(s, job);
         NativeCheckpointer ckpt = NativeCheckpointer.builder().store(s).job(job)
             .fdPolicy(closeFds ? dev.ckpt.linux.FdPolicy.CLOSE : dev.ckpt.linux.FdPolicy.FAIL).build()) {
      TracedProcess p;
      java.util.Optional<CheckpointInfo> newest = fresh ? java.util.Optional.empty() : s.latest(job);
      if (newest.isPresent()) {
        try {
          p = ckpt.restore(job, newest.get().id(), Stdio.inherit());
        } catch (CheckpointException e) {
          // Never start over silently when the job has a checkpoint: that would throw its work away.
          throw new CheckpointException("job " + job + " has checkpoint " + newest.get().ref() + " but it cannot be resumed ("
              + e.getMessage() + "); start from the beginning with --fresh, or resume an older checkpoint with"
              + " ckpt restore " + job + "@ID", e);
        }
        err.printf("ckpt run: resumed %s as pid %d, checkpointing every %s into %s%n", newest.get().ref(), p.pid(), every,
            s.uri());
      } else {
        p = ckpt.launch(Stdio.inherit(), command.toArray(String[]::new));
        err.printf("ckpt run: %s started as pid %d, checkpointing every %s into %s as job %s%n", command.get(0), p.pid(),
            every, s.uri(), job);
      }
      err.flush();
      Duration graceTime = Cli.duration(grace);
      Runnable periodic = () -> checkpoint(ckpt, s, p, Mode.CONTINUE, job, err);
      timer.scheduleWithFixedDelay(periodic, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
      handle("USR2", () -> timer.execute(periodic), err);
      handle("USR1", () -> timer.execute(periodic), err);
      java.util.concurrent.atomic.AtomicBoolean vacating = new java.util.concurrent.atomic.AtomicBoolean();
      Runnable vacate = () -> timer.execute(() -> {
        if (vacating.getAndSet(true)) {
          return; // one vacate at a time
        }
        boolean done = checkpoint(ckpt, s, p, Mode.VACATE, job, err, java.time.Instant.now().plus(graceTime));
        if (!done && p.isAlive()) {
          // Evicted all the same: the newest committed checkpoint stays the one to resume from.
          p.kill();
          err.println("ckpt run: the vacate checkpoint did not complete within " + grace + "; process stopped, the job"
              + " resumes from " + latestRef(s, job));
          err.flush();
        }
        vacated.complete(true);
      });
      handle("TSTP", vacate, err);
      handle("TERM", vacate, err);
      while (true) {
        var code = p.waitFor(Duration.ofMillis(100));
        // The vacate kills the process: its exit is ours to report as a clean stop, not a crash.
        if (vacated.isDone() || (code.isPresent() && vacating.get())) {
          vacated.get(graceTime.toMillis() + 60_000, TimeUnit.MILLISECONDS);
          err.printf("ckpt run: vacated; resume with the same ckpt run --name %s, or ckpt restore %s --store %s%n", job, job,
              s.uri());
          err.flush();
          return vacateExitCode;
        }
        if (code.isPresent()) {
          return code.getAsInt();
        }
      }
    } finally {
      timer.shutdownNow();
      timer.awaitTermination(30, TimeUnit.SECONDS);
    }
  }

  private boolean checkpoint(NativeCheckpointer ckpt, CheckpointStore s, TracedProcess p, Mode mode, String job, PrintWriter err) {
    return checkpoint(ckpt, s, p, mode, job, err, null);
  }

  private static String latestRef(CheckpointStore s, String job) {
    try {
      return s.latest(job).map(CheckpointInfo::ref).orElse("the beginning (no checkpoint)");
    } catch (CheckpointException e) {
      return "its newest checkpoint (the store did not answer: " + e.getMessage() + ")";
    }
  }

  private boolean checkpoint(NativeCheckpointer ckpt, CheckpointStore s, TracedProcess p, Mode mode, String job, PrintWriter err,
      java.time.Instant deadline) {
    if (!p.isAlive()) {
      return false;
    }
    try {
      CheckpointInfo c = ckpt.checkpoint(p, mode, deadline);
      s.retain(job, Retention.keepLast(keep));
      if (!quiet) {
        err.printf("ckpt run: checkpoint %s, %s stored in %d ms%s%n", c.ref(), Cli.size(c.newStoredBytes()),
            c.duration().toMillis(), mode == Mode.VACATE ? ", process stopped" : "");
        err.flush();
      }
      return true;
    } catch (CheckpointException e) {
      err.println("ckpt run: checkpoint failed: " + e.getMessage());
      err.flush();
      return false;
    }
  }

  private static void handle(String signal, Runnable action, PrintWriter err) {
    try {
      // Named in full, not imported: javadoc warns about an import of sun.misc whatever its options.
      sun.misc.Signal.handle(new sun.misc.Signal(signal), s -> action.run());
    } catch (IllegalArgumentException e) {
      err.println("ckpt run: cannot handle SIG" + signal + " in this JVM (" + e.getMessage()
          + "); start ckpt through ./ckpt, which sets _JAVA_SR_SIGNUM");
    }
  }
}
