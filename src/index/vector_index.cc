#include "lineup/vector_index.h"

#include <faiss/IVFlib.h>
#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVF.h>
#include <faiss/IndexIVFPQ.h>
#include <faiss/IndexPreTransform.h>
#include <faiss/VectorTransform.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/impl/io.h>
#include <faiss/index_factory.h>
#include <faiss/index_io.h>
#include <faiss/utils/distances.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>

#include "index/fast_scan_index.h"
#include "index/index_file.h"
#include "index/ivf_training.h"

namespace lineup {

namespace {

using idx_t = faiss::Index::idx_t;  // FAISS 1.7.3 (Debian 12) keeps it inside Index
// Exact search up to this many faces: ~25 ms per probe on two cores (docs/benchmarks.md).
constexpr int64_t kExactMaxFaces = 100000;

// "name,key=value,key=value" -> name and options. For "faiss=FACTORY,..." the name is
// "faiss" and the factory string is option "factory"; FAISS factory strings contain
// commas, so everything up to the first of Lineup's own options is taken.
struct ParsedSpec {
  std::string name;
  std::map<std::string, std::string> opts;
};

Result<ParsedSpec> ParseSpec(const std::string& spec) {
  ParsedSpec p;
  std::vector<std::string> parts;
  size_t at = 0;
  while (true) {
    size_t comma = spec.find(',', at);
    parts.push_back(spec.substr(at, comma == std::string::npos ? std::string::npos : comma - at));
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  // Lineup's own options, which end a FAISS factory string.
  static const char* kOwnOpts[] = {"nprobe", "efSearch", "rerank", "metric"};
  auto is_own_opt = [](const std::string& s) {
    for (const char* o : kOwnOpts)
      if (s.rfind(std::string(o) + "=", 0) == 0) return true;
    return false;
  };
  size_t i = 0;
  if (parts[0].rfind("faiss=", 0) == 0) {
    p.name = "faiss";
    std::string factory = parts[0].substr(6);
    for (i = 1; i < parts.size() && !is_own_opt(parts[i]); ++i) factory += "," + parts[i];
    if (factory.empty()) return Status::InvalidArgument("index spec \"" + spec + "\": empty FAISS factory string");
    p.opts["factory"] = factory;
  } else {
    p.name = parts[0];
    i = 1;
  }
  for (; i < parts.size(); ++i) {
    const size_t eq = parts[i].find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == parts[i].size())
      return Status::InvalidArgument("index spec \"" + spec + "\": expected key=value, got \"" + parts[i] + "\"");
    p.opts[parts[i].substr(0, eq)] = parts[i].substr(eq + 1);
  }
  return p;
}

Result<int> IntOpt(const ParsedSpec& p, const std::string& key, int def, int lo, int hi) {
  auto it = p.opts.find(key);
  if (it == p.opts.end()) return def;
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(it->second.c_str(), &end, 10);
  if (errno || end == it->second.c_str() || *end || v < lo || v > hi)
    return Status::InvalidArgument("index option " + key + "=" + it->second + ": expected a whole number from " +
                                   std::to_string(lo) + " to " + std::to_string(hi));
  return static_cast<int>(v);
}

// Option metric: "ip" (inner product, the default) or "l2" (distance).
Result<faiss::MetricType> MetricOpt(const ParsedSpec& p, const std::string& spec) {
  auto it = p.opts.find("metric");
  if (it == p.opts.end() || it->second == "ip") return faiss::METRIC_INNER_PRODUCT;
  if (it->second == "l2") return faiss::METRIC_L2;
  return Status::InvalidArgument("index spec \"" + spec + "\": metric must be ip or l2");
}

Status FromFaiss(const std::exception& e, const std::string& what) {
  return Status::Internal(what + ": " + e.what());
}

// Shared by both implementations: a FAISS index holding (id, vector) pairs.
class FaissIndex : public VectorIndex {
 public:
  FaissIndex(std::string spec, int dim, std::unique_ptr<faiss::Index> index, bool compressed, int nprobe, int ef,
             int rerank)
      : spec_(std::move(spec)), dim_(dim), index_(std::move(index)), compressed_(compressed), nprobe_(nprobe),
        ef_(ef), rerank_(rerank) {
    ApplyQueryParams();
  }

