package dev.ckpt.internal.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class JobIndexTest {
  private static final String PACK_A = "a".repeat(32);
  private static final String PACK_B = "b".repeat(32);

  private static Hash256 hash(int n) {
    byte[] b = new byte[] {(byte) n};
    return Hash256.of(Hash256.newDigest(), b, 0, 1);
  }

  /** A manifest of one chunk per hash, each in {@code pack}. */
  private static Manifest manifest(long id, String pack, int... hashes) {
    List<Manifest.Chunk> chunks = new java.util.ArrayList<>();
    for (int i = 0; i < hashes.length; i++) {
      chunks.add(new Manifest.Chunk(hash(hashes[i]), 0, 8 + 100L * i, 100, 56, PackFormat.CODEC_RAW, hash(hashes[i])));
    }
    return new Manifest("job", id, id - 1, Instant.EPOCH, 65536, Map.of(), List.of(pack), chunks, List.of(),
        new Manifest.Stats(0, 0, 0, 0, 0, 0));
  }

  @Test
  void chunkStoredAgainInAnotherPack_isReusedFromTheOneThatIsUsable() {
    JobIndex index = new JobIndex();
    index.add(manifest(1, PACK_A, 1, 2));
    index.add(manifest(2, PACK_B, 2, 3));
    assertEquals(Set.of(PACK_A, PACK_B), index.packs());
    assertEquals(PACK_A, index.snapshot(Set.of()).get(hash(2)).pack(), "the first location, when all are usable");
    Map<Hash256, ChunkLoc> withoutA = index.snapshot(Set.of(PACK_A));
    assertEquals(PACK_B, withoutA.get(hash(2)).pack());
    assertFalse(withoutA.containsKey(hash(1)), "a chunk only in an unusable pack is stored anew");
    assertEquals(2, withoutA.size());
  }

  @Test
  void removingAManifest_dropsOnlyTheLocationsNoOtherManifestUses() {
    JobIndex index = new JobIndex();
    index.add(manifest(1, PACK_A, 1, 2));
    index.add(manifest(2, PACK_B, 2, 3));
    index.add(manifest(3, PACK_A, 1, 2)); // deduplicated against manifest 1: the same locations
    index.remove(1);
    Map<Hash256, ChunkLoc> all = index.snapshot(Set.of());
    assertEquals(PACK_A, all.get(hash(1)).pack());
    assertEquals(PACK_A, all.get(hash(2)).pack(), "manifest 3 still uses pack A's copy");
    index.remove(3);
    assertFalse(index.snapshot(Set.of()).containsKey(hash(1)));
    assertEquals(PACK_B, index.snapshot(Set.of()).get(hash(2)).pack());
    assertEquals(Set.of(PACK_B), index.packs());
    index.remove(2);
    assertEquals(Map.of(), index.snapshot(Set.of()));
  }
}
