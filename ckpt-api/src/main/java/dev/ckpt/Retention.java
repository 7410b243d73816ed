package dev.ckpt;

import java.time.Duration;
import java.util.Objects;

/**
 * Which checkpoints of a job to keep: the newest {@code keepLast}, and also any newer than
 * {@code keepWithin}. Only checkpoints whose packs all exist count towards {@code keepLast}, so
 * broken newer checkpoints never push out the newest one that can be restored; a checkpoint is
 * kept if fewer than {@code keepLast} intact ones are newer. The newest checkpoint is always kept.
 *
 * @param keepLast how many of the newest to keep; {@link Integer#MAX_VALUE} keeps all
 * @param keepWithin also keep those younger than this; {@link Duration#ZERO} for none
 */
public record Retention(int keepLast, Duration keepWithin) {
  /**
   * Checks the fields.
   *
   * @param keepLast how many of the newest to keep, at least 1
   * @param keepWithin also keep those younger than this; not negative
   * @throws IllegalArgumentException if {@code keepLast} is below 1 or {@code keepWithin} is negative
   */
  public Retention {
    Objects.requireNonNull(keepWithin, "keepWithin");
    if (keepLast < 1) {
      throw new IllegalArgumentException("keepLast must be at least 1, got " + keepLast);
    }
    if (keepWithin.isNegative()) {
      throw new IllegalArgumentException("keepWithin must not be negative, got " + keepWithin);
    }
  }

  /**
   * Keeps every checkpoint.
   *
   * @return a retention that deletes nothing
   */
  public static Retention keepAll() {
    return new Retention(Integer.MAX_VALUE, Duration.ZERO);
  }

  /**
   * Keeps the newest {@code n} intact checkpoints.
   *
   * @param n how many to keep, at least 1
   * @return the retention
   */
  public static Retention keepLast(int n) {
    return new Retention(n, Duration.ZERO);
  }

  /**
   * Keeps the newest checkpoint plus every one younger than {@code age}.
   *
   * @param age the age below which a checkpoint is kept
   * @return the retention
   */
  public static Retention keepNewerThan(Duration age) {
    return new Retention(1, age);
  }

  /**
   * This retention's {@code keepLast}, plus every checkpoint younger than {@code age}.
   *
   * @param age the age below which a checkpoint is kept; replaces {@link #keepWithin()}
   * @return a new retention
   */
  public Retention andNewerThan(Duration age) {
    return new Retention(keepLast, age);
  }
}
