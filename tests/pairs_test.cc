// Labelled pairs and verification scoring: ReadLfwPairs, ReadPairsTsv and
// EvaluateVerification (lineup/evaluation.h).
#include <cmath>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "lineup/evaluation.h"
#include "test_util.h"

namespace {

using lineup::EvaluateVerification;
using lineup::LabelledPair;
using lineup::ReadLfwPairs;
using lineup::ReadPairsTsv;
using lineup::Status;
using lineup_test::TempDir;
using lineup_test::WriteText;

bool Contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

class PairsFileTest : public ::testing::Test {
 protected:
  // Writes `text` to a scratch file and returns its path.
  std::string Write(const std::string& name, const std::string& text) {
    std::string path = tmp_.File(name);
    WriteText(path, text);
    return path;
  }
  // Expects InvalidArgument whose message names the file and `where` (e.g. ":3:").
  template <typename R>
  void ExpectBad(const R& r, const std::string& path, const std::string& where) {
    ASSERT_FALSE(r.ok()) << "accepted a bad file; expected an error at " << where;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << r.status().ToString();
    EXPECT_TRUE(Contains(r.status().message(), path + where)) << r.status().message();
  }
  TempDir tmp_;
};

// ------------------------------------------------------------- LFW pairs.txt

TEST_F(PairsFileTest, LfwSmallFileParses) {
  std::string f = Write("pairs.txt",
                        "2 1\n"
                        "Alice_A\t1\t4\n"
                        "Bob_B\t2\tDan_D\t1\n"
                        "Carol_C 3 5\n"
                        "Eve_E 1 Fay_F 10\n");
  auto r = ReadLfwPairs(f, "/lfw");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 4u);
  EXPECT_EQ((*r)[0].a, "/lfw/Alice_A/Alice_A_0001.jpg");
  EXPECT_EQ((*r)[0].b, "/lfw/Alice_A/Alice_A_0004.jpg");
  EXPECT_TRUE((*r)[0].same);
  EXPECT_EQ((*r)[0].fold, 0);
  EXPECT_EQ((*r)[1].a, "/lfw/Bob_B/Bob_B_0002.jpg");
  EXPECT_EQ((*r)[1].b, "/lfw/Dan_D/Dan_D_0001.jpg");
  EXPECT_FALSE((*r)[1].same);
  EXPECT_EQ((*r)[1].fold, 0);
  EXPECT_TRUE((*r)[2].same);
  EXPECT_EQ((*r)[2].fold, 1);
  EXPECT_EQ((*r)[3].b, "/lfw/Fay_F/Fay_F_0010.jpg");
  EXPECT_FALSE((*r)[3].same);
  EXPECT_EQ((*r)[3].fold, 1);
}

TEST_F(PairsFileTest, LfwCrlfLinesParseWithoutCarriageReturns) {
  std::string f = Write("crlf.txt", "1 1\r\nAlice_A\t1\t2\r\nBob_B\t1\tCarl_C\t3\r\n");
  auto r = ReadLfwPairs(f, "/lfw");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 2u);
  for (const auto& p : *r) {
    EXPECT_FALSE(Contains(p.a, "\r")) << p.a;
    EXPECT_FALSE(Contains(p.b, "\r")) << p.b;
  }
  EXPECT_EQ((*r)[1].b, "/lfw/Carl_C/Carl_C_0003.jpg");
}

TEST_F(PairsFileTest, LfwMissingFileIsNotFound) {
  auto r = ReadLfwPairs(tmp_.File("nope.txt"), "/lfw");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kNotFound);
}

TEST_F(PairsFileTest, LfwEmptyFile) {
  std::string f = Write("empty.txt", "");
  auto r = ReadLfwPairs(f, "/lfw");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(Contains(r.status().message(), f)) << r.status().message();
}

TEST_F(PairsFileTest, LfwWrongHeader) {
  for (const char* header : {"10", "ten 300", "10 300 7", "0 300", "10 -3", "Alice_A 1 2"}) {
    SCOPED_TRACE(header);
    std::string f = Write("header.txt", std::string(header) + "\nAlice_A 1 2\nBob_B 1 Carl_C 1\n");
    ExpectBad(ReadLfwPairs(f, "/lfw"), f, ":1:");
  }
}

