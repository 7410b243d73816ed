package dev.ckpt.spi;

import java.time.Instant;
import java.util.Objects;

/**
 * What a store knows of one blob.
 *
 * @param key the blob's key
 * @param size the blob's length in bytes
 * @param lastModified when the blob was last written
 */
public record BlobInfo(String key, long size, Instant lastModified) {
  /**
   * Checks the fields.
   *
   * @param key the blob's key
   * @param size the blob's length in bytes
   * @param lastModified when the blob was last written
   * @throws NullPointerException if {@code key} or {@code lastModified} is null
   * @throws IllegalArgumentException if {@code size} is negative
   */
  public BlobInfo {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(lastModified, "lastModified");
    if (size < 0) {
      throw new IllegalArgumentException("negative size " + size + " for " + key);
    }
  }
}
