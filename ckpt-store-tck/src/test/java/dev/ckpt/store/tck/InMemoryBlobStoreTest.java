package dev.ckpt.store.tck;

import dev.ckpt.spi.BlobStore;

class InMemoryBlobStoreTest extends BlobStoreContract {
  @Override
  protected BlobStore newStore() {
    return new InMemoryBlobStore();
  }
}
