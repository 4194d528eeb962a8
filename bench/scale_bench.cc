// lineup_bench_scale: measures candidate FAISS indexes for a 1M-10M face gallery on
// synthetic embeddings with identity structure (same-identity cosine ~0.64, different
// ~0.0, as our model gives on LFW), to choose the gallery's vector index.
//
//   lineup_bench_scale --faces N [--dim 512] [--identities M] [--queries Q]
//                      [--index SPEC]... [--train-max T] [--seed S] [--json OUT]
//
// SPEC is a faiss::index_factory string optionally followed by space-separated options:
//   nprobe=K       (IVF)   efSearch=K (HNSW)   rerank=K  (fetch top-K from the index and
//   re-rank with the exact float vectors, which stand in for the memory-mapped file).
// Example: --index "IVF1024,PQ64 nprobe=32 rerank=200" --index "HNSW32 efSearch=64".
// "Flat" is the exact brute-force search (ground truth) and is always measured.
// Specs sharing a factory string share one built index.
#include <faiss/AutoTune.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVF.h>
#include <faiss/IndexIVFPQ.h>
#include <faiss/index_factory.h>
#include <faiss/utils/distances.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

using idx_t = faiss::Index::idx_t;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

long rss_bytes() {
  std::ifstream f("/proc/self/statm");
  long pages = 0, resident = 0;
  f >> pages >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

void normalise(float* v, int d) {
  double s = 0;
  for (int i = 0; i < d; ++i) s += double(v[i]) * v[i];
  const float inv = float(1.0 / std::sqrt(s));
  for (int i = 0; i < d; ++i) v[i] *= inv;
}

struct Spec {
  std::string text;     // as printed
  std::string factory;  // index_factory string
  int nprobe = 0;
  int ef_search = 0;
  int rerank = 0;
};

Spec parse_spec(const std::string& s) {
  Spec spec;
  std::istringstream in(s);
  in >> spec.factory;
  std::string opt;
  while (in >> opt) {
    const auto eq = opt.find('=');
    if (eq == std::string::npos) throw std::runtime_error("bad spec option: " + opt);
    const std::string key = opt.substr(0, eq);
    const int value = std::stoi(opt.substr(eq + 1));
    if (key == "nprobe") spec.nprobe = value;
    else if (key == "efSearch") spec.ef_search = value;
    else if (key == "rerank") spec.rerank = value;
    else throw std::runtime_error("unknown spec option: " + key);
  }
  spec.text = spec.factory;
  if (spec.nprobe) { spec.text.append(" nprobe="); spec.text.append(std::to_string(spec.nprobe)); }
  if (spec.ef_search) { spec.text.append(" efSearch="); spec.text.append(std::to_string(spec.ef_search)); }
  if (spec.rerank) { spec.text.append(" +rerank"); spec.text.append(std::to_string(spec.rerank)); }
  return spec;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, size_t(std::ceil(p * v.size())) - (p > 0 ? 1 : 0));
  return v[i];
}

// Index's own storage in bytes (what must live in RAM), computed from its structure.
double index_bytes(const faiss::Index* index, size_t n, int d) {
  if (auto* ivfpq = dynamic_cast<const faiss::IndexIVFPQ*>(index)) {
    double b = double(n) * (ivfpq->code_size + sizeof(idx_t));
    b += double(ivfpq->nlist) * d * sizeof(float);                         // coarse centroids
    b += double(ivfpq->pq.M) * ivfpq->pq.ksub * ivfpq->pq.dsub * sizeof(float);  // PQ codebooks
    b += double(ivfpq->precomputed_table.size()) * sizeof(float);
    b += double(ivfpq->nlist) * 3 * sizeof(void*);  // per-list vector headers
    return b;
  }
  if (auto* ivf = dynamic_cast<const faiss::IndexIVF*>(index)) {
    return double(n) * (ivf->code_size + sizeof(idx_t)) + double(ivf->nlist) * d * sizeof(float);
  }
  if (auto* hnsw = dynamic_cast<const faiss::IndexHNSW*>(index)) {
    double b = double(hnsw->hnsw.neighbors.size()) * sizeof(faiss::HNSW::storage_idx_t);
    b += double(hnsw->hnsw.offsets.size()) * sizeof(size_t);
    b += double(hnsw->hnsw.levels.size()) * sizeof(int);
    if (auto* codes = dynamic_cast<const faiss::IndexFlatCodes*>(hnsw->storage))
      b += double(codes->codes.size());
    else
      b += double(n) * d * sizeof(float);
    return b;
  }
  if (auto* codes = dynamic_cast<const faiss::IndexFlatCodes*>(index)) return double(codes->codes.size());
  return double(n) * d * sizeof(float);
}

