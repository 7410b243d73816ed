package dev.ckpt.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** The compiled C test programs and reference runs of any program. */
final class Programs {
  private Programs() {}

  static String path(String name) {
    String dir = System.getProperty("ckpt.testPrograms");
    if (dir == null) {
      throw new AssertionError("system property ckpt.testPrograms is not set: run the tests through Maven, which compiles the C test programs with gcc");
    }
    Path p = Path.of(dir, name);
    if (!Files.isExecutable(p)) {
      throw new AssertionError("test program " + p + " is missing: the build compiles it with gcc (src/test/c/build.sh)");
    }
    return p.toString();
  }

  static String require(String program) {
    for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
      Path p = Path.of(dir, program);
      if (Files.isExecutable(p) && !p.toString().contains("/.pyenv/")) {
        return p.toString();
      }
    }
    Path p = Path.of("/usr/bin", program);
    if (Files.isExecutable(p)) {
      return p.toString();
    }
    throw new AssertionError(program + " is not installed: ./scripts/test installs the Debian packages the tests need");
  }

  /** Runs {@code command} to the end without ckpt and returns what it wrote to stdout. */
  static byte[] reference(Path dir, Path stdin, String... command) throws IOException, InterruptedException {
    Path out = Files.createTempFile(dir, "reference-", ".out");
    ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile()).redirectOutput(out.toFile())
        .redirectError(ProcessBuilder.Redirect.INHERIT)
        .redirectInput(stdin == null ? ProcessBuilder.Redirect.from(new File("/dev/null")) : ProcessBuilder.Redirect.from(stdin.toFile()));
    Process p = pb.start();
    assertTrue(p.waitFor(120, TimeUnit.SECONDS), "reference run of " + List.of(command) + " timed out");
    assertEquals(0, p.exitValue(), "reference run of " + List.of(command) + " failed");
    return Files.readAllBytes(out);
  }

  static List<String> cmd(String... parts) {
    return new ArrayList<>(List.of(parts));
  }
}
