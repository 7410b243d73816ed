package dev.ckpt.store.nfs.internal.rpc;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;

/**
 * One ONC RPC (RFC 5531) connection over TCP with record marking, AUTH_SYS credentials and one
 * call at a time. A transport failure closes it; {@link RpcClient} then opens another.
 */
final class RpcConnection implements AutoCloseable {
  private static final int MAX_REPLY = 64 << 20;

  private final Socket socket;
  private final DataInputStream in;
  private final OutputStream out;
  private final byte[] credentials;
  private int xid;

  RpcConnection(InetSocketAddress address, int timeoutMillis, byte[] credentials, int firstXid) throws IOException {
    this.socket = new Socket();
    try {
      socket.connect(address, timeoutMillis);
      socket.setSoTimeout(timeoutMillis);
      socket.setTcpNoDelay(true);
      socket.setSendBufferSize(4 << 20);
      socket.setReceiveBufferSize(4 << 20);
    } catch (IOException e) {
      socket.close();
      throw e;
    }
    this.in = new DataInputStream(new java.io.BufferedInputStream(socket.getInputStream(), 1 << 16));
    this.out = socket.getOutputStream();
    this.credentials = credentials;
    this.xid = firstXid;
  }

  /**
   * Sends one call and returns a decoder positioned at the procedure's results.
   *
   * @throws IOException on any transport failure (the connection is then unusable)
   * @throws RpcException if the server refused the call itself
   */
  Xdr call(int program, int version, int procedure, ByteBuffer args) throws IOException, RpcException {
    int id = ++xid;
    Xdr h = Xdr.encoder(128 + credentials.length);
    h.u32(0); // record mark, filled in below
    h.u32(id).u32(0).u32(2).u32(program).u32(version).u32(procedure);
    h.u32(1).opaque(credentials); // AUTH_SYS
    h.u32(0).u32(0); // verifier AUTH_NONE
    ByteBuffer head = h.encoded();
    int length = head.remaining() - 4 + args.remaining();
    head.putInt(0, 0x80000000 | length);
    out.write(head.array(), head.arrayOffset(), head.remaining());
    if (args.hasArray()) {
      out.write(args.array(), args.arrayOffset() + args.position(), args.remaining());
    } else {
      byte[] copy = new byte[args.remaining()];
      args.duplicate().get(copy);
      out.write(copy);
    }
    out.flush();
    while (true) {
      // A fresh array per reply: the caller decodes it after this connection serves other calls.
      byte[][] holder = new byte[1][];
      int n = readRecord(holder);
      Xdr r = Xdr.decoder(holder[0], n);
      int replyXid = r.u32();
      if (replyXid != id) {
        continue; // the answer to an earlier call that timed out
      }
      if (r.u32() != 1) {
        throw new IOException("RPC reply xid " + id + " is not a REPLY");
      }
      int replyStat = r.u32();
      if (replyStat != 0) {
        int reject = r.u32();
        throw new RpcException(program, procedure, reject == 1
            ? "authentication refused (auth_stat " + r.u32() + ")" : "RPC version mismatch");
      }
      r.u32(); // verifier flavor
      r.opaque(400);
      int accept = r.u32();
      if (accept != 0) {
        throw new RpcException(program, procedure, switch (accept) {
          case 1 -> "program " + program + " unavailable";
          case 2 -> "program " + program + " version " + version + " unavailable";
          case 3 -> "procedure " + procedure + " unavailable";
          case 4 -> "server could not decode the arguments";
          default -> "system error (accept_stat " + accept + ")";
        });
      }
      return r;
    }
  }

  private int readRecord(byte[][] holder) throws IOException {
    byte[] reply = null;
    int total = 0;
    boolean last = false;
    while (!last) {
      int mark = in.readInt();
      last = (mark & 0x80000000) != 0;
      int len = mark & 0x7fffffff;
      if (total + len > MAX_REPLY) {
        throw new IOException("RPC reply larger than " + MAX_REPLY + " bytes");
      }
      if (reply == null) {
        reply = new byte[len];
      } else if (reply.length < total + len) {
        reply = java.util.Arrays.copyOf(reply, Math.max(reply.length * 2, total + len));
      }
      readFully(in, reply, total, len);
      total += len;
    }
    holder[0] = reply == null ? new byte[0] : reply;
    return total;
  }

  private static void readFully(InputStream in, byte[] b, int off, int len) throws IOException {
    while (len > 0) {
      int n = in.read(b, off, len);
      if (n < 0) {
        throw new java.io.EOFException("server closed the connection");
      }
      off += n;
      len -= n;
    }
  }

  @Override
  public void close() {
    try {
      socket.close();
    } catch (IOException ignored) {
      // closing a broken socket
    }
  }
}
