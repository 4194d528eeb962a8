#include "lineup/graph_clustering.h"

#include <igraph/igraph.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <numeric>

namespace lineup {

namespace {

// igraph keeps global state (its error handler, the random generator): one caller at a
// time, and errors come back as codes rather than aborting the process.
std::mutex& IgraphMutex() {
  static std::mutex m;
  return m;
}

void IgraphOnce() {
  static std::once_flag once;
  std::call_once(once, [] { igraph_set_error_handler(igraph_error_handler_ignore); });
}

// Owns the igraph objects of one call.
struct Igraph {
  igraph_t g{};
  igraph_vector_t w{};
  igraph_vector_int_t membership{};
  bool have_g = false, have_w = false, have_m = false;
  ~Igraph() {
    if (have_g) igraph_destroy(&g);
    if (have_w) igraph_vector_destroy(&w);
    if (have_m) igraph_vector_int_destroy(&membership);
  }
};

Status Error(igraph_error_t e, const std::string& what) {
  return Status::Internal(what + " failed: " + igraph_strerror(e));
}

// "name:a=1,b" -> name, {a: "1", b: ""}
std::pair<std::string, std::map<std::string, std::string>> ParseSpec(const std::string& spec) {
  std::map<std::string, std::string> opts;
  const size_t colon = spec.find(':');
  const std::string name = spec.substr(0, colon);
  if (colon != std::string::npos) {
    std::string rest = spec.substr(colon + 1);
    size_t at = 0;
    while (at <= rest.size()) {
      size_t comma = rest.find(',', at);
      if (comma == std::string::npos) comma = rest.size();
      const std::string item = rest.substr(at, comma - at);
      const size_t eq = item.find('=');
      if (!item.empty()) opts[item.substr(0, eq)] = eq == std::string::npos ? "" : item.substr(eq + 1);
      at = comma + 1;
    }
  }
  return {name, opts};
}

Result<double> Number(const std::map<std::string, std::string>& opts, const std::string& key, double def) {
  auto it = opts.find(key);
  if (it == opts.end()) return def;
  char* end = nullptr;
  const double v = std::strtod(it->second.c_str(), &end);
  if (it->second.empty() || *end || !std::isfinite(v))
    return Status::InvalidArgument("graph clustering: " + key + " needs a number, not \"" + it->second + "\"");
  return v;
}

}  // namespace

GraphClusters Compact(std::vector<int64_t> labels) {
  std::map<int64_t, int64_t> seen;
  GraphClusters out;
  for (int64_t& l : labels) {
    auto [it, fresh] = seen.emplace(l, static_cast<int64_t>(seen.size()));
    l = it->second;
  }
  out.count = static_cast<int64_t>(seen.size());
  out.label = std::move(labels);
  return out;
}

Result<GraphClusters> ClusterGraph(const WeightedGraph& graph, const std::string& algorithm) {
  if (graph.nodes < 0 || graph.weights.size() != graph.edges.size())
    return Status::InvalidArgument("graph clustering: one weight per edge");
  for (size_t i = 0; i < graph.edges.size(); ++i) {
    const auto [a, b] = graph.edges[i];
    if (a < 0 || b < 0 || a >= graph.nodes || b >= graph.nodes)
      return Status::InvalidArgument("graph clustering: an edge names a node outside the graph");
    if (!(graph.weights[i] > 0) || !std::isfinite(graph.weights[i]))
      return Status::InvalidArgument("graph clustering: weights must be positive and finite");
  }
  const auto [name, opts] = ParseSpec(algorithm);
  if (name == "components") {
    // Union-find: no igraph needed.
    std::vector<int64_t> parent(static_cast<size_t>(graph.nodes));
    std::iota(parent.begin(), parent.end(), 0);
    auto find = [&](int64_t x) {
      while (parent[static_cast<size_t>(x)] != x) {
        parent[static_cast<size_t>(x)] = parent[static_cast<size_t>(parent[static_cast<size_t>(x)])];
        x = parent[static_cast<size_t>(x)];
      }
      return x;
    };
    for (const auto& [a, b] : graph.edges) {
      const int64_t ra = find(a), rb = find(b);
      if (ra != rb) parent[static_cast<size_t>(std::max(ra, rb))] = std::min(ra, rb);
    }
    std::vector<int64_t> labels(static_cast<size_t>(graph.nodes));
    for (int64_t i = 0; i < graph.nodes; ++i) labels[static_cast<size_t>(i)] = find(i);
    return Compact(std::move(labels));
  }
  if (name != "leiden" && name != "louvain" && name != "infomap")
    return Status::InvalidArgument("unknown graph clustering \"" + algorithm +
                                   "\" (known: components, leiden, louvain, infomap)");
  std::lock_guard<std::mutex> lock(IgraphMutex());
  IgraphOnce();
  igraph_rng_seed(igraph_rng_default(), 20261201);
  Igraph ig;
  igraph_vector_int_t ends;
  if (igraph_vector_int_init(&ends, static_cast<igraph_integer_t>(graph.edges.size() * 2)) != IGRAPH_SUCCESS)
    return Status::Internal("graph clustering: out of memory");
  for (size_t i = 0; i < graph.edges.size(); ++i) {
    VECTOR(ends)[2 * i] = graph.edges[i].first;
    VECTOR(ends)[2 * i + 1] = graph.edges[i].second;
  }
  igraph_error_t e = igraph_create(&ig.g, &ends, graph.nodes, IGRAPH_UNDIRECTED);
  igraph_vector_int_destroy(&ends);
  if (e != IGRAPH_SUCCESS) return Error(e, "building the graph");
  ig.have_g = true;
  if ((e = igraph_vector_init(&ig.w, static_cast<igraph_integer_t>(graph.weights.size()))) != IGRAPH_SUCCESS)
    return Error(e, "weights");
  ig.have_w = true;
  for (size_t i = 0; i < graph.weights.size(); ++i) VECTOR(ig.w)[i] = graph.weights[i];
  if ((e = igraph_vector_int_init(&ig.membership, graph.nodes)) != IGRAPH_SUCCESS) return Error(e, "membership");
  ig.have_m = true;
  GraphClusters out;
  if (name == "leiden") {
    auto resolution = Number(opts, "resolution", 0.5);
    if (!resolution.ok()) return resolution.status();
    // A fixed number of passes: "until stable" (-1) can cycle for ever on ties.
    auto iterations = Number(opts, "iterations", 10);
    if (!iterations.ok()) return iterations.status();
    const auto passes = static_cast<igraph_integer_t>(std::clamp(*iterations, 1.0, 1000.0));
    igraph_integer_t clusters = 0;
    igraph_real_t quality = 0;
    if (opts.count("modularity")) {
      // Modularity is CPM with node weights = strengths and resolution / (2 m).
      igraph_vector_t strength;
      igraph_vector_init(&strength, graph.nodes);
      igraph_strength(&ig.g, &strength, igraph_vss_all(), IGRAPH_ALL, IGRAPH_LOOPS, &ig.w);
      double total = 0;
      for (double w : graph.weights) total += w;
      e = igraph_community_leiden(&ig.g, &ig.w, &strength, *resolution / (2 * std::max(total, 1e-12)), 0.01, false, passes,
                                  &ig.membership, &clusters, &quality);
      igraph_vector_destroy(&strength);
    } else {
      e = igraph_community_leiden(&ig.g, &ig.w, nullptr, *resolution, 0.01, false, passes, &ig.membership, &clusters,
                                  &quality);
    }
    if (e != IGRAPH_SUCCESS) return Error(e, "Leiden clustering");
    out.quality = quality;
  } else if (name == "louvain") {
    auto resolution = Number(opts, "resolution", 1.0);
    if (!resolution.ok()) return resolution.status();
    igraph_vector_t q;
    igraph_vector_init(&q, 0);
    e = igraph_community_multilevel(&ig.g, &ig.w, *resolution, &ig.membership, nullptr, &q);
    if (e == IGRAPH_SUCCESS && igraph_vector_size(&q) > 0) out.quality = igraph_vector_max(&q);
    igraph_vector_destroy(&q);
    if (e != IGRAPH_SUCCESS) return Error(e, "Louvain clustering");
  } else {
    auto trials = Number(opts, "trials", 10);
    if (!trials.ok()) return trials.status();
    igraph_real_t codelength = 0;
    e = igraph_community_infomap(&ig.g, &ig.w, nullptr, static_cast<igraph_integer_t>(std::max(1.0, *trials)),
                                 &ig.membership, &codelength);
    if (e != IGRAPH_SUCCESS) return Error(e, "Infomap clustering");
    out.quality = codelength;
  }
  std::vector<int64_t> labels(static_cast<size_t>(graph.nodes));
  for (int64_t i = 0; i < graph.nodes; ++i) labels[static_cast<size_t>(i)] = VECTOR(ig.membership)[i];
  GraphClusters c = Compact(std::move(labels));
  c.quality = out.quality;
  return c;
}

}  // namespace lineup