  std::string spec() const override { return spec_; }
  int dim() const override { return dim_; }
  int64_t size() const override { return index_->ntotal; }
  bool is_trained() const override { return index_->is_trained; }
  bool compressed() const override { return compressed_; }
  bool persistent() const override { return compressed_; }

  int64_t MemoryBytes() const override {
    const double n = static_cast<double>(index_->ntotal);
    if (auto* ivf = faiss::ivflib::try_extract_index_ivf(index_.get())) {
      double b = n * (static_cast<double>(ivf->code_size) + sizeof(idx_t));
      b += static_cast<double>(ivf->nlist) * (dim_ * sizeof(float) + 3 * sizeof(void*));
      if (auto* pq = dynamic_cast<const faiss::IndexIVFPQ*>(ivf)) {
        b += static_cast<double>(pq->pq.centroids.size()) * sizeof(float);
        b += static_cast<double>(pq->precomputed_table.size()) * sizeof(float);
      }
      if (auto* pre = dynamic_cast<const faiss::IndexPreTransform*>(index_.get()))
        for (const faiss::VectorTransform* t : pre->chain)
          if (auto* lt = dynamic_cast<const faiss::LinearTransform*>(t))
            b += static_cast<double>(lt->A.size() + lt->b.size()) * sizeof(float);
      return static_cast<int64_t>(b);
    }
    if (auto* map = dynamic_cast<const faiss::IndexIDMap*>(index_.get())) {
      double b = n * sizeof(idx_t);
      const faiss::Index* inner = map->index;
      if (auto* codes = dynamic_cast<const faiss::IndexFlatCodes*>(inner)) b += static_cast<double>(codes->codes.size());
      if (auto* h = dynamic_cast<const faiss::IndexHNSW*>(inner)) {
        b += static_cast<double>(h->hnsw.neighbors.size()) * sizeof(faiss::HNSW::storage_idx_t);
        b += static_cast<double>(h->hnsw.offsets.size()) * sizeof(size_t) + static_cast<double>(h->hnsw.levels.size()) * sizeof(int);
        if (auto* codes = dynamic_cast<const faiss::IndexFlatCodes*>(h->storage)) b += static_cast<double>(codes->codes.size());
      }
      return static_cast<int64_t>(b);
    }
    return static_cast<int64_t>(n * dim_ * sizeof(float));
  }

  int64_t MinTrainingVectors() const override { return index_->is_trained ? 0 : MinTraining(); }

  Status Train(std::span<const float> sample) override {
    if (sample.size() % static_cast<size_t>(dim_) != 0) return Status::InvalidArgument("training sample is not whole vectors");
    const idx_t n = static_cast<idx_t>(sample.size() / static_cast<size_t>(dim_));
    if (index_->is_trained) return Status::OK();
    const idx_t need = MinTraining();
    if (n < need)
      return Status::InvalidArgument("index " + spec_ + " needs at least " + std::to_string(need) +
                                     " vectors to train, got " + std::to_string(n));
    try {
      index_->train(n, sample.data());
    } catch (const std::exception& e) {
      return FromFaiss(e, "training " + spec_);
    }
    return Status::OK();
  }

  Status Add(std::span<const int64_t> ids, std::span<const float> vectors) override {
    if (vectors.size() != ids.size() * static_cast<size_t>(dim_)) return Status::InvalidArgument("vector count does not match ids");
    if (!index_->is_trained) return Status::InvalidArgument("index " + spec_ + " must be trained before vectors are added");
    if (ids.empty()) return Status::OK();
    try {
      std::vector<idx_t> fids(ids.begin(), ids.end());
      index_->add_with_ids(static_cast<idx_t>(fids.size()), vectors.data(), fids.data());
    } catch (const std::exception& e) {
      return FromFaiss(e, "adding to " + spec_);
    }
    return Status::OK();
  }

