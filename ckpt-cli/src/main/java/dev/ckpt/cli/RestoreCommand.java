package dev.ckpt.cli;

import dev.ckpt.CheckpointInfo;
import dev.ckpt.CheckpointNotFoundException;
import dev.ckpt.CheckpointStore;
import dev.ckpt.linux.NativeCheckpointer;
import dev.ckpt.linux.RestoredProcess;
import dev.ckpt.linux.Stdio;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "restore", description = "Resume a checkpointed process: the latest checkpoint, or the one given.")
final class RestoreCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Mixin
  Cli.StoreOption store;

  @Parameters(index = "0", arity = "0..1", paramLabel = "JOB[@ID]", description = "Default: the newest checkpoint of any job.")
  String ref;

  @Option(names = "--detach", description = "Print the new pid and return at once.")
  boolean detach;

  @Option(names = "--stdout", paramLabel = "FILE", description = "Where stdout goes if it was a pipe or terminal (appended).")
  Path stdout;

  @Option(names = "--stderr", paramLabel = "FILE", description = "Where stderr goes if it was a pipe or terminal (appended).")
  Path stderr;

  @Option(names = "--quiet", description = "No progress bar.")
  boolean quiet;

  @Option(names = "--no-verify", description = "Let the process run without first comparing its rebuilt state with the image.")
  boolean noVerify;

  @Override
  public Integer call() throws Exception {
    CheckpointInfo target;
    try (CheckpointStore s = store.open()) {
      target = pick(s);
    }
    RestoredProcess p;
    try (ProgressBar bar = new ProgressBar(spec.commandLine().getErr(), "restore " + target.ref(), target.bytesScanned(), quiet);
         CheckpointStore s = store.open(bar);
         NativeCheckpointer ckpt = NativeCheckpointer.builder().store(s).job(target.job()).verifyRestore(!noVerify).build()) {
      p = ckpt.restore(target.job(), target.id(), new Stdio(null, stdout, stderr, null));
      bar.close();
      if (detach) {
        spec.commandLine().getOut().println(p.pid());
        return 0;
      }
      spec.commandLine().getErr().printf("restored %s as pid %d%n", target.ref(), p.pid());
      spec.commandLine().getErr().flush();
      return p.waitFor();
    }
  }

  private CheckpointInfo pick(CheckpointStore s) throws Exception {
    CheckpointInfo target;
      if (ref == null) {
        CheckpointInfo newest = null;
        for (String job : s.jobs()) {
          CheckpointInfo c = s.latest(job).orElse(null);
          if (c != null && "process".equals(c.attributes().get("kind"))
              && (newest == null || Comparator.comparing(CheckpointInfo::created).compare(c, newest) > 0)) {
            newest = c;
          }
        }
        if (newest == null) {
          throw new CheckpointNotFoundException("no process checkpoint in " + s.uri() + "; make one with 'ckpt dump PID'");
        }
        target = newest;
      } else {
        target = Cli.Ref.parse(ref).resolve(s);
      }
      return target;
  }
}
