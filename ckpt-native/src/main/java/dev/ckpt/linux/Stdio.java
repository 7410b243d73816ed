package dev.ckpt.linux;

import java.nio.file.Path;

/**
 * Where a launched or restored process's standard streams go: a file each, or {@code null} to
 * inherit the JVM's. Output files are appended to.
 *
 * @param stdin the file read as standard input, or {@code null}
 * @param stdout the file standard output is appended to, or {@code null}
 * @param stderr the file standard error is appended to, or {@code null}
 * @param directory the working directory of a launched process; {@code null} for the JVM's
 */
public record Stdio(Path stdin, Path stdout, Path stderr, Path directory) {

  /**
   * Every stream inherited from the JVM, and its working directory.
   *
   * @return the inheriting settings
   */
  public static Stdio inherit() {
    return new Stdio(null, null, null, null);
  }

  /**
   * A file for each stream, in the JVM's working directory.
   *
   * @param stdin the file read as standard input, or {@code null} to inherit
   * @param stdout the file standard output is appended to, or {@code null} to inherit
   * @param stderr the file standard error is appended to, or {@code null} to inherit
   * @return the settings
   */
  public static Stdio files(Path stdin, Path stdout, Path stderr) {
    return new Stdio(stdin, stdout, stderr, null);
  }

  /**
   * These streams, with {@code dir} as the working directory of a launched process.
   *
   * @param dir the working directory, or {@code null} for the JVM's
   * @return new settings
   */
  public Stdio in(Path dir) {
    return new Stdio(stdin, stdout, stderr, dir);
  }
}
