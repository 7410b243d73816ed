package dev.ckpt.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An application that checkpoints only its own state, written as a named module and run on the
 * module path with ckpt-api, the local store and their own dependencies (Kryo and its three,
 * LZ4, the SLF4J API) and nothing else: no JNA. It opens its package (unqualified, as the README
 * says) so that Kryo can build its state objects.
 */
class NamedModuleConsumerIT {
  @TempDir
  Path dir;

  private static final String MODULE_INFO = """
      module consumer {
        requires dev.ckpt;
        opens consumer;
      }
      """;

  private static final String MAIN = """
      package consumer;

      import dev.ckpt.Checkpointable;
      import dev.ckpt.Checkpointer;
      import java.nio.ByteBuffer;
      import java.nio.file.Path;

      public final class Main {
        static final class State {
          long steps;
          String label;
        }

        public static void main(String[] args) throws Exception {
          ByteBuffer segment = ByteBuffer.allocateDirect(1 << 20);
          State[] held = {new State()};
          Checkpointable<State> state = new Checkpointable<>() {
            @Override
            public State captureState() {
              return held[0];
            }

            @Override
            public void restoreState(State s) {
              held[0] = s;
            }
          };
          try (Checkpointer ckpt = Checkpointer.builder().store(Path.of(args[0]).toUri()).job("module")
              .register("state", state).registerSegment("segment", segment).kryoClasses(State.class).build()) {
            held[0].steps = 42;
            held[0].label = "named";
            segment.putLong(4096, 4242);
            ckpt.checkpointAsync().get();
            held[0] = new State();
            segment.putLong(4096, 0);
            ckpt.restoreLatest();
          }
          System.out.println("restored " + held[0].steps + " " + held[0].label + " " + segment.getLong(4096) + " from "
              + Checkpointer.class.getModule().getName() + ", jna " + ModuleLayer.boot().findModule("com.sun.jna").isPresent());
        }
      }
      """;

  @Test
  void namedModuleWithoutJna_checkpointsAndRestoresItsState() throws Exception {
    List<String> modulePath = new ArrayList<>();
    List<String> wanted = List.of("kryo-", "objenesis-", "reflectasm-", "minlog-", "lz4-java-", "slf4j-api-");
    for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
      Path p = Path.of(entry);
      String name = p.getFileName().toString();
      boolean ours = entry.contains("ckpt-api") || entry.contains("ckpt-store-local");
      if (ours || wanted.stream().anyMatch(name::startsWith)) {
        modulePath.add(entry);
      }
    }
    for (String w : List.of("ckpt-api", "ckpt-store-local", "kryo-", "objenesis-", "reflectasm-", "minlog-", "lz4-java-",
        "slf4j-api-")) {
      assertTrue(modulePath.stream().anyMatch(e -> e.contains(w)), "the test classpath has no " + w + ": " + modulePath);
    }
    Path src = Files.createDirectories(dir.resolve("src/consumer/consumer"));
    Files.writeString(src.getParent().resolve("module-info.java"), MODULE_INFO);
    Files.writeString(src.resolve("Main.java"), MAIN);
    Path out = dir.resolve("out/consumer");
    JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
    assertTrue(javac != null, "no Java compiler in this JDK");
    int compiled = javac.run(null, null, null, "--module-path", String.join(File.pathSeparator, modulePath), "-d",
        out.toString(), src.getParent().resolve("module-info.java").toString(), src.resolve("Main.java").toString());
    assertEquals(0, compiled, "the consumer module does not compile against ckpt-api without JNA");
    String java = ProcessHandle.current().info().command().orElseThrow();
    List<String> cmd = new ArrayList<>(List.of(java, "--module-path",
        out + File.pathSeparator + String.join(File.pathSeparator, modulePath), "-m", "consumer/consumer.Main",
        dir.resolve("store").toString()));
    Files.createDirectories(dir.resolve("store"));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the consumer did not end in 2 minutes");
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, p.exitValue(), output);
    assertTrue(output.contains("restored 42 named 4242 from dev.ckpt, jna false"), output);
  }
}
