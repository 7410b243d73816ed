/* AF_UNIX socketpairs with data in flight.
 *   (no argument) one process: a stream pair holding 96 KiB, a datagram pair holding 40 messages
 *                 of different sizes and a seqpacket pair, all read slowly; each read is summed
 *                 and printed every 10 ticks.
 *   peerclosed    a stream pair whose writer wrote 60 KiB and closed its end: read slowly, then
 *                 EOF, and a write to it fails with EPIPE; and a datagram pair whose other end
 *                 sent 40 messages and closed: each is read, then none, and a send fails
 *                 (more than the 6 that fit a send buffer sized to their payload alone).
 *   fork          a parent and a child joined by a stream pair (the child sends numbered lines,
 *                 the parent answers each) and a datagram pair the child fills in bursts; the
 *                 child checks every answer and exits; the parent then sees EOF.
 *   stdio         the same conversation with the child's stdin and stdout on its end of the
 *                 stream pair, as a program started with a socketpair for its stdio. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what) {
  printf("%s: %s\n", what, strerror(errno));
  exit(2);
}

static void nap(long ms) {
  struct timespec ts = {0, ms * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {}
}

static uint64_t sum(uint64_t s, const unsigned char *b, ssize_t n) {
  for (ssize_t i = 0; i < n; i++) s = s * 31 + b[i];
  return s;
}

static int one_process(void) {
  int st[2], dg[2], sp[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, st) || socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, dg)
      || socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp)) die("socketpair");
  static unsigned char buf[98304];
  for (size_t i = 0; i < sizeof buf; i++) buf[i] = (unsigned char) (i * 7 + i / 251);
  if (write(st[0], buf, sizeof buf) != (ssize_t) sizeof buf) die("write stream");
  for (int m = 0; m < 40; m++) {
    unsigned char msg[300];
    memset(msg, 'a' + m % 26, sizeof msg);
    if (send(dg[1], msg, 10 + m * 7, 0) < 0) die("send dgram");
    if (send(sp[0], msg, 1 + m, 0) < 0) die("send seqpacket");
  }
  uint64_t s1 = 0, s2 = 0, s3 = 0;
  long got1 = 0, got2 = 0, got3 = 0;
  for (int tick = 1; tick <= 40; tick++) {
    nap(30);
    unsigned char in[4096];
    ssize_t n = read(st[1], in, 2400);
    if (n <= 0) die("read stream");
    s1 = sum(s1, in, n);
    got1 += n;
    n = recv(dg[0], in, sizeof in, 0);
    if (n < 0) die("recv dgram");
    s2 = sum(s2, in, n);
    got2 += n;
    n = recv(sp[1], in, sizeof in, 0);
    if (n < 0) die("recv seqpacket");
    s3 = sum(s3, in, n);
    got3 += n;
    if (tick % 10 == 0) {
      printf("tick %d: stream %ld bytes %016llx, dgram %ld bytes %016llx, seqpacket %ld bytes %016llx\n", tick, got1,
          (unsigned long long) s1, got2, (unsigned long long) s2, got3, (unsigned long long) s3);
    }
  }
  ssize_t more = recv(dg[0], buf, 10, 0);
  printf("datagram queue after 40 reads: %s\n", more < 0 && errno == EAGAIN ? "empty" : "not empty");
  return 0;
}

static int peer_closed(void) {
  int st[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, st)) die("socketpair");
  static unsigned char buf[61440];
  for (size_t i = 0; i < sizeof buf; i++) buf[i] = (unsigned char) (i * 13 + 5);
  if (write(st[0], buf, sizeof buf) != (ssize_t) sizeof buf) die("write");
  close(st[0]);
  int dg[2];
  if (socketpair(AF_UNIX, SOCK_DGRAM, 0, dg)) die("socketpair");
  for (int m = 0; m < 40; m++) {
    char msg[32];
    int len = snprintf(msg, sizeof msg, "message %d", m);
    if (send(dg[0], msg, len, 0) != len) die("send dgram");
  }
  close(dg[0]);
  int messages = 0;
  signal(SIGPIPE, SIG_IGN);
  uint64_t s = 0;
  long total = 0;
  for (int tick = 1; ; tick++) {
    nap(25);
    unsigned char in[1500];
    ssize_t n = read(st[1], in, sizeof in);
    if (n < 0) die("read");
    if (n == 0) {
      printf("EOF after %ld bytes, sum %016llx\n", total, (unsigned long long) s);
      break;
    }
    s = sum(s, in, n);
    total += n;
    char msg[32];
    ssize_t m = recv(dg[1], msg, sizeof msg - 1, MSG_DONTWAIT);
    if (m > 0) {
      msg[m] = 0;
      messages++;
    }
    if (tick % 10 == 0) printf("tick %d: %ld bytes, %d datagrams (last \"%s\")\n", tick, total, messages, m > 0 ? msg : "-");
  }
  char one;
  ssize_t more = recv(dg[1], &one, 1, MSG_DONTWAIT);
  printf("datagrams: %d, then %s\n", messages, more < 0 && errno == EAGAIN ? "none" : "more");
  ssize_t sent = send(dg[1], "y", 1, 0);
  printf("send to the closed datagram pair: %s\n", sent < 0 ? strerror(errno) : "succeeded");
  ssize_t w = write(st[1], "x", 1);
  printf("write to the closed pair: %s\n", w < 0 ? strerror(errno) : "succeeded");
  return 0;
}

static int with_child(int on_stdio) {
  int st[2], dg[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, st) || socketpair(AF_UNIX, SOCK_DGRAM, 0, dg)) die("socketpair");
  pid_t child = fork();
  if (child == 0) {
    close(st[0]);
    close(dg[0]);
    if (on_stdio) {
      /* stdin and stdout are the socket; stdout stays unbuffered for the answers' sake. */
      dup2(st[1], 0);
      dup2(st[1], 1);
      close(st[1]);
      st[1] = 1;
      setvbuf(stdout, NULL, _IONBF, 0);
    }
    FILE *in = fdopen(dup(on_stdio ? 0 : st[1]), "r");
    for (int i = 1; i <= 60; i++) {
      if (i % 6 == 0) {
        /* Before the line, so the parent finds the burst queued when it reads the line. */
        for (int b = 0; b < 5; b++) {
          char d[32];
          int dl = snprintf(d, sizeof d, "burst %d.%d", i / 6, b);
          if (send(dg[1], d, dl, 0) < 0) die("child send");
        }
      }
      char line[64];
      int len = snprintf(line, sizeof line, "line %d\n", i);
      if (write(st[1], line, len) != len) die("child write");
      char answer[64];
      if (!fgets(answer, sizeof answer, in)) die("child read answer");
      int n;
      if (sscanf(answer, "answer %d", &n) != 1 || n != i * i) {
        printf("child: wrong answer to line %d: %s", i, answer);
        _exit(3);
      }
      nap(20);
    }
    _exit(0);
  }
  close(st[1]);
  close(dg[1]);
  FILE *in = fdopen(dup(st[0]), "r");
  char line[64];
  int lines = 0, datagrams = 0;
  while (fgets(line, sizeof line, in)) {
    int i;
    if (sscanf(line, "line %d", &i) != 1) die("parent parse");
    nap(5);
    char answer[64];
    int len = snprintf(answer, sizeof answer, "answer %d\n", i * i);
    if (write(st[0], answer, len) != len) die("parent write");
    lines++;
    if (i % 12 == 0) {
      char d[64];
      ssize_t n;
      while ((n = recv(dg[0], d, sizeof d - 1, MSG_DONTWAIT)) > 0) {
        d[n] = 0;
        datagrams++;
      }
      printf("after line %d: %d datagrams so far, last \"%s\"\n", i, datagrams, d);
    }
  }
  int status;
  waitpid(child, &status, 0);
  printf("EOF after %d lines; child exited %d\n", lines, WEXITSTATUS(status));
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc > 1 && !strcmp(argv[1], "peerclosed")) return peer_closed();
  if (argc > 1 && !strcmp(argv[1], "fork")) return with_child(0);
  if (argc > 1 && !strcmp(argv[1], "stdio")) return with_child(1);
  return one_process();
}
