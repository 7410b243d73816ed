package dev.ckpt.internal.sched;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.Timespan;

/** A scheduler event as a JFR event, readable with {@code jfr print --events dev.ckpt.Checkpoint}. */
@Name("dev.ckpt.Checkpoint")
@Label("Checkpoint")
@Category("ckpt")
@Description("A scheduled checkpoint started, committed, failed, was skipped, or failed for good")
public final class CheckpointJfrEvent extends Event {
  @Label("Type")
  String type;

  @Label("Job")
  String job;

  @Label("Trigger")
  String trigger;

  @Label("Checkpoint Id")
  long checkpointId;

  @Label("Duration")
  @Timespan(Timespan.NANOSECONDS)
  long durationNanos;

  @Label("Frozen")
  @Timespan(Timespan.NANOSECONDS)
  long frozenNanos;

  @Label("Bytes Read")
  @DataAmount
  long bytesRead;

  @Label("New Bytes Stored")
  @DataAmount
  long newBytes;

  @Label("Dedup Ratio")
  double dedupRatio;

  @Label("Error")
  String error;
}
