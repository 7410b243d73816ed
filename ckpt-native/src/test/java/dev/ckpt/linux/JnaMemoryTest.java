package dev.ckpt.linux;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.sun.jna.Memory;
import dev.ckpt.Checkpointer;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JnaMemoryTest {
  @TempDir
  Path dir;

  /** JNA memory registered through JnaMemory is checkpointed and written back in place. */
  @Test
  void jnaMemorySegment_isRestoredInPlace() throws Exception {
    int size = 3 * (1 << 20) + 123;
    Memory memory = new Memory(size);
    byte[] expected = new byte[size];
    new Random(5).nextBytes(expected);
    java.util.Arrays.fill(expected, 1 << 20, 2 << 20, (byte) 0); // a zero run, which restore must clear too
    memory.write(0, expected, 0, size);
    try (Checkpointer ckpt = Checkpointer.builder().store(dir.toUri()).job("jna")
        .registerSegment("m", JnaMemory.of(memory, size)).build()) {
      ckpt.checkpoint();
      memory.setMemory(0, size, (byte) 0x7f);
      ckpt.restoreLatest();
    }
    assertArrayEquals(expected, memory.getByteArray(0, size));
  }

  @Test
  void sliceOutsideTheMemory_isRefused() {
    JnaMemory m = JnaMemory.of(new Memory(4096), 4096);
    assertThrows(IndexOutOfBoundsException.class, () -> m.slice(4000, 200));
    assertThrows(IllegalArgumentException.class, () -> JnaMemory.of(new Memory(8), -1));
  }
}
