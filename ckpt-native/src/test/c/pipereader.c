/* Blocks in read() on its stdin (a pipe or FIFO) and echoes numbered lines until EOF. */
#include <stdio.h>
#include <unistd.h>

int main(void) {
  char buf[256];
  ssize_t n;
  long total = 0, reads = 0;
  while ((n = read(0, buf, sizeof buf)) > 0) {
    total += n;
    reads++;
    printf("got %zd bytes (total %ld)\n", n, total);
    fflush(stdout);
  }
  printf("eof after %ld bytes\n", total);
  return 0;
}
