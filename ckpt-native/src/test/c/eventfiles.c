/* An event loop on epoll: a periodic timerfd, an eventfd and a signalfd watched level-triggered,
 * an empty pipe watched edge-triggered, plus a semaphore eventfd holding a count and a one-shot
 * timerfd far in the future. Each timer tick wakes the loop; every 10th writes the eventfd,
 * whose event raises SIGUSR1, whose signalfd event prints a line. With the argument "fork", a
 * child writes an eventfd it shares with its parent instead, and the parent reads it. With
 * "unread", a periodic timerfd is read only every 150 ms, so a checkpoint finds it expired and
 * unread (its time left shows 0). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what) {
  printf("%s: %s\n", what, strerror(errno));
  exit(2);
}

static int shared_counter(void) {
  int efd = eventfd(0, 0);
  pid_t child = fork();
  if (child == 0) {
    for (int i = 0; i < 100; i++) {
      struct timespec ts = {0, 15000000};
      nanosleep(&ts, NULL);
      uint64_t one = 1;
      if (write(efd, &one, 8) != 8) die("child write");
    }
    _exit(0);
  }
  uint64_t total = 0;
  uint64_t last = 0;
  while (total < 100) {
    uint64_t v;
    if (read(efd, &v, 8) != 8) die("parent read");
    total += v;
    if (total / 10 * 10 > last) {
      last = total / 10 * 10;
      printf("parent counted %llu\n", (unsigned long long) last);
    }
  }
  int status;
  waitpid(child, &status, 0);
  printf("child exited %d\n", WEXITSTATUS(status));
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc > 1 && strcmp(argv[1], "fork") == 0) {
    return shared_counter();
  }
  if (argc > 1 && strcmp(argv[1], "unread") == 0) {
    int t = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    struct itimerspec every = {{0, 20000000}, {0, 20000000}};
    timerfd_settime(t, 0, &every, NULL);
    for (int round = 1; round <= 10; round++) {
      struct timespec ts = {0, 150000000};
      while (nanosleep(&ts, &ts) != 0) {}
      uint64_t v = 0;
      ssize_t n = read(t, &v, 8);
      printf("round %d: timer ticked: %s\n", round, n == 8 && v >= 1 ? "yes" : "no");
    }
    return 0;
  }
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  sigprocmask(SIG_BLOCK, &usr1, NULL);
  int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  struct itimerspec every = {{0, 10000000}, {0, 10000000}};
  if (timerfd_settime(tfd, 0, &every, NULL)) die("timerfd_settime");
  int later = timerfd_create(CLOCK_BOOTTIME, 0);
  struct itimerspec once = {{0, 0}, {600, 0}};
  timerfd_settime(later, 0, &once, NULL);
  int efd = eventfd(0, EFD_NONBLOCK);
  int sem = eventfd(3, EFD_SEMAPHORE | EFD_NONBLOCK);
  int sfd = signalfd(-1, &usr1, SFD_NONBLOCK);
  int pipefd[2];
  if (pipe2(pipefd, O_NONBLOCK)) die("pipe2");
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev;
  ev.events = EPOLLIN; ev.data.u64 = 1; epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
  ev.events = EPOLLIN; ev.data.u64 = 2; epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev);
  ev.events = EPOLLIN; ev.data.u64 = 3; epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
  ev.events = EPOLLIN | EPOLLET; ev.data.u64 = 4; epoll_ctl(ep, EPOLL_CTL_ADD, pipefd[0], &ev);
  uint64_t ticks = 0, last = 0, events = 0;
  int signals = 0;
  while (ticks < 150) {
    struct epoll_event got[8];
    int n = epoll_wait(ep, got, 8, 2000);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) die("epoll_wait");
    for (int i = 0; i < n; i++) {
      uint64_t v;
      struct signalfd_siginfo si;
      switch (got[i].data.u64) {
        case 1:
          if (read(tfd, &v, 8) != 8) die("read timerfd");
          ticks += v;
          if (ticks / 10 * 10 > last) {
            last = ticks / 10 * 10;
            v = last;
            if (write(efd, &v, 8) != 8) die("write eventfd");
          }
          break;
        case 2:
          if (read(efd, &v, 8) != 8) die("read eventfd");
          events = v;
          kill(getpid(), SIGUSR1);
          break;
        case 3:
          if (read(sfd, &si, sizeof si) != sizeof si) die("read signalfd");
          signals++;
          printf("tick %llu: eventfd %llu, signal %d (%d so far)\n", (unsigned long long) last,
              (unsigned long long) events, si.ssi_signo, signals);
          break;
        default:
          printf("the empty pipe was reported\n");
      }
    }
  }
  struct itimerspec left;
  timerfd_gettime(later, &left);
  printf("one-shot timer still armed: %s\n", left.it_value.tv_sec > 500 ? "yes" : "no");
  uint64_t v;
  int reads = 0;
  while (read(sem, &v, 8) == 8) reads++;
  printf("semaphore gave %d reads, then %s\n", reads, errno == EAGAIN ? "EAGAIN" : strerror(errno));
  if (write(pipefd[1], "x", 1) != 1) die("write pipe");
  struct epoll_event got[8];
  int first = 0;
  int m = epoll_wait(ep, got, 8, 1000);
  for (int j = 0; j < m; j++) first += got[j].data.u64 == 4;
  int again = 0;
  for (int i = 0; i < 3; i++) {
    int m = epoll_wait(ep, got, 8, 0);
    for (int j = 0; j < m; j++) again += got[j].data.u64 == 4;
  }
  printf("edge-triggered pipe: %d event(s), then %d more\n", first, again);
  printf("epoll close-on-exec: %d\n", (fcntl(ep, F_GETFD) & FD_CLOEXEC) != 0);
  return 0;
}
