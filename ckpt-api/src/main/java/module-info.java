/**
 * ckpt's public API: {@link dev.ckpt.Checkpointer} for application state,
 * {@link dev.ckpt.CheckpointStore} for the image engine, and the store SPI in
 * {@code dev.ckpt.spi}.
 */
module dev.ckpt {
  requires transitive com.esotericsoftware.kryo;
  requires org.lz4.java;
  requires org.slf4j;
  requires java.management;
  requires jdk.jfr;
  requires jdk.unsupported;

  exports dev.ckpt;
  exports dev.ckpt.spi;

  uses dev.ckpt.spi.StoreProvider;
}
