package dev.ckpt.linux;

import java.nio.file.Path;

/**
 * Where a launched or restored process's standard streams go: a file each, or {@code null} to
 * inherit the JVM's. Output files are appended to.
 *
 * @param directory the working directory of a launched process; {@code null} for the JVM's
 */
public record Stdio(Path stdin, Path stdout, Path stderr, Path directory) {

  public static Stdio inherit() {
    return new Stdio(null, null, null, null);
  }

  public static Stdio files(Path stdin, Path stdout, Path stderr) {
    return new Stdio(stdin, stdout, stderr, null);
  }

  public Stdio in(Path dir) {
    return new Stdio(stdin, stdout, stderr, dir);
  }
}
