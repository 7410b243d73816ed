package dev.ckpt.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A 4 GiB image checkpoints and restores in JVMs limited to a 256 MiB heap. */
class BoundedMemoryIT {
  @TempDir
  Path dir;

  @Test
  @Timeout(value = 10, unit = TimeUnit.MINUTES)
  void fourGibImage_dumpsAndRestores_within256MibHeap() throws Exception {
    Path root = dir.resolve("store");
    Files.createDirectory(root);
    List<String> jvm = List.of("-Xmx256m", "-XX:+ExitOnOutOfMemoryError");
    for (String mode : List.of("dump", "restore")) {
      Path log = dir.resolve(mode + ".log");
      Process p = ChildJvm.start(log, jvm, BigImageMain.class, root.toUri().toString(), mode);
      assertTrue(p.waitFor(8, TimeUnit.MINUTES), mode + " did not finish: " + Files.readString(log));
      String out = Files.readString(log);
      System.out.print(mode + ": " + out);
      assertEquals(0, p.exitValue(), mode + " failed:\n" + out);
      assertTrue(out.contains(mode.equals("dump") ? "dumped 4294967296" : "restored and verified 4294967296"), out);
    }
  }
}
