package dev.ckpt.linux.internal.jna;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import dev.ckpt.linux.ProcessException;

/**
 * Typed wrappers over {@link LibC}: each call names itself, the pid and the errno symbol when it
 * fails. x86-64 system call numbers and ptrace constants live here and nowhere else.
 */
public final class Sys {
  private Sys() {}

  // x86-64 system call numbers.
  public static final int SYS_READ = 0;
  public static final int SYS_OPEN = 2;
  public static final int SYS_CLOSE = 3;
  public static final int SYS_LSEEK = 8;
  public static final int SYS_MMAP = 9;
  public static final int SYS_MPROTECT = 10;
  public static final int SYS_MUNMAP = 11;
  public static final int SYS_RT_SIGACTION = 13;
  public static final int SYS_MREMAP = 25;
  public static final int SYS_DUP2 = 33;
  public static final int SYS_GETITIMER = 36;
  public static final int SYS_SETITIMER = 38;
  public static final int SYS_GETPID = 39;
  public static final int SYS_FCNTL = 72;
  public static final int SYS_FTRUNCATE = 77;
  public static final int SYS_CHDIR = 80;
  public static final int SYS_UMASK = 95;
  public static final int SYS_PTRACE = 101;
  public static final int SYS_RT_SIGQUEUEINFO = 129;
  public static final int SYS_PRCTL = 157;
  public static final int SYS_GETTID = 186;
  public static final int SYS_RESTART_SYSCALL = 219;
  public static final int SYS_TGKILL = 234;
  public static final int SYS_RT_TGSIGQUEUEINFO = 297;
  public static final int SYS_RSEQ = 334;
  public static final int SYS_WRITE = 1;
  public static final int SYS_MADVISE = 28;
  public static final int SYS_PIPE2 = 293;
  public static final int SYS_DUP3 = 292;
  public static final int SYS_SIGALTSTACK = 131;
  public static final int SYS_PERSONALITY = 135;
  public static final int SYS_GETPRIORITY = 140;
  public static final int SYS_SETPRIORITY = 141;
  public static final int SYS_SCHED_SETAFFINITY = 203;
  public static final int SYS_SCHED_GETAFFINITY = 204;
  public static final int SYS_PRLIMIT64 = 302;
  public static final int SYS_MEMBARRIER = 324;
  public static final int SYS_PIDFD_OPEN = 434;
  public static final int SYS_PIDFD_GETFD = 438;
  public static final int SYS_TEE = 276;
  public static final int SYS_KCMP = 312;
  public static final int SYS_TIMER_CREATE = 222;
  public static final int SYS_TIMER_SETTIME = 223;
  public static final int SYS_TIMER_GETTIME = 224;
  public static final int SYS_TIMER_GETOVERRUN = 225;
  public static final int SYS_CAPSET = 126;
  public static final int SYS_SETPGID = 109;
  public static final int SYS_SETSID = 112;
  public static final int SYS_RT_SIGTIMEDWAIT = 128;
  public static final int SYS_IOCTL = 16;
  public static final int SYS_USERFAULTFD = 323;
  public static final int SYS_SOCKET = 41;
  public static final int SYS_SENDTO = 44;
  public static final int SYS_RECVFROM = 45;
  public static final int SYS_RECVMSG = 47;
  public static final int SYS_SHUTDOWN = 48;
  public static final int SYS_SOCKETPAIR = 53;
  public static final int SYS_SETSOCKOPT = 54;
  public static final int SYS_GETSOCKOPT = 55;
  public static final int SYS_POLL = 7;
  public static final int SYS_EVENTFD2 = 290;
  public static final int SYS_TIMERFD_CREATE = 283;
  public static final int SYS_TIMERFD_SETTIME = 286;
  public static final int SYS_SIGNALFD4 = 289;
  public static final int SYS_EPOLL_CREATE1 = 291;
  public static final int SYS_EPOLL_CTL = 233;
  public static final int EPOLL_CTL_ADD = 1;
  public static final int EFD_SEMAPHORE = 1;
  public static final long TFD_IOC_SET_TICKS = 0x40085400L;
  public static final int TFD_TIMER_CANCEL_ON_SET = 2;
  public static final int KCMP_EPOLL_TFD = 7;
  // Signals, rlimits and /proc/PID/pagemap.
  public static final long RLIM_INFINITY = -1L;
  public static final long PM_PRESENT = 1L << 63;
  public static final long PM_SWAPPED = 1L << 62;
  public static final long PM_FILE = 1L << 61;
  public static final long SA_RESTART = 0x10000000L;
  public static final int SI_TIMER = -2;
  // Sockets (socket.h, netlink.h, sock_diag.h, unix_diag.h, tcp_states.h).
  public static final int AF_UNIX = 1;
  public static final int AF_NETLINK = 16;
  public static final int NETLINK_SOCK_DIAG = 4;
  public static final int SOCK_DIAG_BY_FAMILY = 20;
  public static final int NLM_F_REQUEST = 1;
  public static final int NLM_F_DUMP = 0x300;
  public static final int NLMSG_ERROR = 2;
  public static final int NLMSG_DONE = 3;
  public static final int UDIAG_SHOW_NAME = 1;
  public static final int UDIAG_SHOW_PEER = 4;
  public static final int UNIX_DIAG_NAME = 0;
  public static final int UNIX_DIAG_PEER = 2;
  public static final int UNIX_DIAG_SHUTDOWN = 6;
  public static final int TCP_ESTABLISHED = 1;
  public static final int TCP_LISTEN = 10;
  public static final int SOCK_STREAM = 1;
  public static final int SOL_SOCKET = 1;
  public static final int SO_SNDBUF = 7;
  public static final int SO_RCVBUF = 8;
  public static final int SO_PASSCRED = 16;
  public static final int SO_RCVLOWAT = 18;
  public static final int SO_RCVTIMEO = 20;
  public static final int SO_SNDTIMEO = 21;
  public static final int SO_PASSSEC = 34;
  public static final int SO_PEEK_OFF = 42;
  public static final int MSG_PEEK = 2;
  public static final int MSG_TRUNC = 0x20;
  public static final int MSG_CTRUNC = 8;
  public static final int MSG_DONTWAIT = 0x40;
  public static final int SCM_RIGHTS = 1;
  public static final int SOCK_RAW = 3;
  public static final int MSG_OOB = 1;
  public static final int SOCK_DGRAM = 2;
  public static final int SIOCINQ = 0x541B;
  public static final int SO_PASSPIDFD = 76;
  public static final int SCM_PIDFD = 4;
  public static final long EPOLLET = 1L << 31;
  /** The flags epoll keeps of a one-shot watch that has fired (EPOLLWAKEUP, ONESHOT, ET, EXCLUSIVE). */
  public static final long EP_PRIVATE_BITS = 0xf0000000L;
  public static final int SYS_EPOLL_PWAIT = 281;
  public static final int SYS_EPOLL_PWAIT2 = 441;
  public static final int SYS_SET_TID_ADDRESS = 218;
  public static final int SYS_WAIT4 = 61;
  public static final int SYS_EXIT_GROUP = 231;
  public static final int SYS_SET_ROBUST_LIST = 273;
  public static final int SYS_GET_ROBUST_LIST = 274;
  public static final int SYS_CLONE3 = 435;
  public static final int SYS_MEMFD_CREATE = 319;
  public static final int KCMP_FILE = 0;