TEST_F(PairsFileTest, LfwShortFile) {
  std::string f = Write("short.txt", "1 2\nAlice_A 1 2\nBob_B 1 3\nCarl_C 1 Dan_D 1\n");
  ExpectBad(ReadLfwPairs(f, "/lfw"), f, ":5:");
}

TEST_F(PairsFileTest, LfwNonNumericIndices) {
  std::string f = Write("nonnum.txt", "1 2\nAlice_A 1 2\nBob_B x 3\nCarl_C 1 Dan_D 1\nEve_E 1 Fay_F 1\n");
  ExpectBad(ReadLfwPairs(f, "/lfw"), f, ":3:");
  std::string g = Write("nonnum2.txt", "1 1\nAlice_A 1 2\nBob_B 1 Carl_C 1e3\n");
  ExpectBad(ReadLfwPairs(g, "/lfw"), g, ":3:");
  std::string z = Write("zero.txt", "1 1\nAlice_A 0 2\nBob_B 1 Carl_C 1\n");
  ExpectBad(ReadLfwPairs(z, "/lfw"), z, ":2:");
  std::string neg = Write("neg.txt", "1 1\nAlice_A -1 2\nBob_B 1 Carl_C 1\n");
  ExpectBad(ReadLfwPairs(neg, "/lfw"), neg, ":2:");
}

TEST_F(PairsFileTest, LfwNamesWithSlashAreRefused) {
  std::string f = Write("slash.txt", "1 1\n../../etc 1 2\nBob_B 1 Carl_C 1\n");
  ExpectBad(ReadLfwPairs(f, "/lfw"), f, ":2:");
  std::string g = Write("slash2.txt", "1 1\nAlice_A 1 2\nBob_B 1 x/../Carl_C 1\n");
  ExpectBad(ReadLfwPairs(g, "/lfw"), g, ":3:");
  std::string h = Write("dots.txt", "1 1\n.. 1 2\nBob_B 1 Carl_C 1\n");
  ExpectBad(ReadLfwPairs(h, "/lfw"), h, ":2:");
}

TEST_F(PairsFileTest, LfwLineOfTheWrongKind) {
  // A mismatched line where a matched one belongs, and the other way round.
  std::string f = Write("kind.txt", "1 1\nBob_B 1 Carl_C 1\nAlice_A 1 2\n");
  ExpectBad(ReadLfwPairs(f, "/lfw"), f, ":2:");
  std::string g = Write("kind2.txt", "1 1\nAlice_A 1 2\nAlice_A 1 3\n");
  ExpectBad(ReadLfwPairs(g, "/lfw"), g, ":3:");
  std::string h = Write("blank.txt", "1 1\nAlice_A 1 2\n\nBob_B 1 Carl_C 1\n");
  ExpectBad(ReadLfwPairs(h, "/lfw"), h, ":3:");
}

TEST(PairsRealFile, LfwPairsTxtHas6000PairsIn10Folds) {
  std::string lfw;
  LINEUP_REQUIRE_DATA(lfw, "lfw");
  auto r = ReadLfwPairs(lfw + "/pairs.txt", lfw + "/images");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 6000u);
  std::vector<int> per_fold(10, 0), same_per_fold(10, 0);
  for (const auto& p : *r) {
    ASSERT_GE(p.fold, 0);
    ASSERT_LE(p.fold, 9);
    per_fold[static_cast<size_t>(p.fold)]++;
    same_per_fold[static_cast<size_t>(p.fold)] += p.same;
  }
  for (int f = 0; f < 10; ++f) {
    EXPECT_EQ(per_fold[static_cast<size_t>(f)], 600) << "fold " << f;
    EXPECT_EQ(same_per_fold[static_cast<size_t>(f)], 300) << "fold " << f;
  }
  EXPECT_EQ((*r)[0].a, lfw + "/images/Abel_Pacheco/Abel_Pacheco_0001.jpg");
  EXPECT_EQ((*r)[0].b, lfw + "/images/Abel_Pacheco/Abel_Pacheco_0004.jpg");
  EXPECT_TRUE((*r)[0].same);
  EXPECT_FALSE((*r)[300].same);
  EXPECT_EQ((*r)[300].a, lfw + "/images/Abdel_Madi_Shabneh/Abdel_Madi_Shabneh_0001.jpg");
  EXPECT_EQ((*r)[300].b, lfw + "/images/Dean_Barker/Dean_Barker_0001.jpg");
  EXPECT_EQ(r->back().fold, 9);
  for (size_t i = 0; i < r->size(); i += 97) {
    EXPECT_TRUE(std::filesystem::exists((*r)[i].a)) << (*r)[i].a;
    EXPECT_TRUE(std::filesystem::exists((*r)[i].b)) << (*r)[i].b;
  }
}

