/* Counts to N, printing each step, sleeping between steps: the demo and smoke-test program. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 100;
  long sleep_ms = argc > 2 ? atol(argv[2]) : 10;
  unsigned long sum = 0;
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (long i = 1; i <= n; i++) {
    sum = sum * 31 + (unsigned long) i;
    printf("count %ld sum %lu\n", i, sum);
    struct timespec ts = {sleep_ms / 1000, (sleep_ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
  }
  printf("done %lu\n", sum);
  return 0;
}
