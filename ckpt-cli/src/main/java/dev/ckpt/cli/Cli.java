package dev.ckpt.cli;

import dev.ckpt.CheckpointException;
import dev.ckpt.CheckpointInfo;
import dev.ckpt.CheckpointNotFoundException;
import dev.ckpt.CheckpointStore;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Option;

/** What the subcommands share: the store, JOB[@ID] references, output helpers. */
final class Cli {
  private Cli() {}

  /** The --store option, with CKPT_STORE and the XDG default behind it. */
  static final class StoreOption {
    @Option(names = "--store", paramLabel = "URI",
        description = "Store URI (file:///path, or a plain path). Default: $CKPT_STORE, else $XDG_DATA_HOME/ckpt or ~/.local/share/ckpt.")
    String store;

    @Option(names = "--debug", description = "Print a stack trace on errors.")
    boolean debug;

    @Option(names = "--key-file", paramLabel = "PATH",
        description = "Encrypt new checkpoints and open only those these keys authenticate: one ID:BASE64 line per 32-byte key,"
            + " the current key first, mode 600 (docs/SECURITY.md). Default: $CKPT_KEY_FILE.")
    Path keyFile;

    @Option(names = "--allow-unencrypted", description = "With keys, still restore and verify checkpoints that are not encrypted.")
    boolean allowUnencrypted;

    URI uri() {
      return resolve(store, System.getenv());
    }

    CheckpointStore open() throws CheckpointException {
      return open(dev.ckpt.ProgressListener.NONE);
    }

    CheckpointStore open(dev.ckpt.ProgressListener progress) throws CheckpointException {
      CheckpointStore.Builder b = CheckpointStore.builder().uri(uri()).progress(progress);
      java.util.Optional<dev.ckpt.Encryption> keys = keyFile != null
          ? java.util.Optional.of(dev.ckpt.Encryption.fromKeyFile(keyFile))
          : dev.ckpt.Encryption.fromEnvironment(System.getenv());
      if (keys.isPresent()) {
        b.encryption(allowUnencrypted ? keys.get().allowingUnencrypted() : keys.get());
      } else if (allowUnencrypted) {
        throw new IllegalArgumentException("--allow-unencrypted needs keys (--key-file or $CKPT_KEY_FILE); without keys,"
            + " unencrypted checkpoints are read anyway");
      }
      return b.build();
    }
  }

  static URI resolve(String given, Map<String, String> env) {
    String s = given != null ? given : env.get("CKPT_STORE");
    if (s == null || s.isBlank()) {
      String xdg = env.get("XDG_DATA_HOME");
      Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".local", "share");
      return URI.create(base.resolve("ckpt").toAbsolutePath().toUri() + "?create=true");
    }
    if (s.startsWith("/") || s.startsWith(".")) {
      // A plain path is created on first use, like the default store.
      return URI.create(Path.of(s).toAbsolutePath().normalize().toUri() + "?create=true");
    }
    return URI.create(s);
  }

  /** JOB or JOB@ID. */
  record Ref(String job, Long id) {
    static Ref parse(String s) {
      int at = s.lastIndexOf('@');
      if (at < 0) {
        return new Ref(s, null);
      }
      try {
        return new Ref(s.substring(0, at), Long.parseLong(s.substring(at + 1)));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("'" + s + "' is not JOB or JOB@ID (ID is a checkpoint number)");
      }
    }

    CheckpointInfo resolve(CheckpointStore store) throws CheckpointException {
      if (!store.jobs().contains(job)) {
        throw new CheckpointNotFoundException("no job '" + job + "' in " + store.uri() + "; 'ckpt ls' lists the jobs");
      }
      if (id == null) {
        return store.latest(job).orElseThrow(() -> new CheckpointNotFoundException("job " + job + " has no checkpoint"));
      }
      for (CheckpointInfo c : store.checkpoints(job)) {
        if (c.id() == id) {
          return c;
        }
      }
      throw new CheckpointNotFoundException("job " + job + " has no checkpoint " + id + "; 'ckpt ls' lists them");
    }
  }

  static String describe(Throwable e) {
    String m = e.getMessage();
    if (e instanceof CheckpointException || e instanceof IllegalArgumentException || e instanceof IllegalStateException) {
      return m;
    }
    return e.getClass().getSimpleName() + (m == null ? "" : ": " + m);
  }

  static String size(long bytes) {
    return DemoCommand.size(bytes);
  }

  static Duration duration(String s) {
    return dev.ckpt.CheckpointPolicy.parseDuration(s);
  }

  static String json(Object o) {
    if (o == null) {
      return "null";
    }
    if (o instanceof String s) {
      StringBuilder b = new StringBuilder("\"");
      for (char c : s.toCharArray()) {
        switch (c) {
          case '"' -> b.append("\\\"");
          case '\\' -> b.append("\\\\");
          case '\n' -> b.append("\\n");
          default -> {
            if (c < 0x20) {
              b.append(String.format("\\u%04x", (int) c));
            } else {
              b.append(c);
            }
          }
        }
      }
      return b.append('"').toString();
    }
    if (o instanceof Number || o instanceof Boolean) {
      return o.toString();
    }
    if (o instanceof Map<?, ?> m) {
      StringBuilder b = new StringBuilder("{");
      for (Map.Entry<?, ?> e : m.entrySet()) {
        if (b.length() > 1) {
          b.append(',');
        }
        b.append(json(e.getKey().toString())).append(':').append(json(e.getValue()));
      }
      return b.append('}').toString();
    }
    if (o instanceof List<?> l) {
      StringBuilder b = new StringBuilder("[");
      for (Object x : l) {
        if (b.length() > 1) {
          b.append(',');
        }
        b.append(json(x));
      }
      return b.append(']').toString();
    }
    return json(o.toString());
  }

  static Map<String, Object> json(CheckpointInfo c) {
    Map<String, Object> m = new java.util.LinkedHashMap<>();
    m.put("job", c.job());
    m.put("id", c.id());
    m.put("parent", c.parentId());
    m.put("created", c.created().toString());
    m.put("size", c.logicalBytes());
    m.put("newBytes", c.newStoredBytes());
    m.put("storedBytes", c.referencedBytes());
    m.put("kind", c.attributes().getOrDefault("kind", ""));
    m.put("bytesRead", c.bytesRead());
    m.put("frozenMillis", c.frozen().toNanos() / 1e6);
    m.put("changeTracking", c.changeTracking());
    m.put("durationMillis", c.duration().toNanos() / 1e6);
    m.put("keyId", c.keyId().orElse(null));
    return m;
  }
}
