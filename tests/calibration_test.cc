// Calibration (lineup/calibration.h): thresholds for target false-match rates built
// from score histograms, interpolation, the JSON file, and the shipped calibration.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "lineup/analyzer.h"
#include "lineup/calibration.h"
#include "lineup/differentials.h"
#include "test_util.h"

namespace {

using lineup::Calibration;
using lineup::HistogramBin;
using lineup::HistogramBinLow;
using lineup::kHistogramBins;
using lineup::Status;
using lineup_test::TempDir;
using lineup_test::WriteText;

bool Contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::string Fmt(const char* format, double v) {
  char b[64];
  std::snprintf(b, sizeof b, format, v);
  return b;
}

// 199,999 impostor scores in clusters: 180,000 at 0.0, 18,000 at 0.2, 1,800 at 0.3,
// 180 at 0.4, 18 at 0.5 and 1 at 0.6. The share scoring above the 0.0 cluster is
// 19,999/199,999 (just under 1e-1), above the 0.2 cluster just under 1e-2, and so on:
// the lowest threshold holding FMR 10^-k is the upper edge of the bin of cluster k-1
// (the lower edge of the next bin). Genuine: 1,000 at 0.35.
struct KnownHistograms {
  std::vector<int64_t> impostor = std::vector<int64_t>(kHistogramBins, 0);
  std::vector<int64_t> genuine = std::vector<int64_t>(kHistogramBins, 0);
  const std::vector<std::pair<float, int64_t>> clusters = {{0.0f, 180000}, {0.2f, 18000}, {0.3f, 1800},
                                                           {0.4f, 180},    {0.5f, 18},    {0.6f, 1}};
  KnownHistograms() {
    for (const auto& [score, n] : clusters) impostor[static_cast<size_t>(HistogramBin(score))] += n;
    genuine[static_cast<size_t>(HistogramBin(0.35f))] += 1000;
  }
  // The threshold for FMR 10^-k (k = 1..5).
  float DecadeThreshold(int k) const {
    return HistogramBinLow(HistogramBin(clusters[static_cast<size_t>(k - 1)].first) + 1);
  }
  // Impostors scoring at or above t.
  int64_t ImpostorsFrom(float t) const {
    int64_t n = 0;
    for (const auto& [score, count] : clusters) n += score >= t ? count : 0;
    return n;
  }
};

// The point whose FMR is `fmr` (relative tolerance), or nullptr.
const std::pair<double, float>* PointAt(const Calibration& c, double fmr) {
  for (const auto& p : c.points)
    if (std::abs(p.first - fmr) <= 1e-9 * fmr) return &p;
  return nullptr;
}

Calibration ThreePoints() {
  Calibration c;
  c.model_id = "test@1+plain";
  c.dataset = "synthetic";
  c.impostor_comparisons = 100000;
  c.genuine_comparisons = 1000;
  c.points = {{1e-2, 0.3f}, {1e-3, 0.4f}, {1e-4, 0.5f}};
  c.tmr = {0.99, 0.95, 0.9};
  return c;
}

TEST(Histogram, BinsCoverMinusOneToOne) {
  EXPECT_EQ(HistogramBin(-1.0f), 0);
  EXPECT_EQ(HistogramBin(-5.0f), 0);
  EXPECT_EQ(HistogramBin(1.0f), kHistogramBins - 1);
  EXPECT_EQ(HistogramBin(3.0f), kHistogramBins - 1);
  EXPECT_FLOAT_EQ(HistogramBinLow(0), -1.0f);
  for (float s : {-0.73f, -0.001f, 0.0f, 0.25f, 0.5f, 0.9999f}) {
    int b = HistogramBin(s);
    EXPECT_LE(HistogramBinLow(b), s + 1e-6f) << s;
    EXPECT_GT(HistogramBinLow(b + 1), s - 1e-6f) << s;
  }
}

TEST(FromHistograms, DecadeThresholdsAreKnown) {
  KnownHistograms h;
  Calibration c = Calibration::FromHistograms(h.impostor, h.genuine);
  EXPECT_EQ(c.impostor_comparisons, 199999);
  EXPECT_EQ(c.genuine_comparisons, 1000);
  ASSERT_EQ(c.tmr.size(), c.points.size());
  for (int k = 1; k <= 4; ++k) {
    double fmr = std::pow(10.0, -k);
    const auto* p = PointAt(c, fmr);
    ASSERT_NE(p, nullptr) << "no point for FMR " << fmr;
    EXPECT_FLOAT_EQ(p->second, h.DecadeThreshold(k)) << "FMR " << fmr;
  }
  // Nothing below what 199,999 comparisons can measure: a point needs at least 10
  // impostor scores above its threshold, so FMR 1e-5 (2 impostors) has none.
  EXPECT_EQ(PointAt(c, 1e-5), nullptr);
  EXPECT_GE(c.points.back().first * c.impostor_comparisons, 10.0);
  // FMR falling, threshold never falling.
  for (size_t i = 1; i < c.points.size(); ++i) {
    EXPECT_LT(c.points[i].first, c.points[i - 1].first);
    EXPECT_GE(c.points[i].second, c.points[i - 1].second);
  }
  // The genuine scores (0.35) pass the 1e-3 threshold (~0.3) but not the 1e-4 one (~0.4).
  for (size_t i = 0; i < c.points.size(); ++i) {
    if (std::abs(c.points[i].first - 1e-3) < 1e-12) {
      EXPECT_DOUBLE_EQ(c.tmr[i], 1.0);
    }
    if (std::abs(c.points[i].first - 1e-4) < 1e-12) {
      EXPECT_DOUBLE_EQ(c.tmr[i], 0.0);
    }
  }
  // The calibration holds what it promises on its own data: at each point's threshold,
  // the share of impostors at or above it is at most the point's FMR.
  for (const auto& [fmr, t] : c.points) {
    int64_t above = h.ImpostorsFrom(t);
    EXPECT_LE(static_cast<double>(above), fmr * static_cast<double>(c.impostor_comparisons)) << "FMR " << fmr;
  }
}

TEST(FromHistograms, TooFewImpostorsGivesNoPoints) {
  std::vector<int64_t> imp(kHistogramBins, 0), gen(kHistogramBins, 0);
  imp[static_cast<size_t>(HistogramBin(0.1f))] = 5;  // FMR 0.1 needs at least 10 comparisons
  Calibration c = Calibration::FromHistograms(imp, gen);
  EXPECT_TRUE(c.points.empty());
  EXPECT_FALSE(c.ThresholdFor(0.01).ok());
}

TEST(ThresholdFor, ExactAtPointsAndInterpolatedInLogFmr) {
  Calibration c = ThreePoints();
  auto at = [&](double fmr) {
    auto t = c.ThresholdFor(fmr);
    EXPECT_TRUE(t.ok()) << fmr << ": " << t.status().ToString();
    return t.ok() ? *t : std::nanf("");
  };
  EXPECT_NEAR(at(1e-2), 0.3f, 1e-6);
  EXPECT_NEAR(at(1e-3), 0.4f, 1e-6);
  EXPECT_NEAR(at(1e-4), 0.5f, 1e-6);
  EXPECT_NEAR(at(std::pow(10.0, -2.5)), 0.35f, 1e-6);
  EXPECT_NEAR(at(std::pow(10.0, -3.25)), 0.425f, 1e-6);
  // Above the highest measured rate the first threshold applies.
  EXPECT_NEAR(at(0.2), 0.3f, 1e-6);
}

TEST(ThresholdFor, OutOfRangeTargetsAreInvalid) {
  Calibration c = ThreePoints();
  for (double bad : {0.0, 1.0, -0.1, 1.5, std::nan("")}) {
    auto t = c.ThresholdFor(bad);
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_EQ(t.status().code(), Status::Code::kInvalidArgument) << bad;
  }
  auto below = c.ThresholdFor(1e-6);
  ASSERT_FALSE(below.ok());
  EXPECT_EQ(below.status().code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(Contains(below.status().message(), "1e-04")) << below.status().message();
}

TEST(ThresholdFor, MonotonicOverTheCalibratedRange) {
  KnownHistograms h;
  Calibration c = Calibration::FromHistograms(h.impostor, h.genuine);
  float prev = -2;
  for (double e = 1.0; e <= 4.25; e += 0.05) {  // measured down to 10 impostors of 199,999
    auto t = c.ThresholdFor(std::pow(10.0, -e));
    ASSERT_TRUE(t.ok()) << "FMR 1e-" << e << ": " << t.status().ToString();
    EXPECT_GE(*t, prev) << "threshold fell at FMR 1e-" << e;
    prev = *t;
  }
}

TEST(FmrAt, MonotonicDecreasingInScore) {
  for (const Calibration& c : {ThreePoints(), [] {
         KnownHistograms h;
         return Calibration::FromHistograms(h.impostor, h.genuine);
       }()}) {
    double prev = 2;
    for (float s = -1.0f; s <= 1.0f; s += 0.001f) {
      double f = c.FmrAt(s);
      ASSERT_FALSE(std::isnan(f)) << s;
      EXPECT_LE(f, prev + 1e-15) << "FMR rose at score " << s;
      EXPECT_GT(f, 0) << s;
      EXPECT_LE(f, 1) << s;
      prev = f;
    }
  }
}

TEST(FmrAt, InvertsThresholdForAndNeverGoesBelowTheLowestPoint) {
  Calibration c = ThreePoints();
  for (double fmr : {1e-2, 3e-3, 1e-3, 2e-4, 1e-4}) {
    auto t = c.ThresholdFor(fmr);
    ASSERT_TRUE(t.ok());
    EXPECT_NEAR(std::log10(c.FmrAt(*t)), std::log10(fmr), 1e-4) << fmr;
  }
  EXPECT_NEAR(c.FmrAt(0.6f), 1e-4, 1e-12);
  EXPECT_NEAR(c.FmrAt(1.0f), 1e-4, 1e-12);
  EXPECT_NEAR(c.FmrAt(-1.0f), 1.0, 1e-9);
  EXPECT_DOUBLE_EQ(Calibration{}.FmrAt(0.5f), 1.0);
}

TEST(CalibrationFile, SaveLoadRoundTrip) {
  TempDir tmp;
  KnownHistograms h;
  Calibration c = Calibration::FromHistograms(h.impostor, h.genuine);
  c.model_id = "fr_feature@test+plain";
  c.dataset = "synthetic \"quoted\" set";
  c.command = "lineup calibrate --root x";
  std::string path = tmp.File("cal.json");
  ASSERT_TRUE(c.Save(path).ok());
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  auto r = Calibration::Load(path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->model_id, c.model_id);
  EXPECT_EQ(r->dataset, c.dataset);
  EXPECT_EQ(r->command, c.command);
  EXPECT_EQ(r->impostor_comparisons, c.impostor_comparisons);
  EXPECT_EQ(r->genuine_comparisons, c.genuine_comparisons);
  ASSERT_EQ(r->points.size(), c.points.size());
  for (size_t i = 0; i < c.points.size(); ++i) {
    EXPECT_DOUBLE_EQ(r->points[i].first, c.points[i].first);
    EXPECT_EQ(r->points[i].second, c.points[i].second);
    EXPECT_DOUBLE_EQ(r->tmr[i], c.tmr[i]);
  }
  EXPECT_EQ(*r->ThresholdFor(1e-3), *c.ThresholdFor(1e-3));
  EXPECT_TRUE(r->search_curves.empty());

  // With measured searches, which come back as they were.
  c.search_curves = {{"", 100, 5000, {{0.1, 0.5f}, {0.01, 0.6f}}}, {"female", 100, 900, {{0.1, 0.55f}}}};
  ASSERT_TRUE(c.Save(path).ok());
  r = Calibration::Load(path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->search_curves.size(), 2u);
  EXPECT_EQ(r->search_curves[1].group, "female");
  EXPECT_EQ(r->search_curves[1].faces, 100);
  EXPECT_EQ(r->search_curves[1].searches, 900);
  ASSERT_EQ(r->search_curves[0].points.size(), 2u);
  EXPECT_EQ(r->search_curves[0].points[1].second, 0.6f);
}

// A calibration with per-comparison points (ThreePoints) and measured searches of 100
// faces: FPIR 10% at 0.5, 1% at 0.6, 0.1% at 0.7.
Calibration WithSearches() {
  Calibration c = ThreePoints();
  c.search_curves = {{"", 100, 50000, {{0.1, 0.5f}, {0.01, 0.6f}, {0.001, 0.7f}}}};
  return c;
}

TEST(ForSearch, UsesMeasuredSearchesOfTheLargestSizeThatFits) {
  Calibration c = WithSearches();
  auto t = c.ForSearch(0.01, 100);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_FLOAT_EQ(t->threshold, 0.6f);
  EXPECT_NEAR(t->fpir, 0.01, 1e-9);
  EXPECT_EQ(t->searched_faces, 100);
  EXPECT_FALSE(t->beyond_calibration);
  EXPECT_TRUE(Contains(t->Describe(), "measured searches of 100 faces")) << t->Describe();
  // 1,000 faces are ten searches of 100: each may hold 1 - 0.99^(1/10) ~ 0.1%.
  t = c.ForSearch(0.01, 1000);
  ASSERT_TRUE(t.ok());
  EXPECT_NEAR(t->threshold, 0.7f, 0.001);
  EXPECT_NEAR(t->fpir, 0.01, 1e-6);
  EXPECT_EQ(t->searched_faces, 100);
  // A million faces need a rate the searches did not measure: per-comparison rates,
  // here beyond what they measured too, and never below the searches' last threshold.
  t = c.ForSearch(0.01, 1000000);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->searched_faces, 1);
  EXPECT_TRUE(t->beyond_calibration);
  EXPECT_FLOAT_EQ(t->threshold, 0.7f);
  EXPECT_GT(t->fpir, 0.01);
  // A gallery smaller than any measured search: per-comparison rates.
  t = c.ForSearch(0.01, 50);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->searched_faces, 1);
  EXPECT_NEAR(t->fmr, 1 - std::pow(0.99, 1.0 / 50), 1e-9);
}

