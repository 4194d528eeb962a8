// Demographic differentials (lineup/group_evaluation.h) and `lineup eval groups`: counts
// recounted by brute force, intervals, groups without pairs, the 1:N split by group, and
// the command on real LFW photos with hostile groups files.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "lineup/group_evaluation.h"
#include "lineup/identification.h"
#include "lineup/vector_file.h"
#include "test_util.h"

namespace {

using lineup::EvaluateGroups;
using lineup::GroupEvaluationOptions;
using lineup::LabelledPhoto;
using lineup::Status;
using lineup_test::RunCli;
using lineup_test::TempDir;
using lineup_test::WriteText;

bool Contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// `people` people, each with 1..4 photos (centre + noise, normalised), in `groups` groups by
// person; the last group's people are closer together (look-alikes). Some photos have no
// face (empty vector) and a few are left without a group.
struct Synthetic {
  std::vector<std::vector<float>> vectors;
  std::vector<int> identity, group;
  std::vector<std::string> names;
  Synthetic(int people, int groups, uint32_t seed, int dim = 16) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0, 1);
    std::uniform_int_distribution<int> photos(1, 4);
    for (int g = 0; g < groups; ++g) names.push_back(std::string(1, 'g').append(std::to_string(g)));
    std::vector<float> shared(static_cast<size_t>(dim));
    for (auto& v : shared) v = normal(rng);
    for (int p = 0; p < people; ++p) {
      const int g = p % groups;
      std::vector<float> centre(static_cast<size_t>(dim));
      for (size_t k = 0; k < centre.size(); ++k)
        centre[k] = normal(rng) + (g == groups - 1 ? 1.5f * shared[k] : 0.0f);
      const int n = photos(rng);
      for (int i = 0; i < n; ++i) {
        std::vector<float> v(static_cast<size_t>(dim));
        float norm = 0;
        for (size_t k = 0; k < v.size(); ++k) norm += (v[k] = centre[k] + 0.8f * normal(rng)) * v[k];
        for (auto& x : v) x /= std::sqrt(norm);
        const bool no_face = rng() % 23 == 0;
        vectors.push_back(no_face ? std::vector<float>{} : v);
        identity.push_back(p);
        group.push_back(rng() % 31 == 0 ? -1 : g);
      }
    }
  }
};

struct Recount {
  int64_t genuine = 0, impostor = 0, misses = 0, false_matches = 0;
};

// Every pair, counted the plain way.
std::map<std::string, Recount> BruteForce(const Synthetic& s, float t) {
  std::map<std::string, Recount> out;
  for (size_t i = 0; i < s.vectors.size(); ++i)
    for (size_t j = i + 1; j < s.vectors.size(); ++j) {
      if (s.group[i] < 0 || s.group[j] < 0) continue;
      float score = -INFINITY;
      if (!s.vectors[i].empty() && !s.vectors[j].empty()) {
        score = 0;
        for (size_t k = 0; k < s.vectors[i].size(); ++k) score += s.vectors[i][k] * s.vectors[j][k];
      }
      const bool same_group = s.group[i] == s.group[j];
      if (s.identity[i] == s.identity[j]) {
        if (!same_group) {
          out["across"].genuine++;
          continue;
        }
        Recount& r = out[s.names[static_cast<size_t>(s.group[i])]];
        r.genuine++;
        r.misses += !(score >= t);
      } else {
        Recount& r = out[same_group ? s.names[static_cast<size_t>(s.group[i])] : "cross-group"];
        r.impostor++;
        r.false_matches += score >= t;
      }
    }
  return out;
}

