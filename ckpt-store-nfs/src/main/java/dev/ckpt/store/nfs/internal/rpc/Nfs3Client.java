package dev.ckpt.store.nfs.internal.rpc;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Semaphore;

/**
 * An NFSv3 (RFC 1813) client over TCP, with the MOUNT protocol and the portmapper: the handful of
 * procedures a checkpoint store needs. Calls run on a small pool of connections. Transport
 * failures (a reset, a timeout, a restarting server) and {@code NFS3ERR_JUKEBOX} are retried with
 * backoff until {@code retryFor} has passed; a retried call that is not idempotent (CREATE,
 * REMOVE, RENAME, LINK) reports so through {@link NfsStatusException#retransmitted()}.
 */
public final class Nfs3Client implements AutoCloseable {
  private static final int PORTMAP = 100000;
  private static final int MOUNT = 100005;
  private static final int NFS = 100003;

  /** A file handle: opaque bytes, compared by content. */
  public record Fh(byte[] bytes) {
    @Override
    public boolean equals(Object o) {
      return o instanceof Fh f && Arrays.equals(bytes, f.bytes);
    }

    @Override
    public int hashCode() {
      return Arrays.hashCode(bytes);
    }

    @Override
    public String toString() {
      return "Fh[" + bytes.length + " bytes]";
    }
  }

  /** The attributes the store uses. {@code type} 1 is a regular file, 2 a directory. */
  public record Attr(int type, int mode, long nlink, long size, long fileid, long mtimeMillis) {
    public boolean isDirectory() {
      return type == 2;
    }
  }

  /** A directory entry, with its attributes and handle where the server sent them. */
  public record Entry(String name, long fileid, Attr attr, Fh fh) {}

  /** A handle and its attributes. */
  public record Node(Fh fh, Attr attr) {}

  private final String host;
  private final InetSocketAddress nfsAddress;
  private final byte[] credentials;
  private final int timeoutMillis;
  private final long retryNanos;
  private final Semaphore permits;
  private final ArrayDeque<RpcConnection> idle = new ArrayDeque<>();
  private final Fh root;
  private final int rtmax;
  private final int wtmax;
  private int nextXid = (int) System.nanoTime();
  private volatile boolean closed;

  private Nfs3Client(String host, InetSocketAddress nfsAddress, byte[] credentials, int timeoutMillis,
      Duration retryFor, int connections, Fh root) throws IOException, NfsStatusException {
    this.host = host;
    this.nfsAddress = nfsAddress;
    this.credentials = credentials;
    this.timeoutMillis = timeoutMillis;
    this.retryNanos = retryFor.toNanos();
    this.permits = new Semaphore(connections);
    this.root = root;
    Xdr r = nfs(19, "FSINFO", "/", false, fh(root));
    postOpAttr(r);
    int rt = r.u32();
    r.u32();
    r.u32();
    int wt = r.u32();
    this.rtmax = clamp(rt);
    this.wtmax = clamp(wt);
  }

  private static int clamp(int v) {
    return v <= 0 ? 1 << 20 : Math.min(v, 1 << 20);
  }

