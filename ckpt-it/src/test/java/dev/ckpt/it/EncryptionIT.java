package dev.ckpt.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ckpt.CheckpointInfo;
import dev.ckpt.CheckpointStore;
import dev.ckpt.CorruptImageException;
import dev.ckpt.Encryption;
import dev.ckpt.ImageKeyException;
import dev.ckpt.ImageReader;
import dev.ckpt.ImageWriter;
import dev.ckpt.PartOutput;
import dev.ckpt.StoreConfigurationException;
import dev.ckpt.VerifyResult;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Encryption at rest against a real local store: sealed images restore exactly, the store holds
 * neither their plaintext nor the plain SHA-256 of any chunk, and anything that does not
 * authenticate, or needs a key that is not configured, or is unencrypted where keys are required,
 * is refused by name.
 */
class EncryptionIT {
  private static final byte[] MARKER = "ckpt-secret-marker-0123456789".getBytes(StandardCharsets.US_ASCII);
  private static final Encryption K1 = Encryption.withKey("k1", key(1));
  private static final Encryption K2 = Encryption.withKey("k2", key(2));

  @TempDir
  Path dir;
  Path root;
  byte[] content;

  private static byte[] key(int seed) {
    byte[] k = new byte[32];
    new Random(seed).nextBytes(k);
    return k;
  }

  @BeforeEach
  void content() throws Exception {
    root = dir.resolve("store");
    Files.createDirectory(root);
    // 1 MiB: the marker repeated (compresses: an LZ4 record) and random bytes (stored raw).
    content = new byte[1 << 20];
    for (int i = 0; i + MARKER.length <= content.length / 2; i += MARKER.length) {
      System.arraycopy(MARKER, 0, content, i, MARKER.length);
    }
    byte[] random = new byte[content.length / 2];
    new Random(7).nextBytes(random);
    System.arraycopy(random, 0, content, content.length / 2, random.length);
  }

  private CheckpointStore open(Encryption e) throws Exception {
    CheckpointStore.Builder b = CheckpointStore.builder().uri(root.toUri()).parallelism(2);
    return (e == null ? b : b.encryption(e)).build();
  }

  private static CheckpointInfo write(CheckpointStore store, byte[] bytes) throws Exception {
    try (ImageWriter w = store.newImage("job")) {
      try (PartOutput out = w.part("data", Map.of())) {
        out.write(bytes, 0, bytes.length);
      }
      return w.commit();
    }
  }

  private static byte[] read(CheckpointStore store, long id) throws Exception {
    try (ImageReader r = store.open("job", id)) {
      return r.readBytes("data");
    }
  }

  /** Whether any file of the store holds {@code needle}. */
  private boolean storeHolds(byte[] needle) throws Exception {
    try (Stream<Path> files = Files.walk(root)) {
      for (Path f : files.filter(Files::isRegularFile).toList()) {
        byte[] b = Files.readAllBytes(f);
        for (int i = 0; i + needle.length <= b.length; i++) {
          if (Arrays.equals(b, i, i + needle.length, needle, 0, needle.length)) {
            return true;
          }
        }
      }
    }
    return false;
  }

  private Path onlyManifest(long id) {
    return root.resolve("job/manifests").resolve(String.format("%020d", id));
  }

  private static byte[] sha256(byte[] b, int off, int len) throws Exception {
    MessageDigest d = MessageDigest.getInstance("SHA-256");
    d.update(b, off, len);
    return d.digest();
  }

  @Test
  void sealedCheckpoint_restoresExactly_andTheStoreHoldsNeitherPlaintextNorPlainChunkHashes() throws Exception {
    byte[] firstChunkHash = sha256(content, 0, 64 * 1024);
    byte[] randomChunkHash = sha256(content, content.length - 64 * 1024, 64 * 1024);
    try (CheckpointStore store = open(K1)) {
      CheckpointInfo info = write(store, content);
      assertEquals("k1", info.keyId().orElseThrow());
      assertArrayEquals(content, read(store, info.id()));
      assertEquals("k1", store.checkpoints("job").get(0).keyId().orElseThrow(), "listed with its key id");
      VerifyResult v = store.verify("job", info.id());
      assertTrue(v.ok(), v.problems().toString());
    }
    assertFalse(storeHolds(MARKER), "the plaintext reached the store");
    assertFalse(storeHolds(firstChunkHash), "a compressible chunk's plain SHA-256 is in the store");
    assertFalse(storeHolds(randomChunkHash), "a raw chunk's plain SHA-256 is in the store");

    // The same scan finds both in an unencrypted store: it is not blind.
    Path sealed = dir.resolve("sealed");
    Files.move(root, sealed);
    Files.createDirectory(root);
    try (CheckpointStore store = open(null)) {
      assertTrue(write(store, content).keyId().isEmpty());
    }
    assertTrue(storeHolds(MARKER));
    assertTrue(storeHolds(firstChunkHash) && storeHolds(randomChunkHash));
  }

