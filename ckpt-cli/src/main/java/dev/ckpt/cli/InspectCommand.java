package dev.ckpt.cli;

import dev.ckpt.CheckpointInfo;
import dev.ckpt.CheckpointStore;
import dev.ckpt.ImageReader;
import dev.ckpt.PartInfo;
import dev.ckpt.linux.NativeCheckpointer;
import dev.ckpt.linux.ProcessSummary;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "inspect", description = "Show what an image holds: maps, registers, fds, signals, the files it needs.")
final class InspectCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Mixin
  Cli.StoreOption store;

  @Parameters(index = "0", paramLabel = "JOB[@ID]")
  String ref;

  @Option(names = "--json", description = "Print JSON.")
  boolean json;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    try (CheckpointStore s = store.open()) {
      CheckpointInfo c = Cli.Ref.parse(ref).resolve(s);
      try (ImageReader r = s.open(c.job(), c.id())) {
        Map<String, Object> m = new LinkedHashMap<>(Cli.json(c));
        List<Object> parts = new ArrayList<>();
        for (PartInfo p : r.parts()) {
          parts.add(Map.of("name", p.name(), "size", p.size()));
        }
        m.put("parts", parts);
        if ("process".equals(r.attributes().get("kind"))) {
          ProcessSummary p = NativeCheckpointer.describe(r);
          m.put("exe", p.exe());
          m.put("cwd", p.cwd());
          m.put("registers", p.registers());
          m.put("maps", p.mappings());
          m.put("fds", p.fds());
          m.put("signals", p.signals());
          m.put("attributes", p.attributes());
          m.put("files", p.files());
        }
        if (json) {
          out.println(Cli.json(m));
          return 0;
        }
        out.printf("%s  %s  %s of state, %s stored (%s new)%s; %s%n", c.ref(), c.created(), Cli.size(c.logicalBytes()),
            Cli.size(c.referencedBytes()), Cli.size(c.newStoredBytes()), c.attributes().containsKey(CheckpointInfo.FROZEN_NANOS)
                ? String.format("; %s read, frozen %.1f ms, changes by %s", Cli.size(c.bytesRead()), c.frozen().toNanos() / 1e6,
                    c.changeTracking()) : "", c.keyId().map(k -> "encrypted with key " + k).orElse("not encrypted"));
        for (Map.Entry<String, Object> e : m.entrySet()) {
          if (e.getValue() instanceof List<?> l && !e.getKey().equals("parts")) {
            out.println(e.getKey() + ":");
            for (Object x : l) {
              out.println("  " + x);
            }
          } else if (List.of("exe", "cwd", "registers").contains(e.getKey())) {
            out.println(e.getKey() + ": " + e.getValue());
          }
        }
        if (!m.containsKey("exe")) {
          out.println("parts:");
          for (PartInfo p : r.parts()) {
            out.printf("  %-40s %10s%n", p.name(), Cli.size(p.size()));
          }
        }
        return 0;
      }
    }
  }
}
