package dev.ckpt.internal.image;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * The decoded manifest of one checkpoint (docs/FORMAT.md, "Manifest"). {@code keyId} names the
 * key that sealed its chunks and authenticates it, or is null for an unencrypted image.
 */
record Manifest(
    String job,
    long id,
    long parentId,
    Instant created,
    int chunkSize,
    Map<String, String> attributes,
    List<String> packs,
    List<Chunk> chunks,
    List<Part> parts,
    Stats stats,
    String keyId) {

  /** An unencrypted manifest. */
  Manifest(String job, long id, long parentId, Instant created, int chunkSize, Map<String, String> attributes,
      List<String> packs, List<Chunk> chunks, List<Part> parts, Stats stats) {
    this(job, id, parentId, created, chunkSize, attributes, packs, chunks, parts, stats, null);
  }

  /**
   * One distinct chunk the image references. {@code payloadHash} is the SHA-256 of the stored
   * payload: equal to {@code hash} for a raw chunk, that of the LZ4 block for a compressed one, and
   * null for a compressed chunk first stored under format version 1 (then only the raw bytes can
   * be checked, after decompression).
   */
  record Chunk(Hash256 hash, int pack, long offset, int recordLength, int rawLength, byte codec, Hash256 payloadHash) {
    ChunkLoc loc(List<String> packs) {
      return new ChunkLoc(packs.get(pack), offset, recordLength, rawLength, codec, payloadHash);
    }
  }

  /**
   * A named byte stream, as a sequence of extents that cover it in order. An extent is a chunk
   * (by index in {@link Manifest#chunks()}), a slice of one (bytes {@code from[i]} to
   * {@code from[i] + length[i]} of it: pages that did not change, kept from a chunk whose other
   * pages did), or a run of zeros.
   */
  record Part(String name, Map<String, String> attributes, long size, int[] chunkIndex, long[] length, int[] from) {
    // chunkIndex[i] >= 0 names a chunk, of which the extent takes length[i] bytes from from[i];
    // chunkIndex[i] == -1 means length[i] zero bytes (from[i] is 0).
    int extentCount() {
      return chunkIndex.length;
    }

    /** A part of whole chunks and zero runs, as format version 2 and earlier hold. */
    static Part whole(String name, Map<String, String> attributes, long size, int[] chunkIndex, long[] length) {
      return new Part(name, attributes, size, chunkIndex, length, new int[chunkIndex.length]);
    }

    /** Whether extent {@code e} takes less than its whole chunk. */
    boolean isSlice(int e, List<Chunk> chunks) {
      return chunkIndex[e] >= 0 && (from[e] != 0 || length[e] != chunks.get(chunkIndex[e]).rawLength());
    }
  }

  record Stats(long bytesScanned, long newRawBytes, long newStoredBytes, int newChunks, int reusedChunks, long durationNanos) {}

  /** Bytes of all chunk records the image references, whether written by it or reused. */
  long referencedBytes() {
    long n = 0;
    for (Chunk c : chunks) {
      n += c.recordLength();
    }
    return n;
  }

  long logicalBytes() {
    long n = 0;
    for (Part p : parts) {
      n += p.size();
    }
    return n;
  }
}