  @Test
  void withinOneKey_aSecondCheckpointOfTheSameContent_storesNoChunk() throws Exception {
    try (CheckpointStore store = open(K1)) {
      CheckpointInfo first = write(store, content);
      CheckpointInfo second = write(store, content);
      assertTrue(first.newChunks() > 0);
      assertEquals(0, second.newChunks(), "dedup within a key");
      assertEquals(first.newChunks(), second.reusedChunks());
      assertArrayEquals(content, read(store, second.id()));
    }
  }

  @Test
  void aChunkAlteredInItsPack_doesNotAuthenticate_andVerifyNamesIt() throws Exception {
    try (CheckpointStore store = open(K1)) {
      write(store, content);
    }
    Path pack;
    try (Stream<Path> s = Files.list(root.resolve("job/packs"))) {
      pack = s.findFirst().orElseThrow();
    }
    byte[] b = Files.readAllBytes(pack);
    b[8 + 44 + 100] ^= 1; // a byte of the first record's sealed payload
    Files.write(pack, b);
    try (CheckpointStore store = open(K1)) {
      CorruptImageException e = assertThrows(CorruptImageException.class, () -> read(store, 1));
      assertTrue(e.getMessage().contains("does not authenticate with key 'k1'") && e.getMessage().contains("chunk "),
          e.getMessage());
      VerifyResult v = store.verify("job", 1);
      assertFalse(v.ok());
      assertTrue(v.problems().toString().contains("does not authenticate"), v.problems().toString());
    }
  }

  @Test
  void anAlteredManifest_doesNotAuthenticate() throws Exception {
    try (CheckpointStore store = open(K1)) {
      write(store, content);
    }
    byte[] m = Files.readAllBytes(onlyManifest(1));
    m[m.length / 2] ^= 1;
    Files.write(onlyManifest(1), m);
    try (CheckpointStore store = open(K1)) {
      ImageKeyException e = assertThrows(ImageKeyException.class, () -> read(store, 1));
      assertTrue(e.getMessage().contains("does not authenticate with key 'k1'"), e.getMessage());
    }
  }

