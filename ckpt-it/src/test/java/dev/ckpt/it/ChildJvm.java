package dev.ckpt.it;

import java.io.File;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Starts a main class of this test module in a new JVM, with this JVM's class path. */
final class ChildJvm {
  private ChildJvm() {}

  static Process start(Path stdout, List<String> jvmArgs, Class<?> main, String... args) throws IOException {
    return start(stdout, jvmArgs, main, args, java.util.Map.of());
  }

  static Process start(Path stdout, List<String> jvmArgs, Class<?> main, String[] args, java.util.Map<String, String> env)
      throws IOException {
    String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(jvmArgs);
    cmd.add("-cp");
    cmd.add(cp);
    cmd.add(main.getName());
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().putAll(env);
    pb.redirectOutput(stdout.toFile());
    pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    return pb.start();
  }
}
