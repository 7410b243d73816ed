/** The {@code ckpt} command. */
module dev.ckpt.cli {
  requires dev.ckpt;
  requires dev.ckpt.linux;
  requires info.picocli;
  requires jdk.unsupported;

  exports dev.ckpt.cli;

  opens dev.ckpt.cli to info.picocli;
}
