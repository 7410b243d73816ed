/**
 * Checkpoint and restore of native Linux x86-64 processes with ptrace:
 * {@link dev.ckpt.linux.NativeCheckpointer}.
 */
module dev.ckpt.linux {
  requires transitive dev.ckpt;
  requires transitive com.sun.jna; // JnaMemory takes a Pointer
  requires org.slf4j;

  exports dev.ckpt.linux;

  opens dev.ckpt.linux.internal.jna to com.sun.jna;
}
