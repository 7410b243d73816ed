package dev.ckpt.it;

import dev.ckpt.CheckpointInfo;
import dev.ckpt.Checkpointer;
import dev.ckpt.Retention;
import java.net.URI;
import java.nio.ByteBuffer;

/**
 * Child process of {@link CrashLoopIT}: checkpoints its state back to back until it is killed,
 * printing each committed checkpoint after commit returns.
 */
public final class CrashWriterMain {
  private CrashWriterMain() {}

  public static void main(String[] args) throws Exception {
    URI store = URI.create(args[0]);
    CrashState state = new CrashState();
    try (Checkpointer ckpt = CrashState.builder(store, state).retention(Retention.keepLast(3)).build()) {
      if (ckpt.latest().isPresent()) {
        ckpt.restoreLatest();
        state.verify();
      }
      while (true) {
        state.step();
        CheckpointInfo info = ckpt.checkpoint();
        System.out.println("committed " + info.id() + " " + state.counter.value);
        System.out.flush();
      }
    }
  }
}
