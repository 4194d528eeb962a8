// Open-set 1:N identification: ReadIdentities, BuildIdentificationSplit and
// EvaluateIdentification (lineup/identification.h).
#include "lineup/identification.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "lineup/cohort.h"
#include "test_util.h"

namespace {

using lineup::BuildIdentificationSplit;
using lineup::EvaluateIdentification;
using lineup::IdentificationOptions;
using lineup::IdentificationReport;
using lineup::IdentificationSplit;
using lineup::LabelledPhoto;
using lineup::ReadIdentities;
using lineup::Status;
using lineup_test::TempDir;
using lineup_test::WriteText;

bool Contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }
constexpr float kInf = std::numeric_limits<float>::infinity();

// ------------------------------------------------------------- synthetic scores
//
// Gallery entry j is the basis vector e_j, so a probe's score against entry j is simply
// its j-th component: each probe below is written as its row of scores.
std::vector<float> Basis(int j, int dim) {
  std::vector<float> v(static_cast<size_t>(dim), 0.f);
  v[static_cast<size_t>(j)] = 1.f;
  return v;
}

// Five gallery people (labels 0..4, photos 0..4); mated probes 5..9, non-mated 10..13.
struct HandMade {
  std::vector<std::vector<float>> vectors;
  std::vector<int> labels;
  IdentificationSplit split;
  HandMade() {
    const int dim = 6;
    for (int j = 0; j < 5; ++j) vectors.push_back(Basis(j, dim));
    //                 g0    g1    g2    g3    g4
    vectors.push_back({0.9f, 0.1f, 0.2f, 0.0f, 0.1f, 0});  // 5, person 0: rank 1 at 0.9
    vectors.push_back({0.7f, 0.5f, 0.6f, 0.1f, 0.0f, 0});  // 6, person 1: rank 3 (0.7, 0.6 ahead)
    vectors.push_back({0.1f, 0.2f, 0.4f, 0.4f, 0.0f, 0});  // 7, person 2: tied with g3 -> rank 2
    vectors.push_back({});                                 // 8, person 3: no face -> miss
    vectors.push_back({0.3f, 0.1f, 0.0f, 0.2f, 0.25f, 0}); // 9, person 0: rank 1 at 0.3
    vectors.push_back({0.1f, 0.8f, 0.0f, 0.0f, 0.0f, 0});  // 10, non-mated, top 0.8
    vectors.push_back({0.0f, 0.0f, 0.35f, 0.1f, 0.0f, 0}); // 11, non-mated, top 0.35
    vectors.push_back({0.2f, 0.0f, 0.0f, 0.0f, 0.1f, 0});  // 12, non-mated, top 0.2
    vectors.push_back({});                                 // 13, non-mated, no face
    labels = {0, 1, 2, 3, 4, 0, 1, 2, 3, 0, 5, 5, 6, 6};
    split.identities = {"p0", "p1", "p2", "p3", "p4", "p5", "p6"};
    split.labels = labels;
    split.gallery = {0, 1, 2, 3, 4};
    split.mated = {5, 6, 7, 8, 9};
    split.non_mated = {10, 11, 12, 13};
  }
};

TEST(EvaluateIdentification, HandMadeRanksAndCmc) {
  HandMade h;
  auto r = EvaluateIdentification(h.vectors, h.labels, h.split);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->gallery_size, 5);
  EXPECT_EQ(r->gallery_enrolled, 5);
  EXPECT_EQ(r->failures_to_enrol, 0);
  EXPECT_EQ(r->mated_searches, 5);
  EXPECT_EQ(r->non_mated_searches, 4);
  EXPECT_EQ(r->mated_without_face, 1);
  EXPECT_EQ(r->non_mated_without_face, 1);
  ASSERT_EQ(r->searches.size(), 9u);
  std::vector<int> ranks;
  for (int k = 0; k < 5; ++k) ranks.push_back(r->searches[static_cast<size_t>(k)].rank);
  EXPECT_EQ(ranks, (std::vector<int>{1, 3, 2, 0, 1}));
  EXPECT_FLOAT_EQ(r->searches[0].mate_score, 0.9f);
  EXPECT_FLOAT_EQ(r->searches[4].mate_score, 0.3f);
  EXPECT_FALSE(r->searches[3].has_face);
  EXPECT_EQ(r->searches[5].top_photo, 1);  // probe 10's best is g1
  EXPECT_FLOAT_EQ(r->searches[5].top_score, 0.8f);
  EXPECT_EQ(r->searches[8].top_photo, -1);  // no face, no candidate
  ASSERT_EQ(r->cmc.size(), 50u);
  EXPECT_DOUBLE_EQ(r->rank1, 0.4);
  EXPECT_DOUBLE_EQ(r->cmc[1], 0.6);
  EXPECT_DOUBLE_EQ(r->cmc[2], 0.8);
  EXPECT_DOUBLE_EQ(r->rank5, 0.8);
  EXPECT_DOUBLE_EQ(r->cmc[49], 0.8);  // the search without a face is never found
}

