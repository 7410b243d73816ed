package dev.ckpt;

import dev.ckpt.internal.sched.Events;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.LoggerFactory;

/**
 * Checkpoints a target periodically, on demand, and on vacate (checkpoint, then stop), as
 * HTCondor did for its jobs. At most one checkpoint is ever in flight; a timer tick that finds
 * one running is skipped. Every attempt is reported as {@link CheckpointEvent}s to the
 * listeners, to SLF4J ({@code dev.ckpt.scheduler}) and to JFR ({@code dev.ckpt.Checkpoint}).
 *
 * <pre>{@code
 * CheckpointScheduler s = CheckpointScheduler.builder(CheckpointTarget.of(checkpointer))
 *     .policy(CheckpointPolicy.builder().interval(Duration.ofMinutes(5)).retainLast(3).build())
 *     .listener(e -> metrics.record(e))
 *     .start();
 * }</pre>
 *
 * <p>Time comes from the injected {@link Clock} and {@link Timer}; without a timer the scheduler
 * owns one thread, stopped by {@link #close()}. Checkpoints run on the timer's thread.
 */
public final class CheckpointScheduler implements AutoCloseable {
  private final CheckpointTarget target;
  private final CheckpointPolicy policy;
  private final Clock clock;
  private final Timer timer;
  private final ScheduledExecutorService ownedExecutor;
  private final Random random;
  private final List<CheckpointListener> listeners;

  private long generation;
  private boolean inFlight;
  private boolean stopped;
  private boolean terminal;
  private int failures;
  private Instant lastEnd;
  private final List<CompletableFuture<CheckpointInfo>> onDemand = new ArrayList<>();
  private final List<CompletableFuture<CheckpointInfo>> onVacate = new ArrayList<>();
  private Thread shutdownHook;
  private SignalHandlers signals;
  /** Events made under the lock, delivered to listeners after it is released, in order. */
  private final List<CheckpointEvent> outbox = new ArrayList<>();
  private final Object delivery = new Object();

  private CheckpointScheduler(Builder b) {
    this.target = b.target;
    this.policy = b.policy;
    this.clock = b.clock;
    this.random = b.random;
    this.listeners = List.copyOf(b.listeners);
    if (b.timer != null) {
      this.timer = b.timer;
      this.ownedExecutor = null;
    } else {
      ScheduledThreadPoolExecutor exec = new ScheduledThreadPoolExecutor(1, r -> {
        Thread t = new Thread(r, "ckpt-scheduler-" + b.target.job());
        t.setDaemon(true);
        return t;
      });
      // close() must not wait for the next tick, which may be an interval away.
      exec.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
      this.ownedExecutor = exec;
      this.timer = Timer.of(ownedExecutor);
    }
  }

  /**
   * Starts the settings of a scheduler for {@code target}.
   *
   * @param target what to checkpoint
   * @return a builder with the default policy, the system UTC clock and an owned timer thread
   * @throws NullPointerException if {@code target} is null
   */
  public static Builder builder(CheckpointTarget target) {
    return new Builder(target);
  }

  /**
   * The policy the scheduler follows.
   *
   * @return the policy given to the builder
   */
  public CheckpointPolicy policy() {
    return policy;
  }

  /**
   * False once vacated, closed, or stopped by the terminal event.
   *
   * @return whether the scheduler still takes checkpoints
   */
  public synchronized boolean isRunning() {
    return !stopped && !terminal;
  }

  private synchronized void begin() {
    if (policy.handleSignals()) {
      signals = SignalHandlers.install(this);
    }
    scheduleTick(clock.instant().plus(policy.initialDelay()).plus(jitter()));
    if (policy.vacateOnShutdown()) {
      shutdownHook = new Thread(() -> {
        try {
          vacate().get(policy.timeout() != null ? policy.timeout().toMillis() : 60_000, TimeUnit.MILLISECONDS);
        } catch (Exception e) {
          LoggerFactory.getLogger("dev.ckpt.scheduler").warn("vacate at JVM shutdown failed: {}", e.toString());
        }
      }, "ckpt-vacate-on-shutdown");
      Runtime.getRuntime().addShutdownHook(shutdownHook);
    }
  }

