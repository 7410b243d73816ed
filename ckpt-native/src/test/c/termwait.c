/* Counts ticks of 10 ms and prints each; SIGTERM ends it with a line naming its sender (si_pid)
 * and si_code, and the tick it came at. Usage: termwait TICKS */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t term, from, code;

static void on_term(int s, siginfo_t *info, void *ctx) {
  (void) s;
  (void) ctx;
  from = info->si_pid;
  code = info->si_code;
  term = 1;
}

int main(int argc, char **argv) {
  int ticks = argc > 1 ? atoi(argv[1]) : 500;
  setvbuf(stdout, NULL, _IOLBF, 0);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_term;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGTERM, &sa, NULL);
  for (int i = 0; i < ticks; i++) {
    if (term) {
      printf("term from %d code %d at tick %d\n", (int) from, (int) code, i);
      return 0;
    }
    printf("tick %d\n", i);
    struct timespec t = {0, 10 * 1000 * 1000};
    nanosleep(&t, NULL);
  }
  return 0;
}
