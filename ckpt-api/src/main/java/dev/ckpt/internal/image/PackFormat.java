package dev.ckpt.internal.image;

import dev.ckpt.CorruptImageException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Exception;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;

/**
 * Pack files and the chunk records inside them (docs/FORMAT.md, "Packs"). Stateless apart from
 * the LZ4 codec instances, which are thread-safe.
 */
final class PackFormat {
  static final byte[] MAGIC = {'C', 'K', 'P', 'K'};
  static final short VERSION = 1;
  static final int HEADER_BYTES = 8;
  /** codec(1) reserved(3) rawLength(4) payloadLength(4) sha256(32). */
  static final int RECORD_HEADER_BYTES = 44;
  static final byte CODEC_RAW = 0;
  static final byte CODEC_LZ4 = 1;
  /**
   * Set in a record's codec byte when its payload is sealed: a nonce, the AES-256-GCM ciphertext
   * of what the codec made, and the tag (docs/FORMAT.md, "Sealed records").
   */
  static final byte SEALED = (byte) 0x80;

  private final LZ4Compressor compressor;
  private final LZ4SafeDecompressor decompressor;
  /** Per thread: a sealed LZ4 block is opened here before it is decompressed. */
  private final ThreadLocal<byte[]> opened = ThreadLocal.withInitial(() -> new byte[0]);

  PackFormat() {
    LZ4Factory factory = LZ4Factory.fastestInstance();
    this.compressor = factory.fastCompressor();
    this.decompressor = factory.safeDecompressor();
  }

  static void writeHeader(ByteBuffer out) {
    out.put(MAGIC).putShort(VERSION).putShort((short) 0);
  }

  int maxRecordLength(int rawLength) {
    return RECORD_HEADER_BYTES + Sealing.OVERHEAD + Math.max(rawLength, compressor.maxCompressedLength(rawLength));
  }

  /**
   * Encodes {@code raw[rawOffset..rawOffset+rawLength)} as a chunk record into {@code out} at
   * offset 0 and returns the record's length. Falls back to raw storage when compression does not
   * shrink the chunk. With a key, the payload is sealed in place after the header is written.
   */
  int encode(byte[] raw, int rawOffset, int rawLength, Hash256 hash, boolean compress, byte[] out, Sealing sealing) {
    int at = RECORD_HEADER_BYTES + (sealing.sealed() ? Sealing.NONCE_BYTES : 0);
    int room = out.length - at - (sealing.sealed() ? Sealing.TAG_BYTES : 0);
    int payload;
    byte codec;
    if (compress) {
      payload = compressor.compress(raw, rawOffset, rawLength, out, at, room);
      codec = CODEC_LZ4;
      if (payload >= rawLength) {
        codec = CODEC_RAW;
      }
    } else {
      codec = CODEC_RAW;
      payload = rawLength;
    }
    if (codec == CODEC_RAW) {
      payload = rawLength;
      System.arraycopy(raw, rawOffset, out, at, rawLength);
    }
    int stored = sealing.sealed() ? payload + Sealing.OVERHEAD : payload;
    ByteBuffer h = ByteBuffer.wrap(out, 0, RECORD_HEADER_BYTES);
    h.put(sealing.sealed() ? (byte) (codec | SEALED) : codec).put((byte) 0).put((byte) 0).put((byte) 0).putInt(rawLength)
        .putInt(stored);
    hash.write(h);
    if (sealing.sealed()) {
      sealing.seal(out, RECORD_HEADER_BYTES, payload);
    }
    return RECORD_HEADER_BYTES + stored;
  }

  /**
   * The SHA-256 of the payload of the record {@code encode} just wrote: the raw bytes' hash for a
   * raw record, computed over the LZ4 block for a compressed one, and none for a sealed one, whose
   * tag already proves every stored byte before any is opened.
   */
  static Hash256 payloadHash(byte[] record, int recordLength, Hash256 rawHash, MessageDigest digest) {
    if ((record[0] & SEALED) != 0) {
      return null;
    }
    if (record[0] == CODEC_RAW) {
      return rawHash;
    }
    return Hash256.of(digest, record, RECORD_HEADER_BYTES, recordLength - RECORD_HEADER_BYTES);
  }