  private Duration jitter() {
    long max = policy.jitter().toMillis();
    return max <= 0 ? Duration.ZERO : Duration.ofMillis((long) (random.nextDouble() * max));
  }

  private void scheduleTick(Instant at) {
    long gen = ++generation;
    Duration delay = Duration.between(clock.instant(), at);
    timer.schedule(() -> tick(gen), delay.isNegative() ? Duration.ZERO : delay);
  }

  private void tick(long gen) {
    try {
      tickLocked(gen);
    } finally {
      deliver();
    }
  }

  private void tickLocked(long gen) {
    synchronized (this) {
      if (gen != generation || stopped || terminal) {
        return; // superseded by a later schedule
      }
      if (inFlight) {
        emit(CheckpointEvent.Type.SKIPPED, Trigger.TIMER, null, Duration.ZERO, null, "the previous checkpoint is still running");
        return;
      }
      Instant now = clock.instant();
      if (lastEnd != null && now.isBefore(lastEnd.plus(policy.minPause()))) {
        scheduleTick(lastEnd.plus(policy.minPause()));
        return;
      }
    }
    run(Trigger.TIMER);
  }

  /**
   * Checkpoints as soon as no other checkpoint is running, and continues.
   *
   * @return completed with the checkpoint once listeners have seen it, or exceptionally with the
   *     {@link CheckpointException} of a failed attempt, or an {@link IllegalStateException} if the
   *     scheduler stopped first
   */
  public CompletableFuture<CheckpointInfo> checkpointNow() {
    return request(Trigger.ON_DEMAND, onDemand);
  }

  /**
   * Checkpoints as soon as no other checkpoint is running, then stops the target and this scheduler.
   *
   * @return completed as for {@link #checkpointNow()}; after a failed checkpoint the scheduler goes on
   */
  public CompletableFuture<CheckpointInfo> vacate() {
    return request(Trigger.VACATE, onVacate);
  }

  private CompletableFuture<CheckpointInfo> request(Trigger trigger, List<CompletableFuture<CheckpointInfo>> waiting) {
    CompletableFuture<CheckpointInfo> f = new CompletableFuture<>();
    synchronized (this) {
      if (stopped || terminal) {
        f.completeExceptionally(new IllegalStateException("the scheduler of job " + target.job() + " is stopped"));
        return f;
      }
      waiting.add(f);
      if (inFlight) {
        return f; // run when the current one ends
      }
    }
    timer.schedule(() -> run(trigger), Duration.ZERO);
    return f;
  }

  private void run(Trigger trigger) {
    Instant start;
    synchronized (this) {
      if (inFlight || stopped || terminal) {
        return;
      }
      inFlight = true;
      start = clock.instant();
      emit(CheckpointEvent.Type.STARTED, trigger, null, Duration.ZERO, null, null);
    }
    deliver();
    Instant deadline = policy.timeout() == null ? null : start.plus(policy.timeout());
    CheckpointInfo info = null;
    CheckpointException error = null;
    try {
      info = target.checkpoint(trigger, deadline);
    } catch (CheckpointException e) {
      error = e;
    } catch (RuntimeException e) {
      error = new CheckpointException("checkpoint of job " + target.job() + " failed: " + e, e);
    }
    CheckpointException retention = null;
    if (info != null && policy.retention() != null) {
      try {
        target.store().retain(target.job(), policy.retention());
      } catch (CheckpointException e) {
        retention = e;
      }
    }
    List<Runnable> completions = new ArrayList<>();
    try {
      finish(trigger, start, info, error, retention, completions);
    } finally {
      deliver();
      // After the events: whoever waits on checkpointNow() or vacate() sees the listeners called.
      completions.forEach(Runnable::run);
    }
  }

