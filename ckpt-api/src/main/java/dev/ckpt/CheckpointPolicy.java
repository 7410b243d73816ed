package dev.ckpt;

import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;

/**
 * When and how a {@link CheckpointScheduler} checkpoints. Immutable; made with {@link #builder()}
 * or read from properties ({@link #fromProperties(Properties)}, keys below).
 *
 * <table>
 *   <caption>Properties</caption>
 *   <tr><th>key</th><th>meaning</th><th>default</th></tr>
 *   <tr><td>ckpt.interval</td><td>time between checkpoint starts</td><td>10m</td></tr>
 *   <tr><td>ckpt.initialDelay</td><td>before the first</td><td>the interval</td></tr>
 *   <tr><td>ckpt.jitter</td><td>random extra delay, up to this</td><td>0s</td></tr>
 *   <tr><td>ckpt.minPause</td><td>between the end of one and the start of the next</td><td>0s</td></tr>
 *   <tr><td>ckpt.timeout</td><td>a checkpoint running longer is aborted, uncommitted</td><td>none</td></tr>
 *   <tr><td>ckpt.retain</td><td>keep the newest N</td><td>all</td></tr>
 *   <tr><td>ckpt.retainFor</td><td>also keep those younger than this</td><td>0s</td></tr>
 *   <tr><td>ckpt.maxFailures</td><td>consecutive failures before the terminal event</td><td>3</td></tr>
 *   <tr><td>ckpt.backoff</td><td>wait after a failure, doubled per further failure</td><td>5s</td></tr>
 *   <tr><td>ckpt.vacateOnShutdown</td><td>checkpoint and stop the target when the JVM exits</td><td>false</td></tr>
 *   <tr><td>ckpt.signals</td><td>SIGTSTP vacates, SIGUSR2 checkpoints now</td><td>false</td></tr>
 * </table>
 *
 * Durations are a number and a unit: {@code 500ms}, {@code 30s}, {@code 10m}, {@code 2h},
 * {@code 1d}.
 */
public final class CheckpointPolicy {
  private final Duration interval;
  private final Duration initialDelay;
  private final Duration jitter;
  private final Duration minPause;
  private final Duration timeout;
  private final Retention retention;
  private final int maxConsecutiveFailures;
  private final Duration backoff;
  private final boolean vacateOnShutdown;
  private final boolean handleSignals;

  private CheckpointPolicy(Builder b) {
    this.interval = b.interval;
    this.initialDelay = b.initialDelay != null ? b.initialDelay : b.interval;
    this.jitter = b.jitter;
    this.minPause = b.minPause;
    this.timeout = b.timeout;
    this.retention = b.retention;
    this.maxConsecutiveFailures = b.maxConsecutiveFailures;
    this.backoff = b.backoff;
    this.vacateOnShutdown = b.vacateOnShutdown;
    this.handleSignals = b.handleSignals;
  }

  /**
   * Starts a policy with the defaults of the table above.
   *
   * @return a new builder
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * The time between checkpoint starts.
   *
   * @return the interval, positive
   */
  public Duration interval() {
    return interval;
  }

  /**
   * The time from the scheduler's start to its first checkpoint.
   *
   * @return the delay; the interval unless set
   */
  public Duration initialDelay() {
    return initialDelay;
  }

  /**
   * The most random delay added to each timed checkpoint, so that many jobs started together do
   * not checkpoint together.
   *
   * @return the largest jitter; zero for none
   */
  public Duration jitter() {
    return jitter;
  }

  /**
   * The least time between the end of one checkpoint and the start of the next timed one.
   *
   * @return the pause; zero for none
   */
  public Duration minPause() {
    return minPause;
  }

  /**
   * The longest a checkpoint may take, or null for no limit.
   *
   * @return the timeout, or null
   */
  public Duration timeout() {
    return timeout;
  }

  /**
   * Applied after each commit, followed by garbage collection; null keeps everything.
   *
   * @return the retention, or null
   */
  public Retention retention() {
    return retention;
  }

  /**
   * How many checkpoints in a row may fail before the scheduler stops with a terminal event.
   *
   * @return the limit, at least 1
   */
  public int maxConsecutiveFailures() {
    return maxConsecutiveFailures;
  }

  /**
   * The wait after a failed checkpoint before the next try, doubled for each further failure in
   * a row.
   *
   * @return the first backoff
   */
  public Duration backoff() {
    return backoff;
  }

  /**
   * Whether the scheduler vacates the target (checkpoints it, then stops it) when the JVM shuts
   * down.
   *
   * @return {@code true} to vacate at shutdown
   */
  public boolean vacateOnShutdown() {
    return vacateOnShutdown;
  }

