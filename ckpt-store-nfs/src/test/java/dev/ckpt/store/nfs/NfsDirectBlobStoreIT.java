package dev.ckpt.store.nfs;

import dev.ckpt.spi.BlobStore;
import dev.ckpt.store.tck.BlobStoreContract;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The store TCK in direct mode: NFSv3 spoken from Java to a real NFS-Ganesha. */
class NfsDirectBlobStoreIT extends BlobStoreContract {
  @RegisterExtension
  static final GaneshaServer NFS = new GaneshaServer();

  @Override
  protected BlobStore newStore() throws Exception {
    return new NfsStoreProvider().open(NFS.freshUri());
  }
}
