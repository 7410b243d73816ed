package dev.ckpt;

/**
 * Callbacks around checkpoint and restore, as OpenJDK CRaC's {@code Resource}: quiesce before a
 * checkpoint, resume after it, and re-establish what an image cannot hold (connections, clocks)
 * after a restore. Before-hooks run in registration order, after-hooks in reverse order.
 *
 * <p>A checkpoint of application state has two phases. The <em>snapshot</em>: {@link
 * #beforeCheckpoint()}, then every registered object is serialized and every segment copied, then
 * {@link #afterSnapshot()}. The <em>write</em>: the copy is stored and committed, then {@link
 * #afterCheckpoint(boolean)}. Pause the threads that change registered state in {@code
 * beforeCheckpoint} and let them go in {@code afterSnapshot}: the checkpoint then holds one
 * moment of all of it, and the application is paused only for the copy (reported as {@link
 * CheckpointInfo#frozen()}), not while it is written.
 */
public interface CheckpointHook {

  /**
   * Runs before the state is captured. Throwing aborts the checkpoint.
   *
   * @throws Exception to abort the checkpoint, which then fails with it as the cause
   */
  default void beforeCheckpoint() throws Exception {}

  /**
   * Runs once the state has been copied (or its copy failed), before it is written, after every
   * {@link #beforeCheckpoint()} that returned normally: writers paused there may resume here.
   * Throwing fails the checkpoint; {@link #afterCheckpoint(boolean)} still runs.
   *
   * @throws Exception to fail the checkpoint
   */
  default void afterSnapshot() throws Exception {}

  /**
   * Runs after every checkpoint attempt whose {@link #beforeCheckpoint()} returned normally,
   * whether or not the checkpoint was committed.
   *
   * @param committed whether the checkpoint was committed
   * @throws Exception to make the checkpoint call fail; a committed checkpoint stays committed,
   *     and the other hooks still run
   */
  default void afterCheckpoint(boolean committed) throws Exception {}

  /**
   * Runs after state was restored from {@code restored}.
   *
   * @param restored the checkpoint the state came from
   * @throws Exception to make the restore call fail; the state stays restored
   */
  default void afterRestore(CheckpointInfo restored) throws Exception {}
}
