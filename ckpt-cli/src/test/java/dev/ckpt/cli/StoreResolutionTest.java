package dev.ckpt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.net.URI;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class StoreResolutionTest {
  @Test
  void storeOption_winsOverCkptStore_whichWinsOverXdg() {
    Map<String, String> env = Map.of("CKPT_STORE", "file:///from/env", "XDG_DATA_HOME", "/xdg");
    assertEquals(URI.create("s3://bucket/p"), Cli.resolve("s3://bucket/p", env));
    assertEquals(URI.create("file:///from/env"), Cli.resolve(null, env));
    URI xdg = Cli.resolve(null, Map.of("XDG_DATA_HOME", "/xdg"));
    assertEquals("/xdg/ckpt", xdg.getPath().replaceAll("/$", ""));
    assertEquals("create=true", xdg.getQuery());
    URI home = Cli.resolve(null, Map.of());
    assertEquals(System.getProperty("user.home") + "/.local/share/ckpt", home.getPath().replaceAll("/$", ""));
  }

  @Test
  void plainPath_becomesAFileUriCreatedOnFirstUse() {
    assertEquals("file", Cli.resolve("/tmp/x", Map.of()).getScheme());
    assertEquals("/tmp/x", Cli.resolve("/tmp/x", Map.of()).getPath().replaceAll("/$", ""));
    assertEquals("create=true", Cli.resolve("/tmp/x", Map.of()).getQuery());
  }

  @Test
  void refsAndDurations_parseOrSayWhy() {
    assertEquals(new Cli.Ref("job", 7L), Cli.Ref.parse("job@7"));
    assertEquals(new Cli.Ref("job", null), Cli.Ref.parse("job"));
    assertThrows(IllegalArgumentException.class, () -> Cli.Ref.parse("job@x"));
    assertEquals(Duration.ofMillis(200), Cli.duration("200ms"));
    assertEquals(Duration.ofMinutes(5), Cli.duration("5m"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Cli.duration("soon"));
    assertEquals("'soon' is not a duration: use a number with ms, s, m, h or d (30s, 5m)", e.getMessage());
  }
}