  // prctl options.
  public static final int PR_SET_PDEATHSIG = 1;
  public static final int PR_GET_PDEATHSIG = 2;
  public static final int PR_GET_DUMPABLE = 3;
  public static final int PR_SET_DUMPABLE = 4;
  public static final int PR_SET_NAME = 15;
  public static final int PR_CAPBSET_DROP = 24;
  public static final int PR_SET_MM = 35;
  public static final int PR_GET_TID_ADDRESS = 40;
  public static final int PR_SET_MM_MAP = 14;
  public static final int PR_SET_CHILD_SUBREAPER = 36;
  public static final int PR_GET_CHILD_SUBREAPER = 37;
  public static final int PR_SET_NO_NEW_PRIVS = 38;
  public static final int PR_GET_NO_NEW_PRIVS = 39;
  public static final int PR_SET_THP_DISABLE = 41;
  public static final int PR_GET_THP_DISABLE = 42;
  public static final int PR_TIMER_CREATE_RESTORE_IDS = 77;

  // membarrier commands.
  public static final int MEMBARRIER_CMD_GET_REGISTRATIONS = 1 << 9;

  // open(2) and fcntl(2) flags, and fcntl commands.
  public static final int O_ACCMODE = 3;
  public static final int O_RDONLY = 0;
  public static final int O_WRONLY = 1;
  public static final int O_RDWR = 2;
  public static final int O_CREAT = 0100;
  public static final int O_EXCL = 0200;
  public static final int O_NOCTTY = 0400;
  public static final int O_TRUNC = 01000;
  public static final int O_NONBLOCK = 04000;
  public static final int O_ASYNC = 020000;
  public static final int O_CLOEXEC = 02000000;
  public static final int O_PATH = 010000000;
  public static final int F_SETFL = 4;
  public static final int F_DUPFD_CLOEXEC = 1030;
  public static final int F_SETPIPE_SZ = 1031;
  public static final int F_GETPIPE_SZ = 1032;
  public static final int SPLICE_F_NONBLOCK = 2;

