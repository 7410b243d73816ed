package dev.ckpt.store.s3.internal;

import dev.ckpt.CheckpointException;
import dev.ckpt.Encryption;
import dev.ckpt.NoSuchKeyException;
import dev.ckpt.StoreConfigurationException;
import dev.ckpt.StoreException;
import dev.ckpt.spi.BlobInfo;
import dev.ckpt.spi.BlobStore;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.DataKeySpec;
import software.amazon.awssdk.services.kms.model.DecryptResponse;
import software.amazon.awssdk.services.kms.model.GenerateDataKeyResponse;

/**
 * Envelope encryption for a store (docs/SECURITY.md): the data keys that seal checkpoints are kept
 * in the store itself, each wrapped by a KMS key, under {@value #PREFIX}. Opening the store
 * unwraps every one KMS lets this caller unwrap; the data key wrapped by the configured KMS key
 * seals new checkpoints, and one is generated the first time. Changing the configured KMS key is
 * the rotation: a new data key is generated under it, and older checkpoints still open as long as
 * their KMS key lets this caller decrypt.
 */
final class KmsEnvelope {
  private static final Logger LOG = LoggerFactory.getLogger(KmsEnvelope.class);
  /** Not a job name (those start with a letter or digit), so no job's keys collide with it. */
  static final String PREFIX = "_ckpt/envelope-keys/";
  private static final String ID_PREFIX = "kms-";

  private final KmsClient kms;
  private final String kmsKey;
  private final String where;

  KmsEnvelope(KmsClient kms, String kmsKey, String where) {
    this.kms = kms;
    this.kmsKey = kmsKey;
    this.where = where;
  }

  /** The data keys in {@code store}, the current one first; generates it on first use. */
  Encryption load(BlobStore store) throws CheckpointException {
    String arn;
    try {
      arn = kms.describeKey(b -> b.keyId(kmsKey)).keyMetadata().arn();
    } catch (SdkException e) {
      throw new StoreConfigurationException("store URI '" + where + "': KMS key '" + kmsKey + "' (envelopeKey) cannot be"
          + " described: " + e.getMessage(), e);
    }
    Map<String, byte[]> keys = new LinkedHashMap<>();
    List<String> current = new ArrayList<>();
    for (BlobInfo b : store.list(PREFIX)) {
      String id = b.key().substring(PREFIX.length());
      byte[] wrapped = read(store, b.key());
      if (wrapped == null) {
        continue;
      }
      try {
        DecryptResponse r = kms.decrypt(d -> d.ciphertextBlob(SdkBytes.fromByteArray(wrapped)));
        byte[] plain = r.plaintext().asByteArray();
        if (plain.length != Encryption.KEY_BYTES || !id.equals(idOf(wrapped))) {
          LOG.warn("{}: data key {} in {} is not a 32-byte key wrapped under its own name; ignored", where, id, b.key());
          continue;
        }
        keys.put(id, plain);
        if (arn.equals(r.keyId())) {
          current.add(id);
        }
      } catch (SdkException e) {
        // Checkpoints sealed with it cannot be opened; they are refused by key id when asked for.
        LOG.warn("{}: data key {} cannot be unwrapped by KMS ({}); checkpoints sealed with it will be refused",
            where, id, e.getMessage());
      }
    }
    if (current.isEmpty()) {
      GenerateDataKeyResponse g;
      try {
        g = kms.generateDataKey(b -> b.keyId(arn).keySpec(DataKeySpec.AES_256));
      } catch (SdkException e) {
        throw new StoreException(PREFIX, "store URI '" + where + "': KMS refused a data key under '" + kmsKey + "': "
            + e.getMessage(), e);
      }
      byte[] wrapped = g.ciphertextBlob().asByteArray();
      String id = idOf(wrapped);
      store.putIfAbsent(PREFIX + id, wrapped);
      keys.put(id, g.plaintext().asByteArray());
      current.add(id);
      LOG.info("{}: new data key {} wrapped by KMS key {}", where, id, arn);
    }
    // Two writers that each generated one converge on the same: the least id.
    String seal = current.stream().sorted().findFirst().orElseThrow();
    Encryption e = Encryption.withKey(seal, keys.get(seal));
    for (Map.Entry<String, byte[]> k : keys.entrySet()) {
      if (!k.getKey().equals(seal)) {
        e = e.withOlderKey(k.getKey(), k.getValue());
      }
      Arrays.fill(k.getValue(), (byte) 0);
    }
    return e;
  }

  private static byte[] read(BlobStore store, String key) throws StoreException {
    try (InputStream in = store.get(key)) {
      return in.readNBytes(64 << 10);
    } catch (NoSuchKeyException raced) {
      return null;
    } catch (IOException e) {
      throw new StoreException(key, "reading wrapped data key " + key + " failed: " + e.getMessage(), e);
    }
  }

  /** A data key's id names its wrapped bytes, so a name cannot be given to another key. */
  static String idOf(byte[] wrapped) {
    try {
      byte[] h = MessageDigest.getInstance("SHA-256").digest(wrapped);
      return ID_PREFIX + HexFormat.of().formatHex(h, 0, 8);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform provides SHA-256", e);
    }
  }
}
