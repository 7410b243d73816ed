package dev.ckpt.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ckpt.CheckpointInfo;
import dev.ckpt.CheckpointStore;
import dev.ckpt.CommitConflictException;
import dev.ckpt.CommitUnknownException;
import dev.ckpt.ImageReader;
import dev.ckpt.ImageWriter;
import dev.ckpt.PartOutput;
import dev.ckpt.StoreException;
import dev.ckpt.VerifyResult;
import dev.ckpt.spi.BlobStore;
import dev.ckpt.store.local.LocalStoreProvider;
import dev.ckpt.store.tck.FaultInjectingBlobStore;
import dev.ckpt.store.tck.FaultInjectingBlobStore.Fault;
import dev.ckpt.store.tck.FaultInjectingBlobStore.Op;
import dev.ckpt.store.tck.ForwardingBlobStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The manifest write reaches a real local store and its answer is lost (issue #13): the engine
 * reads the manifest back to learn what is true, reports that, and never deletes a pack on the
 * way.
 */
class LostCommitAnswerIT {
  private static final String JOB = "sim";
  private static final java.util.function.Predicate<String> MANIFESTS = k -> k.startsWith(JOB + "/manifests/");

  @TempDir
  Path dir;
  BlobStore local;
  FaultInjectingBlobStore faulty;
  CheckpointStore store;

  @BeforeEach
  void open() throws Exception {
    local = new LocalStoreProvider().open(dir.toUri());
    faulty = new FaultInjectingBlobStore(local);
    store = CheckpointStore.builder().blobStore(faulty).parallelism(2).build();
  }

  @AfterEach
  void close() {
    store.close();
    local.close();
  }

  private static byte[] state(long seed) {
    byte[] b = new byte[3 << 20];
    new Random(seed).nextBytes(b);
    return b;
  }

  /** Like {@code state(seed)}, a little changed: most chunks are shared with it. */
  private static byte[] changed(long seed) {
    byte[] b = state(seed);
    for (int i = 0; i < 4096; i++) {
      b[(1 << 20) + i] ^= 0x5a;
    }
    return b;
  }

  private static CheckpointInfo write(CheckpointStore s, byte[] content) throws Exception {
    try (ImageWriter w = s.newImage(JOB)) {
      try (PartOutput out = w.part("state", Map.of())) {
        out.write(content, 0, content.length);
      }
      return w.commit();
    }
  }

  private byte[] restoreLatest() throws Exception {
    try (ImageReader r = store.openLatest(JOB)) {
      return r.readBytes("state");
    }
  }

  private Set<String> packs() throws Exception {
    try (Stream<Path> s = Files.list(dir.resolve(JOB).resolve("packs"))) {
      return s.map(p -> p.getFileName().toString()).filter(n -> !n.startsWith(".")).collect(Collectors.toSet());
    }
  }

  private List<Long> ids() throws Exception {
    return store.checkpoints(JOB).stream().map(CheckpointInfo::id).toList();
  }

  private void assertWholeAndLatest(long id, byte[] content) throws Exception {
    assertEquals(id, store.latest(JOB).orElseThrow().id());
    VerifyResult v = store.verify(JOB, id);
    assertTrue(v.ok(), v.problems().toString());
    assertArrayEquals(content, restoreLatest());
  }

  @Test
  void manifestWriteThatLandsThenThrows_isReportedCommitted_andRestores() throws Exception {
    write(store, state(1));
    faulty.inject(Op.PUT_IF_ABSENT, Fault.APPLY_THEN_THROW, MANIFESTS, "Connection reset", 1);
    CheckpointInfo second = write(store, changed(1));
    assertEquals(1, faulty.injectedFailures());
    assertEquals(2, second.id());
    assertWholeAndLatest(2, changed(1));
    CheckpointInfo third = write(store, changed(1));
    assertEquals(3, third.id(), "the next checkpoint commits");
    assertEquals(0, third.newChunks(), "and deduplicates against the one whose answer was lost");
    assertWholeAndLatest(3, changed(1));
  }

  @Test
  void manifestWriteThatLandsThenAnswersFalse_isReportedCommitted_notAsAConflict() throws Exception {
    write(store, state(1));
    faulty.inject(Op.PUT_IF_ABSENT, Fault.APPLY_THEN_WRONG_ANSWER, MANIFESTS, "unused", 1);
    CheckpointInfo second = write(store, changed(1));
    assertEquals(2, second.id());
    assertWholeAndLatest(2, changed(1));
    assertEquals(3, write(store, changed(1)).id());
    assertWholeAndLatest(3, changed(1));
  }

  /**
   * A real conflict: a second engine over the same directory (another process's view) commits
   * number 2 between this writer's look at the manifests and its own create-once write.
   */
  @Test
  void manifestTakenByAnotherWriter_isAConflict_andThisWritersPacksStayForGc() throws Exception {
    write(store, state(1));
    AtomicBoolean raced = new AtomicBoolean();
    BlobStore racing = new ForwardingBlobStore(faulty) {
      @Override
      public boolean putIfAbsent(String key, byte[] data) throws StoreException {
        if (MANIFESTS.test(key) && raced.compareAndSet(false, true)) {
          try (CheckpointStore other = CheckpointStore.builder().blobStore(local).parallelism(2).build()) {
            write(other, state(9));
          } catch (Exception e) {
            throw new AssertionError("the other writer failed", e);
          }
        }
        return super.putIfAbsent(key, data);
      }
    };
    try (CheckpointStore mine = CheckpointStore.builder().blobStore(racing).parallelism(2).build()) {
      Set<String> before = packs();
      CommitConflictException e = assertThrows(CommitConflictException.class, () -> write(mine, state(2)));
      assertTrue(e.getMessage().contains(JOB + "@2") && e.getMessage().contains("another writer"), e.getMessage());
      Set<String> after = packs();
      assertTrue(after.containsAll(before), "no pack was deleted");
      assertTrue(after.size() >= before.size() + 2, "the other writer's packs and this writer's are all there: "
          + before.size() + " -> " + after.size());
    }
    assertWholeAndLatest(2, state(9));
  }

  @Test
  void manifestWriteAndItsReadBackBothFail_isReportedUnknown_andTheNextCheckpointTakesTheNextFreeNumber()
      throws Exception {
    write(store, state(1));
    Set<String> before = packs();
    faulty.inject(Op.PUT_IF_ABSENT, Fault.APPLY_THEN_THROW, MANIFESTS, "Connection reset", 1);
    faulty.fail(Op.GET, MANIFESTS, "Connection refused", 100);
    CommitUnknownException e = assertThrows(CommitUnknownException.class, () -> write(store, changed(1)));
    assertTrue(e.getMessage().contains(JOB + "@2") && e.getMessage().contains("may or may not exist"),
        e.getMessage());
    faulty.heal();
    Set<String> after = packs();
    assertTrue(after.containsAll(before) && after.size() > before.size(), "the uncertain checkpoint's packs stay");
    assertEquals(List.of(1L, 2L), ids(), "the manifest had landed");
    assertWholeAndLatest(2, changed(1));
    assertEquals(3, write(store, changed(1)).id());
    assertWholeAndLatest(3, changed(1));
  }

  @Test
  void manifestWriteThatNeverLanded_andReadBackFindsNone_failsCleanly_andTheNextTakesTheSameNumber()
      throws Exception {
    write(store, state(1));
    faulty.fail(Op.PUT_IF_ABSENT, MANIFESTS, "Connection reset", 1);
    StoreException e = assertThrows(StoreException.class, () -> write(store, changed(1)));
    assertTrue(e.getMessage().contains("Connection reset") && e.getMessage().contains(JOB + "@2"), e.getMessage());
    assertEquals(List.of(1L), ids());
    assertWholeAndLatest(1, state(1));
    assertEquals(2, write(store, changed(1)).id());
    assertWholeAndLatest(2, changed(1));
  }

  @Test
  void everyCheckpointAfterLostAnswers_survivesRetentionAndGc() throws Exception {
    CheckpointStore collecting = CheckpointStore.builder().blobStore(faulty).parallelism(2)
        .gcGracePeriod(Duration.ZERO).build();
    try (collecting) {
      write(collecting, state(1));
      for (int i = 0; i < 4; i++) {
        faulty.inject(Op.PUT_IF_ABSENT, i % 2 == 0 ? Fault.APPLY_THEN_THROW : Fault.APPLY_THEN_WRONG_ANSWER, MANIFESTS,
            "Connection reset", 1);
        assertEquals(i + 2, write(collecting, changed(1 + i)).id());
      }
      collecting.retain(JOB, dev.ckpt.Retention.keepLast(2));
      collecting.gc(JOB);
      assertEquals(List.of(4L, 5L), ids());
      assertWholeAndLatest(5, changed(4));
      assertTrue(store.verify(JOB, 4).ok());
    }
  }
}
