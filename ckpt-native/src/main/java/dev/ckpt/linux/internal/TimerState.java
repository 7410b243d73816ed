package dev.ckpt.linux.internal;

import dev.ckpt.linux.ProcessException;
import dev.ckpt.linux.internal.jna.Sys;
import dev.ckpt.linux.internal.proc.ProcFs;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * POSIX timers (timer_create): their ids, clocks and notifications from /proc/PID/timers, their
 * interval and remaining time from an injected timer_gettime. Restore creates each with its own id
 * (PR_TIMER_CREATE_RESTORE_IDS, Linux 6.17+) and arms it with its remaining time. Kept in the image
 * as attributes {@code posix_timer.<id>}. A timer that has fired with its signal still pending
 * (likely for a fast periodic timer, since the process is frozen while it fires) is re-created
 * to fire at once, so that the kernel queues the timer's own signal again; a timer with unread
 * overruns is refused, since a re-created timer could not carry them.
 */
final class TimerState {
  static final String PREFIX = "posix_timer.";
  // Indexes into an attribute's values.
  static final int CLOCK = 0, SIGNO = 1, SIGVAL = 2, NOTIFY = 3, TID = 4, INTERVAL_SEC = 5, INTERVAL_NSEC = 6,
      VALUE_SEC = 7, VALUE_NSEC = 8, SIGNAL_PENDING = 9, COUNT = 10;

  private TimerState() {}

  /** One timer as /proc/PID/timers shows it. */
  record Listed(int id, int signo, long sigval, int notification, int tid, int clock) {}

  static List<Listed> list(int pid) throws ProcessException {
    String text;
    try {
      text = Files.readString(ProcFs.dir(pid).resolve("timers"));
    } catch (NoSuchFileException e) {
      return List.of();
    } catch (IOException e) {
      throw new ProcessException(pid, "reading /proc/" + pid + "/timers failed: " + e, 0, e);
    }
    return parse(text);
  }

  static List<Listed> parse(String text) {
    List<Listed> out = new ArrayList<>();
    int id = -1, signo = 0, notify = 0, tid = 0;
    long sigval = 0;
    for (String line : text.split("\n")) {
      String v = line.indexOf(':') < 0 ? "" : line.substring(line.indexOf(':') + 1).trim();
      if (line.startsWith("ID:")) {
        id = Integer.parseInt(v);
      } else if (line.startsWith("signal:")) {
        String[] p = v.split("/");
        signo = Integer.parseInt(p[0]);
        sigval = Long.parseUnsignedLong(p[1], 16);
      } else if (line.startsWith("notify:")) {
        String[] p = v.split("[/.]");
        notify = switch (p[0]) {
          case "none" -> 1;
          case "thread" -> 2;
          default -> 0;
        } | (p[1].equals("tid") ? 4 : 0);
        tid = Integer.parseInt(p[2]);
      } else if (line.startsWith("ClockID:")) {
        out.add(new Listed(id, signo, sigval, notify, tid, Integer.parseInt(v)));
      }
    }
    return out;
  }

  /** Adds every timer to {@code attributes}; refuses what a re-created timer could not carry. */
  static void dump(Tracee t, long scratch, Map<String, long[]> attributes, boolean strict) throws ProcessException {
    List<Listed> timers = list(t.pid);
    for (Listed l : timers) {
      if ((l.notification() & 2) != 0 && (l.notification() & 4) == 0) {
        throw new ProcessException(t.pid, "has POSIX timer " + l.id() + " with SIGEV_THREAD notification, which ckpt does not restore");
      }
      int target = 0;
      if ((l.notification() & 4) != 0) {
        // Aimed at one thread (SIGEV_THREAD_ID): restore gives every thread its tid back, so the
        // timer is aimed at the same tid, as the process sees it.
        if (!Files.exists(ProcFs.dir(t.pid).resolve("task").resolve(Integer.toString(l.tid())))) {
          throw new ProcessException(t.pid, "has POSIX timer " + l.id() + " aimed at thread " + l.tid()
              + ", which is not one of its threads");
        }
        target = ThreadDumper.namespaceId(ThreadDumper.taskStatus(t.pid, l.tid()), l.tid());
      }
      long overrun = t.call("timer_getoverrun(" + l.id() + ")", Sys.SYS_TIMER_GETOVERRUN, l.id());
      if (overrun != 0 && strict) {
        throw new ProcessException(t.pid, "has POSIX timer " + l.id() + " with " + overrun
            + " overruns not yet read, which a re-created timer could not carry");
      }
      t.call("timer_gettime(" + l.id() + ")", Sys.SYS_TIMER_GETTIME, l.id(), scratch);
      ByteBuffer its = ByteBuffer.wrap(t.read(scratch, 32)).order(ByteOrder.LITTLE_ENDIAN);
      long[] v = new long[COUNT];
      v[CLOCK] = l.clock();
      v[SIGNO] = l.signo();
      v[SIGVAL] = l.sigval();
      v[NOTIFY] = l.notification();
      v[TID] = target;
      v[INTERVAL_SEC] = its.getLong(0);
      v[INTERVAL_NSEC] = its.getLong(8);
      v[VALUE_SEC] = its.getLong(16);
      v[VALUE_NSEC] = its.getLong(24);
      attributes.put(PREFIX + l.id(), v);
    }
  }

