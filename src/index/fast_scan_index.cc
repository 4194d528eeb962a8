#include "index/fast_scan_index.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexIVFPQFastScan.h>
#include <faiss/IndexPreTransform.h>
#include <faiss/IndexScalarQuantizer.h>
#include <faiss/clone_index.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/impl/pq4_fast_scan.h>
#include <faiss/index_factory.h>
#include <faiss/index_io.h>
#include <faiss/invlists/BlockInvertedLists.h>
#include <faiss/utils/distances.h>
#include <immintrin.h>
#include <omp.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <string>
#include <unordered_map>
#include <vector>

#include "index/index_file.h"
#include "index/ivf_training.h"
#include "index/pq4_scan.h"
#include "util/dot_rows.h"

namespace lineup {

namespace {

using idx_t = faiss::Index::idx_t;

// A shortlisted code: its approximate score and where it sits (list, position).
struct Candidate {
  float score;
  uint32_t list;
  uint32_t pos;
};

bool Better(const Candidate& a, const Candidate& b) { return a.score > b.score; }

// The index's PCA (null without one) and its inverted file (null if not fast-scan).
faiss::IndexPreTransform* PcaOf(faiss::Index* index) { return dynamic_cast<faiss::IndexPreTransform*>(index); }
faiss::IndexIVFPQFastScan* FastScanOf(faiss::Index* index) {
  faiss::IndexPreTransform* pre = PcaOf(index);
  return dynamic_cast<faiss::IndexIVFPQFastScan*>(pre ? pre->index : index);
}

// w . c for 8-bit codes c. Eight partial sums: a single running float sum is a chain of
// dependent additions that the compiler may not reorder (3x slower, measured).
float DotCodesPortable(const float* w, const uint8_t* c, size_t n) {
  float acc[8] = {};
  size_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (int k = 0; k < 8; ++k)
      acc[k] += w[j + static_cast<size_t>(k)] * static_cast<float>(c[j + static_cast<size_t>(k)]);
  float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; j < n; ++j) s += w[j] * static_cast<float>(c[j]);
  return s;
}

__attribute__((target("avx2,fma"))) float DotCodesAvx2(const float* w, const uint8_t* c, size_t n) {
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  size_t j = 0;
  for (; j + 16 <= n; j += 16) {
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(c + j));
    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + j), _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(b)), a0);
    a1 =
        _mm256_fmadd_ps(_mm256_loadu_ps(w + j + 8), _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(b, 8))), a1);
  }
  alignas(32) float t[8];
  _mm256_store_ps(t, _mm256_add_ps(a0, a1));
  float s = ((t[0] + t[1]) + (t[2] + t[3])) + ((t[4] + t[5]) + (t[6] + t[7]));
  for (; j < n; ++j) s += w[j] * static_cast<float>(c[j]);
  return s;
}

using DotCodesFn = float (*)(const float*, const uint8_t*, size_t);
DotCodesFn DotCodes() {
  static const DotCodesFn fn = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? DotCodesAvx2 : DotCodesPortable;
  }();
  return fn;
}

// Keeps the `keep` best of a stream of candidates without a heap: candidates pile up
// until there are twice as many, then the worse half is dropped. `floor` is the worst
// kept score once `keep` have been seen (-inf before), below which nothing can enter.
class Shortlist {
 public:
  explicit Shortlist(size_t keep) : keep_(keep) { items_.reserve(2 * keep + 32); }
  float floor() const { return floor_; }
  void Offer(const Candidate& c) {
    if (c.score <= floor_) return;
    items_.push_back(c);
    if (items_.size() >= 2 * keep_) Trim();
  }
  std::vector<Candidate>& Finish() {
    if (items_.size() > keep_) Trim();
    return items_;
  }

 private:
  void Trim() {
    std::nth_element(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(keep_ - 1), items_.end(), Better);
    items_.resize(keep_);
    floor_ = items_.back().score;
  }
  size_t keep_;
  std::vector<Candidate> items_;
  float floor_ = -std::numeric_limits<float>::infinity();
};

