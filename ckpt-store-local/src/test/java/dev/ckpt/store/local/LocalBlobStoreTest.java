package dev.ckpt.store.local;

import dev.ckpt.spi.BlobStore;
import dev.ckpt.store.tck.BlobStoreContract;
import java.net.URI;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

class LocalBlobStoreTest extends BlobStoreContract {
  @TempDir
  Path dir;

  @Override
  protected BlobStore newStore() throws Exception {
    return new LocalStoreProvider().open(URI.create(dir.toUri() + "store?create=true"));
  }
}
