#include "lineup/neighbour_graph.h"

#include <faiss/Clustering.h>
#include <faiss/IndexFlat.h>
#include <faiss/utils/Heap.h>

#include <algorithm>
#include <cstring>
#include <string>

#include <opencv2/core.hpp>

namespace lineup {

namespace {

using Heap = faiss::CMin<float, int64_t>;

// The rows numbered in `which` gathered into one matrix.
void Gather(std::span<const float* const> rows, const int64_t* which, size_t count, int dim, cv::Mat* out) {
  out->create(static_cast<int>(count), dim, CV_32F);
  for (size_t i = 0; i < count; ++i)
    std::memcpy(out->ptr<float>(static_cast<int>(i)), rows[static_cast<size_t>(which[i])], sizeof(float) * static_cast<size_t>(dim));
}

}  // namespace

Result<std::vector<std::vector<IndexHit>>> NeighbourGraph(std::span<const float* const> rows,
                                                          std::span<const int64_t> ids, int dim,
                                                          std::span<const int64_t> queries, int k,
                                                          const NeighbourGraphOptions& options) {
  const int64_t n = static_cast<int64_t>(rows.size());
  if (ids.size() != rows.size()) return Status::InvalidArgument("one id per row is needed");
  if (dim <= 0 || k <= 0) return Status::InvalidArgument("dimension and k must be positive");
  if (options.probes <= 0 || options.faces_per_list <= 0) return Status::InvalidArgument("probes and list size must be positive");
  for (int64_t q : queries)
    if (q < 0 || q >= n) return Status::InvalidArgument("query row " + std::to_string(q) + " is not a row");
  if (options.findable_rows > n) return Status::InvalidArgument("more findable rows than rows");
  const int64_t findable = options.findable_rows < 0 ? n : options.findable_rows;
  std::vector<std::vector<IndexHit>> out(queries.size());
  if (n < 2 || queries.empty()) return out;
  try {
    // 1. The space the lists are made in: the leading principal components.
    int lists = 1;
    while (lists < 16384 && static_cast<int64_t>(lists) * options.faces_per_list < n) lists *= 2;
    if (lists < 16) lists = n >= 16 * 40 ? 16 : 1;
    const int probes = std::min(options.probes, lists);
    const int64_t want = std::min<int64_t>(n, std::max<int64_t>(int64_t{40} * lists, 20000));
    const int64_t stride = std::max<int64_t>(1, n / want);
    std::vector<int64_t> sample_rows;
    for (int64_t r = 0; r < n && static_cast<int64_t>(sample_rows.size()) < want; r += stride) sample_rows.push_back(r);
    cv::Mat sample;
    Gather(rows, sample_rows.data(), sample_rows.size(), dim, &sample);
    const bool reduce = options.components > 0 && options.components < dim && sample.rows > options.components;
    const int cdim = reduce ? options.components : dim;
    cv::PCA pca;
    if (reduce) pca = cv::PCA(sample, cv::Mat(), cv::PCA::DATA_AS_ROW, cdim);
    auto project = [&](const cv::Mat& m) {
      if (!reduce) return m.clone();
      cv::Mat p;
      pca.project(m, p);
      return p;
    };

    // 2. The lists: k-means centroids, and each row's `probes` nearest.
    std::vector<faiss::Index::idx_t> nearest(static_cast<size_t>(n) * static_cast<size_t>(probes), 0);
    if (lists > 1) {
      cv::Mat reduced = project(sample);
      faiss::ClusteringParameters cp;
      cp.niter = 10;
      cp.seed = 20261202;
      cp.max_points_per_centroid = 1 << 30;
      faiss::Clustering clustering(cdim, lists, cp);
      faiss::IndexFlatL2 centroids(cdim);
      clustering.train(reduced.rows, reduced.ptr<float>(0), centroids);
      constexpr int64_t kBatch = 65536;
      std::vector<int64_t> batch;
      std::vector<float> distances;
      cv::Mat m;
      for (int64_t at = 0; at < n; at += kBatch) {
        const int64_t count = std::min(kBatch, n - at);
        batch.resize(static_cast<size_t>(count));
        for (int64_t i = 0; i < count; ++i) batch[static_cast<size_t>(i)] = at + i;
        Gather(rows, batch.data(), batch.size(), dim, &m);
        cv::Mat p = project(m);
        distances.resize(static_cast<size_t>(count) * static_cast<size_t>(probes));
        centroids.search(count, p.ptr<float>(0), probes, distances.data(),
                         nearest.data() + static_cast<size_t>(at) * static_cast<size_t>(probes));
      }
    }
    std::vector<std::vector<int64_t>> members(static_cast<size_t>(lists)), visitors(static_cast<size_t>(lists));
    for (int64_t r = 0; r < findable; ++r) members[static_cast<size_t>(nearest[static_cast<size_t>(r * probes)])].push_back(r);
    for (size_t q = 0; q < queries.size(); ++q)
      for (int j = 0; j < probes; ++j) {
        const faiss::Index::idx_t l = nearest[static_cast<size_t>(queries[q] * probes + j)];
        if (l >= 0) visitors[static_cast<size_t>(l)].push_back(static_cast<int64_t>(q));
      }

    // 3. Each list against the queries that visit it: one product, then each query's
    // running k best (a min-heap of row numbers).
    std::vector<float> best(queries.size() * static_cast<size_t>(k));
    std::vector<int64_t> best_row(queries.size() * static_cast<size_t>(k));
    for (size_t q = 0; q < queries.size(); ++q)
      faiss::heap_heapify<Heap>(static_cast<size_t>(k), best.data() + q * static_cast<size_t>(k),
                                best_row.data() + q * static_cast<size_t>(k));
    int64_t work_all = 0, work_done = 0;
    for (int l = 0; l < lists; ++l)
      work_all += static_cast<int64_t>(members[static_cast<size_t>(l)].size() * visitors[static_cast<size_t>(l)].size());
    cv::Mat base, probe, scores;
    std::vector<int64_t> probe_rows;
    for (int l = 0; l < lists; ++l) {
      const auto& mem = members[static_cast<size_t>(l)];
      const auto& vis = visitors[static_cast<size_t>(l)];
      if (mem.empty() || vis.empty()) continue;
      probe_rows.resize(vis.size());
      for (size_t i = 0; i < vis.size(); ++i) probe_rows[i] = queries[static_cast<size_t>(vis[i])];
      Gather(rows, mem.data(), mem.size(), dim, &base);
      Gather(rows, probe_rows.data(), probe_rows.size(), dim, &probe);
      cv::gemm(probe, base, 1.0, cv::Mat(), 0.0, scores, cv::GEMM_2_T);
      for (size_t i = 0; i < vis.size(); ++i) {
        const size_t q = static_cast<size_t>(vis[i]);
        float* hs = best.data() + q * static_cast<size_t>(k);
        int64_t* hr = best_row.data() + q * static_cast<size_t>(k);
        const float* s = scores.ptr<float>(static_cast<int>(i));
        for (size_t j = 0; j < mem.size(); ++j) {
          if (s[j] > hs[0] && mem[j] != probe_rows[i]) faiss::heap_replace_top<Heap>(static_cast<size_t>(k), hs, hr, s[j], mem[j]);
        }
      }
      work_done += static_cast<int64_t>(mem.size() * vis.size());
      if (options.progress && (l % 64 == 63 || l + 1 == lists)) options.progress(work_done, work_all);
    }
    for (size_t q = 0; q < queries.size(); ++q) {
      float* hs = best.data() + q * static_cast<size_t>(k);
      int64_t* hr = best_row.data() + q * static_cast<size_t>(k);
      faiss::heap_reorder<Heap>(static_cast<size_t>(k), hs, hr);
      for (int j = 0; j < k; ++j)
        if (hr[j] >= 0) out[q].push_back({ids[static_cast<size_t>(hr[j])], hs[j]});
    }
  } catch (const std::exception& e) {
    return Status::Internal(std::string("building the neighbour graph: ") + e.what());
  }
  return out;
}

}  // namespace lineup
