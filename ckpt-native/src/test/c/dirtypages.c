/* Memory that changes in every way page tracking must follow: pages rewritten at scattered
 * places every step, a buffer moved and grown by mremap, pages dropped with MADV_DONTNEED (they
 * read as zero after), a mapping made late, and, with "exec", the program exec'ing itself half
 * way (new memory, at the same addresses where the kernel chooses so). Its stack grows by 2 MiB
 * an eighth of the way (the stack mapping's start moves down). Every 10 steps it prints
 * a digest of all of it; output is the same however often it is checkpointed and restored.
 * Usage: dirtypages STEPS [exec [FROM]] */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096
#define A_PAGES 16384 /* 64 MiB */
#define B_PAGES 256

static uint64_t x = 0x9E3779B97F4A7C15ULL;
static uint64_t next(void) {
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return x;
}

/* 512 frames of 4 KiB: the stack mapping grows by 2 MiB. */
static uint64_t deep(int n) {
  volatile unsigned char frame[4096];
  frame[0] = (unsigned char) n;
  frame[4095] = (unsigned char) (n * 7);
  return n == 0 ? 1 : deep(n - 1) * 31 + frame[0] + frame[4095];
}

static uint64_t digest(const unsigned char *p, size_t n, uint64_t h) {
  const uint64_t *w = (const uint64_t *) p;
  for (size_t i = 0; i < n / 8; i++) {
    h = (h ^ w[i]) * 0x100000001B3ULL;
  }
  return h;
}

int main(int argc, char **argv) {
  int steps = argc > 1 ? atoi(argv[1]) : 200;
  int exec_at = argc > 2 && !strcmp(argv[2], "exec") ? steps / 2 : -1;
  int from = argc > 3 ? atoi(argv[3]) : 0;
  setvbuf(stdout, NULL, _IOLBF, 0);
  unsigned char *a = mmap(NULL, (size_t) A_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  size_t b_pages = B_PAGES;
  unsigned char *b = mmap(NULL, b_pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  unsigned char *c = NULL;
  if (a == MAP_FAILED || b == MAP_FAILED) {
    perror("mmap");
    return 2;
  }
  for (int i = 0; i < from; i++) {
    next(); /* an exec'd copy goes on with the same sequence */
  }
  /* Three quarters of a written, the last quarter never touched. */
  for (size_t i = 0; i < (size_t) A_PAGES * 3 / 4 * PAGE; i += 8) {
    *(uint64_t *) (a + i) = next();
  }
  memset(b, 0x5a, b_pages * PAGE);
  for (int s = from; s < steps; s++) {
    for (int k = 0; k < 2; k++) {
      size_t page = next() % A_PAGES;
      *(uint64_t *) (a + page * PAGE + (next() % (PAGE / 8)) * 8) = next();
    }
    b[(next() % b_pages) * PAGE] ^= (unsigned char) s;
    if (s == steps / 8) {
      printf("deep %016llx\n", (unsigned long long) deep(512));
    }
    if (s == steps / 4) {
      /* Grown by moving: the old address is free, the new one has the old pages. */
      unsigned char *moved = mremap(b, b_pages * PAGE, 2 * b_pages * PAGE, MREMAP_MAYMOVE);
      if (moved == MAP_FAILED) {
        perror("mremap");
        return 2;
      }
      b = moved;
      memset(b + b_pages * PAGE, 0x33, b_pages * PAGE);
      b_pages *= 2;
    }
    if (s == steps * 3 / 8) {
      madvise(a + 64 * PAGE, 32 * PAGE, MADV_DONTNEED);
    }
    if (s == steps / 2 + 5) {
      c = mmap(NULL, 64 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      memset(c, 0x77, 64 * PAGE);
    }
    if (c != NULL) {
      c[(next() % 64) * PAGE + 1] = (unsigned char) s;
    }
    if (s % 10 == 0) {
      uint64_t h = digest(a, (size_t) A_PAGES * PAGE, 0xcbf29ce484222325ULL);
      h = digest(b, b_pages * PAGE, h);
      if (c != NULL) {
        h = digest(c, 64 * PAGE, h);
      }
      printf("step %d digest %016llx\n", s, (unsigned long long) h);
    }
    if (s == exec_at) {
      char steps_arg[16], from_arg[16];
      snprintf(steps_arg, sizeof steps_arg, "%d", steps);
      snprintf(from_arg, sizeof from_arg, "%d", s + 1);
      /* The copy rebuilds its memory from the same sequence, so its digests go on as one run's. */
      execl("/proc/self/exe", argv[0], steps_arg, "exec-done", from_arg, (char *) NULL);
      perror("exec");
      return 2;
    }
    struct timespec ts = {0, 10000000};
    while (nanosleep(&ts, &ts) != 0) {
    }
  }
  printf("done\n");
  return 0;
}
