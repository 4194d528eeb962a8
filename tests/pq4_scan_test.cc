// Pq4Scan: every kernel this CPU runs gives the sums of the table entries of codes packed
// by FAISS (pq4_pack_codes), and flags exactly the sums under the threshold.
#include "index/pq4_scan.h"

#include <faiss/impl/pq4_fast_scan.h>
#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace {

using lineup::Pq4ScanKernels;

// n codes of nsq sub-quantisers, FAISS's flat layout (two 4-bit codes per byte).
struct Codes {
  int nsq;
  size_t n;
  std::vector<uint8_t> code;  // code[i * nsq + s], unpacked
  std::vector<uint8_t> flat, blocks;
  Codes(int nsq_, size_t n_, unsigned seed) : nsq(nsq_), n(n_) {
    std::mt19937 rng(seed);
    code.resize(n * static_cast<size_t>(nsq));
    for (auto& c : code) c = static_cast<uint8_t>(rng() & 15);
    flat.assign(n * static_cast<size_t>(nsq) / 2, 0);
    for (size_t i = 0; i < n; ++i)
      for (int s = 0; s < nsq; ++s)
        flat[i * static_cast<size_t>(nsq) / 2 + static_cast<size_t>(s) / 2] |=
            static_cast<uint8_t>(code[i * static_cast<size_t>(nsq) + static_cast<size_t>(s)] << (4 * (s % 2)));
    const size_t nb = (n + 31) / 32 * 32;
    blocks.assign(nb * static_cast<size_t>(nsq) / 2, 0);
    faiss::pq4_pack_codes(flat.data(), n, static_cast<size_t>(nsq), nb, 32, static_cast<size_t>(nsq), blocks.data());
  }
};

TEST(Pq4Scan, EveryKernelAddsUpTheTableEntriesOfFaissPackedCodes) {
  const auto kernels = Pq4ScanKernels();
  ASSERT_FALSE(kernels.empty());
  EXPECT_STREQ(kernels.back().name, "portable");
  std::mt19937 rng(3);
  // 48: the gallery's; 10: an odd number of pairs (the AVX-512 kernel's tail); 2: one pair;
  // 256: the most that cannot overflow 16 bits.
  for (int nsq : {48, 10, 2, 256}) {
    for (size_t n : {size_t{1}, size_t{31}, size_t{32}, size_t{100}}) {
      Codes c(nsq, n, static_cast<unsigned>(nsq * 1000 + n));
      std::vector<uint8_t> lut(static_cast<size_t>(nsq) * 16);
      for (auto& v : lut) v = static_cast<uint8_t>(rng() & 255);
      if (nsq == 256) std::fill(lut.begin(), lut.end(), uint8_t{255});  // the largest sums
      std::vector<uint16_t> truth(n);
      for (size_t i = 0; i < n; ++i) {
        unsigned s = 0;
        for (int q = 0; q < nsq; ++q)
          s += lut[static_cast<size_t>(q) * 16 + c.code[i * static_cast<size_t>(nsq) + static_cast<size_t>(q)]];
        ASSERT_LT(s, 65536u);
        truth[i] = static_cast<uint16_t>(s);
      }
      const size_t blocks = (n + 31) / 32;
      // Thresholds: none pass, the median passes about half, all pass.
      std::vector<uint16_t> sorted = truth;
      std::sort(sorted.begin(), sorted.end());
      for (uint16_t threshold : {uint16_t{0}, sorted[n / 2], uint16_t{65535}}) {
        for (const auto& k : kernels) {
          std::vector<uint16_t> sums(blocks * 32, 1);
          std::vector<uint32_t> masks(blocks, 0xdeadbeef);
          k.fn(c.blocks.data(), blocks, nsq, lut.data(), threshold, sums.data(), masks.data());
          for (size_t i = 0; i < n; ++i) {
            ASSERT_EQ(sums[i], truth[i]) << k.name << " nsq " << nsq << " n " << n << " code " << i;
            ASSERT_EQ((masks[i / 32] >> (i % 32)) & 1u, truth[i] < threshold ? 1u : 0u)
                << k.name << " nsq " << nsq << " threshold " << threshold << " code " << i;
          }
        }
      }
    }
  }
}

TEST(Pq4Scan, TheKernelInUseIsTheBestThisCpuRuns) {
  EXPECT_STREQ(lineup::Pq4ScanKernel(), Pq4ScanKernels().front().name);
}

}  // namespace
