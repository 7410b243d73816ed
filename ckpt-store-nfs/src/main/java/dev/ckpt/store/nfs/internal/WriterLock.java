package dev.ckpt.store.nfs.internal;

import dev.ckpt.StoreException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * A job's writer lock that works on NFSv3, where flock and fcntl locks are not reliable: a lock
 * file {@code <job>/.lock} naming its owner (host, pid, a random token) and the end of its lease,
 * published whole with the link technique (write a unique file, hard-link it to the lock name,
 * which succeeds for exactly one writer; the link count tells a lost reply from a loss). An
 * expired lock is taken over by renaming it aside, then checking that what was renamed is the
 * expired lock and not a fresh one that replaced it meanwhile.
 *
 * <p>Clocks of the hosts sharing a store must agree to well within the lease (NTP does).
 */
final class WriterLock {
  private static final String MAGIC = "ckpt-lock v1";

  /** What a lock file says. */
  record Owner(String host, long pid, String token, long expiresMillis) {
    String encode() {
      return MAGIC + "\nowner " + host + " " + pid + " " + token + "\nexpires " + expiresMillis + "\n";
    }

    static Optional<Owner> parse(byte[] b) {
      String[] lines = new String(b, StandardCharsets.UTF_8).split("\n");
      try {
        if (lines.length < 3 || !lines[0].equals(MAGIC)) {
          return Optional.empty();
        }
        String[] o = lines[1].split(" ");
        String[] e = lines[2].split(" ");
        return Optional.of(new Owner(o[1], Long.parseLong(o[2]), o[3], Long.parseLong(e[1])));
      } catch (RuntimeException malformed) {
        return Optional.empty();
      }
    }

    @Override
    public String toString() {
      return "host " + host + " pid " + pid + " (lease until " + Instant.ofEpochMilli(expiresMillis) + ")";
    }
  }

  interface Io {
    <T> T run(String op, String key, Call<T> call) throws StoreException;
  }

  interface Call<T> {
    T call() throws IOException;
  }

  private final NfsFiles files;
  private final Io io;
  private final Clock clock;
  private final Duration lease;
  private final Duration wait;
  private final String host;
  private final long pid;
  private final String where;

  WriterLock(NfsFiles files, Io io, Clock clock, Duration lease, Duration wait, String host, long pid) {
    this.files = files;
    this.io = io;
    this.clock = clock;
    this.lease = lease;
    this.wait = wait;
    this.host = host;
    this.pid = pid;
    this.where = files.describe();
  }

  static String lockPath(String job) {
    return job + "/.lock";
  }

  /** Takes the lock of {@code job}, waiting up to the configured time for a live holder. */
  Held acquire(String job) throws StoreException {
    String token = NfsBlobStore.randomToken();
    String path = lockPath(job);
    // Leases are judged on the injected clock; our own patience is measured in elapsed time.
    long deadline = System.nanoTime() + wait.toNanos();
    Owner seen = null;
    for (int round = 0; ; round++) {
      Owner me = new Owner(host, pid, token, clock.millis() + lease.toMillis());
      if (publish(path, me, round)) {
        return new Held(job, me);
      }
      Optional<byte[]> current = read(path);
      if (current.isEmpty()) {
        continue; // released between our link and our read: try again at once
      }
      Optional<Owner> holder = Owner.parse(current.get());
      long now = clock.millis();
      boolean expired = holder.map(h -> h.expiresMillis() < now).orElse(true);
      if (expired && takeOver(path, current.get(), token)) {
        continue;
      }
      seen = holder.orElse(seen);
      long left = (deadline - System.nanoTime()) / 1_000_000;
      if (left <= 0) {
        throw new StoreException(path, "store " + where + ": job " + job + " is being written by "
            + (seen == null ? "another writer" : seen) + "; gave up after waiting " + wait.toSeconds() + " s");
      }
      sleep(Math.min(250, Math.max(1, left)), path);
    }
  }

  /** Writes our lock file under a unique name and links it to the lock name. */
  private boolean publish(String path, Owner me, int round) throws StoreException {
    String mine = NfsFiles.parent(path) + "/.lock-" + me.token() + "-" + round;
    byte[] content = me.encode().getBytes(StandardCharsets.UTF_8);
    try {
      io.run("write lock", mine, () -> {
        files.delete(mine);
        files.writeNew(mine, java.nio.ByteBuffer.wrap(content));
        return null;
      });
    } catch (StoreException e) {
      deleteQuietly(mine); // a write that failed (a full disk) must not keep its space: lock files are never listed
      throw e;
    }
    try {
      boolean linked = io.run("link lock", path, () -> files.link(mine, path));
      if (!linked) {
        // EXIST may echo our own retransmitted LINK: two links mean it is ours.
        linked = io.run("stat lock", mine, () -> files.stat(mine)).map(s -> s.links() >= 2).orElse(false);
      }
      return linked;
    } finally {
      io.run("remove lock copy", mine, () -> files.delete(mine));
    }
  }

