package dev.ckpt.micrometer;

import dev.ckpt.CheckpointEvent;
import dev.ckpt.CheckpointInfo;
import dev.ckpt.CheckpointListener;
import dev.ckpt.CheckpointScheduler;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.TimeGauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.BaseUnits;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * Turns the {@link CheckpointEvent}s of {@link CheckpointScheduler}s into Micrometer meters. It is
 * both the scheduler's listener and a {@link MeterBinder}: bind it to a registry, and give it to
 * each scheduler whose checkpoints it should count, whatever they checkpoint (application state
 * with {@code CheckpointTarget.of(checkpointer)}, or a native process with {@code
 * nativeCheckpointer.target(process)}).
 *
 * <pre>{@code
 * CheckpointMetrics metrics = CheckpointMetrics.create();
 * metrics.bindTo(registry);
 * CheckpointScheduler scheduler = CheckpointScheduler.builder(CheckpointTarget.of(checkpointer))
 *     .listener(metrics)
 *     .start();
 * }</pre>
 *
 * <table>
 *   <caption>Meters</caption>
 *   <tr><th>name</th><th>type</th><th>tags</th><th>what</th></tr>
 *   <tr><td>{@code ckpt.checkpoints}</td><td>counter</td><td>ckpt.job, trigger, outcome, exception</td>
 *       <td>checkpoint attempts that ended: {@code outcome} is {@code committed} or {@code failed},
 *       {@code exception} the simple name of the failure's class, or {@code none}</td></tr>
 *   <tr><td>{@code ckpt.checkpoint.duration}</td><td>timer</td><td>ckpt.job, trigger, outcome</td>
 *       <td>each attempt, as the scheduler timed it (a committed one's retention included)</td></tr>
 *   <tr><td>{@code ckpt.checkpoint.frozen}</td><td>timer</td><td>ckpt.job, trigger</td>
 *       <td>how long each committed checkpoint stopped its target ({@link CheckpointInfo#frozen()}):
 *       a native process's freeze, or the pause of an application-state snapshot</td></tr>
 *   <tr><td>{@code ckpt.checkpoint.read}</td><td>summary, bytes</td><td>ckpt.job, tracking</td>
 *       <td>bytes each committed checkpoint read from its source ({@link CheckpointInfo#bytesRead()});
 *       {@code tracking} is {@link CheckpointInfo#changeTracking()}</td></tr>
 *   <tr><td>{@code ckpt.checkpoint.stored}</td><td>summary, bytes</td><td>ckpt.job</td>
 *       <td>bytes each committed checkpoint newly wrote to the store
 *       ({@link CheckpointInfo#newStoredBytes()})</td></tr>
 *   <tr><td>{@code ckpt.checkpoint.last.age}</td><td>time gauge</td><td>ckpt.job</td>
 *       <td>time since the job's last committed checkpoint; NaN until one is committed</td></tr>
 *   <tr><td>{@code ckpt.checkpoints.skipped}</td><td>counter</td><td>ckpt.job</td>
 *       <td>timer ticks not acted on because a checkpoint was still running</td></tr>
 *   <tr><td>{@code ckpt.retention.failures}</td><td>counter</td><td>ckpt.job</td>
 *       <td>committed checkpoints after which deleting older ones failed</td></tr>
 *   <tr><td>{@code ckpt.scheduler.terminal}</td><td>counter</td><td>ckpt.job</td>
 *       <td>schedulers stopped by too many failures in a row</td></tr>
 * </table>
 *
 * <p>The job's tag is {@code ckpt.job}, not {@code job}, which Prometheus sets on every series it
 * scrapes. Percentiles and histograms are left to the registry's {@code MeterFilter}s. The
 * {@code ckpt.checkpoint.last.age} gauge of a job appears with the first event of that job; it is
 * measured with this object's clock, which should be the scheduler's ({@link Builder#clock}).
 *
 * <p>Non-goals: restores are not measured (no restore publishes an event), and neither are
 * checkpoints taken by calling {@code Checkpointer.checkpoint()} or {@code
 * NativeCheckpointer.checkpoint(...)} directly, which publish none either: take them through the
 * scheduler's {@link CheckpointScheduler#checkpointNow()} to have them counted.
 *
 * <p>Thread-safe: one object may listen to several schedulers and be bound to several registries.
 * Events heard before a registry was bound are not replayed into it, except the time of each
 * job's last commit, which its gauge shows.
 */
public final class CheckpointMetrics implements MeterBinder, CheckpointListener {
  private static final String JOB = "ckpt.job";

  private final Clock clock;
  private final Tags tags;
  private final CopyOnWriteArrayList<MeterRegistry> registries = new CopyOnWriteArrayList<>();
  private final Map<String, JobState> jobs = new ConcurrentHashMap<>();

  /** What a job's gauge reads: when its last checkpoint was committed, or null. */
  private static final class JobState {
    volatile Instant lastCommit;
  }

  private CheckpointMetrics(Builder b) {
    this.clock = b.clock;
    this.tags = b.tags;
  }

  /**
   * Metrics with the system UTC clock (the scheduler's default) and no extra tags.
   *
   * @return new metrics, bound to no registry yet
   */
  public static CheckpointMetrics create() {
    return builder().build();
  }

  /**
   * Starts the settings of checkpoint metrics.
   *
   * @return a new builder
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Registers the meters of every job heard of so far in {@code registry}, and from now on records
   * every event there too.
   *
   * @param registry the registry; binding the same one twice has no further effect
   * @throws NullPointerException if {@code registry} is null
   */
  @Override
  public void bindTo(MeterRegistry registry) {
    Objects.requireNonNull(registry, "registry");
    // Added before the jobs are read, as onEvent adds a job before it reads the registries: a job
    // first heard of meanwhile gets its gauge here, or there, or both, which Micrometer makes one.
    if (registries.addIfAbsent(registry)) {
      jobs.forEach((job, state) -> registerGauge(registry, job, state));
    }
  }

  /**
   * Records one event in every bound registry. Called by the scheduler, on its thread.
   *
   * @param event what happened
   */
  @Override
  public void onEvent(CheckpointEvent event) {
    JobState state = jobs.get(event.job());
    if (state == null) {
      JobState fresh = new JobState();
      state = jobs.putIfAbsent(event.job(), fresh);
      if (state == null) {
        state = fresh;
        for (MeterRegistry registry : registries) {
          registerGauge(registry, event.job(), fresh);
        }
      }
    }
    if (event.type() == CheckpointEvent.Type.COMMITTED) {
      state.lastCommit = event.at();
    }
    for (MeterRegistry registry : registries) {
      record(registry, event);
    }
  }

  private void record(MeterRegistry registry, CheckpointEvent e) {
    Tags job = tags.and(JOB, e.job());
    String trigger = e.trigger() == null ? "none" : e.trigger().name().toLowerCase(Locale.ROOT);
    switch (e.type()) {
      case COMMITTED -> {
        ended(registry, job, trigger, "committed", "none", e.duration());
        CheckpointInfo c = e.checkpoint();
        Timer.builder("ckpt.checkpoint.frozen")
            .description("How long a committed checkpoint stopped its target")
            .tags(job).tag("trigger", trigger)
            .register(registry).record(e.frozen());
        DistributionSummary.builder("ckpt.checkpoint.read")
            .description("Bytes a committed checkpoint read from its source")
            .baseUnit(BaseUnits.BYTES)
            .tags(job).tag("tracking", c.changeTracking())
            .register(registry).record(c.bytesRead());
        DistributionSummary.builder("ckpt.checkpoint.stored")
            .description("Bytes a committed checkpoint newly wrote to the store")
            .baseUnit(BaseUnits.BYTES)
            .tags(job)
            .register(registry).record(c.newStoredBytes());
      }
      case FAILED -> ended(registry, job, trigger, "failed", exception(e.error()), e.duration());
      case SKIPPED -> Counter.builder("ckpt.checkpoints.skipped")
          .description("Timer ticks not acted on because a checkpoint was still running")
          .tags(job).register(registry).increment();
      case RETENTION_FAILED -> Counter.builder("ckpt.retention.failures")
          .description("Committed checkpoints after which deleting older ones failed")
          .tags(job).register(registry).increment();
      case TERMINAL -> Counter.builder("ckpt.scheduler.terminal")
          .description("Schedulers stopped by too many failed checkpoints in a row")
          .tags(job).register(registry).increment();
      case STARTED -> { } // counted when it ends, with its outcome
      default -> { } // a type added later has no meter yet; a listener must not fail the scheduler
    }
  }

  private static void ended(MeterRegistry registry, Tags job, String trigger, String outcome, String exception,
      Duration took) {
    Counter.builder("ckpt.checkpoints")
        .description("Checkpoint attempts that ended, committed or failed")
        .tags(job).tag("trigger", trigger).tag("outcome", outcome).tag("exception", exception)
        .register(registry).increment();
    Timer.builder("ckpt.checkpoint.duration")
        .description("How long a checkpoint attempt took, as the scheduler timed it")
        .tags(job).tag("trigger", trigger).tag("outcome", outcome)
        .register(registry).record(took);
  }

  private static String exception(Throwable t) {
    if (t == null) {
      return "none";
    }
    String name = t.getClass().getSimpleName();
    return name.isEmpty() ? t.getClass().getName() : name;
  }

  private void registerGauge(MeterRegistry registry, String job, JobState state) {
    // Strong: the state lives as long as this object, which the registry need not keep alive.
    TimeGauge.builder("ckpt.checkpoint.last.age", state, TimeUnit.SECONDS, this::ageSeconds)
        .description("Time since the job's last committed checkpoint; NaN until one is committed")
        .tags(tags.and(JOB, job))
        .strongReference(true)
        .register(registry);
  }

  private double ageSeconds(JobState state) {
    Instant last = state.lastCommit;
    if (last == null) {
      return Double.NaN;
    }
    // A commit time from a clock slightly ahead of ours reads as just now, not as negative.
    return Math.max(0, Duration.between(last, clock.instant()).toNanos()) / 1e9;
  }

  /** Settings for {@link CheckpointMetrics}. */
  public static final class Builder {
    private Clock clock = Clock.systemUTC();
    private Tags tags = Tags.empty();

    private Builder() {}

    /**
     * The clock the age of the last commit is measured with; give the one the schedulers use.
     * Default the system UTC clock, the schedulers' default.
     *
     * @param clock the clock
     * @return this builder
     */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /**
     * Tags added to every meter, after any given before.
     *
     * @param tags the tags, none of them {@code ckpt.job}
     * @return this builder
     * @throws IllegalArgumentException if a tag's key is {@code ckpt.job}, which each meter sets
     */
    public Builder tags(Iterable<Tag> tags) {
      Objects.requireNonNull(tags, "tags");
      for (Tag t : tags) {
        if (t.getKey().equals(JOB)) {
          throw new IllegalArgumentException("tag " + JOB + " is set by each meter to its job; use another key");
        }
      }
      this.tags = this.tags.and(tags);
      return this;
    }

    /**
     * Tags added to every meter, as key-value pairs.
     *
     * @param keyValues an even number of strings: key, value, key, value...
     * @return this builder
     * @throws IllegalArgumentException if the number of strings is odd, or a key is {@code ckpt.job}
     */
    public Builder tags(String... keyValues) {
      Objects.requireNonNull(keyValues, "keyValues");
      if (keyValues.length % 2 != 0) {
        throw new IllegalArgumentException("tags need a value for each key, got " + keyValues.length + " strings");
      }
      return tags(Tags.of(keyValues));
    }

    /**
     * Makes the metrics.
     *
     * @return metrics with these settings, bound to no registry yet
     */
    public CheckpointMetrics build() {
      return new CheckpointMetrics(this);
    }
  }
}
