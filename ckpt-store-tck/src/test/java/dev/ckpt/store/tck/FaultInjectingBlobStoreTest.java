package dev.ckpt.store.tck;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ckpt.StoreException;
import dev.ckpt.store.tck.FaultInjectingBlobStore.Fault;
import dev.ckpt.store.tck.FaultInjectingBlobStore.Op;
import java.io.InputStream;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class FaultInjectingBlobStoreTest {
  private final InMemoryBlobStore memory = new InMemoryBlobStore();
  private final FaultInjectingBlobStore faulty = new FaultInjectingBlobStore(memory);

  private byte[] read(String key) throws Exception {
    try (InputStream in = memory.get(key)) {
      return in.readAllBytes();
    }
  }

  @Test
  void fail_throwsBeforeTheDelegateActs() throws Exception {
    faulty.fail(Op.PUT_IF_ABSENT, k -> true, "disk full", 1);
    StoreException e = assertThrows(StoreException.class, () -> faulty.putIfAbsent("m/1", new byte[] {1}));
    assertTrue(e.getMessage().contains("disk full"), e.getMessage());
    assertEquals(Optional.empty(), memory.stat("m/1"));
    assertTrue(faulty.putIfAbsent("m/1", new byte[] {1}), "one time only");
  }

  @Test
  void applyThenThrow_letsTheWriteLand_andLosesItsAnswer() throws Exception {
    faulty.inject(Op.PUT_IF_ABSENT, Fault.APPLY_THEN_THROW, k -> k.startsWith("m/"), "reset", 1);
    faulty.inject(Op.PUT, Fault.APPLY_THEN_THROW, k -> true, "reset", 1);
    faulty.inject(Op.DELETE, Fault.APPLY_THEN_THROW, k -> true, "reset", 1);
    StoreException e = assertThrows(StoreException.class, () -> faulty.putIfAbsent("m/1", new byte[] {7}));
    assertTrue(e.getMessage().contains("after it was applied"), e.getMessage());
    assertArrayEquals(new byte[] {7}, read("m/1"));
    assertThrows(StoreException.class, () -> faulty.put("p/1", new byte[] {8}));
    assertArrayEquals(new byte[] {8}, read("p/1"));
    assertThrows(StoreException.class, () -> faulty.delete("p/1"));
    assertEquals(Optional.empty(), memory.stat("p/1"));
    assertEquals(3, faulty.injectedFailures());
  }

  @Test
  void applyThenWrongAnswer_answersTheOppositeOfWhatHappened() throws Exception {
    faulty.inject(Op.PUT_IF_ABSENT, Fault.APPLY_THEN_WRONG_ANSWER, k -> true, "unused", 1);
    faulty.inject(Op.DELETE, Fault.APPLY_THEN_WRONG_ANSWER, k -> true, "unused", 1);
    assertFalse(faulty.putIfAbsent("m/1", new byte[] {7}), "created, but says it was taken");
    assertArrayEquals(new byte[] {7}, read("m/1"));
    assertFalse(faulty.delete("m/1"), "deleted, but says nothing was there");
    assertEquals(Optional.empty(), memory.stat("m/1"));
    assertTrue(faulty.putIfAbsent("m/1", new byte[] {9}), "rules are used up");
  }

  @Test
  void faultsThatCannotApply_areRefused() {
    assertThrows(IllegalArgumentException.class, () -> faulty.inject(Op.GET, Fault.APPLY_THEN_THROW, k -> true, "x", 1));
    assertThrows(IllegalArgumentException.class, () -> faulty.inject(Op.PUT, Fault.APPLY_THEN_WRONG_ANSWER, k -> true,
        "x", 1));
    assertThrows(IllegalArgumentException.class, () -> faulty.inject(Op.PUT, Fault.FAIL, k -> true, "x", 0));
  }
}