// ------------------------------------------------------------------ pairs TSV

TEST_F(PairsFileTest, TsvParsesLabelsPathsAndFolds) {
  std::string f = Write("pairs.tsv",
                        "path_a\tpath_b\tsame\tfold\n"
                        "# a comment\n"
                        "\n"
                        "a.jpg\tsub/b.jpg\t1\t3\n"
                        "/abs/c.jpg\td.jpg\tfalse\t0\n"
                        "e.jpg\tf.jpg\tsame\t9\n"
                        "g.jpg\th.jpg\tdifferent\t9\n"
                        "i.jpg\tj.jpg\ttrue\t1\n"
                        "k.jpg\tl.jpg\t0\t2\n");
  auto r = ReadPairsTsv(f);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 6u);
  EXPECT_EQ((*r)[0].a, tmp_.path() + "/a.jpg");
  EXPECT_EQ((*r)[0].b, tmp_.path() + "/sub/b.jpg");
  EXPECT_TRUE((*r)[0].same);
  EXPECT_EQ((*r)[0].fold, 3);
  EXPECT_EQ((*r)[1].a, "/abs/c.jpg");
  EXPECT_FALSE((*r)[1].same);
  EXPECT_EQ((*r)[1].fold, 0);
  EXPECT_TRUE((*r)[2].same);
  EXPECT_FALSE((*r)[3].same);
  EXPECT_TRUE((*r)[4].same);
  EXPECT_FALSE((*r)[5].same);
  EXPECT_EQ((*r)[5].fold, 2);
}

TEST_F(PairsFileTest, TsvWithoutFoldsSplitsTenByPosition) {
  std::string text;
  for (int i = 0; i < 20; ++i) text.append("a.jpg\tb.jpg\t").append(i % 2 ? "1" : "0").append("\n");
  auto r = ReadPairsTsv(Write("nofold.tsv", text));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 20u);
  for (size_t i = 0; i < 20; ++i) EXPECT_EQ((*r)[i].fold, static_cast<int>(i / 2)) << "pair " << i;
}

TEST_F(PairsFileTest, TsvCrlfLines) {
  auto r = ReadPairsTsv(Write("crlf.tsv", "a.jpg\tb.jpg\t1\t4\r\nc.jpg\td.jpg\t0\t5\r\n"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].fold, 4);
  EXPECT_FALSE(Contains((*r)[1].b, "\r"));
  EXPECT_FALSE((*r)[1].same);
}

