// lineup_bench_peak: this CPU's FP32 peak, measured. Prints the core clock (a chain of
// dependent integer additions retires one per cycle) and the FMA throughput of one core
// (twelve independent chains of fused multiply-adds held in registers, enough to fill
// two pipes of four-cycle latency), with AVX-512 and with AVX2, then with every core
// running the same loop at once. docs/engine.md computes the peak from these.
//
//   lineup_bench_peak [--seconds-per-test 1]
#include <immintrin.h>

#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

double ClockGhz(long n) {
  long x = 0;
  auto t0 = Clock::now();
  for (long i = 0; i < n; ++i) __asm__ volatile("add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0" : "+r"(x));
  return 4.0 * double(n) / Seconds(t0) / 1e9;
}

#define LINEUP_CHAINS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)

__attribute__((target("avx512f"))) double Fma512(long iters) {
#define DECL(i) __m512 a##i = _mm512_set1_ps(0.5f + i);
  LINEUP_CHAINS(DECL)
#undef DECL
  const __m512 b = _mm512_set1_ps(1.0000001f), c = _mm512_set1_ps(-1e-7f);
  auto t0 = Clock::now();
  for (long i = 0; i < iters; ++i) {
#define STEP(i) a##i = _mm512_fmadd_ps(a##i, b, c);
    LINEUP_CHAINS(STEP)
#undef STEP
    __asm__ volatile("" : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3), "+v"(a4), "+v"(a5), "+v"(a6), "+v"(a7), "+v"(a8),
                     "+v"(a9), "+v"(a10), "+v"(a11));
  }
  const double s = Seconds(t0);
  float t[16];
  _mm512_storeu_ps(t, _mm512_add_ps(a0, a11));
  volatile float sink = t[0];
  (void)sink;
  return double(iters) * 12 * 16 * 2 / s / 1e9;
}

__attribute__((target("avx2,fma"))) double Fma256(long iters) {
#define DECL(i) __m256 a##i = _mm256_set1_ps(0.5f + i);
  LINEUP_CHAINS(DECL)
#undef DECL
  const __m256 b = _mm256_set1_ps(1.0000001f), c = _mm256_set1_ps(-1e-7f);
  auto t0 = Clock::now();
  for (long i = 0; i < iters; ++i) {
#define STEP(i) a##i = _mm256_fmadd_ps(a##i, b, c);
    LINEUP_CHAINS(STEP)
#undef STEP
    __asm__ volatile("" : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3), "+v"(a4), "+v"(a5), "+v"(a6), "+v"(a7), "+v"(a8),
                     "+v"(a9), "+v"(a10), "+v"(a11));
  }
  const double s = Seconds(t0);
  float t[8];
  _mm256_storeu_ps(t, _mm256_add_ps(a0, a11));
  volatile float sink = t[0];
  (void)sink;
  return double(iters) * 12 * 8 * 2 / s / 1e9;
}

}  // namespace

int main() {
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const long n = 400000000;  // about a second per test at 3 GHz
  std::printf("clock (dependent adds): %.2f GHz\n", ClockGhz(n));
  if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("fma")) {
    std::printf("no AVX-512 here\n");
    return 0;
  }
  double best512 = 0, best256 = 0;
  for (int r = 0; r < 3; ++r) {
    best512 = std::max(best512, Fma512(n / 4));
    best256 = std::max(best256, Fma256(n / 4));
  }
  std::printf("one core: AVX-512 FMA %.1f GFLOP/s (%.1f FLOP per cycle at that clock), AVX2 FMA %.1f GFLOP/s\n", best512,
              best512 / ClockGhz(n / 4), best256);
  std::vector<double> per(cores);
  std::vector<std::thread> th;
  for (unsigned k = 0; k < cores; ++k) th.emplace_back([&, k] { per[k] = Fma512(n / 4); });
  for (auto& t : th) t.join();
  double sum = 0;
  for (double g : per) sum += g;
  std::printf("%u cores at once: AVX-512 FMA %.1f GFLOP/s in all\n", cores, sum);
}
