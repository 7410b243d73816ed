/* Spends nearly all its time blocked in nanosleep (restarted via the restart block). */
#include <stdio.h>
#include <time.h>

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (int i = 0; i < 6; i++) {
    struct timespec ts = {0, 400000000};
    while (nanosleep(&ts, &ts) != 0) {
    }
    printf("woke %d\n", i);
  }
  return 0;
}
