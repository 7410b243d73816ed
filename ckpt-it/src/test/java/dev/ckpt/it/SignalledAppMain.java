package dev.ckpt.it;

import dev.ckpt.CheckpointPolicy;
import dev.ckpt.CheckpointScheduler;
import dev.ckpt.CheckpointTarget;
import dev.ckpt.Checkpointer;
import java.net.URI;
import java.nio.ByteBuffer;
import java.time.Duration;

/**
 * Child of {@link SchedulerSignalsIT}: application state under a scheduler that handles SIGTSTP
 * and SIGUSR2 and vacates at JVM shutdown. Prints one line per event.
 */
public final class SignalledAppMain {
  private SignalledAppMain() {}

  public static void main(String[] args) throws Exception {
    if (args.length > 1 && args[1].equals("no-free-sigusr2")) {
      ByteBuffer state = ByteBuffer.allocateDirect(4096);
      try (Checkpointer c = Checkpointer.builder().store(URI.create(args[0])).job("signalled").registerSegment("s", state).build()) {
        CheckpointScheduler.builder(CheckpointTarget.of(c)).policy(CheckpointPolicy.builder().interval(Duration.ofHours(1))
            .handleSignals(true).build()).start().close();
        System.out.println("started");
      } catch (IllegalStateException e) {
        System.out.println("refused: " + e.getMessage());
      }
      System.out.println("ready");
      return;
    }
    if (args.length > 1 && args[1].equals("close-restores-handlers")) {
      closeRestoresHandlers(args[0]);
      return;
    }
    ByteBuffer state = ByteBuffer.allocateDirect(1 << 20);
    Checkpointer c = Checkpointer.builder().store(URI.create(args[0])).job("signalled").registerSegment("s", state).build();
    CheckpointScheduler s = CheckpointScheduler.builder(CheckpointTarget.of(c, info -> {
      System.out.println("vacated " + info.ref());
      System.out.flush();
    })).policy(CheckpointPolicy.builder().interval(Duration.ofHours(1)).handleSignals(true)
        .vacateOnShutdown(args.length > 1 && args[1].equals("vacate-on-shutdown")).build())
        .listener(e -> {
          System.out.println("event " + e.type() + " " + e.trigger() + (e.checkpoint() == null ? "" : " " + e.checkpoint().ref()));
          System.out.flush();
        }).start();
    System.out.println("ready");
    System.out.flush();
    while (s.isRunning()) {
      state.putLong(0, System.nanoTime());
      Thread.sleep(20);
    }
    System.out.println("stopped");
    System.out.flush();
    s.close();
    c.close();
  }

  /** The application's own SIGTSTP handler is back once a scheduler that handled SIGTSTP is closed. */
  private static void closeRestoresHandlers(String store) throws Exception {
    java.util.concurrent.CountDownLatch got = new java.util.concurrent.CountDownLatch(1);
    sun.misc.Signal.handle(new sun.misc.Signal("TSTP"), sig -> got.countDown());
    ByteBuffer state = ByteBuffer.allocateDirect(4096);
    try (Checkpointer c = Checkpointer.builder().store(URI.create(store)).job("signalled").registerSegment("s", state).build()) {
      CheckpointScheduler s = CheckpointScheduler.builder(CheckpointTarget.of(c, info -> { }))
          .policy(CheckpointPolicy.builder().interval(Duration.ofHours(1)).handleSignals(true).build()).start();
      s.close();
    }
    System.out.println("ready");
    System.out.flush();
    if (got.await(30, java.util.concurrent.TimeUnit.SECONDS)) {
      System.out.println("the application's SIGTSTP handler ran");
    }
    System.out.flush();
  }
}
