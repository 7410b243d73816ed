/* Reads a pipe slowly to its end and prints a running checksum, so a checkpoint finds bytes
 * still unread in the pipe. "self N": writes N bytes of a fixed pattern into a pipe from a child
 * that exits (and is reaped) before reading starts: the writer is gone, the bytes wait in the
 * pipe. "stdin": reads standard input (a pipe or FIFO given by the caller). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc > 2 && !strcmp(argv[1], "self")) {
    long n = atol(argv[2]);
    int p[2];
    if (pipe(p) != 0) { perror("pipe"); return 1; }
    pid_t child = fork();
    if (child == 0) {
      close(p[0]);
      unsigned char buf[4096];
      unsigned x = 12345;
      for (long done = 0; done < n;) {
        int k = n - done < (long) sizeof buf ? (int) (n - done) : (int) sizeof buf;
        for (int i = 0; i < k; i++) { x = x * 1103515245u + 12345u; buf[i] = (unsigned char) (x >> 16); }
        if (write(p[1], buf, k) != k) _exit(1);
        done += k;
      }
      _exit(0);
    }
    close(p[1]);
    int st;
    waitpid(child, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) { fprintf(stderr, "writer failed\n"); return 1; }
    dup2(p[0], 0);
    close(p[0]);
  }
  unsigned char buf[1000];
  unsigned long sum = 0, total = 0, reads = 0;
  for (;;) {
    ssize_t k = read(0, buf, sizeof buf);
    if (k < 0) { perror("read"); return 1; }
    if (k == 0) break;
    for (ssize_t i = 0; i < k; i++) sum = sum * 31 + buf[i];
    total += k;
    if (++reads % 8 == 0) printf("%lu bytes, sum %016lx\n", total, sum);
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  printf("eof after %lu bytes, sum %016lx\n", total, sum);
  return 0;
}
