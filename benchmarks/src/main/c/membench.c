/* The native benchmark's target: 1 GiB mapped, a quarter random, a quarter text, half never
   touched. Prints "ready" and then waits, so its memory stays as it is while it is measured.
   With "churn", it then rewrites 1% of its resident pages every second instead, a few every
   10 ms at scattered places (the "1% of the pages are rewritten every second"). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  size_t size = 1UL << 30;
  uint8_t *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return 2;
  uint64_t x = 0x9E3779B97F4A7C15ULL;
  uint64_t *r = (uint64_t *) m;
  for (size_t i = 0; i < size / 4 / 8; i++) {
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    r[i] = x;
  }
  const char *line = "2026-11-25T10:00:00Z INFO worker step completed residual 0.000131 ok\n";
  size_t len = strlen(line);
  for (size_t off = size / 4; off < size / 2; off += len) {
    memcpy(m + off, line, off + len <= size / 2 ? len : size / 2 - off);
  }
  printf("ready %p\n", (void *) m);
  fflush(stdout);
  if (argc > 1 && strcmp(argv[1], "churn") == 0) {
    size_t pages = size / 2 / 4096; /* the resident half */
    for (;;) {
      for (size_t k = 0; k < pages / 100 / 100; k++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        r[(x % pages) * 512 + (x >> 40) % 512] = x;
      }
      struct timespec ts = {0, 10000000};
      nanosleep(&ts, NULL);
    }
  }
  for (;;) pause();
}
