package dev.ckpt.it;

import dev.ckpt.CheckpointException;
import dev.ckpt.CheckpointInfo;
import dev.ckpt.CheckpointStore;
import dev.ckpt.CommitUnknownException;
import dev.ckpt.ImageWriter;
import dev.ckpt.PartOutput;
import java.net.URI;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.Random;

/**
 * Child process of {@link TwoWriterJvmsIT}: waits for a start file, then writes {@code count}
 * checkpoints of one job and prints "committed ID DIGEST", "failed ..." or "unclear DIGEST" for
 * each. Half of each checkpoint is the same in both writers at the same step (so each reuses the
 * other's chunks and packs), half its own.
 */
public final class TwoWriterMain {
  private TwoWriterMain() {}

  public static void main(String[] args) throws Exception {
    URI store = URI.create(args[0]);
    String job = args[1];
    int count = Integer.parseInt(args[2]);
    Random own = new Random(Long.parseLong(args[3]));
    java.nio.file.Path start = java.nio.file.Path.of(args[4]);
    long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(60);
    while (!java.nio.file.Files.exists(start) && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    byte[] content = new byte[256 * 1024];
    try (CheckpointStore s = CheckpointStore.builder().uri(store).parallelism(2).build()) {
      for (int i = 0; i < count; i++) {
        byte[] shared = new byte[content.length / 2];
        new Random(i).nextBytes(shared);
        System.arraycopy(shared, 0, content, 0, shared.length);
        byte[] mine = new byte[content.length - shared.length];
        own.nextBytes(mine);
        System.arraycopy(mine, 0, content, shared.length, mine.length);
        String digest = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content));
        try (ImageWriter w = s.newImage(job)) {
          try (PartOutput out = w.part("data", Map.of())) {
            out.write(content, 0, content.length);
          }
          CheckpointInfo c = w.commit();
          System.out.println("committed " + c.id() + " " + digest);
        } catch (CommitUnknownException e) {
          System.out.println("unclear " + digest);
        } catch (CheckpointException e) {
          System.out.println("failed " + e.getClass().getSimpleName() + ": " + e.getMessage());
        }
        System.out.flush();
      }
    }
  }
}