  /**
   * Asks the portmapper on {@code host} where MOUNT and NFS listen, mounts the export that is
   * the longest prefix of {@code path}, and returns a client plus the rest of the path.
   */
  public static Mounted mount(String host, int nfsPort, String path, int uid, int gid, Duration timeout,
      Duration retryFor, int connections) throws IOException, RpcException, NfsStatusException {
    byte[] cred = authSys(uid, gid);
    int t = (int) timeout.toMillis();
    int mountPort = getPort(host, MOUNT, 3, cred, t);
    int port = nfsPort > 0 ? nfsPort : getPort(host, NFS, 3, cred, t);
    String export;
    Fh rootFh;
    try (RpcConnection c = new RpcConnection(new InetSocketAddress(host, mountPort), t, cred, 1)) {
      List<String> exports = new ArrayList<>();
      Xdr r = c.call(MOUNT, 3, 5, ByteBuffer.allocate(0));
      while (r.bool()) {
        exports.add(r.string(1024));
        while (r.bool()) {
          r.string(1024);
        }
      }
      export = exports.stream()
          .filter(e -> path.equals(e) || path.startsWith(e.endsWith("/") ? e : e + "/"))
          .max((a, b) -> Integer.compare(a.length(), b.length()))
          .orElseThrow(() -> new IOException("no export of " + host + " contains " + path + "; exports: " + exports));
      Xdr args = Xdr.encoder(64).string(export);
      r = c.call(MOUNT, 3, 1, args.encoded());
      int status = r.u32();
      if (status != 0) {
        throw new NfsStatusException("MNT", export, status, false);
      }
      rootFh = new Fh(r.opaque(64));
    }
    Nfs3Client client = new Nfs3Client(host, new InetSocketAddress(host, port), cred, t, retryFor, connections, rootFh);
    String rest = path.substring(export.length());
    return new Mounted(client, export, rest.startsWith("/") ? rest.substring(1) : rest);
  }

  /** A mounted client and the path below the export's root. */
  public record Mounted(Nfs3Client client, String export, String subPath) {}

  private static int getPort(String host, int program, int version, byte[] cred, int t)
      throws IOException, RpcException {
    try (RpcConnection c = new RpcConnection(new InetSocketAddress(host, 111), t, cred, 1)) {
      Xdr args = Xdr.encoder(16).u32(program).u32(version).u32(6).u32(0);
      int port = c.call(PORTMAP, 2, 3, args.encoded()).u32();
      if (port == 0) {
        throw new IOException("the portmapper on " + host + ":111 knows no program " + program + " version "
            + version + " over TCP");
      }
      return port;
    }
  }

  private static byte[] authSys(int uid, int gid) {
    String machine = "ckpt";
    try {
      machine = java.net.InetAddress.getLocalHost().getHostName();
    } catch (IOException ignored) {
      // any name will do; the server does not check it
    }
    if (machine.length() > 255) {
      machine = machine.substring(0, 255);
    }
    Xdr x = Xdr.encoder(64).u32((int) (System.currentTimeMillis() / 1000)).string(machine).u32(uid).u32(gid).u32(0);
    ByteBuffer b = x.encoded();
    return Arrays.copyOfRange(b.array(), 0, b.limit());
  }

  public Fh root() {
    return root;
  }

  /** Largest READ the server accepts, at most 1 MiB. */
  public int readSize() {
    return rtmax;
  }

  /** Largest WRITE the server accepts, at most 1 MiB. */
  public int writeSize() {
    return wtmax;
  }

  public String server() {
    return host + ":" + nfsAddress.getPort();
  }

  // ---- procedures

  public Attr getattr(Fh fh, String name) throws IOException, NfsStatusException {
    return fattr(nfs(1, "GETATTR", name, false, fh(fh)));
  }

  public Optional<Node> lookup(Fh dir, String name) throws IOException, NfsStatusException {
    try {
      Xdr r = nfs(3, "LOOKUP", name, false, dirop(dir, name));
      Fh fh = new Fh(r.opaque(64));
      Attr a = postOpAttr(r);
      return Optional.of(new Node(fh, a));
    } catch (NfsStatusException e) {
      if (e.status() == NfsStatusException.NOENT) {
        return Optional.empty();
      }
      throw e;
    }
  }

  /** Reads up to {@code count} bytes at {@code offset} into {@code dst}; returns how many (0 at end of file). */
  public int read(Fh fh, String name, long offset, byte[] dst, int off, int count) throws IOException, NfsStatusException {
    Xdr args = fh(fh).u64(offset).u32(count);
    Xdr r = nfs(6, "READ", name, false, args);
    postOpAttr(r);
    r.u32();
    r.bool();
    return r.opaqueInto(dst, off, count);
  }