TEST(FpirAt, AgreesWithForSearchOnMeasuredSearches) {
  Calibration c = WithSearches();
  EXPECT_NEAR(c.FpirAt(0.6f, 100), 0.01, 1e-9);
  EXPECT_NEAR(c.FpirAt(0.6f, 1000), 1 - std::pow(0.99, 10), 1e-9);
  for (int64_t n : {100, 700, 1500}) {
    auto t = c.ForSearch(0.02, n);
    ASSERT_TRUE(t.ok());
    EXPECT_NEAR(c.FpirAt(t->threshold, n), 0.02, 2e-3) << n;
  }
  // Scores above what the searches measured: the per-comparison rates, but never more
  // than the searches' last point.
  EXPECT_NEAR(c.FpirAt(0.75f, 100), std::min(0.001, lineup::FpirOf(c.FmrAt(0.75f), 100)), 1e-12);
  c.points.push_back({1e-6, 0.74f});
  c.tmr.push_back(0.5);
  EXPECT_NEAR(c.FpirAt(0.75f, 100), lineup::FpirOf(1e-6, 100), 1e-12);
  // Higher scores are never more likely to be false matches.
  double prev = 1;
  for (float s = 0.3f; s < 0.72f; s += 0.01f) {
    double f = c.FpirAt(s, 100);
    EXPECT_LE(f, prev + 1e-12) << s;
    prev = f;
  }
}

