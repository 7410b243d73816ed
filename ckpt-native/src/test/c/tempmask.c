/* Waits with a temporary signal mask: rt_sigsuspend, ppoll and pselect6 unblock SIGALRM only while
 * they wait. A checkpoint catches the process inside one of them, where the kernel shows the
 * temporary mask; after each wait the program checks that its own mask (SIGALRM and SIGUSR1
 * blocked) is back. With the argument "threads", three threads wait at once, one per kind, and the
 * first has a SIGUSR1 from pthread_kill pending (blocked) throughout. */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/time.h>
#include <unistd.h>

static volatile sig_atomic_t alarms;
static void on_alarm(int s) { (void) s; alarms++; }

static void check_mask(const char *where) {
  sigset_t now;
  pthread_sigmask(SIG_BLOCK, NULL, &now);
  if (!sigismember(&now, SIGALRM) || !sigismember(&now, SIGUSR1) || sigismember(&now, SIGUSR2)) {
    printf("%s: mask after the wait is not the program's own (alrm %d usr1 %d usr2 %d)\n", where,
        sigismember(&now, SIGALRM), sigismember(&now, SIGUSR1), sigismember(&now, SIGUSR2));
    fflush(stdout);
    exit(3);
  }
}

static void wait_once(int kind, const sigset_t *during) {
  struct timespec ts = {5, 0};
  switch (kind) {
    case 0: sigsuspend(during); break;
    case 1: ppoll(NULL, 0, &ts, during); break;
    default: pselect(0, NULL, NULL, NULL, &ts, during); break;
  }
  check_mask(kind == 0 ? "sigsuspend" : kind == 1 ? "ppoll" : "pselect");
}

static void *waiter(void *arg) {
  sigset_t during;
  sigemptyset(&during);
  sigaddset(&during, SIGUSR1);
  sigaddset(&during, SIGUSR2);
  while (alarms < 90) {
    wait_once((int) (long) arg, &during);
  }
  if (arg == 0) {
    sigset_t pending;
    sigpending(&pending);
    printf("thread 0: SIGUSR1 pending %d\n", sigismember(&pending, SIGUSR1));
  }
  return NULL;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, NULL);
  sigset_t mine, during;
  sigemptyset(&mine);
  sigaddset(&mine, SIGALRM);
  sigaddset(&mine, SIGUSR1);
  sigprocmask(SIG_SETMASK, &mine, NULL);
  sigemptyset(&during);
  sigaddset(&during, SIGUSR1);
  sigaddset(&during, SIGUSR2);
  struct itimerval it = {{0, 20000}, {0, 20000}};
  setitimer(ITIMER_REAL, &it, NULL);
  if (argc > 1 && strcmp(argv[1], "threads") == 0) {
    pthread_t t[3];
    for (long k = 0; k < 3; k++) {
      pthread_create(&t[k], NULL, waiter, (void *) k);
    }
    pthread_kill(t[0], SIGUSR1);
    for (int k = 0; k < 3; k++) {
      pthread_join(t[k], NULL);
    }
    printf("threads done\n");
    return 0;
  }
  int last = -1;
  int kind = 0;
  while (alarms < 90) {
    wait_once(kind, &during);
    int now = alarms / 10 * 10;
    if (now > last && now > 0) {
      last = now;
      kind = (kind + 1) % 3;
      printf("alarms %d, next wait %s\n", now, kind == 0 ? "sigsuspend" : kind == 1 ? "ppoll" : "pselect");
    }
  }
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, NULL);
  check_mask("end");
  printf("done\n");
  return 0;
}
