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
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.DataKeySpec;
import software.amazon.awssdk.services.kms.model.DecryptResponse;
import software.amazon.awssdk.services.kms.model.GenerateDataKeyResponse;
import software.amazon.awssdk.services.kms.model.KmsException;

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
  private final List<String> olderKmsKeys;
  private final Map<String, String> context;
  private final String where;

  /**
   * @param kmsKey the KMS key whose data key seals
   * @param olderKmsKeys KMS keys whose data keys may still open older checkpoints
   * @param storeName bucket and prefix: the encryption context every data key is bound to
   */
  KmsEnvelope(KmsClient kms, String kmsKey, List<String> olderKmsKeys, String storeName, String where) {
    this.kms = kms;
    this.kmsKey = kmsKey;
    this.olderKmsKeys = olderKmsKeys;
    // KMS binds a wrapped key to its context: a data key wrapped for another store, or by another
    // tool, does not unwrap here, and key policies can scope grants to ckpt stores.
    this.context = Map.of("ckpt-store", storeName);
    this.where = where;
  }

  /** KMS errors that mean "this wrapped key will not open here"; any other (throttling, network, 5xx) is thrown. */
  private static final Set<String> CANNOT_UNWRAP = Set.of("InvalidCiphertextException", "IncorrectKeyException",
      "AccessDeniedException", "DisabledException", "KMSInvalidStateException", "NotFoundException");

  private String arnOf(String key) throws StoreConfigurationException {
    try {
      return kms.describeKey(b -> b.keyId(key)).keyMetadata().arn();
    } catch (SdkException e) {
      throw new StoreConfigurationException("store URI '" + where + "': KMS key '" + key + "' cannot be described: "
          + e.getMessage(), e);
    }
  }

  /** The data keys in {@code store}, the current one first; generates it on first use. */
  Encryption load(BlobStore store) throws CheckpointException {
    String arn = arnOf(kmsKey);
    List<String> allowed = new ArrayList<>(List.of(arn));
    for (String older : olderKmsKeys) {
      allowed.add(arnOf(older));
    }
    Map<String, byte[]> keys = new LinkedHashMap<>();
    List<String> current = new ArrayList<>();
    for (BlobInfo b : store.list(PREFIX)) {
      String id = b.key().substring(PREFIX.length());
      byte[] wrapped = read(store, b.key());
      if (wrapped == null) {
        continue;
      }
      if (!id.equals(idOf(wrapped))) {
        LOG.warn("{}: {} does not hold the wrapped key its name says; ignored", where, b.key());
        continue;
      }
      byte[] plain = null;
      for (String kmsArn : allowed) {
        try {
          // Only under a KMS key this store was given: a data key someone wrapped under any other
          // key they could use is never taken.
          DecryptResponse r = kms.decrypt(d -> d.ciphertextBlob(SdkBytes.fromByteArray(wrapped)).keyId(kmsArn)
              .encryptionContext(context));
          if (!kmsArn.equals(r.keyId())) {
            continue;
          }
          plain = r.plaintext().asByteArray();
          if (kmsArn.equals(arn)) {
            current.add(id);
          }
          break;
        } catch (KmsException e) {
          if (e.awsErrorDetails() == null || !CANNOT_UNWRAP.contains(e.awsErrorDetails().errorCode())) {
            throw new StoreException(b.key(), "store URI '" + where + "': KMS failed to unwrap data key " + id + ": "
                + e.getMessage(), e);
          }
        } catch (SdkException e) {
          throw new StoreException(b.key(), "store URI '" + where + "': KMS failed to unwrap data key " + id + ": "
              + e.getMessage(), e);
        }
      }
      if (plain == null) {
        // Checkpoints sealed with it cannot be opened; they are refused by key id when asked for.
        LOG.warn("{}: data key {} is not wrapped for this store by {} (envelopeKey, envelopeOlderKeys); checkpoints sealed"
            + " with it will be refused", where, id, allowed);
        continue;
      }
      if (plain.length != Encryption.KEY_BYTES) {
        Arrays.fill(plain, (byte) 0);
        LOG.warn("{}: data key {} is not 32 bytes; ignored", where, id);
        continue;
      }
      keys.put(id, plain);
    }
    if (current.isEmpty()) {
      GenerateDataKeyResponse g;
      try {
        g = kms.generateDataKey(b -> b.keyId(arn).keySpec(DataKeySpec.AES_256).encryptionContext(context));
      } catch (SdkException e) {
        throw new StoreException(PREFIX, "store URI '" + where + "': KMS refused a data key under '" + kmsKey + "': "
            + e.getMessage(), e);
      }
      byte[] wrapped = g.ciphertextBlob().asByteArray();
      String id = idOf(wrapped);
      // The name is the hash of the bytes: "already there" can only be these same bytes.
      store.putIfAbsent(PREFIX + id, wrapped);
      keys.put(id, g.plaintext().asByteArray());
      current.add(id);
      LOG.info("{}: new data key {} wrapped by KMS key {}", where, id, arn);
    }
    // Two writers that each generated one on a first open seal with their own until they open
    // again; from then on all take the least id.
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
      return in.readNBytes(64 << 10); // a KMS ciphertext blob is at most 6 KiB; a longer one fails its name check
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
