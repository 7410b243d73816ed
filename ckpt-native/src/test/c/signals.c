/* SIGALRM from an itimer, a SIGUSR1 handler, and SIGUSR2 blocked and pending across the checkpoint. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t alarms, usr1, usr2;
static void on_alarm(int s) { (void) s; alarms++; }
static void on_usr1(int s) { (void) s; usr1++; }
static void on_usr2(int s) { (void) s; usr2++; }

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm; sigaction(SIGALRM, &sa, NULL);
  sa.sa_handler = on_usr1; sigaction(SIGUSR1, &sa, NULL);
  sa.sa_handler = on_usr2; sa.sa_flags = SA_RESTART; sigaction(SIGUSR2, &sa, NULL);
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR2);
  sigprocmask(SIG_BLOCK, &block, NULL);
  raise(SIGUSR2); /* stays pending until the end */
  struct itimerval it = {{0, 20000}, {0, 20000}};
  setitimer(ITIMER_REAL, &it, NULL);
  int last = -1;
  while (alarms < 100) {
    pause();
    int now = alarms / 10 * 10;
    if (now > last && now > 0) {
      /* Each multiple of 10 once, even if two alarms came in one pause: the timer runs on while a
       * checkpoint freezes the process (as it would through SIGSTOP/SIGCONT), and an alarm that
       * expires during the freeze can be taken right after the one being handled then. */
      last = now;
      raise(SIGUSR1);
      printf("alarms %d usr1 %d usr2 %d\n", now, (int) usr1, (int) usr2);
    }
  }
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, NULL);
  sigset_t pending;
  sigpending(&pending);
  printf("usr2 pending before unblock: %d\n", sigismember(&pending, SIGUSR2));
  sigprocmask(SIG_UNBLOCK, &block, NULL);
  printf("done: usr1 %d usr2 %d\n", (int) usr1, (int) usr2);
  return 0;
}
