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

  /**
   * Checks the fields and copies {@code attributes}.
   *
   * @param job the job the checkpoint belongs to
   * @param id the checkpoint's number within the job
   * @param parentId the latest checkpoint of the job when this one was written, or 0
   * @param created when it was committed
   * @param logicalBytes the sum of the sizes of its parts
   * @param bytesScanned the non-zero bytes that were hashed
   * @param newRawBytes uncompressed bytes of chunks that were not stored before
   * @param newStoredBytes bytes written to the store for this checkpoint
   * @param referencedBytes stored bytes of every chunk it references
   * @param newChunks chunks stored by this checkpoint
   * @param reusedChunks chunks found already stored
   * @param duration wall time from the start of the write to the commit
   * @param attributes image-level attributes set by the writer
   * @throws NullPointerException if {@code job}, {@code created}, {@code duration} or
   *     {@code attributes} is null
   */
  public CheckpointInfo {
    Objects.requireNonNull(job, "job");
    Objects.requireNonNull(created, "created");
    Objects.requireNonNull(duration, "duration");
    attributes = Map.copyOf(attributes);
  }

  /** The attribute a native checkpoint records its frozen time in, in nanoseconds. */
  public static final String FROZEN_NANOS = "frozen.nanos";
  /** The attribute a checkpoint records the bytes it read from its source in. */
  public static final String READ_BYTES = "read.bytes";
  /** The attribute a checkpoint records how it found what changed in ({@link #changeTracking()}). */
  public static final String CHANGE_TRACKING = "change.tracking";
  /**
   * The attribute a native checkpoint records the memory cost of its copy-on-write snapshot in,
   * in bytes: the pages the process wrote while its memory was read from the snapshot, which the
   * kernel copied for it. Absent when memory was read while the process was frozen.
   */
  public static final String SNAPSHOT_BYTES = "snapshot.bytes";
  /** The attribute the store reports an encrypted checkpoint's key id in ({@link #keyId()}). */
  public static final String KEY_ID = "key.id";

  /**
   * The id of the key that sealed this checkpoint and authenticates its manifest, if it is
   * encrypted ({@link Encryption}).
   *
   * @return the key id, or empty for an unencrypted checkpoint
   */
  public java.util.Optional<String> keyId() {
    return java.util.Optional.ofNullable(attributes.get(KEY_ID));
  }

  /**
   * How long the checkpointed process was stopped: from the freeze to the moment it ran on (or,
   * for a vacate, to the moment it was killed). For application state, the pause of its snapshot:
   * from the first before-hook to the end of the last afterSnapshot hook ({@link CheckpointHook}).
   * {@link Duration#ZERO} when not recorded.
   *
   * @return the time stopped, or zero
   */
  public Duration frozen() {
    String v = attributes.get(FROZEN_NANOS);
    return v == null ? Duration.ZERO : Duration.ofNanos(Long.parseLong(v));
  }

  /**
   * The bytes read from the source (a process's resident memory), or {@link #logicalBytes()} when not recorded.
   *
   * @return the bytes read
   */
  public long bytesRead() {
    String v = attributes.get(READ_BYTES);
    return v == null ? logicalBytes : Long.parseLong(v);
  }

  /**
   * How the changes since the parent were found, as recorded by the writer: {@code content-hash}
   * when every byte read was hashed and looked up; {@code userfaultfd-wp} when a native
   * process's written pages were tracked since the previous checkpoint of the same process, and
   * only the chunks holding them were read and hashed (the rest are that checkpoint's chunks).
   * A native process's first checkpoint, the first after a restore or an exec, and every
   * checkpoint of a process tree, use {@code content-hash}. {@code compare-with-copy}: an
   * application's segments were compared with their copies from its previous committed
   * checkpoint, and only the blocks that differ were hashed (the rest are that checkpoint's chunks).
   *
   * @return the method, as named above
   */
  public String changeTracking() {
    return attributes.getOrDefault(CHANGE_TRACKING, "content-hash");
  }

  /**
   * Fraction of the scanned chunks that were already stored: 0 for a first checkpoint.
   *
   * @return a number from 0 to 1
   */
  public double dedupRatio() {
    int total = newChunks + reusedChunks;
    return total == 0 ? 0.0 : (double) reusedChunks / total;
  }

  /**
   * {@code job@id}, the form the CLI accepts.
   *
   * @return the checkpoint's reference
   */
  public String ref() {
    return job + "@" + id;
  }
}
