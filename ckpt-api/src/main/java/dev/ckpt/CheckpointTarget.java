package dev.ckpt;

import java.time.Instant;

/**
 * What a {@link CheckpointScheduler} checkpoints: application state ({@link #of(Checkpointer)})
 * or a native process ({@code NativeCheckpointer.target(process)}).
 */
public interface CheckpointTarget {

  /** The store the checkpoints go to, for retention. */
  CheckpointStore store();

  String job();

  /**
   * Takes one checkpoint that must commit before {@code deadline}, or not at all. With
   * {@link Trigger#VACATE} the target stops once the checkpoint is committed.
   */
  CheckpointInfo checkpoint(Trigger trigger, Instant deadline) throws CheckpointException;

  /** Application state; a vacate runs {@code onVacate} once the checkpoint is committed. */
  static CheckpointTarget of(Checkpointer checkpointer, java.util.function.Consumer<CheckpointInfo> onVacate) {
    return new CheckpointTarget() {
      @Override
      public CheckpointStore store() {
        return checkpointer.store();
      }

      @Override
      public String job() {
        return checkpointer.job();
      }

      @Override
      public CheckpointInfo checkpoint(Trigger trigger, Instant deadline) throws CheckpointException {
        CheckpointInfo info = checkpointer.checkpoint(deadline);
        if (trigger == Trigger.VACATE) {
          onVacate.accept(info);
        }
        return info;
      }
    };
  }

  static CheckpointTarget of(Checkpointer checkpointer) {
    return of(checkpointer, info -> { });
  }
}
