package dev.ckpt.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ckpt.CheckpointException;
import dev.ckpt.CheckpointInfo;
import dev.ckpt.Checkpointer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real full disk: the store lives on an 8 MiB tmpfs, and a checkpoint that does not fit must
 * fail with ENOSPC named, leaving the previous checkpoint restorable.
 */
class DiskFullIT {
  @TempDir
  Path dir;
  Path mount;

  private static String run(String... cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new AssertionError("'" + String.join(" ", cmd) + "' failed: " + out
          + "\nThis test needs to mount a small tmpfs: run it as root (or with CAP_SYS_ADMIN).");
    }
    return out;
  }

  @BeforeEach
  void mountSmallFilesystem() throws Exception {
    mount = dir.resolve("small");
    Files.createDirectory(mount);
    run("mount", "-t", "tmpfs", "-o", "size=8m,mode=0700", "ckpt-enospc-test", mount.toString());
  }

  @AfterEach
  void unmount() throws Exception {
    run("umount", mount.toString());
  }

  @Test
  void checkpointThatDoesNotFit_failsWithEnospc_andPreviousCheckpointSurvives() throws Exception {
    ByteBuffer state = ByteBuffer.allocateDirect(3 << 20);
    byte[] firstContent = new byte[state.capacity()];
    new Random(1).nextBytes(firstContent);
    state.put(0, firstContent);
    try (Checkpointer ckpt = Checkpointer.builder().store(mount.toUri()).job("full").registerSegment("s", state).build()) {
      CheckpointInfo first = ckpt.checkpoint();

      byte[] bigger = new byte[state.capacity()];
      new Random(2).nextBytes(bigger);
      state.put(0, bigger);
      // 3 MiB of new random data on top of 3 MiB used cannot fit once a filler takes the rest.
      Files.write(mount.resolve(".filler"), new byte[2 << 20]);
      CheckpointException e = assertThrows(CheckpointException.class, ckpt::checkpoint);
      assertTrue(e.getMessage().contains("No space left on device") && e.getMessage().contains("full/packs/"),
          e.getMessage());

      assertEquals(first.id(), ckpt.latest().orElseThrow().id());
      state.put(0, new byte[state.capacity()]);
      ckpt.restoreLatest();
      byte[] back = new byte[state.capacity()];
      state.get(0, back);
      assertArrayEquals(firstContent, back);

      // Space freed: the next checkpoint commits, and the aborted one left nothing behind.
      Files.delete(mount.resolve(".filler"));
      state.put(0, bigger);
      assertEquals(first.id() + 1, ckpt.checkpoint().id());
    }
  }
}
