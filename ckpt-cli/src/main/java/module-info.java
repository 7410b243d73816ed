/** The {@code ckpt} command. */
module dev.ckpt.cli {
  requires dev.ckpt;
  requires info.picocli;

  exports dev.ckpt.cli;

  opens dev.ckpt.cli to info.picocli;
}
