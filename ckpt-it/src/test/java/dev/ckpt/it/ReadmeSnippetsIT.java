package dev.ckpt.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.tools.Diagnostic;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.SimpleJavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every Java snippet in the READMEs compiles as shown, against the modules this build made: its
 * own import lines must name every ckpt, JDK or library type it uses. Statements are compiled as
 * the body of a method of {@link #CONTEXT}, which stands for the reader's own code (their state
 * class, their loop, their registry); a snippet that declares a class is compiled as it is. The
 * XML snippets name only artifacts the BOM manages.
 */
class ReadmeSnippetsIT {
  @TempDir
  Path out;

  /** The reader's code that snippets lean on, with no imports of its own (so it lends none). */
  static final String CONTEXT = """
      abstract class ReadmeContext {
        static class ModelState { double[] values; }
        dev.ckpt.Checkpointable<ModelState> model;
        dev.ckpt.Checkpointer ckpt;
        dev.ckpt.CheckpointTarget target;
        io.micrometer.core.instrument.MeterRegistry registry;
        java.time.Clock clock;
        java.net.URI uri;
        java.nio.ByteBuffer buffer;
        software.amazon.awssdk.auth.credentials.AwsCredentialsProvider myCredentialsProvider;
        java.util.concurrent.ExecutorService myExecutor;
        boolean running;
        void step() { }
        boolean due() { return false; }
        void runTheApplication() { }
        void log(dev.ckpt.CheckpointEvent event) { }
      }

      /** A store plugin of the reader's, as the TCK snippet has one. */
      class MyStoreProvider implements dev.ckpt.spi.StoreProvider {
        public String scheme() { return "my"; }
        public dev.ckpt.spi.BlobStore open(java.net.URI uri) throws dev.ckpt.CheckpointException {
          throw new UnsupportedOperationException(uri.toString());
        }
      }
      """;

  private static final Pattern FENCE = Pattern.compile("(?m)^```(\\w*)\\n(.*?)^```", Pattern.DOTALL);
  private static final Pattern TYPE_DECLARATION = Pattern.compile("(?m)^(public\\s+|abstract\\s+|final\\s+)*(class|interface|record)\\s");

  /** A fenced block of one file, where it starts. */
  record Snippet(Path file, int line, String language, String text) {
    String where() {
      return file + " line " + line;
    }
  }

  static Path root() {
    Path p = Path.of("").toAbsolutePath();
    while (p != null && !Files.exists(p.resolve("ckpt-bom"))) {
      p = p.getParent();
    }
    assertTrue(p != null, "the repository root (with ckpt-bom) above " + Path.of("").toAbsolutePath());
    return p;
  }

  static List<Snippet> snippets(String language) throws IOException {
    Path root = root();
    List<Path> files = new ArrayList<>();
    files.add(root.resolve("README.md"));
    try (Stream<Path> s = Files.list(root)) {
      s.map(d -> d.resolve("README.md")).filter(Files::isRegularFile).sorted().forEach(files::add);
    }
    try (Stream<Path> s = Files.list(root.resolve("docs"))) {
      s.filter(f -> f.toString().endsWith(".md")).sorted().forEach(files::add);
    }
    List<Snippet> found = new ArrayList<>();
    for (Path f : files) {
      String text = Files.readString(f);
      Matcher m = FENCE.matcher(text);
      while (m.find()) {
        if (m.group(1).equals(language)) {
          int line = (int) text.substring(0, m.start()).lines().count() + 2; // the block's first line
          found.add(new Snippet(root.relativize(f), line, m.group(1), m.group(2)));
        }
      }
    }
    return found;
  }

  @Test
  void everyJavaSnippetCompilesWithItsOwnImports() throws Exception {
    List<Snippet> java = snippets("java");
    assertTrue(java.size() >= 15, "found only " + java.size() + " Java snippets: " + java);
    JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
    List<String> failures = new ArrayList<>();
    for (int i = 0; i < java.size(); i++) {
      Snippet s = java.get(i);
      StringBuilder imports = new StringBuilder();
      StringBuilder body = new StringBuilder();
      // Where each line of the unit came from in the snippet: imports first, then the body.
      List<Integer> importLines = new ArrayList<>();
      List<Integer> bodyLines = new ArrayList<>();
      List<String> lines = s.text().lines().toList();
      for (int k = 0; k < lines.size(); k++) {
        boolean isImport = lines.get(k).startsWith("import ");
        (isImport ? imports : body).append(lines.get(k)).append('\n');
        (isImport ? importLines : bodyLines).add(k);
      }
      String name = "Snippet" + i;
      boolean declaresType = TYPE_DECLARATION.matcher(body).find();
      String unit = declaresType ? imports + "\n" + body
          : imports + "\nclass " + name + " extends ReadmeContext {\n  void snippet() throws Exception {\n" + body + "  }\n}\n";
      int linesBeforeBody = importLines.size() + (declaresType ? 1 : 3);
      DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
      Path classes = Files.createDirectories(out.resolve(name));
      try (StandardJavaFileManager files = javac.getStandardFileManager(diagnostics, Locale.ROOT, StandardCharsets.UTF_8)) {
        boolean ok = javac.getTask(null, files, diagnostics,
            List.of("-proc:none", "-d", classes.toString(), "-classpath", System.getProperty("java.class.path")), null,
            List.of(source(name, unit), source("ReadmeContext", CONTEXT))).call();
        if (!ok) {
          for (Diagnostic<? extends JavaFileObject> d : diagnostics.getDiagnostics()) {
            if (d.getKind() == Diagnostic.Kind.ERROR) {
              String where = s.where();
              if (d.getSource() != null && d.getSource().getName().contains(name)) {
                int l = (int) d.getLineNumber() - 1;
                int b = l - linesBeforeBody;
                int line = l < importLines.size() ? importLines.get(l) : b >= 0 && b < bodyLines.size() ? bodyLines.get(b) : 0;
                where = s.file() + " line " + (s.line() + line);
              }
              failures.add(where + ": " + d.getMessage(Locale.ROOT).replaceAll("\\s*\\n\\s*", "; "));
            }
          }
        }
      }
    }
    assertEquals(List.of(), failures, "README snippets that do not compile as shown");
  }

  private static JavaFileObject source(String name, String text) {
    return new SimpleJavaFileObject(URI.create("string:///" + name + ".java"), JavaFileObject.Kind.SOURCE) {
      @Override
      public CharSequence getCharContent(boolean ignoreEncodingErrors) {
        return text;
      }
    };
  }

  /** The XML snippets import the BOM and name only ckpt artifacts that it manages. */
  @Test
  void everyXmlSnippetNamesArtifactsTheBomManages() throws Exception {
    String bom = Files.readString(root().resolve("ckpt-bom").resolve("pom.xml"));
    List<String> failures = new ArrayList<>();
    boolean bomImported = false;
    for (Snippet s : snippets("xml")) {
      Matcher m = Pattern.compile("<groupId>dev\\.ckpt</groupId>\\s*<artifactId>([\\w-]+)</artifactId>").matcher(s.text());
      while (m.find()) {
        String artifact = m.group(1);
        if (artifact.equals("ckpt-bom")) {
          bomImported |= s.text().contains("<scope>import</scope>") && s.text().contains("<type>pom</type>");
        } else if (!bom.contains("<artifactId>" + artifact + "</artifactId>")) {
          failures.add(s.where() + ": " + artifact + " is not in ckpt-bom");
        }
      }
    }
    assertTrue(bomImported, "no README imports ckpt-bom with <type>pom</type> and <scope>import</scope>");
    assertEquals(List.of(), failures);
  }
}
