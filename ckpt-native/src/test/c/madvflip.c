/* A mapping whose fork advice changes every 20 ms, MADV_WIPEONFORK then MADV_KEEPONFORK, while
 * it keeps a pattern: a checkpoint must not take the advice the census read before its freeze for
 * the one at the freeze (a wiped snapshot would store zeros). Each step checks the pattern and
 * prints "it N", or "CORRUPT" and exits 1. Usage: madvflip STEPS */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#define PAGE 4096
#define PAGES 64

int main(int argc, char **argv) {
  int steps = argc > 1 ? atoi(argv[1]) : 1000;
  setvbuf(stdout, NULL, _IOLBF, 0);
  /* Guard pages around it: the advised mapping is a VMA of its own, advised whole, never split or merged. */
  unsigned char *all = mmap(NULL, (PAGES + 2) * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (all == MAP_FAILED || mprotect(all, PAGE, PROT_NONE) || mprotect(all + (PAGES + 1) * PAGE, PAGE, PROT_NONE)) {
    perror("mmap");
    return 2;
  }
  unsigned char *a = all + PAGE;
  for (int i = 0; i < PAGES * PAGE; i++) {
    a[i] = (unsigned char) (i * 7 + 1);
  }
  for (int s = 0; s < steps; s++) {
    if (madvise(a, PAGES * PAGE, s % 2 ? MADV_KEEPONFORK : MADV_WIPEONFORK)) {
      perror("madvise");
      return 2;
    }
    for (int i = 0; i < PAGES * PAGE; i++) {
      if (a[i] != (unsigned char) (i * 7 + 1)) {
        printf("CORRUPT at byte %d, step %d\n", i, s);
        return 1;
      }
    }
    printf("it %d\n", s);
    struct timespec t = {0, 20 * 1000 * 1000};
    nanosleep(&t, NULL);
  }
  return 0;
}
