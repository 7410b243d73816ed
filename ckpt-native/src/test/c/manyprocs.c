/*
 * A parent and N-1 children (50 processes by default), each child hashing in rounds with a short
 * sleep and exiting with a code of its own. The parent reaps them in order and prints one line
 * per child and a total, the same whatever the timing. Usage: manyprocs [processes] [rounds]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 50;
  int rounds = argc > 2 ? atoi(argv[2]) : 100;
  setvbuf(stdout, NULL, _IOLBF, 0);
  pid_t *kids = calloc((size_t) n, sizeof *kids);
  for (int i = 1; i < n; i++) {
    kids[i] = fork();
    if (kids[i] == 0) {
      uint64_t h = (uint64_t) i * 0x9E3779B97F4A7C15ULL;
      for (int r = 0; r < rounds; r++) {
        for (int k = 0; k < 2000; k++) h = (h ^ (h >> 29)) * 0xBF58476D1CE4E5B9ULL + (uint64_t) r;
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
      }
      _exit((int) (h % 200));
    }
  }
  printf("%d processes started\n", n);
  long total = 0;
  for (int i = 1; i < n; i++) {
    int st;
    if (waitpid(kids[i], &st, 0) != kids[i]) return 3;
    printf("child %d exited with %d\n", i, WEXITSTATUS(st));
    total += WEXITSTATUS(st);
  }
  printf("total %ld\n", total);
  return 0;
}
