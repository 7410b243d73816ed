package dev.ckpt.linux;

import dev.ckpt.CheckpointInfo;

/** A process rebuilt from a checkpoint, running on from where the checkpoint stopped it. */
public interface RestoredProcess extends TracedProcess {

  /**
   * The checkpoint it was restored from.
   *
   * @return the checkpoint
   */
  CheckpointInfo restoredFrom();
}
