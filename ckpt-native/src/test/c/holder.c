/* Holds one kernel resource named by argv[1], then ticks 150 times, 10 ms apart, and reports
 * whether everything it set up is as it left it. A census test checks that a dump refuses the
 * resource by name and leaves the program running unharmed; "attrs" sets process attributes that
 * ckpt captures, and prints them, so a restore can be compared with an uninterrupted run. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/membarrier.h>
#include <linux/seccomp.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MEMBARRIER_CMD_GET_REGISTRATIONS
#define MEMBARRIER_CMD_GET_REGISTRATIONS (1 << 9)
#endif

static void die(const char *what) { perror(what); exit(2); }

/* Sends one byte carrying descriptor fd (SCM_RIGHTS) over socket sock. */
static void send_fd(int sock, int fd) {
  char c = 'x';
  struct iovec iov = {&c, 1};
  union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } u;
  struct msghdr m = {0};
  m.msg_iov = &iov; m.msg_iovlen = 1; m.msg_control = u.buf; m.msg_controllen = sizeof u.buf;
  struct cmsghdr *c1 = CMSG_FIRSTHDR(&m);
  c1->cmsg_level = SOL_SOCKET; c1->cmsg_type = SCM_RIGHTS; c1->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c1), &fd, sizeof fd);
  if (sendmsg(sock, &m, 0) != 1) die("sendmsg");
}

static char *advised, *shared_file;
static timer_t periodic, oneshot;
static int selfpipe[2] = {-1, -1};
static volatile sig_atomic_t timer_signals, wrong_value;

static void on_timer(int sig, siginfo_t *si, void *ctx) {
  (void) sig; (void) ctx;
  timer_signals++;
  if (si->si_code != SI_TIMER || si->si_value.sival_int != 4242) wrong_value++;
}

/* The VmFlags of the mapping at addr, less those that depend on the kernel's own bookkeeping. */
static void print_flags(const char *name, void *addr) {
  char want[32], line[512];
  snprintf(want, sizeof want, "%lx-", (unsigned long) addr);
  FILE *f = fopen("/proc/self/smaps", "r");
  int in = 0;
  while (f && fgets(line, sizeof line, f)) {
    if (!strncmp(line, want, strlen(want))) in = 1;
    else if (in && !strncmp(line, "VmFlags:", 8)) {
      char out[256] = "";
      for (char *tok = strtok(line + 8, " \n"); tok; tok = strtok(NULL, " \n")) {
        if (!strcmp(tok, "ac") || !strcmp(tok, "sd")) continue;
        strcat(out, " "); strcat(out, tok);
      }
      printf("  %s:%s\n", name, out);
      break;
    }
  }
  if (f) fclose(f);
}

