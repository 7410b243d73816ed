package dev.ckpt;

/**
 * Application state that a {@link Checkpointer} saves and restores. The state object returned by
 * {@link #captureState()} is serialized with Kryo, using only the classes registered on the
 * builder (never Java serialization), so the same registrations must be made in the JVM that
 * restores.
 *
 * <pre>{@code
 * final class Counter implements Checkpointable<long[]> {
 *   long[] values = new long[16];
 *   public long[] captureState() { return values.clone(); }
 *   public void restoreState(long[] state) { values = state; }
 * }
 * }</pre>
 *
 * @param <S> the type of the state object
 */
public interface Checkpointable<S> extends CheckpointHook {

  /**
   * Returns the state to save. Called on the checkpointing thread after every before-hook.
   *
   * @return the state, serialized before any afterSnapshot hook runs
   * @throws Exception to fail the checkpoint
   */
  S captureState() throws Exception;

  /**
   * Puts restored state back. Called only once every part of the image has been verified.
   *
   * @param state the state as {@link #captureState()} returned it when the checkpoint was taken
   * @throws Exception to fail the restore
   */
  void restoreState(S state) throws Exception;
}
