/* Deep recursion: the stack holds the state at checkpoint time. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static volatile long sink;

static unsigned long walk(long depth, unsigned long acc) {
  char pad[64];
  pad[depth % 64] = (char) depth;
  if (depth == 0) {
    struct timespec ts = {0, 2000000};
    for (int i = 0; i < 400; i++) {
      nanosleep(&ts, NULL);
      if (i % 50 == 0) printf("at the bottom, step %d\n", i);
    }
    return acc;
  }
  unsigned long r = walk(depth - 1, acc * 1099511628211UL + (unsigned long) depth + pad[depth % 64]);
  if (depth % 10000 == 0) printf("unwinding %ld -> %lu\n", depth, r % 1000003);
  sink = pad[depth % 64];
  return r ^ (unsigned long) depth;
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("result %lu\n", walk(60000, 1));
  return 0;
}