class FastScanIndex : public VectorIndex {
 public:
  FastScanIndex(const FastScanOptions& o, int dim, std::unique_ptr<faiss::Index> index,
                std::unique_ptr<faiss::IndexIVFScalarQuantizer> refine)
      : o_(o), dim_(dim), index_(std::move(index)), refine_(std::move(refine)) {
    pre_ = PcaOf(index_.get());
    ivf_ = FastScanOf(index_.get());
    lists_ = dynamic_cast<faiss::BlockInvertedLists*>(ivf_->invlists);
    coded_ = o.pca > 0 ? o.pca : dim;
    spec_ = "ivfpq," + (o.pca > 0 ? "pca=" + std::to_string(o.pca) + "," : std::string()) +
            "nlist=" + std::to_string(o.nlist) + ",m=" + std::to_string(o.m) +
            ",bits=4,nprobe=" + std::to_string(o.nprobe) +
            (o.refine > 0 ? ",refine=" + std::to_string(o.refine) : std::string()) +
            ",rerank=" + std::to_string(o.rerank);
    if (index_->is_trained) Derive();
  }

  std::string spec() const override { return spec_; }
  int dim() const override { return dim_; }
  int64_t size() const override { return index_->ntotal; }
  bool is_trained() const override { return index_->is_trained; }
  bool compressed() const override { return true; }
  bool persistent() const override { return true; }

  int64_t MemoryBytes() const override {
    double b = static_cast<double>(index_->ntotal) * sizeof(idx_t);
    for (size_t l = 0; l < lists_->nlist; ++l) b += static_cast<double>(lists_->codes[l].size());
    b += static_cast<double>(o_.nlist) * coded_ * sizeof(float);  // coarse centroids
    b += static_cast<double>(ivf_->pq.centroids.size()) * sizeof(float);
    if (pre_)
      for (const faiss::VectorTransform* t : pre_->chain)
        if (auto* lt = dynamic_cast<const faiss::LinearTransform*>(t))
          b += static_cast<double>(lt->A.size() + lt->b.size()) * sizeof(float);
    if (refine_) {
      b += static_cast<double>(refine_->ntotal) * (static_cast<double>(refine_->code_size) + sizeof(idx_t));
      b += static_cast<double>(o_.nlist) * coded_ * sizeof(float);  // its copy of the centroids
    }
    return static_cast<int64_t>(b);
  }

  int64_t MinTrainingVectors() const override {
    return index_->is_trained ? 0 : std::max<int64_t>({o_.nlist, o_.pca, 16});
  }

  Status Train(std::span<const float> sample) override {
    if (sample.size() % static_cast<size_t>(dim_) != 0)
      return Status::InvalidArgument("training sample is not whole vectors");
    if (index_->is_trained) return Status::OK();
    const idx_t n = static_cast<idx_t>(sample.size() / static_cast<size_t>(dim_));
    const int64_t need = MinTrainingVectors();
    if (n < need)
      return Status::InvalidArgument("index " + spec_ + " needs at least " + std::to_string(need) +
                                     " vectors to train, got " + std::to_string(n));
    try {
      index_->train(n, sample.data());
      if (o_.refine > 0) {
        refine_ = std::make_unique<faiss::IndexIVFScalarQuantizer>(
            faiss::clone_index(ivf_->quantizer), static_cast<size_t>(coded_), static_cast<size_t>(o_.nlist),
            faiss::ScalarQuantizer::QT_8bit, faiss::METRIC_INNER_PRODUCT, /*encode_residual=*/false);
        refine_->own_fields = true;
        Transformed t(*this, n, sample.data());
        refine_->train(n, t.data);
      }
    } catch (const std::exception& e) {
      return Status::Internal("training " + spec_ + ": " + e.what());
    }
    Derive();
    return Status::OK();
  }