  /**
   * Whether the scheduler handles SIGTSTP (vacate) and SIGUSR2 (checkpoint now).
   *
   * @return {@code true} to install the signal handlers
   */
  public boolean handleSignals() {
    return handleSignals;
  }

  /**
   * Reads the {@code ckpt.*} keys; a bad value is an IllegalArgumentException naming key and value.
   * Other keys are ignored, and so are {@code ckpt.store} and {@code ckpt.job}, which whoever
   * builds the target reads.
   *
   * @param p the properties to read
   * @return the policy, with defaults for the keys not given
   * @throws IllegalArgumentException if a {@code ckpt.*} key is unknown or its value is invalid
   */
  public static CheckpointPolicy fromProperties(Properties p) {
    Builder b = builder();
    for (String key : p.stringPropertyNames()) {
      if (!key.startsWith("ckpt.")) {
        continue;
      }
      String v = p.getProperty(key).trim();
      try {
        switch (key) {
          case "ckpt.interval" -> b.interval(parseDuration(v));
          case "ckpt.initialDelay" -> b.initialDelay(parseDuration(v));
          case "ckpt.jitter" -> b.jitter(parseDuration(v));
          case "ckpt.minPause" -> b.minPause(parseDuration(v));
          case "ckpt.timeout" -> b.timeout(parseDuration(v));
          case "ckpt.retain" -> b.retainLast(Integer.parseInt(v));
          case "ckpt.retainFor" -> b.retainNewerThan(parseDuration(v));
          case "ckpt.maxFailures" -> b.maxConsecutiveFailures(Integer.parseInt(v));
          case "ckpt.backoff" -> b.backoff(parseDuration(v));
          case "ckpt.vacateOnShutdown" -> b.vacateOnShutdown(parseBoolean(v));
          case "ckpt.signals" -> b.handleSignals(parseBoolean(v));
          case "ckpt.store", "ckpt.job" -> { } // read by whoever builds the target
          default -> throw new IllegalArgumentException("unknown setting; known: " + KNOWN);
        }
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("bad checkpoint setting " + key + "=" + v + ": " + e.getMessage(), e);
      }
    }
    return b.build();
  }

  /**
   * {@link #fromProperties} over {@link System#getProperties()}.
   *
   * @return the policy
   * @throws IllegalArgumentException if a {@code ckpt.*} property is unknown or its value is invalid
   */
  public static CheckpointPolicy fromSystemProperties() {
    return fromProperties(System.getProperties());
  }

  private static final String KNOWN = "ckpt.store, ckpt.job, ckpt.interval, ckpt.initialDelay, ckpt.jitter, ckpt.minPause, "
      + "ckpt.timeout, ckpt.retain, ckpt.retainFor, ckpt.maxFailures, ckpt.backoff, ckpt.vacateOnShutdown, ckpt.signals";

  private static boolean parseBoolean(String v) {
    return switch (v.toLowerCase(Locale.ROOT)) {
      case "true", "yes", "on" -> true;
      case "false", "no", "off" -> false;
      default -> throw new IllegalArgumentException("not a boolean (true or false)");
    };
  }

  private static final Map<String, Duration> UNITS = Map.of("ms", Duration.ofMillis(1), "s", Duration.ofSeconds(1),
      "m", Duration.ofMinutes(1), "h", Duration.ofHours(1), "d", Duration.ofDays(1));

  /**
   * Parses {@code 500ms}, {@code 30s}, {@code 10m}, {@code 2h}, {@code 1d}: whole numbers only,
   * case and surrounding space ignored.
   *
   * @param s the text to parse
   * @return the duration
   * @throws IllegalArgumentException if {@code s} is not a number followed by one of those units
   */
  public static Duration parseDuration(String s) {
    String t = s.trim().toLowerCase(Locale.ROOT);
    int i = 0;
    while (i < t.length() && Character.isDigit(t.charAt(i))) {
      i++;
    }
    Duration unit = UNITS.get(t.substring(i));
    if (i == 0 || unit == null) {
      throw new IllegalArgumentException("'" + s + "' is not a duration: use a number with ms, s, m, h or d (30s, 5m)");
    }
    return unit.multipliedBy(Long.parseLong(t.substring(0, i)));
  }

  @Override
  public String toString() {
    return "CheckpointPolicy[interval=" + interval + ", initialDelay=" + initialDelay + ", jitter=" + jitter
        + ", minPause=" + minPause + ", timeout=" + timeout + ", retention=" + retention + ", maxConsecutiveFailures="
        + maxConsecutiveFailures + ", backoff=" + backoff + ", vacateOnShutdown=" + vacateOnShutdown + "]";
  }

