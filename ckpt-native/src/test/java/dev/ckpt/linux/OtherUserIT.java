package dev.ckpt.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
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
    try (AsNobody nobody = new AsNobody("this test")) {
      Path store = nobody.directory("store");
      Process victim = new ProcessBuilder("sleep", "60").start();
      try {
        AsNobody.Result r = nobody.run(AttachAsOtherUserMain.class, 60, Long.toString(victim.pid()), store.toUri().toString());
        assertEquals(0, r.exitCode(), r.output());
        assertTrue(r.output().contains("pid " + victim.pid()) && r.output().contains("EPERM"), r.output());
      } finally {
        victim.destroyForcibly();
      }
    }
  }
}
