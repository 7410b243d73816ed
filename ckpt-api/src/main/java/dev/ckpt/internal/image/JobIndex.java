package dev.ckpt.internal.image;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Every chunk referenced by the committed checkpoints of one job, kept up to date as manifests
 * appear and disappear, so each new checkpoint deduplicates against all of them without
 * re-reading every manifest. A chunk stored more than once (again after its pack went missing,
 * or by two writers) keeps every location, so a writer can pick one whose pack it may use.
 */
final class JobIndex {
  private record Indexed(Hash256[] hashes, ChunkLoc[] locs, List<String> packs) {}

  private final Map<Long, Indexed> byManifest = new HashMap<>();
  private final Map<Hash256, Entry> chunks = new HashMap<>();

  /** One location of a chunk and how many indexed manifests use it; {@code other} chains the rest. */
  private static final class Entry {
    final ChunkLoc loc;
    int refs;
    Entry other;

    Entry(ChunkLoc loc) {
      this.loc = loc;
    }
  }

  Set<Long> manifests() {
    return byManifest.keySet();
  }

  /** The packs the indexed manifests reference. */
  Set<String> packs() {
    Set<String> packs = new HashSet<>();
    byManifest.values().forEach(i -> packs.addAll(i.packs()));
    return packs;
  }

  void add(Manifest m) {
    if (byManifest.containsKey(m.id())) {
      return;
    }
    Hash256[] hashes = new Hash256[m.chunks().size()];
    ChunkLoc[] locs = new ChunkLoc[hashes.length];
    for (int i = 0; i < hashes.length; i++) {
      Manifest.Chunk c = m.chunks().get(i);
      hashes[i] = c.hash();
      locs[i] = c.loc(m.packs());
      Entry e = chunks.get(c.hash());
      if (e == null) {
        e = new Entry(locs[i]);
        chunks.put(c.hash(), e);
      } else {
        while (!e.loc.equals(locs[i]) && e.other != null) {
          e = e.other;
        }
        if (!e.loc.equals(locs[i])) {
          e.other = new Entry(locs[i]);
          e = e.other;
        }
      }
      e.refs++;
      // The shared instance: a manifest's own copy would cost one object per chunk per manifest.
      locs[i] = e.loc;
    }
    byManifest.put(m.id(), new Indexed(hashes, locs, List.copyOf(m.packs())));
  }

  /** Notes manifest {@code id} as read, without sharing its chunks (they are under another key). */
  void addUnshared(long id) {
    byManifest.putIfAbsent(id, new Indexed(new Hash256[0], new ChunkLoc[0], List.of()));
  }

  void remove(long id) {
    Indexed gone = byManifest.remove(id);
    if (gone == null) {
      return;
    }
    for (int i = 0; i < gone.hashes().length; i++) {
      Hash256 h = gone.hashes()[i];
      Entry first = chunks.get(h);
      Entry prev = null;
      for (Entry e = first; e != null; prev = e, e = e.other) {
        if (e.loc.equals(gone.locs()[i])) {
          if (--e.refs == 0) {
            if (prev != null) {
              prev.other = e.other;
            } else if (e.other != null) {
              chunks.put(h, e.other);
            } else {
              chunks.remove(h);
            }
          }
          break;
        }
      }
    }
  }

  /**
   * A copy the writer may read without holding the index's lock: for each chunk, a location in
   * none of {@code unusablePacks}; a chunk with no such location is left out, to be stored anew.
   */
  Map<Hash256, ChunkLoc> snapshot(Set<String> unusablePacks) {
    Map<Hash256, ChunkLoc> copy = new HashMap<>(chunks.size() * 2);
    chunks.forEach((h, first) -> {
      for (Entry e = first; e != null; e = e.other) {
        if (!unusablePacks.contains(e.loc.pack())) {
          copy.put(h, e.loc);
          return;
        }
      }
    });
    return copy;
  }
}
