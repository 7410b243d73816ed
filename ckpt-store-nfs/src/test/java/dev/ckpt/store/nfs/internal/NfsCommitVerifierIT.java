package dev.ckpt.store.nfs.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ckpt.StoreException;
import dev.ckpt.store.nfs.GaneshaServer;
import dev.ckpt.store.nfs.internal.rpc.Nfs3Client;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The server restarts after a blob's UNSTABLE writes and before their COMMIT, so the COMMIT
 * answers with a new write verifier: the data may be gone. A buffer is written again; a stream,
 * which cannot be replayed, fails the put and leaves nothing behind.
 */
class NfsCommitVerifierIT {
  @RegisterExtension
  static final GaneshaServer NFS = new GaneshaServer();

  /** Commits seen per path; the server is restarted before the first commit of a path named so. */
  private final Map<String, Integer> commits = new ConcurrentHashMap<>();

  private NfsBlobStore open(URI uri) throws Exception {
    Nfs3Client.Mounted m = Nfs3Client.mount("127.0.0.1", 0, uri.getPath(), 0, 0, Duration.ofSeconds(10),
        Duration.ofSeconds(90), 2);
    DirectFiles files = DirectFiles.open(m, uri.toString(), true, path -> {
      int seen = commits.merge(path, 1, Integer::sum);
      if (seen == 1 && path.contains("restart-before-commit")) {
        NFS.stop();
        try {
          // Ganesha's write verifier is its start time in seconds: make sure it moves on.
          Thread.sleep(1100);
          NFS.start();
        } catch (Exception e) {
          throw new IOException("restarting NFS-Ganesha failed: " + e, e);
        }
      }
    });
    return NfsStores.over(uri, files, new NfsBlobStore.Options(6, Duration.ofSeconds(60), Duration.ofMinutes(1), 10,
        Duration.ofMillis(100), Clock.systemUTC()));
  }

  private static byte[] content(long seed, int size) {
    byte[] b = new byte[size];
    new Random(seed).nextBytes(b);
    return b;
  }

  private Path serverSide(URI uri) {
    return NFS.exportDir().resolve(uri.getPath().substring("/export/".length()));
  }

  @Test
  void restartBetweenWritesAndCommit_buffer_isWrittenAgainAndStoredWhole() throws Exception {
    URI uri = NFS.freshUri();
    byte[] data = content(7, 3 << 20);
    try (NfsBlobStore store = open(uri)) {
      store.put("job/restart-before-commit", ByteBuffer.wrap(data));
      List<String> temps = commits.keySet().stream().filter(p -> p.contains("restart-before-commit")).toList();
      assertEquals(1, temps.size(), "one temp file: " + commits);
      assertEquals(2, commits.get(temps.get(0)),
          "the COMMIT after the restart returned a new verifier, so the data went out a second time");
      assertArrayEquals(data, Files.readAllBytes(serverSide(uri).resolve("job/restart-before-commit")),
          "the server holds the whole blob");
      ByteBuffer back = ByteBuffer.allocate(data.length);
      assertEquals(data.length, store.read("job/restart-before-commit", 0, back));
      assertArrayEquals(data, back.array());
    }
  }

  @Test
  void restartBetweenWritesAndCommit_stream_failsThePutAndLeavesNothing() throws Exception {
    URI uri = NFS.freshUri();
    byte[] data = content(8, 3 << 20);
    try (NfsBlobStore store = open(uri)) {
      StoreException e = assertThrows(StoreException.class,
          () -> store.put("job/restart-before-commit", new ByteArrayInputStream(data), data.length));
      assertTrue(e.getMessage().contains("job/restart-before-commit") && e.getMessage().contains("lost unstable data")
          && e.getMessage().contains("nothing was stored"), e.getMessage());
      assertFalse(store.stat("job/restart-before-commit").isPresent(), "no blob under the key");
      try (Stream<Path> left = Files.list(serverSide(uri).resolve("job"))) {
        assertEquals(List.of(), left.toList(), "the temp file is removed");
      }
      // The store works on after the restart.
      store.put("job/after-the-restart", ByteBuffer.wrap(data));
      assertArrayEquals(data, Files.readAllBytes(serverSide(uri).resolve("job/after-the-restart")));
    }
  }
}
