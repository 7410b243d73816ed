/*
 * A main thread and seven workers, each blocked in a different call between steps, so that a
 * checkpoint at any moment catches threads in futex, read, poll, nanosleep, a barrier and a
 * contended mutex. Every step, main asks each worker for a value and prints them: the output is
 * the same whatever the timing. Worker 7 dies holding a robust mutex halfway, which main must
 * see as EOWNERDEAD (the kernel walks the dead thread's robust list). At the end each worker
 * checks that the tid glibc cached (a mutex's owner) still equals gettid() and that its name and signal mask
 * are its own, and main joins them all (join waits on clear_child_tid).
 * Usage: mtworkers [steps]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int steps = 400;
static pthread_mutex_t m1 = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c1 = PTHREAD_COND_INITIALIZER;
static long req1 = -1, resp1 = -1;
static int a_req[2], a_resp[2], c_req[2], c_resp[2];
static atomic_long req4 = -1, resp4 = -1;
static pthread_barrier_t barrier;
static long data5, resp5;
static pthread_mutex_t m6 = PTHREAD_MUTEX_INITIALIZER;
static long counter6;
static atomic_int stop6;
static pthread_mutex_t robust;
static atomic_long step_now;
static pid_t tids[8];
static int failures;

static long f(long i, int k) { return (i * 2654435761L + k * 40503L) % 1000003L; }

static void sleep_ms(int ms) {
  struct timespec ts = {0, ms * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

static void check_self(int k, const char *name, int blocked) {
  char got[16];
  pthread_getname_np(pthread_self(), got, sizeof got);
  sigset_t mask;
  pthread_sigmask(SIG_BLOCK, NULL, &mask);
  pid_t tid = (pid_t) syscall(SYS_gettid);
  /* A mutex records its owner from the tid glibc cached in struct pthread at thread creation. */
  pthread_mutex_t mx = PTHREAD_MUTEX_INITIALIZER;
  pthread_mutex_lock(&mx);
  int cached = mx.__data.__owner;
  pthread_mutex_unlock(&mx);
  if (tid != cached || tid != tids[k] || strcmp(got, name) != 0 || sigismember(&mask, blocked) != 1) {
    printf("worker %d: tid %d cached %d recorded %d name %s mask ok %d\n", k, tid, cached, tids[k], got,
           sigismember(&mask, blocked));
    failures++;
  }
}

static void start(int k, const char *name, int blocked) {
  tids[k] = (pid_t) syscall(SYS_gettid);
  pthread_setname_np(pthread_self(), name);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, blocked);
  pthread_sigmask(SIG_BLOCK, &mask, NULL);
}

static void *w1(void *arg) { /* futex: condition variable */
  (void) arg;
  start(1, "w1-cond", SIGUSR1);
  long last = -1;
  pthread_mutex_lock(&m1);
  for (;;) {
    while (req1 == last) pthread_cond_wait(&c1, &m1);
    last = req1;
    if (last < 0) break;
    resp1 = f(last, 1);
    pthread_cond_broadcast(&c1);
  }
  pthread_mutex_unlock(&m1);
  check_self(1, "w1-cond", SIGUSR1);
  return NULL;
}

static void *w2(void *arg) { /* read */
  (void) arg;
  start(2, "w2-read", SIGUSR2);
  long i;
  while (read(a_req[0], &i, sizeof i) == sizeof i && i >= 0) {
    long r = f(i, 2);
    if (write(a_resp[1], &r, sizeof r) != sizeof r) abort();
  }
  check_self(2, "w2-read", SIGUSR2);
  return NULL;
}

static void *w3(void *arg) { /* poll */
  (void) arg;
  start(3, "w3-poll", SIGHUP);
  for (;;) {
    struct pollfd p = {c_req[0], POLLIN, 0};
    int n = poll(&p, 1, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n != 1) abort();
    long i;
    if (read(c_req[0], &i, sizeof i) != sizeof i) abort();
    if (i < 0) break;
    long r = f(i, 3);
    if (write(c_resp[1], &r, sizeof r) != sizeof r) abort();
  }
  check_self(3, "w3-poll", SIGHUP);
  return NULL;
}

static void *w4(void *arg) { /* nanosleep */
  (void) arg;
  start(4, "w4-sleep", SIGWINCH);
  long last = -1;
  for (;;) {
    long i = atomic_load(&req4);
    if (i == -2) break;
    if (i != last && i >= 0) {
      last = i;
      atomic_store(&resp4, f(i, 4));
    }
    sleep_ms(2);
  }
  check_self(4, "w4-sleep", SIGWINCH);
  return NULL;
}

