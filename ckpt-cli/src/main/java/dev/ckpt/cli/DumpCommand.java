package dev.ckpt.cli;

import dev.ckpt.CheckpointInfo;
import dev.ckpt.CheckpointStore;
import dev.ckpt.linux.Mode;
import dev.ckpt.linux.NativeCheckpointer;
import dev.ckpt.linux.TracedProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "dump", description = "Checkpoint a running process once; prints the checkpoint (JOB@ID).")
final class DumpCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Mixin
  Cli.StoreOption store;

  @Parameters(index = "0", paramLabel = "PID", description = "The process, one of yours.")
  int pid;

  @Option(names = "--close-fds", description = "Leave descriptors ckpt cannot save (sockets, extra pipes) out of the image; the restored process finds them closed.")
  boolean closeFds;

  @Option(names = "--name", paramLabel = "JOB", description = "Job name. Default: the executable's name.")
  String name;

  @Option(names = "--kill", description = "Kill the process once the checkpoint is committed (vacate).")
  boolean kill;

  @Option(names = "--json", description = "Print JSON.")
  boolean json;

  @Option(names = "--quiet", description = "No progress bar.")
  boolean quiet;

  @Override
  public Integer call() throws Exception {
    if (pid <= 0) {
      throw new IllegalArgumentException("PID must be positive, got " + pid);
    }
    if (!Files.exists(Path.of("/proc", Integer.toString(pid)))) {
      throw new IllegalArgumentException("no process " + pid + " (nothing in /proc/" + pid + "); check the PID with ps");
    }
    String job = name;
    if (job == null) {
      job = Path.of(Files.readSymbolicLink(Path.of("/proc", Integer.toString(pid), "exe")).getFileName().toString())
          .toString().replaceAll("[^A-Za-z0-9_.-]", "_");
    }
    long rss = 0;
    for (String line : Files.readAllLines(Path.of("/proc", Integer.toString(pid), "status"))) {
      if (line.startsWith("VmRSS:")) {
        rss = Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
      }
    }
    try (ProgressBar bar = new ProgressBar(spec.commandLine().getErr(), "dump " + pid, rss, quiet || json);
         CheckpointStore s = store.open(bar);
         NativeCheckpointer ckpt = NativeCheckpointer.builder().store(s).job(job)
             .fdPolicy(closeFds ? dev.ckpt.linux.FdPolicy.CLOSE : dev.ckpt.linux.FdPolicy.FAIL).build()) {
      TracedProcess p = ckpt.attach(pid);
      CheckpointInfo c = ckpt.checkpoint(p, kill ? Mode.VACATE : Mode.CONTINUE);
      bar.close();
      if (json) {
        spec.commandLine().getOut().println(Cli.json(Cli.json(c)));
      } else {
        spec.commandLine().getOut().println(c.ref());
        spec.commandLine().getErr().printf("checkpointed pid %d as %s: %s of memory, %s read, %s stored; frozen %.1f ms"
            + " of %.1f ms (%s)%s%n", pid, c.ref(), Cli.size(c.logicalBytes()), Cli.size(c.bytesRead()),
            Cli.size(c.newStoredBytes()), c.frozen().toNanos() / 1e6, c.duration().toNanos() / 1e6, c.changeTracking(),
            kill ? "; process killed" : "");
      }
      return 0;
    }
  }
}