  /**
   * Decodes and verifies the record at {@code rec[off..off+loc.recordLength)} (absolute
   * positions) and returns a view of its raw bytes: a slice of {@code rec} itself for raw chunks
   * (no copy), else of {@code raw}. Every mismatch with what the manifest promised is a
   * {@link CorruptImageException} naming the chunk and pack.
   *
   * <p>What is hashed is what was stored: the payload, checked against the manifest's payload
   * hash, before a byte of it is decompressed. Decompression is a function of those bytes, so the
   * result is what the writer compressed. {@code deep} also hashes the decompressed bytes against
   * the content hash, which catches a compressor fault at dump time as well; {@code verify} does
   * that, restore does not (for compressible memory it would double the hashing).
   *
   * <p>A compressed chunk whose block was checked is decompressed straight into {@code target}
   * when one is given (the restore destination itself, saving a copy), and null is returned:
   * the bytes are already where they belong. Otherwise they go into {@code raw}.
   *
   * <p>A sealed record is opened with {@code sealing}, its manifest's key: the tag checks every
   * stored byte and the header before anything is decompressed, so only {@code deep} hashes it.
   */
  ByteBuffer decode(ByteBuffer rec, int off, ChunkLoc loc, Hash256 expected, MessageDigest digest, byte[] raw,
      boolean deep, ByteBuffer target, Sealing sealing) throws CorruptImageException {
    if (off < 0 || loc.recordLength() < RECORD_HEADER_BYTES || rec.limit() - off < loc.recordLength()) {
      throw new CorruptImageException(where(expected, loc) + ": record of " + loc.recordLength() + " bytes is cut short"
          + " (" + (rec.limit() - off) + " bytes read)");
    }
    ByteBuffer h = rec.duplicate().position(off).limit(off + RECORD_HEADER_BYTES);
    byte codecByte = h.get();
    h.position(h.position() + 3);
    int rawLength = h.getInt();
    int payload = h.getInt();
    Hash256 recorded = Hash256.read(h);
    if (codecByte != loc.codec() || rawLength != loc.rawLength() || payload != loc.recordLength() - RECORD_HEADER_BYTES
        || !recorded.equals(expected)) {
      throw new CorruptImageException(where(expected, loc) + ": record header does not match the manifest (codec "
          + codecByte + ", raw length " + rawLength + ", payload " + payload + ")");
    }
    boolean sealed = (codecByte & SEALED) != 0;
    byte codec = (byte) (codecByte & ~SEALED);
    if (sealed != sealing.sealed()) {
      throw new CorruptImageException(where(expected, loc) + (sealed ? " is sealed, but its manifest is not encrypted"
          : " is not sealed, but its manifest is encrypted"));
    }
    int start = off + RECORD_HEADER_BYTES;
    ByteBuffer data;
    if (sealed) {
      if (rawLength < 0 || rawLength > raw.length) {
        throw new CorruptImageException(where(expected, loc) + ": raw length " + rawLength + " is out of range");
      }
      if (codec == CODEC_RAW) {
        if (sealing.open(rec, start, payload, RECORD_HEADER_BYTES, raw, where(expected, loc)) != rawLength) {
          throw new CorruptImageException(where(expected, loc) + ": sealed raw payload is not " + rawLength + " bytes");
        }
        data = ByteBuffer.wrap(raw, 0, rawLength);
      } else if (codec == CODEC_LZ4) {
        if (payload - Sealing.OVERHEAD > compressor.maxCompressedLength(rawLength)) {
          throw new CorruptImageException(where(expected, loc) + ": sealed LZ4 block of " + payload + " bytes is larger"
              + " than " + rawLength + " bytes can compress to");
        }
        byte[] block = opened.get();
        if (block.length < payload) {
          block = new byte[payload];
          opened.set(block);
        }
        int n = sealing.open(rec, start, payload, RECORD_HEADER_BYTES, block, where(expected, loc));
        boolean direct = target != null && !deep;
        decompress(ByteBuffer.wrap(block), 0, n, direct ? target : ByteBuffer.wrap(raw), rawLength, expected, loc);
        if (direct) {
          return null;
        }
        data = ByteBuffer.wrap(raw, 0, rawLength);
      } else {
        throw new CorruptImageException(where(expected, loc) + ": unknown codec " + codec);
      }
      if (deep && !sealing.id(digest, data.duplicate()).equals(expected)) {
        throw new CorruptImageException(where(expected, loc) + ": content does not match its id");
      }
      return data;
    }
    if (codec == CODEC_RAW) {
      data = rec.duplicate().position(start).limit(start + rawLength).slice();
    } else if (codec == CODEC_LZ4) {
      if (loc.payloadHash() != null && !hash(digest, rec.duplicate().position(start).limit(start + payload))
          .equals(loc.payloadHash())) {
        throw new CorruptImageException(where(expected, loc) + ": stored LZ4 block does not match its SHA-256");
      }
      boolean direct = target != null && !deep && loc.payloadHash() != null;
      decompress(rec, start, payload, direct ? target : ByteBuffer.wrap(raw), rawLength, expected, loc);
      if (direct) {
        return null;
      }
      data = ByteBuffer.wrap(raw, 0, rawLength);
    } else {
      throw new CorruptImageException(where(expected, loc) + ": unknown codec " + codec);
    }
    if ((codec == CODEC_RAW || deep || loc.payloadHash() == null) && !sealing.id(digest, data.duplicate()).equals(expected)) {
      throw new CorruptImageException(where(expected, loc) + ": content does not match its SHA-256");
    }
    return data;
  }

  /** Decompresses the LZ4 block {@code src[off..off+len)} into {@code into} at 0: exactly {@code rawLength} bytes, or damage. */
  private void decompress(ByteBuffer src, int off, int len, ByteBuffer into, int rawLength, Hash256 expected, ChunkLoc loc)
      throws CorruptImageException {
    int n;
    try {
      n = decompressor.decompress(src, off, len, into, 0, rawLength);
    } catch (LZ4Exception e) {
      throw new CorruptImageException(where(expected, loc) + ": LZ4 data is damaged", e);
    }
    if (n != rawLength) {
      throw new CorruptImageException(where(expected, loc) + ": decompressed to " + n + " bytes, expected " + rawLength);
    }
  }

  private static Hash256 hash(MessageDigest digest, ByteBuffer bytes) {
    digest.reset();
    digest.update(bytes);
    return Hash256.read(ByteBuffer.wrap(digest.digest()));
  }

  /** Built only on failure: formatting the hash for every chunk cost more than decoding small ones. */
  private static String where(Hash256 expected, ChunkLoc loc) {
    return "chunk " + expected + " in pack " + loc.pack() + " at offset " + loc.offset();
  }
}