TEST_F(PairsFileTest, TsvMissingFileIsNotFound) {
  auto r = ReadPairsTsv(tmp_.File("nope.tsv"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kNotFound);
}

TEST_F(PairsFileTest, TsvEmptyOrHeaderOnlyHasNoPairs) {
  for (const char* text : {"", "path_a\tpath_b\tsame\n", "# nothing\n\n"}) {
    SCOPED_TRACE(text);
    std::string f = Write("empty.tsv", text);
    auto r = ReadPairsTsv(f);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
    EXPECT_TRUE(Contains(r.status().message(), f)) << r.status().message();
  }
}

TEST_F(PairsFileTest, TsvWrongColumnCount) {
  std::string f = Write("cols.tsv", "a.jpg\tb.jpg\t1\nc.jpg\td.jpg\n");
  ExpectBad(ReadPairsTsv(f), f, ":2:");
  std::string g = Write("cols5.tsv", "a.jpg\tb.jpg\t1\t0\textra\n");
  ExpectBad(ReadPairsTsv(g), g, ":1:");
  std::string spaces = Write("spaces.tsv", "a.jpg b.jpg 1\n");
  ExpectBad(ReadPairsTsv(spaces), spaces, ":1:");
}

TEST_F(PairsFileTest, TsvBadSameColumn) {
  for (const char* v : {"yes", "2", "", "TRUE!", "-1"}) {
    SCOPED_TRACE(v);
    std::string f = Write("same.tsv", std::string("a.jpg\tb.jpg\t1\nc.jpg\td.jpg\t") + v + "\n");
    ExpectBad(ReadPairsTsv(f), f, ":2:");
  }
}

TEST_F(PairsFileTest, TsvBadFold) {
  for (const char* v : {"10", "-1", "x", "1.5", " 3"}) {
    SCOPED_TRACE(v);
    std::string f = Write("fold.tsv", std::string("# header comment\na.jpg\tb.jpg\t1\t") + v + "\n");
    ExpectBad(ReadPairsTsv(f), f, ":2:");
  }
}

TEST_F(PairsFileTest, TsvEmptyPath) {
  std::string f = Write("emptypath.tsv", "a.jpg\tb.jpg\t1\n\tb.jpg\t0\n");
  ExpectBad(ReadPairsTsv(f), f, ":2:");
}

// ------------------------------------------------------- EvaluateVerification

// 10 folds of n genuine and n impostor pairs; scores from the two functions.
struct Synthetic {
  std::vector<LabelledPair> pairs;
  std::vector<float> scores;
};
template <typename G, typename I>
Synthetic MakeSet(int n, G genuine, I impostor) {
  Synthetic s;
  for (int f = 0; f < 10; ++f)
    for (int k = 0; k < 2 * n; ++k) {
      bool same = k < n;
      s.pairs.push_back({"a", "b", same, f});
      s.scores.push_back(same ? genuine(f, k) : impostor(f, k - n));
    }
  return s;
}

TEST(EvaluateVerification, PerfectlySeparatedScores) {
  auto s = MakeSet(30, [](int, int k) { return 0.5f + 0.01f * static_cast<float>(k); },
                   [](int, int k) { return -0.3f + 0.01f * static_cast<float>(k); });
  const float max_impostor = -0.3f + 0.01f * 29.0f, min_genuine = 0.5f;
  auto r = EvaluateVerification(s.pairs, s.scores);
  EXPECT_EQ(r.pairs, 600);
  EXPECT_EQ(r.genuine, 300);
  EXPECT_EQ(r.impostor, 300);
  EXPECT_EQ(r.pairs_without_face, 0);
  ASSERT_EQ(r.fold_accuracy.size(), 10u);
  ASSERT_EQ(r.fold_threshold.size(), 10u);
  for (int f = 0; f < 10; ++f) {
    EXPECT_DOUBLE_EQ(r.fold_accuracy[static_cast<size_t>(f)], 1.0) << "fold " << f;
    EXPECT_GT(r.fold_threshold[static_cast<size_t>(f)], max_impostor);
    EXPECT_LE(r.fold_threshold[static_cast<size_t>(f)], min_genuine);
  }
  EXPECT_DOUBLE_EQ(r.accuracy_mean, 1.0);
  EXPECT_DOUBLE_EQ(r.accuracy_std, 0.0);
  EXPECT_NEAR(r.auc, 1.0, 1e-12);
  EXPECT_NEAR(r.eer, 0.0, 1e-12) << "no threshold makes any error, so the equal error rate is 0";
  ASSERT_TRUE(r.tar_at_far.count("0.01"));
  ASSERT_TRUE(r.tar_at_far.count("0.001"));
  EXPECT_DOUBLE_EQ(r.tar_at_far["0.01"], 1.0);
  EXPECT_DOUBLE_EQ(r.tar_at_far["0.001"], 1.0);
  EXPECT_GT(r.threshold_at_far["0.001"], max_impostor);
  EXPECT_LE(r.threshold_at_far["0.001"], min_genuine);
  // The ROC runs from (0,0) to (1,1) with FAR and TAR never falling.
  ASSERT_GE(r.roc.size(), 2u);
  EXPECT_DOUBLE_EQ(r.roc.front().far, 0);
  EXPECT_DOUBLE_EQ(r.roc.front().tar, 0);
  EXPECT_DOUBLE_EQ(r.roc.back().far, 1);
  EXPECT_DOUBLE_EQ(r.roc.back().tar, 1);
  for (size_t k = 1; k < r.roc.size(); ++k) {
    EXPECT_GE(r.roc[k].far, r.roc[k - 1].far);
    EXPECT_GE(r.roc[k].tar, r.roc[k - 1].tar);
    EXPECT_LE(r.roc[k].threshold, r.roc[k - 1].threshold);
  }
}

// Scores outside [-1, 1] (normalised ones, as `lineup eval groups --score-norm` makes):
// the curve still ends, and accuracy is as for any scale. Before, a list that ran out
// stood at -10 and impostors under -10 were never passed: the curve grew without end.
TEST(EvaluateVerification, ScoresFarBelowMinusOneEndTheCurve) {
  auto s = MakeSet(30, [](int, int k) { return 5.0f + 0.1f * static_cast<float>(k); },
                   [](int, int k) { return -40.0f + 0.1f * static_cast<float>(k); });
  auto r = EvaluateVerification(s.pairs, s.scores);
  EXPECT_DOUBLE_EQ(r.accuracy_mean, 1.0);
  EXPECT_DOUBLE_EQ(r.auc, 1.0);
  EXPECT_LE(r.roc.size(), 602u);
  EXPECT_DOUBLE_EQ(r.roc.back().far, 1.0);
  EXPECT_DOUBLE_EQ(r.roc.back().tar, 1.0);
}

TEST(EvaluateVerification, InterleavedScoresGiveKnownAucAndEer) {
  // Genuine 0.1 0.3 0.5 0.7 0.9, impostor 0.0 0.2 0.4 0.6 0.8: a genuine pair outscores
  // an impostor in 15 of 25 comparisons (AUC 0.6); accepting scores >= 0.5 rejects 2
  // of 5 genuine and accepts 2 of 5 impostors, so FAR = FRR = 0.4 (the EER).
  std::vector<LabelledPair> pairs;
  std::vector<float> scores;
  for (int i = 0; i < 5; ++i) {
    pairs.push_back({"a", "b", true, i});
    scores.push_back(0.1f + 0.2f * static_cast<float>(i));
    pairs.push_back({"c", "d", false, 5 + i});
    scores.push_back(0.2f * static_cast<float>(i));
  }
  auto r = EvaluateVerification(pairs, scores);
  EXPECT_NEAR(r.auc, 0.6, 1e-9);
  EXPECT_NEAR(r.eer, 0.4, 1e-9);
  EXPECT_EQ(r.genuine, 5);
  EXPECT_EQ(r.impostor, 5);
}

TEST(EvaluateVerification, TarAtFarCountsImpostorsExactly) {
  // 1,000 impostors at 0.000 .. 0.999. FAR 1e-2 admits the top 10 (>= 0.990), FAR
  // 1e-3 only the top one (0.999). Genuine: 100 above everything, 100 at 0.9935
  // (admitted at 1e-2 only), 200 at 0.5.
  std::vector<LabelledPair> pairs;
  std::vector<float> scores;
  for (int i = 0; i < 1000; ++i) {
    pairs.push_back({"a", "b", false, i % 10});
    scores.push_back(static_cast<float>(i) / 1000.0f);
  }
  for (int i = 0; i < 400; ++i) {
    pairs.push_back({"a", "c", true, i % 10});
    scores.push_back(i < 100 ? 0.9995f : i < 200 ? 0.9935f : 0.5f);
  }
  auto r = EvaluateVerification(pairs, scores);
  EXPECT_DOUBLE_EQ(r.tar_at_far["0.01"], 0.5);
  EXPECT_DOUBLE_EQ(r.tar_at_far["0.001"], 0.25);
  EXPECT_GT(r.threshold_at_far["0.01"], 0.989f);
  EXPECT_LE(r.threshold_at_far["0.01"], 0.990f);
  EXPECT_GT(r.threshold_at_far["0.001"], 0.998f);
  EXPECT_LE(r.threshold_at_far["0.001"], 0.999f);
  // AUC by counting: 100 genuine beat all 1000, 100 beat 994, 200 beat 501 (0.000..0.500, 0.5 ties count half).
  double wins = 100 * 1000 + 100 * 994 + 200 * (500 + 0.5);
  EXPECT_NEAR(r.auc, wins / (400.0 * 1000.0), 1e-9);
}

TEST(EvaluateVerification, NanScoresAreNonMatches) {
  // Perfectly separated, except that in every fold one genuine and one impostor pair
  // had a photo without a face (NaN): the genuine one is an error, the impostor one is not.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  auto s = MakeSet(30, [&](int, int k) { return k == 0 ? nan : 0.6f + 0.01f * static_cast<float>(k); },
                   [&](int, int k) { return k == 0 ? nan : -0.2f + 0.01f * static_cast<float>(k); });
  auto r = EvaluateVerification(s.pairs, s.scores);
  EXPECT_EQ(r.pairs_without_face, 20);
  ASSERT_EQ(r.fold_accuracy.size(), 10u);
  for (double a : r.fold_accuracy) EXPECT_NEAR(a, 59.0 / 60.0, 1e-12);
  EXPECT_NEAR(r.accuracy_mean, 59.0 / 60.0, 1e-12);
  for (float t : r.fold_threshold) EXPECT_FALSE(std::isnan(t));
  EXPECT_NEAR(r.tar_at_far["0.01"], 290.0 / 300.0, 1e-12);
  // 290 genuine outrank all 300 impostors; the 10 NaN genuine tie with the 10 NaN impostors.
  EXPECT_NEAR(r.auc, (290.0 * 300 + 0.5 * 10 * 10) / (300.0 * 300.0), 1e-9);
  EXPECT_FALSE(std::isnan(r.eer));
  EXPECT_FALSE(std::isnan(r.auc));
}

