package dev.ckpt.store.nfs;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * A TCP proxy on 127.0.0.1 in front of the NFS server's port that understands just enough ONC
 * RPC to lose the reply to a chosen NFSv3 LINK: the call reaches the server and is carried out,
 * the reply is read and dropped, and the client's connection is reset. That is what a network
 * failure after the server acted looks like to the client. Other calls pass through unchanged;
 * each connection carries one call at a time, as the store's RPC client makes them.
 */
final class RpcReplyLosingProxy implements AutoCloseable {
  private static final int NFS_PROGRAM = 100003;
  private static final int LINK = 15;
  private static final int MAX_RECORD = 80 << 20;

  private final ServerSocket server;
  private final int upstreamPort;
  private final ExecutorService pool = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "rpc-proxy");
    t.setDaemon(true);
    return t;
  });
  private volatile Predicate<String> linkNames = n -> false;
  private final AtomicInteger budget = new AtomicInteger();
  private final AtomicInteger lost = new AtomicInteger();

  RpcReplyLosingProxy(int upstreamPort) throws IOException {
    this.upstreamPort = upstreamPort;
    this.server = new ServerSocket(0, 64, InetAddress.getLoopbackAddress());
    pool.execute(this::acceptLoop);
  }

  int port() {
    return server.getLocalPort();
  }

  /** Loses the replies to the next {@code times} LINK calls whose new name matches. */
  void loseLinkReplies(Predicate<String> newName, int times) {
    this.linkNames = newName;
    this.budget.set(times);
  }

  /** Stops losing replies. */
  void heal() {
    budget.set(0);
  }

  int lostReplies() {
    return lost.get();
  }

  private void acceptLoop() {
    while (!server.isClosed()) {
      try {
        Socket client = server.accept();
        pool.execute(() -> serve(client));
      } catch (IOException e) {
        return; // closed
      }
    }
  }

  private void serve(Socket client) {
    try (client; Socket upstream = new Socket(InetAddress.getLoopbackAddress(), upstreamPort)) {
      client.setTcpNoDelay(true);
      upstream.setTcpNoDelay(true);
      DataInputStream fromClient = new DataInputStream(new java.io.BufferedInputStream(client.getInputStream()));
      DataInputStream fromServer = new DataInputStream(new java.io.BufferedInputStream(upstream.getInputStream()));
      OutputStream toServer = upstream.getOutputStream();
      OutputStream toClient = client.getOutputStream();
      while (true) {
        byte[] call = readRecord(fromClient);
        if (call == null) {
          return;
        }
        boolean lose = isLosingLink(call);
        toServer.write(call);
        toServer.flush();
        byte[] reply = readRecord(fromServer);
        if (reply == null) {
          return;
        }
        if (lose) {
          lost.incrementAndGet();
          client.setSoLinger(true, 0);
          return;
        }
        toClient.write(reply);
        toClient.flush();
      }
    } catch (IOException e) {
      // either side went away; the client's RPC layer sees a broken connection and decides
    }
  }

  private boolean isLosingLink(byte[] record) {
    ByteBuffer b = ByteBuffer.wrap(record);
    try {
      b.getInt(); // record mark of the first fragment; a call's header fits in it
      b.getInt(); // xid
      if (b.getInt() != 0 || b.getInt() != 2) {
        return false; // not an RPC version 2 call
      }
      int program = b.getInt();
      b.getInt(); // program version
      int procedure = b.getInt();
      if (program != NFS_PROGRAM || procedure != LINK) {
        return false;
      }
      skipOpaqueAuth(b); // credentials
      skipOpaqueAuth(b); // verifier
      skipOpaque(b); // the file
      skipOpaque(b); // the directory of the new name
      int length = b.getInt();
      byte[] name = new byte[length];
      b.get(name);
      return linkNames.test(new String(name, StandardCharsets.UTF_8)) && budget.getAndDecrement() > 0;
    } catch (RuntimeException malformed) {
      return false;
    }
  }

  private static void skipOpaqueAuth(ByteBuffer b) {
    b.getInt(); // flavor
    skipOpaque(b);
  }

  private static void skipOpaque(ByteBuffer b) {
    int length = b.getInt();
    b.position(b.position() + ((length + 3) & ~3));
  }

  /** One whole record, fragment marks included, or null at a clean end of stream. */
  private static byte[] readRecord(DataInputStream in) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    boolean last = false;
    while (!last) {
      int mark;
      try {
        mark = in.readInt();
      } catch (EOFException e) {
        if (out.size() == 0) {
          return null;
        }
        throw e;
      }
      last = (mark & 0x80000000) != 0;
      int length = mark & 0x7fffffff;
      if (out.size() + length > MAX_RECORD) {
        throw new IOException("RPC record over " + MAX_RECORD + " bytes");
      }
      byte[] fragment = new byte[length];
      in.readFully(fragment);
      out.write(ByteBuffer.allocate(4).putInt(mark).array());
      out.write(fragment);
    }
    return out.toByteArray();
  }

  @Override
  public void close() throws IOException {
    server.close();
    pool.shutdownNow();
  }
}
