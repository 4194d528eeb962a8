// NeighbourGraph (lineup/neighbour_graph.h): the approximate all-neighbours search that
// persons are clustered on, checked against brute force.
#include <algorithm>
#include <cmath>
#include <random>
#include <set>
#include <vector>

#include <gtest/gtest.h>

#include "lineup/neighbour_graph.h"

namespace {

using lineup::IndexHit;
using lineup::NeighbourGraph;
using lineup::NeighbourGraphOptions;

// n unit vectors of `dim` values in identities of 1-5 (same identity: cosine ~0.7).
struct Faces {
  int dim;
  std::vector<float> data;
  std::vector<int64_t> ids;
  std::vector<const float*> rows;
  Faces(int n, int dim_, uint32_t seed) : dim(dim_) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> g(0, 1);
    std::uniform_int_distribution<int> size(1, 5);
    std::vector<float> centre(static_cast<size_t>(dim));
    int left = 0;
    for (int i = 0; i < n; ++i) {
      if (left == 0) {
        for (auto& c : centre) c = g(rng);
        left = size(rng);
      }
      --left;
      float norm = 0;
      std::vector<float> v(static_cast<size_t>(dim));
      for (int d = 0; d < dim; ++d) norm += (v[static_cast<size_t>(d)] = centre[static_cast<size_t>(d)] + 0.6f * g(rng)) * v[static_cast<size_t>(d)];
      for (auto& x : v) data.push_back(x / std::sqrt(norm));
      ids.push_back(1000 + 3 * i);  // ids are not row numbers
    }
    for (int i = 0; i < n; ++i) rows.push_back(data.data() + static_cast<size_t>(i) * static_cast<size_t>(dim));
  }
  float Dot(size_t a, size_t b) const {
    float s = 0;
    for (int d = 0; d < dim; ++d) s += rows[a][d] * rows[b][d];
    return s;
  }
};

// Share of each query's exact k best (scoring above `floor`) that the graph found.
double Recall(const Faces& f, const std::vector<int64_t>& queries, const std::vector<std::vector<IndexHit>>& got, int k,
              float floor) {
  int64_t wanted = 0, found = 0;
  for (size_t q = 0; q < queries.size(); ++q) {
    std::vector<std::pair<float, int64_t>> all;
    for (size_t r = 0; r < f.rows.size(); ++r)
      if (static_cast<int64_t>(r) != queries[q]) all.push_back({f.Dot(static_cast<size_t>(queries[q]), r), f.ids[r]});
    std::partial_sort(all.begin(), all.begin() + k, all.end(), std::greater<>());
    std::set<int64_t> have;
    for (const IndexHit& h : got[q]) have.insert(h.id);
    for (int j = 0; j < k; ++j)
      if (all[static_cast<size_t>(j)].first > floor) wanted++, found += have.count(all[static_cast<size_t>(j)].second);
  }
  return wanted ? static_cast<double>(found) / static_cast<double>(wanted) : 1.0;
}

TEST(NeighbourGraph, FindsCloseNeighboursWithExactScores) {
  Faces f(6000, 64, 1);
  std::vector<int64_t> queries;
  for (int64_t q = 0; q < 6000; q += 7) queries.push_back(q);
  NeighbourGraphOptions o;
  o.faces_per_list = 64;  // 128 lists, 16 visited: most of the space is not searched
  o.probes = 16;
  int64_t last_done = -1, last_all = -1;
  o.progress = [&](int64_t done, int64_t all) { last_done = done, last_all = all; };
  auto g = NeighbourGraph(f.rows, f.ids, f.dim, queries, 10, o);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  ASSERT_EQ(g->size(), queries.size());
  EXPECT_EQ(last_done, last_all);
  EXPECT_GT(last_all, 0);
  for (size_t q = 0; q < queries.size(); ++q) {
    const auto& hits = (*g)[q];
    EXPECT_EQ(hits.size(), 10u);
    for (size_t j = 0; j < hits.size(); ++j) {
      EXPECT_NE(hits[j].id, f.ids[static_cast<size_t>(queries[q])]) << "a face is not its own neighbour";
      if (j > 0) {
        EXPECT_LE(hits[j].score, hits[j - 1].score);
      }
      const size_t row = static_cast<size_t>((hits[j].id - 1000) / 3);
      EXPECT_NEAR(hits[j].score, f.Dot(static_cast<size_t>(queries[q]), row), 1e-4);
    }
  }
  // Same-identity neighbours (cosine ~0.7) are found; the far tail may be missed. These
  // vectors are spread evenly (no structure for the lists to follow), the hard case.
  const double recall = Recall(f, queries, *g, 10, 0.45f);
  EXPECT_GE(recall, 0.93);
  // Visiting every list is exact.
  o.probes = 128;
  auto all = NeighbourGraph(f.rows, f.ids, f.dim, queries, 10, o);
  ASSERT_TRUE(all.ok());
  EXPECT_DOUBLE_EQ(Recall(f, queries, *all, 10, -1.0f), 1.0);
  o.probes = 16;
  // Deterministic.
  auto again = NeighbourGraph(f.rows, f.ids, f.dim, queries, 10, o);
  ASSERT_TRUE(again.ok());
  for (size_t q = 0; q < queries.size(); ++q)
    for (size_t j = 0; j < (*g)[q].size(); ++j) EXPECT_EQ((*again)[q][j].id, (*g)[q][j].id);
}

