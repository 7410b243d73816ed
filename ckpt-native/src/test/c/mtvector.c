/* Worker threads that keep values in vector registers across a system call: each step loads
   ymm8-ymm15 with its own numbers, sleeps in a raw nanosleep (the kernel leaves user vector
   registers alone across a system call), and reads them back. A restore that loses a thread's
   extended state is caught by the first step after it. Prints one deterministic line per thread
   at the end. The threads also write their step into a buffer advised MADV_HUGEPAGE (a threaded
   restore writes such memory before it advises it), which main checks at the end.
   Usage: mtvector STEPS */
#include <pthread.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#define THREADS 8

static int steps;
static int bad[THREADS];
#define HUGE_BYTES (4u << 20)
static uint64_t *huge; /* 2 MiB aligned, advised MADV_HUGEPAGE */

static uint64_t pattern(size_t i) { return i * 0x9E3779B97F4A7C15ULL; }

static void *worker(void *arg) {
  long id = (long) arg;
  for (int s = 0; s < steps; s++) {
    double in[8] __attribute__((aligned(32)));
    double out[8][4] __attribute__((aligned(32)));
    for (int k = 0; k < 8; k++) {
      in[k] = (double) id * 1000.0 + s + (k + 1) * 0.125;
    }
    struct timespec ts = {0, 20 * 1000 * 1000};
    long ret;
    __asm__ volatile(
        "vbroadcastsd 0(%[in]), %%ymm8\n\t"
        "vbroadcastsd 8(%[in]), %%ymm9\n\t"
        "vbroadcastsd 16(%[in]), %%ymm10\n\t"
        "vbroadcastsd 24(%[in]), %%ymm11\n\t"
        "vbroadcastsd 32(%[in]), %%ymm12\n\t"
        "vbroadcastsd 40(%[in]), %%ymm13\n\t"
        "vbroadcastsd 48(%[in]), %%ymm14\n\t"
        "vbroadcastsd 56(%[in]), %%ymm15\n\t"
        "1: mov $35, %%eax\n\t"          /* nanosleep(&ts, &ts), again after EINTR */
        "mov %[ts], %%rdi\n\t"
        "mov %[ts], %%rsi\n\t"
        "syscall\n\t"
        "cmp $-4, %%rax\n\t"
        "je 1b\n\t"
        "vmovupd %%ymm8, 0(%[out])\n\t"
        "vmovupd %%ymm9, 32(%[out])\n\t"
        "vmovupd %%ymm10, 64(%[out])\n\t"
        "vmovupd %%ymm11, 96(%[out])\n\t"
        "vmovupd %%ymm12, 128(%[out])\n\t"
        "vmovupd %%ymm13, 160(%[out])\n\t"
        "vmovupd %%ymm14, 192(%[out])\n\t"
        "vmovupd %%ymm15, 224(%[out])\n\t"
        "vzeroupper\n\t"
        : "=&a"(ret)
        : [in] "r"(in), [out] "r"(out), [ts] "r"(&ts)
        : "rcx", "r11", "rdi", "rsi", "memory", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
    (void) ret;
    huge[id * 512] = (uint64_t) s; /* one page each */
    for (int k = 0; k < 8; k++) {
      for (int lane = 0; lane < 4; lane++) {
        if (out[k][lane] != in[k]) {
          if (bad[id]++ < 3) {
            fprintf(stderr, "thread %ld step %d ymm%d lane %d: %g instead of %g\n", id, s, 8 + k, lane, out[k][lane], in[k]);
          }
        }
      }
    }
  }
  return NULL;
}

int main(int argc, char **argv) {
  steps = argc > 1 ? atoi(argv[1]) : 100;
  setvbuf(stdout, NULL, _IOLBF, 0);
  char *raw = mmap(NULL, HUGE_BYTES + (2u << 20), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return 2;
  huge = (uint64_t *) (((uintptr_t) raw + (2u << 20) - 1) & ~(uintptr_t) ((2u << 20) - 1));
  if (madvise(huge, HUGE_BYTES, MADV_HUGEPAGE) != 0) return 3;
  for (size_t i = 0; i < HUGE_BYTES / 8; i++) huge[i] = pattern(i);
  pthread_t t[THREADS];
  for (long i = 0; i < THREADS; i++) {
    pthread_create(&t[i], NULL, worker, (void *) i);
  }
  for (int i = 0; i < THREADS; i++) {
    pthread_join(t[i], NULL);
  }
  for (int i = 0; i < THREADS; i++) {
    printf("thread %d: %d steps, %d vector registers changed across a system call\n", i, steps, bad[i]);
  }
  long wrong = 0;
  for (size_t i = 0; i < HUGE_BYTES / 8; i++) {
    uint64_t want = i % 512 == 0 && i / 512 < THREADS ? (uint64_t) (steps - 1) : pattern(i);
    wrong += huge[i] != want;
  }
  printf("MADV_HUGEPAGE buffer: %ld words differ\n", wrong);
  return 0;
}
