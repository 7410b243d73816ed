/* Reads an input file progressively; writes one output with lseek and appends to another. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 4) return 2;
  int in = open(argv[1], O_RDONLY);
  int seeked = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
  int appended = open(argv[3], O_WRONLY | O_CREAT | O_APPEND | O_TRUNC, 0644);
  if (in < 0 || seeked < 0 || appended < 0) return 3;
  setvbuf(stdout, NULL, _IOLBF, 0);
  char buf[4096];
  long block = 0;
  ssize_t n;
  unsigned long sum = 0;
  while ((n = read(in, buf, sizeof buf)) > 0) {
    for (ssize_t i = 0; i < n; i++) sum = sum * 131 + (unsigned char) buf[i];
    /* Blocks go to the seeked file in reverse pair order: a write at a computed offset. */
    off_t at = (block ^ 1) * (off_t) sizeof buf;
    lseek(seeked, at, SEEK_SET);
    write(seeked, buf, n);
    char line[128];
    int len = snprintf(line, sizeof line, "block %ld bytes %zd sum %lu\n", block, n, sum);
    write(appended, line, len);
    block++;
    struct timespec ts = {0, 3000000};
    nanosleep(&ts, NULL);
  }
  printf("read %ld blocks, sum %lu\n", block, sum);
  return 0;
}
