package dev.ckpt;

import java.util.List;

/**
 * What a retention and garbage-collection pass removed.
 *
 * @param deletedCheckpoints ids of the checkpoints whose manifests were deleted
 * @param deletedPacks pack blobs deleted because no remaining checkpoint references them
 * @param bytesFreed bytes of the deleted packs
 * @param keptForGracePeriod unreferenced packs kept because they were condemned less than the grace
 *     period ago (the pass that first finds a pack unreferenced condemns it)
 */
public record GcResult(List<Long> deletedCheckpoints, int deletedPacks, long bytesFreed, int keptForGracePeriod) {
  public GcResult {
    deletedCheckpoints = List.copyOf(deletedCheckpoints);
  }
}
