package dev.ckpt.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ckpt.CheckpointInfo;
import dev.ckpt.CheckpointStore;
import dev.ckpt.CorruptImageException;
import dev.ckpt.ImageReader;
import dev.ckpt.ImageWriter;
import dev.ckpt.PartOutput;
import dev.ckpt.StoreConfigurationException;
import dev.ckpt.UnsupportedFormatException;
import dev.ckpt.VerifyResult;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Damaged, truncated and foreign images are refused, named, and never take older checkpoints down. */
class ImageIntegrityIT {
  @TempDir
  Path dir;
  Path root;
  CheckpointStore store;
  byte[] first;
  byte[] second;

  @BeforeEach
  void twoCheckpoints() throws Exception {
    root = dir.resolve("store");
    Files.createDirectory(root);
    store = CheckpointStore.builder().uri(root.toUri()).parallelism(2).build();
    first = randomBytes(1 << 20, 1);
    second = randomBytes(1 << 20, 2);
    write(first);
    write(second);
  }

  private static byte[] randomBytes(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  private CheckpointInfo write(byte[] content) throws Exception {
    try (ImageWriter w = store.newImage("job")) {
      try (PartOutput out = w.part("data", Map.of())) {
        out.write(content, 0, content.length);
      }
      return w.commit();
    }
  }

  private byte[] restore(long id) throws Exception {
    try (ImageReader r = store.open("job", id)) {
      return r.readBytes("data");
    }
  }

  private Set<Path> files(String sub) throws IOException {
    try (Stream<Path> s = Files.list(root.resolve("job").resolve(sub))) {
      return s.collect(Collectors.toSet());
    }
  }

  /** The packs only checkpoint 2 references. */
  private Path packOfSecond() throws Exception {
    Set<Path> all = files("packs");
    store.close();
    Path probe = dir.resolve("probe");
    Files.createDirectory(probe);
    // Pack names are random: find the one whose deletion breaks checkpoint 2 but not 1.
    for (Path p : all) {
      byte[] saved = Files.readAllBytes(p);
      Files.delete(p);
      boolean breaksSecond;
      try (CheckpointStore s = CheckpointStore.open(root.toUri())) {
        breaksSecond = !s.verify("job", 2).ok() && s.verify("job", 1).ok();
      }
      Files.write(p, saved);
      if (breaksSecond) {
        store = CheckpointStore.open(root.toUri());
        return p;
      }
    }
    throw new AssertionError("no pack belongs to checkpoint 2 alone among " + all);
  }

  private static Path manifest(Path root, long id) {
    return root.resolve("job/manifests/" + String.format("%020d", id));
  }

  @Test
  void bitFlipInChunk_isRefusedNamingPackAndChunk_andOlderCheckpointStillRestores() throws Exception {
    Path pack = packOfSecond();
    byte[] b = Files.readAllBytes(pack);
    b[8 + 44 + 1000] ^= 0x10;
    Files.write(pack, b);

    CorruptImageException e = assertThrows(CorruptImageException.class, () -> restore(2));
    assertTrue(e.getMessage().contains(pack.getFileName().toString()) && e.getMessage().contains("SHA-256"), e.getMessage());
    VerifyResult v = store.verify("job", 2);
    assertFalse(v.ok());
    assertTrue(v.problems().get(0).contains(pack.getFileName().toString()), v.problems().toString());
    assertArrayEquals(first, restore(1));
    assertTrue(store.verify("job", 1).ok());
  }

  @Test
  void bitFlipInCompressedChunk_isRefused() throws Exception {
    byte[] text = text(40_000, "the quick brown fox jumps over the lazy dog");
    Path pack = writeThirdAndFindItsPack(text);
    byte[] b = Files.readAllBytes(pack);
    for (int i = 60; i < b.length; i += 997) {
      b[i] ^= (byte) 0xff;
    }
    Files.write(pack, b);
    CorruptImageException e = assertThrows(CorruptImageException.class, () -> restore(3));
    assertTrue(e.getMessage().contains("stored LZ4 block does not match its SHA-256")
        && e.getMessage().contains(pack.getFileName().toString()), "caught before decompression: " + e.getMessage());
    assertArrayEquals(second, restore(2));
  }

  /**
   * A compressed chunk whose stored block is intact but whose decompressed bytes do not match the
   * content hash (what a compressor fault at dump time would leave): restore trusts the checked
   * block, verify decompresses and finds the mismatch.
   */
  @Test
  void verify_hashesDecompressedBytesToo_andFindsAChunkWhoseContentHashIsWrong() throws Exception {
    byte[] text = text(2_000, "pack my box with five dozen liquor jugs");
    Path pack = writeThirdAndFindItsPack(text);
    byte[] p = Files.readAllBytes(pack);
    assertEquals(1, p[8], "the text chunk is stored LZ4-compressed");
    byte[] hash = java.util.Arrays.copyOfRange(p, 8 + 12, 8 + 44);
    byte[] wrong = hash.clone();
    wrong[0] ^= 1;
    System.arraycopy(wrong, 0, p, 8 + 12, 32);
    Files.write(pack, p);
    Path m = manifest(root, 3);
    byte[] mb = Files.readAllBytes(m);
    int at = indexOf(mb, hash);
    assertTrue(at > 0 && indexOf(java.util.Arrays.copyOfRange(mb, at + 1, mb.length), hash) < 0,
        "the chunk hash occurs once in the manifest");
    System.arraycopy(wrong, 0, mb, at, 32);
    java.security.MessageDigest sha = java.security.MessageDigest.getInstance("SHA-256");
    sha.update(mb, 0, mb.length - 32);
    System.arraycopy(sha.digest(), 0, mb, mb.length - 32, 32);
    Files.write(m, mb);

    assertArrayEquals(text, restore(3), "the stored block is intact, so restore gives what was compressed");
    VerifyResult v = store.verify("job", 3);
    assertFalse(v.ok());
    assertTrue(v.problems().get(0).contains("content does not match its SHA-256"), v.problems().toString());
  }

  private static byte[] text(int lines, String line) {
    return String.join("\n", java.util.Collections.nCopies(lines, line)).getBytes(StandardCharsets.US_ASCII);
  }

  /** Commits {@code content} as checkpoint 3 and returns the one pack it added. */
  private Path writeThirdAndFindItsPack(byte[] content) throws Exception {
    Set<Path> before = files("packs");
    assertEquals(3, write(content).id());
    Set<Path> added = new HashSet<>(files("packs"));
    added.removeAll(before);
    assertEquals(1, added.size(), "one new pack: " + added);
    return added.iterator().next();
  }

  private static int indexOf(byte[] in, byte[] what) {
    for (int i = 0; i + what.length <= in.length; i++) {
      if (java.util.Arrays.equals(in, i, i + what.length, what, 0, what.length)) {
        return i;
      }
    }
    return -1;
  }

  @Test
  void truncatedPack_isRefusedAsTruncated() throws Exception {
    Path pack = packOfSecond();
    byte[] b = Files.readAllBytes(pack);
    Files.write(pack, java.util.Arrays.copyOf(b, b.length / 2));
    CorruptImageException e = assertThrows(CorruptImageException.class, () -> restore(2));
    assertTrue(e.getMessage().contains("truncated"), e.getMessage());
    assertArrayEquals(first, restore(1));
  }

  @Test
  void missingPack_isRefusedNamingIt() throws Exception {
    Path pack = packOfSecond();
    Files.delete(pack);
    CorruptImageException e = assertThrows(CorruptImageException.class, () -> restore(2));
    assertTrue(e.getMessage().contains("missing") && e.getMessage().contains(pack.getFileName().toString()), e.getMessage());
  }

  @Test
  void bitFlipInManifest_isRefusedByChecksum_andOtherCheckpointsStillWork() throws Exception {
    Path m = manifest(root, 2);
    byte[] b = Files.readAllBytes(m);
    b[b.length / 2] ^= 1;
    Files.write(m, b);
    CorruptImageException e = assertThrows(CorruptImageException.class, () -> restore(2));
    assertTrue(e.getMessage().contains("checksum") && e.getMessage().contains("00000000000000000002"), e.getMessage());
    assertArrayEquals(first, restore(1));
    // A damaged newest manifest does not stop the next checkpoint.
    CheckpointInfo third = write(second);
    assertEquals(3, third.id());
    assertArrayEquals(second, restore(3));
  }

  @Test
  void truncatedManifest_isRefused() throws Exception {
    Path m = manifest(root, 2);
    byte[] b = Files.readAllBytes(m);
    Files.write(m, java.util.Arrays.copyOf(b, b.length - 7));
    assertThrows(CorruptImageException.class, () -> restore(2));
    Files.write(m, java.util.Arrays.copyOf(b, 5));
    CorruptImageException e = assertThrows(CorruptImageException.class, () -> restore(2));
    assertTrue(e.getMessage().contains("truncated"), e.getMessage());
    assertArrayEquals(first, restore(1));
  }

  @Test
  void manifestOfUnknownVersion_isRefusedNamingTheVersion() throws Exception {
    Path m = manifest(root, 2);
    byte[] b = Files.readAllBytes(m);
    b[4] = 0;
    b[5] = 9;
    Files.write(m, b);
    UnsupportedFormatException e = assertThrows(UnsupportedFormatException.class, () -> restore(2));
    assertTrue(e.getMessage().contains("version 9") && e.getMessage().contains("00000000000000000002"), e.getMessage());
    assertArrayEquals(first, restore(1));
  }

  @Test
  void storeThatDoesNotExist_andUnknownScheme_areNamed() {
    Path missing = dir.resolve("nope");
    StoreConfigurationException e1 = assertThrows(StoreConfigurationException.class,
        () -> CheckpointStore.open(missing.toUri()));
    assertTrue(e1.getMessage().contains(missing.toString()) && e1.getMessage().contains("does not exist"), e1.getMessage());
    assertFalse(Files.exists(missing));
    StoreConfigurationException e2 = assertThrows(StoreConfigurationException.class,
        () -> CheckpointStore.open(URI.create("ftp://host/x")));
    assertTrue(e2.getMessage().contains("'ftp'") && e2.getMessage().contains("file"), e2.getMessage());
    StoreConfigurationException e3 = assertThrows(StoreConfigurationException.class,
        () -> CheckpointStore.open(URI.create("relative/path")));
    assertTrue(e3.getMessage().contains("no scheme"), e3.getMessage());
  }

  @Test
  void listing_skipsNothingValid_andIgnoresForeignFiles() throws Exception {
    Files.writeString(root.resolve("job/manifests/README"), "not a manifest");
    Files.writeString(root.resolve("job/packs/.tmp-leftover"), "crash leftover");
    assertEquals(List.of(1L, 2L), store.checkpoints("job").stream().map(CheckpointInfo::id).toList());
    assertEquals(List.of("job"), store.jobs());
  }
}
