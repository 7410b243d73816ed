package dev.ckpt.internal.image;

import dev.ckpt.CorruptImageException;
import dev.ckpt.Encryption;
import dev.ckpt.ImageKeyException;
import dev.ckpt.UnsupportedFormatException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * A manifest is read from a store anyone with write access could have written: whatever its
 * bytes, the decoder answers with a manifest, a CorruptImageException or an
 * UnsupportedFormatException, and nothing else (no other exception, no huge allocation). The
 * body decoder is reached with a valid checksum, as a forger would compute it. Bounded: a few
 * thousand inputs per test, seconds in all; each run draws new ones, and a failure names the seed
 * that replays it.
 */
class ManifestDecoderFuzzTest {
  private static final MessageDigest SHA = Hash256.newDigest();

  /**
   * A real manifest: two packs, three chunks (raw, LZ4 with payload hash), three parts, one of
   * them with slices of chunks (format version 3).
   */
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
        Manifest.Part.whole("mem/1000-3000", Map.of("kind", "segment"), 140072, new int[] {0, -1, 1},
            new long[] {65536, 9000, 65536}),
        new Manifest.Part("mem/4000-6000", Map.of(), 5000, new int[] {0, -1, 1}, new long[] {4096, 100, 804},
            new int[] {4096, 0, 100}),
        Manifest.Part.whole("process", Map.of(), 1000, new int[] {2}, new long[] {1000}));
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

  static void decodeOnlyFailsAsDamage(byte[] data, long seed) {
    decodeOnlyFailsAsDamage(data, seed, KeyRing.NONE);
  }

  static void decodeOnlyFailsAsDamage(byte[] data, long seed, KeyRing keys) {
    try {
      ManifestCodec.decode("fuzz", data, keys);
    } catch (CorruptImageException | UnsupportedFormatException | ImageKeyException expected) {
      // A refusal by name is the right answer to damage.
    } catch (RuntimeException | OutOfMemoryError e) {
      throw new AssertionError("seed " + seed + ": decoding " + data.length + " bytes threw " + e
          + " instead of CorruptImageException: " + Arrays.toString(Arrays.copyOf(data, Math.min(64, data.length))), e);
    }
  }

  @Test
  void theUnmutatedManifest_decodes() throws Exception {
    byte[] data = valid();
    Manifest m = ManifestCodec.decode("valid", data);
    org.junit.jupiter.api.Assertions.assertEquals(3, m.chunks().size());
    org.junit.jupiter.api.Assertions.assertEquals(3, data[5], "a manifest with slices is format version 3");
    Manifest.Part sliced = m.parts().get(1);
    org.junit.jupiter.api.Assertions.assertArrayEquals(new long[] {4096, 100, 804}, sliced.length());
    org.junit.jupiter.api.Assertions.assertArrayEquals(new int[] {4096, 0, 100}, sliced.from());
  }

  @Test
  void anyBytes_areAManifestOrNamedDamage() {
    long seed = System.nanoTime();
    Random r = new Random(seed);
    for (int i = 0; i < 1000; i++) {
      byte[] data = new byte[r.nextInt(601)];
      r.nextBytes(data);
      decodeOnlyFailsAsDamage(data, seed);
    }
  }

  @Test
  void aForgedBodyWithAValidChecksum_isAManifestOrNamedDamage() {
    long seed = System.nanoTime();
    Random r = new Random(seed);
    byte[] base = valid();
    for (int i = 0; i < 3000; i++) {
      decodeOnlyFailsAsDamage(resealed(Mutations.of(base, 8, base.length - Hash256.BYTES, r)), seed);
    }
  }

  @Test
  void aTruncatedManifestResealed_isNamedDamage() {
    byte[] v = valid();
    for (int keep = 8; keep < v.length; keep++) {
      decodeOnlyFailsAsDamage(resealed(Arrays.copyOf(v, keep)), 0);
    }
  }

  private static final KeyRing KEYS = KeyRing.of(Encryption.withKey("k1", new byte[32]));

  /** {@link #valid()} sealed with key k1: version 4, its chunks sealed, an HMAC for a trailer. */
  static byte[] validSealed() throws Exception {
    Manifest plain = ManifestCodec.decode("valid", valid());
    List<Manifest.Chunk> chunks = plain.chunks().stream().map(c -> new Manifest.Chunk(c.hash(), c.pack(), c.offset(),
        c.recordLength(), c.rawLength(), (byte) (c.codec() | PackFormat.SEALED), null)).toList();
    Manifest m = new Manifest(plain.job(), plain.id(), plain.parentId(), plain.created(), plain.chunkSize(),
        plain.attributes(), plain.packs(), chunks, plain.parts(), plain.stats(), "k1");
    return ManifestCodec.encode(m, KEYS.current());
  }

  /** Replaces the trailing HMAC with the right one for key k1, as only the key's holder could. */
  static byte[] resealedWithKey(byte[] data) {
    if (data.length < Hash256.BYTES) {
      return data;
    }
    byte[] mac = KEYS.current().mac(data, data.length - Hash256.BYTES);
    System.arraycopy(mac, 0, data, data.length - Hash256.BYTES, Hash256.BYTES);
    return data;
  }

  @Test
  void theSealedManifest_decodesWithItsKey_andIsRefusedByNameWithoutIt() throws Exception {
    byte[] data = validSealed();
    org.junit.jupiter.api.Assertions.assertEquals(4, data[5], "a sealed manifest is format version 4");
    Manifest m = ManifestCodec.decode("valid", data, KEYS);
    org.junit.jupiter.api.Assertions.assertEquals("k1", m.keyId());
    org.junit.jupiter.api.Assertions.assertEquals(3, m.chunks().size());
    ImageKeyException e = org.junit.jupiter.api.Assertions.assertThrows(ImageKeyException.class,
        () -> ManifestCodec.decode("jobs/x/1", data));
    org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("key 'k1'") && e.getMessage().contains("jobs/x/1"),
        e.getMessage());
    KeyRing other = KeyRing.of(Encryption.withKey("k1", new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
        17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32}));
    e = org.junit.jupiter.api.Assertions.assertThrows(ImageKeyException.class, () -> ManifestCodec.decode("jobs/x/1", data, other));
    org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("does not authenticate"), e.getMessage());
  }

  @Test
  void aSealedManifestAlteredAnywhere_isRefused_andOneForgedWithTheKey_decodesOrIsNamedDamage() throws Exception {
    long seed = System.nanoTime();
    Random r = new Random(seed);
    byte[] base = validSealed();
    for (int i = 0; i < 1000; i++) {
      byte[] forged = Mutations.of(base, 8, base.length - Hash256.BYTES, r);
      if (Arrays.equals(forged, base)) {
        continue; // a byte overwritten with its own value
      }
      try {
        ManifestCodec.decode("fuzz", forged, KEYS);
        throw new AssertionError("seed " + seed + ": an altered sealed manifest decoded");
      } catch (CorruptImageException | ImageKeyException expected) {
        // refused
      }
      decodeOnlyFailsAsDamage(resealedWithKey(forged), seed, KEYS);
    }
  }

  /** The committed seed corpus (src/test/resources/fuzz/manifest): one manifest of each version this ckpt writes. */
  static List<java.nio.file.Path> corpus(String dir) throws Exception {
    java.nio.file.Path d = java.nio.file.Path.of(ManifestDecoderFuzzTest.class.getResource("/fuzz/" + dir).toURI());
    try (java.util.stream.Stream<java.nio.file.Path> files = java.nio.file.Files.list(d)) {
      return files.sorted().toList();
    }
  }

  @Test
  void theCommittedCorpus_decodesAsWritten_andMutatedIsAManifestOrNamedDamage() throws Exception {
    List<java.nio.file.Path> seeds = corpus("manifest");
    org.junit.jupiter.api.Assertions.assertEquals(3, seeds.size(), seeds.toString());
    long seed = System.nanoTime();
    Random r = new Random(seed);
    for (java.nio.file.Path f : seeds) {
      byte[] base = java.nio.file.Files.readAllBytes(f);
      // Written by earlier builds: a reader that stops reading them fails here.
      Manifest m = ManifestCodec.decode(f.getFileName().toString(), base, KEYS);
      org.junit.jupiter.api.Assertions.assertEquals(f.getFileName().toString().startsWith("v4"), m.keyId() != null, f.toString());
      boolean sealed = m.keyId() != null;
      for (int i = 0; i < 500; i++) {
        byte[] forged = Mutations.of(base, 8, base.length - Hash256.BYTES, r);
        decodeOnlyFailsAsDamage(sealed ? resealedWithKey(forged) : resealed(forged), seed, KEYS);
      }
    }
  }

  /** Damage as a forger or a faulty disk makes it: bytes flipped, counts made extreme, a byte cut. */
  static final class Mutations {
    private static final int[] EXTREMES = {0x7fffffff, 0x80000000, 0xffffffff, 0x40000000, 65537, -1, 0};

    static byte[] of(byte[] base, int from, int to, Random r) {
      byte[] b = base.clone();
      switch (r.nextInt(3)) {
        case 0 -> {
          for (int n = 1 + r.nextInt(6); n > 0; n--) {
            b[from + r.nextInt(to - from)] = (byte) r.nextInt(256);
          }
        }
        case 1 -> ByteBuffer.wrap(b).putInt(from + r.nextInt(to - from - 4), EXTREMES[r.nextInt(EXTREMES.length)]);
        default -> {
          int p = from + r.nextInt(to - from);
          byte[] cut = new byte[b.length - 1];
          System.arraycopy(b, 0, cut, 0, p);
          System.arraycopy(b, p + 1, cut, p, b.length - p - 1);
          b = cut;
        }
      }
      return b;
    }
  }
}
