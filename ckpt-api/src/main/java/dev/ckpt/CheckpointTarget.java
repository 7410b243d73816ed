package dev.ckpt;

import java.time.Instant;

/**
 * What a {@link CheckpointScheduler} checkpoints: application state ({@link #of(Checkpointer)})
 * or a native process ({@code NativeCheckpointer.target(process)}).
 */
public interface CheckpointTarget {

  /**
   * The store the checkpoints go to, for retention.
   *
   * @return the target's store
   */
  CheckpointStore store();

  /**
   * The job the checkpoints belong to.
   *
   * @return the job's name
   */
  String job();

  /**
   * Takes one checkpoint that must commit before {@code deadline}, or not at all. With
   * {@link Trigger#VACATE} the target stops once the checkpoint is committed.
   *
   * @param trigger why the checkpoint is taken
   * @param deadline when the checkpoint must be committed by, or null for no limit
   * @return the committed checkpoint
   * @throws CheckpointException if the checkpoint was not committed
   */
  CheckpointInfo checkpoint(Trigger trigger, Instant deadline) throws CheckpointException;

  /**
   * Application state; a vacate runs {@code onVacate} once the checkpoint is committed.
   *
   * @param checkpointer the checkpointer of the state
   * @param onVacate what stopping the application means, for example a call to {@code System.exit}
   * @return a target that checkpoints with {@link Checkpointer#checkpoint(Instant)}
   */
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

  /**
   * Application state, where a vacate only checkpoints: stopping is left to the application.
   *
   * @param checkpointer the checkpointer of the state
   * @return a target that checkpoints with {@link Checkpointer#checkpoint(Instant)}
   */
  static CheckpointTarget of(Checkpointer checkpointer) {
    return of(checkpointer, info -> { });
  }
}