static void attrs_report(int tick) {
  struct rlimit nofile, core;
  getrlimit(RLIMIT_NOFILE, &nofile);
  getrlimit(RLIMIT_CORE, &core);
  stack_t ss;
  sigaltstack(NULL, &ss);
  char oom[32] = "";
  FILE *f = fopen("/proc/self/oom_score_adj", "r");
  if (f) { if (!fgets(oom, sizeof oom, f)) oom[0] = 0; fclose(f); oom[strcspn(oom, "\n")] = 0; }
  int pdeath = 0;
  prctl(PR_GET_PDEATHSIG, &pdeath);
  errno = 0;
  int nice = getpriority(PRIO_PROCESS, 0);
  cpu_set_t cpus;
  sched_getaffinity(0, sizeof cpus, &cpus);
  printf("tick %d nofile %ld/%ld core %ld/%ld nnp %d thp %d pers 0x%x nice %d oom %s pdeath %d subreaper %d "
         "membarrier 0x%lx altstack %s %zu cpus %d dumpable %d\n",
         tick, (long) nofile.rlim_cur, (long) nofile.rlim_max, (long) core.rlim_cur, (long) core.rlim_max,
         prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0), personality(0xffffffff),
         nice, oom, pdeath, ({ int r = 0; prctl(PR_GET_CHILD_SUBREAPER, &r); r; }),
         (long) syscall(SYS_membarrier, MEMBARRIER_CMD_GET_REGISTRATIONS, 0, 0),
         ss.ss_flags & SS_DISABLE ? "off" : "on", ss.ss_size, CPU_COUNT(&cpus), prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  const char *mode = argc > 1 ? argv[1] : "";
  char dir[] = "/tmp/ckpt-holder-XXXXXX";
  int fd = -1;
  if (!strcmp(mode, "epollready") || !strcmp(mode, "epollet")) {
    /* Two eventfds with a count (fds 3 and 4) watched level-triggered, or one edge-triggered. */
    int a = eventfd(1, 0), b = eventfd(1, 0);
    fd = epoll_create1(0);
    struct epoll_event ev = {EPOLLIN | (!strcmp(mode, "epollet") ? EPOLLET : 0), {.u64 = 1}};
    epoll_ctl(fd, EPOLL_CTL_ADD, a, &ev);
    if (!strcmp(mode, "epollready")) epoll_ctl(fd, EPOLL_CTL_ADD, b, &ev);
  } else if (!strcmp(mode, "epollstale")) {
    /* fd 3 is watched, then moved to fd 5: the watch still names fd 3, which is closed. */
    int a = eventfd(0, 0);
    fd = epoll_create1(0);
    struct epoll_event ev = {EPOLLIN, {.u64 = 1}};
    epoll_ctl(fd, EPOLL_CTL_ADD, a, &ev);
    dup(a);
    close(a);
  } else if (!strcmp(mode, "epollnested")) {
    int inner = epoll_create1(0);
    fd = epoll_create1(0);
    struct epoll_event ev = {EPOLLIN, {.u64 = 1}};
    epoll_ctl(fd, EPOLL_CTL_ADD, inner, &ev);
  } else if (!strcmp(mode, "timerfdcancel")) {
    fd = timerfd_create(CLOCK_REALTIME, 0);
    struct itimerspec at = {{0, 0}, {time(NULL) + 3600, 0}};
    if (timerfd_settime(fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &at, NULL)) die("timerfd_settime");
  } else if (!strcmp(mode, "unixnamed") || !strcmp(mode, "unixlisten")) {
    /* An AF_UNIX socket bound to an abstract name, listening or not (fd 3). */
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {AF_UNIX, ""};
    snprintf(a.sun_path + 1, sizeof a.sun_path - 1, "ckpt-holder-%d", (int) getpid());
    if (bind(fd, (struct sockaddr *) &a, sizeof a)) die("bind");
    if (!strcmp(mode, "unixlisten") && listen(fd, 4)) die("listen");
  } else if (!strcmp(mode, "unixoutside")) {
    /* fd 3's peer (fd 4, closed here) is held by a grandchild that left the tree. */
    int sp[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp)) die("socketpair");
    if (fork() == 0) {
      if (fork() == 0) {
        sleep(20);
        _exit(0);
      }
      _exit(0);
    }
    wait(NULL);
    close(sp[1]);
    fd = sp[0];
  } else if (!strncmp(mode, "unix", 4) && strstr("unixfds unixpasscred unixpasspidfd unixoob unixempty", mode)) {
    /* A pair (fds 3 and 4) whose fd 4 has a descriptor (SCM_RIGHTS), out-of-band data or an
     * empty message queued, or whose fd 3 passes credentials or pidfds. */
    int sp[2];
    if (socketpair(AF_UNIX, !strcmp(mode, "unixoob") ? SOCK_STREAM : SOCK_DGRAM, 0, sp)) die("socketpair");
    int on = 1;
    if (!strcmp(mode, "unixfds")) send_fd(sp[0], 0);
    else if (!strcmp(mode, "unixpasscred") && setsockopt(sp[0], SOL_SOCKET, SO_PASSCRED, &on, sizeof on)) die("SO_PASSCRED");
    else if (!strcmp(mode, "unixpasspidfd") && setsockopt(sp[0], SOL_SOCKET, 76 /* SO_PASSPIDFD */, &on, sizeof on)) die("SO_PASSPIDFD");
    else if (!strcmp(mode, "unixoob") && (send(sp[0], "ab", 2, 0) != 2 || send(sp[0], "x", 1, MSG_OOB) != 1
        || send(sp[0], "cd", 2, 0) != 2)) die("send");
    else if (!strcmp(mode, "unixempty") && send(sp[0], "", 0, 0) != 0) die("send");
    fd = sp[0];
  } else if (!strcmp(mode, "unixunaccepted")) {
    /* fd 3 is connected to the listener on fd 4, which has not accepted it. */
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {AF_UNIX, ""};
    snprintf(a.sun_path + 1, sizeof a.sun_path - 1, "ckpt-holder-l-%d", (int) getpid());
    if (bind(l, (struct sockaddr *) &a, sizeof a) || listen(l, 4)) die("listen");
    if (connect(fd, (struct sockaddr *) &a, sizeof a)) die("connect");
  } else if (!strcmp(mode, "unixinflight")) {
    /* fd 3's peer was sent over another pair (fds 5 and 6) and closed: it is only in flight. */
    int sp[2], carrier[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) || socketpair(AF_UNIX, SOCK_DGRAM, 0, carrier)) die("socketpair");
    send_fd(carrier[0], sp[1]);
    close(sp[1]);
    fd = sp[0];
  } else if (!strcmp(mode, "epollreused")) {
    /* epoll fd 4 watches the eventfd first opened as fd 3 (now fd 5) and a second one that got
     * the number 3 again. */
    int a = eventfd(0, 0);
    fd = epoll_create1(0);
    struct epoll_event ev = {EPOLLIN, {.u64 = 1}};
    epoll_ctl(fd, EPOLL_CTL_ADD, a, &ev);
    dup(a);
    close(a);
    int b = eventfd(0, 0);
    epoll_ctl(fd, EPOLL_CTL_ADD, b, &ev);
  } else if (!strcmp(mode, "epolloneshot")) {
    /* An eventfd (fd 3) watched one-shot by epoll fd 4, fired once and not re-armed. */
    int e = eventfd(1, 0);
    fd = epoll_create1(0);
    struct epoll_event ev = {EPOLLIN | EPOLLONESHOT, {.u64 = 1}};
    epoll_ctl(fd, EPOLL_CTL_ADD, e, &ev);
    if (epoll_wait(fd, &ev, 1, 1000) != 1) die("epoll_wait");
  } else if (!strcmp(mode, "inotify")) fd = inotify_init1(0);
  else if (!strcmp(mode, "opath")) fd = open("/tmp", O_PATH);
  else if (!strcmp(mode, "plain")) fd = 0;
  else if (!strcmp(mode, "schedbatch")) {
    struct sched_param sp = {0};
    if (sched_setscheduler(0, SCHED_BATCH, &sp)) die("sched_setscheduler");
    fd = 0;
  } else if (!strcmp(mode, "sigtrap")) {
    sigset_t s; sigemptyset(&s); sigaddset(&s, SIGTRAP);
    sigprocmask(SIG_BLOCK, &s, NULL);
    raise(SIGTRAP); /* stays pending: blocked */
    fd = 0;
  } else if (!strcmp(mode, "oasync")) {
    int p[2];
    if (pipe(p) || fcntl(p[0], F_SETFL, O_ASYNC)) die("O_ASYNC");
    fd = p[0];
  } else if (!strcmp(mode, "mseal")) {
    void *m = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED || syscall(462, m, 4096, 0)) die("mseal");
    fd = 0;
  } else if (!strcmp(mode, "chroot")) {
    if (chroot("/tmp")) die("chroot");
    fd = 0;
  } else if (!strcmp(mode, "gid")) {
    if (setresgid(-1, 65534, -1)) die("setresgid");
    fd = 0;
  } else if (!strcmp(mode, "selfpipe")) {
    /* Both ends held: bytes written before the checkpoint are read after it, then more go round. */
    int p[2];
    if (pipe(p)) die("pipe");
    selfpipe[0] = p[0]; selfpipe[1] = p[1];
    unsigned char buf[30000];
    for (int i = 0; i < (int) sizeof buf; i++) buf[i] = (unsigned char) (i * 7 + i / 251);
    if (write(p[1], buf, sizeof buf) != (ssize_t) sizeof buf) die("write");
    fd = 0;
  } else if (!strcmp(mode, "brokenpipe")) {
    /* A write end whose read end is closed: every write fails with EPIPE, before and after. */
    int p[2];
    if (pipe(p)) die("pipe");
    close(p[0]);
    signal(SIGPIPE, SIG_IGN);
    selfpipe[1] = p[1];
    fd = 0;
  }
  else if (!strcmp(mode, "pipereopen")) {
    int p[2];
    if (pipe(p)) die("pipe");
    char path[64]; snprintf(path, sizeof path, "/proc/self/fd/%d", p[0]);
    fd = open(path, O_RDONLY | O_NONBLOCK); /* a second open file description of the read end */
  }
  else if (!strcmp(mode, "procfd")) fd = open("/proc/1/stat", O_RDONLY);
  else if (!strcmp(mode, "flock")) {
    snprintf(dir, sizeof dir, "/tmp/ckpt-lock-%d", (int) getpid());
    fd = open(dir, O_CREAT | O_RDWR, 0600);
    if (fd < 0 || flock(fd, LOCK_EX) != 0) die("flock");
  }
  else if (!strcmp(mode, "posixtimer")) {
    /* Two timers with chosen ids: a periodic one signalling SIGUSR1 with a value, and a silent one-shot. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_timer;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1};
    ev.sigev_value.sival_int = 4242;
    struct sigevent quiet = {.sigev_notify = SIGEV_NONE};
    if (timer_create(CLOCK_MONOTONIC, &ev, &periodic) || timer_create(CLOCK_REALTIME, &quiet, &oneshot)) die("timer_create");
    struct itimerspec every = {{0, 30 * 1000 * 1000}, {0, 30 * 1000 * 1000}}, later = {{0, 0}, {100, 0}};
    if (timer_settime(periodic, 0, &every, NULL) || timer_settime(oneshot, 0, &later, NULL)) die("timer_settime");
    fd = 0;
  } else if (!strcmp(mode, "seccomp")) {
    struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    struct sock_fprog prog = {1, &allow};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) die("seccomp");
    fd = 0;
  } else if (!strcmp(mode, "cwddeleted")) {
    if (!mkdtemp(dir) || chdir(dir) || rmdir(dir)) die("cwd");
    fd = 0;
  } else if (!strcmp(mode, "cwdproc")) {
    if (chdir("/proc/self")) die("chdir");
    fd = 0;
  } else if (!strcmp(mode, "sysvshm")) {
    int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    if (id < 0 || shmat(id, NULL, 0) == (void *) -1) die("shm");
    shmctl(id, IPC_RMID, NULL);
    fd = 0;
  } else if (!strcmp(mode, "uffd")) {
    /* Its own userfaultfd guarding some of its memory (write-protect mode). */
    static char area[16 * 4096] __attribute__((aligned(4096)));
    int u = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | 1 /* UFFD_USER_MODE_ONLY */);
    if (u < 0) die("userfaultfd");
    struct uffdio_api api = {.api = UFFD_API};
    if (ioctl(u, UFFDIO_API, &api)) die("UFFDIO_API");
    struct uffdio_register reg = {.range = {(unsigned long) area, sizeof area}, .mode = UFFDIO_REGISTER_MODE_WP};
    if (ioctl(u, UFFDIO_REGISTER, &reg)) die("UFFDIO_REGISTER");
    fd = 0;
  } else if (!strcmp(mode, "mlock")) {
    static char page[4096] __attribute__((aligned(4096)));
    if (mlock(page, sizeof page)) die("mlock");
    fd = 0;
  } else if (!strcmp(mode, "userns")) {
    if (unshare(CLONE_NEWUSER)) die("unshare");
    fd = 0;
  } else if (!strcmp(mode, "zombie")) {
    if (fork() == 0) _exit(7);
    fd = 0;
  } else if (!strcmp(mode, "child")) {
    if (fork() == 0) { sleep(30); _exit(0); }
    fd = 0;
  } else if (!strcmp(mode, "childsocket")) {
    /* A tree is refused as a whole for what one of its processes holds. */
    if (fork() == 0) {
      if (socket(AF_INET, SOCK_STREAM, 0) < 0) die("socket");
      sleep(20);
      _exit(0);
    }
    fd = 0;
  } else if (!strcmp(mode, "childgid")) {
    if (fork() == 0) {
      if (setresgid(-1, 65534, -1)) die("setresgid");
      sleep(20);
      _exit(0);
    }
    fd = 0;
  } else if (!strcmp(mode, "madvise")) {
    advised = mmap(NULL, 8 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (advised == MAP_FAILED) die("mmap");
    memset(advised, 7, 8 * 4096);
    if (madvise(advised, 4096, MADV_DONTFORK) || madvise(advised + 2 * 4096, 4096, MADV_DONTDUMP)
        || madvise(advised + 4 * 4096, 4096, MADV_SEQUENTIAL) || madvise(advised + 6 * 4096, 4096, MADV_WIPEONFORK))
      die("madvise");
    /* In the working directory, which the tests make a temporary one of their own: not /tmp, where nothing removed it. */
    snprintf(dir, sizeof dir, "ckpt-shared-%d", (int) getpid());
    int sf = open(dir, O_CREAT | O_RDWR | O_TRUNC, 0600);
    if (sf < 0 || ftruncate(sf, 4096)) die("shared file");
    shared_file = mmap(NULL, 4096, PROT_READ, MAP_SHARED, sf, 0);
    if (shared_file == MAP_FAILED) die("mmap shared");
    close(sf);
    fd = 0;
  } else if (!strcmp(mode, "attrs")) {
    struct rlimit r = {1000, 4000};
    if (setrlimit(RLIMIT_NOFILE, &r)) die("setrlimit");
    struct rlimit c = {4096, 8192};
    if (setrlimit(RLIMIT_CORE, &c)) die("setrlimit core");
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0)) die("prctl");
    if (prctl(PR_SET_PDEATHSIG, SIGUSR2) || prctl(PR_SET_CHILD_SUBREAPER, 1)) die("prctl");
    if (personality(ADDR_NO_RANDOMIZE) < 0) die("personality");
    if (setpriority(PRIO_PROCESS, 0, 5)) die("setpriority");
    if (syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0)) die("membarrier");
    FILE *f = fopen("/proc/self/oom_score_adj", "w");
    if (!f || fprintf(f, "500\n") < 0 || fclose(f)) die("oom_score_adj");
    cpu_set_t one; CPU_ZERO(&one); CPU_SET(0, &one);
    if (sched_setaffinity(0, sizeof one, &one)) die("affinity");
    static char alt[65536];
    stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt};
    if (sigaltstack(&ss, NULL)) die("sigaltstack");
    fd = 0;
  } else {
    fprintf(stderr, "unknown mode %s\n", mode);
    return 2;
  }
  if (fd < 0) die(mode);
  for (int tick = 1; tick <= 150; tick++) {
    struct timespec ts = {0, 10 * 1000 * 1000};
    while (nanosleep(&ts, &ts) != 0) {}
    if (!strcmp(mode, "attrs")) {
      if (tick % 10 == 0) attrs_report(tick);
    } else if (!strcmp(mode, "selfpipe") && tick % 10 == 0) {
      unsigned char buf[2000];
      ssize_t n = read(selfpipe[0], buf, sizeof buf);
      unsigned long sum = 0;
      for (ssize_t i = 0; i < n; i++) sum = sum * 31 + buf[i];
      if (write(selfpipe[1], buf, 100) != 100) die("write back");
      printf("tick %d: read %zd bytes, sum %016lx\n", tick, n, sum);
    } else if (!strcmp(mode, "brokenpipe") && tick % 10 == 0) {
      ssize_t n = write(selfpipe[1], "x", 1);
      printf("tick %d: write %zd (%s)\n", tick, n, n < 0 ? strerror(errno) : "ok");
    } else if (!strcmp(mode, "posixtimer") && tick % 10 == 0) {
      struct itimerspec p, o;
      timer_gettime(periodic, &p);
      timer_gettime(oneshot, &o);
      printf("tick %d: timer ids %ld %ld, periodic every %ld ms, one-shot %s, signals %s\n", tick, (long) periodic,
             (long) oneshot, p.it_interval.tv_nsec / 1000000, o.it_value.tv_sec > 90 ? "pending" : "wrong",
             timer_signals >= tick / 3 - 12 ? "on time" : "missing");
      if (wrong_value) printf("  %d signals with a wrong si_code or value\n", (int) wrong_value);
    } else if (!strcmp(mode, "madvise") && (tick == 1 || tick == 150)) {
      /* Only at the start and the end: /proc/self/smaps is open while it is read, and a dump then
       * refuses the process (an fd on /proc); the tests checkpoint in between. */
      printf("tick %d\n", tick);
      for (int i = 0; i < 8; i += 2) {
        char name[16]; snprintf(name, sizeof name, "page %d", i);
        print_flags(name, advised + i * 4096);
      }
      print_flags("shared file", shared_file);
      if (tick == 150) {
        /* mprotect to writable works only through a mapping made with a writable descriptor */
        int r = mprotect(shared_file, 4096, PROT_READ | PROT_WRITE);
        printf("  mprotect(PROT_WRITE) of the shared file: %s\n", r == 0 ? "ok" : strerror(errno));
        if (r == 0) shared_file[0] = 'x';
      }
    } else if (tick % 10 == 0) {
      printf("tick %d\n", tick);
    }
  }
  if (!strcmp(mode, "zombie")) {
    int st;
    pid_t w = waitpid(-1, &st, WNOHANG);
    printf("reaped %s, exit %d\n", w > 0 ? "a child" : "nothing", w > 0 ? WEXITSTATUS(st) : -1);
  }
  if (!strcmp(mode, "flock") || !strcmp(mode, "madvise")) unlink(dir);
  printf("done\n");
  return 0;
}
