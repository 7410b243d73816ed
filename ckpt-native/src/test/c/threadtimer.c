/*
 * A worker thread with a periodic POSIX timer aimed at itself (SIGEV_THREAD_ID, 5 ms, SIGUSR1,
 * blocked and taken with sigwaitinfo), while the main thread sleeps in join. The worker prints
 * every 50th tick and whether the signal reached its own tid: the output is the same whatever
 * the timing. Usage: threadtimer [ticks]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int ticks = 500;

static void *worker(void *arg) {
  (void) arg;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  pid_t me = (pid_t) syscall(SYS_gettid);
  struct sigevent ev = {0};
  ev.sigev_notify = SIGEV_THREAD_ID;
  ev.sigev_signo = SIGUSR1;
  ev._sigev_un._tid = me;
  ev.sigev_value.sival_int = 42;
  timer_t timer;
  if (timer_create(CLOCK_MONOTONIC, &ev, &timer)) { perror("timer_create"); exit(2); }
  struct itimerspec its = {{0, 5000000}, {0, 5000000}};
  if (timer_settime(timer, 0, &its, NULL)) { perror("timer_settime"); exit(2); }
  for (int n = 1; n <= ticks; n++) {
    siginfo_t info;
    int got;
    /* Linux lets sigwaitinfo fail with EINTR when the process is stopped and continued (signal(7)),
     * which a checkpoint's freeze does too; glibc's sigwait() retries the same way. */
    while ((got = sigwaitinfo(&set, &info)) < 0 && errno == EINTR) {}
    if (got != SIGUSR1) { perror("sigwaitinfo"); exit(3); }
    if (info.si_value.sival_int != 42 || (pid_t) syscall(SYS_gettid) != me) {
      printf("tick %d: wrong value %d or thread\n", n, info.si_value.sival_int);
      exit(4);
    }
    if (n % 50 == 0) printf("tick %d in the timer's own thread\n", n);
  }
  return NULL;
}

int main(int argc, char **argv) {
  if (argc > 1) ticks = atoi(argv[1]);
  setvbuf(stdout, NULL, _IOLBF, 0);
  pthread_t t;
  pthread_create(&t, NULL, worker, NULL);
  pthread_join(t, NULL);
  printf("done\n");
  return 0;
}