  Status Add(std::span<const int64_t> ids, std::span<const float> vectors) override {
    if (vectors.size() != ids.size() * static_cast<size_t>(dim_))
      return Status::InvalidArgument("vector count does not match ids");
    if (!index_->is_trained)
      return Status::InvalidArgument("index " + spec_ + " must be trained before vectors are added");
    if (ids.empty()) return Status::OK();
    const idx_t n = static_cast<idx_t>(ids.size());
    try {
      std::vector<size_t> before(lists_->nlist);
      for (size_t l = 0; l < lists_->nlist; ++l) before[l] = lists_->list_size(l);
      std::vector<idx_t> fids(ids.begin(), ids.end());
      // Transformed once for both code stores (index_->add_with_ids would do it again).
      Transformed t(*this, n, vectors.data());
      ivf_->add_with_ids(n, t.data, fids.data());
      if (pre_) pre_->ntotal = ivf_->ntotal;
      if (refine_) {
        // FAISS files each face into a list in an order of its own; the 8-bit codes are
        // appended in that same order, so that a position serves both.
        const size_t cs = refine_->code_size;
        std::vector<uint8_t> codes(static_cast<size_t>(n) * cs);
        refine_->sq.compute_codes(t.data, codes.data(), static_cast<size_t>(n));
        std::unordered_map<idx_t, size_t> row;
        row.reserve(static_cast<size_t>(n));
        for (idx_t i = 0; i < n; ++i) row.emplace(fids[static_cast<size_t>(i)], static_cast<size_t>(i));
        for (size_t l = 0; l < lists_->nlist; ++l)
          for (size_t p = before[l]; p < lists_->list_size(l); ++p) {
            const idx_t id = lists_->ids[l][p];
            auto it = row.find(id);
            if (it == row.end())
              return Status::Internal("index " + spec_ + ": face " + std::to_string(id) + " filed twice");
            refine_->invlists->add_entry(l, id, codes.data() + it->second * cs);
          }
        refine_->ntotal += n;
      }
    } catch (const std::exception& e) {
      return Status::Internal("adding to " + spec_ + ": " + e.what());
    }
    return Status::OK();
  }

  Status Remove(std::span<const int64_t> ids) override {
    if (ids.empty() || index_->ntotal == 0) return Status::OK();
    std::vector<idx_t> fids(ids.begin(), ids.end());
    faiss::IDSelectorBatch sel(fids.size(), fids.data());
    auto* fine = refine_ ? dynamic_cast<faiss::ArrayInvertedLists*>(refine_->invlists) : nullptr;
    const size_t bbs = static_cast<size_t>(ivf_->bbs), nsq = ivf_->M2, cs = refine_ ? refine_->code_size : 0;
    idx_t removed = 0;
    try {
      for (size_t l = 0; l < lists_->nlist; ++l) {
        std::vector<idx_t>& lid = lists_->ids[l];
        const size_t had = lid.size();
        size_t n = had;
        uint8_t* codes = lists_->codes[l].data();
        // The last face fills each hole, in both code stores alike.
        for (size_t j = 0; j < n;) {
          if (!sel.is_member(lid[j])) {
            ++j;
            continue;
          }
          --n;
          if (j == n) continue;
          lid[j] = lid[n];
          for (size_t sq = 0; sq < nsq; ++sq)
            faiss::pq4_set_packed_element(codes, faiss::pq4_get_packed_element(codes, bbs, nsq, n, sq), bbs, nsq, j,
                                          sq);
          if (fine) {
            fine->ids[l][j] = fine->ids[l][n];
            std::memcpy(fine->codes[l].data() + j * cs, fine->codes[l].data() + n * cs, cs);
          }
        }
        if (n == had) continue;
        // No trace of a removed face's code stays behind in the last block.
        for (size_t j = n; j < had; ++j)
          for (size_t sq = 0; sq < nsq; ++sq) faiss::pq4_set_packed_element(codes, 0, bbs, nsq, j, sq);
        lists_->resize(l, n);
        if (fine) {
          std::memset(fine->codes[l].data() + n * cs, 0, (had - n) * cs);
          fine->resize(l, n);
        }
        removed += static_cast<idx_t>(had - n);
      }
    } catch (const std::exception& e) {
      return Status::Internal("removing from " + spec_ + ": " + e.what());
    }
    ivf_->ntotal -= removed;
    if (pre_) pre_->ntotal -= removed;
    if (refine_) refine_->ntotal -= removed;
    return Status::OK();
  }

