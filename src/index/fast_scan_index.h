// The fast-scan index behind VectorIndex spec "ivfpq,...,bits=4": an inverted file of
// 4-bit product-quantiser codes (m/2 bytes per face), scanned 32 codes at a time with
// SIMD table lookups (pq4_scan.h), so that a search can afford to scan half of a
// 10-million-face gallery. Three steps narrow a search down:
//   1. the nprobe lists nearest to the probe are scanned; the `refine` best (or, with
//      refine=0, the `rerank` best) approximate scores are kept;
//   2. with refine > 0, those are re-scored with 8-bit codes of each face's principal
//      components (pca bytes per face, in RAM), and the `rerank` best kept;
//   3. those are re-scored with the exact vectors (ExactVectors), so returned scores are
//      exact.
// All three rank by the inner product with the probe itself, not with the probe
// centred on the gallery's mean: centring would favour faces far from the mean.
// Built on FAISS (PCA, k-means, product quantiser, inverted lists, serialisation); only
// the scan and the ranking are Lineup's.
#pragma once

#include <faiss/Index.h>
#include <faiss/impl/io.h>

#include <memory>

#include "lineup/vector_index.h"

namespace lineup {

struct FastScanOptions {
  int pca = 0;  // 0: codes of the vectors themselves
  int nlist = 8192;
  int m = 48;  // sub-quantisers, even; must divide pca (or the dimension)
  int nprobe = 4096;
  int refine = 0;  // 0: no 8-bit step
  int rerank = 1024;
};

// An empty, untrained index; or, with `loaded` (the first FAISS index of a saved file)
// and `more` (the rest of the file), the saved one.
Result<std::unique_ptr<VectorIndex>> MakeFastScanIndex(const FastScanOptions& options, int dim,
                                                       std::unique_ptr<faiss::Index> loaded, faiss::IOReader* more);

}  // namespace lineup