  Status Remove(std::span<const int64_t> ids) override {
    if (ids.empty() || index_->ntotal == 0) return Status::OK();
    try {
      std::vector<idx_t> fids(ids.begin(), ids.end());
      // A hashed set: removing many faces stays linear in the index size.
      faiss::IDSelectorBatch sel(fids.size(), fids.data());
      index_->remove_ids(sel);
    } catch (const std::exception& e) {
      return FromFaiss(e, "removing from " + spec_);
    }
    return Status::OK();
  }

  Status Search(std::span<const float> queries, int k, const ExactVectors* exact,
                std::vector<std::vector<IndexHit>>* out) const override {
    if (queries.empty() || queries.size() % static_cast<size_t>(dim_) != 0)
      return Status::InvalidArgument("probe vectors must have " + std::to_string(dim_) + " values each");
    if (k <= 0) return Status::InvalidArgument("top-k must be positive");
    if (compressed_ && !exact) return Status::InvalidArgument("index " + spec_ + " needs the exact vectors to re-rank");
    const idx_t n = static_cast<idx_t>(queries.size() / static_cast<size_t>(dim_));
    out->assign(static_cast<size_t>(n), {});
    if (index_->ntotal == 0) return Status::OK();
    const idx_t fetch = std::min<idx_t>(std::max<idx_t>(k, compressed_ ? rerank_ : k), index_->ntotal);
    std::vector<float> dist(static_cast<size_t>(n * fetch));
    std::vector<idx_t> labels(static_cast<size_t>(n * fetch));
    try {
      index_->search(n, queries.data(), fetch, dist.data(), labels.data());
    } catch (const std::exception& e) {
      return FromFaiss(e, "searching " + spec_);
    }
    for (idx_t q = 0; q < n; ++q) {
      auto& hits = (*out)[static_cast<size_t>(q)];
      const float* query = queries.data() + q * dim_;
      for (idx_t j = 0; j < fetch; ++j) {
        const idx_t id = labels[static_cast<size_t>(q * fetch + j)];
        if (id < 0) continue;
        float score = dist[static_cast<size_t>(q * fetch + j)];
        if (compressed_) {
          const float* v = exact->Find(id);
          if (!v) continue;  // erased while this search ran; nothing to return
          score = faiss::fvec_inner_product(query, v, static_cast<size_t>(dim_));
        }
        hits.push_back({id, score});
      }
      const size_t kk = std::min<size_t>(static_cast<size_t>(k), hits.size());
      std::partial_sort(hits.begin(), hits.begin() + static_cast<std::ptrdiff_t>(kk), hits.end(),
                        [](const IndexHit& a, const IndexHit& b) { return a.score > b.score || (a.score == b.score && a.id < b.id); });
      hits.resize(kk);
    }
    return Status::OK();
  }

  Status Save(const std::string& path) const override {
    faiss::VectorIOWriter w;
    try {
      if (persistent()) faiss::write_index(index_.get(), &w);
    } catch (const std::exception& e) {
      return FromFaiss(e, "writing " + spec_);
    }
    return WriteIndexFile(path, spec_, dim_, index_->ntotal, w.data);
  }

 private:
  idx_t MinTraining() const {
    if (auto* ivf = faiss::ivflib::try_extract_index_ivf(index_.get())) {
      idx_t need = static_cast<idx_t>(ivf->nlist);
      if (auto* pq = dynamic_cast<const faiss::IndexIVFPQ*>(ivf)) need = std::max<idx_t>(need, static_cast<idx_t>(pq->pq.ksub));
      return need;
    }
    return 1;
  }

  void ApplyQueryParams() {
    if (auto* ivf = faiss::ivflib::try_extract_index_ivf(index_.get())) {
      ivf->nprobe = static_cast<size_t>(std::max(1, nprobe_));
      // One probe at a time is the common case: spread its lists over the cores.
      ivf->parallel_mode = 1;
    }
    faiss::Index* inner = index_.get();
    if (auto* map = dynamic_cast<faiss::IndexIDMap*>(inner)) inner = map->index;
    if (auto* pre = dynamic_cast<faiss::IndexPreTransform*>(inner)) inner = pre->index;  // "PCAR192,HNSW32"
    if (auto* h = dynamic_cast<faiss::IndexHNSW*>(inner); h && ef_ > 0) h->hnsw.efSearch = ef_;
  }

