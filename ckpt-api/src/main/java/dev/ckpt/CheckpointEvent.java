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
  public enum Type { STARTED, COMMITTED, FAILED, SKIPPED, TERMINAL, RETENTION_FAILED }

  /** Non-zero bytes read from the target (0 unless COMMITTED). */
  public long bytesRead() {
    return checkpoint == null ? 0 : checkpoint.bytesScanned();
  }

  /** Bytes newly stored (0 unless COMMITTED). */
  public long newBytes() {
    return checkpoint == null ? 0 : checkpoint.newStoredBytes();
  }

  public double dedupRatio() {
    return checkpoint == null ? 0 : checkpoint.dedupRatio();
  }
}