  private void finish(Trigger trigger, Instant start, CheckpointInfo info, CheckpointException error,
      CheckpointException retention, List<Runnable> completions) {
    Trigger next = null;
    synchronized (this) {
      Instant end = clock.instant();
      Duration took = Duration.between(start, end);
      inFlight = false;
      lastEnd = end;
      List<CompletableFuture<CheckpointInfo>> done = new ArrayList<>(trigger == Trigger.VACATE ? onVacate : onDemand);
      if (trigger != Trigger.TIMER) {
        (trigger == Trigger.VACATE ? onVacate : onDemand).clear();
      }
      if (error == null) {
        failures = 0;
        emit(CheckpointEvent.Type.COMMITTED, trigger, info, took, null, null, info.frozen());
        if (retention != null) {
          emit(CheckpointEvent.Type.RETENTION_FAILED, trigger, info, took, retention, null);
        }
        if (trigger != Trigger.TIMER) {
          done.forEach(f -> completions.add(() -> f.complete(info)));
        }
        if (trigger == Trigger.VACATE) {
          stopped = true;
          failPending("the target was vacated");
          return;
        }
      } else {
        failures++;
        emit(CheckpointEvent.Type.FAILED, trigger, null, took, error, null);
        if (trigger != Trigger.TIMER) {
          final CheckpointException e = error;
          done.forEach(f -> completions.add(() -> f.completeExceptionally(e)));
        }
        if (failures >= policy.maxConsecutiveFailures()) {
          terminal = true;
          emit(CheckpointEvent.Type.TERMINAL, trigger, null, took, error, null);
          failPending("stopped after " + failures + " consecutive failures");
          return;
        }
      }
      if (!onVacate.isEmpty()) {
        next = Trigger.VACATE;
      } else if (!onDemand.isEmpty()) {
        next = Trigger.ON_DEMAND;
      } else {
        Instant due;
        if (error != null) {
          due = end.plus(policy.backoff().multipliedBy(1L << Math.min(20, failures - 1)));
        } else {
          // Starts are at least an interval apart; intervals that passed while it ran are not made up.
          due = start.plus(policy.interval()).plus(jitter());
          Instant earliest = end.plus(policy.minPause());
          if (due.isBefore(earliest)) {
            due = earliest;
          }
        }
        scheduleTick(due);
      }
    }
    if (next != null) {
      Trigger t = next;
      timer.schedule(() -> run(t), Duration.ZERO);
    }
  }

  private void failPending(String why) {
    IllegalStateException e = new IllegalStateException("checkpoint of job " + target.job() + " not taken: " + why);
    onDemand.forEach(f -> f.completeExceptionally(e));
    onVacate.forEach(f -> f.completeExceptionally(e));
    onDemand.clear();
    onVacate.clear();
  }

  private void emit(CheckpointEvent.Type type, Trigger trigger, CheckpointInfo info, Duration took, Throwable error,
      String reason) {
    emit(type, trigger, info, took, error, reason, Duration.ZERO);
  }

  private void emit(CheckpointEvent.Type type, Trigger trigger, CheckpointInfo info, Duration took, Throwable error,
      String reason, Duration frozen) {
    CheckpointEvent e = new CheckpointEvent(type, target.job(), trigger, clock.instant(), info, took, frozen, error, reason);
    synchronized (this) {
      outbox.add(e);
    }
  }

  /**
   * Hands queued events to SLF4J, JFR and the listeners, outside the scheduler's lock (a listener
   * may call back into the scheduler, or be slow), one delivery at a time so they keep their order.
   */
  private void deliver() {
    synchronized (delivery) {
      List<CheckpointEvent> batch;
      synchronized (this) {
        batch = new ArrayList<>(outbox);
        outbox.clear();
      }
      for (CheckpointEvent e : batch) {
        Events.publish(e);
        for (CheckpointListener l : listeners) {
          try {
            l.onEvent(e);
          } catch (RuntimeException ex) {
            LoggerFactory.getLogger("dev.ckpt.scheduler").warn("checkpoint listener {} failed: {}", l, ex.toString());
          }
        }
      }
    }
  }

