/* Calls sched_getcpu in a loop: glibc reads the CPU from the thread's rseq area. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <time.h>

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  unsigned long calls = 0, bad = 0;
  for (int r = 0; r < 30; r++) {
    for (int i = 0; i < 2000000; i++) {
      int cpu = sched_getcpu();
      if (cpu < 0) bad++;
      calls++;
    }
    struct timespec ts = {0, 30000000};
    nanosleep(&ts, NULL);
    printf("round %d calls %lu bad %lu\n", r, calls, bad);
  }
  return bad == 0 ? 0 : 1;
}