TEST(EvaluateIdentification, HandMadeFnirAtFpir) {
  HandMade h;
  IdentificationOptions o;
  o.fpir_targets = {0.9, 0.5, 0.25, 0.1};
  auto r = EvaluateIdentification(h.vectors, h.labels, h.split, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  // Non-mated top scores 0.8, 0.35, 0.2 (and one without a face) of 4 searches;
  // rank-1 mates at 0.9 and 0.3 of 5 mated searches.
  // 0.9: up to 3 false positives allowed, only 3 have a candidate: any threshold.
  EXPECT_EQ(r->threshold_at_fpir.at("0.9"), -kInf);
  EXPECT_DOUBLE_EQ(r->fpir_actual.at("0.9"), 0.75);
  EXPECT_DOUBLE_EQ(r->fnir_at_fpir.at("0.9"), 0.6);
  // 0.5: two allowed: the threshold lies just above 0.2 and both hits pass.
  EXPECT_EQ(r->threshold_at_fpir.at("0.5"), std::nextafter(0.2f, kInf));
  EXPECT_DOUBLE_EQ(r->fpir_actual.at("0.5"), 0.5);
  EXPECT_DOUBLE_EQ(r->fnir_at_fpir.at("0.5"), 0.6);
  // 0.25: one allowed: just above 0.35, the hit at 0.3 is lost.
  EXPECT_EQ(r->threshold_at_fpir.at("0.25"), std::nextafter(0.35f, kInf));
  EXPECT_DOUBLE_EQ(r->fpir_actual.at("0.25"), 0.25);
  EXPECT_DOUBLE_EQ(r->fnir_at_fpir.at("0.25"), 0.8);
  // 0.1: none allowed: just above 0.8; the hit at 0.9 remains.
  EXPECT_EQ(r->threshold_at_fpir.at("0.1"), std::nextafter(0.8f, kInf));
  EXPECT_DOUBLE_EQ(r->fpir_actual.at("0.1"), 0.0);
  EXPECT_DOUBLE_EQ(r->fnir_at_fpir.at("0.1"), 0.8);
  // DET: one point per distinct non-mated top score, threshold falling.
  ASSERT_EQ(r->det.size(), 3u);
  EXPECT_FLOAT_EQ(r->det[0].threshold, 0.8f);
  EXPECT_DOUBLE_EQ(r->det[0].fpir, 0.25);
  EXPECT_DOUBLE_EQ(r->det[0].fnir, 0.8);
  EXPECT_DOUBLE_EQ(r->det[1].fpir, 0.5);
  EXPECT_DOUBLE_EQ(r->det[1].fnir, 0.8);
  EXPECT_DOUBLE_EQ(r->det[2].fpir, 0.75);
  EXPECT_DOUBLE_EQ(r->det[2].fnir, 0.6);
}

TEST(EvaluateIdentification, DefaultTargetsHaveTheDocumentedKeys) {
  HandMade h;
  auto r = EvaluateIdentification(h.vectors, h.labels, h.split);
  ASSERT_TRUE(r.ok());
  for (const char* k : {"0.1", "0.01", "0.001"}) {
    EXPECT_TRUE(r->fnir_at_fpir.count(k)) << k;
    EXPECT_TRUE(r->threshold_at_fpir.count(k)) << k;
  }
  // 4 non-mated searches: floor(0.1 * 4) = 0 false positives allowed.
  EXPECT_EQ(r->threshold_at_fpir.at("0.01"), std::nextafter(0.8f, kInf));
}

TEST(EvaluateIdentification, GalleryPhotoWithoutAFaceIsNotEnrolledAndItsSearchesMiss) {
  HandMade h;
  h.vectors[0].clear();  // person 0's gallery photo: no face
  auto r = EvaluateIdentification(h.vectors, h.labels, h.split);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->gallery_size, 5);
  EXPECT_EQ(r->gallery_enrolled, 4);
  EXPECT_EQ(r->failures_to_enrol, 1);
  EXPECT_EQ(r->mated_searches, 5);     // still mated searches...
  EXPECT_EQ(r->mated_not_enrolled, 2); // ...whose mate is missing
  EXPECT_EQ(r->searches[0].rank, 0);
  EXPECT_EQ(r->searches[4].rank, 0);
  // Person 1 now has only 0.6 ahead (g0 is gone): rank 2; person 2 still rank 2.
  EXPECT_EQ(r->searches[1].rank, 2);
  EXPECT_DOUBLE_EQ(r->rank1, 0.0);
  EXPECT_DOUBLE_EQ(r->cmc[1], 0.4);
}

