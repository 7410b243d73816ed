package dev.ckpt.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A process of another user is refused with EPERM named. The test runs a checkpointer as user
 * nobody (with setpriv) against a process of this user, so it needs root to switch users.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class OtherUserIT {

  @Test
  void processOfAnotherUser_isRefusedWithEpermNamed() throws Exception {
    if (!System.getProperty("user.name").equals("root")) {
      throw new AssertionError("this test switches to user nobody with setpriv and must run as root (it does in ./scripts/test)");
    }
    Path shared = Files.createTempDirectory("ckpt-other-user-");
    try {
      Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxrwxrwx"));
      // nobody cannot read /root/.m2: copy the class path somewhere it can.
      List<String> cp = new ArrayList<>();
      int i = 0;
      for (String entry : System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")).split(File.pathSeparator)) {
        Path src = Path.of(entry);
        if (!Files.exists(src)) {
          continue;
        }
        Path dst = shared.resolve("cp" + (i++) + (Files.isDirectory(src) ? "" : ".jar"));
        new ProcessBuilder("cp", "-r", src.toString(), dst.toString()).start().waitFor();
        cp.add(dst.toString());
      }
      new ProcessBuilder("chmod", "-R", "a+rX", shared.toString()).start().waitFor();
      Path store = Files.createDirectory(shared.resolve("store"));
      Files.setPosixFilePermissions(store, PosixFilePermissions.fromString("rwxrwxrwx"));
      Process victim = new ProcessBuilder("sleep", "60").start();
      try {
        Path log = shared.resolve("log");
        Process p = new ProcessBuilder("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--reset-env",
            Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Djna.tmpdir=" + shared,
            "-Duser.home=" + shared, "-cp", String.join(File.pathSeparator, cp), AttachAsOtherUserMain.class.getName(),
            Long.toString(victim.pid()), store.toUri().toString())
            .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the checkpointer running as nobody did not finish");
        String out = Files.readString(log);
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("pid " + victim.pid()) && out.contains("EPERM"), out);
      } finally {
        victim.destroyForcibly();
      }
    } finally {
      new ProcessBuilder("rm", "-rf", shared.toString()).start().waitFor();
    }
  }
}