  Status Search(std::span<const float> queries, int k, const ExactVectors* exact,
                std::vector<std::vector<IndexHit>>* out) const override {
    return SearchWith(queries, k, exact, {o_.nprobe, o_.refine, o_.rerank}, out);
  }

  // Close neighbours only: the lists nearest the probe (1/64 of them, at least 32) and
  // short shortlists. Measured by `lineup bench cluster` (docs/persons.md).
  Status SearchNear(std::span<const float> queries, int k, const ExactVectors* exact,
                    std::vector<std::vector<IndexHit>>* out) const override {
    const int nlist = static_cast<int>(ivf_->nlist);
    Depth d{std::min(o_.nprobe, std::max(32, nlist / 64)), o_.refine > 0 ? std::min(o_.refine, 2048) : 0,
            std::min(o_.rerank, std::max(k, 64))};
    return SearchWith(queries, k, exact, d, out);
  }

  Status Save(const std::string& path) const override {
    faiss::VectorIOWriter w;
    try {
      faiss::write_index(index_.get(), &w);
      if (refine_) faiss::write_index(refine_.get(), &w);
    } catch (const std::exception& e) {
      return Status::Internal("writing " + spec_ + ": " + e.what());
    }
    return WriteIndexFile(path, spec_, dim_, index_->ntotal, w.data);
  }

 private:
  // The vectors in the coded space (after PCA), owned or borrowed.
  struct Transformed {
    Transformed(const FastScanIndex& ix, idx_t n, const float* x)
        : data(ix.pre_ ? ix.pre_->apply_chain(n, x) : x), owned(data != x) {}
    ~Transformed() {
      if (owned) delete[] data;
    }
    Transformed(const Transformed&) = delete;
    Transformed& operator=(const Transformed&) = delete;
    const float* data;
    bool owned;
  };

  // What follows from training: the transform's offset and the 8-bit codes' scale.
  void Derive() {
    const std::vector<float> zero(static_cast<size_t>(dim_), 0.f);
    {
      Transformed t(*this, 1, zero.data());
      offset_.assign(t.data, t.data + coded_);
    }
    if (refine_) {
      // 8-bit code c of dimension j decodes to low_[j] + step_[j] * c.
      const size_t cs = refine_->code_size;
      std::vector<uint8_t> codes(2 * cs, 0);
      std::fill(codes.begin() + static_cast<std::ptrdiff_t>(cs), codes.end(), 1);
      std::vector<float> dec(2 * static_cast<size_t>(coded_));
      refine_->sq.decode(codes.data(), dec.data(), 2);
      low_.assign(dec.begin(), dec.begin() + coded_);
      step_.resize(static_cast<size_t>(coded_));
      for (int j = 0; j < coded_; ++j)
        step_[static_cast<size_t>(j)] = dec[static_cast<size_t>(coded_ + j)] - low_[static_cast<size_t>(j)];
    }
  }

  // How much of the index a search looks at (FastScanOptions' three numbers).
  struct Depth {
    int nprobe, refine, rerank;
  };

  Status SearchWith(std::span<const float> queries, int k, const ExactVectors* exact, Depth depth,
                    std::vector<std::vector<IndexHit>>* out) const {
    if (queries.empty() || queries.size() % static_cast<size_t>(dim_) != 0)
      return Status::InvalidArgument("probe vectors must have " + std::to_string(dim_) + " values each");
    if (k <= 0) return Status::InvalidArgument("top-k must be positive");
    if (!exact) return Status::InvalidArgument("index " + spec_ + " needs the exact vectors to re-rank");
    const size_t n = queries.size() / static_cast<size_t>(dim_);
    out->assign(n, {});
    if (index_->ntotal == 0) return Status::OK();
    try {
      for (size_t q = 0; q < n; ++q)
        SearchOne(queries.data() + q * static_cast<size_t>(dim_), k, *exact, depth, &(*out)[q]);
    } catch (const std::exception& e) {
      return Status::Internal("searching " + spec_ + ": " + e.what());
    }
    return Status::OK();
  }

