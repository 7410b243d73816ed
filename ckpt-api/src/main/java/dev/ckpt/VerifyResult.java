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
  public VerifyResult {
    problems = List.copyOf(problems);
  }

  public boolean ok() {
    return problems.isEmpty();
  }
}
