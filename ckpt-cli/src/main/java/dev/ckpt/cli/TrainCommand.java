package dev.ckpt.cli;

import dev.ckpt.CheckpointInfo;
import dev.ckpt.CheckpointStore;
import dev.ckpt.ImageReader;
import dev.ckpt.linux.Mode;
import dev.ckpt.linux.NativeCheckpointer;
import dev.ckpt.linux.RestoredProcess;
import dev.ckpt.linux.Stdio;
import dev.ckpt.linux.TracedProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;

/**
 * Hidden: exercises dump, inspect, verify, restore, ls and gc once on a throwaway process and
 * store, so that the {@code ckpt} launcher can record the classes they load in a class-data
 * sharing archive (-XX:ArchiveClassesAtExit) and start every later command from it.
 */
@Command(name = "cds-training", hidden = true, description = "Exercise every command once for a CDS archive.")
final class TrainCommand implements Callable<Integer> {
  @Override
  public Integer call() throws Exception {
    Path dir = Files.createTempDirectory("ckpt-cds-");
    try {
      java.net.URI uri = java.net.URI.create(dir.resolve("store").toUri() + "?create=true");
      Stdio quiet = Stdio.files(Path.of("/dev/null"), Path.of("/dev/null"), Path.of("/dev/null"));
      try (NativeCheckpointer ckpt = NativeCheckpointer.builder().store(uri).job("train").build()) {
        TracedProcess p = ckpt.launch(quiet, "/bin/sleep", "30");
        CheckpointInfo c = ckpt.checkpoint(p, Mode.VACATE);
        p.waitFor(Duration.ofSeconds(10));
        try (ImageReader r = ckpt.store().open("train", c.id())) {
          NativeCheckpointer.describe(r);
        }
        ckpt.store().verify("train", c.id());
        RestoredProcess r = ckpt.restore("train", quiet);
        r.kill();
        r.waitFor(Duration.ofSeconds(10));
        ckpt.store().checkpoints("train");
        ckpt.store().gc("train");
      }
      try (CheckpointStore s = CheckpointStore.open(uri)) {
        s.jobs();
      }
      return 0;
    } finally {
      try (Stream<Path> files = Files.walk(dir)) {
        files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
      }
    }
  }
}