static void *w5(void *arg) { /* barrier */
  (void) arg;
  start(5, "w5-barrier", SIGURG);
  for (;;) {
    pthread_barrier_wait(&barrier);
    if (data5 < 0) break;
    resp5 = f(data5, 5);
    pthread_barrier_wait(&barrier);
  }
  check_self(5, "w5-barrier", SIGURG);
  return NULL;
}

static void *w6(void *arg) { /* holds a mutex most of the time */
  (void) arg;
  start(6, "w6-holder", SIGPROF);
  while (!atomic_load(&stop6)) {
    pthread_mutex_lock(&m6);
    counter6 += 1000;
    sleep_ms(15);
    counter6 -= 1000;
    pthread_mutex_unlock(&m6);
    sleep_ms(1);
  }
  check_self(6, "w6-holder", SIGPROF);
  return NULL;
}

static void *w7(void *arg) { /* dies holding a robust mutex */
  (void) arg;
  start(7, "w7-robust", SIGALRM);
  pthread_mutex_lock(&robust);
  while (atomic_load(&step_now) < steps / 2) sleep_ms(3);
  return NULL; /* without unlocking: the kernel marks it owner-died */
}

int main(int argc, char **argv) {
  if (argc > 1) steps = atoi(argv[1]);
  setvbuf(stdout, NULL, _IOLBF, 0);
  tids[0] = (pid_t) syscall(SYS_gettid);
  if (pipe(a_req) || pipe(a_resp) || pipe(c_req) || pipe(c_resp)) return 2;
  pthread_barrier_init(&barrier, NULL, 2);
  pthread_mutexattr_t ra;
  pthread_mutexattr_init(&ra);
  pthread_mutexattr_setrobust(&ra, PTHREAD_MUTEX_ROBUST);
  pthread_mutex_init(&robust, &ra);
  void *(*fn[8])(void *) = {NULL, w1, w2, w3, w4, w5, w6, w7};
  pthread_t th[8];
  for (int k = 1; k <= 7; k++) pthread_create(&th[k], NULL, fn[k], NULL);
  sleep_ms(20);
  printf("started 8 threads\n");
  for (long i = 0; i < steps; i++) {
    atomic_store(&step_now, i);
    pthread_mutex_lock(&m1);
    req1 = i;
    pthread_cond_broadcast(&c1);
    while (resp1 != f(i, 1)) pthread_cond_wait(&c1, &m1);
    long r1 = resp1;
    pthread_mutex_unlock(&m1);
    long r2, r3;
    if (write(a_req[1], &i, sizeof i) != sizeof i || read(a_resp[0], &r2, sizeof r2) != sizeof r2) abort();
    if (write(c_req[1], &i, sizeof i) != sizeof i || read(c_resp[0], &r3, sizeof r3) != sizeof r3) abort();
    atomic_store(&req4, i);
    while (atomic_load(&resp4) != f(i, 4)) sleep_ms(1);
    data5 = i;
    pthread_barrier_wait(&barrier);
    pthread_barrier_wait(&barrier);
    pthread_mutex_lock(&m6);
    long c6 = counter6;
    pthread_mutex_unlock(&m6);
    printf("step %ld: %ld %ld %ld %ld %ld %ld\n", i, r1, r2, r3, (long) atomic_load(&resp4), resp5, c6);
    if (i == steps / 2 + 1) {
      pthread_join(th[7], NULL);
      int rc = pthread_mutex_lock(&robust);
      printf("robust mutex after its owner died: %s\n", rc == EOWNERDEAD ? "EOWNERDEAD" : strerror(rc));
      if (rc == EOWNERDEAD) pthread_mutex_consistent(&robust);
      pthread_mutex_unlock(&robust);
    }
    sleep_ms(3);
  }
  pthread_mutex_lock(&m1);
  req1 = -5;
  pthread_cond_broadcast(&c1);
  pthread_mutex_unlock(&m1);
  long end = -1;
  if (write(a_req[1], &end, sizeof end) != sizeof end || write(c_req[1], &end, sizeof end) != sizeof end) abort();
  atomic_store(&req4, -2);
  data5 = -1;
  pthread_barrier_wait(&barrier);
  atomic_store(&stop6, 1);
  for (int k = 1; k <= 6; k++) pthread_join(th[k], NULL);
  if (tids[0] != (pid_t) syscall(SYS_gettid) || tids[0] != getpid()) {
    printf("main: pid %d tid %ld recorded %d\n", getpid(), syscall(SYS_gettid), tids[0]);
    failures++;
  }
  printf("joined all, %d failures\n", failures);
  return failures == 0 ? 0 : 1;
}
