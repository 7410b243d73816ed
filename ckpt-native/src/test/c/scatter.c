/* One byte written in every 16th page of 64 MiB of random data: scattered writes, one page in
 * each 64 KiB window. Fills its memory from a seeded generator, prints "ready", waits for the
 * file ARGV[1].go, writes the pages, prints "written", waits for ARGV[1].end, then prints a
 * digest of all of it and exits. The digest is the same whenever it is checkpointed and
 * restored. Usage: scatter PATH */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096
#define PAGES 16384

static uint64_t x = 0x2545F4914F6CDD1DULL;
static uint64_t next(void) {
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return x;
}

static void await(const char *base, const char *suffix) {
  char path[4096];
  snprintf(path, sizeof path, "%s%s", base, suffix);
  struct timespec ten = {0, 10 * 1000 * 1000};
  for (int i = 0; i < 6000 && access(path, F_OK) != 0; i++) { /* at most a minute */
    nanosleep(&ten, NULL);
  }
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: scatter PATH\n");
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  unsigned char *a = mmap(NULL, (size_t) PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (a == MAP_FAILED) {
    perror("mmap");
    return 2;
  }
  for (size_t i = 0; i < (size_t) PAGES * PAGE; i += 8) {
    *(uint64_t *) (a + i) = next();
  }
  printf("ready\n");
  await(argv[1], ".go");
  for (size_t p = 5; p < PAGES; p += 16) {
    a[p * PAGE + next() % PAGE] ^= 0xa5;
  }
  printf("written\n");
  await(argv[1], ".end");
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < (size_t) PAGES * PAGE; i += 8) {
    h = (h ^ *(uint64_t *) (a + i)) * 0x100000001B3ULL;
  }
  printf("digest %016llx\n", (unsigned long long) h);
  return 0;
}
