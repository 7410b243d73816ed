package dev.ckpt.internal.image;

import dev.ckpt.CorruptImageException;
import dev.ckpt.ImageKeyException;
import dev.ckpt.UnsupportedFormatException;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Writes manifests of format version 2, 3 when a part has a chunk slice, 4 when sealed, and reads versions 1
 * to 3 (docs/FORMAT.md). Big-endian; strings are a u16 length and UTF-8 bytes; the last 32 bytes
 * are the SHA-256 of everything before them. Version 2 adds, per compressed chunk, the SHA-256 of
 * its stored LZ4 block; version 3 adds extents that take part of a chunk. A manifest without
 * slices stays version 2, so that a ckpt from before version 3 still reads it.
 */
final class ManifestCodec {
  static final byte[] MAGIC = {'C', 'K', 'M', 'F'};
  static final int VERSION = 4;
  /** The version of a sealed manifest: a key id after the header, an HMAC instead of the SHA-256. */
  private static final int VERSION_SEALED = 4;
  private static final int VERSION_WITH_SLICES = 3;
  /** The version written when no part has a slice. */
  private static final int VERSION_WITHOUT_SLICES = 2;
  private static final int OLDEST_VERSION = 1;
  /** Chunk entry check byte: only the raw bytes' hash is known / the payload's hash follows. */
  private static final byte CHECK_RAW = 0;
  private static final byte CHECK_PAYLOAD = 1;
  private static final Pattern PACK_NAME = Pattern.compile("[0-9a-f]{32}");
  private static final int MAX_STRING = 4096;
  /** As {@link dev.ckpt.Encryption} accepts them; anything else in a manifest is damage, and never printed. */
  private static final Pattern KEY_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");

  private ManifestCodec() {}

  static byte[] encode(Manifest m) {
    return encode(m, Sealing.NONE);
  }

