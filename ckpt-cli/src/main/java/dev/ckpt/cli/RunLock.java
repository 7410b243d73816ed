package dev.ckpt.cli;

import dev.ckpt.CheckpointException;
import dev.ckpt.CheckpointStore;
import dev.ckpt.NoSuchKeyException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * One {@code ckpt run} per job and store: a create-once blob {@code JOB/run.lock} naming the
 * holder (host, pid and the pid's start time). Two runs of one job would both checkpoint it and
 * race to resume it. A lock left by a ckpt that died on this host (its pid is gone, or is now
 * another process) is taken over; one held from another host is refused, naming it.
 */
final class RunLock implements AutoCloseable {
  private final CheckpointStore store;
  private final String key;
  private final String content;

  private RunLock(CheckpointStore store, String key, String content) {
    this.store = store;
    this.key = key;
    this.content = content;
  }

  static RunLock acquire(CheckpointStore store, String job) throws CheckpointException {
    String key = job + "/run.lock";
    long pid = ProcessHandle.current().pid();
    String me = host() + " " + pid + " " + startTime(pid);
    for (int attempt = 0; attempt < 3; attempt++) {
      if (store.blobs().putIfAbsent(key, me.getBytes(StandardCharsets.UTF_8))) {
        return new RunLock(store, key, me);
      }
      String holder = read(store, key);
      if (holder == null) {
        continue; // released meanwhile
      }
      String[] h = holder.trim().split(" ");
      boolean here = h.length == 3 && h[0].equals(host());
      if (here && !startTime(parse(h[1])).equals(h[2])) {
        // Its ckpt is gone (killed, crashed): the lock is stale.
        store.blobs().delete(key);
        continue;
      }
      throw new CheckpointException("job " + job + " is already run by ckpt pid " + (h.length > 1 ? h[1] : "?") + " on "
          + (h.length > 0 ? h[0] : "?") + " (lock " + key + " in " + store.uri() + "); stop that one first"
          + (here ? "" : ", or, if it is gone for good, delete the lock"));
    }
    throw new CheckpointException("job " + job + ": the lock " + key + " in " + store.uri() + " keeps changing hands");
  }

  private static long parse(String s) {
    try {
      return Long.parseLong(s);
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  private static String read(CheckpointStore store, String key) throws CheckpointException {
    try (InputStream in = store.blobs().get(key)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (NoSuchKeyException e) {
      return null;
    } catch (IOException e) {
      throw new CheckpointException("reading the lock " + key + " failed: " + e, e);
    }
  }

  private static String host() {
    try {
      return Files.readString(Path.of("/proc/sys/kernel/hostname")).trim();
    } catch (IOException e) {
      return "unknown-host";
    }
  }

  /** The pid's start time in clock ticks since boot (field 22 of /proc/PID/stat), or "gone". */
  private static String startTime(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      return f[19];
    } catch (IOException | RuntimeException e) {
      return "gone";
    }
  }

  @Override
  public void close() throws CheckpointException {
    if (content.equals(read(store, key))) {
      store.blobs().delete(key);
    }
  }
}
