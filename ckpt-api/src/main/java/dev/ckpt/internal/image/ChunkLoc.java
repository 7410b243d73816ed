package dev.ckpt.internal.image;

/**
 * Where a stored chunk lives: a record of {@code recordLength} bytes at {@code offset} in a pack.
 * {@code payloadHash} is the SHA-256 of the payload as stored; for a raw chunk that is the content
 * hash itself, and it is null for a compressed chunk whose manifest predates format version 2.
 */
record ChunkLoc(String pack, long offset, int recordLength, int rawLength, byte codec, Hash256 payloadHash) {}
