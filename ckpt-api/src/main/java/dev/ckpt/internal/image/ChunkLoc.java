package dev.ckpt.internal.image;

/**
 * Where a stored chunk lives: a record of {@code recordLength} bytes at {@code offset} in a pack.
 */
record ChunkLoc(String pack, long offset, int recordLength, int rawLength, byte codec) {}
