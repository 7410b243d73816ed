package dev.ckpt;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;

/**
 * What one committed checkpoint is: its identity, lineage and what writing it cost.
 *
 * @param job the job the checkpoint belongs to
 * @param id the checkpoint's number within the job, from 1 and increasing
 * @param parentId the latest checkpoint of the job when this one was written, or 0
 * @param created when it was committed
 * @param logicalBytes the sum of the sizes of its parts, zeros included
 * @param bytesScanned the non-zero bytes that were hashed
 * @param newRawBytes uncompressed bytes of chunks that were not stored before
 * @param newStoredBytes bytes written to the store for this checkpoint (chunks and manifest)
 * @param referencedBytes stored bytes of every chunk it references, new or reused
 * @param newChunks chunks stored by this checkpoint
 * @param reusedChunks chunks found already stored (deduplicated)
 * @param duration wall time from the start of the write to the commit
 * @param attributes image-level attributes set by the writer (for example the capture kind)
 */
public record CheckpointInfo(
    String job,
    long id,
    long parentId,
    Instant created,
    long logicalBytes,
    long bytesScanned,
    long newRawBytes,
    long newStoredBytes,
    long referencedBytes,
    int newChunks,
    int reusedChunks,
    Duration duration,
    Map<String, String> attributes) {

  public CheckpointInfo {
    Objects.requireNonNull(job, "job");
    Objects.requireNonNull(created, "created");
    Objects.requireNonNull(duration, "duration");
    attributes = Map.copyOf(attributes);
  }

  /** Fraction of the scanned chunks that were already stored: 0 for a first checkpoint. */
  public double dedupRatio() {
    int total = newChunks + reusedChunks;
    return total == 0 ? 0.0 : (double) reusedChunks / total;
  }

  /** {@code job@id}, the form the CLI accepts. */
  public String ref() {
    return job + "@" + id;
  }
}