TEST(EvaluateIdentification, VectorsShortOfTheLabelsCountAsNoFace) {
  HandMade h;
  h.vectors.resize(12);  // photos 12 and 13 have no vector
  auto r = EvaluateIdentification(h.vectors, h.labels, h.split);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->non_mated_without_face, 2);
  EXPECT_EQ(r->non_mated_searches, 4);
}

TEST(EvaluateIdentification, EmptyGalleryMissesEverything) {
  HandMade h;
  for (int j = 0; j < 5; ++j) h.vectors[static_cast<size_t>(j)].clear();
  auto r = EvaluateIdentification(h.vectors, h.labels, h.split);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->gallery_enrolled, 0);
  EXPECT_EQ(r->failures_to_enrol, 5);
  EXPECT_DOUBLE_EQ(r->rank1, 0.0);
  EXPECT_DOUBLE_EQ(r->fnir_at_fpir.at("0.1"), 1.0);
  EXPECT_DOUBLE_EQ(r->fpir_actual.at("0.1"), 0.0);
  EXPECT_TRUE(r->det.empty());
}

TEST(EvaluateIdentification, EmptySearchSetsGiveNaNNotACrash) {
  HandMade h;
  h.split.non_mated.clear();
  auto r = EvaluateIdentification(h.vectors, h.labels, h.split);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(std::isnan(r->fpir_actual.at("0.1")));
  EXPECT_DOUBLE_EQ(r->rank1, 0.4);
  h.split.mated.clear();
  r = EvaluateIdentification(h.vectors, h.labels, h.split);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(std::isnan(r->rank1));
  EXPECT_TRUE(std::isnan(r->fnir_at_fpir.at("0.1")));
}

TEST(EvaluateIdentification, BadInputIsInvalidArgument) {
  auto expect_bad = [](const lineup::Result<IdentificationReport>& r, const std::string& part) {
    ASSERT_FALSE(r.ok()) << "accepted; expected an error about " << part;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
    EXPECT_TRUE(Contains(r.status().message(), part)) << r.status().message();
  };
  {
    HandMade h;
    h.vectors[6].push_back(0.f);
    expect_bad(EvaluateIdentification(h.vectors, h.labels, h.split), "length");
  }
  {
    HandMade h;
    h.vectors[11][2] = std::numeric_limits<float>::quiet_NaN();
    expect_bad(EvaluateIdentification(h.vectors, h.labels, h.split), "non-finite");
  }
  {
    HandMade h;
    h.vectors[2][2] = kInf;
    expect_bad(EvaluateIdentification(h.vectors, h.labels, h.split), "non-finite");
  }
  {
    HandMade h;
    h.labels[7] = -1;
    expect_bad(EvaluateIdentification(h.vectors, h.labels, h.split), "photo 7");
  }
  {
    HandMade h;
    h.split.non_mated.push_back(99);
    expect_bad(EvaluateIdentification(h.vectors, h.labels, h.split), "photo 99");
  }
  HandMade h;
  for (double t : {0.0, 1.0, -0.5, std::numeric_limits<double>::quiet_NaN()}) {
    IdentificationOptions o;
    o.fpir_targets = {t};
    expect_bad(EvaluateIdentification(h.vectors, h.labels, h.split, o), "FPIR");
  }
  IdentificationOptions o;
  o.max_rank = 0;
  expect_bad(EvaluateIdentification(h.vectors, h.labels, h.split, o), "max_rank");
  o = {};
  o.score_norm = "z-norm";
  expect_bad(EvaluateIdentification(h.vectors, h.labels, h.split, o), "z-norm");
  o.score_norm = "as-norm";
  o.cohort_k = 1;
  expect_bad(EvaluateIdentification(h.vectors, h.labels, h.split, o), "cohort_k");
}

// ------------------------------------------------- random data vs. brute force

