package dev.ckpt;

/** Hears every {@link CheckpointEvent} of a scheduler, on the scheduler's thread. */
@FunctionalInterface
public interface CheckpointListener {
  /**
   * Called once per event, in the order the events happen.
   *
   * @param event what happened
   */
  void onEvent(CheckpointEvent event);
}