  /** Settings for a {@link CheckpointPolicy}; each setter checks its value. */
  public static final class Builder {
    private Duration interval = Duration.ofMinutes(10);
    private Duration initialDelay;
    private Duration jitter = Duration.ZERO;
    private Duration minPause = Duration.ZERO;
    private Duration timeout;
    private Retention retention;
    private int maxConsecutiveFailures = 3;
    private Duration backoff = Duration.ofSeconds(5);
    private boolean vacateOnShutdown;
    private boolean handleSignals;

    private Builder() {}

    private static Duration positive(String what, Duration d) {
      Objects.requireNonNull(d, what);
      if (d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException(what + " must be positive, got " + d);
      }
      return d;
    }

    private static Duration nonNegative(String what, Duration d) {
      Objects.requireNonNull(d, what);
      if (d.isNegative()) {
        throw new IllegalArgumentException(what + " must not be negative, got " + d);
      }
      return d;
    }

    /**
     * The time between checkpoint starts; default 10 minutes.
     *
     * @param d the interval, positive
     * @return this builder
     */
    public Builder interval(Duration d) {
      this.interval = positive("interval", d);
      return this;
    }

    /**
     * The time before the first checkpoint; default the interval.
     *
     * @param d the delay, not negative
     * @return this builder
     */
    public Builder initialDelay(Duration d) {
      this.initialDelay = nonNegative("initial delay", d);
      return this;
    }

    /**
     * The most random delay added to each timed checkpoint; default none.
     *
     * @param d the largest jitter, not negative
     * @return this builder
     */
    public Builder jitter(Duration d) {
      this.jitter = nonNegative("jitter", d);
      return this;
    }

    /**
     * The least time between the end of one checkpoint and the start of the next timed one;
     * default none.
     *
     * @param d the pause, not negative
     * @return this builder
     */
    public Builder minPause(Duration d) {
      this.minPause = nonNegative("minimum pause", d);
      return this;
    }

    /**
     * The longest a checkpoint may run before it is aborted, uncommitted; default no limit.
     *
     * @param d the timeout, positive
     * @return this builder
     */
    public Builder timeout(Duration d) {
      this.timeout = positive("timeout", d);
      return this;
    }

    /**
     * Which checkpoints to keep after each commit; default all.
     *
     * @param r the retention, replacing any set by {@link #retainLast} or {@link #retainNewerThan}
     * @return this builder
     */
    public Builder retention(Retention r) {
      this.retention = Objects.requireNonNull(r, "retention");
      return this;
    }

    /**
     * Keeps the newest {@code n} checkpoints, and any kept by {@link #retainNewerThan}.
     *
     * @param n how many to keep, at least 1
     * @return this builder
     */
    public Builder retainLast(int n) {
      this.retention = new Retention(n, retention == null ? Duration.ZERO : retention.keepWithin());
      return this;
    }

    /**
     * Also keeps every checkpoint younger than {@code d}; alone, it keeps the newest one too.
     *
     * @param d the age, not negative
     * @return this builder
     */
    public Builder retainNewerThan(Duration d) {
      this.retention = new Retention(retention == null ? 1 : retention.keepLast(), nonNegative("retention age", d));
      return this;
    }

    /**
     * How many checkpoints in a row may fail before the scheduler stops; default 3.
     *
     * @param n the limit, at least 1
     * @return this builder
     */
    public Builder maxConsecutiveFailures(int n) {
      if (n < 1) {
        throw new IllegalArgumentException("max consecutive failures must be at least 1, got " + n);
      }
      this.maxConsecutiveFailures = n;
      return this;
    }

    /**
     * The wait after a failure, doubled per further failure in a row; default 5 seconds.
     *
     * @param d the first backoff, not negative
     * @return this builder
     */
    public Builder backoff(Duration d) {
      this.backoff = nonNegative("backoff", d);
      return this;
    }

    /**
     * Whether to checkpoint and stop the target when the JVM exits; default false.
     *
     * @param on {@code true} to vacate at shutdown
     * @return this builder
     */
    public Builder vacateOnShutdown(boolean on) {
      this.vacateOnShutdown = on;
      return this;
    }

    /**
     * SIGTSTP to this JVM vacates, SIGUSR2 checkpoints now (as HTCondor's jobs did).
     *
     * @param on {@code true} to install the handlers when the scheduler starts; default false
     * @return this builder
     */
    public Builder handleSignals(boolean on) {
      this.handleSignals = on;
      return this;
    }

    /**
     * Makes the policy.
     *
     * @return a policy with these settings
     */
    public CheckpointPolicy build() {
      return new CheckpointPolicy(this);
    }
  }
}
