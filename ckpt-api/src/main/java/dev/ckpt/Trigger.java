package dev.ckpt;

/** Why a checkpoint was taken. */
public enum Trigger {
  /** The policy's interval came round. */
  TIMER,
  /** {@link CheckpointScheduler#checkpointNow()} or SIGUSR2: checkpoint and continue. */
  ON_DEMAND,
  /** {@link CheckpointScheduler#vacate()}, SIGTSTP or JVM shutdown: checkpoint, then stop the target. */
  VACATE
}