struct Synthetic {
  std::vector<std::vector<float>> vectors;
  std::vector<int> labels;
  IdentificationSplit split;
};

// `people` identities with a random centre each; photos are centre + noise, normalised.
// Person p has 1 + (p % 4) photos; the split comes from BuildIdentificationSplit.
Synthetic MakeSynthetic(int people, int dim, float noise, unsigned seed, int no_face_every = 0) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> n01(0, 1);
  std::vector<LabelledPhoto> photos;
  std::vector<std::vector<float>> vecs;
  for (int p = 0; p < people; ++p) {
    std::vector<float> c(static_cast<size_t>(dim));
    for (float& x : c) x = n01(rng);
    for (int k = 0; k < 1 + p % 4; ++k) {
      std::vector<float> v(c);
      double norm = 0;
      for (float& x : v) {
        x += noise * n01(rng);
        norm += double(x) * x;
      }
      for (float& x : v) x = static_cast<float>(x / std::sqrt(norm));
      char name[32];
      std::snprintf(name, sizeof name, "P%05d", p);
      std::string pname = name;
      photos.push_back({"/x/" + pname + "/" + pname + "_" + std::to_string(k) + ".jpg", pname});
      vecs.push_back(no_face_every > 0 && vecs.size() % static_cast<size_t>(no_face_every) == 3 ? std::vector<float>{} : v);
    }
  }
  auto split = BuildIdentificationSplit(photos);
  EXPECT_TRUE(split.ok()) << split.status().ToString();
  return {vecs, split->labels, *split};
}

