/*
 * N threads (1000 by default), each hashing its own numbers in rounds with a short sleep between
 * them: a checkpoint finds nearly all of them in nanosleep. Main joins them all and prints one
 * digest, the same whatever the timing. Usage: manythreads [threads] [rounds]
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static int rounds = 100;

static void *work(void *arg) {
  uint64_t h = (uint64_t) (uintptr_t) arg * 0x9E3779B97F4A7C15ULL;
  for (int r = 0; r < rounds; r++) {
    for (int k = 0; k < 200; k++) h = (h ^ (h >> 29)) * 0xBF58476D1CE4E5B9ULL + (uint64_t) r;
    struct timespec ts = {0, 20 * 1000000L};
    nanosleep(&ts, NULL);
  }
  return (void *) (uintptr_t) h;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 1000;
  if (argc > 2) rounds = atoi(argv[2]);
  setvbuf(stdout, NULL, _IOLBF, 0);
  pthread_t *t = calloc((size_t) n, sizeof *t);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  for (int i = 0; i < n; i++) {
    if (pthread_create(&t[i], &attr, work, (void *) (uintptr_t) (i + 1)) != 0) {
      printf("pthread_create %d failed\n", i);
      return 2;
    }
  }
  printf("%d threads started\n", n);
  uint64_t digest = 0;
  for (int i = 0; i < n; i++) {
    void *r;
    pthread_join(t[i], &r);
    digest ^= (uint64_t) (uintptr_t) r * (uint64_t) (i + 1);
  }
  printf("%d threads joined, digest %016llx\n", n, (unsigned long long) digest);
  return 0;
}