struct Row {
  std::string spec;
  size_t n = 0;
  double build_s = 0, bytes_per_face = 0, rss_delta_per_face = 0;
  double p50_ms = 0, p99_ms = 0, mean_ms = 0, recall10 = 0, mate_recall10 = 0, mates_found = 0, mates_vs_exact = 0;
};

}  // namespace

int main(int argc, char** argv) {
  size_t n = 100000, n_ident = 0, n_queries = 500, train_max = 100000;
  int d = 512, k = 50;
  unsigned seed = 1234;
  std::string json_out;
  std::vector<std::string> spec_args;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) { std::cerr << "missing value for " << a << "\n"; std::exit(2); }
      return argv[++i];
    };
    if (a == "--faces") n = std::stoul(next());
    else if (a == "--dim") d = std::stoi(next());
    else if (a == "--identities") n_ident = std::stoul(next());
    else if (a == "--queries") n_queries = std::stoul(next());
    else if (a == "--index") spec_args.push_back(next());
    else if (a == "--train-max") train_max = std::stoul(next());
    else if (a == "--seed") seed = unsigned(std::stoul(next()));
    else if (a == "--json") json_out = next();
    else {
      std::cerr << "usage: lineup_bench_scale --faces N [--dim 512] [--identities M] [--queries Q]\n"
                   "       [--index SPEC]... [--train-max T] [--seed S] [--json OUT]\n";
      return a == "--help" ? 0 : 2;
    }
  }
  if (n_ident == 0) n_ident = std::max<size_t>(1, n / 5);
  // This machine has the reference BLAS, far slower than FAISS's own SIMD loops: never use it.
  faiss::distance_compute_blas_threshold = 1 << 30;
  std::vector<Spec> specs;
  for (const auto& s : spec_args) specs.push_back(parse_spec(s));

  // --- 1. Synthetic faces with identity structure.
  // x = normalise(c + sigma*g), |c| = 1, g ~ N(0, I_d): |c + sigma g|^2 ~ 1 + sigma^2 d and the
  // cross term between two samples of one identity is ~1, so cos(same) ~ 1 / (1 + sigma^2 d).
  const double target_same = 0.637;
  const double sigma = std::sqrt((1.0 / target_same - 1.0) / d);
  std::printf("synthetic gallery: N=%zu d=%d identities=%zu (%.1f faces each) queries=%zu sigma=%.5f\n",
              n, d, n_ident, double(n) / n_ident, n_queries, sigma);
  auto t_gen = Clock::now();
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> gauss(0.f, 1.f);
  std::vector<float> centres(n_ident * d);
  for (size_t c = 0; c < n_ident; ++c) {
    for (int j = 0; j < d; ++j) centres[c * d + j] = gauss(rng);
    normalise(&centres[c * d], d);
  }
  const long rss_before_data = rss_bytes();
  std::vector<float> xb(n * size_t(d));
  std::vector<uint32_t> ident(n);
  auto sample = [&](size_t c, float* out) {
    for (int j = 0; j < d; ++j) out[j] = centres[c * d + j] + float(sigma) * gauss(rng);
    normalise(out, d);
  };
  for (size_t i = 0; i < n; ++i) {
    ident[i] = uint32_t(i % n_ident);
    sample(ident[i], &xb[i * d]);
  }
  // Mates of each identity.
  std::vector<std::vector<idx_t>> mates(n_ident);
  for (size_t i = 0; i < n; ++i) mates[ident[i]].push_back(idx_t(i));
  std::vector<float> xq(n_queries * size_t(d));
  std::vector<uint32_t> q_ident(n_queries);
  std::uniform_int_distribution<size_t> pick_ident(0, n_ident - 1);
  for (size_t q = 0; q < n_queries; ++q) {
    q_ident[q] = uint32_t(pick_ident(rng));
    sample(q_ident[q], &xq[q * d]);
  }
  std::printf("generated in %.1f s (exact vectors: %.1f MB, RSS delta %.1f MB)\n", seconds_since(t_gen),
              double(xb.size()) * 4 / 1e6, double(rss_bytes() - rss_before_data) / 1e6);

  // Empirical check of the score distributions.
  {
    std::uniform_int_distribution<size_t> pick_face(0, n - 1);
    double same = 0, diff = 0, diff_sq = 0;
    int n_same = 0, n_diff = 0;
    for (int t = 0; t < 20000; ++t) {
      const size_t a = pick_face(rng);
      const auto& m = mates[ident[a]];
      if (m.size() > 1) {
        size_t b = size_t(m[rng() % m.size()]);
        if (b != a) { same += faiss::fvec_inner_product(&xb[a * d], &xb[b * d], d); ++n_same; }
      }
      const size_t c = pick_face(rng);
      if (ident[c] != ident[a]) {
        const double s = faiss::fvec_inner_product(&xb[a * d], &xb[c * d], d);
        diff += s; diff_sq += s * s; ++n_diff;
      }
    }
    const double md = diff / std::max(1, n_diff);
    std::printf("measured cosine: same identity %.4f (n=%d, target 0.637), different %.4f (sd %.4f, n=%d, target 0.009)\n",
                same / std::max(1, n_same), n_same, md, std::sqrt(diff_sq / std::max(1, n_diff) - md * md), n_diff);
  }

  const int k10 = 10;
  auto mate_in_top10 = [&](size_t q, const idx_t* labels) {
    for (int j = 0; j < k10; ++j)
      if (labels[j] >= 0 && ident[size_t(labels[j])] == q_ident[q]) return true;
    return false;
  };

  // --- Exact search (ground truth, and the "Flat" row): brute force over the float vectors.
  std::vector<idx_t> gt(n_queries * k10);
  std::vector<Row> rows;
  size_t exact_mates = 0;
  {
    std::vector<float> scores(n);
    std::vector<idx_t> order(n);
    std::vector<double> lat;
    std::vector<idx_t> top(k);
    for (size_t q = 0; q < n_queries; ++q) {
      auto t0 = Clock::now();
      faiss::fvec_inner_products_ny(scores.data(), &xq[q * d], xb.data(), d, n);
      std::iota(order.begin(), order.end(), idx_t(0));
      std::partial_sort(order.begin(), order.begin() + k, order.end(),
                        [&](idx_t a, idx_t b) { return scores[size_t(a)] > scores[size_t(b)]; });
      std::copy(order.begin(), order.begin() + k, top.begin());
      lat.push_back(seconds_since(t0) * 1e3);
      std::copy(top.begin(), top.begin() + k10, &gt[q * k10]);
      exact_mates += mate_in_top10(q, top.data());
    }
    Row r;
    r.spec = "Flat (exact brute force)";
    r.n = n;
    r.bytes_per_face = double(d) * sizeof(float);
    r.rss_delta_per_face = r.bytes_per_face;
    r.p50_ms = percentile(lat, 0.5);
    r.p99_ms = percentile(lat, 0.99);
    r.mean_ms = std::accumulate(lat.begin(), lat.end(), 0.0) / lat.size();
    r.recall10 = 1.0;
    r.mate_recall10 = 1.0;
    r.mates_found = double(exact_mates) / n_queries;
    r.mates_vs_exact = 1.0;
    rows.push_back(r);
    std::printf("exact: p50 %.2f ms p99 %.2f ms, mates found %.4f\n", r.p50_ms, r.p99_ms, r.mates_found);
    std::fflush(stdout);
  }

  // --- 2. Each index.
  std::map<std::string, std::pair<std::unique_ptr<faiss::Index>, std::pair<double, double>>> built;
  for (const auto& spec : specs) {
    if (spec.factory == "Flat") continue;
    auto it = built.find(spec.factory);
    if (it == built.end()) {
      // Free the previous index: only one lives at a time.
      built.clear();
      std::printf("building %s ...\n", spec.factory.c_str());
      std::fflush(stdout);
      const long rss0 = rss_bytes();
      auto t0 = Clock::now();
      std::unique_ptr<faiss::Index> index(faiss::index_factory(d, spec.factory.c_str(), faiss::METRIC_INNER_PRODUCT));
      if (auto* ivf = dynamic_cast<faiss::IndexIVF*>(index.get())) {
        // This Debian FAISS build runs k-means on its scalar (non-SIMD) distance loop, ~0.5 GFLOP/s
        // here: keep coarse training small (16 points per centroid, 6 iterations). Enough for the
        // synthetic data; a production build would train on more.
        ivf->cp.niter = 6;
        ivf->cp.max_points_per_centroid = 16;
      }
      if (auto* ivfpq = dynamic_cast<faiss::IndexIVFPQ*>(index.get())) {
        ivfpq->pq.cp.niter = 10;  // likewise for the 64 sub-quantizers (16k points each)
        ivfpq->pq.cp.max_points_per_centroid = 64;
      }
      if (!index->is_trained) {
        const size_t nt = std::min(n, train_max);
        // Faces are in identity-interleaved order, so a strided sample covers all identities.
        std::vector<float> xt(nt * size_t(d));
        const size_t stride = n / nt;
        for (size_t i = 0; i < nt; ++i) std::memcpy(&xt[i * d], &xb[i * stride * d], d * sizeof(float));
        index->train(idx_t(nt), xt.data());
      }
      const double train_s = seconds_since(t0);
      index->add(idx_t(n), xb.data());
      const double build_s = seconds_since(t0);
      const double rss_delta = double(rss_bytes() - rss0);
      std::printf("  built in %.1f s (train %.1f s), RSS delta %.1f MB\n", build_s, train_s, rss_delta / 1e6);
      std::fflush(stdout);
      it = built.emplace(spec.factory, std::make_pair(std::move(index), std::make_pair(build_s, rss_delta))).first;
    }
    faiss::Index* index = it->second.first.get();
    faiss::ParameterSpace params;
    if (spec.nprobe) params.set_index_parameter(index, "nprobe", spec.nprobe);
    if (spec.ef_search) params.set_index_parameter(index, "efSearch", spec.ef_search);

    const int fetch = spec.rerank ? std::max(spec.rerank, k) : k;
    std::vector<float> dist(fetch);
    std::vector<idx_t> labels(fetch);
    std::vector<std::pair<float, idx_t>> cand(fetch);
    std::vector<idx_t> top(k);
    std::vector<double> lat;
    double recall_sum = 0;
    size_t found = 0, gt_mates = 0, gt_mates_hit = 0;
    for (size_t q = 0; q < n_queries; ++q) {
      const float* query = &xq[q * d];
      auto t0 = Clock::now();
      index->search(1, query, fetch, dist.data(), labels.data());
      if (spec.rerank) {
        size_t nc = 0;
        for (int j = 0; j < fetch; ++j) {
          if (labels[j] < 0) continue;
          cand[nc++] = {faiss::fvec_inner_product(query, &xb[size_t(labels[j]) * d], d), labels[j]};
        }
        const size_t kk = std::min<size_t>(k, nc);
        std::partial_sort(cand.begin(), cand.begin() + kk, cand.begin() + nc,
                          [](const auto& a, const auto& b) { return a.first > b.first; });
        std::fill(top.begin(), top.end(), idx_t(-1));
        for (size_t j = 0; j < kk; ++j) top[j] = cand[j].second;
      } else {
        std::copy(labels.begin(), labels.begin() + k, top.begin());
      }
      lat.push_back(seconds_since(t0) * 1e3);
      int hit = 0;
      for (int a = 0; a < k10; ++a)
        for (int b = 0; b < k10; ++b) hit += top[a] == gt[q * k10 + b];
      recall_sum += double(hit) / k10;
      // Mate recall: of the exact top-10 entries that are mates, the share returned.
      for (int b = 0; b < k10; ++b) {
        const idx_t g = gt[q * k10 + b];
        if (ident[size_t(g)] != q_ident[q]) continue;
        ++gt_mates;
        for (int a = 0; a < k10; ++a) gt_mates_hit += top[a] == g;
      }
      found += mate_in_top10(q, top.data());
    }
    Row r;
    r.spec = spec.text;
    r.n = n;
    r.build_s = it->second.second.first;
    r.bytes_per_face = index_bytes(index, n, d) / n;
    r.rss_delta_per_face = it->second.second.second / n;
    r.p50_ms = percentile(lat, 0.5);
    r.p99_ms = percentile(lat, 0.99);
    r.mean_ms = std::accumulate(lat.begin(), lat.end(), 0.0) / lat.size();
    r.recall10 = recall_sum / n_queries;
    r.mate_recall10 = gt_mates ? double(gt_mates_hit) / gt_mates : 1.0;
    r.mates_found = double(found) / n_queries;
    r.mates_vs_exact = exact_mates ? double(found) / exact_mates : 0;
    rows.push_back(r);
    std::printf("  %-36s p50 %.2f ms p99 %.2f ms recall@10 %.4f mates %.4f\n", r.spec.c_str(), r.p50_ms,
                r.p99_ms, r.recall10, r.mates_found);
    std::fflush(stdout);
  }

  // --- 3. Table and JSON.
  std::printf("\n%-36s %9s %8s %11s %10s %8s %8s %9s %9s %12s\n", "spec", "N", "build s", "bytes/face",
              "RSS B/face", "p50 ms", "p99 ms", "recall@10", "mateR@10", "mates(vs ex)");
  for (const auto& r : rows)
    std::printf("%-36s %9zu %8.1f %11.1f %10.1f %8.2f %8.2f %9.4f %9.4f %5.3f(%.4f)\n", r.spec.c_str(), r.n,
                r.build_s, r.bytes_per_face, r.rss_delta_per_face, r.p50_ms, r.p99_ms, r.recall10,
                r.mate_recall10, r.mates_found, r.mates_vs_exact);
  std::printf("(bytes/face: index's own storage; rerank rows also need the exact vectors, %d B/face, memory-mapped)\n",
              d * 4);
  if (!json_out.empty()) {
    nlohmann::json j;
    j["faces"] = n;
    j["dim"] = d;
    j["identities"] = n_ident;
    j["queries"] = n_queries;
    j["sigma"] = sigma;
    j["k"] = k;
    for (const auto& r : rows)
      j["results"].push_back({{"spec", r.spec}, {"faces", r.n}, {"build_s", r.build_s},
                              {"bytes_per_face", r.bytes_per_face}, {"rss_delta_bytes_per_face", r.rss_delta_per_face},
                              {"p50_ms", r.p50_ms}, {"p99_ms", r.p99_ms}, {"mean_ms", r.mean_ms},
                              {"recall_at_10", r.recall10}, {"mate_recall_at_10", r.mate_recall10}, {"mates_found", r.mates_found},
                              {"mates_found_vs_exact", r.mates_vs_exact}});
    std::ofstream(json_out) << j.dump(2) << "\n";
    std::printf("wrote %s\n", json_out.c_str());
  }
  return 0;
}
