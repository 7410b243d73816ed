package dev.ckpt.store.nfs;

import dev.ckpt.CheckpointException;
import dev.ckpt.spi.BlobStore;
import dev.ckpt.spi.StoreProvider;
import dev.ckpt.store.nfs.internal.NfsStores;
import java.net.URI;
import java.time.Clock;
import java.util.Objects;

/**
 * Opens NFS-safe stores. {@code nfs:///mnt/share/ckpt} uses a path where NFS is mounted;
 * {@code nfs://host/export/path} speaks NFSv3 over TCP from Java, for containers with no mount.
 * Options and the protocol are in the module README.
 */
public final class NfsStoreProvider implements StoreProvider {
  private final Clock clock;

  /** The provider {@code ServiceLoader} uses, on the system clock. */
  public NfsStoreProvider() {
    this(Clock.systemUTC());
  }

  /**
   * A provider whose lock leases and temporary-file ages follow {@code clock}.
   *
   * @param clock the clock the stores it opens use
   */
  public NfsStoreProvider(Clock clock) {
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  @Override
  public String scheme() {
    return "nfs";
  }

  @Override
  public BlobStore open(URI uri) throws CheckpointException {
    return NfsStores.open(uri, clock);
  }
}
