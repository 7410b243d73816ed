package dev.ckpt.spi;

import dev.ckpt.CheckpointException;
import java.net.URI;

/**
 * Opens {@link BlobStore}s for one URI scheme. Implementations are found with
 * {@link java.util.ServiceLoader}: list the class in
 * {@code META-INF/services/dev.ckpt.spi.StoreProvider} (and {@code provides} it in
 * {@code module-info}). Two providers for one scheme is a configuration error.
 */
public interface StoreProvider {

  /**
   * The URI scheme served, lower case, for example {@code "file"}.
   *
   * @return the scheme, without the colon
   */
  String scheme();

  /**
   * Opens the store at {@code uri}, whose scheme is {@link #scheme()}.
   *
   * @param uri the store's URI, options included
   * @return the open store, which the caller closes
   * @throws dev.ckpt.StoreConfigurationException if the URI is malformed or names no store
   */
  BlobStore open(URI uri) throws CheckpointException;
}
