package dev.ckpt.linux;

import dev.ckpt.CheckpointInfo;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.OptionalInt;

/**
 * Run as nobody by the tests: launches a program with its stdout in a file, checkpoints it with
 * VACATE after a delay, restores it and waits for it. Prints one line per step, and exits with
 * the restored program's exit code (or 100 + a step number when a step fails).
 * Usage: InterruptedRunMain STORE WORKDIR DELAY_MS PROGRAM [ARGS...]
 */
public final class InterruptedRunMain {
  private InterruptedRunMain() {}

  public static void main(String[] args) throws Exception {
    URI store = URI.create(args[0]);
    Path work = Path.of(args[1]);
    long delay = Long.parseLong(args[2]);
    String[] command = Arrays.copyOfRange(args, 3, args.length);
    try (NativeCheckpointer ckpt = NativeCheckpointer.builder().store(store).job("nobody").build()) {
      TracedProcess p = ckpt.launch(new Stdio(Path.of("/dev/null"), work.resolve("stdout"), null, work), command);
      Thread.sleep(delay);
      if (!p.isAlive()) {
        System.out.println("the program ended before the checkpoint");
        System.exit(101);
      }
      CheckpointInfo info = ckpt.checkpoint(p, Mode.VACATE);
      System.out.println("checkpointed pid " + p.pid() + " as " + info.id());
      p.waitFor(Duration.ofSeconds(10));
      RestoredProcess r = ckpt.restore("nobody", new Stdio(Path.of("/dev/null"), null, null, null));
      System.out.println("restored as host pid " + r.pid());
      OptionalInt code = r.waitFor(Duration.ofSeconds(60));
      if (code.isEmpty()) {
        r.kill();
        System.out.println("the restored program did not finish in 60 s");
        System.exit(102);
      }
      System.out.println("exit " + code.getAsInt());
      System.exit(code.getAsInt());
    } catch (Exception e) {
      System.out.println("failed: " + e);
      e.printStackTrace(System.out);
      System.exit(103);
    }
  }
}