TEST(ForSearch, StatesEachGroupsRateBesideTheOneItHolds) {
  Calibration c = WithSearches();
  c.search_curves.push_back({"female", 100, 20000, {{0.1, 0.55f}, {0.01, 0.65f}, {0.001, 0.75f}}});
  c.search_curves.push_back({"male", 100, 30000, {{0.1, 0.45f}, {0.01, 0.55f}, {0.001, 0.65f}}});
  auto t = c.ForSearch(0.01, 100);
  ASSERT_TRUE(t.ok());
  EXPECT_FLOAT_EQ(t->threshold, 0.6f);  // all probes' curve
  EXPECT_NEAR(t->fpir, 0.01, 1e-9);
  EXPECT_EQ(t->worst_group, "female");
  ASSERT_EQ(t->group_fpir.size(), 2u);
  for (const auto& [g, f] : t->group_fpir) {
    if (g == "female") {
      EXPECT_NEAR(f, std::sqrt(0.1 * 0.01), 1e-6);  // half way in log between 0.55 and 0.65
    } else {
      EXPECT_NEAR(f, std::sqrt(0.01 * 0.001), 1e-6);
    }
  }
  EXPECT_TRUE(Contains(t->Describe(), "female 3.2%")) << t->Describe();
  EXPECT_TRUE(Contains(t->Describe(), "male 0.32%")) << t->Describe();
  // A candidate's FPIR is all probes' too.
  EXPECT_NEAR(c.FpirAt(0.6f, 100), 0.01, 1e-9);
}

