/*
 * A parent and two children, for process trees: Z exits at once with status 7 and stays a zombie
 * until the parent reaps it at the end; A leads its own process group and takes turns with the
 * parent, both writing lines through one inherited descriptor (one shared offset) and counters in
 * one MAP_SHARED anonymous page. Near the end the parent signals A's group. Everything printed is
 * the same whatever the timing, and names no pid.
 * Usage: family [steps] (writes family.log in the working directory)
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct counters { long p, a; };
static volatile sig_atomic_t usr1;

static void on_usr1(int sig) { (void) sig; usr1++; }

static void sleep_ms(int ms) {
  struct timespec ts = {0, ms * 1000000L};
  nanosleep(&ts, NULL);
}

static void put(int fd, const char *who, long i) {
  char line[64];
  int n = snprintf(line, sizeof line, "%s %ld\n", who, i);
  if (write(fd, line, (size_t) n) != n) abort();
}

int main(int argc, char **argv) {
  int steps = argc > 1 ? atoi(argv[1]) : 300;
  setvbuf(stdout, NULL, _IOLBF, 0);
  struct counters *shm = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (shm == MAP_FAILED) return 2;
  int log = open("family.log", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  int ping[2], pong[2];
  if (log < 0 || pipe(ping) || pipe(pong)) return 2;
  pid_t parent = getpid();
  pid_t z = fork();
  if (z == 0) _exit(7);
  pid_t a = fork();
  if (a == 0) {
    setpgid(0, 0);
    signal(SIGUSR1, on_usr1);
    long i;
    while (read(ping[0], &i, sizeof i) == sizeof i && i >= 0) {
      shm->a += i;
      put(log, "A", i);
      if (write(pong[1], &i, sizeof i) != sizeof i) abort();
    }
    printf("A: own group %s, parent %s, SIGUSR1 taken %d times\n", getpgrp() == getpid() ? "yes" : "no",
           getppid() == parent ? "kept" : "changed", (int) usr1);
    fflush(stdout);
    _exit(40 + (int) usr1);
  }
  setpgid(a, a);
  printf("started A and Z\n");
  for (long i = 0; i < steps; i++) {
    shm->p += i;
    put(log, "P", i);
    if (write(ping[1], &i, sizeof i) != sizeof i) abort();
    long back;
    if (read(pong[0], &back, sizeof back) != sizeof back || back != i) abort();
    printf("step %ld: p %ld a %ld\n", i, shm->p, shm->a);
    if (i == steps - 5) {
      kill(-a, SIGUSR1);
      sleep_ms(20);
    }
    sleep_ms(8);
  }
  long end = -1;
  if (write(ping[1], &end, sizeof end) != sizeof end) abort();
  int st;
  if (waitpid(a, &st, 0) != a) return 3;
  printf("A exited with %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st));
  if (waitpid(z, &st, 0) != z) return 4;
  printf("Z (a zombie all along) exited with %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st));
  printf("log offset %ld\n", (long) lseek(log, 0, SEEK_CUR));
  return 0;
}
