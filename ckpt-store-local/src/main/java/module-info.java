/** A checkpoint store on a local directory, for {@code file:} URIs. */
module dev.ckpt.store.local {
  requires dev.ckpt;

  exports dev.ckpt.store.local;

  provides dev.ckpt.spi.StoreProvider with dev.ckpt.store.local.LocalStoreProvider;
}
