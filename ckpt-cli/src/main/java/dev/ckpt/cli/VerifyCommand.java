package dev.ckpt.cli;

import dev.ckpt.CheckpointInfo;
import dev.ckpt.CheckpointStore;
import dev.ckpt.ConsistencyResult;
import dev.ckpt.VerifyResult;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "verify", description = {"Read every chunk of a checkpoint and check it; exit 1 on any damage.",
    "With --all: every checkpoint of every job, and the store's own consistency (unreadable manifests, packs referenced"
        + " but missing; what gc will clean is noted)."})
final class VerifyCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Mixin
  Cli.StoreOption store;

  @Parameters(index = "0", paramLabel = "JOB[@ID]", arity = "0..1")
  String ref;

  @Option(names = "--all", description = "Verify every checkpoint of every job, and the store's consistency.")
  boolean all;

  @Override
  public Integer call() throws Exception {
    if (all == (ref != null)) {
      throw new IllegalArgumentException("give either JOB[@ID] or --all");
    }
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    try (CheckpointStore s = store.open()) {
      if (!all) {
        CheckpointInfo c = Cli.Ref.parse(ref).resolve(s);
        VerifyResult v = s.verify(c.job(), c.id());
        if (v.ok()) {
          out.printf("%s: ok, %d chunks verified%n", c.ref(), v.chunksChecked());
          return 0;
        }
        for (String p : v.problems()) {
          err.println("ckpt verify: " + p);
        }
        err.printf("ckpt verify: %s is damaged (%d problems); restore an older checkpoint "
            + "(ckpt ls) or re-run the job%n", c.ref(), v.problems().size());
        return 1;
      }
      int jobs = 0;
      int checkpoints = 0;
      int problems = 0;
      for (String job : s.jobs()) {
        jobs++;
        ConsistencyResult cr;
        try {
          cr = s.checkConsistency(job);
        } catch (dev.ckpt.CheckpointException e) {
          err.println("ckpt verify: job " + job + ": " + e.getMessage());
          problems++;
          continue;
        }
        for (String n : cr.notes()) {
          out.println("note: " + n);
        }
        for (String p : cr.problems()) {
          err.println("ckpt verify: " + p);
          problems++;
        }
        for (CheckpointInfo c : cr.checkpoints()) {
          checkpoints++;
          VerifyResult v;
          try {
            v = s.verify(c.job(), c.id());
          } catch (dev.ckpt.CheckpointException e) {
            err.println("ckpt verify: " + c.ref() + ": " + e.getMessage());
            problems++;
            continue;
          }
          if (v.ok()) {
            out.printf("%s: ok, %d chunks verified%n", c.ref(), v.chunksChecked());
          } else {
            for (String p : v.problems()) {
              err.println("ckpt verify: " + c.ref() + ": " + p);
            }
            problems += v.problems().size();
          }
        }
      }
      if (problems == 0) {
        out.printf("verified %d checkpoints of %d jobs and the store's consistency: all ok%n", checkpoints, jobs);
        return 0;
      }
      err.printf("ckpt verify: %d problems in %d checkpoints of %d jobs%n", problems, checkpoints, jobs);
      return 1;
    }
  }
}
