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
import dev.ckpt.VerifyResult;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A store written by ckpt before manifest format version 2 (the fixture under
 * {@code src/test/resources/format-v1}: job {@code legacy}, 4 KiB chunks, a compressible part
 * {@code text} and an incompressible part {@code random}) is still read, verified and built on.
 */
class FormatCompatibilityIT {
  private static final String FIXTURE = "/format-v1/legacy/";
  @TempDir
  Path dir;
  Path root;

  /** The fixture's contents, made the way the fixture was made. */
  static byte[] content(String part) {
    byte[] b = new byte[5 * 4096 + 100];
    if (part.equals("text")) {
      byte[] line = "format version 1 fixture line\n".getBytes();
      for (int i = 0; i < b.length; i++) {
        b[i] = line[i % line.length];
      }
    } else {
      new Random(1).nextBytes(b);
    }
    return b;
  }

  @BeforeEach
  void copyFixture() throws Exception {
    root = dir.resolve("store");
    for (String f : List.of("manifests/00000000000000000001", "packs/f638c0aa8f484a249ac2985c01daa431")) {
      Path to = root.resolve("legacy").resolve(f);
      Files.createDirectories(to.getParent());
      try (InputStream in = FormatCompatibilityIT.class.getResourceAsStream(FIXTURE + f)) {
        if (in == null) {
          throw new AssertionError("test resource " + FIXTURE + f + " is missing from the class path");
        }
        Files.copy(in, to);
      }
    }
  }

  private static int manifestVersion(Path manifest) throws Exception {
    byte[] b = Files.readAllBytes(manifest);
    return ((b[4] & 0xff) << 8) | (b[5] & 0xff);
  }

  private Path manifest(long id) {
    return root.resolve("legacy/manifests/" + String.format("%020d", id));
  }

  @Test
  void versionOneImage_restoresAndVerifies() throws Exception {
    assertEquals(1, manifestVersion(manifest(1)), "the fixture is a version-1 manifest");
    try (CheckpointStore store = CheckpointStore.open(root.toUri());
        ImageReader r = store.open("legacy", 1)) {
      assertEquals("test", r.attributes().get("kind"));
      assertArrayEquals(content("text"), r.readBytes("text"));
      assertArrayEquals(content("random"), r.readBytes("random"));
      VerifyResult v = store.verify("legacy", 1);
      assertTrue(v.ok(), v.problems().toString());
      assertEquals(12, v.chunksChecked());
    }
  }

  @Test
  void newCheckpointOnAVersionOneImage_reusesItsChunks_isVersionTwo_andRestores() throws Exception {
    CheckpointInfo second;
    try (CheckpointStore store = CheckpointStore.builder().uri(root.toUri()).chunkSize(4096).build()) {
      try (ImageWriter w = store.newImage("legacy")) {
        for (String part : List.of("text", "random")) {
          byte[] b = content(part);
          try (PartOutput out = w.part(part, Map.of())) {
            out.write(b, 0, b.length);
          }
        }
        second = w.commit();
      }
      assertEquals(2, second.id());
      assertEquals(0, second.newChunks(), "every chunk is deduplicated against the version-1 image");
      assertEquals(12, second.reusedChunks());
      assertEquals(2, manifestVersion(manifest(2)));
      try (ImageReader r = store.open("legacy", 2)) {
        assertArrayEquals(content("text"), r.readBytes("text"));
        assertArrayEquals(content("random"), r.readBytes("random"));
      }
      assertTrue(store.verify("legacy", 2).ok());
    }
  }

  @Test
  void damagedVersionOneChunk_reusedByAVersionTwoImage_isRefusedByBoth() throws Exception {
    try (CheckpointStore store = CheckpointStore.builder().uri(root.toUri()).chunkSize(4096).build()) {
      try (ImageWriter w = store.newImage("legacy")) {
        byte[] b = content("text");
        try (PartOutput out = w.part("text", Map.of())) {
          out.write(b, 0, b.length);
        }
        w.commit();
      }
    }
    // Flip the last byte of every LZ4-compressed record (the text chunks) in the fixture's pack.
    Path pack = root.resolve("legacy/packs/f638c0aa8f484a249ac2985c01daa431");
    byte[] p = Files.readAllBytes(pack);
    int flipped = 0;
    for (int off = 8; off < p.length; ) {
      int payload = java.nio.ByteBuffer.wrap(p, off + 8, 4).getInt();
      if (p[off] == 1) {
        p[off + 44 + payload - 1] ^= 0x01;
        flipped++;
      }
      off += 44 + payload;
    }
    assertEquals(6, flipped, "the six text chunks are stored LZ4-compressed");
    Files.write(pack, p);
    try (CheckpointStore store = CheckpointStore.open(root.toUri())) {
      for (long id : new long[] {1, 2}) {
        try (ImageReader r = store.open("legacy", id)) {
          CorruptImageException e = assertThrows(CorruptImageException.class, () -> r.readBytes("text"));
          assertTrue(e.getMessage().contains("f638c0aa8f484a249ac2985c01daa431"), e.getMessage());
        }
        assertFalse(store.verify("legacy", id).ok());
      }
    }
  }
}