  // sigaltstack flags.
  public static final int SS_ONSTACK = 1;
  public static final int SS_DISABLE = 2;

  /** RLIMIT_CPU .. RLIMIT_RTTIME, in the kernel's order. */
  public static final String[] RLIMIT_NAMES = {"RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK", "RLIMIT_CORE",
      "RLIMIT_RSS", "RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS", "RLIMIT_LOCKS", "RLIMIT_SIGPENDING",
      "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_RTPRIO", "RLIMIT_RTTIME"};

  // ptrace requests and options.
  public static final int PTRACE_CONT = 7;
  public static final int PTRACE_KILL = 8;
  public static final int PTRACE_SINGLESTEP = 9;
  public static final int PTRACE_GETREGS = 12;
  public static final int PTRACE_SETREGS = 13;
  public static final int PTRACE_DETACH = 17;
  public static final int PTRACE_SETOPTIONS = 0x4200;
  public static final int PTRACE_GETEVENTMSG = 0x4201;
  public static final int PTRACE_GETSIGINFO = 0x4202;
  public static final int PTRACE_SETSIGINFO = 0x4203;
  public static final int PTRACE_GETREGSET = 0x4204;
  public static final int PTRACE_SETREGSET = 0x4205;
  public static final int PTRACE_SEIZE = 0x4206;
  public static final int PTRACE_INTERRUPT = 0x4207;
  public static final int PTRACE_LISTEN = 0x4208;
  public static final int PTRACE_PEEKSIGINFO = 0x4209;
  public static final int PTRACE_GETSIGMASK = 0x420a;
  public static final int PTRACE_SETSIGMASK = 0x420b;
  public static final int PTRACE_GET_RSEQ_CONFIGURATION = 0x420f;
  public static final int PTRACE_O_TRACEFORK = 0x2;
  public static final int PTRACE_O_TRACEVFORK = 0x4;
  public static final int PTRACE_O_TRACECLONE = 0x8;
  public static final int PTRACE_O_TRACEEXEC = 0x10;
  public static final int PTRACE_O_EXITKILL = 0x100000;
  public static final int PTRACE_EVENT_FORK = 1;
  public static final int PTRACE_EVENT_VFORK = 2;
  public static final int PTRACE_EVENT_CLONE = 3;
  public static final int PTRACE_EVENT_EXEC = 4;
  public static final int PTRACE_EVENT_STOP = 128;
  public static final int NT_X86_XSTATE = 0x202;
  public static final int WALL = 0x40000000;
  public static final int WNOHANG = 1;

  public static final int SIGKILL = 9;
  public static final int SIGTERM = 15;
  public static final int SIGTRAP = 5;
  public static final int SIGSTOP = 19;
  public static final int SIGCONT = 18;
  public static final int SIGCHLD = 17;

  // mmap and mprotect.
  public static final int PROT_READ = 1, PROT_WRITE = 2, PROT_EXEC = 4;
  public static final int MAP_SHARED = 1, MAP_PRIVATE = 2, MAP_FIXED = 0x10, MAP_ANONYMOUS = 0x20, MAP_GROWSDOWN = 0x100,
      MAP_FIXED_NOREPLACE = 0x100000;
  public static final int MFD_CLOEXEC = 1;
  public static final int MREMAP_MAYMOVE = 1, MREMAP_FIXED = 2;

