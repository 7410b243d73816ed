package dev.ckpt;

import java.util.List;

/**
 * What a retention and garbage-collection pass removed, and what it found broken.
 *
 * @param deletedCheckpoints ids of the checkpoints whose manifests were deleted
 * @param deletedPacks pack blobs deleted because no remaining checkpoint references them
 * @param bytesFreed bytes of the deleted packs
 * @param keptForGracePeriod unreferenced packs kept because they were condemned less than the grace
 *     period ago (the pass that first finds a pack unreferenced condemns it)
 * @param brokenCheckpoints ids of remaining checkpoints that reference a pack which does not
 *     exist: they cannot be restored. They are reported, never deleted by GC; {@code ckpt verify}
 *     names the missing packs
 */
public record GcResult(List<Long> deletedCheckpoints, int deletedPacks, long bytesFreed, int keptForGracePeriod,
    List<Long> brokenCheckpoints) {
  /**
   * Copies the lists, which the result then owns.
   *
   * @param deletedCheckpoints ids of the checkpoints whose manifests were deleted
   * @param deletedPacks pack blobs deleted because no remaining checkpoint references them
   * @param bytesFreed bytes of the deleted packs
   * @param keptForGracePeriod unreferenced packs kept because they were condemned less than the
   *     grace period ago
   * @param brokenCheckpoints ids of remaining checkpoints that reference a pack which does not exist
   */
  public GcResult {
    deletedCheckpoints = List.copyOf(deletedCheckpoints);
    brokenCheckpoints = List.copyOf(brokenCheckpoints);
  }

  /**
   * A result that found no broken checkpoint.
   *
   * @param deletedCheckpoints ids of the checkpoints whose manifests were deleted
   * @param deletedPacks pack blobs deleted because no remaining checkpoint references them
   * @param bytesFreed bytes of the deleted packs
   * @param keptForGracePeriod unreferenced packs kept for the grace period
   */
  public GcResult(List<Long> deletedCheckpoints, int deletedPacks, long bytesFreed, int keptForGracePeriod) {
    this(deletedCheckpoints, deletedPacks, bytesFreed, keptForGracePeriod, List.of());
  }
}