  void SearchOne(const float* query, int k, const ExactVectors& exact, Depth depth, std::vector<IndexHit>* hits) const {
    // The probe in the coded space, without the centring on the gallery's mean: its
    // inner product with a face's coded vector then differs from the true one by the
    // same amount (probe . mean) for every face.
    std::vector<float> qt(static_cast<size_t>(coded_));
    {
      Transformed t(*this, 1, query);
      for (int j = 0; j < coded_; ++j) qt[static_cast<size_t>(j)] = t.data[j] - offset_[static_cast<size_t>(j)];
    }

    // 1. The lists to scan, most similar centroid first.
    auto* flat = dynamic_cast<faiss::IndexFlat*>(ivf_->quantizer);
    const int nlist = static_cast<int>(ivf_->nlist);
    std::vector<float> coarse(static_cast<size_t>(nlist));
    DotRows(flat->get_xb(), nlist, qt.data(), 1, coded_, coarse.data());
    const int nprobe = std::min(depth.nprobe, nlist);
    std::vector<int> order(static_cast<size_t>(nlist));
    std::iota(order.begin(), order.end(), 0);
    auto by_coarse = [&](int a, int b) { return coarse[static_cast<size_t>(a)] > coarse[static_cast<size_t>(b)]; };
    std::partial_sort(order.begin(), order.begin() + nprobe, order.end(), by_coarse);

    // 2. The product quantiser's table, as 8-bit costs: cost 0 is each sub-quantiser's
    // best entry, and sum / scale is what a code's score falls short of `top`.
    const int m = static_cast<int>(ivf_->pq.M), nsq = static_cast<int>(ivf_->M2);
    std::vector<float> table(static_cast<size_t>(m) * 16);
    ivf_->pq.compute_inner_prod_table(qt.data(), table.data());
    float top = 0, span = 0;
    std::vector<float> best(static_cast<size_t>(m));
    for (int s = 0; s < m; ++s) {
      const float* t = table.data() + s * 16;
      const auto [lo, hi] = std::minmax_element(t, t + 16);
      best[static_cast<size_t>(s)] = *hi;
      top += *hi;
      span = std::max(span, *hi - *lo);
    }
    const float scale = span > 0 ? 255.f / span : 1.f, unit = 1.f / scale;
    std::vector<uint8_t> lut(static_cast<size_t>(nsq) * 16, 0);
    for (int s = 0; s < m; ++s)
      for (int c = 0; c < 16; ++c)
        lut[static_cast<size_t>(s * 16 + c)] = static_cast<uint8_t>(
            std::lround((best[static_cast<size_t>(s)] - table[static_cast<size_t>(s * 16 + c)]) * scale));

    // 3. Scan, lists shared out in turn so that every thread starts with the nearest.
    const int fetch = std::max(k, depth.rerank);
    const size_t keep = static_cast<size_t>(refine_ ? std::max(fetch, depth.refine) : fetch);
    const int threads = std::max(1, std::min(omp_get_max_threads(), nprobe));
    std::vector<std::vector<Candidate>> found(static_cast<size_t>(threads));
#pragma omp parallel num_threads(threads)
    {
      const int t = omp_get_thread_num();
      // Each thread sees every other list, so it holds about 1/threads of the best `keep`;
      // keeping 1.2/threads of them (not all) halves the candidates two threads handle,
      // and what it may drop ranks near the end of the shortlist, far from the top ten.
      Shortlist shortlist(
          std::min(keep, (keep * 6 + 5 * static_cast<size_t>(threads) - 1) / (5 * static_cast<size_t>(threads))));
      std::vector<uint16_t> sums;
      std::vector<uint32_t> masks;
      for (int i = t; i < nprobe; i += threads) {
        const size_t l = static_cast<size_t>(order[static_cast<size_t>(i)]);
        const size_t len = lists_->list_size(l);
        if (len == 0) continue;
        const float bias = (ivf_->by_residual ? coarse[l] : 0.f) + top;
        // A code scores at most `bias`; once that cannot beat the shortlist, neither can
        // any later list (they come in falling order).
        const float room = (bias - shortlist.floor()) * scale;
        if (!(room > 0)) break;
        const uint16_t threshold = room >= 65535.f ? uint16_t{65535} : static_cast<uint16_t>(std::ceil(room));
        const size_t blocks = (len + 31) / 32;
        sums.resize(blocks * 32);
        masks.resize(blocks);
        Pq4Scan(lists_->codes[l].data(), blocks, nsq, lut.data(), threshold, sums.data(), masks.data());
        for (size_t b = 0; b < blocks; ++b)
          for (uint32_t bits = masks[b]; bits; bits &= bits - 1) {
            const size_t p = b * 32 + static_cast<size_t>(__builtin_ctz(bits));
            if (p >= len) break;  // padding of the last block
            shortlist.Offer(
                {bias - static_cast<float>(sums[p]) * unit, static_cast<uint32_t>(l), static_cast<uint32_t>(p)});
          }
      }
      found[static_cast<size_t>(t)] = std::move(shortlist.Finish());
    }
    std::vector<Candidate> cands;
    for (auto& f : found) cands.insert(cands.end(), f.begin(), f.end());
    if (cands.size() > keep) {
      std::nth_element(cands.begin(), cands.begin() + static_cast<std::ptrdiff_t>(keep), cands.end(), Better);
      cands.resize(keep);
    }

    // 4. Re-score with the 8-bit codes of the principal components.
    if (refine_ && cands.size() > static_cast<size_t>(fetch)) {
      auto* fine = static_cast<const faiss::ArrayInvertedLists*>(refine_->invlists);
      const size_t cs = refine_->code_size;
      std::vector<float> w(static_cast<size_t>(coded_));
      float base = 0;
      for (size_t j = 0; j < w.size(); ++j) {
        w[j] = qt[j] * step_[j];
        base += qt[j] * low_[j];
      }
      const DotCodesFn dot = DotCodes();
      const int64_t count = static_cast<int64_t>(cands.size());
      // Each code is a cache miss of its own: fetch a few ahead.
      constexpr int64_t kAhead = 12;
#pragma omp parallel for num_threads(threads) schedule(static)
      for (int64_t i = 0; i < count; ++i) {
        if (i + kAhead < count) {
          const Candidate& a = cands[static_cast<size_t>(i + kAhead)];
          const uint8_t* next = fine->codes[a.list].data() + static_cast<size_t>(a.pos) * cs;
          for (size_t o = 0; o < cs; o += 64) __builtin_prefetch(next + o);
        }
        Candidate& c = cands[static_cast<size_t>(i)];
        c.score = base + dot(w.data(), fine->codes[c.list].data() + static_cast<size_t>(c.pos) * cs, cs);
      }
      std::nth_element(cands.begin(), cands.begin() + fetch, cands.end(), Better);
      cands.resize(static_cast<size_t>(fetch));
    }

    // 5. Exact scores. The exact vectors are usually a memory-mapped file larger than the
    // page cache can keep beside the index; asking for all the pages first lets the disk
    // read them side by side instead of one page fault at a time.
    // (Measured at 10M faces: p50 30 ms and p99 90-250 ms without, 13 and 25-27 ms with.)
    std::vector<std::pair<idx_t, const float*>> rows;
    rows.reserve(cands.size());
    const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
    for (const Candidate& c : cands) {
      const idx_t id = lists_->ids[c.list][c.pos];
      const float* v = exact.Find(id);
      if (!v) continue;  // erased while this search ran: nothing to return
      rows.push_back({id, v});
      const uintptr_t from = reinterpret_cast<uintptr_t>(v) & ~(page - 1);
      const uintptr_t to = reinterpret_cast<uintptr_t>(v + dim_);
      ::madvise(reinterpret_cast<void*>(from), to - from, MADV_WILLNEED);
    }
    hits->resize(rows.size());
    const int64_t count = static_cast<int64_t>(rows.size());
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t i = 0; i < count; ++i) {
      const auto& [id, v] = rows[static_cast<size_t>(i)];
      (*hits)[static_cast<size_t>(i)] = {id, faiss::fvec_inner_product(query, v, static_cast<size_t>(dim_))};
    }
    const size_t kk = std::min<size_t>(static_cast<size_t>(k), hits->size());
    std::partial_sort(
        hits->begin(), hits->begin() + static_cast<std::ptrdiff_t>(kk), hits->end(),
        [](const IndexHit& a, const IndexHit& b) { return a.score > b.score || (a.score == b.score && a.id < b.id); });
    hits->resize(kk);
  }

  FastScanOptions o_;
  int dim_, coded_;
  std::string spec_;
  std::unique_ptr<faiss::Index> index_;
  faiss::IndexPreTransform* pre_ = nullptr;  // within index_, if PCA
  faiss::IndexIVFPQFastScan* ivf_ = nullptr;
  faiss::BlockInvertedLists* lists_ = nullptr;
  std::unique_ptr<faiss::IndexIVFScalarQuantizer> refine_;
  std::vector<float> offset_, low_, step_;
};

}  // namespace

