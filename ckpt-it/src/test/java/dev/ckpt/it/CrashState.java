package dev.ckpt.it;

import dev.ckpt.Checkpointable;
import dev.ckpt.Checkpointer;
import java.net.URI;
import java.nio.ByteBuffer;
import java.util.SplittableRandom;
import java.util.zip.CRC32C;

/**
 * State whose every byte is a function of one counter, so any restored checkpoint can be checked
 * completely: region {@code c % REGIONS} of the segment holds the bytes of step {@code c}.
 */
final class CrashState {
  static final int REGION = 1 << 20;
  static final int REGIONS = 6;

  static final class Counter {
    long value;
    long crc;
  }

  final ByteBuffer segment = ByteBuffer.allocateDirect(REGION * REGIONS);
  Counter counter = new Counter();

  final Checkpointable<Counter> holder = new Checkpointable<>() {
    @Override
    public Counter captureState() {
      return counter;
    }

    @Override
    public void restoreState(Counter s) {
      counter = s;
    }
  };

  static Checkpointer.Builder builder(URI store, CrashState state) {
    return Checkpointer.builder().store(store).job("crash").register("counter", state.holder)
        .registerSegment("segment", state.segment).kryoClasses(Counter.class);
  }

  static void fill(byte[] region, long step) {
    SplittableRandom r = new SplittableRandom(step);
    // Half random, half a repeated text line: both codecs get exercised.
    for (int i = 0; i < region.length / 2; i += 8) {
      long v = r.nextLong();
      for (int k = 0; k < 8; k++) {
        region[i + k] = (byte) (v >>> (8 * k));
      }
    }
    byte[] line = ("step " + step + " of the crash test\n").getBytes();
    for (int i = region.length / 2; i < region.length; i++) {
      region[i] = line[i % line.length];
    }
  }

  void step() {
    counter.value++;
    byte[] region = new byte[REGION];
    fill(region, counter.value);
    segment.put((int) (counter.value % REGIONS) * REGION, region);
    counter.crc = crc();
  }

  long crc() {
    CRC32C c = new CRC32C();
    c.update(segment.duplicate().clear());
    return c.getValue();
  }

  /** Throws unless the segment is exactly what steps 1..counter produce. */
  void verify() {
    byte[] expected = new byte[REGION];
    byte[] actual = new byte[REGION];
    for (int r = 0; r < REGIONS; r++) {
      long last = counter.value - Math.floorMod(counter.value - r, REGIONS);
      if (last >= 1) {
        fill(expected, last);
      } else {
        java.util.Arrays.fill(expected, (byte) 0);
      }
      segment.get(r * REGION, actual);
      if (!java.util.Arrays.equals(expected, actual)) {
        throw new IllegalStateException("region " + r + " does not hold step " + last + " at counter " + counter.value);
      }
    }
    if (crc() != counter.crc) {
      throw new IllegalStateException("segment CRC does not match the one saved with counter " + counter.value);
    }
  }
}