TEST(NeighbourGraph, SmallSetsAreSearchedWhole) {
  Faces f(300, 32, 2);
  std::vector<int64_t> queries(300);
  for (int64_t q = 0; q < 300; ++q) queries[static_cast<size_t>(q)] = q;
  auto g = NeighbourGraph(f.rows, f.ids, f.dim, queries, 5);
  ASSERT_TRUE(g.ok());
  EXPECT_DOUBLE_EQ(Recall(f, queries, *g, 5, -1.0f), 1.0);
  // k larger than the set: every other face.
  Faces two(2, 8, 3);
  auto g2 = NeighbourGraph(two.rows, two.ids, two.dim, std::vector<int64_t>{0, 1}, 10);
  ASSERT_TRUE(g2.ok());
  ASSERT_EQ((*g2)[0].size(), 1u);
  EXPECT_EQ((*g2)[0][0].id, two.ids[1]);
}

TEST(NeighbourGraph, QueryOnlyRowsAreNeverFound) {
  Faces f(2000, 32, 5);
  // Rows 1,000 on are queries only; each is a near copy of a findable row's identity.
  std::vector<int64_t> queries;
  for (int64_t q = 0; q < 2000; q += 3) queries.push_back(q);
  NeighbourGraphOptions o;
  o.findable_rows = 1000;
  auto g = NeighbourGraph(f.rows, f.ids, f.dim, queries, 8, o);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  for (const auto& hits : *g) {
    EXPECT_EQ(hits.size(), 8u);
    for (const IndexHit& h : hits) EXPECT_LT((h.id - 1000) / 3, 1000) << "a query-only row was found";
  }
  o.findable_rows = 2001;
  EXPECT_FALSE(NeighbourGraph(f.rows, f.ids, f.dim, queries, 8, o).ok());
}

TEST(NeighbourGraph, BadInputIsAnError) {
  Faces f(50, 8, 4);
  EXPECT_FALSE(NeighbourGraph(f.rows, f.ids, f.dim, std::vector<int64_t>{50}, 5).ok());
  EXPECT_FALSE(NeighbourGraph(f.rows, f.ids, f.dim, std::vector<int64_t>{-1}, 5).ok());
  EXPECT_FALSE(NeighbourGraph(f.rows, std::vector<int64_t>{1, 2}, f.dim, std::vector<int64_t>{0}, 5).ok());
  EXPECT_FALSE(NeighbourGraph(f.rows, f.ids, f.dim, std::vector<int64_t>{0}, 0).ok());
  EXPECT_FALSE(NeighbourGraph(f.rows, f.ids, 0, std::vector<int64_t>{0}, 5).ok());
  NeighbourGraphOptions o;
  o.probes = 0;
  EXPECT_FALSE(NeighbourGraph(f.rows, f.ids, f.dim, std::vector<int64_t>{0}, 5, o).ok());
  auto none = NeighbourGraph(f.rows, f.ids, f.dim, std::vector<int64_t>{}, 5);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

}  // namespace
