/**
 * The contract every {@link dev.ckpt.spi.BlobStore} must meet, as an abstract JUnit 5 test,
 * plus an in-memory store and a fault-injecting forwarding store to reuse in tests.
 */
module dev.ckpt.store.tck {
  requires transitive dev.ckpt;
  requires transitive org.junit.jupiter.api;
  requires transitive org.junit.jupiter.params;

  exports dev.ckpt.store.tck;

  opens dev.ckpt.store.tck to org.junit.platform.commons;
}