// Two groups' own pairs: "female" impostors match ten times as often as "male" ones at
// every threshold of the known clusters, and miss twice as many genuine pairs at 0.35+.
struct TwoGroups {
  Calibration c = Calibration::FromHistograms(KnownHistograms().impostor, KnownHistograms().genuine);
  TwoGroups() {
    c.model_id = "m@1+x";
    c.dataset = "lfw (identities.tsv: 13233 photos)";
    KnownHistograms male;
    std::vector<int64_t> female_imp(kHistogramBins, 0), female_gen(kHistogramBins, 0), male_gen(kHistogramBins, 0);
    // Female: the same clusters with ten times the mass above 0.0 (rates 10x).
    for (const auto& [score, n] : male.clusters) female_imp[static_cast<size_t>(HistogramBin(score))] += score > 0.05f ? 10 * n : n;
    female_gen[static_cast<size_t>(HistogramBin(0.30f))] += 200;  // 20% of 1,000 under 0.35
    female_gen[static_cast<size_t>(HistogramBin(0.60f))] += 800;
    male_gen[static_cast<size_t>(HistogramBin(0.30f))] += 100;    // 10%
    male_gen[static_cast<size_t>(HistogramBin(0.60f))] += 900;
    c.group_curves = {lineup::GroupCurve::FromHistograms("female", female_imp, female_gen),
                      lineup::GroupCurve::FromHistograms("male", male.impostor, male_gen)};
  }
};

TEST(GroupCurve, FromHistogramsGivesWithinGroupFmrAndFnmr) {
  TwoGroups g;
  const auto& female = g.c.group_curves[0];
  const auto& male = g.c.group_curves[1];
  EXPECT_EQ(male.impostor_comparisons, 199999);
  EXPECT_EQ(male.genuine_comparisons, 1000);
  KnownHistograms h;
  // Just above the male 1e-3 threshold (the 0.3 cluster) the female rate is over five times
  // higher (its points step at the same clusters, from a higher rate).
  const float t = h.DecadeThreshold(3) + 1e-4f;
  EXPECT_NEAR(male.FmrAt(t), 1e-3, 1e-4);
  EXPECT_GT(female.FmrAt(t), 5 * male.FmrAt(t));
  EXPECT_TRUE(male.MeasuredAt(t));
  EXPECT_NEAR(female.FnmrAt(0.35f), 0.2, 1e-9);
  EXPECT_NEAR(male.FnmrAt(0.35f), 0.1, 1e-9);
  EXPECT_NEAR(male.FnmrAt(0.2f), 0.0, 1e-9);
  EXPECT_NEAR(male.FnmrAt(0.7f), 1.0, 1e-9);
  // Never measured beyond ten impostor pairs: an upper bound past the last point.
  EXPECT_FALSE(male.MeasuredAt(0.9f));
  EXPECT_DOUBLE_EQ(male.FmrAt(0.9f), male.points.back().first);
}

TEST(ForComparison, StatesTheWorstGroupsWithinGroupFmr) {
  TwoGroups g;
  auto t = g.c.ForComparison(1e-3, 1);
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(t->group_fmr.size(), 2u);
  EXPECT_EQ(t->worst_fmr_group, "female");
  EXPECT_GT(t->group_fmr[0].second, t->fmr);
  EXPECT_TRUE(Contains(t->Describe(), "within-group: female")) << t->Describe();
  ASSERT_FALSE(t->differentials.is_null());
  EXPECT_TRUE(Contains(t->differentials["text"].get<std::string>(), "female faces")) << t->differentials.dump();
  // A calibration without group curves says nothing about groups.
  Calibration plain = ThreePoints();
  auto p = plain.ForComparison(1e-3, 1);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->group_fmr.empty());
  EXPECT_TRUE(p->differentials.is_null());
  EXPECT_FALSE(Contains(p->Describe(), "within-group"));
}

TEST(Differentials, TheStatementAtTheThresholdUsed) {
  TwoGroups g;
  KnownHistograms h;
  const float t = h.DecadeThreshold(3) + 1e-4f;
  auto d = lineup::DifferentialsAt(g.c, t);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->dataset, "LFW");
  EXPECT_EQ(d->fmr_highest, "female");
  EXPECT_EQ(d->fmr_lowest, "male");
  EXPECT_TRUE(d->fmr_ratio_at_threshold);
  EXPECT_NEAR(d->fmr_ratio, g.c.group_curves[0].FmrAt(t) / g.c.group_curves[1].FmrAt(t), 1e-9);
  EXPECT_EQ(d->fnmr_highest, "female");
  EXPECT_NEAR(d->fnmr_ratio, 2.0, 1e-9);
  EXPECT_TRUE(Contains(d->text, "On LFW, at this threshold, the false-match rate for female faces is")) << d->text;
  EXPECT_TRUE(Contains(d->text, "and the false non-match rate 2.0×")) << d->text;
  // Beyond what every group measured: the ratio where they still were, said so.
  auto far = lineup::DifferentialsAt(g.c, 0.95f);
  ASSERT_TRUE(far.ok());
  EXPECT_FALSE(far->fmr_ratio_at_threshold);
  EXPECT_LT(far->fmr_ratio_threshold, 0.95f);
  EXPECT_TRUE(Contains(far->text, "too rare to measure")) << far->text;
  const auto j = lineup::DifferentialsJson(*d);
  EXPECT_EQ(j["fmr_ratio_groups"][0], "female");
  EXPECT_TRUE(j["groups"].contains("male"));
  // The table: one row per calibrated FMR (1e-3 and 1e-4: 1e-5 is past this calibration)
  // and one for the decision.
  auto table = lineup::DifferentialsTable(g.c, {{t, "this decision"}});
  ASSERT_TRUE(table.ok());
  ASSERT_EQ((*table)["rows"].size(), 3u);
  EXPECT_EQ((*table)["rows"][0]["label"], "FMR 0.001 over all pairs");
  EXPECT_EQ((*table)["rows"][2]["label"], "this decision");
  // Without group curves (older files): NotFound, never a made-up statement.
  auto none = lineup::DifferentialsAt(ThreePoints(), 0.4f);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), Status::Code::kNotFound);
  EXPECT_FALSE(lineup::DifferentialsTable(ThreePoints()).ok());
}

