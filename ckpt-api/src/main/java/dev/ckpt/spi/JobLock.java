package dev.ckpt.spi;

import dev.ckpt.StoreException;

/**
 * The exclusive right to write one job's next checkpoint, from {@link BlobStore#lockJob}. The
 * engine holds it from {@code newImage} until commit or abort. It is an optimisation for stores
 * shared between hosts (no two writers upload packs for the same job at once); correctness never
 * rests on it, since a manifest is still committed with {@link BlobStore#putIfAbsent}.
 */
public interface JobLock extends AutoCloseable {
  /** A lock that excludes nothing, for stores that need none. */
  JobLock NONE = () -> { };

  /** Gives the lock up. */
  @Override
  void close() throws StoreException;
}
