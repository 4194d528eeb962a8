#include "index/pq4_scan.h"

#include <immintrin.h>

#include <cstring>

namespace lineup {

namespace {

// FAISS's layout, per block and pair of sub-quantisers (2p, 2p+1): 32 bytes, the first 16
// for 2p and the next 16 for 2p+1. Byte j holds in its low nibble the code of vector
// kVec[j] and in its high nibble that of vector kVec[j] + 16. The order is chosen so that
// a byte shuffle's even and odd bytes land on vectors 0-7 and 8-15 (see the SIMD kernels).
constexpr int kVec[16] = {0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15};

uint32_t Mask(const uint16_t* s, uint16_t threshold) {
  uint32_t m = 0;
  for (int i = 0; i < 32; ++i) m |= static_cast<uint32_t>(s[i] < threshold) << i;
  return m;
}

__attribute__((target("avx2,bmi2"))) void ScanAvx2(const uint8_t* codes, size_t nblocks, int nsq, const uint8_t* lut,
                                                   uint16_t threshold, uint16_t* sums, uint32_t* masks) {
  const __m256i low4 = _mm256_set1_epi8(0x0f);
  const __m256i thr = _mm256_set1_epi16(static_cast<short>(threshold));
  for (size_t b = 0; b < nblocks; ++b) {
    // a0..a3: vectors 0-7, 8-15, 16-23, 24-31; the lower 128 bits add up the even
    // sub-quantisers, the upper the odd ones.
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    for (int p = 0; p < nsq / 2; ++p) {
      const __m256i c = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(codes));
      codes += 32;
      const __m256i t = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(lut + p * 32));
      const __m256i lo = _mm256_shuffle_epi8(t, _mm256_and_si256(c, low4));
      const __m256i hi = _mm256_shuffle_epi8(t, _mm256_and_si256(_mm256_srli_epi16(c, 4), low4));
      a0 = _mm256_add_epi16(a0, lo);
      a1 = _mm256_add_epi16(a1, _mm256_srli_epi16(lo, 8));
      a2 = _mm256_add_epi16(a2, hi);
      a3 = _mm256_add_epi16(a3, _mm256_srli_epi16(hi, 8));
    }
    // a0 and a2 added whole 16-bit lanes (even byte + 256 * odd byte); the odd bytes'
    // sums, a1 and a3, come off again (exact modulo 2^16, where every sum fits).
    a0 = _mm256_sub_epi16(a0, _mm256_slli_epi16(a1, 8));
    a2 = _mm256_sub_epi16(a2, _mm256_slli_epi16(a3, 8));
    // Fold the halves: [a0 | a1] and [a2 | a3] become vectors 0-15 and 16-31.
    const __m256i s01 =
        _mm256_add_epi16(_mm256_permute2x128_si256(a0, a1, 0x20), _mm256_permute2x128_si256(a0, a1, 0x31));
    const __m256i s23 =
        _mm256_add_epi16(_mm256_permute2x128_si256(a2, a3, 0x20), _mm256_permute2x128_si256(a2, a3, 0x31));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(sums), s01);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(sums + 16), s23);
    // Unsigned s < thr  <=>  min(s, thr) != thr.
    const __m256i ge01 = _mm256_cmpeq_epi16(_mm256_min_epu16(s01, thr), thr);
    const __m256i ge23 = _mm256_cmpeq_epi16(_mm256_min_epu16(s23, thr), thr);
    // Two mask bits per 16-bit lane; keep one of each pair.
    const uint32_t m01 = _pext_u32(~static_cast<uint32_t>(_mm256_movemask_epi8(ge01)), 0x55555555u);
    const uint32_t m23 = _pext_u32(~static_cast<uint32_t>(_mm256_movemask_epi8(ge23)), 0x55555555u);
    masks[b] = m01 | (m23 << 16);
    sums += 32;
  }
}