// The table as the reports print it: the pairs per group, and per threshold and group the
// rates with their ratio to the best group; the same wording for every report.
TEST(Differentials, TheTableForReaders) {
  TwoGroups g;
  KnownHistograms h;
  const float t = h.DecadeThreshold(3) + 1e-4f;
  auto table = lineup::DifferentialsTable(g.c, {{t, "search 7"}, {0.95f, "searches 8, 9"}});
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  auto people = lineup::DifferentialsForReaders(*table);
  ASSERT_TRUE(people.ok()) << people.status().ToString();
  EXPECT_TRUE(Contains(people->about, "Measured on LFW")) << people->about;
  ASSERT_EQ(people->pairs.rows.size(), 2u);
  EXPECT_EQ(people->pairs.rows[0][0], "female");
  EXPECT_EQ(people->pairs.rows[1], (std::vector<std::string>{"male", "1,000", "199,999", people->pairs.rows[1][3]}));
  // Two groups at four thresholds (FMR 1e-3, 1e-4, and the two searches').
  ASSERT_EQ(people->rates.rows.size(), 8u);
  for (const auto& row : people->rates.rows) ASSERT_EQ(row.size(), people->rates.columns.size());
  const auto& female = people->rates.rows[4];
  const auto& male = people->rates.rows[5];
  EXPECT_EQ(female[0].rfind(Fmt("%.4f", t) + " (search 7)", 0), 0u) << female[0];
  EXPECT_EQ(male[0], "");  // the threshold is named once
  EXPECT_EQ(female[1], "female");
  EXPECT_EQ(male[1], "male");
  auto d = lineup::DifferentialsAt(g.c, t);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(female[3], Fmt("%.2f×", d->fmr_ratio));
  EXPECT_EQ(male[3], "1 (best)");
  ASSERT_EQ(d->groups.size(), 2u);
  EXPECT_EQ(female[4], Fmt("%.2f%%", 100 * d->groups[0].fnmr));
  EXPECT_EQ(male[4], Fmt("%.2f%%", 100 * d->groups[1].fnmr));
  EXPECT_EQ(female[5], "2.00×");
  EXPECT_EQ(male[5], "1 (best)");
  // Past what female pairs measure: a bound, and the ratio where both groups still were.
  const auto& far = people->rates.rows[6];
  EXPECT_TRUE(Contains(far[0], "(searches 8, 9)")) << far[0];
  EXPECT_EQ(far[2].rfind("under ", 0), 0u) << far[2];
  EXPECT_TRUE(Contains(far[3], " at ")) << far[3];
  EXPECT_TRUE(Contains(people->intervals, "lineup eval groups")) << people->intervals;
  // In HTML: escaped text, both tables.
  const std::string html = lineup::DifferentialsHtml(*people);
  EXPECT_TRUE(Contains(html, "<table class=\"differentials-rates\">")) << html;
  EXPECT_TRUE(Contains(html, "<tr><td>male</td><td>1,000</td><td>199,999</td>")) << html;
  EXPECT_TRUE(Contains(html, "FMR ÷ best group&#39;s")) << html;
  // Not a table: refused, never half printed.
  EXPECT_FALSE(lineup::DifferentialsForReaders(nlohmann::json(nullptr)).ok());
  EXPECT_FALSE(lineup::DifferentialsForReaders(nlohmann::json{{"groups", 1}, {"rows", nlohmann::json::array()}}).ok());
  nlohmann::json one = *table;
  one["groups"].erase(1);
  EXPECT_FALSE(lineup::DifferentialsForReaders(one).ok());
  nlohmann::json no_threshold = *table;
  no_threshold["rows"][0].erase("threshold");
  EXPECT_FALSE(lineup::DifferentialsForReaders(no_threshold).ok());
}

TEST(CalibrationFile, GroupCurvesRoundTripAndOlderFilesStillLoad) {
  TempDir tmp;
  TwoGroups g;
  g.c.group_curves_command = "lineup calibrate --group-curves-only";
  const std::string path = tmp.File("cal.json");
  ASSERT_TRUE(g.c.Save(path).ok());
  auto r = Calibration::Load(path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->group_curves.size(), 2u);
  EXPECT_EQ(r->group_curves_command, g.c.group_curves_command);
  for (size_t i = 0; i < 2; ++i) {
    const auto &a = r->group_curves[i], &b = g.c.group_curves[i];
    EXPECT_EQ(a.group, b.group);
    EXPECT_EQ(a.impostor_comparisons, b.impostor_comparisons);
    EXPECT_EQ(a.genuine_comparisons, b.genuine_comparisons);
    EXPECT_EQ(a.points, b.points);
    ASSERT_EQ(a.fnmr.size(), b.fnmr.size());
    for (size_t k = 0; k < a.fnmr.size(); ++k) EXPECT_NEAR(a.fnmr[k].second, b.fnmr[k].second, 1e-12);
  }
  // A file from before group curves: loads, with none.
  Calibration old = ThreePoints();
  ASSERT_TRUE(old.Save(path).ok());
  auto o = Calibration::Load(path);
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->group_curves.empty());
  const auto bytes = lineup_test::ReadBytes(path);
  EXPECT_FALSE(Contains(std::string(bytes.begin(), bytes.end()), "group_curves"));
}

