package dev.ckpt.linux;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs a test's main class as user nobody (setpriv), so that "no privileges" is tested, not
 * assumed. The class path is copied into a directory nobody can read; the test must run as root
 * to switch users (it does in ./scripts/test).
 */
final class AsNobody implements AutoCloseable {
  final Path shared;
  private final List<String> classPath = new ArrayList<>();

  AsNobody(String what) throws IOException, InterruptedException {
    if (!System.getProperty("user.name").equals("root")) {
      throw new AssertionError(what + " switches to user nobody with setpriv and must run as root (it does in ./scripts/test)");
    }
    shared = Files.createTempDirectory("ckpt-nobody-");
    Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxrwxrwx"));
    int i = 0;
    for (String entry : System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")).split(File.pathSeparator)) {
      Path src = Path.of(entry);
      if (!Files.exists(src)) {
        continue;
      }
      Path dst = shared.resolve("cp" + (i++) + (Files.isDirectory(src) ? "" : ".jar"));
      new ProcessBuilder("cp", "-r", src.toString(), dst.toString()).start().waitFor();
      classPath.add(dst.toString());
    }
    new ProcessBuilder("chmod", "-R", "a+rX", shared.toString()).start().waitFor();
  }

  /** A directory nobody may write. */
  Path directory(String name) throws IOException {
    Path d = Files.createDirectories(shared.resolve(name));
    Files.setPosixFilePermissions(d, PosixFilePermissions.fromString("rwxrwxrwx"));
    return d;
  }

  /** A copy of a file (a test program) that nobody may run. */
  Path copy(String file) throws IOException {
    Path dst = shared.resolve(Path.of(file).getFileName());
    Files.copy(Path.of(file), dst);
    Files.setPosixFilePermissions(dst, PosixFilePermissions.fromString("rwxr-xr-x"));
    return dst;
  }

  /** Runs {@code main} as nobody, waits up to {@code seconds}, and returns its exit code and output. */
  Result run(Class<?> main, int seconds, String... args) throws IOException, InterruptedException {
    Path log = Files.createTempFile(shared, "log-", ".txt");
    List<String> cmd = new ArrayList<>(List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--reset-env",
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Djna.tmpdir=" + shared,
        "-Duser.home=" + shared, "-Djava.io.tmpdir=" + shared, "-cp", String.join(File.pathSeparator, classPath),
        main.getName()));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).directory(shared.toFile()).start();
    boolean done = p.waitFor(seconds, TimeUnit.SECONDS);
    if (!done) {
      p.destroyForcibly().waitFor();
    }
    String out = Files.readString(log);
    assertTrue(done, main.getSimpleName() + " running as nobody did not finish in " + seconds + " s:\n" + out);
    return new Result(p.exitValue(), out);
  }

  record Result(int exitCode, String output) {}

  @Override
  public void close() throws IOException, InterruptedException {
    new ProcessBuilder("rm", "-rf", shared.toString()).start().waitFor();
  }
}