// The straightforward definition, in double precision, for one report.
void CheckAgainstBruteForce(const Synthetic& s, const IdentificationOptions& o, const IdentificationReport& r) {
  const bool norm = o.score_norm == "as-norm";
  std::vector<size_t> g;
  for (size_t i : s.split.gallery)
    if (!s.vectors[i].empty()) g.push_back(i);
  auto dot = [&](size_t a, size_t b) {
    double d = 0;
    for (size_t k = 0; k < s.vectors[a].size(); ++k) d += double(s.vectors[a][k]) * s.vectors[b][k];
    return d;
  };
  auto stats = [&](std::vector<double> v, size_t k, bool drop_best, double* mu, double* sd) {
    std::sort(v.rbegin(), v.rend());
    size_t from = drop_best ? 1 : 0, to = std::min(v.size(), k + from);
    double sum = 0, sq = 0;
    for (size_t i = from; i < to; ++i) sum += v[i], sq += v[i] * v[i];
    *mu = sum / double(to - from);
    *sd = std::max(std::sqrt(std::max(0.0, sq / double(to - from) - *mu * *mu)), 1e-6);
  };
  std::vector<double> mu_g(g.size()), sd_g(g.size());
  if (norm)
    for (size_t a = 0; a < g.size(); ++a) {
      std::vector<double> v;
      for (size_t b = 0; b < g.size(); ++b)
        if (b != a) v.push_back(dot(g[a], g[b]));
      stats(v, static_cast<size_t>(o.cohort_k), false, &mu_g[a], &sd_g[a]);
    }
  // Cohort ranking: each gallery face's similarity mean and deviation over all gallery faces.
  const bool cohort = !norm && o.ranking == "cohort" && g.size() >= static_cast<size_t>(lineup::Cohort::kMinFaces);
  EXPECT_EQ(r.ranking, cohort ? "cohort" : "raw");
  std::vector<double> mean_c(g.size()), sd_c(g.size());
  if (cohort)
    for (size_t a = 0; a < g.size(); ++a) {
      double sum = 0, sq = 0;
      for (size_t b = 0; b < g.size(); ++b) sum += dot(g[a], g[b]), sq += dot(g[a], g[b]) * dot(g[a], g[b]);
      mean_c[a] = sum / double(g.size());
      sd_c[a] = std::sqrt(sq / double(g.size()) - mean_c[a] * mean_c[a]);
    }
  std::vector<int> rank;
  std::vector<double> hit, nm_top;
  size_t pos = 0;
  for (const auto* list : {&s.split.mated, &s.split.non_mated}) {
    for (size_t i : *list) {
      const bool mated = list == &s.split.mated;
      const auto& out = r.searches[pos++];
      ASSERT_EQ(out.photo, i);
      if (s.vectors[i].empty() || g.empty()) {
        if (mated) rank.push_back(0);
        continue;
      }
      std::vector<double> sc;
      for (size_t b : g) sc.push_back(dot(i, b));
      if (norm) {
        double mu_p, sd_p;
        stats(sc, static_cast<size_t>(o.cohort_k), true, &mu_p, &sd_p);
        for (size_t b = 0; b < g.size(); ++b)
          sc[b] = 0.5 * ((sc[b] - mu_p) / sd_p + (sc[b] - mu_g[b]) / sd_g[b]);
      }
      std::vector<double> key(sc);  // what orders the candidates; sc is what is decided on
      if (cohort)
        for (size_t b = 0; b < g.size(); ++b) key[b] = (sc[b] - mean_c[b]) / sd_c[b];
      const size_t best = static_cast<size_t>(std::max_element(key.begin(), key.end()) - key.begin());
      EXPECT_NEAR(out.top_score, sc[best], norm ? 2e-3 : 1e-5);
      if (!mated) {
        nm_top.push_back(out.top_score);  // the library's own float, for exact threshold checks
        continue;
      }
      double mate = -1e9;
      for (size_t b = 0; b < g.size(); ++b)
        if (s.labels[g[b]] == s.labels[i]) mate = std::max(mate, key[b]);
      int ahead = 0;
      for (size_t b = 0; b < g.size(); ++b) ahead += s.labels[g[b]] != s.labels[i] && key[b] >= mate;
      rank.push_back(mate > -1e9 ? ahead + 1 : 0);
      if (ahead == 0 && mate > -1e9) hit.push_back(out.mate_score);
    }
  }
  for (size_t k = 0; k < rank.size(); ++k) EXPECT_EQ(r.searches[k].rank, rank[k]) << "mated search " << k;
  const double nm = double(s.split.mated.size()), nn = double(s.split.non_mated.size());
  for (int R : {1, 5, 20}) {
    double share = double(std::count_if(rank.begin(), rank.end(), [&](int x) { return x >= 1 && x <= R; })) / nm;
    EXPECT_DOUBLE_EQ(r.cmc[static_cast<size_t>(R - 1)], share) << "rank " << R;
  }
  // The threshold definition: FPIR at it holds the target, and the next lower non-mated
  // top score would break it; FNIR counts rank-1 mates at or above it.
  for (double target : o.fpir_targets) {
    char key[32];
    std::snprintf(key, sizeof key, "%g", target);
    const float t = r.threshold_at_fpir.at(key);
    const double fp = double(std::count_if(nm_top.begin(), nm_top.end(), [&](double x) { return x >= t; }));
    EXPECT_LE(fp / nn, target) << key;
    EXPECT_DOUBLE_EQ(r.fpir_actual.at(key), fp / nn) << key;
    double below = -1e9;
    for (double x : nm_top)
      if (x < t) below = std::max(below, x);
    if (below > -1e9) {
      const double fp2 = double(std::count_if(nm_top.begin(), nm_top.end(), [&](double x) { return x >= below; }));
      EXPECT_GT(fp2 / nn, target) << key << ": a lower threshold would also have held the target";
    }
    const double tp = double(std::count_if(hit.begin(), hit.end(), [&](double x) { return x >= t; }));
    EXPECT_DOUBLE_EQ(r.fnir_at_fpir.at(key), 1.0 - tp / nm) << key;
  }
}

