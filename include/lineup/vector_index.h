// VectorIndex: finds the identity vectors most similar (by inner product) to a probe,
// behind one small interface with implementations named by a spec string, like
// faiss::index_factory. The gallery keeps one; `lineup bench scale` measures them.
//
//   "exact"   every vector in RAM (2 KB per 512-d face), brute force: exact scores.
//   "ivfpq[,pca=192],nlist=4096,m=64,nprobe=64,rerank=512[,metric=l2]"
//             compressed: an inverted file of product-quantised codes (m bytes + 8 per
//             face in RAM), made from the vectors' first `pca` principal components if
//             given (m must divide pca, else the dimension). A search scans the nprobe
//             nearest lists, keeps the `rerank` best approximate candidates and
//             re-scores them with the exact vectors (ExactVectors, e.g. the
//             memory-mapped vector log), so returned scores are always exact; only the
//             shortlist is approximate. metric=l2 ranks the codes by distance rather
//             than inner product (the same order for unit vectors, and kept by PCA).
//   "ivfpq,pca=192,nlist=8192,m=48,bits=4,nprobe=4096[,refine=32768],rerank=1024"
//             the same with 4-bit codes (m/2 bytes per face) in FAISS's fast-scan layout,
//             scanned by Lineup's SIMD kernel fast enough to visit half of 10M faces
//             per search; with refine=N the N best are re-scored with 8-bit codes of
//             the principal components (pca bytes per face) before the rerank best are
//             re-scored exactly (src/index/fast_scan_index.h). Inner product only.
//   "faiss=<factory string>[,nprobe=..][,efSearch=..][,rerank=..][,metric=l2]"
//             any other FAISS index, for measurements (metric=l2 only with rerank).
//
// Ids are the caller's int64 ids (face ids). Add and Remove are incremental; a
// compressed index must be trained (Train, on a sample of the vectors it will hold)
// before Add. Search may be called from several threads at once; Add, Remove, Train
// and Save need the caller to exclude everything else.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "lineup/status.h"

namespace lineup {

struct IndexHit {
  int64_t id = -1;
  float score = 0;
};

// Where a compressed index re-reads exact vectors for re-ranking.
class ExactVectors {
 public:
  virtual ~ExactVectors() = default;
  // The vector of `id` (dim floats), or nullptr if there is none. Valid until the
  // owner next changes.
  virtual const float* Find(int64_t id) const = 0;
};

class VectorIndex {
 public:
  // InvalidArgument naming the problem if the spec is malformed.
  static Result<std::unique_ptr<VectorIndex>> Create(const std::string& spec, int dim);
  // Reads an index written by Save. Corrupt if the file is not one, or its dimension is
  // not `dim`.
  static Result<std::unique_ptr<VectorIndex>> Load(const std::string& path, int dim);
  // The spec the gallery uses for `faces` vectors of `dim` values when none is asked
  // for: exact search while it stays within a few tens of milliseconds on two cores,
  // compressed above.
  static std::string DefaultSpec(int64_t faces, int dim);

  virtual ~VectorIndex() = default;
  virtual std::string spec() const = 0;
  virtual int dim() const = 0;
  virtual int64_t size() const = 0;
  // False until Train has been called, for indexes that need training.
  virtual bool is_trained() const = 0;
  // True if shortlist scores are approximate (Search then needs ExactVectors).
  virtual bool compressed() const = 0;
  // True if Save writes the vectors' codes; an exact index is instead rebuilt from the
  // exact vectors (Save writes only its spec).
  virtual bool persistent() const = 0;
  // Bytes of RAM the index holds (codes, ids, centroids, graph).
  virtual int64_t MemoryBytes() const = 0;

  // How many vectors Train needs at least (0 for an index that needs no training).
  virtual int64_t MinTrainingVectors() const = 0;
  // sample: n * dim floats, n >= MinTrainingVectors() (InvalidArgument if not).
  virtual Status Train(std::span<const float> sample) = 0;
  // vectors: ids.size() * dim floats. An id already present is the caller's error.
  virtual Status Add(std::span<const int64_t> ids, std::span<const float> vectors) = 0;
  // Ids not present are ignored.
  virtual Status Remove(std::span<const int64_t> ids) = 0;
  // The k best hits of each query (queries: n * dim floats), best first; fewer when the
  // index holds fewer. A compressed index needs `exact` (InvalidArgument otherwise).
  virtual Status Search(std::span<const float> queries, int k, const ExactVectors* exact,
                        std::vector<std::vector<IndexHit>>* out) const = 0;
  // The same for finding each query's close neighbours (a similarity graph, persons.h)
  // rather than every candidate an investigator should see: an index may look at less
  // of itself, trading distant hits for speed. By default, Search.
  virtual Status SearchNear(std::span<const float> queries, int k, const ExactVectors* exact,
                            std::vector<std::vector<IndexHit>>* out) const {
    return Search(queries, k, exact, out);
  }
  // Writes the index (atomically: a temporary file renamed into place, synced).
  virtual Status Save(const std::string& path) const = 0;
};

}  // namespace lineup
