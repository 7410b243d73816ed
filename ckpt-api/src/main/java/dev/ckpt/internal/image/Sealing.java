package dev.ckpt.internal.image;

import dev.ckpt.CorruptImageException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * One key's three uses (docs/SECURITY.md): chunk ids, chunk sealing and manifest authentication,
 * each with its own subkey derived as HMAC-SHA256(key, label), so that no two uses share a key.
 * {@link #NONE} is no encryption: plain SHA-256 ids, records stored as they are.
 *
 * <p>A chunk's id is HMAC-SHA256 of its content under the id subkey: a store sees ids but cannot
 * test a guess of the content, and equal contents under two keys have unrelated ids.
 * What proves a chunk genuine is its AES-256-GCM tag, whose associated data is the record header
 * (codec, lengths and id), so a record cannot be moved to another chunk.
 */
final class Sealing {
  static final Sealing NONE = new Sealing();
  /** Nonce before the ciphertext, tag after it. */
  static final int NONCE_BYTES = 12;
  static final int TAG_BYTES = 16;
  static final int OVERHEAD = NONCE_BYTES + TAG_BYTES;

  private final String keyId;
  private final ThreadLocal<Mac> idMacs;
  private final SecretKeySpec sealKey;
  private final SecretKeySpec macKey;
  private final SecureRandom random;
  private final ThreadLocal<Cipher> ciphers;

  private Sealing() {
    this.keyId = null;
    this.idMacs = null;
    this.sealKey = null;
    this.macKey = null;
    this.random = null;
    this.ciphers = null;
  }

  Sealing(String keyId, byte[] key) {
    this.keyId = keyId;
    SecretKeySpec idKey = new SecretKeySpec(derive(key, "ckpt chunk id v1"), "HmacSHA256");
    this.idMacs = ThreadLocal.withInitial(() -> {
      try {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(idKey);
        return mac;
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException("every Java platform provides HmacSHA256", e);
      }
    });
    this.sealKey = new SecretKeySpec(derive(key, "ckpt chunk seal v1"), "AES");
    this.macKey = new SecretKeySpec(derive(key, "ckpt manifest mac v1"), "HmacSHA256");
    this.random = new SecureRandom();
    this.ciphers = ThreadLocal.withInitial(() -> {
      try {
        return Cipher.getInstance("AES/GCM/NoPadding");
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException("every Java platform provides AES/GCM/NoPadding", e);
      }
    });
  }

  private static byte[] derive(byte[] key, String label) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      return mac.doFinal(label.getBytes(StandardCharsets.US_ASCII));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("every Java platform provides HmacSHA256", e);
    }
  }

  boolean sealed() {
    return keyId != null;
  }

  /** The key's id, or null for no encryption. */
  String keyId() {
    return keyId;
  }

  /** The id of {@code data[off..off+len)}: its SHA-256 with {@code digest}, or its HMAC under a key. */
  Hash256 id(MessageDigest digest, byte[] data, int off, int len) {
    if (idMacs != null) {
      Mac mac = idMacs.get(); // doFinal leaves it ready for the next chunk
      mac.update(data, off, len);
      return Hash256.read(ByteBuffer.wrap(mac.doFinal()));
    }
    digest.reset();
    digest.update(data, off, len);
    return Hash256.read(ByteBuffer.wrap(digest.digest()));
  }

  /** The id of the bytes remaining in {@code data}, which it consumes. */
  Hash256 id(MessageDigest digest, ByteBuffer data) {
    if (idMacs != null) {
      Mac mac = idMacs.get();
      mac.update(data);
      return Hash256.read(ByteBuffer.wrap(mac.doFinal()));
    }
    digest.reset();
    digest.update(data);
    return Hash256.read(ByteBuffer.wrap(digest.digest()));
  }

  /**
   * Seals in place the {@code length} bytes at {@code record[at + NONCE_BYTES]}: writes a fresh
   * random nonce at {@code at}, the ciphertext over the plaintext and the tag after it, with
   * {@code record[0..at)} (the header) as associated data.
   */
  void seal(byte[] record, int at, int length) {
    byte[] nonce = new byte[NONCE_BYTES];
    random.nextBytes(nonce);
    System.arraycopy(nonce, 0, record, at, NONCE_BYTES);
    try {
      Cipher c = ciphers.get();
      c.init(Cipher.ENCRYPT_MODE, sealKey, new GCMParameterSpec(TAG_BYTES * 8, nonce));
      c.updateAAD(record, 0, at);
      c.doFinal(record, at + NONCE_BYTES, length, record, at + NONCE_BYTES);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM sealing failed: " + e, e);
    }
  }

  /**
   * Opens the sealed payload {@code rec[start..start+payload)} whose header is the
   * {@code headerBytes} before it, into {@code out} at 0; returns the plaintext's length.
   */
  int open(ByteBuffer rec, int start, int payload, int headerBytes, byte[] out, String where) throws CorruptImageException {
    if (payload < OVERHEAD) {
      throw new CorruptImageException(where + ": sealed payload of " + payload + " bytes is shorter than nonce and tag");
    }
    byte[] nonce = new byte[NONCE_BYTES];
    rec.get(start, nonce);
    try {
      Cipher c = ciphers.get();
      c.init(Cipher.DECRYPT_MODE, sealKey, new GCMParameterSpec(TAG_BYTES * 8, nonce));
      c.updateAAD(rec.duplicate().position(start - headerBytes).limit(start));
      return c.doFinal(rec.duplicate().position(start + NONCE_BYTES).limit(start + payload), ByteBuffer.wrap(out));
    } catch (AEADBadTagException e) {
      throw new CorruptImageException(where + " does not authenticate with key '" + keyId + "': altered, or sealed with"
          + " another key of that id");
    } catch (javax.crypto.ShortBufferException e) {
      throw new CorruptImageException(where + ": sealed payload of " + payload + " bytes is larger than its chunk allows");
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM opening failed: " + e, e);
    }
  }

  /** HMAC-SHA256 of {@code data[0..length)} under the manifest subkey. */
  byte[] mac(byte[] data, int length) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(macKey);
      mac.update(data, 0, length);
      return mac.doFinal();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("every Java platform provides HmacSHA256", e);
    }
  }
}
