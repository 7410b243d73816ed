package dev.ckpt;

import java.util.List;

/**
 * The outcome of checking one job's part of a store without reading its chunks
 * ({@link CheckpointStore#checkConsistency}).
 *
 * @param job the job checked
 * @param checkpoints the checkpoints whose manifests were read, oldest first (those that could not be
 *     read are problems)
 * @param packs how many packs it has
 * @param problems one line per fault: a manifest that cannot be read or authenticated, a pack a
 *     checkpoint references that does not exist; empty when consistent
 * @param notes what gc will clean and is no fault: packs no checkpoint references (a writer in
 *     progress, or one that stopped), condemnation markers of packs gone or referenced again
 */
public record ConsistencyResult(String job, List<CheckpointInfo> checkpoints, int packs, List<String> problems,
    List<String> notes) {
  /**
   * Copies the lists, which the result then owns.
   *
   * @param job the job checked
   * @param checkpoints the checkpoints whose manifests were read, oldest first (those that could not be
 *     read are problems)
   * @param packs how many packs it has
   * @param problems one line per fault
   * @param notes what gc will clean
   */
  public ConsistencyResult {
    checkpoints = List.copyOf(checkpoints);
    problems = List.copyOf(problems);
    notes = List.copyOf(notes);
  }

  /**
   * Whether the job's part of the store is consistent.
   *
   * @return {@code true} if no problem was found (notes do not count)
   */
  public boolean ok() {
    return problems.isEmpty();
  }
}
