package dev.ckpt;

import java.util.List;

/**
 * The outcome of checking every chunk of a checkpoint.
 *
 * @param checkpoint the checkpoint checked
 * @param chunksChecked how many chunks were read and hashed
 * @param problems one line per damaged or missing piece; empty when the image is intact
 */
public record VerifyResult(CheckpointInfo checkpoint, int chunksChecked, List<String> problems) {
  /**
   * Copies {@code problems}, which the result then owns.
   *
   * @param checkpoint the checkpoint checked
   * @param chunksChecked how many chunks were read and hashed
   * @param problems one line per damaged or missing piece; empty when the image is intact
   */
  public VerifyResult {
    problems = List.copyOf(problems);
  }

  /**
   * Whether the image is intact.
   *
   * @return {@code true} if no problem was found
   */
  public boolean ok() {
    return problems.isEmpty();
  }
}