  /** Stops scheduling; a checkpoint in flight finishes. Shuts down the owned timer thread. */
  @Override
  public void close() {
    SignalHandlers installed;
    synchronized (this) {
      stopped = true;
      generation++;
      failPending("the scheduler was closed");
      installed = signals;
      signals = null;
    }
    if (installed != null) {
      installed.restore();
    }
    if (shutdownHook != null) {
      try {
        Runtime.getRuntime().removeShutdownHook(shutdownHook);
      } catch (IllegalStateException shuttingDown) {
        // The hook is running or about to: leave it.
      }
    }
    if (ownedExecutor != null) {
      ownedExecutor.shutdown();
      try {
        ownedExecutor.awaitTermination(1, TimeUnit.MINUTES);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** Settings for a {@link CheckpointScheduler}. */
  public static final class Builder {
    private final CheckpointTarget target;
    private CheckpointPolicy policy = CheckpointPolicy.builder().build();
    private Clock clock = Clock.systemUTC();
    private Timer timer;
    private Random random = new Random();
    private final List<CheckpointListener> listeners = new ArrayList<>();

    private Builder(CheckpointTarget target) {
      this.target = Objects.requireNonNull(target, "target");
    }

    /**
     * When to checkpoint, retry and keep checkpoints; default {@code CheckpointPolicy.builder().build()}.
     *
     * @param policy the policy
     * @return this builder
     */
    public Builder policy(CheckpointPolicy policy) {
      this.policy = Objects.requireNonNull(policy, "policy");
      return this;
    }

    /**
     * The source of time for schedules and events; default the system UTC clock.
     *
     * @param clock the clock
     * @return this builder
     */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /**
     * Runs the scheduler's wake-ups and checkpoints; default: one owned thread.
     *
     * @param timer the timer, which the scheduler does not shut down
     * @return this builder
     */
    public Builder timer(Timer timer) {
      this.timer = Objects.requireNonNull(timer, "timer");
      return this;
    }

    /**
     * Source of jitter.
     *
     * @param random the generator
     * @return this builder
     */
    public Builder random(Random random) {
      this.random = Objects.requireNonNull(random, "random");
      return this;
    }

    /**
     * Adds a listener for every event. A listener that throws is logged and skipped.
     *
     * @param listener the listener
     * @return this builder
     */
    public Builder listener(CheckpointListener listener) {
      listeners.add(Objects.requireNonNull(listener, "listener"));
      return this;
    }

    /**
     * Starts a scheduler with these settings: the first checkpoint is due after the policy's
     * initial delay, plus jitter.
     *
     * @return the running scheduler, which the caller closes
     * @throws IllegalStateException if the policy handles signals and this JVM cannot
     */
    public CheckpointScheduler start() {
      CheckpointScheduler s = new CheckpointScheduler(this);
      try {
        s.begin();
      } catch (RuntimeException e) {
        s.close(); // no timer thread or handler left behind by a scheduler that did not start
        throw e;
      }
      return s;
    }
  }

  /**
   * HTCondor's signals: SIGTSTP vacates, SIGUSR2 checkpoints and continues. The JVM's handlers
   * are process-wide: the ones they replaced are put back on close.
   */
  private static final class SignalHandlers {
    private final List<sun.misc.Signal> signals = new ArrayList<>();
    private final List<sun.misc.SignalHandler> previous = new ArrayList<>();

    static SignalHandlers install(CheckpointScheduler s) {
      String sr = System.getenv("_JAVA_SR_SIGNUM");
      if (sr == null || sr.isBlank() || sr.trim().equals("12")) {
        // HotSpot suspends threads (JFR sampling, safepoints in some builds) with SIGUSR2 unless
        // told otherwise: every such suspend would look like "checkpoint now".
        throw new IllegalStateException("handleSignals(true) needs SIGUSR2, which this JVM uses to suspend threads;"
            + " start the JVM with the environment variable _JAVA_SR_SIGNUM=40 (any free signal from 32 to 64), or"
            + " use handleSignals(false) and call checkpointNow()/vacate() yourself");
      }
      SignalHandlers h = new SignalHandlers();
      try {
        h.handle("TSTP", s::vacate);
        h.handle("USR2", s::checkpointNow);
      } catch (IllegalStateException e) {
        h.restore();
        throw e;
      }
      return h;
    }

    private void handle(String name, Runnable action) {
      sun.misc.Signal sig = new sun.misc.Signal(name);
      try {
        previous.add(sun.misc.Signal.handle(sig, x -> action.run()));
        signals.add(sig);
      } catch (IllegalArgumentException e) {
        throw new IllegalStateException("cannot handle SIG" + name + " in this JVM (" + e.getMessage()
            + "); for SIGUSR2 set the environment variable _JAVA_SR_SIGNUM=40 before starting the JVM", e);
      }
    }

    void restore() {
      for (int i = signals.size() - 1; i >= 0; i--) {
        sun.misc.Signal.handle(signals.get(i), previous.get(i));
      }
      signals.clear();
      previous.clear();
    }
  }
}
