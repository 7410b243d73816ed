package dev.ckpt;

/** How chunks are compressed before they are stored. */
public enum Compression {
  /** Stored as they are. */
  NONE,
  /** LZ4 block compression; a chunk that does not shrink is stored as it is. */
  LZ4
}
