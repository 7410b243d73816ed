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
    return run(false, main, seconds, args);
  }

  /**
   * As {@link #run}, in a user namespace of its own (uids and gids 0-65535 mapped to the same
   * host ids) whose user.max_user_namespaces is 0: nobody there cannot create a user namespace,
   * as on a machine where they are disabled. (Root here may not change the host's sysctl.)
   */
  Result runWithoutUserNamespaces(Class<?> main, int seconds, String... args) throws IOException, InterruptedException {
    return run(true, main, seconds, args);
  }

  private Result run(boolean noUserNamespaces, Class<?> main, int seconds, String... args)
      throws IOException, InterruptedException {
    Path log = Files.createTempFile(shared, "log-", ".txt");
    List<String> cmd = new ArrayList<>();
    if (noUserNamespaces) {
      // The shell that waits for the id maps is exec'd again once they are written: an exec
      // under the unmapped uid dropped its capabilities in the namespace.
      Path inner = shared.resolve("no-user-namespaces.sh");
      Files.writeString(inner, "echo 0 > /proc/sys/user/max_user_namespaces || exit 9\nexec \"$@\"\n");
      cmd.addAll(List.of("unshare", "--user", "--fork", "sh", "-c", "read go && exec sh \"$0\" \"$@\"", inner.toString()));
    }
    cmd.addAll(List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--reset-env",
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Djna.tmpdir=" + shared,
        "-Duser.home=" + shared, "-Djava.io.tmpdir=" + shared, "-cp", String.join(File.pathSeparator, classPath),
        main.getName()));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).directory(shared.toFile());
    Process p = pb.start();
    if (noUserNamespaces) {
      mapIdsOfChild(p);
    }
    boolean done = p.waitFor(seconds, TimeUnit.SECONDS);
    if (!done) {
      p.destroyForcibly().waitFor();
    }
    String out = Files.readString(log);
    assertTrue(done, main.getSimpleName() + " running as nobody did not finish in " + seconds + " s:\n" + out);
    return new Result(p.exitValue(), out);
  }

  /** Maps ids 0-65535 of the namespace unshare's child made, then lets the child go on. */
  private static void mapIdsOfChild(Process unshare) throws IOException, InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    java.util.Optional<ProcessHandle> child = java.util.Optional.empty();
    while (child.isEmpty() && System.nanoTime() < deadline) {
      child = unshare.toHandle().children().findFirst();
      if (child.isEmpty()) {
        Thread.sleep(10);
      }
    }
    assertTrue(child.isPresent(), "unshare made no child in 10 s");
    Path proc = Path.of("/proc", Long.toString(child.get().pid()));
    Files.writeString(proc.resolve("uid_map"), "0 0 65536\n");
    Files.writeString(proc.resolve("gid_map"), "0 0 65536\n");
    unshare.getOutputStream().write("go\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
    unshare.getOutputStream().close();
  }

  record Result(int exitCode, String output) {}

  @Override
  public void close() throws IOException, InterruptedException {
    new ProcessBuilder("rm", "-rf", shared.toString()).start().waitFor();
  }
}
