package dev.ckpt.linux;

import java.net.URI;

/** Restores a job in a JVM of its own, for the migration test: args store-uri job; exits with the process's code. */
public final class RestoreMain {
  private RestoreMain() {}

  public static void main(String[] args) throws Exception {
    try (NativeCheckpointer ckpt = NativeCheckpointer.builder().store(URI.create(args[0])).job(args[1]).build()) {
      RestoredProcess p = ckpt.restore(args[1], Stdio.inherit());
      System.out.println("restored pid " + p.pid() + " from " + p.restoredFrom().ref());
      System.exit(p.waitFor());
    }
  }
}
