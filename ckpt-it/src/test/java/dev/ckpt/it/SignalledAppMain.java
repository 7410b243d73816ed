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
    ByteBuffer state = ByteBuffer.allocateDirect(1 << 20);
    Checkpointer c = Checkpointer.builder().store(URI.create(args[0])).job("signalled").registerSegment("s", state).build();
    CheckpointScheduler s = CheckpointScheduler.builder(CheckpointTarget.of(c, info -> {
      System.out.println("vacated " + info.ref());
      System.out.flush();
    })).policy(CheckpointPolicy.builder().interval(Duration.ofHours(1)).handleSignals(true)
        .vacateOnShutdown(args.length > 1).build())
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
}
