/* Floating-point and AVX accumulation: partial sums live in vector registers across iterations. */
#include <immintrin.h>
#include <math.h>
#include <stdio.h>
#include <time.h>

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  __m256d acc = _mm256_set1_pd(0.0);
  __m256d step = _mm256_set_pd(1e-9, 2e-9, 3e-9, 4e-9);
  __m256d x = _mm256_set_pd(0.1, 0.2, 0.3, 0.4);
  double scalar = 0.0;
  for (int r = 0; r < 40; r++) {
    for (long i = 0; i < 16000000; i++) {
      acc = _mm256_fmadd_pd(x, x, acc);
      x = _mm256_add_pd(x, step);
      scalar += sqrt((double) i) * 1e-7;
    }
    double out[4];
    _mm256_storeu_pd(out, acc);
    printf("round %d %.17g %.17g %.17g %.17g %.17g\n", r, out[0], out[1], out[2], out[3], scalar);
  }
  return 0;
}
