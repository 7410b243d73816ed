/* Two threads: ckpt refuses to checkpoint it, naming the thread count. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static void *idle(void *arg) { (void) arg; sleep(30); return NULL; }

int main(void) {
  pthread_t t;
  pthread_create(&t, NULL, idle, NULL);
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("two threads\n");
  sleep(30);
  return 0;
}
