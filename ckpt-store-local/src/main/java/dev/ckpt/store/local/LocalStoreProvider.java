package dev.ckpt.store.local;

import dev.ckpt.StoreConfigurationException;
import dev.ckpt.spi.BlobStore;
import dev.ckpt.spi.StoreOptions;
import dev.ckpt.spi.StoreProvider;
import dev.ckpt.store.local.internal.LocalBlobStore;
import java.net.URI;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Set;

/**
 * Opens stores on a local directory: {@code file:///var/lib/ckpt}. The directory must exist,
 * unless the URI says {@code ?create=true}. Blobs are files (mode 0600) under directories
 * (mode 0700), published by write, fsync, rename and directory fsync.
 */
public final class LocalStoreProvider implements StoreProvider {

  @Override
  public String scheme() {
    return "file";
  }

  @Override
  public BlobStore open(URI uri) throws StoreConfigurationException {
    if (uri.getAuthority() != null && !uri.getAuthority().isEmpty() && !"localhost".equals(uri.getAuthority())) {
      throw new StoreConfigurationException("store URI '" + uri + "' names host '" + uri.getAuthority()
          + "'; a file: store is local: use file:///absolute/path");
    }
    String path = uri.getPath();
    if (path == null || path.isEmpty() || !path.startsWith("/")) {
      throw new StoreConfigurationException("store URI '" + uri + "' has no absolute path; use file:///absolute/path");
    }
    Path root = StoreOptions.parse(uri, Set.of("create")).directory(Paths.get(path), "create it");
    return new LocalBlobStore(uri, root);
  }
}
