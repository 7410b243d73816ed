package dev.ckpt.linux;

import dev.ckpt.CheckpointInfo;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.OptionalInt;

/**
 * Run as nobody by the tests: launches a program with its stdout in a file, checkpoints it with
 * VACATE after a delay, restores it, and, with a second delay, checkpoints and restores the
 * restored process once more; then waits for it. Prints one line per step, and exits with the
 * program's exit code (or 100 + a step number when a step fails).
 * Usage: InterruptedRunMain STORE WORKDIR DELAY_MS[,DELAY2_MS] PROGRAM [ARGS...]
 */
public final class InterruptedRunMain {
  private InterruptedRunMain() {}

  public static void main(String[] args) throws Exception {
    URI store = URI.create(args[0]);
    Path work = Path.of(args[1]);
    String[] delays = args[2].split(",");
    long delay = Long.parseLong(delays[0]);
    String[] command = Arrays.copyOfRange(args, 3, args.length);
    try (NativeCheckpointer ckpt = NativeCheckpointer.builder().store(store).job("nobody").build()) {
      TracedProcess p = ckpt.launch(new Stdio(Path.of("/dev/null"), work.resolve("stdout"), null, work), command);
      Thread.sleep(delay);
      if (!p.isAlive()) {
        System.out.println("the program ended before the checkpoint");
        System.exit(101);
      }
      CheckpointInfo info = NativeCheckpointIT.checkpointRetryingMomentaryRefusals(ckpt, p);
      System.out.println("checkpointed pid " + p.pid() + " as " + info.id());
      p.waitFor(Duration.ofSeconds(10));
      RestoredProcess r = ckpt.restore("nobody", new Stdio(Path.of("/dev/null"), null, null, null));
      System.out.println("restored as host pid " + r.pid());
      if (delays.length > 1) {
        // Once more: the restored process runs in the namespace its restore made.
        Thread.sleep(Long.parseLong(delays[1]));
        if (!r.isAlive()) {
          System.out.println("the restored program ended before the second checkpoint");
          System.exit(104);
        }
        CheckpointInfo again = NativeCheckpointIT.checkpointRetryingMomentaryRefusals(ckpt, r);
        System.out.println("checkpointed the restored process as " + again.id());
        r.waitFor(Duration.ofSeconds(10));
        r = ckpt.restore("nobody", new Stdio(Path.of("/dev/null"), null, null, null));
        System.out.println("restored again as host pid " + r.pid());
      }
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
