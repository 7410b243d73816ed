/** An NFS-safe checkpoint store for {@code nfs:} URIs: on a mounted path, or NFSv3 spoken from Java. */
module dev.ckpt.store.nfs {
  requires dev.ckpt;
  requires org.slf4j;

  exports dev.ckpt.store.nfs;

  provides dev.ckpt.spi.StoreProvider with dev.ckpt.store.nfs.NfsStoreProvider;
}
