// DotRows: every row of X against every row of A, by BLAS, without waking BLAS threads.
//
// Searches need small products (a probe against 8,192 list centroids, 50 candidates
// against the cohort's axes). OpenBLAS runs a product of that size on several threads,
// whose workers then spin for a while after it; on two cores they took the CPU from the
// scan that follows (10M-face gallery search: p50 25.8 -> 22.6 ms and p99 57 -> 28 ms
// once they stayed asleep). OpenBLAS keeps a matrix product of at most 64^3
// multiply-adds on the calling thread, so DotRows hands it blocks of that size: as fast
// as one call on one thread, and no other thread wakes. Other BLAS builds just see
// several small calls.
#pragma once

#include <algorithm>
#include <cstdint>

extern "C" {
// BLAS (as FAISS links it): C = alpha op(A) op(B) + beta C, column-major.
int sgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k, const float* alpha,
           const float* a, const int* lda, const float* b, const int* ldb, const float* beta, float* c, const int* ldc);
}

namespace lineup {

// y[i * m + r] = <x row i, a row r> for A (m x d) and X (n x d), both row-major.
inline void DotRows(const float* a, int m, const float* x, int64_t n, int d, float* y) {
  constexpr int64_t kOnCallingThread = 64 * 64 * 64;
  if (m <= 0 || n <= 0 || d <= 0) return;
  const int64_t per_row = int64_t{m} * d;
  // Whole rows of Y per call when one fits, else one row of Y in slices of A.
  const int64_t cols = std::max<int64_t>(1, std::min<int64_t>(n, kOnCallingThread / per_row));
  const int slice = per_row <= kOnCallingThread ? m : static_cast<int>(std::max<int64_t>(1, kOnCallingThread / d));
  const float one = 1, zero = 0;
  for (int64_t i = 0; i < n; i += cols) {
    const int c = static_cast<int>(std::min(cols, n - i));
    for (int r = 0; r < m; r += slice) {
      const int rows = std::min(slice, m - r);
      sgemm_("T", "N", &rows, &c, &d, &one, a + int64_t{r} * d, &d, x + i * d, &d, &zero, y + i * m + r, &m);
    }
  }
}

}  // namespace lineup
