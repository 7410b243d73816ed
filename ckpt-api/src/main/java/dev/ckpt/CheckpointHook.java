package dev.ckpt;

/**
 * Callbacks around checkpoint and restore, as OpenJDK CRaC's {@code Resource}: quiesce before a
 * checkpoint, resume after it, and re-establish what an image cannot hold (connections, clocks)
 * after a restore. Before-hooks run in registration order, after-hooks in reverse order.
 */
public interface CheckpointHook {

  /** Runs before the state is captured. Throwing aborts the checkpoint. */
  default void beforeCheckpoint() throws Exception {}

  /**
   * Runs after every checkpoint attempt whose {@link #beforeCheckpoint()} returned normally,
   * whether or not the checkpoint was committed.
   */
  default void afterCheckpoint(boolean committed) throws Exception {}

  /** Runs after state was restored from {@code restored}. */
  default void afterRestore(CheckpointInfo restored) throws Exception {}
}
