package dev.ckpt.linux;

import java.net.URI;

/**
 * Run as another user by {@link OtherUserIT}: tries to attach to the pid given and prints the
 * error. Exits 0 only if the attach was refused with EPERM.
 */
public final class AttachAsOtherUserMain {
  private AttachAsOtherUserMain() {}

  public static void main(String[] args) throws Exception {
    try (NativeCheckpointer ckpt = NativeCheckpointer.builder().store(URI.create(args[1])).job("other").build()) {
      ckpt.attach(Integer.parseInt(args[0]));
      System.out.println("attach unexpectedly succeeded");
      System.exit(1);
    } catch (ProcessException e) {
      System.out.println("refused: " + e.getMessage());
      System.exit(e.errno() == 1 && e.getMessage().contains("EPERM") ? 0 : 2);
    }
  }
}