TEST(CalibrationFile, HostileGroupCurvesAreErrorsNotCrashes) {
  TempDir tmp;
  const std::string head = R"({"model": "m", "dataset": "d", "impostor_comparisons": 1000, "genuine_comparisons": 10, "points": [{"fmr": 0.01, "threshold": 0.3}])";
  const std::string fnmr = R"("fnmr": [{"threshold": 0.0, "fnmr": 0.0}, {"threshold": 0.5, "fnmr": 0.1}])";
  const std::string pts = R"("points": [{"fmr": 0.1, "threshold": 0.2}, {"fmr": 0.01, "threshold": 0.3}])";
  auto curve = [&](const std::string& body) { return head + R"(, "group_curves": [)" + body + "]}"; };
  struct Case { const char* name; std::string text; };
  const std::vector<Case> cases = {
      {"not a list", head + R"(, "group_curves": 7})"},
      {"not objects", curve("1, 2")},
      {"no group", curve(R"({"impostor_comparisons": 100, "genuine_comparisons": 10, )" + pts + ", " + fnmr + "}")},
      {"empty group", curve(R"({"group": "", "impostor_comparisons": 100, "genuine_comparisons": 10, )" + pts + ", " + fnmr + "}")},
      {"group a number", curve(R"({"group": 5, "impostor_comparisons": 100, "genuine_comparisons": 10, )" + pts + ", " + fnmr + "}")},
      {"negative pairs", curve(R"({"group": "f", "impostor_comparisons": -1, "genuine_comparisons": 10, )" + pts + ", " + fnmr + "}")},
      {"no points key", curve(R"({"group": "f", "impostor_comparisons": 100, "genuine_comparisons": 10, )" + fnmr + "}")},
      {"nothing measured", curve(R"({"group": "f", "impostor_comparisons": 100, "genuine_comparisons": 10, "points": [], "fnmr": []})")},
      {"fmr rising", curve(R"({"group": "f", "impostor_comparisons": 100, "genuine_comparisons": 10, "points": [{"fmr": 0.01, "threshold": 0.2}, {"fmr": 0.1, "threshold": 0.3}], )" + fnmr + "}")},
      {"fmr of 2", curve(R"({"group": "f", "impostor_comparisons": 100, "genuine_comparisons": 10, "points": [{"fmr": 2, "threshold": 0.2}], )" + fnmr + "}")},
      {"rate below one pair", curve(R"({"group": "f", "impostor_comparisons": 10, "genuine_comparisons": 10, )" + pts + ", " + fnmr + "}")},
      {"fnmr above 1", curve(R"({"group": "f", "impostor_comparisons": 100, "genuine_comparisons": 10, )" + pts + R"(, "fnmr": [{"threshold": 0.1, "fnmr": 1.5}]})")},
      {"fnmr falling", curve(R"({"group": "f", "impostor_comparisons": 100, "genuine_comparisons": 10, )" + pts + R"(, "fnmr": [{"threshold": 0.1, "fnmr": 0.5}, {"threshold": 0.2, "fnmr": 0.1}]})")},
      {"fnmr thresholds repeated", curve(R"({"group": "f", "impostor_comparisons": 100, "genuine_comparisons": 10, )" + pts + R"(, "fnmr": [{"threshold": 0.1, "fnmr": 0.1}, {"threshold": 0.1, "fnmr": 0.2}]})")},
      {"group twice", curve(R"({"group": "f", "impostor_comparisons": 100, "genuine_comparisons": 10, )" + pts + ", " + fnmr + R"(}, {"group": "f", "impostor_comparisons": 100, "genuine_comparisons": 10, )" + pts + ", " + fnmr + "}")},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string path = tmp.File("hostile.json");
    WriteText(path, c.text);
    auto r = Calibration::Load(path);
    ASSERT_FALSE(r.ok()) << "accepted: " << c.text;
    EXPECT_EQ(r.status().code(), Status::Code::kCorrupt) << r.status().ToString();
    EXPECT_TRUE(Contains(r.status().message(), path)) << r.status().message();
  }
  const std::string path = tmp.File("good.json");
  WriteText(path, curve(R"({"group": "f", "impostor_comparisons": 100, "genuine_comparisons": 10, )" + pts + ", " + fnmr + "}"));
  auto ok = Calibration::Load(path);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->group_curves.size(), 1u);
}

// Unit vectors in 16 dimensions: identities of two photos each (two close vectors),
// group 0 drawn near one direction (look-alikes), group 1 spread.
struct LabelledVectors {
  int n = 0, dim = 16;
  std::vector<float> v;
  std::vector<int> identity, group;
  explicit LabelledVectors(int people) {
    std::mt19937 rng(7);
    std::normal_distribution<float> g(0, 1);
    for (int p = 0; p < people; ++p) {
      std::vector<float> base(static_cast<size_t>(dim));
      for (int d = 0; d < dim; ++d) base[static_cast<size_t>(d)] = g(rng) + (p % 2 == 0 && d == 0 ? 3.0f : 0.0f);
      for (int photo = 0; photo < 2; ++photo) {
        float norm = 0;
        std::vector<float> x(base);
        for (auto& e : x) e += 0.05f * g(rng), norm += e * e;
        for (auto& e : x) v.push_back(e / std::sqrt(norm));
        identity.push_back(p);
        group.push_back(p % 2);
        ++n;
      }
    }
  }
};