  /**
   * A pending signal sent by a POSIX timer belongs to that timer: it is marked on the timer,
   * which restore makes fire again, instead of being queued as a plain signal.
   */
  static void markPendingTimerSignals(int pid, Map<String, long[]> attributes, List<byte[]> pending) throws ProcessException {
    for (byte[] info : pending) {
      ByteBuffer b = ByteBuffer.wrap(info).order(ByteOrder.LITTLE_ENDIAN);
      long[] v = b.getInt(8) == Sys.SI_TIMER ? attributes.get(PREFIX + b.getInt(16)) : null;
      if (v == null) {
        continue;
      }
      if (b.getInt(20) != 0) {
        throw new ProcessException(pid, "has the signal " + b.getInt(0) + " of POSIX timer " + b.getInt(16) + " pending with "
            + b.getInt(20) + " overruns, which a re-created timer could not carry");
      }
      v[SIGNAL_PENDING] = 1;
    }
  }

  /** Whether {@code info} is a pending signal that a re-created timer of the image queues itself. */
  static boolean requeuedByTimer(byte[] info, Map<String, long[]> attributes) {
    ByteBuffer b = ByteBuffer.wrap(info).order(ByteOrder.LITTLE_ENDIAN);
    long[] v = b.getInt(8) == Sys.SI_TIMER ? attributes.get(PREFIX + b.getInt(16)) : null;
    return v != null && v.length > SIGNAL_PENDING && v[SIGNAL_PENDING] != 0;
  }

  /**
   * Re-creates the image's timers, each with its own id, and arms them. A timer aimed at the
   * main thread ({@code mainTid} in the image; images before version 3 hold its pid then) follows
   * it to the pid it has now; one aimed at another thread keeps that thread's tid, which restore
   * gave back, and is made after the threads.
   */
  static void restore(Tracee t, long scratch, Map<String, long[]> attributes, int mainTid) throws ProcessException {
    List<Map.Entry<String, long[]>> timers = new ArrayList<>();
    for (Map.Entry<String, long[]> e : attributes.entrySet()) {
      if (e.getKey().startsWith(PREFIX)) {
        timers.add(e);
      }
    }
    if (timers.isEmpty()) {
      return;
    }
    t.call("prctl(PR_TIMER_CREATE_RESTORE_IDS, on)", Sys.SYS_PRCTL, Sys.PR_TIMER_CREATE_RESTORE_IDS, 1, 0, 0, 0);
    for (Map.Entry<String, long[]> e : timers) {
      int id = Integer.parseInt(e.getKey().substring(PREFIX.length()));
      long[] v = e.getValue();
      ByteBuffer ev = ByteBuffer.allocate(72).order(ByteOrder.LITTLE_ENDIAN);
      ev.putLong(0, v[SIGVAL]).putInt(8, (int) v[SIGNO]).putInt(12, (int) v[NOTIFY]);
      ev.putInt(16, (v[NOTIFY] & 4) == 0 ? 0 : v[TID] == mainTid || v[TID] == 0 ? t.self : (int) v[TID]);
      ev.putInt(64, id);
      t.write(scratch, ev.array());
      t.call("timer_create(id " + id + ", clock " + v[CLOCK] + ")", Sys.SYS_TIMER_CREATE, v[CLOCK], scratch, scratch + 64);
      int got = ByteBuffer.wrap(t.read(scratch + 64, 4)).order(ByteOrder.LITTLE_ENDIAN).getInt();
      if (got != id) {
        throw new ProcessException(t.pid, "timer_create gave POSIX timer id " + got + " instead of " + id);
      }
      boolean fired = v.length > SIGNAL_PENDING && v[SIGNAL_PENDING] != 0;
      if (fired || v[VALUE_SEC] != 0 || v[VALUE_NSEC] != 0) {
        ByteBuffer its = ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN);
        // A timer whose signal was pending fires at once (1 ns): the kernel queues its own signal,
        // with its id and value, and a periodic one goes on from there.
        its.putLong(0, v[INTERVAL_SEC]).putLong(8, v[INTERVAL_NSEC]).putLong(16, fired ? 0 : v[VALUE_SEC])
            .putLong(24, fired ? 1 : v[VALUE_NSEC]);
        t.write(scratch, its.array());
        t.call("timer_settime(" + id + ")", Sys.SYS_TIMER_SETTIME, id, 0, scratch, 0);
      }
    }
    t.call("prctl(PR_TIMER_CREATE_RESTORE_IDS, off)", Sys.SYS_PRCTL, Sys.PR_TIMER_CREATE_RESTORE_IDS, 0, 0, 0, 0);
  }

  /** For inspect and the restore check: what does not change while a process waits to run. */
  static String describe(long[] v) {
    return String.format("clock %d, signal %d, value 0x%x, notify %d, every %d.%09d s", v[CLOCK], v[SIGNO], v[SIGVAL],
        v[NOTIFY], v[INTERVAL_SEC], v[INTERVAL_NSEC]);
  }

  static boolean armed(long[] v) {
    return v[VALUE_SEC] != 0 || v[VALUE_NSEC] != 0;
  }
}
