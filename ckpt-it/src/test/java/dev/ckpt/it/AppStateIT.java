package dev.ckpt.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.jna.Memory;
import dev.ckpt.CheckpointException;
import dev.ckpt.CheckpointHook;
import dev.ckpt.CheckpointInfo;
import dev.ckpt.CheckpointNotFoundException;
import dev.ckpt.Checkpointable;
import dev.ckpt.Checkpointer;
import dev.ckpt.Retention;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AppStateIT {
  @TempDir
  Path dir;

  /** A Kryo-friendly state class with a no-arg constructor. */
  static final class Model {
    String name;
    long step;
    double[] weights;
    HashMap<String, Long> counters = new HashMap<>();
  }

  static final class ModelHolder implements Checkpointable<Model> {
    Model model = new Model();
    final List<String> events;

    ModelHolder(List<String> events) {
      this.events = events;
    }

    @Override
    public Model captureState() {
      return model;
    }

    @Override
    public void restoreState(Model state) {
      model = state;
    }

    @Override
    public void beforeCheckpoint() {
      events.add("model.before");
    }

    @Override
    public void afterCheckpoint(boolean committed) {
      events.add("model.after:" + committed);
    }

    @Override
    public void afterRestore(CheckpointInfo restored) {
      events.add("model.restored:" + restored.id());
    }
  }

  private URI store() {
    return URI.create(dir.toUri() + "store?create=true");
  }

  private Checkpointer.Builder builder(ModelHolder holder, ByteBuffer buffer, Memory native0, List<String> events) {
    return Checkpointer.builder()
        .store(store())
        .job("sim")
        .register("model", holder)
        .registerSegment("grid", buffer)
        .registerSegment("native", dev.ckpt.linux.JnaMemory.of(native0, native0.size()))
        .kryoClasses(Model.class, double[].class, HashMap.class)
        .hook(new CheckpointHook() {
          @Override
          public void beforeCheckpoint() {
            events.add("hook.before");
          }

          @Override
          public void afterCheckpoint(boolean committed) {
            events.add("hook.after:" + committed);
          }
        });
  }

  @Test
  void checkpoint_thenRestoreIntoFreshState_givesBackObjectsAndSegments() throws Exception {
    List<String> events = new ArrayList<>();
    ModelHolder holder = new ModelHolder(events);
    holder.model.name = "heat-equation";
    holder.model.step = 42;
    holder.model.weights = new Random(1).doubles(1000).toArray();
    holder.model.counters.put("iterations", 7L);
    ByteBuffer grid = ByteBuffer.allocateDirect(3 << 20);
    byte[] gridBytes = new byte[grid.capacity()];
    new Random(2).nextBytes(gridBytes);
    grid.put(gridBytes).position(17); // position must not matter
    Memory nat = new Memory(1 << 20);
    nat.clear();
    nat.setString(4096, "native text");

    CheckpointInfo info;
    try (Checkpointer ckpt = builder(holder, grid, nat, events).build()) {
      info = ckpt.checkpoint();
    }
    assertEquals(1, info.id());
    assertEquals(List.of("model.before", "hook.before", "hook.after:true", "model.after:true"), events);

    List<String> events2 = new ArrayList<>();
    ModelHolder fresh = new ModelHolder(events2);
    ByteBuffer grid2 = ByteBuffer.allocateDirect(3 << 20);
    Memory nat2 = new Memory(1 << 20);
    nat2.setMemory(0, nat2.size(), (byte) 0x55); // old content must be cleared where the image has zeros
    try (Checkpointer ckpt = builder(fresh, grid2, nat2, events2).build()) {
      CheckpointInfo restored = ckpt.restoreLatest();
      assertEquals(info.id(), restored.id());
    }
    assertEquals("heat-equation", fresh.model.name);
    assertEquals(42, fresh.model.step);
    assertArrayEquals(holder.model.weights, fresh.model.weights);
    assertEquals(7L, fresh.model.counters.get("iterations"));
    byte[] back = new byte[grid2.capacity()];
    grid2.get(0, back);
    assertArrayEquals(gridBytes, back);
    assertArrayEquals(nat.getByteArray(0, (int) nat.size()), nat2.getByteArray(0, (int) nat2.size()));
    assertEquals(List.of("model.restored:1"), events2);
  }

  @Test
  void secondCheckpoint_afterSmallChange_storesOnlyTheChange() throws Exception {
    ByteBuffer grid = ByteBuffer.allocateDirect(32 << 20);
    byte[] data = new byte[grid.capacity()];
    new Random(3).nextBytes(data);
    grid.put(0, data);
    try (Checkpointer ckpt = Checkpointer.builder().store(store()).job("inc").registerSegment("grid", grid).build()) {
      CheckpointInfo first = ckpt.checkpoint();
      byte[] change = new byte[256 << 10];
      new Random(4).nextBytes(change);
      grid.put(8 << 20, change); // 0.8% of the bytes, in one place
      CheckpointInfo second = ckpt.checkpoint();
      assertEquals(first.id(), second.parentId());
      assertTrue(second.newStoredBytes() < first.newStoredBytes() * 0.03,
          "second stored " + second.newStoredBytes() + " of first " + first.newStoredBytes());
      assertTrue(second.dedupRatio() > 0.95, "dedup ratio " + second.dedupRatio());
    }
  }

  @Test
  void restore_clearsOldContentWhereTheImageHasZeros_andLeavesZeroMemoryUntouched() throws Exception {
    ByteBuffer image = ByteBuffer.allocateDirect(2 << 20);
    byte[] island = new byte[10];
    new Random(9).nextBytes(island);
    image.put(1 << 20, island);
    try (Checkpointer ckpt = Checkpointer.builder().store(store()).job("islands").registerSegment("s", image).build()) {
      ckpt.checkpoint();
    }
    ByteBuffer old = ByteBuffer.allocateDirect(2 << 20);
    for (int i = 0; i < old.capacity(); i++) {
      // Old content everywhere but a stretch that is zero already, and one stray byte inside a zero run.
      old.put(i, i >= (512 << 10) && i < (768 << 10) && i != (600 << 10) ? 0 : (byte) 0x55);
    }
    try (Checkpointer ckpt = Checkpointer.builder().store(store()).job("islands").registerSegment("s", old).build()) {
      ckpt.restoreLatest();
    }
    assertEquals(-1, old.mismatch(image), "the restored segment equals the image byte for byte");
  }

  @Test
  void zeroSegments_areNotStored() throws Exception {
    ByteBuffer zeros = ByteBuffer.allocateDirect(64 << 20);
    try (Checkpointer ckpt = Checkpointer.builder().store(store()).job("zero").registerSegment("z", zeros).build()) {
      CheckpointInfo info = ckpt.checkpoint();
      assertEquals(64 << 20, info.logicalBytes());
      assertEquals(0, info.newChunks());
      assertTrue(info.newStoredBytes() < 4096, "stored " + info.newStoredBytes());
    }
  }

  @Test
  void retention_keepsExactlyTheLastN_andRestoreStillWorks() throws Exception {
    ByteBuffer grid = ByteBuffer.allocateDirect(1 << 20);
    try (Checkpointer ckpt = Checkpointer.builder().store(store()).job("ret").registerSegment("g", grid)
        .retention(Retention.keepLast(3)).build()) {
      for (int i = 0; i < 7; i++) {
        byte[] b = new byte[grid.capacity()];
        new Random(i).nextBytes(b);
        grid.put(0, b);
        ckpt.checkpoint();
      }
      List<CheckpointInfo> left = ckpt.store().checkpoints("ret");
      assertEquals(List.of(5L, 6L, 7L), left.stream().map(CheckpointInfo::id).toList());
      byte[] expected = new byte[grid.capacity()];
      new Random(6).nextBytes(expected);
      grid.put(0, new byte[grid.capacity()]);
      ckpt.restoreLatest();
      byte[] actual = new byte[grid.capacity()];
      grid.get(0, actual);
      assertArrayEquals(expected, actual);
      assertTrue(ckpt.store().verify("ret", 5).ok());
    }
  }

  @Test
  void unregisteredKryoClass_failsTheCheckpointNamingTheClass() throws Exception {
    ModelHolder holder = new ModelHolder(new ArrayList<>());
    holder.model.weights = new double[1];
    try (Checkpointer ckpt = Checkpointer.builder().store(store()).job("kryo").register("model", holder)
        .kryoClasses(Model.class).build()) {
      CheckpointException e = assertThrows(CheckpointException.class, ckpt::checkpoint);
      assertTrue(e.getMessage().contains("model") && e.getMessage().contains("not registered"), e.getMessage());
      assertTrue(ckpt.latest().isEmpty(), "nothing committed");
    }
  }

  @Test
  void restoreWithOtherKryoRegistrations_isRefusedBeforeTouchingState() throws Exception {
    ModelHolder holder = new ModelHolder(new ArrayList<>());
    holder.model.weights = new double[] {1, 2};
    try (Checkpointer ckpt = Checkpointer.builder().store(store()).job("kreg").register("model", holder)
        .kryoClasses(Model.class, double[].class, HashMap.class).build()) {
      ckpt.checkpoint();
    }
    ModelHolder other = new ModelHolder(new ArrayList<>());
    Model before = other.model;
    try (Checkpointer ckpt = Checkpointer.builder().store(store()).job("kreg").register("model", other)
        .kryoClasses(HashMap.class, Model.class, double[].class).build()) {
      CheckpointException e = assertThrows(CheckpointException.class, ckpt::restoreLatest);
      assertTrue(e.getMessage().contains("Kryo registrations"), e.getMessage());
    }
    assertTrue(other.model == before, "state untouched");
  }

  @Test
  void restoreOfMissingStateOrWrongSize_namesThePart() throws Exception {
    ByteBuffer g = ByteBuffer.allocateDirect(4096);
    try (Checkpointer ckpt = Checkpointer.builder().store(store()).job("shape").registerSegment("g", g).build()) {
      ckpt.checkpoint();
    }
    try (Checkpointer ckpt = Checkpointer.builder().store(store()).job("shape")
        .registerSegment("g", ByteBuffer.allocateDirect(8192)).build()) {
      CheckpointException e = assertThrows(CheckpointException.class, ckpt::restoreLatest);
      assertTrue(e.getMessage().contains("'g'") && e.getMessage().contains("4096") && e.getMessage().contains("8192"), e.getMessage());
    }
    try (Checkpointer ckpt = Checkpointer.builder().store(store()).job("shape")
        .registerSegment("h", ByteBuffer.allocateDirect(4096)).build()) {
      CheckpointNotFoundException e = assertThrows(CheckpointNotFoundException.class, ckpt::restoreLatest);
      assertTrue(e.getMessage().contains("'h'"), e.getMessage());
    }
    try (Checkpointer ckpt = Checkpointer.builder().store(store()).job("never").registerSegment("g", g).build()) {
      CheckpointNotFoundException e = assertThrows(CheckpointNotFoundException.class, ckpt::restoreLatest);
      assertTrue(e.getMessage().contains("never"), e.getMessage());
    }
  }

  @Test
  void failingBeforeHook_abortsCheckpoint_andAfterHooksSeeNotCommitted() throws Exception {
    List<String> events = new ArrayList<>();
    try (Checkpointer ckpt = Checkpointer.builder().store(store()).job("hooks")
        .registerSegment("g", ByteBuffer.allocateDirect(4096))
        .hook(new CheckpointHook() {
          @Override
          public void afterCheckpoint(boolean committed) {
            events.add("first.after:" + committed);
          }
        })
        .hook(new CheckpointHook() {
          @Override
          public void beforeCheckpoint() {
            throw new IllegalStateException("not quiescent");
          }
        }).build()) {
      CheckpointException e = assertThrows(CheckpointException.class, ckpt::checkpoint);
      assertTrue(e.getMessage().contains("not quiescent"), e.getMessage());
      assertEquals(List.of("first.after:false"), events);
      assertTrue(ckpt.latest().isEmpty());
    }
  }

  /** A state class not registered with Kryo: a CheckpointException, and every after-hook still runs. */
  @Test
  void unregisteredStateClass_isACheckpointException_andAfterHooksStillRun() throws Exception {
    List<String> events = new ArrayList<>();
    ModelHolder holder = new ModelHolder(events);
    holder.model.counters = null;
    try (Checkpointer ckpt = Checkpointer.builder().store(store()).job("unregistered").register("model", holder)
        .kryoClasses(double[].class).build()) {
      CheckpointException e = assertThrows(CheckpointException.class, ckpt::checkpoint);
      assertTrue(e.getMessage().contains("Model") && e.getMessage().contains("kryoClasses"), e.getMessage());
      assertTrue(ckpt.latest().isEmpty(), "nothing committed");
    }
    assertEquals(List.of("model.before", "model.after:false"), events);
  }

  @Test
  void useAfterClose_isAnIllegalStateExceptionSayingSo() throws Exception {
    Checkpointer ckpt = Checkpointer.builder().store(store()).job("closed").registerSegment("s", ByteBuffer.allocateDirect(64))
        .build();
    ckpt.close();
    IllegalStateException e = assertThrows(IllegalStateException.class, ckpt::checkpoint);
    assertEquals("this Checkpointer (job closed) is closed", e.getMessage());
    assertThrows(IllegalStateException.class, ckpt::restoreLatest);
  }

  /**
   * State written by one shape of a class and read by another (here a serializer that expects one
   * more field) is a StateSchemaException naming the state and its class, not corruption; and the
   * segments are not touched, because objects are read back first.
   */
  @Test
  void changedStateClass_isAStateSchemaException_andNoSegmentIsTouched() throws Exception {
    ModelHolder holder = new ModelHolder(new ArrayList<>());
    holder.model.name = "v1";
    ByteBuffer grid = ByteBuffer.allocateDirect(1 << 16);
    grid.put(0, (byte) 1);
    try (Checkpointer ckpt = Checkpointer.builder().store(store()).job("schema").register("model", holder)
        .registerSegment("grid", grid).kryoClasses(Model.class, double[].class, HashMap.class).build()) {
      ckpt.checkpoint();
    }
    ByteBuffer live = ByteBuffer.allocateDirect(1 << 16);
    live.put(0, (byte) 99);
    ModelHolder v2 = new ModelHolder(new ArrayList<>());
    try (Checkpointer ckpt = Checkpointer.builder().store(store()).job("schema").register("model", v2)
        .registerSegment("grid", live).kryoClasses(Model.class, double[].class, HashMap.class)
        .kryoConfig(k -> k.register(Model.class, new com.esotericsoftware.kryo.serializers.FieldSerializer<Model>(k, Model.class) {
          @Override
          public Model read(com.esotericsoftware.kryo.Kryo kryo, com.esotericsoftware.kryo.io.Input in, Class<? extends Model> type) {
            Model m = super.read(kryo, in, type);
            in.readLong(); // a field the written shape did not have
            return m;
          }
        })).build()) {
      dev.ckpt.StateSchemaException e = assertThrows(dev.ckpt.StateSchemaException.class, ckpt::restoreLatest);
      assertTrue(e.getMessage().contains("state 'model'") && e.getMessage().contains(Model.class.getName()), e.getMessage());
    }
    assertEquals(99, live.get(0), "the segment was left as it was");
  }

  /**
   * Schema evolution with Kryo's CompatibleFieldSerializer, set up through kryoConfig: state
   * written while a class had fewer fields restores into the class with more (the new field
   * keeps its default), and state written with more restores into fewer (the old field is
   * skipped). Here the two shapes are one class seen through serializers that leave a field out.
   */
  @Test
  void compatibleFieldSerializer_addingAndRemovingAField_restores() throws Exception {
    java.util.function.Function<String, java.util.function.Consumer<com.esotericsoftware.kryo.Kryo>> without = field -> k -> {
      com.esotericsoftware.kryo.serializers.CompatibleFieldSerializer<Model> ser =
          new com.esotericsoftware.kryo.serializers.CompatibleFieldSerializer<>(k, Model.class);
      if (field != null) {
        ser.removeField(field);
      }
      k.register(Model.class, ser);
    };
    // Written without 'step' (an older class), read with it (the newer one): step keeps its default.
    ModelHolder old = new ModelHolder(new ArrayList<>());
    old.model.name = "older";
    old.model.step = 7;
    try (Checkpointer c = Checkpointer.builder().store(store()).job("added").register("model", old)
        .kryoClasses(Model.class, double[].class, HashMap.class).kryoConfig(without.apply("step")).build()) {
      c.checkpoint();
    }
    ModelHolder newer = new ModelHolder(new ArrayList<>());
    try (Checkpointer c = Checkpointer.builder().store(store()).job("added").register("model", newer)
        .kryoClasses(Model.class, double[].class, HashMap.class).kryoConfig(without.apply(null)).build()) {
      c.restoreLatest();
    }
    assertEquals("older", newer.model.name);
    assertEquals(0, newer.model.step, "a field the checkpoint did not have keeps its default");

    // Written with 'step', read without it (the field was removed): the rest restores.
    ModelHolder full = new ModelHolder(new ArrayList<>());
    full.model.name = "full";
    full.model.step = 9;
    try (Checkpointer c = Checkpointer.builder().store(store()).job("removed").register("model", full)
        .kryoClasses(Model.class, double[].class, HashMap.class).kryoConfig(without.apply(null)).build()) {
      c.checkpoint();
    }
    ModelHolder fewer = new ModelHolder(new ArrayList<>());
    try (Checkpointer c = Checkpointer.builder().store(store()).job("removed").register("model", fewer)
        .kryoClasses(Model.class, double[].class, HashMap.class).kryoConfig(without.apply("step")).build()) {
      c.restoreLatest();
    }
    assertEquals("full", fewer.model.name);
    assertEquals(0, fewer.model.step, "a field the class no longer reads is skipped");
  }
}
