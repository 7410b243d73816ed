/* Shared anonymous memory and a memfd mapping, both changed across the checkpoint. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

int main(void) {
  size_t size = 4 << 20;
  uint32_t *shared = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  int fd = memfd_create("ckpt-test", 0);
  if (shared == MAP_FAILED || fd < 0 || ftruncate(fd, size) != 0) return 2;
  uint32_t *mf = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd); /* only the mapping remains: no descriptor to save */
  if (mf == MAP_FAILED) return 3;
  setvbuf(stdout, NULL, _IOLBF, 0);
  size_t n = size / 4;
  for (int round = 0; round < 60; round++) {
    uint64_t a = 0, b = 0;
    for (size_t i = 0; i < n; i++) {
      shared[i] = shared[i] * 2654435761u + (uint32_t) round;
      mf[i] = mf[i] ^ (shared[i] >> 3);
      a += shared[i];
      b += mf[i];
    }
    printf("round %d shared %llu memfd %llu\n", round, (unsigned long long) a, (unsigned long long) b);
    struct timespec ts = {0, 30000000};
    while (nanosleep(&ts, &ts) != 0) {
    }
  }
  return 0;
}
