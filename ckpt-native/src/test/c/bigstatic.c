/* 64 MiB of data written once, then a long loop that changes one page per step: each
   checkpoint after the first should store little. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv) {
  int steps = argc > 1 ? atoi(argv[1]) : 150;
  size_t n = (64u << 20) / sizeof(uint64_t);
  uint64_t *a = malloc(n * sizeof(uint64_t));
  uint64_t x = 0x9E3779B97F4A7C15ULL;
  for (size_t i = 0; i < n; i++) {
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    a[i] = x;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (int s = 0; s < steps; s++) {
    size_t page = ((size_t) s * 7919) % (n / 512);
    uint64_t sum = 0;
    for (size_t i = page * 512; i < page * 512 + 512; i++) {
      a[i] = a[i] * 31 + (uint64_t) s;
      sum ^= a[i];
    }
    printf("step %d page %zu sum %016llx\n", s, page, (unsigned long long) sum);
    struct timespec ts = {0, 10000000};
    while (nanosleep(&ts, &ts) != 0) {
    }
  }
  uint64_t all = 0;
  for (size_t i = 0; i < n; i++) all += a[i] ^ (all << 1);
  printf("final %016llx\n", (unsigned long long) all);
  return 0;
}