TEST(EvaluateVerification, FoldThresholdComesFromTheOtherNine) {
  // Folds 0..8 separate at 0 (genuine >= 0.1, impostor <= -0.1). Fold 9's genuine pairs
  // score -0.05 and its impostors -0.5: its own threshold would be perfect, but the one
  // learnt on folds 0..8 (~0) rejects all of its genuine pairs.
  auto s = MakeSet(20,
                   [](int f, int k) { return f == 9 ? -0.05f : 0.1f + 0.01f * static_cast<float>(k); },
                   [](int f, int k) { return f == 9 ? -0.5f : -0.1f - 0.01f * static_cast<float>(k); });
  auto r = EvaluateVerification(s.pairs, s.scores);
  ASSERT_EQ(r.fold_accuracy.size(), 10u);
  for (int f = 0; f < 9; ++f) EXPECT_DOUBLE_EQ(r.fold_accuracy[static_cast<size_t>(f)], 1.0) << "fold " << f;
  EXPECT_DOUBLE_EQ(r.fold_accuracy[9], 0.5);
  EXPECT_NEAR(r.accuracy_mean, 0.95, 1e-12);
  EXPECT_NEAR(r.accuracy_std, 0.15, 1e-12);  // sqrt((9*0.05^2 + 0.45^2)/10)
  EXPECT_GT(r.fold_threshold[9], -0.05f);
  EXPECT_LT(r.fold_threshold[9], 0.1f);
}

TEST(EvaluateVerification, DegenerateInputsDoNotCrash) {
  auto empty = EvaluateVerification({}, {});
  EXPECT_EQ(empty.pairs, 0);
  EXPECT_TRUE(empty.fold_accuracy.empty());
  std::vector<LabelledPair> only_genuine = {{"a", "b", true, 0}, {"c", "d", true, 1}};
  auto g = EvaluateVerification(only_genuine, {0.5f, 0.7f});
  EXPECT_EQ(g.genuine, 2);
  EXPECT_EQ(g.impostor, 0);
  EXPECT_FALSE(std::isnan(g.accuracy_mean));
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<LabelledPair> all_nan = {{"a", "b", true, 0}, {"c", "d", false, 1}};
  auto n = EvaluateVerification(all_nan, {nan, nan});
  EXPECT_EQ(n.pairs_without_face, 2);
  EXPECT_FALSE(std::isnan(n.auc));
}

}  // namespace
