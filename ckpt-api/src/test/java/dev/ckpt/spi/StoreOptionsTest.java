package dev.ckpt.spi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ckpt.StoreConfigurationException;
import java.net.URI;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

class StoreOptionsTest {
  private static final Set<String> KNOWN = Set.of("create", "n", "size", "wait", "key", "secret");

  @Test
  void typedValues_areRead_andAbsentOnesTakeTheirDefaults() throws Exception {
    StoreOptions o = StoreOptions.parse(URI.create("x://h/p?create=true&n=7&size=16MiB&wait=1500ms&key=a%2Fb"), KNOWN);
    assertTrue(o.bool("create"));
    assertEquals(7, o.integer("n", 1, 0, 10));
    assertEquals(16L << 20, o.size("size", 0));
    assertEquals(Duration.ofMillis(1500), o.duration("wait", Duration.ZERO));
    assertEquals(Optional.of("a/b"), o.string("key"));
    assertEquals(Optional.empty(), o.string("secret"));
    assertEquals(5, o.integer("absent-but-defaulted", 5, 0, 10));
    assertEquals(3L << 10, StoreOptions.parse(URI.create("x:///p?size=3k"), KNOWN).size("size", 0));
  }

  @Test
  void badOptions_failNamingTheUriTheOptionAndWhy() {
    String[][] cases = {
        {"x:///p?colour=red", "unknown option 'colour'; known: create, key, n, secret, size, wait"},
        {"x:///p?n=1&n=2", "option 'n' is given twice"},
        {"x:///p?create", "option 'create' has no value"},
        {"x:///p?create=yes", "create=yes is neither true nor false"},
        {"x:///p?n=11", "n=11 is not a whole number in [0, 10]"},
        {"x:///p?size=big", "size=big is not a size"},
        {"x:///p?wait=soon", "wait=soon"},
    };
    for (String[] c : cases) {
      StoreConfigurationException e = assertThrows(StoreConfigurationException.class, () -> {
        StoreOptions o = StoreOptions.parse(URI.create(c[0]), KNOWN);
        o.bool("create");
        o.integer("n", 0, 0, 10);
        o.size("size", 0);
        o.duration("wait", Duration.ZERO);
      });
      assertTrue(e.getMessage().startsWith("store URI '" + c[0] + "': "), e.getMessage());
      assertTrue(e.getMessage().contains(c[1]), e.getMessage());
    }
  }

  @Test
  void secrets_areBlankedInMessages() throws Exception {
    StoreOptions o = StoreOptions.parse(URI.create("x:///p?key=k&secret=hunter2&n=1"), KNOWN, Set.of("secret"));
    assertEquals("x:///p?key=k&secret=***&n=1", o.redacted());
    StoreConfigurationException e = assertThrows(StoreConfigurationException.class,
        () -> StoreOptions.parse(URI.create("x:///p?secret=hunter2&bogus=1"), KNOWN, Set.of("secret")));
    assertFalse(e.getMessage().contains("hunter2"), e.getMessage());
  }
}