// GCC 12's AVX-512 headers trip its own -Wmaybe-uninitialized (GCC bug 105593).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
__attribute__((target("avx512f,avx512bw"))) void ScanAvx512(const uint8_t* codes, size_t nblocks, int nsq,
                                                            const uint8_t* lut, uint16_t threshold, uint16_t* sums,
                                                            uint32_t* masks) {
  const __m512i low4 = _mm512_set1_epi8(0x0f);
  const __m512i thr = _mm512_set1_epi16(static_cast<short>(threshold));
  const int quads = nsq / 4;  // two pairs of sub-quantisers per 64-byte step
  for (size_t b = 0; b < nblocks; ++b) {
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
    for (int p = 0; p < quads; ++p) {
      const __m512i c = _mm512_loadu_si512(codes);
      codes += 64;
      const __m512i t = _mm512_loadu_si512(lut + p * 64);
      const __m512i lo = _mm512_shuffle_epi8(t, _mm512_and_si512(c, low4));
      const __m512i hi = _mm512_shuffle_epi8(t, _mm512_and_si512(_mm512_srli_epi16(c, 4), low4));
      a0 = _mm512_add_epi16(a0, lo);
      a1 = _mm512_add_epi16(a1, _mm512_srli_epi16(lo, 8));
      a2 = _mm512_add_epi16(a2, hi);
      a3 = _mm512_add_epi16(a3, _mm512_srli_epi16(hi, 8));
    }
    a0 = _mm512_sub_epi16(a0, _mm512_slli_epi16(a1, 8));  // as in the AVX2 kernel
    a2 = _mm512_sub_epi16(a2, _mm512_slli_epi16(a3, 8));
    // Fold the four 128-bit lanes of each accumulator into 8 sums.
    __m256i h0 = _mm256_add_epi16(_mm512_castsi512_si256(a0), _mm512_extracti64x4_epi64(a0, 1));
    __m256i h1 = _mm256_add_epi16(_mm512_castsi512_si256(a1), _mm512_extracti64x4_epi64(a1, 1));
    __m256i h2 = _mm256_add_epi16(_mm512_castsi512_si256(a2), _mm512_extracti64x4_epi64(a2, 1));
    __m256i h3 = _mm256_add_epi16(_mm512_castsi512_si256(a3), _mm512_extracti64x4_epi64(a3, 1));
    if (nsq % 4) {  // one pair left: the 256-bit step of the AVX2 kernel
      const __m256i l4 = _mm256_set1_epi8(0x0f), l8 = _mm256_set1_epi16(0x00ff);
      const __m256i c = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(codes));
      codes += 32;
      const __m256i t = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(lut + quads * 64));
      const __m256i lo = _mm256_shuffle_epi8(t, _mm256_and_si256(c, l4));
      const __m256i hi = _mm256_shuffle_epi8(t, _mm256_and_si256(_mm256_srli_epi16(c, 4), l4));
      h0 = _mm256_add_epi16(h0, _mm256_and_si256(lo, l8));
      h1 = _mm256_add_epi16(h1, _mm256_srli_epi16(lo, 8));
      h2 = _mm256_add_epi16(h2, _mm256_and_si256(hi, l8));
      h3 = _mm256_add_epi16(h3, _mm256_srli_epi16(hi, 8));
    }
    const __m256i s01 =
        _mm256_add_epi16(_mm256_permute2x128_si256(h0, h1, 0x20), _mm256_permute2x128_si256(h0, h1, 0x31));
    const __m256i s23 =
        _mm256_add_epi16(_mm256_permute2x128_si256(h2, h3, 0x20), _mm256_permute2x128_si256(h2, h3, 0x31));
    const __m512i s = _mm512_inserti64x4(_mm512_castsi256_si512(s01), s23, 1);
    _mm512_storeu_si512(sums, s);
    masks[b] = _mm512_cmplt_epu16_mask(s, thr);
    sums += 32;
  }
}
#pragma GCC diagnostic pop

void ScanPortable(const uint8_t* codes, size_t nblocks, int nsq, const uint8_t* lut, uint16_t threshold, uint16_t* sums,
                  uint32_t* masks) {
  for (size_t b = 0; b < nblocks; ++b) {
    uint16_t s[32] = {};
    for (int sq = 0; sq < nsq; ++sq) {
      const uint8_t* bytes = codes + (sq / 2) * 32 + (sq % 2) * 16;
      const uint8_t* table = lut + sq * 16;
      for (int j = 0; j < 16; ++j) {
        s[kVec[j]] = static_cast<uint16_t>(s[kVec[j]] + table[bytes[j] & 15]);
        s[kVec[j] + 16] = static_cast<uint16_t>(s[kVec[j] + 16] + table[bytes[j] >> 4]);
      }
    }
    std::memcpy(sums, s, sizeof s);
    masks[b] = Mask(s, threshold);
    codes += static_cast<size_t>(nsq) * 16;
    sums += 32;
  }
}

const Pq4ScanImpl& Best() {
  static const Pq4ScanImpl best = Pq4ScanKernels().front();
  return best;
}

}  // namespace

std::vector<Pq4ScanImpl> Pq4ScanKernels() {
  std::vector<Pq4ScanImpl> k;
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512f")) k.push_back({"avx512", ScanAvx512});
  // _pext_u32 is BMI2, which every AVX2 CPU but a few early ones has.
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi2")) k.push_back({"avx2", ScanAvx2});
  k.push_back({"portable", ScanPortable});
  return k;
}

void Pq4Scan(const uint8_t* codes, size_t nblocks, int nsq, const uint8_t* lut, uint16_t threshold, uint16_t* sums,
             uint32_t* masks) {
  Best().fn(codes, nblocks, nsq, lut, threshold, sums, masks);
}

const char* Pq4ScanKernel() { return Best().name; }

}  // namespace lineup
