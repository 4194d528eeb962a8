// Pq4Scan: the inner loop of the fast-scan index (fast_scan_index.cc). It adds up
// 4-bit product-quantiser codes' table entries for one inverted list, 32 codes at a
// time, in FAISS's fast-scan block layout (faiss/impl/pq4_fast_scan.h, bbs = 32).
//
// Debian's FAISS is built for the baseline x86-64 CPU, where its own fast-scan kernels
// run emulated, no faster than 8-bit codes. This one picks AVX-512BW, AVX2 or portable
// code at run time; all three give identical sums (tests/pq4_scan_test.cc).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace lineup {

// codes: nblocks blocks of nsq * 16 bytes (nsq sub-quantisers, even). lut: nsq * 16
// bytes, entry [sq * 16 + c] the cost of code c in sub-quantiser sq. Writes the 32 sums
// of each block to sums[32 * b ...] (in code order) and sets bit i of masks[b] when
// sum i < threshold. Sums cannot overflow for nsq <= 256.
void Pq4Scan(const uint8_t* codes, size_t nblocks, int nsq, const uint8_t* lut, uint16_t threshold, uint16_t* sums,
             uint32_t* masks);

// Which implementation Pq4Scan uses on this CPU: "avx512", "avx2" or "portable".
const char* Pq4ScanKernel();

// Every implementation this CPU can run, best first (for tests and benchmarks).
using Pq4ScanFn = void (*)(const uint8_t*, size_t, int, const uint8_t*, uint16_t, uint16_t*, uint32_t*);
struct Pq4ScanImpl {
  const char* name;
  Pq4ScanFn fn;
};
std::vector<Pq4ScanImpl> Pq4ScanKernels();

}  // namespace lineup
