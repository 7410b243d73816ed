package dev.ckpt.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ckpt.CheckpointInfo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.OptionalInt;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NativeCheckpointIT {
  @TempDir
  Path dir;

  NativeCheckpointer checkpointer(String job) throws Exception {
    return NativeCheckpointer.builder().store(dir.resolve("store").toUri().resolve("?create=true")).job(job).build();
  }

  @Test
  void counter_checkpointedAndVacated_continuesAfterRestore() throws Exception {
    String prog = Programs.path("counter");
    String expected = Programs.reference(dir, null, prog, "200", "5");
    Path out = dir.resolve("counter.out");
    try (NativeCheckpointer ckpt = checkpointer("counter")) {
      TracedProcess p = ckpt.launch(Stdio.files(null, out, null).in(dir), prog, "200", "5");
      Thread.sleep(300 + new Random().nextInt(300));
      CheckpointInfo info = ckpt.checkpoint(p, Mode.VACATE);
      assertTrue(info.newChunks() > 0);
      OptionalInt code = p.waitFor(Duration.ofSeconds(10));
      assertTrue(code.isPresent(), "vacated process still running");
      RestoredProcess r = ckpt.restore("counter");
      assertEquals(0, r.waitFor());
    }
    assertEquals(expected, Files.readString(out));
  }
}