  private void deleteQuietly(String path) {
    try {
      files.delete(path);
    } catch (java.io.IOException ignored) {
      // Unreachable now: the next lock of this writer uses another name, and nothing else is lost.
    }
  }

  /** Moves an expired lock aside; true if it was the expired one (or the lock has gone meanwhile). */
  private boolean takeOver(String path, byte[] expired, String token) throws StoreException {
    String aside = NfsFiles.parent(path) + "/.lock-stale-" + token;
    try {
      io.run("take over lock", path, () -> {
        files.rename(path, aside);
        return null;
      });
    } catch (StoreException e) {
      if (e.getCause() instanceof java.nio.file.NoSuchFileException) {
        return true; // someone else moved or released it first
      }
      throw e;
    }
    Optional<byte[]> moved = read(aside);
    if (moved.isPresent() && !java.util.Arrays.equals(moved.get(), expired)) {
      // We moved a live lock that replaced the expired one meanwhile: put it back if the name is free.
      io.run("restore lock", path, () -> files.link(aside, path));
    }
    io.run("remove old lock", aside, () -> files.delete(aside));
    return true;
  }

  private Optional<byte[]> read(String path) throws StoreException {
    return io.run("read lock", path, () -> {
      Optional<NfsFiles.Stat> s = files.stat(path);
      if (s.isEmpty()) {
        return Optional.empty();
      }
      try (java.io.InputStream in = files.open(path, 0, Math.min(s.get().size(), 4096))) {
        return Optional.of(in.readAllBytes());
      } catch (java.nio.file.NoSuchFileException gone) {
        return Optional.empty();
      }
    });
  }

  private static void sleep(long millis, String path) throws StoreException {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StoreException(path, "interrupted while waiting for lock " + path, e);
    }
  }

  /** A lock this process holds. */
  final class Held implements dev.ckpt.spi.JobLock {
    private final String job;
    private volatile Owner owner;
    private volatile long renewedAt;
    private volatile boolean released;

    Held(String job, Owner owner) {
      this.job = job;
      this.owner = owner;
      this.renewedAt = clock.millis();
    }

    String job() {
      return job;
    }

    /** Extends the lease once a third of it has passed; called as the writer makes progress. */
    void renewIfDue() throws StoreException {
      long now = clock.millis();
      if (released || now - renewedAt < lease.toMillis() / 3) {
        return;
      }
      synchronized (this) {
        if (released || clock.millis() - renewedAt < lease.toMillis() / 3) {
          return;
        }
        String path = lockPath(job);
        Optional<Owner> current = read(path).flatMap(Owner::parse);
        if (current.isEmpty() || !current.get().token().equals(owner.token())) {
          throw new StoreException(path, "store " + where + ": lost the writer lock of job " + job + " to "
              + current.map(Owner::toString).orElse("nobody") + " (the lease of " + lease.toSeconds()
              + " s ran out while this checkpoint was stalled)");
        }
        Owner next = new Owner(owner.host(), owner.pid(), owner.token(), clock.millis() + lease.toMillis());
        String tmp = NfsFiles.parent(path) + "/.lock-" + owner.token() + "-renew";
        try {
          io.run("renew lock", path, () -> {
            files.delete(tmp);
            files.writeNew(tmp, java.nio.ByteBuffer.wrap(next.encode().getBytes(StandardCharsets.UTF_8)));
            files.rename(tmp, path);
            return null;
          });
        } catch (StoreException e) {
          deleteQuietly(tmp);
          throw e;
        }
        owner = next;
        renewedAt = clock.millis();
      }
    }

    @Override
    public void close() throws StoreException {
      synchronized (this) {
        if (released) {
          return;
        }
        released = true;
      }
      String path = lockPath(job);
      Optional<Owner> current = read(path).flatMap(Owner::parse);
      if (current.isPresent() && current.get().token().equals(owner.token())) {
        io.run("release lock", path, () -> files.delete(path));
        // A job that got its lock and nothing else (a refused checkpoint) leaves no directory
        // behind. rmdir fails on anything in it, so another writer's files are safe.
        io.run("remove empty job directory", job, () -> files.deleteEmptyDirectory(job));
      }
    }
  }
}
