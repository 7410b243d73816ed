package dev.ckpt;

/** Hears every {@link CheckpointEvent} of a scheduler, on the scheduler's thread. */
@FunctionalInterface
public interface CheckpointListener {
  void onEvent(CheckpointEvent event);
}
