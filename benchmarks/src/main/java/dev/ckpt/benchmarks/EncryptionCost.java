package dev.ckpt.benchmarks;

import com.sun.jna.Memory;
import dev.ckpt.CheckpointInfo;
import dev.ckpt.CheckpointStore;
import dev.ckpt.Checkpointer;
import dev.ckpt.Encryption;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What encryption at rest costs: dump and restore of the 1 GiB benchmark image (LZ4, local store
 * on tmpfs), with keys ({@code sealed}: AES-256-GCM records, keyed ids, an HMAC'd manifest) and
 * without ({@code plain}, the baseline), in one run. The ratio sealed / plain is the figure.
 */
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3)
@Measurement(iterations = 10)
@Fork(value = 1, jvmArgsAppend = {"-Xmx1g"})
@State(Scope.Benchmark)
public class EncryptionCost {
  @Param({"plain", "sealed"})
  public String keys;

  Memory memory;
  Path dir;
  CheckpointStore store;
  int job;

  @Setup(Level.Trial)
  public void setUp() throws Exception {
    memory = ImageData.allocate();
    dir = ImageData.scratch("enc");
    CheckpointStore.Builder b = CheckpointStore.builder().uri(dir.toUri());
    if (keys.equals("sealed")) {
      byte[] key = new byte[32];
      new java.security.SecureRandom().nextBytes(key);
      b.encryption(Encryption.withKey("bench", key));
    }
    store = b.build();
    try (Checkpointer c = checkpointer("restore")) {
      c.checkpoint();
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() throws Exception {
    store.close();
    ImageData.delete(dir);
    memory.close();
  }

  /** As in AppStateBenchmark: every iteration writes into recycled page-cache pages. */
  @TearDown(Level.Iteration)
  public void removeIterationOutput() throws Exception {
    for (int j = 0; j < job; j++) {
      ImageData.delete(dir.resolve("dump-" + j));
    }
  }

  private Checkpointer checkpointer(String jobName) throws Exception {
    return Checkpointer.builder().store(store).job(jobName)
        .registerSegment("heap", dev.ckpt.linux.JnaMemory.of(memory, ImageData.SIZE)).build();
  }

  /** A first dump each time: a new job, nothing to deduplicate against. */
  @Benchmark
  public CheckpointInfo dump() throws Exception {
    try (Checkpointer c = checkpointer("dump-" + job++)) {
      return c.checkpoint();
    }
  }

  @Benchmark
  public CheckpointInfo restore() throws Exception {
    try (Checkpointer c = checkpointer("restore")) {
      return c.restoreLatest();
    }
  }
}
