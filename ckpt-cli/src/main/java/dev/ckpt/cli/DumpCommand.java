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

  @Option(names = "--name", paramLabel = "JOB", description = "Job name. Default: the executable's name.")
  String name;

  @Option(names = "--kill", description = "Kill the process once the checkpoint is committed (vacate).")
  boolean kill;

  @Option(names = "--json", description = "Print JSON.")
  boolean json;

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
    try (CheckpointStore s = store.open();
         NativeCheckpointer ckpt = NativeCheckpointer.builder().store(s).job(job).build()) {
      TracedProcess p = ckpt.attach(pid);
      CheckpointInfo c = ckpt.checkpoint(p, kill ? Mode.VACATE : Mode.CONTINUE);
      if (json) {
        spec.commandLine().getOut().println(Cli.json(Cli.json(c)));
      } else {
        spec.commandLine().getOut().println(c.ref());
        spec.commandLine().getErr().printf("checkpointed pid %d as %s: %s of memory, %s stored%s%n", pid, c.ref(),
            Cli.size(c.logicalBytes()), Cli.size(c.newStoredBytes()), kill ? "; process killed" : "");
      }
      return 0;
    }
  }
}
