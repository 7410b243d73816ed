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
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "run", description = {"Run CMD under periodic checkpoints, or resume it from the job's newest checkpoint.",
    "SIGTERM or SIGTSTP to ckpt = vacate: checkpoint, then stop CMD and exit (with --vacate-exit-code).",
    "SIGUSR1 or SIGUSR2 = checkpoint now and go on (a batch scheduler's early warning); with --requeue, SIGUSR1 = vacate"
        + " and requeue.",
    "A SIGTERM sent to CMD itself by another process is held for up to --grace: a scheduler that evicts the job"
        + " signals every process of it, and CMD is vacated before it takes the signal."})
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

  @Option(names = "--requeue", description = "Under Slurm: after a vacate, ask Slurm to queue the job again"
      + " (scontrol requeue $SLURM_JOB_ID), and take SIGUSR1 (sbatch --signal=B:USR1@SECONDS, the warning before the time"
      + " limit) as a vacate followed by that requeue.")
  boolean requeue;

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
    String slurmJob = System.getenv("SLURM_JOB_ID");
    if (requeue && (slurmJob == null || !slurmJob.matches("[0-9]+"))) {
      throw new IllegalArgumentException("--requeue asks Slurm to requeue the job, but SLURM_JOB_ID is "
          + (slurmJob == null ? "not set" : "'" + slurmJob + "'") + ": run it inside a Slurm batch job (sbatch)");
    }
    Duration graceTime = Cli.duration(grace);
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
             .fdPolicy(closeFds ? dev.ckpt.linux.FdPolicy.CLOSE : dev.ckpt.linux.FdPolicy.FAIL)
             .holdSigterm(!canHandle("TERM") ? Duration.ZERO : graceTime.compareTo(Duration.ofMinutes(10)) > 0
                 ? Duration.ofMinutes(10) : graceTime).build()) {
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
      Runnable periodic = () -> checkpoint(ckpt, s, p, Mode.CONTINUE, job, err);
      timer.scheduleWithFixedDelay(periodic, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
      handle("USR2", () -> timer.execute(periodic), err);
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
        if (requeue) {
          requeue(slurmJob, err);
        }
        vacated.complete(true);
      });
      handle("USR1", requeue ? vacate : () -> timer.execute(periodic), err);
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

  /**
   * Whether this JVM lets ckpt handle {@code signal}: without a handler for SIGTERM there is no
   * vacate for CMD's held SIGTERM to wait for, so it is not held.
   */
  private static boolean canHandle(String signal) {
    try {
      // Put back at once: until ckpt's own handler is set, the signal acts as it did, not ignored.
      sun.misc.Signal sig = new sun.misc.Signal(signal);
      sun.misc.Signal.handle(sig, sun.misc.Signal.handle(sig, s -> { }));
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  /**
   * Asks Slurm to queue the job again if it is still running: the vacate was ckpt's own decision
   * (the time-limit warning) or came from outside Slurm. A job Slurm is already ending (scancel,
   * which must end it, a time limit, a preemption) or has queued again is left as it is; Slurm
   * would requeue even a cancelled one. A refusal is reported, not an error.
   */
  private static void requeue(String slurmJob, PrintWriter err) {
    try {
      Scontrol show = scontrol("-o", "show", "job", slurmJob);
      Matcher state = Pattern.compile("JobState=(\\S+)").matcher(show.out());
      if (show.code() == 0 && state.find() && !state.group(1).equals("RUNNING")) {
        // COMPLETING: Slurm is ending the job (scancel, a time limit, a preemption); PENDING: it
        // has already queued it again (scontrol requeue).
        err.println("ckpt run: Slurm job " + slurmJob + " is " + state.group(1) + ", not running; not requeued");
      } else {
        Scontrol r = scontrol("requeue", slurmJob);
        err.println(r.code() == 0 ? "ckpt run: Slurm job " + slurmJob + " requeued"
            : "ckpt run: Slurm did not requeue job " + slurmJob + " (scontrol: " + r.out() + ")");
      }
    } catch (java.io.IOException e) {
      err.println("ckpt run: cannot run scontrol to requeue job " + slurmJob + ": " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    err.flush();
  }

  private record Scontrol(int code, String out) {}

  private static Scontrol scontrol(String... args) throws java.io.IOException, InterruptedException {
    List<String> cmd = new java.util.ArrayList<>(List.of("scontrol"));
    cmd.addAll(List.of(args));
    // Its output to a file, read once it has exited: a hung scontrol must not hold the vacate past 30 s.
    Path out = java.nio.file.Files.createTempFile("ckpt-scontrol-", ".out");
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile()).start();
      if (!p.waitFor(30, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return new Scontrol(-1, "no answer in 30 s");
      }
      return new Scontrol(p.exitValue(), java.nio.file.Files.readString(out).trim());
    } finally {
      java.nio.file.Files.deleteIfExists(out);
    }
  }

  private static void handle(String signal, Runnable action, PrintWriter err) {
    try {
      // Named in full, not imported: javadoc warns about an import of sun.misc whatever its options.
      sun.misc.Signal.handle(new sun.misc.Signal(signal), s -> {
        try {
          action.run();
        } catch (java.util.concurrent.RejectedExecutionException ending) {
          // ckpt run is ending (the job finished or was vacated): nothing left to do for it.
        }
      });
    } catch (IllegalArgumentException e) {
      err.println("ckpt run: cannot handle SIG" + signal + " in this JVM (" + e.getMessage()
          + "); start ckpt through ./ckpt, which sets _JAVA_SR_SIGNUM");
    }
  }
}
