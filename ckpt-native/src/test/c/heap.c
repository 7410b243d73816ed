/* Fills a 256 MiB heap buffer, then repeatedly updates and checksums it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  size_t mib = argc > 1 ? (size_t) atol(argv[1]) : 256;
  int rounds = argc > 2 ? atoi(argv[2]) : 12;
  size_t n = mib * 1024 * 1024 / sizeof(uint64_t);
  uint64_t *a = malloc(n * sizeof(uint64_t));
  if (!a) return 2;
  setvbuf(stdout, NULL, _IOLBF, 0);
  uint64_t x = 88172645463325252ULL;
  for (size_t i = 0; i < n; i++) {
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    a[i] = (i % 4 == 0) ? 0 : x;
  }
  for (int r = 0; r < rounds; r++) {
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
      a[i] = a[i] * 6364136223846793005ULL + (uint64_t) r;
      sum += a[i] ^ (sum >> 3);
    }
    printf("round %d checksum %016llx\n", r, (unsigned long long) sum);
  }
  free(a);
  return 0;
}
