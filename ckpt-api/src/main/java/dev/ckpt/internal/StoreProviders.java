package dev.ckpt.internal;

import dev.ckpt.CheckpointException;
import dev.ckpt.StoreConfigurationException;
import dev.ckpt.spi.BlobStore;
import dev.ckpt.spi.StoreProvider;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.ServiceLoader;
import java.util.TreeMap;
import java.util.stream.Collectors;

/** Finds the one {@link StoreProvider} for a URI's scheme. Looks up afresh each time: no cache. */
public final class StoreProviders {
  private StoreProviders() {}

  public static BlobStore open(URI uri, ClassLoader loader) throws CheckpointException {
    String scheme = uri.getScheme();
    if (scheme == null) {
      throw new StoreConfigurationException("store URI '" + uri + "' has no scheme; use for example file:///var/lib/ckpt");
    }
    scheme = scheme.toLowerCase(Locale.ROOT);
    TreeMap<String, List<StoreProvider>> byScheme = new TreeMap<>();
    ServiceLoader<StoreProvider> found = loader == null
        ? ServiceLoader.load(StoreProvider.class)
        : ServiceLoader.load(StoreProvider.class, loader);
    for (StoreProvider p : found) {
      byScheme.computeIfAbsent(p.scheme().toLowerCase(Locale.ROOT), s -> new ArrayList<>()).add(p);
    }
    List<StoreProvider> candidates = byScheme.get(scheme);
    if (candidates == null) {
      throw new StoreConfigurationException("no store provider for scheme '" + scheme + "' in URI '" + uri
          + "'; known schemes: " + (byScheme.isEmpty() ? "none (add ckpt-store-local or another store module)" : byScheme.keySet())
          );
    }
    if (candidates.size() > 1) {
      throw new StoreConfigurationException("two or more store providers for scheme '" + scheme + "': "
          + candidates.stream().map(p -> p.getClass().getName()).collect(Collectors.joining(", "))
          + "; remove all but one from the class path");
    }
    return candidates.get(0).open(uri);
  }
}
