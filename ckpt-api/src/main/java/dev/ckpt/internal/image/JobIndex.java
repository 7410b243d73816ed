package dev.ckpt.internal.image;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * Every chunk referenced by the committed checkpoints of one job, kept up to date as manifests
 * appear and disappear, so each new checkpoint deduplicates against all of them without
 * re-reading every manifest.
 */
final class JobIndex {
  private final Map<Long, Hash256[]> byManifest = new HashMap<>();
  private final Map<Hash256, Entry> chunks = new HashMap<>();

  private static final class Entry {
    final ChunkLoc loc;
    int refs;

    Entry(ChunkLoc loc) {
      this.loc = loc;
    }
  }

  Set<Long> manifests() {
    return byManifest.keySet();
  }

  void add(Manifest m) {
    if (byManifest.containsKey(m.id())) {
      return;
    }
    Hash256[] hashes = new Hash256[m.chunks().size()];
    for (int i = 0; i < hashes.length; i++) {
      Manifest.Chunk c = m.chunks().get(i);
      hashes[i] = c.hash();
      chunks.computeIfAbsent(c.hash(), h -> new Entry(c.loc(m.packs()))).refs++;
    }
    byManifest.put(m.id(), hashes);
  }

  void remove(long id) {
    Hash256[] hashes = byManifest.remove(id);
    if (hashes == null) {
      return;
    }
    for (Hash256 h : hashes) {
      Entry e = chunks.get(h);
      if (e != null && --e.refs == 0) {
        chunks.remove(h);
      }
    }
  }

  /** A copy the writer may read without holding the index's lock. */
  Map<Hash256, ChunkLoc> snapshot() {
    Map<Hash256, ChunkLoc> copy = new HashMap<>(chunks.size() * 2);
    chunks.forEach((h, e) -> copy.put(h, e.loc));
    return copy;
  }
}
