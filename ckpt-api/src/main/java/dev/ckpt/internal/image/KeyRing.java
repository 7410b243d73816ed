package dev.ckpt.internal.image;

import dev.ckpt.Encryption;
import dev.ckpt.ImageKeyException;
import java.util.LinkedHashMap;
import java.util.Map;

/** A store's keys by id, the one that seals new checkpoints, and whether unencrypted images are accepted. */
final class KeyRing {
  static final KeyRing NONE = new KeyRing(Map.of(), Sealing.NONE, true);

  private final Map<String, Sealing> byId;
  private final Sealing current;
  private final boolean allowUnencrypted;

  private KeyRing(Map<String, Sealing> byId, Sealing current, boolean allowUnencrypted) {
    this.byId = byId;
    this.current = current;
    this.allowUnencrypted = allowUnencrypted;
  }

  static KeyRing of(Encryption e) {
    if (e == null) {
      return NONE;
    }
    Map<String, Sealing> byId = new LinkedHashMap<>();
    for (String id : e.keyIds()) {
      byte[] key = e.key(id);
      byId.put(id, new Sealing(id, key));
      java.util.Arrays.fill(key, (byte) 0);
    }
    return new KeyRing(Map.copyOf(byId), byId.get(e.currentKeyId()), e.allowsUnencrypted());
  }

  /** What seals new checkpoints: {@link Sealing#NONE} without encryption. */
  Sealing current() {
    return current;
  }

  /** The sealing of key {@code id}, or an exception naming it and {@code what} for a key not configured. */
  Sealing forId(String id, String what) throws ImageKeyException {
    if (id == null) {
      return Sealing.NONE;
    }
    Sealing s = byId.get(id);
    if (s == null) {
      throw new ImageKeyException(what + " is encrypted with key '" + id + "', which is not configured ("
          + (byId.isEmpty() ? "no keys" : "keys: " + byId.keySet()) + "; " + (id.startsWith("kms-")
              ? "a KMS envelope key: give the store URI the envelopeKey (or envelopeOlderKeys) that wraps it"
              : "give its key file with --key-file, CKPT_KEY_FILE or CheckpointStore.Builder.encryption") + ")");
    }
    return s;
  }

  /** Refuses an unencrypted image, naming it, when this store requires encryption. */
  void checkEncrypted(String keyId, String what) throws ImageKeyException {
    if (keyId == null && !allowUnencrypted) {
      throw new ImageKeyException(what + " is not encrypted, and this store requires encryption (key '"
          + current.keyId() + "'); allow unencrypted images explicitly to read it (--allow-unencrypted,"
          + " Encryption.allowingUnencrypted())");
    }
  }
}
