package dev.ckpt.store.s3;

import dev.ckpt.spi.BlobStore;
import dev.ckpt.store.tck.BlobStoreContract;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The store TCK against a real S3 server, with 5 MiB parts so that large blobs go multipart. */
class S3BlobStoreIT extends BlobStoreContract {
  @RegisterExtension
  static final S3ProxyServer S3 = new S3ProxyServer();

  @BeforeAll
  static void bucket() {
    S3.createBucket("tck");
  }

  @Override
  protected BlobStore newStore() throws Exception {
    return new S3StoreProvider().open(S3.uri("tck", "partSize=5MiB"));
  }
}
