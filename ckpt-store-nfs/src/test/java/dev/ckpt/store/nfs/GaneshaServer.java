package dev.ckpt.store.nfs;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A real NFS server for tests: NFS-Ganesha (Debian's nfs-ganesha with the VFS backend) exporting
 * a temporary directory over NFSv3/TCP as {@code /export}, inside the network namespace that
 * {@code src/test/netns/bin/java} made for this JVM, where rpcbind already runs.
 */
public final class GaneshaServer implements BeforeAllCallback, AfterAllCallback {
  private static final String CONFIG = String.join("\n",
      "NFS_CORE_PARAM {",
      "  NFS_Port = 2049; MNT_Port = 20048; Enable_NLM = false; Enable_RQUOTA = false; Enable_UDP = false;",
      "  Protocols = 3, 4; mount_path_pseudo = true;",
      "}",
      "NFSV4 { Graceless = true; Lease_Lifetime = 10; RecoveryRoot = @RECOVERY@; }",
      "EXPORT_DEFAULTS { Attr_Expiration_Time = 0; Access_Type = RW; Squash = No_Root_Squash; SecType = sys; }",
      "EXPORT {",
      "  Export_Id = 1; Path = @EXPORT@; Pseudo = /export; Protocols = 3, 4; Transports = TCP;",
      "  Access_Type = RW; Squash = No_Root_Squash; FSAL { Name = VFS; }",
      "}",
      "NFS_KRB5 { Active_krb5 = false; }",
      "MDCACHE { Dir_Chunk = 0; }",
      "LOG { Default_Log_Level = EVENT; }",
      "");

  private final AtomicInteger stores = new AtomicInteger();
  private Path dir;
  private Path export;
  private Process process;
  /** The size of a second export on a tmpfs of its own (for a full disk), or 0 for none. */
  private final int smallExportMib;
  private dev.ckpt.store.tck.SmallFileSystem small;

  public GaneshaServer() {
    this(0);
  }

  private GaneshaServer(int smallExportMib) {
    this.smallExportMib = smallExportMib;
  }

  /** A server that also exports {@code /small}: a tmpfs of {@code mib} MiB, which fills up. */
  public static GaneshaServer withSmallExport(int mib) {
    return new GaneshaServer(mib);
  }

  @Override
  public void beforeAll(ExtensionContext context) throws Exception {
    String netnsError = System.getenv("CKPT_NETNS_ERROR");
    if (netnsError != null) {
      fail("the NFS server cannot run: " + netnsError);
    }
    if (System.getenv("CKPT_NETNS") == null) {
      fail("not inside the test network namespace: run these tests through Maven (mvn verify), whose failsafe "
          + "starts the JVM with ckpt-store-nfs/src/test/netns/bin/java");
    }
    for (String bin : new String[] {"/usr/bin/ganesha.nfsd", "/usr/sbin/rpcbind"}) {
      if (!Files.isExecutable(Paths.get(bin))) {
        fail(bin + " is missing: install the Debian packages nfs-ganesha, nfs-ganesha-vfs and rpcbind "
            + "(./scripts/test does)");
      }
    }
    Path base = Paths.get(System.getProperty("ckpt.nfs.workDir", System.getProperty("java.io.tmpdir")));
    Files.createDirectories(base);
    dir = Files.createTempDirectory(base, "ganesha-");
    export = Files.createDirectories(dir.resolve("export"));
    Files.createDirectories(dir.resolve("recovery"));
    String config = CONFIG.replace("@EXPORT@", export.toString()).replace("@RECOVERY@", dir.resolve("recovery").toString());
    if (smallExportMib > 0) {
      small = dev.ckpt.store.tck.SmallFileSystem.mount(dir.resolve("small"), smallExportMib);
      config += String.join("\n", "EXPORT {",
          "  Export_Id = 2; Path = " + small.dir() + "; Pseudo = /small; Protocols = 3, 4; Transports = TCP;",
          "  Access_Type = RW; Squash = No_Root_Squash; FSAL { Name = VFS; }",
          "}", "");
    }
    Files.writeString(dir.resolve("ganesha.conf"), config);
    start();
  }

  @Override
  public void afterAll(ExtensionContext context) throws Exception {
    stop();
    if (small != null) {
      small.close();
      small = null;
    }
  }

  /** A direct-mode store URI on a fresh directory of the small export ({@link #withSmallExport}). */
  public URI freshSmallUri(String... options) {
    StringBuilder s = new StringBuilder("nfs://127.0.0.1/small/s" + stores.incrementAndGet() + "?create=true");
    for (String o : options) {
      s.append('&').append(o);
    }
    return URI.create(s.toString());
  }

  /** Starts the server and waits until a client can mount the export. */
  public void start() throws Exception {
    Path log = dir.resolve("ganesha.log");
    process = new ProcessBuilder("/usr/bin/ganesha.nfsd", "-F", "-f", dir.resolve("ganesha.conf").toString(),
        "-L", log.toString(), "-p", dir.resolve("ganesha.pid").toString())
        .redirectErrorStream(true).redirectOutput(dir.resolve("ganesha.out").toFile()).start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    Exception last = null;
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        fail("NFS-Ganesha exited with " + process.exitValue() + "; its log:\n" + tail(log));
      }
      try (var m = dev.ckpt.store.nfs.internal.rpc.Nfs3Client.mount("127.0.0.1", 0, "/export", 0, 0,
          Duration.ofSeconds(2), Duration.ofSeconds(1), 1).client()) {
        return;
      } catch (Exception e) {
        last = e;
        Thread.sleep(200);
      }
    }
    stop();
    fail("NFS-Ganesha did not serve /export within 60 s (" + last + "); its log:\n" + tail(log));
  }

  /** Stops the server the way an admin restart does (SIGTERM), or by force after 15 s. */
  public void stop() {
    if (process == null) {
      return;
    }
    process.destroy();
    try {
      if (!process.waitFor(15, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    process = null;
  }

  private static String tail(Path log) {
    try {
      String s = Files.readString(log);
      return s.length() > 4000 ? s.substring(s.length() - 4000) : s;
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  /** The exported directory on the server's side, for checking what a test left there. */
  public Path exportDir() {
    return export;
  }

  /** A direct-mode store URI on a fresh directory of the export, with extra options. */
  public URI freshUri(String... options) {
    StringBuilder s = new StringBuilder("nfs://127.0.0.1/export/s" + stores.incrementAndGet() + "?create=true");
    for (String o : options) {
      s.append('&').append(o);
    }
    return URI.create(s.toString());
  }
}