  /** An UNSTABLE (or FILE_SYNC) write; returns the server's write verifier. */
  public long write(Fh fh, String name, long offset, byte[] data, int off, int len, boolean stable)
      throws IOException, NfsStatusException {
    Xdr args = Xdr.encoder(len + 128);
    args.opaque(fh.bytes()).u64(offset).u32(len).u32(stable ? 2 : 0).opaque(data, off, len);
    Xdr r = nfs(7, "WRITE", name, false, args);
    wcc(r);
    int count = r.u32();
    r.u32();
    long verf = r.u64();
    if (count != len) {
      throw new IOException("WRITE " + name + " at " + offset + ": server wrote " + count + " of " + len + " bytes");
    }
    return verf;
  }

  /** Makes every UNSTABLE write to {@code fh} durable; returns the verifier to compare with the writes'. */
  public long commit(Fh fh, String name) throws IOException, NfsStatusException {
    Xdr r = nfs(21, "COMMIT", name, false, fh(fh).u64(0).u32(0));
    wcc(r);
    return r.u64();
  }

  /** CREATE with mode {@code mode}: GUARDED fails with EXIST if the name exists, UNCHECKED truncates. */
  public Node create(Fh dir, String name, int mode, boolean guarded) throws IOException, NfsStatusException {
    Xdr args = dirop(dir, name).u32(guarded ? 1 : 0);
    sattr(args, mode, true);
    Xdr r = nfs(8, "CREATE", name, true, args);
    return createResult(dir, name, r);
  }

  public Node mkdir(Fh dir, String name, int mode) throws IOException, NfsStatusException {
    Xdr args = dirop(dir, name);
    sattr(args, mode, false);
    Xdr r = nfs(9, "MKDIR", name, true, args);
    return createResult(dir, name, r);
  }

  private Node createResult(Fh dir, String name, Xdr r) throws IOException, NfsStatusException {
    Fh fh = r.bool() ? new Fh(r.opaque(64)) : null;
    Attr a = postOpAttr(r);
    if (fh == null || a == null) {
      return lookup(dir, name).orElseThrow(() -> new IOException("created " + name + " but cannot look it up"));
    }
    return new Node(fh, a);
  }

  public void remove(Fh dir, String name) throws IOException, NfsStatusException {
    nfs(12, "REMOVE", name, true, dirop(dir, name));
  }

  public void rmdir(Fh dir, String name) throws IOException, NfsStatusException {
    nfs(13, "RMDIR", name, true, dirop(dir, name));
  }

  public void rename(Fh fromDir, String from, Fh toDir, String to) throws IOException, NfsStatusException {
    Xdr args = dirop(fromDir, from).opaque(toDir.bytes()).string(to);
    nfs(14, "RENAME", from + " -> " + to, true, args);
  }

  public void link(Fh file, Fh dir, String name) throws IOException, NfsStatusException {
    Xdr args = fh(file).opaque(dir.bytes()).string(name);
    nfs(15, "LINK", name, true, args);
  }

  /** Every entry of a directory but . and .., with attributes and handles (READDIRPLUS). */
  public List<Entry> readdir(Fh dir, String name) throws IOException, NfsStatusException {
    List<Entry> out = new ArrayList<>();
    long cookie = 0;
    byte[] verf = new byte[8];
    while (true) {
      Xdr args = fh(dir).u64(cookie).fixed(verf, 0, 8).u32(64 << 10).u32(256 << 10);
      Xdr r = nfs(17, "READDIRPLUS", name, false, args);
      postOpAttr(r);
      verf = r.fixed(8);
      while (r.bool()) {
        long fileid = r.u64();
        String n = r.string(1024);
        cookie = r.u64();
        Attr a = postOpAttr(r);
        Fh fh = r.bool() ? new Fh(r.opaque(64)) : null;
        if (!n.equals(".") && !n.equals("..")) {
          out.add(new Entry(n, fileid, a, fh));
        }
      }
      if (r.bool()) {
        return out;
      }
    }
  }

