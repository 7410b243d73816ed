/**
 * Micrometer meters for ckpt's checkpoint events: {@link dev.ckpt.micrometer.CheckpointMetrics}.
 * Micrometer's jars are automatic modules, required by their {@code Automatic-Module-Name}.
 */
module dev.ckpt.micrometer {
  requires transitive dev.ckpt;
  requires transitive micrometer.core;

  exports dev.ckpt.micrometer;
}