TEST(EvaluateGroups, CountsEqualABruteForceRecount) {
  for (uint32_t seed : {1u, 2u, 3u}) {
    SCOPED_TRACE(seed);
    Synthetic s(60, 3, seed);
    // A person filed under two groups: their cross pairs are genuine, in no group.
    s.group[0] = 0;
    s.group[1] = 1;
    s.identity[1] = s.identity[0];
    GroupEvaluationOptions o;
    o.thresholds = {{"low", 0.2f}, {"mid", 0.45f}, {"high", 0.7f}};
    o.resamples = 0;
    auto r = EvaluateGroups(s.vectors, s.identity, s.group, s.names, o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    for (const auto& [key, t] : o.thresholds) {
      const auto expected = BruteForce(s, t);
      for (const auto& g : r->groups) {
        SCOPED_TRACE(g.name + " " + key);
        const Recount& e = expected.count(g.name) ? expected.at(g.name) : Recount{};
        EXPECT_EQ(g.genuine_pairs, e.genuine);
        EXPECT_EQ(g.impostor_pairs, e.impostor);
        EXPECT_EQ(g.fnmr.at(key).errors, e.misses);
        EXPECT_EQ(g.fmr.at(key).errors, e.false_matches);
        EXPECT_EQ(g.fmr.at(key).trials, e.impostor);
        if (e.impostor > 0) {
          EXPECT_DOUBLE_EQ(g.fmr.at(key).rate, double(e.false_matches) / double(e.impostor));
        }
        if (e.genuine > 0) {
          EXPECT_DOUBLE_EQ(g.fnmr.at(key).rate, double(e.misses) / double(e.genuine));
        }
      }
      const Recount& c = expected.at("cross-group");
      EXPECT_EQ(r->cross.impostor_pairs, c.impostor);
      EXPECT_EQ(r->cross.fmr.at(key).errors, c.false_matches);
      EXPECT_EQ(r->genuine_pairs_across_groups, expected.count("across") ? expected.at("across").genuine : 0);
    }
    int unlabelled = 0;
    for (int g : s.group) unlabelled += g < 0;
    EXPECT_EQ(r->unlabelled_photos, unlabelled);
  }
}

TEST(EvaluateGroups, RatiosAreHighestOverLowestAndLookAlikesMatchMore) {
  Synthetic s(150, 2, 7);
  GroupEvaluationOptions o;
  o.thresholds = {{"t", 0.3f}};
  o.resamples = 200;
  auto r = EvaluateGroups(s.vectors, s.identity, s.group, s.names, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const double fmr0 = r->groups[0].fmr.at("t").rate, fmr1 = r->groups[1].fmr.at("t").rate;
  ASSERT_GT(fmr0, 0);
  EXPECT_GT(fmr1, fmr0) << "the look-alike group must match more often within itself";
  const auto& ratio = r->fmr_ratio.at("t");
  EXPECT_EQ(ratio.highest, "g1");
  EXPECT_EQ(ratio.lowest, "g0");
  EXPECT_DOUBLE_EQ(ratio.ratio, fmr1 / fmr0);
  EXPECT_LE(ratio.low, ratio.ratio);
  EXPECT_GE(ratio.high, ratio.ratio);
  EXPECT_GT(ratio.high, ratio.low);
  for (const auto& g : r->groups) {
    const auto& f = g.fmr.at("t");
    EXPECT_LE(f.low, f.rate);
    EXPECT_GE(f.high, f.rate);
    EXPECT_FALSE(g.det.empty());
    for (size_t i = 1; i < g.det.size(); ++i) {
      EXPECT_LT(g.det[i].first, g.det[i - 1].first);
      EXPECT_GE(g.det[i].second, g.det[i - 1].second);
    }
  }
  // The same seed gives the same intervals; another seed others.
  auto again = EvaluateGroups(s.vectors, s.identity, s.group, s.names, o);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->fmr_ratio.at("t").low, ratio.low);
  EXPECT_EQ(again->fmr_ratio.at("t").high, ratio.high);
  o.seed = 99;
  auto other = EvaluateGroups(s.vectors, s.identity, s.group, s.names, o);
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->groups[0].fmr.at("t").low + other->groups[0].fmr.at("t").high,
            r->groups[0].fmr.at("t").low + r->groups[0].fmr.at("t").high);
}