  /** Encodes {@code m}; sealed (version 4, authenticated with {@code sealing}) when it has a key id. */
  static byte[] encode(Manifest m, Sealing sealing) {
    if (!java.util.Objects.equals(m.keyId(), sealing.keyId())) {
      throw new IllegalArgumentException("manifest of key " + m.keyId() + " encoded with key " + sealing.keyId());
    }
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(4096 + m.chunks().size() * 53);
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      out.write(MAGIC);
      out.writeShort(sealing.sealed() ? VERSION_SEALED : hasSlices(m) ? VERSION_WITH_SLICES : VERSION_WITHOUT_SLICES);
      out.writeShort(0);
      if (sealing.sealed()) {
        writeString(out, sealing.keyId());
      }
      writeString(out, m.job());
      out.writeLong(m.id());
      out.writeLong(m.parentId());
      out.writeLong(m.created().toEpochMilli());
      out.writeInt(m.chunkSize());
      writeMap(out, m.attributes());
      out.writeInt(m.packs().size());
      for (String p : m.packs()) {
        writeString(out, p);
      }
      out.writeInt(m.chunks().size());
      ByteBuffer hash = ByteBuffer.allocate(Hash256.BYTES);
      for (Manifest.Chunk c : m.chunks()) {
        hash.clear();
        c.hash().write(hash);
        out.write(hash.array());
        out.writeInt(c.pack());
        out.writeLong(c.offset());
        out.writeInt(c.recordLength());
        out.writeInt(c.rawLength());
        out.writeByte(c.codec());
        if (c.codec() != PackFormat.CODEC_RAW && c.payloadHash() != null) {
          out.writeByte(CHECK_PAYLOAD);
          hash.clear();
          c.payloadHash().write(hash);
          out.write(hash.array());
        } else {
          out.writeByte(CHECK_RAW);
        }
      }
      out.writeInt(m.parts().size());
      for (Manifest.Part p : m.parts()) {
        writeString(out, p.name());
        writeMap(out, p.attributes());
        out.writeLong(p.size());
        out.writeInt(p.extentCount());
        for (int i = 0; i < p.extentCount(); i++) {
          if (p.isSlice(i, m.chunks())) {
            out.writeByte(2);
            out.writeInt(p.chunkIndex()[i]);
            out.writeInt(p.from()[i]);
            out.writeInt((int) p.length()[i]);
          } else if (p.chunkIndex()[i] >= 0) {
            out.writeByte(1);
            out.writeInt(p.chunkIndex()[i]);
          } else {
            out.writeByte(0);
            out.writeLong(p.length()[i]);
          }
        }
      }
      Manifest.Stats s = m.stats();
      out.writeLong(s.bytesScanned());
      out.writeLong(s.newRawBytes());
      out.writeLong(s.newStoredBytes());
      out.writeInt(s.newChunks());
      out.writeInt(s.reusedChunks());
      out.writeLong(s.durationNanos());
      out.flush();
      byte[] body = bytes.toByteArray();
      if (sealing.sealed()) {
        out.write(sealing.mac(body, body.length));
      } else {
        MessageDigest digest = Hash256.newDigest();
        digest.update(body);
        out.write(digest.digest());
      }
    } catch (IOException e) {
      throw new UncheckedIOException("writing to memory cannot fail", e);
    }
    return bytes.toByteArray();
  }

  private static boolean hasSlices(Manifest m) {
    for (Manifest.Part p : m.parts()) {
      for (int i = 0; i < p.extentCount(); i++) {
        if (p.isSlice(i, m.chunks())) {
          return true;
        }
      }
    }
    return false;
  }

  /**
   * Decodes and fully validates a manifest read from {@code key}. The version is checked before
   * the checksum so that a newer format is reported as such, not as damage.
   */
  static Manifest decode(String key, byte[] data) throws CorruptImageException, UnsupportedFormatException,
      ImageKeyException {
    return decode(key, data, KeyRing.NONE);
  }

  /**
   * Decodes as {@link #decode(String, byte[])}; a sealed manifest (version 4) is authenticated with
   * the key it names, which {@code keys} must hold.
   */
  static Manifest decode(String key, byte[] data, KeyRing keys) throws CorruptImageException,
      UnsupportedFormatException, ImageKeyException {
    if (data.length < 8 + Hash256.BYTES) {
      throw new CorruptImageException("manifest " + key + " is truncated: " + data.length + " bytes");
    }
    if (!Arrays.equals(data, 0, 4, MAGIC, 0, 4)) {
      throw new CorruptImageException("manifest " + key + " does not start with the CKMF magic");
    }
    int version = ((data[4] & 0xff) << 8) | (data[5] & 0xff);
    if (version < OLDEST_VERSION || version > VERSION) {
      throw new UnsupportedFormatException("manifest " + key + " has format version " + version
          + "; this ckpt reads versions " + OLDEST_VERSION + " to " + VERSION);
    }
    int bodyStart = 8;
    String keyId = null;
    if (version == VERSION_SEALED) {
      // The key id comes before the trailer can be checked: it says which key checks it.
      int n = ((data[8] & 0xff) << 8) | (data[9] & 0xff);
      if (n == 0 || n > 64 || 10 + n > data.length - Hash256.BYTES) {
        throw new CorruptImageException("manifest " + key + " has a key id of " + n + " bytes");
      }
      keyId = new String(data, 10, n, StandardCharsets.UTF_8);
      if (!KEY_ID.matcher(keyId).matches()) {
        throw new CorruptImageException("manifest " + key + " has a key id outside [A-Za-z0-9_.-]");
      }
      bodyStart = 10 + n;
      Sealing sealing = keys.forId(keyId, "manifest " + key);
      byte[] mac = sealing.mac(data, data.length - Hash256.BYTES);
      if (!MessageDigest.isEqual(mac, Arrays.copyOfRange(data, data.length - Hash256.BYTES, data.length))) {
        throw new ImageKeyException("manifest " + key + " does not authenticate with key '" + keyId + "': altered,"
            + " truncated, or made with another key of that id");
      }
    } else {
      MessageDigest digest = Hash256.newDigest();
      digest.update(data, 0, data.length - Hash256.BYTES);
      if (!Arrays.equals(digest.digest(), 0, Hash256.BYTES, data, data.length - Hash256.BYTES, data.length)) {
        throw new CorruptImageException("manifest " + key + " fails its SHA-256 checksum (truncated or damaged)");
      }
    }
    ByteBuffer in = ByteBuffer.wrap(data, bodyStart, data.length - bodyStart - Hash256.BYTES);
    try {
      return decodeBody(key, in, version, keyId);
    } catch (BufferUnderflowException | IllegalArgumentException e) {
      throw new CorruptImageException("manifest " + key + " is malformed: " + e, e);
    }
  }

  private static Manifest decodeBody(String key, ByteBuffer in, int version, String keyId) throws CorruptImageException {
    boolean sealed = keyId != null;
    String job = readString(in);
    long id = in.getLong();
    long parent = in.getLong();
    Instant created = Instant.ofEpochMilli(in.getLong());
    int chunkSize = in.getInt();
    Map<String, String> attrs = readMap(in);
    int packCount = count(in, 1);
    List<String> packs = new ArrayList<>(packCount);
    for (int i = 0; i < packCount; i++) {
      String p = readString(in);
      if (!PACK_NAME.matcher(p).matches()) {
        throw new CorruptImageException("manifest " + key + " names an invalid pack '" + p + "'");
      }
      packs.add(p);
    }
    int chunkCount = count(in, version == 1 ? 53 : 54);
    List<Manifest.Chunk> chunks = new ArrayList<>(chunkCount);
    for (int i = 0; i < chunkCount; i++) {
      Hash256 h = Hash256.read(in);
      int pack = in.getInt();
      long off = in.getLong();
      int recLen = in.getInt();
      int rawLen = in.getInt();
      byte codecByte = in.get();
      byte codec = sealed ? (byte) (codecByte ^ PackFormat.SEALED) : codecByte;
      byte check = version == 1 ? CHECK_RAW : in.get();
      // A sealed manifest has only sealed chunks, checked by their tags; an unencrypted one none.
      if (pack < 0 || pack >= packCount || off < PackFormat.HEADER_BYTES || rawLen <= 0 || rawLen > chunkSize
          || recLen < PackFormat.RECORD_HEADER_BYTES || (codec != PackFormat.CODEC_RAW && codec != PackFormat.CODEC_LZ4)
          || (check != CHECK_RAW && check != CHECK_PAYLOAD) || (check == CHECK_PAYLOAD && (codec == PackFormat.CODEC_RAW
          || sealed))) {
        throw new CorruptImageException("manifest " + key + ": chunk entry " + i + " is out of range");
      }
      Hash256 payload = check == CHECK_PAYLOAD ? Hash256.read(in) : codec == PackFormat.CODEC_RAW && !sealed ? h : null;
      chunks.add(new Manifest.Chunk(h, pack, off, recLen, rawLen, codecByte, payload));
    }
    int partCount = count(in, 16);
    List<Manifest.Part> parts = new ArrayList<>(partCount);
    for (int i = 0; i < partCount; i++) {
      String name = readString(in);
      Map<String, String> pattrs = readMap(in);
      long size = in.getLong();
      int n = count(in, 5);
      int[] idx = new int[n];
      long[] length = new long[n];
      int[] from = new int[n];
      long covered = 0;
      for (int e = 0; e < n; e++) {
        byte kind = in.get();
        if (kind == 1 || (kind == 2 && version >= 3)) {
          int c = in.getInt();
          if (c < 0 || c >= chunkCount) {
            throw new CorruptImageException("manifest " + key + ": part " + name + " references chunk " + c + " of " + chunkCount);
          }
          idx[e] = c;
          int raw = chunks.get(c).rawLength();
          if (kind == 2) {
            from[e] = in.getInt();
            int len = in.getInt();
            if (from[e] < 0 || len <= 0 || (long) from[e] + len > raw) {
              throw new CorruptImageException("manifest " + key + ": part " + name + " takes bytes " + from[e] + " + " + len
                  + " of chunk " + c + ", which has " + raw);
            }
            length[e] = len;
          } else {
            length[e] = raw;
          }
          covered = cover(key, name, covered, length[e], size);
        } else if (kind == 0) {
          idx[e] = -1;
          length[e] = in.getLong();
          if (length[e] <= 0) {
            throw new CorruptImageException("manifest " + key + ": part " + name + " has an empty zero run");
          }
          covered = cover(key, name, covered, length[e], size);
        } else {
          throw new CorruptImageException("manifest " + key + ": part " + name + " has extent kind " + kind);
        }
      }
      if (covered != size) {
        throw new CorruptImageException("manifest " + key + ": part " + name + " extents cover " + covered + " bytes, size says " + size);
      }
      parts.add(new Manifest.Part(name, pattrs, size, idx, length, from));
    }
    Manifest.Stats stats = new Manifest.Stats(in.getLong(), in.getLong(), in.getLong(), in.getInt(), in.getInt(), in.getLong());
    if (in.hasRemaining()) {
      throw new CorruptImageException("manifest " + key + " has " + in.remaining() + " trailing bytes");
    }
    return new Manifest(job, id, parent, created, chunkSize, attrs, Collections.unmodifiableList(packs),
        Collections.unmodifiableList(chunks), Collections.unmodifiableList(parts), stats, keyId);
  }

  /** {@code covered + more}, refused once it would pass the part's size (or overflow). */
  private static long cover(String key, String part, long covered, long more, long size) throws CorruptImageException {
    if (more > size - covered) {
      throw new CorruptImageException("manifest " + key + ": part " + part + " has extents beyond its size " + size);
    }
    return covered + more;
  }

  /** Reads an element count and rejects one the remaining bytes cannot hold. */
  private static int count(ByteBuffer in, int minElementBytes) {
    int n = in.getInt();
    if (n < 0 || (long) n * minElementBytes > in.remaining()) {
      throw new IllegalArgumentException("element count " + n + " exceeds the remaining " + in.remaining() + " bytes");
    }
    return n;
  }

  private static void writeString(DataOutputStream out, String s) throws IOException {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    if (b.length > MAX_STRING) {
      throw new IllegalArgumentException("string longer than " + MAX_STRING + " bytes: " + s.substring(0, 40) + "...");
    }
    out.writeShort(b.length);
    out.write(b);
  }

  private static String readString(ByteBuffer in) {
    int n = in.getShort() & 0xffff;
    if (n > MAX_STRING) {
      throw new IllegalArgumentException("string length " + n);
    }
    byte[] b = new byte[n];
    in.get(b);
    return new String(b, StandardCharsets.UTF_8);
  }

  private static void writeMap(DataOutputStream out, Map<String, String> map) throws IOException {
    out.writeInt(map.size());
    for (Map.Entry<String, String> e : map.entrySet()) {
      writeString(out, e.getKey());
      writeString(out, e.getValue());
    }
  }

  private static Map<String, String> readMap(ByteBuffer in) {
    int n = count(in, 4);
    Map<String, String> m = new LinkedHashMap<>();
    for (int i = 0; i < n; i++) {
      m.put(readString(in), readString(in));
    }
    return Collections.unmodifiableMap(m);
  }
}
