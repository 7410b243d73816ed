package dev.ckpt.linux.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.ckpt.CorruptImageException;
import dev.ckpt.UnsupportedFormatException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The process record of a native image becomes running code on restore: whatever its bytes, the
 * decoder answers with a record, a CorruptImageException or an UnsupportedFormatException, and
 * nothing else. Bounded: a few thousand inputs per test, seconds in all; each run draws new ones,
 * and a failure names the seed that replays it.
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
        List.of(new ProcessImage.ThreadRecord(1234, new byte[Regs.SIZE], new byte[64], 0x2000, 0x7000, 32, 0x53053053,
                0x7f00, 0x7f10, 24, new byte[0], "main", List.of()),
            new ProcessImage.ThreadRecord(1240, new byte[Regs.SIZE], new byte[64], 0, 0, 0, 0, 0x8f00, 0x8f10, 24,
                new byte[24], "worker", List.of(new byte[128]))),
        List.of(new ProcessImage.FdRecord(0, ProcessImage.FdKind.PIPE, "pipe:[77]", 0, 65536, 10),
            new ProcessImage.FdRecord(1, ProcessImage.FdKind.FILE, "/tmp/out", 02001, 120, 120)),
        sigactions, List.of(new byte[SignalDumper.SIGINFO_BYTES]), List.of(), itimers,
        List.of(new ProcessImage.FileIdentity("/bin/prog", 100, 5, "ab")), attributes);
    return img.encode();
  }

  static void decodeOnlyFailsAsDamage(byte[] data, long seed) {
    try {
      ProcessImage.decode("fuzz@1", data);
    } catch (CorruptImageException | UnsupportedFormatException expected) {
      // A refusal by name is the right answer to damage.
    } catch (RuntimeException | OutOfMemoryError e) {
      throw new AssertionError("seed " + seed + ": decoding " + data.length + " bytes threw " + e
          + " instead of CorruptImageException: " + Arrays.toString(Arrays.copyOf(data, Math.min(64, data.length))), e);
    }
  }

  @Test
  void theUnmutatedRecord_decodes() throws Exception {
    ProcessImage img = ProcessImage.decode("valid@1", valid());
    assertEquals(2, img.vmas().size());
    assertEquals(3, img.attributes().size());
  }

  /**
   * The committed seed corpus (src/test/resources/fuzz/process-record): records written by an
   * earlier build decode as written (a reader that stops reading them fails here), and a few
   * hundred mutations of each are a record or named damage.
   */
  @Test
  void theCommittedCorpus_decodesAsWritten_andMutatedIsARecordOrNamedDamage() throws Exception {
    java.nio.file.Path dir = java.nio.file.Path.of(ProcessImageFuzzTest.class.getResource("/fuzz/process-record").toURI());
    List<java.nio.file.Path> seeds;
    try (java.util.stream.Stream<java.nio.file.Path> files = java.nio.file.Files.list(dir)) {
      seeds = files.filter(f -> f.toString().endsWith(".bin")).sorted().toList();
    }
    assertEquals(1, seeds.size(), seeds.toString());
    long seed = System.nanoTime();
    Random r = new Random(seed);
    for (java.nio.file.Path f : seeds) {
      byte[] base = java.nio.file.Files.readAllBytes(f);
      ProcessImage img = ProcessImage.decode(f.getFileName() + "@1", base);
      assertEquals(2, img.vmas().size(), f.toString());
      for (int i = 0; i < 500; i++) {
        byte[] b = base.clone();
        for (int n = 1 + r.nextInt(6); n > 0; n--) {
          b[r.nextInt(b.length)] = (byte) r.nextInt(256);
        }
        decodeOnlyFailsAsDamage(r.nextInt(4) == 0 ? Arrays.copyOf(b, r.nextInt(b.length)) : b, seed);
      }
    }
  }

  @Test
  void anyBytes_areARecordOrNamedDamage() {
    long seed = System.nanoTime();
    Random r = new Random(seed);
    for (int i = 0; i < 1000; i++) {
      byte[] data = new byte[r.nextInt(801)];
      r.nextBytes(data);
      decodeOnlyFailsAsDamage(data, seed);
    }
  }

  @Test
  void aDamagedRecord_isARecordOrNamedDamage() {
    long seed = System.nanoTime();
    Random r = new Random(seed);
    byte[] base = valid();
    int[] extremes = {0x7fffffff, 0x80000000, 0xffffffff, 0x40000000, 200, -1, 0};
    for (int i = 0; i < 4000; i++) {
      byte[] b = base.clone();
      switch (r.nextInt(3)) {
        case 0 -> {
          for (int n = 1 + r.nextInt(6); n > 0; n--) {
            b[r.nextInt(b.length)] = (byte) r.nextInt(256);
          }
        }
        case 1 -> ByteBuffer.wrap(b).putInt(r.nextInt(b.length - 4), extremes[r.nextInt(extremes.length)]);
        default -> b = Arrays.copyOf(b, r.nextInt(b.length));
      }
      decodeOnlyFailsAsDamage(b, seed);
    }
  }
}
