package dev.ckpt.linux.internal;

import dev.ckpt.linux.ProcessException;
import dev.ckpt.linux.internal.ProcessImage.VmaKind;
import dev.ckpt.linux.internal.ProcessImage.VmaRecord;
import dev.ckpt.linux.internal.jna.Sys;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Shared anonymous and memfd objects that an image maps more than once, in one process or in
 * several of a tree (same {@code shm:DEV:INODE} key): restore makes each one object, a memfd
 * created by its first mapper and kept open (parked) until every mapping is made; later
 * mappers in other processes take it with pidfd_getfd. Every mapping writes its own dumped
 * pages, which are the object's pages, so the object holds what it held. An object mapped once
 * is mapped MAP_SHARED | MAP_ANONYMOUS, as before.
 */
final class SharedMemory {
  private final Map<String, Integer> uses = new HashMap<>();
  private final Map<String, Long> sizes = new HashMap<>();
  /** key -> {creator host pid, creator pid as the tree sees it, parked fd}. */
  private final Map<String, int[]> made = new LinkedHashMap<>();

  /** Counts the image's mappings of each object. */
  void note(ProcessImage img) {
    for (VmaRecord v : img.vmas()) {
      if (v.kind() == VmaKind.SHARED_ANON && v.path().startsWith("shm:")) {
        uses.merge(v.path(), 1, Integer::sum);
        sizes.merge(v.path(), v.offset() + v.length(), Math::max);
      }
    }
  }

  boolean shared(VmaRecord v) {
    return v.kind() == VmaKind.SHARED_ANON && uses.getOrDefault(v.path(), 0) > 1;
  }

  /** Descriptors parked in one process, which its fd restore must leave open. */
  List<Integer> parkedIn(int host) {
    List<Integer> out = new ArrayList<>();
    for (int[] m : made.values()) {
      if (m[0] == host) {
        out.add(m[2]);
      }
    }
    return out;
  }

  /**
   * Maps {@code v} in {@code t} (injecting) from its object, making the object first if no
   * mapping made it yet. {@code floor} is above every descriptor number the image needs.
   */
  void map(Tracee t, VmaRecord v, int prot, long scratch, int floor) throws ProcessException {
    int[] m = made.get(v.path());
    int fd;
    boolean borrowed = false;
    if (m == null) {
      t.write(scratch, Tracee.cString("ckpt-shm"));
      fd = (int) t.call("memfd_create for " + v.path(), Sys.SYS_MEMFD_CREATE, scratch, Sys.MFD_CLOEXEC);
      if (fd < floor) {
        int moved = (int) t.call("fcntl(F_DUPFD_CLOEXEC, " + fd + ", " + floor + ")", Sys.SYS_FCNTL, fd,
            Sys.F_DUPFD_CLOEXEC, floor);
        t.call("close(" + fd + ")", Sys.SYS_CLOSE, fd);
        fd = moved;
      }
      t.call("ftruncate(" + v.path() + ")", Sys.SYS_FTRUNCATE, fd, sizes.get(v.path()));
      made.put(v.path(), new int[] {t.pid, t.self, fd});
    } else if (m[0] == t.pid) {
      fd = m[2];
    } else {
      fd = PipeState.importFd(t, m[1], m[2], floor, scratch);
      borrowed = true;
    }
    t.call("mmap(" + v.part() + " of " + v.path() + ")", Sys.SYS_MMAP, v.start(), v.length(), prot,
        Sys.MAP_SHARED | Sys.MAP_FIXED | ((v.prot() & VmaFlags.NORESERVE) != 0 ? VmaFlags.MAP_NORESERVE : 0), fd, v.offset());
    if (borrowed) {
      t.call("close(" + fd + ")", Sys.SYS_CLOSE, fd);
    }
  }

  /** Closes the parked descriptors of the process {@code t} (injecting). */
  void closeParkedIn(Tracee t) throws ProcessException {
    for (int fd : parkedIn(t.pid)) {
      t.call("close(parked memfd " + fd + ")", Sys.SYS_CLOSE, fd);
    }
    made.values().removeIf(m -> m[0] == t.pid);
  }

  /** Closes every parked descriptor, each in its process, stopped and rebuilt: a short injection round each. */
  void closeParked() throws ProcessException {
    Map<Integer, List<Integer>> byHost = new LinkedHashMap<>();
    for (int[] m : made.values()) {
      byHost.computeIfAbsent(m[0], k -> new ArrayList<>()).add(m[2]);
    }
    PipeState.Shared.closeIn(byHost);
    made.clear();
  }
}
