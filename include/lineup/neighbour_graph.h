// NeighbourGraph: the k most similar other vectors of many vectors at once, the input of
// clustering faces into persons (persons.h).
//
// Approximate, by an inverted-file self-join: the vectors are split into lists by
// k-means on their principal components, and each query is compared exactly with every
// vector of the `probes` lists whose centroids are nearest to it, one matrix product per
// list. Unlike searching an index one query at a time, each list is read once for all
// the queries that visit it, so the cost is that of the arithmetic (BLAS), not of
// memory traffic. Returned scores are exact inner products; what may be missed is a
// neighbour whose list the query did not visit. Deterministic for the same input.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "lineup/status.h"
#include "lineup/vector_index.h"

namespace lineup {

struct NeighbourGraphOptions {
  int probes = 8;            // lists visited by each query
  int faces_per_list = 512;  // sets the number of lists (a power of two, 16..16384)
  int components = 128;      // principal components the lists are made in
  // Rows at or past this index are queries only, never returned as a neighbour (-1:
  // every row may be found).
  int64_t findable_rows = -1;
  // Called now and then with (work done, all work).
  std::function<void(int64_t, int64_t)> progress;
};

// `vectors` holds rows.size() unit vectors (row r: rows[r], dim floats, valid during the
// call), identified by ids[r]. For each r in `queries` (indexes into rows), the k best
// other rows (never r itself), best first. InvalidArgument on bad sizes or indexes.
Result<std::vector<std::vector<IndexHit>>> NeighbourGraph(std::span<const float* const> rows,
                                                          std::span<const int64_t> ids, int dim,
                                                          std::span<const int64_t> queries, int k,
                                                          const NeighbourGraphOptions& options = {});

}  // namespace lineup
