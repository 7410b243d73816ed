package dev.ckpt.internal.sched;

import dev.ckpt.CheckpointEvent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Sends scheduler events to SLF4J and JFR. */
public final class Events {
  private static final Logger LOG = LoggerFactory.getLogger("dev.ckpt.scheduler");

  private Events() {}

  public static void publish(CheckpointEvent e) {
    switch (e.type()) {
      case STARTED -> LOG.debug("checkpoint of {} started ({})", e.job(), e.trigger());
      case COMMITTED -> LOG.info("checkpoint {} committed in {} ms ({}), {} bytes read, {} new bytes, dedup {}",
          e.checkpoint().ref(), e.duration().toMillis(), e.trigger(), e.bytesRead(), e.newBytes(),
          String.format("%.2f", e.dedupRatio()));
      case FAILED -> LOG.warn("checkpoint of {} failed after {} ms: {}", e.job(), e.duration().toMillis(),
          e.error() == null ? "?" : e.error().getMessage());
      case SKIPPED -> LOG.debug("checkpoint of {} skipped: {}", e.job(), e.reason());
      case TERMINAL -> LOG.error("checkpoints of {} stopped after repeated failures: {}", e.job(),
          e.error() == null ? "?" : e.error().getMessage());
      case RETENTION_FAILED -> LOG.warn("retention of {} after {} failed: {}", e.job(),
          e.checkpoint() == null ? "?" : e.checkpoint().ref(), e.error() == null ? "?" : e.error().getMessage());
      default -> throw new IllegalStateException(e.type().toString());
    }
    CheckpointJfrEvent j = new CheckpointJfrEvent();
    if (j.isEnabled()) {
      j.type = e.type().name();
      j.job = e.job();
      j.trigger = e.trigger() == null ? null : e.trigger().name();
      j.checkpointId = e.checkpoint() == null ? 0 : e.checkpoint().id();
      j.durationNanos = e.duration().toNanos();
      j.frozenNanos = e.frozen().toNanos();
      j.bytesRead = e.bytesRead();
      j.newBytes = e.newBytes();
      j.dedupRatio = e.dedupRatio();
      j.error = e.error() == null ? null : e.error().getMessage();
      j.commit();
    }
  }
}
