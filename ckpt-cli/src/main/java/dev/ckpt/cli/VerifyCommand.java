package dev.ckpt.cli;

import dev.ckpt.CheckpointInfo;
import dev.ckpt.CheckpointStore;
import dev.ckpt.VerifyResult;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "verify", description = "Read every chunk of a checkpoint and check its hash; exit 1 on any damage.")
final class VerifyCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Mixin
  Cli.StoreOption store;

  @Parameters(index = "0", paramLabel = "JOB[@ID]")
  String ref;

  @Override
  public Integer call() throws Exception {
    try (CheckpointStore s = store.open()) {
      CheckpointInfo c = Cli.Ref.parse(ref).resolve(s);
      VerifyResult v = s.verify(c.job(), c.id());
      if (v.ok()) {
        spec.commandLine().getOut().printf("%s: ok, %d chunks verified%n", c.ref(), v.chunksChecked());
        return 0;
      }
      for (String p : v.problems()) {
        spec.commandLine().getErr().println("ckpt verify: " + p);
      }
      spec.commandLine().getErr().printf("ckpt verify: %s is damaged (%d problems); restore an older checkpoint "
          + "(ckpt ls) or re-run the job%n", c.ref(), v.problems().size());
      return 1;
    }
  }
}
