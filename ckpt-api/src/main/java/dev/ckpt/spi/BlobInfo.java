package dev.ckpt.spi;

import java.time.Instant;
import java.util.Objects;

/** What a store knows of one blob. */
public record BlobInfo(String key, long size, Instant lastModified) {
  public BlobInfo {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(lastModified, "lastModified");
    if (size < 0) {
      throw new IllegalArgumentException("negative size " + size + " for " + key);
    }
  }
}
