package dev.ckpt.store.nfs.internal.rpc;

/** The server refused an RPC call outright (program, version, procedure or credentials). */
public final class RpcException extends Exception {
  private static final long serialVersionUID = 1L;

  RpcException(int program, int procedure, String message) {
    super("RPC program " + program + " procedure " + procedure + ": " + message);
  }
}
