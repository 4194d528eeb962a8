// How Lineup trains an inverted file's coarse quantiser, for every index kind that has
// one (vector_index.cc, fast_scan_index.cc).
#pragma once

#include <faiss/IndexIVF.h>

namespace lineup {

// Coarse k-means on at most 64 points per list: enough for centroids that split the data
// evenly, and it keeps training within minutes at 10M faces. Small samples are fine for
// us (FAISS would print a warning for each).
inline void SetCoarseTraining(faiss::IndexIVF* ivf) {
  ivf->cp.max_points_per_centroid = 64;
  ivf->cp.min_points_per_centroid = 1;
  ivf->cp.niter = 10;
}

}  // namespace lineup