TEST(EvaluateIdentification, MatchesBruteForceOnRandomData) {
  // 1,500 people: about 940 gallery faces, 1,100 mated and 1,700 non-mated searches,
  // so the search runs over several blocks of 512; some photos have no face.
  Synthetic s = MakeSynthetic(1500, 24, 0.9f, 7, 41);
  IdentificationOptions o;
  o.fpir_targets = {0.3, 0.1, 0.01, 0.002};
  auto r = EvaluateIdentification(s.vectors, s.labels, s.split, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_GT(r->non_mated_searches, 512);
  EXPECT_GT(r->rank1, 0.2);  // a task neither trivial...
  EXPECT_LT(r->rank1, 0.95); // ...nor hopeless
  CheckAgainstBruteForce(s, o, *r);
}

// Galleries of Cohort::kMinFaces or more are ranked against themselves, as the gallery's
// search does; thresholds still apply to plain similarity. "raw" turns that off.
TEST(EvaluateIdentification, CohortRankingMatchesBruteForceOnRandomData) {
  Synthetic s = MakeSynthetic(2400, 24, 0.9f, 13, 41);
  for (const char* ranking : {"cohort", "raw"}) {
    SCOPED_TRACE(ranking);
    IdentificationOptions o;
    o.ranking = ranking;
    o.fpir_targets = {0.3, 0.1, 0.01};
    auto r = EvaluateIdentification(s.vectors, s.labels, s.split, o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_GE(r->gallery_enrolled, lineup::Cohort::kMinFaces);
    CheckAgainstBruteForce(s, o, *r);
  }
  IdentificationOptions bad;
  bad.ranking = "zeta";
  EXPECT_FALSE(EvaluateIdentification(s.vectors, s.labels, s.split, bad).ok());
}

TEST(EvaluateIdentification, AsNormMatchesBruteForceOnRandomData) {
  Synthetic s = MakeSynthetic(600, 16, 0.8f, 11, 37);
  IdentificationOptions o;
  o.score_norm = "as-norm";
  o.cohort_k = 20;
  o.fpir_targets = {0.3, 0.1, 0.01};
  auto r = EvaluateIdentification(s.vectors, s.labels, s.split, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->score_norm, "as-norm");
  CheckAgainstBruteForce(s, o, *r);
}

TEST(EvaluateIdentification, WellSeparatedPeopleAreAllFoundAtEveryFpir) {
  Synthetic s = MakeSynthetic(400, 64, 0.05f, 3);
  for (const char* norm : {"", "as-norm"}) {
    SCOPED_TRACE(norm);
    IdentificationOptions o;
    o.score_norm = norm;
    auto r = EvaluateIdentification(s.vectors, s.labels, s.split, o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_DOUBLE_EQ(r->rank1, 1.0);
    for (const auto& [k, v] : r->fnir_at_fpir) EXPECT_DOUBLE_EQ(v, 0.0) << k;
  }
}

// A "hub": one gallery face that scores high against everybody. Every photo gets a
// shared extra component and one distractor points along it alone, so plain scores
// make it the top candidate of most non-mated searches; the gallery side of as-norm
// sees its high cohort and discounts it.
TEST(EvaluateIdentification, AsNormDiscountsAHubGalleryFace) {
  Synthetic s = MakeSynthetic(800, 128, 0.6f, 5);
  std::mt19937 rng(9);
  std::normal_distribution<float> jitter(0, 0.1f);
  for (auto& v : s.vectors) {
    if (v.empty()) continue;
    const float h = 0.6f + jitter(rng);
    v.push_back(h);
    const float n = std::sqrt(1 + h * h);
    for (float& x : v) x /= n;
  }
  size_t hub = s.vectors.size();
  for (size_t i : s.split.gallery)
    if (std::count(s.labels.begin(), s.labels.end(), s.labels[i]) == 1) { hub = i; break; }
  ASSERT_LT(hub, s.vectors.size());
  std::fill(s.vectors[hub].begin(), s.vectors[hub].end(), 0.f);
  s.vectors[hub].back() = 1.f;
  auto plain = EvaluateIdentification(s.vectors, s.labels, s.split);
  IdentificationOptions o;
  o.score_norm = "as-norm";
  o.cohort_k = 50;
  auto normed = EvaluateIdentification(s.vectors, s.labels, s.split, o);
  ASSERT_TRUE(plain.ok() && normed.ok());
  auto hub_tops = [&](const IdentificationReport& r) {
    return std::count_if(r.searches.begin(), r.searches.end(),
                         [&](const auto& x) { return !x.mated && x.top_photo == static_cast<long long>(hub); });
  };
  EXPECT_GT(hub_tops(*plain), plain->non_mated_searches / 2);
  EXPECT_LT(hub_tops(*normed), hub_tops(*plain) / 4);  // observed: 752 -> 93 of 900
}

// ------------------------------------------------------------------- the split

std::vector<LabelledPhoto> People(const std::vector<std::pair<std::string, std::string>>& path_identity) {
  std::vector<LabelledPhoto> v;
  for (const auto& [p, who] : path_identity) v.push_back({p, who});
  return v;
}

TEST(BuildIdentificationSplit, EvenPositionsEnrolledOddSearchedSinglesDistract) {
  // Listed out of order; names sort by bytes ("Zed" < "alice"); a person's first photo
  // is by file name, whatever its folder or place in the list.
  auto photos = People({{"b/alice_3.jpg", "alice"},
                        {"a/alice_2.jpg", "alice"},
                        {"z/Zed_1.jpg", "Zed"},
                        {"c/alice_1.jpg", "alice"},
                        {"z/Zed_2.jpg", "Zed"},
                        {"solo.jpg", "Mono"},
                        {"bob_2.jpg", "bob"},
                        {"bob_1.jpg", "bob"},
                        {"carol_1.jpg", "carol"}});
  auto s = BuildIdentificationSplit(photos);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->identities, (std::vector<std::string>{"Mono", "Zed", "alice", "bob", "carol"}));
  // Two or more photos: Zed (0, enrolled), alice (1, searched only), bob (2, enrolled).
  auto path_set = [&](const std::vector<size_t>& idx) {
    std::set<std::string> out;
    for (size_t i : idx) out.insert(photos[i].path);
    return out;
  };
  EXPECT_EQ(path_set(s->gallery), (std::set<std::string>{"solo.jpg", "z/Zed_1.jpg", "bob_1.jpg", "carol_1.jpg"}));
  EXPECT_EQ(path_set(s->mated), (std::set<std::string>{"z/Zed_2.jpg", "bob_2.jpg"}));
  EXPECT_EQ(path_set(s->non_mated), (std::set<std::string>{"c/alice_1.jpg", "a/alice_2.jpg", "b/alice_3.jpg"}));
  EXPECT_EQ(s->enrolled_people, 2);
  EXPECT_EQ(s->unenrolled_people, 1);
  EXPECT_EQ(s->distractors, 2);
  ASSERT_EQ(s->labels.size(), photos.size());
  EXPECT_EQ(s->labels[3], s->labels[0]);  // both alice
  EXPECT_NE(s->labels[6], s->labels[0]);
  EXPECT_EQ(s->identities[static_cast<size_t>(s->labels[6])], "bob");
}

TEST(BuildIdentificationSplit, LimitPeopleKeepsTheFirstByName) {
  auto photos = People({{"a1", "A"}, {"a2", "A"}, {"b1", "B"}, {"c1", "C"}, {"c2", "C"}, {"d1", "D"}, {"d2", "D"}});
  auto s = BuildIdentificationSplit(photos, 3);  // A, B, C
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->identities, (std::vector<std::string>{"A", "B", "C"}));
  EXPECT_EQ(s->gallery.size(), 2u);   // a1 and the distractor b1
  EXPECT_EQ(s->mated.size(), 1u);     // a2
  EXPECT_EQ(s->non_mated.size(), 2u); // c1, c2
  EXPECT_EQ(s->labels[5], -1);        // D is left out
  EXPECT_EQ(s->labels[6], -1);
  auto too_few = BuildIdentificationSplit(photos, 2);  // A, B: nobody to search unenrolled
  ASSERT_FALSE(too_few.ok());
  EXPECT_EQ(too_few.status().code(), Status::Code::kInvalidArgument);
  EXPECT_FALSE(BuildIdentificationSplit(photos, -1).ok());
}

TEST(BuildIdentificationSplit, NeedsTwoPeopleWithTwoPhotos) {
  for (const auto& list : {People({{"a", "A"}, {"b", "B"}, {"c", "C"}}), People({{"a1", "A"}, {"a2", "A"}, {"b", "B"}}),
                           People({})}) {
    auto s = BuildIdentificationSplit(list);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.status().code(), Status::Code::kInvalidArgument);
    EXPECT_TRUE(Contains(s.status().message(), "two or more photos")) << s.status().message();
  }
}

