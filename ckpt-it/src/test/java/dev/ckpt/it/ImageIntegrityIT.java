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
    byte[] text = String.join("\n", java.util.Collections.nCopies(40_000, "the quick brown fox jumps over the lazy dog"))
        .getBytes(StandardCharsets.US_ASCII);
    Set<Path> before = files("packs");
    write(text);
    Set<Path> added = new HashSet<>(files("packs"));
    added.removeAll(before);
    Path pack = added.iterator().next();
    byte[] b = Files.readAllBytes(pack);
    for (int i = 60; i < b.length; i += 997) {
      b[i] ^= (byte) 0xff;
    }
    Files.write(pack, b);
    assertThrows(CorruptImageException.class, () -> restore(3));
    assertArrayEquals(second, restore(2));
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
