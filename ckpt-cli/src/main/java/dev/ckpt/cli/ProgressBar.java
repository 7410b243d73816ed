package dev.ckpt.cli;

import com.sun.jna.Library;
import com.sun.jna.Native;
import dev.ckpt.ProgressListener;
import java.io.PrintWriter;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A one-line progress bar on stderr: bytes, rate and ETA. Drawn only when stderr is a terminal,
 * not --quiet, and the operation has run for more than a second. Owns one drawing thread, which
 * {@link #close()} stops before clearing the line.
 */
final class ProgressBar implements ProgressListener, AutoCloseable {
  interface LibC extends Library {
    int isatty(int fd);
  }

  private final PrintWriter err;
  private final String label;
  private final long total;
  private final AtomicLong done = new AtomicLong();
  private final long start = System.nanoTime();
  private final Thread drawer;
  private volatile boolean running = true;
  private boolean drawn;

  ProgressBar(PrintWriter err, String label, long total, boolean quiet) {
    this.err = err;
    this.label = label;
    this.total = total;
    this.drawer = !quiet && stderrIsTerminal() ? new Thread(this::loop, "ckpt-progress") : null;
    if (drawer != null) {
      drawer.setDaemon(true);
      drawer.start();
    }
  }

  static boolean stderrIsTerminal() {
    try {
      return Native.load("c", LibC.class).isatty(2) == 1;
    } catch (UnsatisfiedLinkError e) {
      return false;
    }
  }

  @Override
  public void bytes(long n) {
    done.addAndGet(n);
  }

  private void loop() {
    while (running) {
      try {
        Thread.sleep(200);
      } catch (InterruptedException e) {
        return;
      }
      if (System.nanoTime() - start > 1_000_000_000L) {
        draw();
      }
    }
  }

  private synchronized void draw() {
    long d = done.get();
    double secs = (System.nanoTime() - start) / 1e9;
    double rate = d / Math.max(secs, 1e-3);
    StringBuilder line = new StringBuilder("\r").append(label).append(' ');
    if (total > 0) {
      int width = 30;
      int filled = (int) Math.min(width, width * d / total);
      line.append('[').append("#".repeat(filled)).append(".".repeat(width - filled)).append("] ");
      line.append(Cli.size(d)).append(" / ").append(Cli.size(total));
      long eta = rate > 0 ? (long) Math.max(0, (total - d) / rate) : -1;
      line.append(String.format("  %s/s  ETA %s", Cli.size((long) rate), eta < 0 ? "?" : eta + "s"));
    } else {
      line.append(Cli.size(d)).append(String.format("  %s/s", Cli.size((long) rate)));
    }
    err.print(line.append("   "));
    err.flush();
    drawn = true;
  }

  @Override
  public void close() {
    if (!running) {
      return;
    }
    running = false;
    if (drawer != null) {
      drawer.interrupt();
      try {
        drawer.join(1000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    synchronized (this) {
      if (drawn) {
        err.print("\r" + " ".repeat(100) + "\r");
        err.flush();
      }
    }
  }
}