// ----------------------------------------------------------- identities files

class IdentitiesFileTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& text) {
    std::string path = tmp_.File(name);
    WriteText(path, text);
    return path;
  }
  void ExpectBad(const std::string& text, const std::string& where, const std::string& why = "") {
    SCOPED_TRACE(text);
    std::string f = Write("bad.tsv", text);
    auto r = ReadIdentities(f, "/root");
    ASSERT_FALSE(r.ok()) << "accepted a bad file; expected an error at " << where;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << r.status().ToString();
    EXPECT_TRUE(Contains(r.status().message(), f + where)) << r.status().message();
    EXPECT_TRUE(Contains(r.status().message(), why)) << r.status().message();
  }
  TempDir tmp_;
};

TEST_F(IdentitiesFileTest, ParsesHeaderCommentsCrlfAndPaths) {
  std::string f = Write("ids.tsv",
                        "image_relpath\tidentity\r\n"
                        "# a comment\n"
                        "\n"
                        "images/A/A_0001.jpg\tA\r\n"
                        "/abs/B.jpg\tJosé María\n"
                        "images/A/A_0002.jpg\tA");  // no final newline
  auto r = ReadIdentities(f, "/data/lfw");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].path, "/data/lfw/images/A/A_0001.jpg");
  EXPECT_EQ((*r)[0].identity, "A");
  EXPECT_EQ((*r)[1].path, "/abs/B.jpg");
  EXPECT_EQ((*r)[1].identity, "José María");
  EXPECT_EQ((*r)[2].identity, "A");
}

