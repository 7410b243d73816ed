package dev.ckpt.store.nfs.internal;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ckpt.spi.BlobStore;
import dev.ckpt.store.tck.BlobStoreContract;
import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * The store TCK in mounted mode on a local directory that fails like NFS: one operation in 7
 * gets ESTALE, one in 11 EIO, directory fsync is always refused and removed files leave
 * {@code .nfsXXXX} copies behind. (Delayed listings are tested on their own: the TCK asks that
 * a completed put be listed at once, which NFS with attribute caching does not promise.)
 */
class NfsMountedBlobStoreTest extends BlobStoreContract {
  @TempDir
  Path dir;
  private FaultyFiles faulty;

  @Override
  protected BlobStore newStore() {
    faulty = new FaultyFiles(dir, 7, 11, 0);
    return NfsStores.over(URI.create("nfs://" + dir), faulty, new NfsBlobStore.Options(8, Duration.ofSeconds(30),
        Duration.ofSeconds(30), 10, Duration.ofMillis(10), Clock.systemUTC()));
  }

  private static final AtomicInteger STALE = new AtomicInteger();
  private static final AtomicInteger EIO = new AtomicInteger();
  private static final AtomicInteger SYNCS = new AtomicInteger();

  @AfterEach
  void countFaults() {
    if (faulty != null) {
      STALE.addAndGet(faulty.injectedStale.get());
      EIO.addAndGet(faulty.injectedEio.get());
      SYNCS.addAndGet(faulty.refusedDirectorySyncs.get());
    }
  }

  @AfterAll
  static void everyKindOfFaultWasMet() {
    assertTrue(STALE.get() > 20, "ESTALE injected " + STALE.get() + " times");
    assertTrue(EIO.get() > 20, "EIO injected " + EIO.get() + " times");
    assertTrue(SYNCS.get() > 20, "directory fsync refused " + SYNCS.get() + " times");
  }
}