TEST(EvaluateGroups, AGroupWithoutPairsHasNoRatesAndStaysOutOfTheRatios) {
  Synthetic s(40, 2, 3);
  s.names.push_back("alone");
  s.group[0] = 2;  // one photo: no genuine and no impostor pair within its group
  for (size_t i = 1; i < s.identity.size(); ++i)
    if (s.identity[i] == s.identity[0]) s.group[i] = -1;
  GroupEvaluationOptions o;
  o.thresholds = {{"t", 0.3f}};
  o.resamples = 50;
  auto r = EvaluateGroups(s.vectors, s.identity, s.group, s.names, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const auto& alone = r->groups[2];
  EXPECT_EQ(alone.genuine_pairs, 0);
  EXPECT_EQ(alone.impostor_pairs, 0);
  EXPECT_TRUE(std::isnan(alone.fmr.at("t").rate));
  EXPECT_TRUE(std::isnan(alone.fnmr.at("t").rate));
  EXPECT_TRUE(std::isnan(alone.fmr.at("t").low));
  EXPECT_TRUE(alone.det.empty());
  EXPECT_NE(r->fmr_ratio.at("t").highest, "alone");
  EXPECT_NE(r->fmr_ratio.at("t").lowest, "alone");
  // One measurable group: no ratio at all.
  std::vector<int> one(s.group.size(), 0);
  auto single = EvaluateGroups(s.vectors, s.identity, one, {"only"}, o);
  ASSERT_TRUE(single.ok());
  EXPECT_TRUE(std::isnan(single->fmr_ratio.at("t").ratio));
  EXPECT_TRUE(single->fmr_ratio.at("t").highest.empty());
}

TEST(EvaluateGroups, BadInputIsInvalidArgument) {
  Synthetic s(10, 2, 1);
  GroupEvaluationOptions o;
  o.thresholds = {{"t", 0.3f}};
  auto bad = [&](std::vector<std::vector<float>> v, std::vector<int> id, std::vector<int> g, GroupEvaluationOptions opt) {
    auto r = EvaluateGroups(v, id, g, s.names, opt);
    return !r.ok() && r.status().code() == Status::Code::kInvalidArgument;
  };
  EXPECT_TRUE(bad(s.vectors, std::vector<int>(s.identity.begin(), s.identity.end() - 1), s.group, o));
  auto g = s.group;
  g[0] = 5;
  EXPECT_TRUE(bad(s.vectors, s.identity, g, o));
  auto v = s.vectors;
  v[1] = {1.0f, 0.0f};
  EXPECT_TRUE(bad(v, s.identity, s.group, o));
  v = s.vectors;
  for (auto& x : v)
    if (!x.empty()) x[0] = NAN;
  EXPECT_TRUE(bad(v, s.identity, s.group, o));
  auto id = s.identity;
  id[0] = -1;
  EXPECT_TRUE(bad(s.vectors, id, s.group, o));
  GroupEvaluationOptions none;
  EXPECT_TRUE(bad(s.vectors, s.identity, s.group, none));
  GroupEvaluationOptions neg = o;
  neg.resamples = -1;
  EXPECT_TRUE(bad(s.vectors, s.identity, s.group, neg));
  GroupEvaluationOptions conf = o;
  conf.confidence = 1;
  EXPECT_TRUE(bad(s.vectors, s.identity, s.group, conf));
}

TEST(EvaluateGroups, SelfCalibratedThresholdsHoldTheRateOverAllImpostorPairs) {
  Synthetic s(120, 2, 5);
  GroupEvaluationOptions o;
  o.self_calibrated_fmr = {1e-2, 1e-3};
  o.resamples = 0;
  auto r = EvaluateGroups(s.vectors, s.identity, s.group, s.names, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  for (const std::string key : {"0.01", "0.001"}) {
    SCOPED_TRACE(key);
    const double f = std::stod(key);
    const auto& all = r->overall.fmr.at(key);
    EXPECT_LE(all.errors, static_cast<int64_t>(std::floor(f * static_cast<double>(all.trials))));
    // The lowest such threshold: just below it, more impostor pairs than allowed.
    const auto recount = BruteForce(s, std::nextafter(r->thresholds.at(key), -2.0f));
    int64_t above = 0;
    for (const auto& [name, c] : recount) above += c.false_matches;
    EXPECT_GT(above, static_cast<int64_t>(std::floor(f * static_cast<double>(all.trials))));
  }
  EXPECT_LT(r->thresholds.at("0.01"), r->thresholds.at("0.001"));
}

TEST(EvaluateGroups, AdjustedScoresAreCountedAsAdjusted) {
  Synthetic s(50, 2, 9);
  GroupEvaluationOptions o;
  o.thresholds = {{"t", 0.3f}};
  o.resamples = 0;
  o.quality.resize(s.vectors.size());
  for (size_t i = 0; i < o.quality.size(); ++i) o.quality[i] = static_cast<float>(i % 10) / 10.0f;
  o.quality_margin = 0.2f;
  auto r = EvaluateGroups(s.vectors, s.identity, s.group, s.names, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  // Recount with the threshold raised by 0.2 x (1 - the lower quality) per pair.
  int64_t false_matches = 0;
  for (size_t i = 0; i < s.vectors.size(); ++i)
    for (size_t j = i + 1; j < s.vectors.size(); ++j) {
      if (s.group[i] != 0 || s.group[j] != 0 || s.identity[i] == s.identity[j]) continue;
      if (s.vectors[i].empty() || s.vectors[j].empty()) continue;
      float d = 0;
      for (size_t k = 0; k < s.vectors[i].size(); ++k) d += s.vectors[i][k] * s.vectors[j][k];
      EXPECT_FLOAT_EQ(lineup::AdjustScore(o, i, j, d), d - 0.2f * (1 - std::min(o.quality[i], o.quality[j])));
      false_matches += lineup::AdjustScore(o, i, j, d) >= 0.3f;
    }
  EXPECT_EQ(r->groups[0].fmr.at("t").errors, false_matches);
  EXPECT_TRUE(r->groups[0].det.empty()) << "no DET of an adjusted score (it leaves [-1, 1])";
  // Cohort normalisation: the symmetric z-score.
  GroupEvaluationOptions z;
  z.cohort_mean.assign(s.vectors.size(), 0.1f);
  z.cohort_sd.assign(s.vectors.size(), 0.2f);
  z.cohort_mean[1] = 0.3f;
  EXPECT_FLOAT_EQ(lineup::AdjustScore(z, 0, 1, 0.5f), 0.5f * ((0.5f - 0.1f) / 0.2f + (0.5f - 0.3f) / 0.2f));
  // Inconsistent adjustments are refused.
  GroupEvaluationOptions bad = o;
  bad.quality.pop_back();
  EXPECT_FALSE(EvaluateGroups(s.vectors, s.identity, s.group, s.names, bad).ok());
  bad = o;
  bad.quality_margin = 0;
  bad.cohort_mean.assign(s.vectors.size(), 0.0f);
  bad.cohort_sd.assign(s.vectors.size(), 0.0f);
  EXPECT_FALSE(EvaluateGroups(s.vectors, s.identity, s.group, s.names, bad).ok());
  bad.cohort_sd.assign(s.vectors.size() - 1, 1.0f);
  EXPECT_FALSE(EvaluateGroups(s.vectors, s.identity, s.group, s.names, bad).ok());
  bad = o;
  bad.self_calibrated_fmr = {1.5};
  EXPECT_FALSE(EvaluateGroups(s.vectors, s.identity, s.group, s.names, bad).ok());
}

TEST(MeasureCohort, MeansAndSpreadsOverTheOtherSideOrTheMostSimilar) {
  Synthetic s(30, 2, 4);
  std::vector<int> side(s.vectors.size());
  for (size_t i = 0; i < side.size(); ++i) side[i] = s.identity[i] % 2;
  auto dot = [&](size_t i, size_t j) {
    float d = 0;
    for (size_t k = 0; k < s.vectors[i].size(); ++k) d += s.vectors[i][k] * s.vectors[j][k];
    return d;
  };
  for (int k : {0, 5}) {
    SCOPED_TRACE(k);
    const auto c = lineup::MeasureCohort(s.vectors, side, k);
    for (size_t i = 0; i < s.vectors.size(); ++i) {
      if (s.vectors[i].empty()) {
        EXPECT_EQ(c.mean[i], 0.0f);
        EXPECT_EQ(c.sd[i], 1.0f);
        continue;
      }
      std::vector<double> v;
      for (size_t j = 0; j < s.vectors.size(); ++j)
        if (!s.vectors[j].empty() && side[j] != side[i]) v.push_back(dot(i, j));
      std::sort(v.rbegin(), v.rend());
      if (k > 0) v.resize(static_cast<size_t>(k));
      double mean = 0, sq = 0;
      for (double x : v) mean += x, sq += x * x;
      mean /= static_cast<double>(v.size());
      EXPECT_NEAR(c.mean[i], mean, 1e-5);
      EXPECT_NEAR(c.sd[i], std::sqrt(sq / static_cast<double>(v.size()) - mean * mean), 1e-4);
    }
  }
}

TEST(MatchGroups, UnknownPhotosAndEmptyMatchesAreErrors) {
  std::vector<LabelledPhoto> photos = {{"/r/a.jpg", "A"}, {"/r/b.jpg", "B"}, {"/r/c.jpg", "C"}};
  auto ok = lineup::MatchGroups(photos, {{"/r/b.jpg", "male"}, {"/r/a.jpg", "female"}});
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->names, (std::vector<std::string>{"male", "female"}));
  EXPECT_EQ(ok->of_photo, (std::vector<int>{1, 0, -1}));
  EXPECT_EQ(ok->unlabelled, 1);
  auto unknown = lineup::MatchGroups(photos, {{"/r/a.jpg", "f"}, {"/elsewhere/z.jpg", "m"}, {"/q.jpg", "m"}});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(Contains(unknown.status().message(), "2 photos")) << unknown.status().message();
  EXPECT_TRUE(Contains(unknown.status().message(), "/elsewhere/z.jpg")) << unknown.status().message();
  auto none = lineup::MatchGroups(photos, {});
  EXPECT_FALSE(none.ok());
}

TEST(SplitSearchesByGroup, CountsEachProbesOutcomeInItsGroup) {
  lineup::IdentificationReport r;
  auto mated = [](size_t photo, int rank, float mate) {
    lineup::SearchOutcome o;
    o.photo = photo, o.mated = true, o.has_face = true, o.rank = rank, o.mate_score = mate, o.top_score = mate;
    o.top_photo = 0;
    return o;
  };
  auto non_mated = [](size_t photo, float top) {
    lineup::SearchOutcome o;
    o.photo = photo, o.has_face = true, o.top_score = top, o.top_photo = 0;
    return o;
  };
  r.searches = {mated(1, 1, 0.6f), mated(2, 1, 0.4f), mated(3, 2, 0.7f), mated(4, 1, 0.9f),
                non_mated(5, 0.55f), non_mated(6, 0.3f), non_mated(7, 0.8f), non_mated(8, 0.9f)};
  const std::vector<int> group = {-1, 0, 0, 1, -1, 0, 1, 1, 0};
  auto by = lineup::SplitSearchesByGroup(r, group, {"a", "b"}, {{"t", 0.5f}});
  ASSERT_EQ(by.size(), 2u);
  const auto& a = by[0].at.at("t");
  const auto& b = by[1].at.at("t");
  EXPECT_EQ(a.mated_searches, 2);
  EXPECT_EQ(a.mated_missed, 1);  // 0.4 under the threshold
  EXPECT_EQ(b.mated_searches, 1);
  EXPECT_EQ(b.mated_missed, 1);  // mate at rank 2
  EXPECT_EQ(a.non_mated_searches, 2);
  EXPECT_EQ(a.non_mated_above, 2);
  EXPECT_EQ(b.non_mated_searches, 2);
  EXPECT_EQ(b.non_mated_above, 1);
  EXPECT_DOUBLE_EQ(a.fnir, 0.5);
  EXPECT_DOUBLE_EQ(b.fpir, 0.5);
}

// ------------------------------------------------------------ the command, real photos

// 36 LFW photos of 10 people (5 women, 5 men by groups_gender.tsv), written as an
// identities file and a groups file relative to the LFW folder.
class EvalGroupsCli : public ::testing::Test {
 protected:
  void SetUp() override {
    LINEUP_REQUIRE_DATA(lfw_, "lfw");
    auto ids = lineup::ReadIdentities(lfw_ + "/identities.tsv", "");
    auto groups = lineup::ReadPhotoLabels(lfw_ + "/groups_gender.tsv", "", "group");
    ASSERT_TRUE(ids.ok() && groups.ok());
    std::map<std::string, std::string> group_of;
    for (const auto& g : *groups) group_of[g.path] = g.identity;
    std::map<std::string, std::vector<std::string>> by_person;
    for (const auto& p : *ids) by_person[p.identity].push_back(p.path);
    std::map<std::string, int> taken;
    std::string id_text = "image_relpath\tidentity\n", group_text = "image_relpath\tgroup\n";
    for (const auto& [person, paths] : by_person) {
      if (paths.size() < 3 || paths.size() > 5) continue;
      const std::string g = group_of[paths[0]];
      if (taken[g] >= 5) continue;
      taken[g]++;
      for (const auto& p : paths) {
        id_text += p + "\t" + person + "\n";
        group_text += p + "\t" + group_of[p] + "\n";
        photos_.push_back({p, person, group_of[p]});
      }
      if (taken["female"] >= 5 && taken["male"] >= 5) break;
    }
    ids_ = tmp_.File("ids.tsv");
    groups_ = tmp_.File("groups.tsv");
    WriteText(ids_, id_text);
    WriteText(groups_, group_text);
  }
  struct Photo { std::string path, identity, group; };
  std::string lfw_, ids_, groups_;
  std::vector<Photo> photos_;
  TempDir tmp_;
};

TEST_F(EvalGroupsCli, RealPhotosGiveTheIssuesKeysAndCountsThatRecount) {
  const std::string vectors = tmp_.File("v.luvec"), report = tmp_.File("report");
  auto run = RunCli({"eval", "groups", "--root", lfw_, "--identities", ids_, "--groups", groups_, "--json",
                     "--resamples", "100", "--vectors", vectors, "--report", report});
  ASSERT_EQ(run.exit_code, 0) << run.err << run.out;
  const auto j = nlohmann::json::parse(run.out);
  for (const char* k : {"0.001", "0.0001", "1e-05"}) {
    EXPECT_TRUE(j["thresholds"].contains(k)) << k;
    EXPECT_TRUE(j["fmr_ratio"].contains(k)) << k;
    EXPECT_TRUE(j["fnmr_ratio"].contains(k)) << k;
  }
  ASSERT_TRUE(j["groups"].contains("female"));
  ASSERT_TRUE(j["groups"].contains("male"));
  EXPECT_EQ(j["bootstrap"]["resamples"], 100);
  // Pair counts from the labels alone; errors recounted from the vectors the run kept.
  auto vf = lineup::VectorFile::Read(vectors);
  ASSERT_TRUE(vf.ok()) << vf.status().ToString();
  ASSERT_EQ(vf->records.size(), photos_.size());
  std::map<std::string, const lineup::VectorRecord*> rec;
  for (const auto& r : vf->records) rec[r.photo] = &r;
  for (const std::string g : {"female", "male"}) {
    SCOPED_TRACE(g);
    const auto& jg = j["groups"][g];
    int64_t genuine = 0, impostor = 0;
    std::map<std::string, int64_t> misses, false_matches;
    for (size_t a = 0; a < photos_.size(); ++a)
      for (size_t b = a + 1; b < photos_.size(); ++b) {
        if (photos_[a].group != g || photos_[b].group != g) continue;
        const auto* ra = rec.at(lfw_ + "/" + photos_[a].path);
        const auto* rb = rec.at(lfw_ + "/" + photos_[b].path);
        float score = -INFINITY;
        if (ra->face > 0 && rb->face > 0) {
          score = 0;
          for (size_t k = 0; k < ra->vector.size(); ++k) score += ra->vector[k] * rb->vector[k];
        }
        const bool same = photos_[a].identity == photos_[b].identity;
        (same ? genuine : impostor)++;
        for (const auto& [key, t] : j["thresholds"].items()) {
          const float th = t.get<float>();
          if (same) misses[key] += !(score >= th);
          else false_matches[key] += score >= th;
        }
      }
    EXPECT_EQ(jg["genuine_pairs"].get<int64_t>(), genuine);
    EXPECT_EQ(jg["impostor_pairs"].get<int64_t>(), impostor);
    EXPECT_GT(genuine, 0);
    for (const auto& [key, t] : j["thresholds"].items()) {
      EXPECT_EQ(jg["false_non_matches"][key].get<int64_t>(), misses[key]) << key;
      EXPECT_EQ(jg["false_matches"][key].get<int64_t>(), false_matches[key]) << key;
    }
  }
  EXPECT_GT(j["cross_group"]["impostor_pairs"].get<int64_t>(), 0);
  ASSERT_FALSE(j["identification"].is_null());
  EXPECT_TRUE(j["identification"]["groups"].contains("female"));
  EXPECT_TRUE(std::ifstream(report + "/det.png").good());
  EXPECT_TRUE(std::ifstream(report + "/report.json").good());
  // Run again from the kept vectors: the same numbers, without embedding.
  auto again = RunCli({"eval", "groups", "--root", lfw_, "--identities", ids_, "--groups", groups_, "--json",
                       "--resamples", "100", "--vectors", vectors});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  const auto k = nlohmann::json::parse(again.out);
  EXPECT_EQ(k["groups"], j["groups"]);
  EXPECT_EQ(k["fmr_ratio"], j["fmr_ratio"]);
  EXPECT_LT(k["seconds"]["read_and_embed"].get<double>(), j["seconds"]["read_and_embed"].get<double>());
  // The table for people names both groups and the ratios.
  auto text = RunCli({"eval", "groups", "--root", lfw_, "--identities", ids_, "--groups", groups_, "--resamples", "20",
                      "--vectors", vectors});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_TRUE(Contains(text.out, "female")) << text.out;
  EXPECT_TRUE(Contains(text.out, "FMR ratio")) << text.out;
  EXPECT_TRUE(Contains(text.out, "cross-group")) << text.out;
}

TEST_F(EvalGroupsCli, HostileGroupsFilesAreClearErrors) {
  auto expect_bad = [&](const std::vector<std::string>& extra, const std::string& says) {
    std::vector<std::string> args = {"eval", "groups", "--root", lfw_, "--identities", ids_, "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = RunCli(args);
    SCOPED_TRACE(says);
    EXPECT_EQ(r.exit_code, 2) << r.err << r.out;
    EXPECT_TRUE(Contains(r.err, says)) << r.err;
    EXPECT_TRUE(Contains(r.out, "\"error\"")) << r.out;
  };
  expect_bad({}, "needs --groups");
  expect_bad({"--groups", tmp_.File("absent.tsv")}, "cannot open");
  WriteText(tmp_.File("rows.tsv"), "image_relpath\tgroup\n" + photos_[0].path + "\tfemale\textra\n");
  expect_bad({"--groups", tmp_.File("rows.tsv")}, "rows.tsv:2:");
  WriteText(tmp_.File("empty.tsv"), "image_relpath\tgroup\n" + photos_[0].path + "\t \n");
  expect_bad({"--groups", tmp_.File("empty.tsv")}, "empty group");
  WriteText(tmp_.File("unknown.tsv"), "image_relpath\tgroup\n" + photos_[0].path + "\tfemale\nimages/Nobody/Nobody_0001.jpg\tmale\n");
  expect_bad({"--groups", tmp_.File("unknown.tsv")}, "not in the identities file");
  WriteText(tmp_.File("binary.tsv"), std::string("\x89PNG\r\n\x1a\n\0\0\0", 11));
  expect_bad({"--groups", tmp_.File("binary.tsv")}, "binary.tsv");
  expect_bad({"--groups", groups_, "--resamples", "-3"}, "--resamples");
  expect_bad({"--groups", groups_, "--face", "nose"}, "--face");
  WriteText(tmp_.File("bad.luvec"), "not a vector file");
  expect_bad({"--groups", groups_, "--vectors", tmp_.File("bad.luvec")}, "bad.luvec");
}

}  // namespace