  // ---- encoding helpers

  private static Xdr fh(Fh fh) {
    return Xdr.encoder(256).opaque(fh.bytes());
  }

  private static Xdr dirop(Fh dir, String name) {
    return fh(dir).string(name);
  }

  private static void sattr(Xdr x, int mode, boolean serverTimes) {
    x.bool(true).u32(mode); // mode
    x.bool(false); // uid
    x.bool(false); // gid
    x.bool(false); // size
    x.u32(serverTimes ? 1 : 0); // atime
    x.u32(serverTimes ? 1 : 0); // mtime
  }

  private static Attr fattr(Xdr r) {
    int type = r.u32();
    int mode = r.u32();
    long nlink = r.u32() & 0xffffffffL;
    r.u32();
    r.u32();
    long size = r.u64();
    r.u64();
    r.u64();
    r.u64();
    long fileid = r.u64();
    r.u64();
    long mtimeSec = r.u32() & 0xffffffffL;
    long mtimeNsec = r.u32() & 0xffffffffL;
    r.u64();
    return new Attr(type, mode, nlink, size, fileid, mtimeSec * 1000 + mtimeNsec / 1_000_000);
  }

  private static Attr postOpAttr(Xdr r) {
    return r.bool() ? fattr(r) : null;
  }

  private static void wcc(Xdr r) {
    if (r.bool()) {
      r.skip(24);
    }
    postOpAttr(r);
  }

  // ---- transport with retries

  private Xdr nfs(int proc, String op, String name, boolean nonIdempotent, Xdr args)
      throws IOException, NfsStatusException {
    long deadline = System.nanoTime() + retryNanos;
    long pause = 50;
    int attempts = 0;
    IOException last = null;
    while (true) {
      if (closed) {
        throw new IOException("NFS client for " + server() + " is closed");
      }
      attempts++;
      try {
        Xdr r = call(proc, args.encoded());
        int status = r.u32();
        if (status == 0) {
          return r;
        }
        if (status == NfsStatusException.JUKEBOX && System.nanoTime() < deadline) {
          sleep(pause);
          pause = Math.min(pause * 2, 2000);
          continue;
        }
        throw new NfsStatusException(op, name, status, nonIdempotent && attempts > 1);
      } catch (IOException e) {
        last = e;
      } catch (RpcException e) {
        throw new IOException(op + " " + name + " on " + server() + ": " + e.getMessage(), e);
      } catch (Xdr.XdrException e) {
        throw new IOException(op + " " + name + " on " + server() + ": malformed reply: " + e.getMessage(), e);
      }
      if (System.nanoTime() >= deadline) {
        throw new IOException(op + " " + name + ": NFS server " + server() + " did not answer for "
            + Duration.ofNanos(retryNanos).toSeconds() + " s (" + attempts + " attempts): " + last, last);
      }
      sleep(pause);
      pause = Math.min(pause * 2, 2000);
    }
  }

  private Xdr call(int proc, ByteBuffer args) throws IOException, RpcException {
    try {
      permits.acquire();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("interrupted waiting for an NFS connection");
    }
    RpcConnection c = null;
    try {
      synchronized (idle) {
        c = idle.poll();
      }
      if (c == null) {
        int xid;
        synchronized (idle) {
          xid = nextXid += 1 << 20;
        }
        c = new RpcConnection(nfsAddress, timeoutMillis, credentials, xid);
      }
      Xdr r = c.call(NFS, 3, proc, args);
      synchronized (idle) {
        idle.push(c);
      }
      c = null;
      return r;
    } finally {
      if (c != null) {
        c.close();
      }
      permits.release();
    }
  }

  private static void sleep(long millis) throws IOException {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("interrupted while retrying");
    }
  }

  @Override
  public void close() {
    closed = true;
    synchronized (idle) {
      for (RpcConnection c : idle) {
        c.close();
      }
      idle.clear();
    }
  }
}
