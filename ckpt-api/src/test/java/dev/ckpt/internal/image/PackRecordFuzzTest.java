package dev.ckpt.internal.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.ckpt.CorruptImageException;
import dev.ckpt.Encryption;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * A chunk record is read from a pack anyone with write access to the store could have written:
 * whatever its bytes, the decoder returns the chunk the manifest promised or throws
 * CorruptImageException, and nothing else. Sealed and plain records, raw and LZ4, each with bytes
 * flipped, lengths made extreme and the record cut; the manifest's entry is held fixed, as a
 * forger who cannot alter an authenticated manifest would face it. Bounded: a few thousand inputs,
 * under a second; a failure names the seed that replays it.
 */
class PackRecordFuzzTest {
  private static final int CHUNK = 4096;
  private static final PackFormat FORMAT = new PackFormat();
  private static final Sealing SEALED = KeyRing.of(Encryption.withKey("k1", new byte[32])).current();

  private record Valid(byte[] record, ChunkLoc loc, Hash256 id, byte[] content) {}

  private static Valid valid(Sealing sealing, boolean compressible) {
    byte[] content = new byte[CHUNK];
    if (compressible) {
      Arrays.fill(content, (byte) 'x');
      content[17] = 1;
    } else {
      new Random(3).nextBytes(content);
    }
    MessageDigest d = Hash256.newDigest();
    Hash256 id = sealing.id(d, content, 0, CHUNK);
    byte[] out = new byte[FORMAT.maxRecordLength(CHUNK)];
    int n = FORMAT.encode(content, 0, CHUNK, id, true, out, sealing);
    byte[] record = Arrays.copyOf(out, n);
    ChunkLoc loc = new ChunkLoc("p", 8, n, CHUNK, record[0], PackFormat.payloadHash(record, n, id, d));
    return new Valid(record, loc, id, content);
  }

  private static void decodeOnlyFailsAsDamage(Valid v, byte[] record, Sealing sealing, boolean deep, long seed) {
    byte[] raw = new byte[CHUNK];
    try {
      ByteBuffer got = FORMAT.decode(ByteBuffer.wrap(record), 0, v.loc(), v.id(), Hash256.newDigest(), raw, deep, null,
          sealing);
      byte[] bytes = new byte[got.remaining()];
      got.get(bytes);
      // Whatever decodes must be the chunk the manifest promised.
      assertArrayEquals(v.content(), bytes, "seed " + seed + ": a damaged record decoded to other bytes");
    } catch (CorruptImageException expected) {
      // named damage
    } catch (RuntimeException | OutOfMemoryError e) {
      throw new AssertionError("seed " + seed + ": decoding a " + record.length + "-byte record threw " + e, e);
    }
  }

  @Test
  void unmutatedRecords_decodeToTheirChunk() throws Exception {
    for (Sealing s : new Sealing[] {Sealing.NONE, SEALED}) {
      for (boolean compressible : new boolean[] {true, false}) {
        Valid v = valid(s, compressible);
        ByteBuffer got = FORMAT.decode(ByteBuffer.wrap(v.record()), 0, v.loc(), v.id(), Hash256.newDigest(), new byte[CHUNK],
            true, null, s);
        byte[] bytes = new byte[got.remaining()];
        got.get(bytes);
        assertArrayEquals(v.content(), bytes);
      }
    }
  }

  @Test
  void anyDamageToARecord_isNamedDamage_neverOtherBytes() {
    long seed = System.nanoTime();
    Random r = new Random(seed);
    for (Sealing s : new Sealing[] {Sealing.NONE, SEALED}) {
      for (boolean compressible : new boolean[] {true, false}) {
        Valid v = valid(s, compressible);
        for (int i = 0; i < 800; i++) {
          byte[] forged = ManifestDecoderFuzzTest.Mutations.of(v.record(), 0, v.record().length, r);
          decodeOnlyFailsAsDamage(v, forged, s, i % 2 == 0, seed);
        }
      }
    }
  }

  @Test
  void aSealedRecordOpenedAsPlain_orAPlainOneAsSealed_isNamedDamage() {
    Valid sealed = valid(SEALED, true);
    decodeOnlyFailsAsDamage(sealed, sealed.record(), Sealing.NONE, false, 0);
    Valid plain = valid(Sealing.NONE, true);
    decodeOnlyFailsAsDamage(plain, plain.record(), SEALED, false, 0);
  }

  /** A record of the committed corpus, with the manifest entry its own header implies. */
  private static Valid fromCorpus(byte[] record) throws Exception {
    ByteBuffer h = ByteBuffer.wrap(record);
    byte codec = h.get(0);
    int rawLength = h.getInt(4);
    Hash256 id = Hash256.read(h.position(12));
    Hash256 payloadHash = (codec & PackFormat.SEALED) != 0 ? null : codec == PackFormat.CODEC_RAW ? id
        : Hash256.of(Hash256.newDigest(), record, PackFormat.RECORD_HEADER_BYTES, record.length - PackFormat.RECORD_HEADER_BYTES);
    ChunkLoc loc = new ChunkLoc("p", 8, record.length, rawLength, codec, payloadHash);
    Sealing s = (codec & PackFormat.SEALED) != 0 ? SEALED : Sealing.NONE;
    ByteBuffer got = FORMAT.decode(ByteBuffer.wrap(record), 0, loc, id, Hash256.newDigest(), new byte[CHUNK], true, null, s);
    byte[] content = new byte[got.remaining()];
    got.get(content);
    return new Valid(record, loc, id, content);
  }

  @Test
  void theCommittedCorpus_decodesAsWritten_andAnyDamageIsNamed() throws Exception {
    List<java.nio.file.Path> seeds = ManifestDecoderFuzzTest.corpus("record");
    org.junit.jupiter.api.Assertions.assertEquals(4, seeds.size(), seeds.toString());
    long seed = System.nanoTime();
    Random r = new Random(seed);
    for (java.nio.file.Path f : seeds) {
      // Written by earlier builds (the sealed ones under a key of 32 zero bytes): each decodes, deep-checked.
      Valid v = fromCorpus(java.nio.file.Files.readAllBytes(f));
      Sealing s = (v.loc().codec() & PackFormat.SEALED) != 0 ? SEALED : Sealing.NONE;
      for (int i = 0; i < 400; i++) {
        decodeOnlyFailsAsDamage(v, ManifestDecoderFuzzTest.Mutations.of(v.record(), 0, v.record().length, r), s, i % 2 == 0,
            seed);
      }
    }
  }

  @Test
  void randomBytes_areNamedDamage() {
    long seed = System.nanoTime();
    Random r = new Random(seed);
    Valid v = valid(SEALED, false);
    for (int i = 0; i < 1000; i++) {
      byte[] b = new byte[v.record().length];
      r.nextBytes(b);
      decodeOnlyFailsAsDamage(v, b, i % 2 == 0 ? SEALED : Sealing.NONE, false, seed);
    }
  }
}
