// DotRows: the same dot products as a plain loop, for shapes that fit one BLAS call,
// that need several rows of Y per call, and that need A cut into slices.
#include "util/dot_rows.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace {

void ExpectPlainDots(int m, int64_t n, int d) {
  std::mt19937 rng(static_cast<unsigned>(m * 31 + n * 7 + d));
  std::normal_distribution<float> normal;
  std::vector<float> a(static_cast<size_t>(m) * d), x(static_cast<size_t>(n) * d);
  for (float& v : a) v = normal(rng);
  for (float& v : x) v = normal(rng);
  std::vector<float> y(static_cast<size_t>(n) * m, std::nanf(""));
  lineup::DotRows(a.data(), m, x.data(), n, d, y.data());
  for (int64_t i = 0; i < n; ++i)
    for (int r = 0; r < m; ++r) {
      double want = 0;
      for (int j = 0; j < d; ++j) want += double{a[static_cast<size_t>(r) * d + j]} * x[static_cast<size_t>(i) * d + j];
      const float got = y[static_cast<size_t>(i) * m + r];
      ASSERT_NEAR(got, want, 1e-3 * std::sqrt(double(d))) << "m=" << m << " n=" << n << " d=" << d << " row " << i
                                                          << " of X, row " << r << " of A";
    }
}

TEST(DotRows, OneCall) { ExpectPlainDots(7, 3, 5); }

// The cohort's shape: 160 axes of 512 values against 50 candidates (3 rows of Y per call).
TEST(DotRows, SeveralRowsOfYPerCall) { ExpectPlainDots(160, 50, 512); }

// The probe against 8,192 list centroids of 192 values: A in slices of 1,365 rows.
TEST(DotRows, ASlicedForOneProbe) { ExpectPlainDots(8192, 1, 192); }

// A too big for one call with several rows of X: every row of Y is written in slices.
TEST(DotRows, ASlicedForSeveralRows) { ExpectPlainDots(600, 3, 512); }

TEST(DotRows, NothingToDoWritesNothing) {
  std::vector<float> y(4, 7.f);
  lineup::DotRows(nullptr, 0, nullptr, 2, 3, y.data());
  lineup::DotRows(nullptr, 2, nullptr, 0, 3, y.data());
  EXPECT_EQ(y, std::vector<float>(4, 7.f));
}

}  // namespace