TEST_F(IdentitiesFileTest, MissingFileIsNotFound) {
  auto r = ReadIdentities(tmp_.File("nope.tsv"), "/root");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kNotFound);
}

TEST_F(IdentitiesFileTest, FolderInsteadOfFileIsAnError) {
  auto r = ReadIdentities(tmp_.path(), "/root");
  EXPECT_FALSE(r.ok());
}

TEST_F(IdentitiesFileTest, HostileLines) {
  ExpectBad("", "", "no photos");
  ExpectBad("image_relpath\tidentity\n", "", "no photos");
  ExpectBad("# only a comment\n\n\r\n", "", "no photos");
  ExpectBad("a.jpg\tA\nb.jpg A\n", ":2:", "expected image_relpath<TAB>identity");
  ExpectBad("a.jpg\tA\textra\n", ":1:", "expected");
  ExpectBad("a.jpg\tA\nb.jpg\t\n", ":2:", "empty identity");
  ExpectBad("a.jpg\tA\nb.jpg\t  \n", ":2:", "empty identity");
  ExpectBad("\tA\n", ":1:", "empty image path");
  ExpectBad("a.jpg\tA\nb.jpg\tB\na.jpg\tA\n", ":3:", "first on line 1");
  ExpectBad("a.jpg\tA\nb.jpg\tB\na.jpg\tC\n", ":3:", "listed again");
  const char nul[] = "a.jpg\tA\nb\0.jpg\tB\n";
  ExpectBad(std::string(nul, sizeof nul - 1), ":2:", "NUL");
}

TEST_F(IdentitiesFileTest, BinaryGarbageIsRejectedNotACrash) {
  std::mt19937 rng(1);
  std::string junk;
  for (int i = 0; i < 20000; ++i) junk.push_back(static_cast<char>(rng() & 0xff));
  std::string f = Write("junk.tsv", junk);
  auto r = ReadIdentities(f, "/root");
  if (r.ok()) {
    // Lines that happen to be path<TAB>name are fine; nothing may be empty.
    for (const auto& p : *r) EXPECT_FALSE(p.identity.empty());
  } else {
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  }
}

TEST_F(IdentitiesFileTest, AVeryLongLineIsHandled) {
  std::string f = Write("long.tsv", std::string(1 << 20, 'x') + "\tA\nb.jpg\tA\n");
  auto r = ReadIdentities(f, "/root");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->size(), 2u);
}

// ------------------------------------------------------------------ real LFW

TEST(LfwIdentification, SplitHasTheDocumentedCounts) {
  std::string lfw;
  LINEUP_REQUIRE_DATA(lfw, "lfw");
  auto photos = ReadIdentities(lfw + "/identities.tsv", lfw);
  ASSERT_TRUE(photos.ok()) << photos.status().ToString();
  EXPECT_EQ(photos->size(), 13233u);
  auto s = BuildIdentificationSplit(*photos);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->identities.size(), 5749u);
  EXPECT_EQ(s->gallery.size(), 4909u);
  EXPECT_EQ(s->mated.size(), 4173u);
  EXPECT_EQ(s->non_mated.size(), 4151u);
  EXPECT_EQ(s->enrolled_people, 840);
  EXPECT_EQ(s->unenrolled_people, 840);
  EXPECT_EQ(s->distractors, 4069);
  EXPECT_EQ(s->gallery.size() + s->mated.size() + s->non_mated.size(), photos->size());
  // Every enrolled person is enrolled with photo 0001, and every listed photo exists.
  std::set<size_t> enrolled(s->gallery.begin(), s->gallery.end());
  for (size_t i : s->gallery) EXPECT_TRUE(Contains((*photos)[i].path, "_0001.jpg")) << (*photos)[i].path;
  for (size_t i : s->mated) {
    EXPECT_FALSE(enrolled.count(i));
    EXPECT_FALSE(Contains((*photos)[i].path, "_0001.jpg")) << (*photos)[i].path;
  }
  int missing = 0;
  for (const auto& p : *photos) missing += !std::filesystem::exists(p.path);
  EXPECT_EQ(missing, 0);
  // Byte order, not case-folded: "AJ_Cook" comes before "Aaron_Eckhart".
  EXPECT_EQ(s->identities[0], "AJ_Cook");
}

}  // namespace
