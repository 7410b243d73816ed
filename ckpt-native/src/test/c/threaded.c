/*
 * Two threads that sleep. With "nice", the second thread lowers its own priority (nice 5), which
 * restore could not give it apart from the main thread's: ckpt refuses it, naming the thread.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

static int nice_thread;

static void *idle(void *arg) {
  (void) arg;
  if (nice_thread) setpriority(PRIO_PROCESS, (id_t) syscall(SYS_gettid), 5);
  sleep(30);
  return NULL;
}

int main(int argc, char **argv) {
  nice_thread = argc > 1 && strcmp(argv[1], "nice") == 0;
  pthread_t t;
  pthread_create(&t, NULL, idle, NULL);
  setvbuf(stdout, NULL, _IOLBF, 0);
  usleep(20000);
  printf("two threads\n");
  sleep(30);
  return 0;
}
