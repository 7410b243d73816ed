package dev.ckpt.store.nfs;

import dev.ckpt.CheckpointStore;
import dev.ckpt.ImageWriter;
import dev.ckpt.PartOutput;
import java.net.URI;
import java.util.Map;
import java.util.Random;

/**
 * A writer that takes a job's lock, prints LOCKED, then keeps writing a checkpoint that never
 * ends, until the test kills it. Run as its own JVM by NfsDirectIT.
 */
public final class NfsWriterMain {
  private NfsWriterMain() {}

  public static void main(String[] args) throws Exception {
    try (CheckpointStore store = CheckpointStore.builder().uri(URI.create(args[0])).packSize(1 << 20).build();
        ImageWriter w = store.newImage(args[1])) {
      System.out.println("LOCKED");
      System.out.flush();
      Random r = new Random(1);
      byte[] block = new byte[256 << 10];
      try (PartOutput out = w.part("endless", Map.of())) {
        for (int i = 0; i < 100_000; i++) {
          r.nextBytes(block);
          out.write(block, 0, block.length);
          Thread.sleep(20);
        }
      }
    }
  }
}
