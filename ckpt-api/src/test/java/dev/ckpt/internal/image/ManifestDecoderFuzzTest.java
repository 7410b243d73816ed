package dev.ckpt.internal.image;

import dev.ckpt.CorruptImageException;
import dev.ckpt.UnsupportedFormatException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

/**
 * A manifest is read from a store anyone with write access could have written: whatever its
 * bytes, the decoder answers with a manifest, a CorruptImageException or an
 * UnsupportedFormatException, and nothing else (no other exception, no huge allocation). The
 * body decoder is reached with a valid checksum, as a forger would compute it. Bounded: a few
 * thousand tries per property, seconds in all.
 */
class ManifestDecoderFuzzTest {
  private static final MessageDigest SHA = Hash256.newDigest();

  /** A real manifest: two packs, three chunks (raw, LZ4 with payload hash), two parts. */
  static byte[] valid() {
    MessageDigest d = Hash256.newDigest();
    Hash256 h1 = Hash256.of(d, new byte[] {1}, 0, 1);
    Hash256 h2 = Hash256.of(d, new byte[] {2}, 0, 1);
    Hash256 h3 = Hash256.of(d, new byte[] {3}, 0, 1);
    List<Manifest.Chunk> chunks = List.of(
        new Manifest.Chunk(h1, 0, 8, 100, 65536, PackFormat.CODEC_RAW, h1),
        new Manifest.Chunk(h2, 1, 8, 200, 65536, PackFormat.CODEC_LZ4, h3),
        new Manifest.Chunk(h3, 1, 208, 300, 1000, PackFormat.CODEC_LZ4, h1));
    List<Manifest.Part> parts = List.of(
        new Manifest.Part("mem/1000-3000", Map.of("kind", "segment"), 140072, new int[] {0, -1, 1}, new long[] {0, 9000, 0}),
        new Manifest.Part("process", Map.of(), 1000, new int[] {2}, new long[] {0}));
    Manifest m = new Manifest("job", 3, 2, Instant.ofEpochMilli(1_700_000_000_000L), 65536, Map.of("kind", "process"),
        List.of("0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"), chunks, parts, new Manifest.Stats(1, 2, 3, 4, 5, 6));
    return ManifestCodec.encode(m);
  }

  /** Replaces the trailing checksum with the right one for the bytes before it. */
  static byte[] resealed(byte[] data) {
    if (data.length < Hash256.BYTES) {
      return data;
    }
    SHA.reset();
    SHA.update(data, 0, data.length - Hash256.BYTES);
    byte[] sum = SHA.digest();
    System.arraycopy(sum, 0, data, data.length - Hash256.BYTES, Hash256.BYTES);
    return data;
  }

  static void decodeOnlyFailsAsDamage(byte[] data) {
    try {
      ManifestCodec.decode("fuzz", data);
    } catch (CorruptImageException | UnsupportedFormatException expected) {
      // A refusal by name is the right answer to damage.
    } catch (RuntimeException | OutOfMemoryError e) {
      throw new AssertionError("decoding " + data.length + " bytes threw " + e + " instead of CorruptImageException: "
          + Arrays.toString(Arrays.copyOf(data, Math.min(64, data.length))), e);
    }
  }

  @net.jqwik.api.Example
  void theUnmutatedManifest_decodes() throws Exception {
    Manifest m = ManifestCodec.decode("valid", valid());
    org.junit.jupiter.api.Assertions.assertEquals(3, m.chunks().size());
  }

  @Property(tries = 1000)
  void anyBytes_areAManifestOrNamedDamage(@ForAll @Size(max = 600) byte[] data) {
    decodeOnlyFailsAsDamage(data);
  }

  @Property(tries = 3000)
  void aForgedBodyWithAValidChecksum_isAManifestOrNamedDamage(@ForAll("mutated") byte[] data) {
    decodeOnlyFailsAsDamage(resealed(data));
  }

  @Property(tries = 1000)
  void aTruncatedManifestResealed_isNamedDamage(@ForAll @IntRange(min = 8, max = 400) int keep) {
    byte[] v = valid();
    decodeOnlyFailsAsDamage(resealed(Arrays.copyOf(v, Math.min(keep, v.length))));
  }

  /** Valid manifests with bytes flipped, overwritten with extreme values, inserted or cut. */
  @Provide
  Arbitrary<byte[]> mutated() {
    byte[] base = valid();
    Arbitrary<Integer> pos = Arbitraries.integers().between(8, base.length - Hash256.BYTES - 1);
    Arbitrary<byte[]> flips = pos.list().ofMinSize(1).ofMaxSize(6).flatMap(ps -> Arbitraries.bytes().list().ofSize(ps.size())
        .map(vals -> {
          byte[] b = base.clone();
          for (int i = 0; i < ps.size(); i++) {
            b[ps.get(i)] = vals.get(i);
          }
          return b;
        }));
    Arbitrary<byte[]> extremes = pos.flatMap(p -> Arbitraries.of(0x7fffffff, 0x80000000, 0xffffffff, 0x40000000, 65537)
        .map(v -> {
          byte[] b = base.clone();
          ByteBuffer.wrap(b).putInt(Math.min(p, b.length - Hash256.BYTES - 4), v);
          return b;
        }));
    Arbitrary<byte[]> cuts = pos.map(p -> {
      byte[] b = new byte[base.length - 1];
      System.arraycopy(base, 0, b, 0, p);
      System.arraycopy(base, p + 1, b, p, base.length - p - 1);
      return b;
    });
    return Arbitraries.oneOf(flips, extremes, cuts);
  }
}