  std::string spec_;
  int dim_;
  std::unique_ptr<faiss::Index> index_;
  bool compressed_;
  int nprobe_, ef_, rerank_;

  friend Result<std::unique_ptr<VectorIndex>> MakeIndex(const ParsedSpec& p, const std::string& spec, int dim,
                                                        std::unique_ptr<faiss::Index> loaded, faiss::IOReader* more);
};

// Builds the index for a parsed spec; with `loaded`, wraps a FAISS index read from disk
// instead of creating an empty one (`more`: the rest of the file, for indexes saved as
// several FAISS indexes).
Result<std::unique_ptr<VectorIndex>> MakeIndex(const ParsedSpec& p, const std::string& spec, int dim,
                                               std::unique_ptr<faiss::Index> loaded, faiss::IOReader* more) {
  if (dim <= 0 || dim > 65536) return Status::InvalidArgument("vector dimension out of range");
  auto known = [&](std::initializer_list<const char*> keys) -> Status {
    for (const auto& [k, v] : p.opts) {
      bool ok = false;
      for (const char* key : keys) ok = ok || k == key;
      if (!ok) return Status::InvalidArgument("index spec \"" + spec + "\": unknown option " + k);
    }
    return Status::OK();
  };
  try {
    if (p.name == "exact") {
      Status s = known({});
      if (!s.ok()) return s;
      auto index = std::make_unique<faiss::IndexIDMap>(new faiss::IndexFlatIP(dim));
      index->own_fields = true;
      return std::unique_ptr<VectorIndex>(new FaissIndex("exact", dim, std::move(index), false, 0, 0, 0));
    }
    if (p.name == "ivfpq") {
      Status s = known({"pca", "nlist", "m", "bits", "nprobe", "refine", "rerank", "metric"});
      if (!s.ok()) return s;
      auto bits = IntOpt(p, "bits", 8, 4, 8);
      if (!bits.ok()) return bits.status();
      if (*bits != 4 && *bits != 8) return Status::InvalidArgument("index spec \"" + spec + "\": bits must be 4 or 8");
      if (*bits == 8 && p.opts.count("refine"))
        return Status::InvalidArgument("index spec \"" + spec + "\": refine needs bits=4");
      auto metric = MetricOpt(p, spec);
      if (!metric.ok()) return metric.status();
      auto pca = IntOpt(p, "pca", 0, 0, dim);
      auto nlist = IntOpt(p, "nlist", 4096, 1, 1 << 20);
      auto m = IntOpt(p, "m", 64, 1, dim);
      auto nprobe = IntOpt(p, "nprobe", 64, 1, 1 << 20);
      auto rerank = IntOpt(p, "rerank", 512, 1, 1 << 16);
      for (const Status& st : {pca.status(), nlist.status(), m.status(), nprobe.status(), rerank.status()})
        if (!st.ok()) return st;
      const int coded = *pca > 0 ? *pca : dim;  // the dimension the codes are made in
      if (coded % *m != 0)
        return Status::InvalidArgument("index spec \"" + spec + "\": m=" + std::to_string(*m) + " must divide the " +
                                       (*pca > 0 ? "pca dimension " : "dimension ") + std::to_string(coded));
      if (*bits == 4) {
        if (*metric != faiss::METRIC_INNER_PRODUCT)
          return Status::InvalidArgument("index spec \"" + spec + "\": bits=4 ranks by inner product only");
        if (*m % 2 != 0) return Status::InvalidArgument("index spec \"" + spec + "\": bits=4 needs an even m");
        auto refine = IntOpt(p, "refine", 0, 0, 1 << 20);
        if (!refine.ok()) return refine.status();
        if (*refine > 0 && *refine < *rerank)
          return Status::InvalidArgument("index spec \"" + spec + "\": refine must be 0 or at least rerank");
        FastScanOptions o{*pca, *nlist, *m, *nprobe, *refine, *rerank};
        return MakeFastScanIndex(o, dim, std::move(loaded), more);
      }
      const std::string canon = "ivfpq," + (*pca > 0 ? "pca=" + std::to_string(*pca) + "," : std::string()) +
                                "nlist=" + std::to_string(*nlist) + ",m=" + std::to_string(*m) +
                                ",nprobe=" + std::to_string(*nprobe) + ",rerank=" + std::to_string(*rerank) +
                                (*metric == faiss::METRIC_L2 ? ",metric=l2" : "");
      std::unique_ptr<faiss::Index> index = std::move(loaded);
      if (!index) {
        // PCAR: principal components, then a random rotation that spreads their variance
        // evenly over the m sub-quantisers.
        const std::string factory = (*pca > 0 ? "PCAR" + std::to_string(*pca) + "," : std::string()) + "IVF" +
                                    std::to_string(*nlist) + ",PQ" + std::to_string(*m);
        // metric=l2: for unit vectors the nearest by distance are the most similar, and
        // distances survive PCA's centring, which inner products do not (after centring,
        // q'.x' = q.x - q.m - x.m + m.m favours faces far from the mean m).
        index.reset(faiss::index_factory(dim, factory.c_str(), *metric));
        if (auto* ivf = faiss::ivflib::try_extract_index_ivf(index.get())) {
          SetCoarseTraining(ivf);
          if (auto* pq = dynamic_cast<faiss::IndexIVFPQ*>(ivf)) {
            // The factory turns on polysemous training (for Hamming-distance filtering,
            // which we do not use); it took most of the training time.
            pq->do_polysemous_training = false;
            pq->pq.cp.min_points_per_centroid = 1;
          }
        }
      }
      if (!faiss::ivflib::try_extract_index_ivf(index.get())) return Status::Corrupt("index file does not hold an IVF index");
      return std::unique_ptr<VectorIndex>(new FaissIndex(canon, dim, std::move(index), true, *nprobe, 0, *rerank));
    }
    if (p.name == "faiss") {
      Status s = known({"factory", "nprobe", "efSearch", "rerank", "metric"});
      if (!s.ok()) return s;
      auto nprobe = IntOpt(p, "nprobe", 1, 1, 1 << 20);
      auto ef = IntOpt(p, "efSearch", 0, 0, 1 << 20);
      auto rerank = IntOpt(p, "rerank", 0, 0, 1 << 16);
      for (const Status& st : {nprobe.status(), ef.status(), rerank.status()})
        if (!st.ok()) return st;
      auto metric = MetricOpt(p, spec);
      if (!metric.ok()) return metric.status();
      // Distances are not similarities: only a re-ranked index may rank by them.
      if (*metric == faiss::METRIC_L2 && *rerank == 0)
        return Status::InvalidArgument("index spec \"" + spec + "\": metric=l2 needs rerank");
      std::unique_ptr<faiss::Index> index = std::move(loaded);
      if (!index) {
        index.reset(faiss::index_factory(dim, p.opts.at("factory").c_str(), *metric));
        // Indexes without their own ids (HNSW, flat codes) get an id map.
        if (!faiss::ivflib::try_extract_index_ivf(index.get())) {
          auto map = std::make_unique<faiss::IndexIDMap>(index.release());
          map->own_fields = true;
          index = std::move(map);
        }
      }
      const bool approx = *rerank > 0;
      return std::unique_ptr<VectorIndex>(new FaissIndex(spec, dim, std::move(index), approx, *nprobe, *ef, *rerank));
    }
  } catch (const std::exception& e) {
    return Status::InvalidArgument("index spec \"" + spec + "\": " + e.what());
  }
  return Status::InvalidArgument("index spec \"" + spec + "\": unknown index \"" + p.name +
                                 "\" (known: exact, ivfpq, faiss=FACTORY)");
}

}  // namespace

Result<std::unique_ptr<VectorIndex>> VectorIndex::Create(const std::string& spec, int dim) {
  auto p = ParseSpec(spec);
  if (!p.ok()) return p.status();
  return MakeIndex(*p, spec, dim, nullptr, nullptr);
}

std::string VectorIndex::DefaultSpec(int64_t faces, int dim) {
  if (faces <= kExactMaxFaces) return "exact";
  // Chosen by `lineup bench scale` (docs/benchmarks.md). fr_feature's 512 values hold
  // 99.99% of their variance in 160 directions (measured on LFW), so codes made after PCA
  // to 192 dimensions lose almost nothing. Recall@10 >= 0.99 needs about half of the
  // gallery scanned: 4-bit codes scanned by Lineup's kernel, then 8-bit codes of the
  // principal components for the best 20,480, then the exact vectors for the best 128.
  // At 10M faces: recall@10 0.993, p99 17.0 ms, 242 B/face of RAM (the 8-bit-code index
  // before it: recall@10 0.87, p99 15 ms, 34 B/face). Other models have not been measured
  // that way and keep the inverted file on all their dimensions.
  if (dim == 512) return "ivfpq,pca=192,nlist=8192,m=64,bits=4,nprobe=3584,refine=20480,rerank=128";
  return "ivfpq,nlist=4096,m=32,nprobe=512,rerank=2048";
}

Result<std::unique_ptr<VectorIndex>> VectorIndex::Load(const std::string& path, int dim) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IOError(path + ": " + std::strerror(errno));
  struct stat st {};
  // The file is read straight into the FAISS reader, which then starts past the header:
  // one copy of a 10M-face index (2.4 GB) fewer while it loads.
  faiss::VectorIOReader r;
  std::vector<uint8_t>& data = r.data;
  bool read_ok = ::fstat(fd, &st) == 0;
  if (read_ok) {
    data.resize(static_cast<size_t>(st.st_size));
    size_t at = 0;
    while (at < data.size()) {
      const ssize_t r = ::read(fd, data.data() + at, data.size() - at);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) break;
      at += static_cast<size_t>(r);
    }
    read_ok = at == data.size();
  }
  ::close(fd);
  if (!read_ok) return Status::IOError(path + ": cannot read");
  const std::string bad = path + ": not a Lineup index file, or damaged";
  if (data.size() < 12 || std::memcmp(data.data(), kIndexFileMagic, 8) != 0) return Status::Corrupt(bad);
  uint32_t hl = 0;
  std::memcpy(&hl, data.data() + 8, 4);
  if (hl > data.size() - 12) return Status::Corrupt(bad);
  nlohmann::json head = nlohmann::json::parse(data.begin() + 12, data.begin() + 12 + hl, nullptr, false);
  if (head.is_discarded() || !head.is_object() || !head["spec"].is_string() || !head["dim"].is_number_integer() ||
      !head["faiss_bytes"].is_number_unsigned() || !head["crc32"].is_number_unsigned())
    return Status::Corrupt(bad);
  if (head["dim"].get<int>() != dim)
    return Status::Corrupt(path + ": index of " + std::to_string(head["dim"].get<int>()) + "-value vectors, not " + std::to_string(dim));
  const size_t body = data.size() - 12 - hl;
  if (head["faiss_bytes"].get<uint64_t>() != body) return Status::Corrupt(bad + " (truncated)");
  r.rp = 12 + hl;
  if (IndexFileCrc(data.data() + r.rp, body) != head["crc32"].get<uint32_t>()) return Status::Corrupt(bad + " (checksum)");
  const std::string spec = head["spec"].get<std::string>();
  auto p = ParseSpec(spec);
  if (!p.ok()) return Status::Corrupt(path + ": " + p.status().message());
  std::unique_ptr<faiss::Index> index;
  if (body > 0) {
    try {
      index.reset(faiss::read_index(&r));
    } catch (const std::exception& e) {
      return Status::Corrupt(bad + " (" + e.what() + ")");
    }
    if (index->d != dim) return Status::Corrupt(bad);
  }
  auto made = MakeIndex(*p, spec, dim, std::move(index), &r);
  if (!made.ok()) return Status::Corrupt(path + ": " + made.status().message());
  return made;
}

}  // namespace lineup
