package dev.ckpt;

import java.time.Duration;
import java.time.Instant;

/**
 * One thing that happened to a scheduled checkpoint.
 *
 * @param type what happened
 * @param job the job
 * @param trigger why the checkpoint was attempted
 * @param at when (the scheduler's clock)
 * @param checkpoint the committed checkpoint for {@link Type#COMMITTED}, else null
 * @param duration how long the attempt took ({@code ZERO} for STARTED and SKIPPED)
 * @param frozen how long the target was stopped: a native process's frozen time, or the pause of
 *     an application-state snapshot ({@link CheckpointInfo#frozen()})
 * @param error why it failed, for FAILED, TERMINAL and RETENTION_FAILED, else null
 * @param reason why it was skipped, for SKIPPED, else null
 */
public record CheckpointEvent(Type type, String job, Trigger trigger, Instant at, CheckpointInfo checkpoint,
    Duration duration, Duration frozen, Throwable error, String reason) {

  /**
   * Kinds of event. RETENTION_FAILED follows a COMMITTED one whose retention (deleting older
   * checkpoints) failed: the checkpoint is committed, older ones may be kept longer than asked.
   */
  public enum Type {
    /** A checkpoint attempt began. */
    STARTED,
    /** A checkpoint was committed. */
    COMMITTED,
    /** A checkpoint attempt failed; {@link CheckpointEvent#error()} says why. */
    FAILED,
    /** A timer tick was not acted on, because a checkpoint was still running. */
    SKIPPED,
    /** Too many attempts in a row failed: the scheduler stopped. Follows the last FAILED. */
    TERMINAL,
    /** Retention after a committed checkpoint failed. */
    RETENTION_FAILED
  }

  /**
   * Non-zero bytes read from the target (0 unless COMMITTED).
   *
   * @return the checkpoint's {@link CheckpointInfo#bytesScanned()}, or 0
   */
  public long bytesRead() {
    return checkpoint == null ? 0 : checkpoint.bytesScanned();
  }

  /**
   * Bytes newly stored (0 unless COMMITTED).
   *
   * @return the checkpoint's {@link CheckpointInfo#newStoredBytes()}, or 0
   */
  public long newBytes() {
    return checkpoint == null ? 0 : checkpoint.newStoredBytes();
  }

  /**
   * Fraction of the checkpoint's chunks that were already stored (0 unless COMMITTED).
   *
   * @return the checkpoint's {@link CheckpointInfo#dedupRatio()}, or 0
   */
  public double dedupRatio() {
    return checkpoint == null ? 0 : checkpoint.dedupRatio();
  }
}
