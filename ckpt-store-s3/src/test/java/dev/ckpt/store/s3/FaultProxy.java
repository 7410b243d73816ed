package dev.ckpt.store.s3;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * An HTTP/1.1 proxy on 127.0.0.1 that sits between the SDK and S3Proxy and misbehaves the way
 * networks and S3 do: it answers 500 InternalError, answers 503 SlowDown, resets the connection
 * before forwarding, or forwards the request and then loses the answer. Every request goes on
 * its own connection ({@code Connection: close} is forced) so that each one can be judged.
 * The request heads are recorded so tests can check what went over the wire.
 */
final class FaultProxy implements AutoCloseable {
  enum Fault { NONE, ERROR_500, SLOW_DOWN_503, RESET, LOSE_RESPONSE }

  /** Stop answering a request head that grows beyond this: a bug, not a test input. */
  private static final int MAX_HEAD = 64 << 10;
  private static final int MAX_RECORDED = 100_000;

  private final ServerSocket server;
  private final int upstreamPort;
  private final ExecutorService pool = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "fault-proxy");
    t.setDaemon(true);
    return t;
  });
  private final Random random;
  private final List<String> heads = Collections.synchronizedList(new ArrayList<>());
  private final ConcurrentHashMap<Fault, AtomicInteger> injected = new ConcurrentHashMap<>();
  private volatile double faultRate;
  private record Targeted(Predicate<String> requestLine, Fault fault, AtomicInteger remaining) {}

  private final List<Targeted> targeted = new java.util.concurrent.CopyOnWriteArrayList<>();
  private final AtomicInteger requests = new AtomicInteger();
  private final AtomicInteger inFlight = new AtomicInteger();
  private final AtomicInteger maxInFlight = new AtomicInteger();

  FaultProxy(int upstreamPort, long seed) throws IOException {
    this.upstreamPort = upstreamPort;
    this.random = new Random(seed);
    this.server = new ServerSocket(0, 128, InetAddress.getLoopbackAddress());
    pool.execute(this::acceptLoop);
  }

  String endpoint() {
    return "http://127.0.0.1:" + server.getLocalPort();
  }

  /** About this share of requests get a 500, a 503 or a reset, in equal parts. */
  void faultRate(double rate) {
    this.faultRate = rate;
  }

  /** The next {@code times} requests whose request line matches are forwarded, then their answer is lost. */
  void loseResponses(Predicate<String> requestLine, int times) {
    inject(requestLine, Fault.LOSE_RESPONSE, times);
  }

  /** The next {@code times} requests whose request line matches get {@code fault}, whatever the fault rate. */
  void inject(Predicate<String> requestLine, Fault fault, int times) {
    targeted.add(new Targeted(requestLine, fault, new AtomicInteger(times)));
  }

  int injected(Fault f) {
    AtomicInteger n = injected.get(f);
    return n == null ? 0 : n.get();
  }

  int requests() {
    return requests.get();
  }

  /** The most requests that were being served at the same moment. */
  int maxInFlight() {
    return maxInFlight.get();
  }

  List<String> heads() {
    synchronized (heads) {
      return List.copyOf(heads);
    }
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

  private Fault choose(String requestLine) {
    for (Targeted t : targeted) {
      if (t.requestLine().test(requestLine) && t.remaining().getAndDecrement() > 0) {
        return t.fault();
      }
    }
    double r;
    synchronized (random) {
      r = random.nextDouble();
    }
    double rate = faultRate;
    if (r >= rate) {
      return Fault.NONE;
    }
    return r < rate / 3 ? Fault.ERROR_500 : r < 2 * rate / 3 ? Fault.SLOW_DOWN_503 : Fault.RESET;
  }

  private void serve(Socket client) {
    try (client) {
      client.setSoTimeout(120_000);
      InputStream in = new java.io.BufferedInputStream(client.getInputStream());
      byte[] head = readHead(in);
      if (head == null) {
        return;
      }
      requests.incrementAndGet();
      maxInFlight.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
      try {
        answer(client, in, head);
      } finally {
        inFlight.decrementAndGet();
      }
    } catch (IOException e) {
      // a client that went away; the SDK will retry
    }
  }

  private void answer(Socket client, InputStream in, byte[] head) throws IOException {
    String text = new String(head, StandardCharsets.ISO_8859_1);
    String requestLine = text.substring(0, text.indexOf("\r\n"));
    if (heads.size() < MAX_RECORDED) {
      heads.add(text);
    }
    Fault fault = choose(requestLine);
    injected.computeIfAbsent(fault, f -> new AtomicInteger()).incrementAndGet();
    switch (fault) {
      case RESET -> {
        client.setSoLinger(true, 0);
        return;
      }
      case ERROR_500, SLOW_DOWN_503 -> {
        if (!header(text, "expect").toLowerCase(Locale.ROOT).contains("100-continue")) {
          drain(in, contentLength(text));
        }
        boolean slow = fault == Fault.SLOW_DOWN_503;
        String body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>"
            + (slow ? "SlowDown" : "InternalError") + "</Code><Message>injected by the test proxy</Message>"
            + "<RequestId>fault</RequestId></Error>";
        String response = "HTTP/1.1 " + (slow ? "503 Slow Down" : "500 Internal Server Error") + "\r\n"
            + "Content-Type: application/xml\r\nContent-Length: " + body.length() + "\r\nConnection: close\r\n\r\n"
            + (requestLine.startsWith("HEAD ") ? "" : body);
        client.getOutputStream().write(response.getBytes(StandardCharsets.ISO_8859_1));
        client.getOutputStream().flush();
        return;
      }
      default -> forward(client, in, rewrite(text), fault == Fault.LOSE_RESPONSE);
    }
  }

  private void forward(Socket client, InputStream clientIn, byte[] head, boolean loseResponse) throws IOException {
    try (Socket upstream = new Socket(InetAddress.getLoopbackAddress(), upstreamPort)) {
      upstream.setSoTimeout(120_000);
      OutputStream up = upstream.getOutputStream();
      up.write(head);
      up.flush();
      // The body (and anything after a 100 Continue) flows on its own while we copy the answer.
      pool.execute(() -> {
        try {
          clientIn.transferTo(up);
        } catch (IOException ignored) {
          // either side closed
        }
      });
      InputStream down = upstream.getInputStream();
      if (loseResponse) {
        // Let the server finish the request, then drop its answer: the client cannot tell
        // whether the write happened, which is what a lost response looks like.
        down.transferTo(OutputStream.nullOutputStream());
        client.setSoLinger(true, 0);
        return;
      }
      down.transferTo(client.getOutputStream());
    }
  }

  private static byte[] rewrite(String head) {
    StringBuilder out = new StringBuilder();
    for (String line : head.split("\r\n")) {
      if (line.isEmpty() || line.toLowerCase(Locale.ROOT).startsWith("connection:")) {
        continue;
      }
      out.append(line).append("\r\n");
    }
    out.append("Connection: close\r\n\r\n");
    return out.toString().getBytes(StandardCharsets.ISO_8859_1);
  }

  private static String header(String head, String name) {
    for (String line : head.split("\r\n")) {
      int colon = line.indexOf(':');
      if (colon > 0 && line.substring(0, colon).trim().equalsIgnoreCase(name)) {
        return line.substring(colon + 1).trim();
      }
    }
    return "";
  }

  private static long contentLength(String head) {
    String v = header(head, "content-length");
    return v.isEmpty() ? 0 : Long.parseLong(v);
  }

  private static void drain(InputStream in, long n) throws IOException {
    in.skipNBytes(n);
  }

  private static byte[] readHead(InputStream in) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    int state = 0;
    while (state < 4) {
      int c = in.read();
      if (c < 0) {
        return null;
      }
      b.write(c);
      if (b.size() > MAX_HEAD) {
        throw new IOException("request head over " + MAX_HEAD + " bytes");
      }
      state = (c == '\r' && (state == 0 || state == 2)) || (c == '\n' && (state == 1 || state == 3)) ? state + 1
          : c == '\r' ? 1 : 0;
    }
    return b.toByteArray();
  }

  @Override
  public void close() throws IOException {
    server.close();
    pool.shutdownNow();
  }
}