  @Test
  void aManifestMovedToAnotherNumber_isRefused() throws Exception {
    try (CheckpointStore store = open(K1)) {
      write(store, content);
      write(store, new byte[] {1, 2, 3});
    }
    // Checkpoint 1 put in place of checkpoint 2: a rollback of one number to another's content.
    Files.copy(onlyManifest(1), onlyManifest(2), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    try (CheckpointStore store = open(K1)) {
      CorruptImageException e = assertThrows(CorruptImageException.class, () -> read(store, 2));
      assertTrue(e.getMessage().contains("claims to be job@1"), e.getMessage());
    }
  }

  @Test
  void withoutItsKey_orWithAnotherKey_aSealedCheckpointIsRefusedByKeyId() throws Exception {
    try (CheckpointStore store = open(K1)) {
      write(store, content);
    }
    try (CheckpointStore store = open(null)) {
      ImageKeyException e = assertThrows(ImageKeyException.class, () -> read(store, 1));
      assertTrue(e.getMessage().contains("encrypted with key 'k1', which is not configured"), e.getMessage());
    }
    try (CheckpointStore store = open(K2)) {
      ImageKeyException e = assertThrows(ImageKeyException.class, () -> read(store, 1));
      assertTrue(e.getMessage().contains("key 'k1'") && e.getMessage().contains("[k2]"), e.getMessage());
    }
    // Same id, other bytes: the manifest does not authenticate.
    try (CheckpointStore store = open(Encryption.withKey("k1", key(3)))) {
      ImageKeyException e = assertThrows(ImageKeyException.class, () -> read(store, 1));
      assertTrue(e.getMessage().contains("does not authenticate"), e.getMessage());
    }
  }

  @Test
  void anUnencryptedCheckpoint_isRefusedWhereKeysAreRequired_unlessAllowed() throws Exception {
    try (CheckpointStore store = open(null)) {
      write(store, content);
    }
    try (CheckpointStore store = open(K1)) {
      ImageKeyException e = assertThrows(ImageKeyException.class, () -> read(store, 1));
      assertTrue(e.getMessage().contains("job@1 is not encrypted"), e.getMessage());
      assertThrows(ImageKeyException.class, () -> store.verify("job", 1));
      // Listing still shows it, and a new checkpoint is sealed and shares nothing with it.
      assertEquals(1, store.checkpoints("job").size());
      CheckpointInfo sealed = write(store, content);
      assertEquals(0, sealed.reusedChunks(), "no dedup across an unencrypted image");
    }
    try (CheckpointStore store = open(K1.allowingUnencrypted())) {
      assertArrayEquals(content, read(store, 1));
      assertArrayEquals(content, read(store, 2));
    }
  }

  @Test
  void anUnencryptedCheckpointAfterEncryptionBegan_isRefusedEvenWithUnencryptedAllowed() throws Exception {
    try (CheckpointStore store = open(null)) {
      write(store, content);
    }
    try (CheckpointStore store = open(K1)) {
      write(store, content);
    }
    // What anyone who can write the store could add: an unencrypted newest checkpoint.
    try (CheckpointStore store = open(null)) {
      assertEquals(3, write(store, new byte[] {6, 6, 6}).id());
    }
    try (CheckpointStore store = open(K1.allowingUnencrypted())) {
      assertArrayEquals(content, read(store, 1), "from before encryption began");
      assertArrayEquals(content, read(store, 2));
      ImageKeyException e = assertThrows(ImageKeyException.class, () -> read(store, 3));
      assertTrue(e.getMessage().contains("job@3 is not encrypted but comes after job@2"), e.getMessage());
    }
  }

  @Test
  void aKeyIdAttribute_cannotMakeAnImageLookEncrypted() throws Exception {
    try (CheckpointStore store = open(null); ImageWriter w = store.newImage("job")) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> w.attribute(CheckpointInfo.KEY_ID, "k1"));
      assertTrue(e.getMessage().contains("reserved"), e.getMessage());
    }
  }

  @Test
  void rotation_newCheckpointsUseTheNewKey_andOlderOnesStillOpenWithTheOldKey() throws Exception {
    try (CheckpointStore store = open(K1)) {
      write(store, content);
    }
    Encryption rotated = Encryption.withKey("k2", key(2)).withOlderKey("k1", key(1));
    try (CheckpointStore store = open(rotated)) {
      CheckpointInfo second = write(store, content);
      assertEquals("k2", second.keyId().orElseThrow());
      assertEquals(0, second.reusedChunks(), "ids under k2 are not those under k1");
      assertArrayEquals(content, read(store, 1));
      assertArrayEquals(content, read(store, 2));
    }
    // The old key alone no longer opens the new checkpoint.
    try (CheckpointStore store = open(K1)) {
      assertArrayEquals(content, read(store, 1));
      assertThrows(ImageKeyException.class, () -> read(store, 2));
    }
  }

  @Test
  void aKeyFile_isReadFromTheStoreUri_andRefusedWhenOthersCanReadItOrALineIsMalformed() throws Exception {
    Path keys = dir.resolve("keys");
    Files.writeString(keys, "# current first\nk2:" + Base64.getEncoder().encodeToString(key(2)) + "\n\nk1:"
        + Base64.getEncoder().encodeToString(key(1)) + "\n");
    Files.setPosixFilePermissions(keys, PosixFilePermissions.fromString("rw-------"));
    Encryption e = Encryption.fromKeyFile(keys);
    assertEquals(List.of("k2", "k1"), e.keyIds());
    assertFalse(e.toString().contains(Base64.getEncoder().encodeToString(key(2))), "toString shows no key");
    try (CheckpointStore store = CheckpointStore.builder().uri(java.net.URI.create(root.toUri() + "?keyFile=" + keys))
        .build()) {
      assertEquals("k2", write(store, content).keyId().orElseThrow());
      assertArrayEquals(content, read(store, 1));
    }
    try (CheckpointStore store = open(K2)) {
      assertArrayEquals(content, read(store, 1));
    }
    // The rest of the URI is kept as written: an escaped space stays a space, other options stay.
    Path spaced = dir.resolve("my ckpt");
    try (CheckpointStore store = CheckpointStore.builder()
        .uri(java.net.URI.create(spaced.toUri() + "?keyFile=" + keys + "&create=true")).build()) {
      write(store, content);
    }
    assertTrue(Files.isDirectory(spaced.resolve("job/manifests")), "checkpoints went to " + spaced);
    StoreConfigurationException twice = assertThrows(StoreConfigurationException.class, () -> CheckpointStore.builder()
        .uri(java.net.URI.create(root.toUri() + "?keyFile=" + keys + "&keyFile=" + keys)).build());
    assertTrue(twice.getMessage().contains("keyFile twice"), twice.getMessage());

    for (String mode : List.of("rw-r--r--", "rw--w----", "rw-----w-")) {
      Files.setPosixFilePermissions(keys, PosixFilePermissions.fromString(mode));
      StoreConfigurationException open = assertThrows(StoreConfigurationException.class, () -> Encryption.fromKeyFile(keys));
      assertTrue(open.getMessage().contains("open to group or others") && open.getMessage().contains(keys.toString()),
          open.getMessage());
    }
    Files.setPosixFilePermissions(keys, PosixFilePermissions.fromString("rw-------"));
    Files.writeString(keys, "k1:" + Base64.getEncoder().encodeToString(new byte[16]) + "\n");
    StoreConfigurationException shortKey = assertThrows(StoreConfigurationException.class, () -> Encryption.fromKeyFile(keys));
    assertTrue(shortKey.getMessage().contains("line 1") && shortKey.getMessage().contains("16 bytes"), shortKey.getMessage());
    assertThrows(IllegalArgumentException.class, () -> Encryption.withKey("bad id", key(1)));
  }
}
