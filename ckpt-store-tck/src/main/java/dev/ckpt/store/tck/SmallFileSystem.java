package dev.ckpt.store.tck;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real small file system for the disk-full row of the fault matrix: a tmpfs of a few MiB
 * mounted on a directory, unmounted on close. Mounting needs root or CAP_SYS_ADMIN; without it
 * the test fails saying so.
 */
public final class SmallFileSystem implements AutoCloseable {
  private final Path dir;

  private SmallFileSystem(Path dir) {
    this.dir = dir;
  }

  /**
   * Mounts a tmpfs of {@code mib} MiB on {@code dir}, which is created if missing.
   *
   * @param dir where to mount it
   * @param mib its size
   * @return the mounted file system
   * @throws IOException if it cannot be mounted
   * @throws InterruptedException if interrupted while mount runs
   */
  public static SmallFileSystem mount(Path dir, int mib) throws IOException, InterruptedException {
    Files.createDirectories(dir);
    run("mount", "-t", "tmpfs", "-o", "size=" + mib + "m,mode=0700", "ckpt-fault-matrix", dir.toString());
    return new SmallFileSystem(dir);
  }

  /**
   * The mount point.
   *
   * @return the directory the file system is mounted on
   */
  public Path dir() {
    return dir;
  }

  @Override
  public void close() throws IOException, InterruptedException {
    run("umount", dir.toString());
  }

  private static void run(String... cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IOException("'" + String.join(" ", List.of(cmd)) + "' failed: " + out
          + "; the disk-full row mounts a small tmpfs: run it as root (or with CAP_SYS_ADMIN)");
    }
  }
}
