// GraphClustering: splits a weighted graph into groups, with igraph's algorithms.
//
// Persons (persons.h) cluster the graph of faces linked to their nearest neighbours; the
// co-appearance network (network.h) finds communities in the graph of persons who appear
// together. One interface, several algorithms named by a factory string:
//   "components"                         connected components (every link joins)
//   "leiden[:resolution=R][,modularity][,iterations=N]" Leiden (Traag et al. 2019): with the constant
//                                        Potts model (default; R is the link weight a
//                                        group's members need on average, in the
//                                        weights' units) or modularity (R scales it)
//   "louvain[:resolution=R]"             Louvain (multi-level modularity)
//   "infomap[:trials=N]"                 Infomap (the map equation)
// Weights must be positive and finite. Deterministic for a given graph (igraph's random
// generator is seeded).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lineup/status.h"

namespace lineup {

struct WeightedGraph {
  int64_t nodes = 0;
  std::vector<std::pair<int64_t, int64_t>> edges;  // each once, nodes in [0, nodes)
  std::vector<double> weights;                     // one per edge
};

struct GraphClusters {
  std::vector<int64_t> label;  // per node, in [0, count)
  int64_t count = 0;
  double quality = 0;          // the algorithm's own objective (modularity, CPM, code length)
};

Result<GraphClusters> ClusterGraph(const WeightedGraph& graph, const std::string& algorithm);

// Labels renumbered 0..count-1 in order of first appearance.
GraphClusters Compact(std::vector<int64_t> labels);

}  // namespace lineup
