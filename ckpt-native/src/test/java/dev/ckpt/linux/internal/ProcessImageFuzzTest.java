package dev.ckpt.linux.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.ckpt.CorruptImageException;
import dev.ckpt.UnsupportedFormatException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.Size;

/**
 * The process record of a native image becomes running code on restore: whatever its bytes, the
 * decoder answers with a record, a CorruptImageException or an UnsupportedFormatException, and
 * nothing else. Bounded: a few thousand tries, seconds in all.
 */
class ProcessImageFuzzTest {
  static byte[] valid() {
    byte[][] sigactions = new byte[64][];
    for (int i = 0; i < 64; i++) {
      sigactions[i] = new byte[SignalDumper.SIGACTION_BYTES];
    }
    byte[][] itimers = {new byte[32], new byte[32], new byte[32]};
    Map<String, long[]> attributes = new LinkedHashMap<>();
    attributes.put(AttributeState.NICE, new long[] {5});
    attributes.put(AttributeState.RLIMIT + "RLIMIT_NOFILE", new long[] {1024, 4096});
    attributes.put(TimerState.PREFIX + "0", new long[] {1, 10, 0x1234, 0, 0, 0, 30_000_000, 0, 5_000_000});
    ProcessImage img = new ProcessImage(1000, "/bin/prog", "/tmp", 022, new long[11], new byte[] {1, 2, 3},
        List.of(new ProcessImage.VmaRecord(0x1000, 0x3000, 3 | (1 << 8), ProcessImage.VmaKind.ANON, 0, "", new long[] {0, 2}),
            new ProcessImage.VmaRecord(0x5000, 0x6000, 5, ProcessImage.VmaKind.FILE_PRIVATE, 0x1000, "/bin/prog", new long[0])),
        new ProcessImage.ThreadRecord(1234, new byte[Regs.SIZE], new byte[64], 0x2000, 0x7000, 32, 0x53053053),
        List.of(new ProcessImage.FdRecord(0, ProcessImage.FdKind.PIPE, "pipe:[77]", 0, 65536, 10),
            new ProcessImage.FdRecord(1, ProcessImage.FdKind.FILE, "/tmp/out", 02001, 120, 120)),
        sigactions, List.of(new byte[SignalDumper.SIGINFO_BYTES]), List.of(), itimers,
        List.of(new ProcessImage.FileIdentity("/bin/prog", 100, 5, "ab")), attributes);
    return img.encode();
  }

  static void decodeOnlyFailsAsDamage(byte[] data) {
    try {
      ProcessImage.decode("fuzz@1", data);
    } catch (CorruptImageException | UnsupportedFormatException expected) {
      // A refusal by name is the right answer to damage.
    } catch (RuntimeException | OutOfMemoryError e) {
      throw new AssertionError("decoding " + data.length + " bytes threw " + e + " instead of CorruptImageException: "
          + Arrays.toString(Arrays.copyOf(data, Math.min(64, data.length))), e);
    }
  }

  @Example
  void theUnmutatedRecord_decodes() throws Exception {
    ProcessImage img = ProcessImage.decode("valid@1", valid());
    assertEquals(2, img.vmas().size());
    assertEquals(3, img.attributes().size());
  }

  @Property(tries = 1000)
  void anyBytes_areARecordOrNamedDamage(@ForAll @Size(max = 800) byte[] data) {
    decodeOnlyFailsAsDamage(data);
  }

  @Property(tries = 4000)
  void aDamagedRecord_isARecordOrNamedDamage(@ForAll("mutated") byte[] data) {
    decodeOnlyFailsAsDamage(data);
  }

  @Provide
  Arbitrary<byte[]> mutated() {
    byte[] base = valid();
    Arbitrary<Integer> pos = Arbitraries.integers().between(0, base.length - 5);
    Arbitrary<byte[]> flips = pos.list().ofMinSize(1).ofMaxSize(6).flatMap(ps -> Arbitraries.bytes().list().ofSize(ps.size())
        .map(vals -> {
          byte[] b = base.clone();
          for (int i = 0; i < ps.size(); i++) {
            b[ps.get(i)] = vals.get(i);
          }
          return b;
        }));
    Arbitrary<byte[]> extremes = pos.flatMap(p -> Arbitraries.of(0x7fffffff, 0x80000000, 0xffffffff, 0x40000000, 200)
        .map(v -> {
          byte[] b = base.clone();
          ByteBuffer.wrap(b).putInt(p, v);
          return b;
        }));
    Arbitrary<byte[]> truncated = pos.map(p -> Arrays.copyOf(base, p));
    return Arbitraries.oneOf(flips, extremes, truncated);
  }
}