Result<std::unique_ptr<VectorIndex>> MakeFastScanIndex(const FastScanOptions& o, int dim,
                                                       std::unique_ptr<faiss::Index> loaded, faiss::IOReader* more) {
  const int coded = o.pca > 0 ? o.pca : dim;
  std::unique_ptr<faiss::IndexIVFScalarQuantizer> refine;
  if (!loaded) {
    // PCAR: principal components, then a random rotation that spreads their variance
    // evenly over the sub-quantisers.
    const std::string factory = (o.pca > 0 ? "PCAR" + std::to_string(o.pca) + "," : std::string()) + "IVF" +
                                std::to_string(o.nlist) + ",PQ" + std::to_string(o.m) + "x4fs";
    loaded.reset(faiss::index_factory(dim, factory.c_str(), faiss::METRIC_INNER_PRODUCT));
    auto* ivf = FastScanOf(loaded.get());
    if (!ivf) return Status::Internal("FAISS made no fast-scan index for " + factory);
    SetCoarseTraining(ivf);
    ivf->pq.cp.min_points_per_centroid = 1;
    // Codes of each face's offset from its list's centroid: measured at 1M faces, recall@10
    // 0.992 against 0.953 for codes of the face itself (same lists scanned).
    ivf->by_residual = true;
  } else {
    auto* ivf = FastScanOf(loaded.get());
    if (!ivf || (o.pca > 0) != (PcaOf(loaded.get()) != nullptr) || ivf->d != coded ||
        ivf->pq.M != static_cast<size_t>(o.m) || ivf->nlist != static_cast<size_t>(o.nlist) || ivf->bbs != 32 ||
        !dynamic_cast<faiss::IndexFlat*>(ivf->quantizer) || !dynamic_cast<faiss::BlockInvertedLists*>(ivf->invlists))
      return Status::Corrupt("the saved index is not the fast-scan index its spec names");
    if (o.refine > 0) {
      std::unique_ptr<faiss::Index> r;
      try {
        if (!more) throw std::runtime_error("missing");
        r.reset(faiss::read_index(more));
      } catch (const std::exception& e) {
        return Status::Corrupt(std::string("the saved index lacks its 8-bit codes (") + e.what() + ")");
      }
      refine.reset(dynamic_cast<faiss::IndexIVFScalarQuantizer*>(r.get()));
      if (!refine) return Status::Corrupt("the saved index's 8-bit codes are of the wrong kind");
      r.release();
      auto* fine = dynamic_cast<faiss::ArrayInvertedLists*>(refine->invlists);
      bool same = fine && refine->d == coded && refine->nlist == ivf->nlist && refine->ntotal == ivf->ntotal;
      for (size_t l = 0; same && l < ivf->nlist; ++l)
        same = fine->list_size(l) == ivf->invlists->list_size(l) &&
               std::equal(fine->ids[l].begin(), fine->ids[l].end(), ivf->invlists->get_ids(l));
      if (!same) return Status::Corrupt("the saved index's 8-bit codes do not match its lists");
    }
  }
  return std::unique_ptr<VectorIndex>(new FastScanIndex(o, dim, std::move(loaded), std::move(refine)));
}

}  // namespace lineup