  // clone3 flags: a thread as glibc's pthread_create makes it, less what ckpt sets by injection
  // (CLONE_SETTLS, CLONE_PARENT_SETTID, CLONE_CHILD_CLEARTID).
  public static final long CLONE_VM = 0x100, CLONE_FS = 0x200, CLONE_FILES = 0x400, CLONE_SIGHAND = 0x800,
      CLONE_THREAD = 0x10000, CLONE_SYSVSEM = 0x40000;
  /** The new task is traced by the caller's tracer, without stopping the caller (PTRACE_O_TRACECLONE would). */
  public static final long CLONE_PTRACE = 0x2000;
  public static final int CLONE_ARGS_SIZE = 88;
  /** capset's header version 3 (64-bit capability sets). */
  public static final int LINUX_CAPABILITY_VERSION_3 = 0x20080522;

  public static ProcessException error(String call, int pid, LastErrorException e) {
    return new ProcessException(pid, call + " failed: " + Errno.name(e.getErrorCode()), e.getErrorCode(), e);
  }

  public static long ptrace(int request, int pid, long addr, long data, String what) throws ProcessException {
    try {
      return LibC.syscall(SYS_PTRACE, request, pid, addr, data, 0, 0);
    } catch (LastErrorException e) {
      throw error("ptrace(" + what + ")", pid, e);
    }
  }

  public static long ptrace(int request, int pid, long addr, Pointer data, String what) throws ProcessException {
    return ptrace(request, pid, addr, Pointer.nativeValue(data), what);
  }

  /** waitpid with __WALL; returns the raw status, or -1 with WNOHANG when nothing changed. */
  public static int waitpid(int pid, boolean noHang) throws ProcessException {
    int[] status = new int[1];
    while (true) {
      try {
        int r = LibC.waitpid(pid, status, WALL | (noHang ? WNOHANG : 0));
        return r == 0 ? -1 : status[0];
      } catch (LastErrorException e) {
        if (e.getErrorCode() == Errno.EINTR) {
          continue;
        }
        throw error("waitpid", pid, e);
      }
    }
  }

  public static boolean exited(int status) {
    return (status & 0x7f) == 0;
  }

  public static int exitCode(int status) {
    return (status >> 8) & 0xff;
  }

  public static boolean signaled(int status) {
    return (status & 0x7f) != 0 && (status & 0x7f) != 0x7f;
  }

  public static int termSignal(int status) {
    return status & 0x7f;
  }

  public static boolean stopped(int status) {
    return (status & 0xff) == 0x7f;
  }

  public static int stopSignal(int status) {
    return (status >> 8) & 0xff;
  }

  public static int event(int status) {
    return status >>> 16;
  }

  public static Memory memory(long size) {
    Memory m = new Memory(size);
    m.clear();
    return m;
  }

  // userfaultfd in asynchronous write-protect mode, and the pagemap scan that reads and re-arms
  // it (linux/userfaultfd.h, linux/fs.h; kernel 6.7 or later).
  public static final int UFFD_USER_MODE_ONLY = 1;
  public static final long UFFD_API = 0xAA;
  public static final long UFFD_FEATURE_WP_UNPOPULATED = 1L << 13, UFFD_FEATURE_WP_ASYNC = 1L << 15;
  public static final long UFFDIO_API = 0xC018AA3FL, UFFDIO_REGISTER = 0xC020AA00L, UFFDIO_WRITEPROTECT = 0xC018AA06L;
  public static final long UFFDIO_REGISTER_MODE_WP = 2;
  public static final long PAGEMAP_SCAN = 0xC0606610L;
  public static final long PM_SCAN_WP_MATCHING = 1, PM_SCAN_CHECK_WPASYNC = 2;
  public static final long PAGE_IS_WRITTEN = 2, PAGE_IS_FILE = 4, PAGE_IS_PRESENT = 8, PAGE_IS_SWAPPED = 16;
  /** struct pm_scan_arg and struct page_region, in bytes. */
  public static final int PM_SCAN_ARG_SIZE = 96, PAGE_REGION_SIZE = 24;
}
