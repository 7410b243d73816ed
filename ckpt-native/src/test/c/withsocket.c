/* Holds a UDP socket open on fd 3 while counting. */
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>

int main(void) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (int i = 0; i < 150; i++) {
    printf("tick %d socket %d\n", i, s);
    struct timespec ts = {0, 10000000};
    while (nanosleep(&ts, &ts) != 0) {
    }
  }
  return 0;
}