TEST(MeasureSearchCurves, MeasuresRealSearchesWithoutTheProbesOwnPhotos) {
  LabelledVectors lv(600);
  auto curves = lineup::MeasureSearchCurves(lv.v.data(), lv.n, lv.dim, lv.identity, {}, {}, {10, 100, 1198});
  ASSERT_EQ(curves.size(), 3u);
  // Each of 1,200 probes searches the 1,198 photos of others: 119 blocks of 10, 11 of 100.
  EXPECT_EQ(curves[0].faces, 10);
  EXPECT_EQ(curves[0].searches, 1200 * 119);
  EXPECT_EQ(curves[1].searches, 1200 * 11);
  EXPECT_EQ(curves[2].searches, 1200);
  // The probe's own second photo (similarity ~0.99) never counts as a false match.
  for (const auto& c : curves) EXPECT_LT(c.points.back().second, 0.98f);
  // Larger searches need higher thresholds for the same FPIR.
  for (const auto& [rate, th] : curves[1].points)
    for (const auto& [rate10, th10] : curves[0].points)
      if (std::abs(rate - rate10) < 1e-12) {
        EXPECT_GT(th, th10) << rate;
      }
  // A search of all 1,198 others, recounted by brute force: at each point's threshold at
  // most that share of probes has a best score at or above it, and one histogram bin
  // lower more than that share does.
  std::vector<float> best;
  for (int r = 0; r < lv.n; ++r) {
    float b = -1;
    for (int c = 0; c < lv.n; ++c) {
      if (lv.identity[static_cast<size_t>(c)] == lv.identity[static_cast<size_t>(r)]) continue;
      float dot = 0;
      for (int d = 0; d < lv.dim; ++d)
        dot += lv.v[static_cast<size_t>(r * lv.dim + d)] * lv.v[static_cast<size_t>(c * lv.dim + d)];
      b = std::max(b, dot);
    }
    best.push_back(b);
  }
  auto share_from = [&](float t) {
    int64_t k = 0;
    for (float b : best) k += HistogramBinLow(HistogramBin(b)) >= t ? 1 : 0;
    return static_cast<double>(k) / static_cast<double>(best.size());
  };
  ASSERT_FALSE(curves[2].points.empty());
  for (const auto& [rate, th] : curves[2].points) {
    EXPECT_LE(share_from(th), rate + 1e-12) << rate;
    EXPECT_GT(share_from(HistogramBinLow(HistogramBin(th) - 1)), rate) << rate;
  }
  // Same input, same curves.
  auto again = lineup::MeasureSearchCurves(lv.v.data(), lv.n, lv.dim, lv.identity, {}, {}, {10, 100, 1198});
  ASSERT_EQ(again.size(), curves.size());
  for (size_t i = 0; i < curves.size(); ++i) EXPECT_EQ(again[i].points, curves[i].points);
}

TEST(MeasureSearchCurves, LookAlikeGroupsGetTheirOwnHigherCurves) {
  LabelledVectors lv(600);
  auto curves = lineup::MeasureSearchCurves(lv.v.data(), lv.n, lv.dim, lv.identity, lv.group, {"alike", "spread"}, {100});
  ASSERT_EQ(curves.size(), 3u);
  EXPECT_EQ(curves[0].group, "");
  EXPECT_EQ(curves[1].group, "alike");
  EXPECT_EQ(curves[2].group, "spread");
  EXPECT_EQ(curves[1].searches + curves[2].searches, curves[0].searches);
  // Probes from the look-alike half meet closer strangers.
  EXPECT_GT(curves[1].points[2].second, curves[2].points[2].second);
  Calibration c = ThreePoints();
  c.search_curves = curves;
  auto t = c.ForSearch(0.05, 100);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->worst_group, "alike");
  EXPECT_EQ(t->group_fpir.size(), 2u);
  // Bad input gives no curves rather than a crash.
  EXPECT_TRUE(lineup::MeasureSearchCurves(lv.v.data(), 1, lv.dim, {0}, {}, {}, {10}).empty());
  EXPECT_TRUE(lineup::MeasureSearchCurves(lv.v.data(), lv.n, lv.dim, {0, 1}, {}, {}, {10}).empty());
}

TEST(CalibrationFile, SaveToMissingFolderIsAnError) {
  TempDir tmp;
  EXPECT_FALSE(ThreePoints().Save(tmp.File("no/such/dir/cal.json")).ok());
}

