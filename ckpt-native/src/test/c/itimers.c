/* Periodic interval timers across a checkpoint. "real": ITIMER_REAL of 10 ms whose SIGALRM is
 * blocked for 30 ms of each cycle, so a checkpoint usually finds the timer expired with its
 * signal still pending (the case that came back disarmed). "virtual"/"prof": CPU-time timers
 * ticking while the program computes. Prints only what an uninterrupted run prints too. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static volatile sig_atomic_t ticks;
static void on_tick(int s) { (void) s; ticks++; }

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "real";
  int which = !strcmp(mode, "virtual") ? ITIMER_VIRTUAL : !strcmp(mode, "prof") ? ITIMER_PROF : ITIMER_REAL;
  int sig = which == ITIMER_REAL ? SIGALRM : which == ITIMER_VIRTUAL ? SIGVTALRM : SIGPROF;
  setvbuf(stdout, NULL, _IOLBF, 0);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_tick;
  sa.sa_flags = SA_RESTART;
  sigaction(sig, &sa, NULL);
  struct itimerval it = {{0, 10000}, {0, 10000}};
  setitimer(which, &it, NULL);
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, sig);
  if (which == ITIMER_REAL) {
    for (int cycle = 1; cycle <= 80; cycle++) {
      sigprocmask(SIG_BLOCK, &block, NULL);
      struct timespec ts = {0, 30 * 1000 * 1000};
      while (nanosleep(&ts, &ts) != 0) {}
      int before = ticks;
      sigprocmask(SIG_UNBLOCK, &block, NULL); /* the pending SIGALRM is delivered here */
      if (ticks == before) {
        printf("cycle %d: no tick on unblock\n", cycle);
      }
      getitimer(which, &it);
      if (cycle % 10 == 0) {
        printf("cycle %d interval %ld us armed %d\n", cycle, (long) it.it_interval.tv_usec,
               it.it_value.tv_sec != 0 || it.it_value.tv_usec != 0);
      }
    }
  } else {
    volatile double x = 1;
    int last = 0;
    while (ticks < 150) {
      for (int i = 0; i < 10000; i++) x = x * 1.0000001 + 1e-9;
      if (ticks != last && ticks % 10 == 0) {
        last = ticks;
        getitimer(which, &it);
        printf("ticks %d interval %ld us armed %d\n", (int) ticks, (long) it.it_interval.tv_usec,
               it.it_value.tv_sec != 0 || it.it_value.tv_usec != 0);
      }
    }
  }
  printf("done\n");
  return 0;
}
