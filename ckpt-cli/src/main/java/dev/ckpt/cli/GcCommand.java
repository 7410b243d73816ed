package dev.ckpt.cli;

import dev.ckpt.CheckpointStore;
import dev.ckpt.GcResult;
import dev.ckpt.Retention;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "gc", description = "Apply retention to every job, then delete chunks no checkpoint uses.")
final class GcCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Mixin
  Cli.StoreOption store;

  @Option(names = "--keep", paramLabel = "N", description = "Keep the newest N checkpoints of each job.")
  Integer keep;

  @Option(names = "--older-than", paramLabel = "DURATION", description = "Delete checkpoints older than this (30m, 7d); the newest always stays.")
  String olderThan;

  @Override
  public Integer call() throws Exception {
    if (keep != null && keep < 1) {
      throw new IllegalArgumentException("--keep must be at least 1, got " + keep);
    }
    Retention retention = null;
    if (keep != null || olderThan != null) {
      Duration age = olderThan == null ? Duration.ZERO : Cli.duration(olderThan);
      retention = new Retention(keep != null ? keep : (olderThan != null ? 1 : Integer.MAX_VALUE), age);
    }
    try (CheckpointStore s = store.open()) {
      for (String job : s.jobs()) {
        GcResult r = retention == null ? s.gc(job) : s.retain(job, retention);
        spec.commandLine().getOut().printf("%s: deleted %d checkpoints %s, %d packs (%s)%s%n", job,
            r.deletedCheckpoints().size(), r.deletedCheckpoints(), r.deletedPacks(), Cli.size(r.bytesFreed()),
            r.keptForGracePeriod() > 0 ? ", " + r.keptForGracePeriod() + " unreferenced packs wait out the grace period" : "");
        if (!r.brokenCheckpoints().isEmpty()) {
          // Kept, not deleted: the user decides, and verify says which packs are gone.
          spec.commandLine().getOut().printf("%s: checkpoints %s reference missing packs and cannot be restored;"
              + " kept, see ckpt verify %s@%d%n", job, r.brokenCheckpoints(), job, r.brokenCheckpoints().get(0));
        }
      }
      return 0;
    }
  }
}