TEST(CalibrationFile, HostileFilesAreErrorsNotCrashes) {
  TempDir tmp;
  const std::string good_points = R"("points": [{"fmr": 0.01, "threshold": 0.3}, {"fmr": 0.001, "threshold": 0.4}])";
  const std::string head = R"("model": "m", "dataset": "d", "impostor_comparisons": 1000, "genuine_comparisons": 10)";
  struct Case { const char* name; std::string text; };
  const std::vector<Case> cases = {
      {"empty", ""},
      {"not json", "this is not JSON at all"},
      {"truncated json", "{\"model\": \"m\", \"points\": [{\"fmr\": 0.0"},
      {"array", "[1, 2, 3]"},
      {"missing model", R"({"dataset": "d", "impostor_comparisons": 1000, "genuine_comparisons": 10, )" + good_points + "}"},
      {"missing points", "{" + head + "}"},
      {"missing impostors", R"({"model": "m", "dataset": "d", "genuine_comparisons": 10, )" + good_points + "}"},
      {"points not an array", "{" + head + R"(, "points": {"fmr": 0.01, "threshold": 0.3}})"},
      {"point missing threshold", "{" + head + R"(, "points": [{"fmr": 0.01}]})"},
      {"string threshold", "{" + head + R"(, "points": [{"fmr": 0.01, "threshold": "high"}]})"},
      {"fmr rising", "{" + head + R"(, "points": [{"fmr": 0.001, "threshold": 0.3}, {"fmr": 0.01, "threshold": 0.4}]})"},
      {"threshold falling", "{" + head + R"(, "points": [{"fmr": 0.01, "threshold": 0.4}, {"fmr": 0.001, "threshold": 0.3}]})"},
      {"repeated fmr", "{" + head + R"(, "points": [{"fmr": 0.01, "threshold": 0.3}, {"fmr": 0.01, "threshold": 0.4}]})"},
      {"no points", "{" + head + R"(, "points": []})"},
      {"huge impostor count", R"({"model": "m", "dataset": "d", "impostor_comparisons": 1e300, "genuine_comparisons": 10, )" + good_points + "}"},
      {"negative impostors", R"({"model": "m", "dataset": "d", "impostor_comparisons": -5, "genuine_comparisons": 10, )" + good_points + "}"},
      {"zero impostors", R"({"model": "m", "dataset": "d", "impostor_comparisons": 0, "genuine_comparisons": 0, )" + good_points + "}"},
      {"model not a string", R"({"model": 7, "dataset": "d", "impostor_comparisons": 1000, "genuine_comparisons": 10, )" + good_points + "}"},
      {"search curve not a list", "{" + head + ", " + good_points + R"(, "search_curves": 5})"},
      {"search curve without faces", "{" + head + ", " + good_points +
                                         R"(, "search_curves": [{"group": "", "searches": 9, "points": [{"fpir": 0.1, "threshold": 0.5}]}]})"},
      {"search curve of zero faces", "{" + head + ", " + good_points +
                                         R"(, "search_curves": [{"group": "", "faces": 0, "searches": 9, "points": [{"fpir": 0.1, "threshold": 0.5}]}]})"},
      {"search curve without points", "{" + head + ", " + good_points +
                                          R"(, "search_curves": [{"group": "", "faces": 10, "searches": 9, "points": []}]})"},
      {"search curve rate of 1", "{" + head + ", " + good_points +
                                     R"(, "search_curves": [{"group": "", "faces": 10, "searches": 9, "points": [{"fpir": 1, "threshold": 0.5}]}]})"},
      {"search curve threshold falling", "{" + head + ", " + good_points +
                                             R"(, "search_curves": [{"group": "", "faces": 10, "searches": 9, "points": [{"fpir": 0.1, "threshold": 0.5}, {"fpir": 0.01, "threshold": 0.4}]}]})"},
      {"search curve group not a string", "{" + head + ", " + good_points +
                                              R"(, "search_curves": [{"group": 3, "faces": 10, "searches": 9, "points": [{"fpir": 0.1, "threshold": 0.5}]}]})"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    std::string path = tmp.File("hostile.json");
    WriteText(path, c.text);
    auto r = Calibration::Load(path);
    ASSERT_FALSE(r.ok()) << "accepted: " << c.text;
    EXPECT_EQ(r.status().code(), Status::Code::kCorrupt) << r.status().ToString();
    EXPECT_TRUE(Contains(r.status().message(), path)) << r.status().message();
  }
  // The well-formed version of the same file loads.
  std::string path = tmp.File("good.json");
  WriteText(path, "{" + head + ", " + good_points + "}");
  auto ok = Calibration::Load(path);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->points.size(), 2u);
}

TEST(CalibrationFile, MissingFileIsNotFoundAndSaysHowToMakeIt) {
  TempDir tmp;
  auto r = Calibration::Load(tmp.File("absent.json"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kNotFound);
  EXPECT_TRUE(Contains(r.status().message(), "make calibrate")) << r.status().message();
}

TEST(CalibrationFile, PathForNamesTheModelId) {
  lineup::EmbeddingModel m{"fr_feature", "some-repo@1.2", "flip", 512};
  std::string p = Calibration::PathFor(m);
  EXPECT_TRUE(Contains(p, "fr_feature")) << p;
  EXPECT_TRUE(Contains(p, "flip")) << p;
  EXPECT_EQ(p.substr(p.size() - 5), ".json");
  // No folder is made out of the model's version.
  EXPECT_FALSE(Contains(p.substr(p.rfind('/') + 1), "@")) << p;
}

// The calibration shipped in calibration/ for the default embedder. It is produced by
// `make calibrate`; until it is committed this test fails on purpose.
TEST(ShippedCalibration, DefaultModelHasDecadePointsWithRisingThresholds) {
  auto analyzer = lineup::FaceAnalyzer::Create(lineup::AnalyzerOptions{});
  ASSERT_TRUE(analyzer.ok()) << analyzer.status().ToString();
  const lineup::EmbeddingModel& model = (*analyzer)->Model();
  auto c = Calibration::ForModel(model);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->model_id, model.Id());
  EXPECT_FALSE(c->dataset.empty());
  EXPECT_GE(c->impostor_comparisons, 100000) << "FMR 1e-5 needs at least 1e5 impostor comparisons";
  EXPECT_GT(c->genuine_comparisons, 0);
  float prev = -2;
  for (double fmr : {1e-2, 1e-3, 1e-4, 1e-5}) {
    const auto* p = PointAt(*c, fmr);
    ASSERT_NE(p, nullptr) << "no point for FMR " << fmr;
    EXPECT_GT(p->second, prev) << "threshold at FMR " << fmr << " is not above the previous one";
    EXPECT_GT(p->second, -1.0f);
    EXPECT_LT(p->second, 1.0f);
    prev = p->second;
    auto t = c->ThresholdFor(fmr);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    EXPECT_NEAR(*t, p->second, 1e-5);
  }
  // Measured searches, for all probes and per group of LFW's groups_gender.tsv: larger
  // searches need higher thresholds, and a search of LFW's 1:N gallery size is covered.
  for (const std::string group : {"", "female", "male"}) {
    float prev_threshold = -2;
    int sizes = 0;
    for (const auto& curve : c->search_curves) {
      if (curve.group != group) continue;
      ++sizes;
      const auto p = std::find_if(curve.points.begin(), curve.points.end(),
                                   [](const auto& pt) { return std::abs(pt.first - 0.01) < 1e-9; });
      ASSERT_NE(p, curve.points.end()) << group << " " << curve.faces;
      EXPECT_GT(p->second, prev_threshold) << group << " " << curve.faces;
      prev_threshold = p->second;
    }
    EXPECT_GE(sizes, 7) << group;
  }
  auto t = c->ForSearch(0.01, 4909);
  ASSERT_TRUE(t.ok());
  EXPECT_GT(t->searched_faces, 1);
  EXPECT_EQ(t->group_fpir.size(), 2u);
}

}  // namespace
