package dev.ckpt.cli;

import dev.ckpt.CheckpointInfo;
import dev.ckpt.CheckpointStore;
import java.io.PrintWriter;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "ls", description = "List jobs and their checkpoints: time, size, new bytes, parent.")
final class LsCommand implements Callable<Integer> {
  private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss").withZone(ZoneId.systemDefault());

  @Spec
  CommandSpec spec;

  @Mixin
  Cli.StoreOption store;

  @Option(names = "--json", description = "Print JSON.")
  boolean json;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    try (CheckpointStore s = store.open()) {
      List<Object> all = new ArrayList<>();
      if (!json) {
        out.printf("%-24s %-20s %-8s %10s %10s %8s%n", "CHECKPOINT", "TIME", "KIND", "SIZE", "NEW", "PARENT");
      }
      for (String job : s.jobs()) {
        for (CheckpointInfo c : s.checkpoints(job)) {
          if (json) {
            all.add(Cli.json(c));
          } else {
            out.printf("%-24s %-20s %-8s %10s %10s %8s%n", c.ref(), TIME.format(c.created()),
                c.attributes().getOrDefault("kind", "?"), Cli.size(c.logicalBytes()), Cli.size(c.newStoredBytes()),
                c.parentId() == 0 ? "-" : Long.toString(c.parentId()));
          }
        }
      }
      if (json) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("store", s.uri().toString());
        m.put("checkpoints", all);
        out.println(Cli.json(m));
      }
      return 0;
    }
  }
}
