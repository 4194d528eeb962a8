// Cohort: the closed-form similarity moments, and the gallery ranking its candidates by them.
#include "lineup/cohort.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "lineup/catalog.h"
#include "lineup/gallery.h"
#include "test_util.h"

namespace {

using lineup::Cohort;
using lineup::Gallery;

void Normalise(float* v, int d) {
  double n = 0;
  for (int j = 0; j < d; ++j) n += static_cast<double>(v[j]) * v[j];
  for (int j = 0; j < d; ++j) v[j] = static_cast<float>(v[j] / std::sqrt(n));
}

// Unit vectors around a common direction e0, with unequal spread per dimension (like
// real identity vectors, which fill a subspace unevenly).
std::vector<float> Faces(int n, int d, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> z(0, 1);
  std::vector<float> out(static_cast<size_t>(n) * d);
  for (int i = 0; i < n; ++i) {
    float* v = &out[static_cast<size_t>(i) * d];
    for (int j = 0; j < d; ++j) v[j] = z(rng) * (j < d / 4 ? 2.0f : 0.5f) / std::sqrt(static_cast<float>(d));
    v[0] += 0.3f;
    Normalise(v, d);
  }
  return out;
}

float Dot(const float* a, const float* b, int d) {
  double s = 0;
  for (int j = 0; j < d; ++j) s += static_cast<double>(a[j]) * b[j];
  return static_cast<float>(s);
}

TEST(Cohort, MomentsMatchTheSimilaritiesToEveryFace) {
  const int n = 1500, d = 64;
  const std::vector<float> faces = Faces(n, d, 1);
  auto c = Cohort::Fit(faces, d);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->faces(), n);
  // Any face, in the cohort or not: its similarities to all n faces, brute force.
  const std::vector<float> others = Faces(3, d, 2);
  for (const float* g : {&faces[0], &faces[static_cast<size_t>(700) * d], &others[0], &others[2 * d]}) {
    double s = 0, s2 = 0;
    for (int i = 0; i < n; ++i) {
      const double v = Dot(g, &faces[static_cast<size_t>(i) * d], d);
      s += v;
      s2 += v * v;
    }
    const double mean = s / n, sd = std::sqrt(s2 / n - mean * mean);
    double m, sdev;
    c->Moments(g, 1, &m, &sdev);
    EXPECT_NEAR(m, mean, 1e-5);
    EXPECT_NEAR(sdev, sd, 1e-3 * sd);
    EXPECT_NEAR(c->Normalise(0.9f, g), (0.9 - mean) / sd, 1e-2);
  }
  // A batch gives what one face at a time gives.
  std::vector<double> m3(3), s3(3);
  c->Moments(&faces[static_cast<size_t>(10) * d], 3, m3.data(), s3.data());
  for (int i = 0; i < 3; ++i) {
    double m, sdev;
    c->Moments(&faces[static_cast<size_t>(10 + i) * d], 1, &m, &sdev);
    EXPECT_DOUBLE_EQ(m3[static_cast<size_t>(i)], m);
    EXPECT_NEAR(s3[static_cast<size_t>(i)], sdev, 1e-6);
  }
}

TEST(Cohort, RefusesTooFewFacesAndRaggedInput) {
  const int d = 16;
  std::vector<float> few = Faces(static_cast<int>(Cohort::kMinFaces) - 1, d, 3);
  auto c = Cohort::Fit(few, d);
  EXPECT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("at least"), std::string::npos) << c.status().ToString();
  std::vector<float> ragged = Faces(static_cast<int>(Cohort::kMinFaces), d, 3);
  ragged.pop_back();
  EXPECT_FALSE(Cohort::Fit(ragged, d).ok());
  EXPECT_FALSE(Cohort::Fit(ragged, 0).ok());
  std::vector<float> same(static_cast<size_t>(Cohort::kMinFaces) * d, 0.f);
  for (size_t i = 0; i < same.size(); i += d) same[i] = 1;
  EXPECT_FALSE(Cohort::Fit(same, d).ok()) << "identical faces give no spread to normalise by";
}

// A face that resembles everyone (here: the gallery's common direction itself) is more
// similar to the probe than the probe's mate, but far less so than to its usual
// similarity: once the gallery is large enough, the mate is ranked first, while the
// scores (what thresholds apply to) stay the plain similarities.
TEST(GalleryRanking, AFaceResemblingEveryoneIsRankedBelowTheMate) {
  lineup_test::TempDir t;
  const std::string dir = t.File("g");
  ASSERT_TRUE(Gallery::Init(dir).ok());
  auto g = Gallery::Open(dir, {});
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  const int d = (*g)->model().dim;
  lineup::SourceRecord src;
  src.name = "synthetic";
  src.legal_basis = "test data";
  ASSERT_TRUE((*g)->catalog().AddSource(&src).ok());
  int64_t next_image = 0;
  auto add = [&](const std::vector<float>& vecs) {
    const size_t n = vecs.size() / static_cast<size_t>(d);
    std::vector<lineup::Catalog::NewImage> images(n);
    for (auto& im : images) {
      char sha[65];
      std::snprintf(sha, sizeof sha, "%064llx", static_cast<unsigned long long>(next_image++));
      im.image.sha256 = sha;
      im.image.uri = "synthetic://" + std::string(sha);
      im.image.format = "synthetic";
      im.image.width = im.image.height = 100;
      im.image.source_id = src.id;
      lineup::FaceRecord f;
      f.box = cv::Rect2f(10, 10, 50, 60);
      f.confidence = 0.99f;
      f.quality = 0.8f;
      im.faces.push_back(f);
    }
    ASSERT_TRUE((*g)->AddFaces(images, vecs).ok());
  };
  std::vector<float> faces = Faces(900, d, 4);
  const std::vector<float> mate_vector(faces.begin(), faces.begin() + d);
  const float* mate = mate_vector.data();
  std::vector<float> hub(static_cast<size_t>(d), 0.f);
  hub[0] = 1;
  faces.insert(faces.end(), hub.begin(), hub.end());
  add(faces);
  // The probe: 0.50 similar to the mate and 0.55 to the hub, the rest orthogonal noise.
  const float mh = Dot(mate, hub.data(), d);
  const float a = (0.50f - mh * 0.55f) / (1 - mh * mh), b = 0.55f - mh * a;
  std::vector<float> probe(static_cast<size_t>(d));
  for (int j = 0; j < d; ++j) probe[j] = a * mate[j] + b * hub[j];
  std::mt19937 rng(9);
  std::normal_distribution<float> z(0, 1);
  std::vector<float> noise(static_cast<size_t>(d));
  for (float& v : noise) v = z(rng);
  for (const float* base :
       {mate, static_cast<const float*>(hub.data())}) {  // Gram-Schmidt against the plane of mate and hub
    std::vector<float> u(base, base + d);
    if (base == hub.data())
      for (int j = 0; j < d; ++j) u[j] -= mh * mate[j];
    Normalise(u.data(), d);
    const float p = Dot(noise.data(), u.data(), d);
    for (int j = 0; j < d; ++j) noise[j] -= p * u[j];
  }
  Normalise(noise.data(), d);
  const float rest = std::sqrt(1 - Dot(probe.data(), probe.data(), d));
  for (int j = 0; j < d; ++j) probe[j] += rest * noise[j];
  ASSERT_NEAR(Dot(probe.data(), mate, d), 0.50f, 1e-4);
  ASSERT_NEAR(Dot(probe.data(), hub.data(), d), 0.55f, 1e-4);

  // 901 faces: too few for a cohort; plain similarity decides the order.
  auto r = (*g)->Search(probe, 5);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_GE(r->front().size(), 2u);
  const int64_t mate_id = 1, hub_id = 901;  // face ids count from 1 in order of addition
  EXPECT_EQ(r->front()[0].face_id, hub_id);
  EXPECT_EQ(r->front()[1].face_id, mate_id);
  for (const auto& c : r->front()) EXPECT_EQ(c.rank_score, c.score);
  EXPECT_FALSE((*g)->RankedByCohort());

  add(Faces(300, d, 5));  // 1,201 faces
  r = (*g)->Search(probe, 5);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_GE(r->front().size(), 2u);
  EXPECT_EQ(r->front()[0].face_id, mate_id) << "the mate is ranked first";
  EXPECT_TRUE((*g)->RankedByCohort());
  EXPECT_NEAR(r->front()[0].score, 0.50f, 1e-4) << "scores stay plain similarities";
  for (size_t i = 1; i < r->front().size(); ++i)
    EXPECT_LE(r->front()[i].rank_score, r->front()[i - 1].rank_score) << "ordered by rank_score";
  bool hub_listed = false;
  for (const auto& c : r->front())
    if (c.face_id == hub_id) {
      hub_listed = true;
      EXPECT_NEAR(c.score, 0.55f, 1e-4);
      EXPECT_LT(c.rank_score, r->front()[0].rank_score);
    }
  EXPECT_TRUE(hub_listed);

  // After an erasure the cohort is the live faces only: rank_score is the one a cohort
  // fitted on exactly those gives.
  for (int i = 100; i < 120; ++i) {
    char sha[65];
    std::snprintf(sha, sizeof sha, "%064llx", static_cast<unsigned long long>(i));
    ASSERT_TRUE((*g)->Erase("image", sha, "test").ok());
  }
  auto live = (*g)->catalog().FaceIds();
  ASSERT_TRUE(live.ok());
  ASSERT_EQ(live->size(), 1181u);
  std::vector<float> kept;
  for (int64_t id : *live) {
    const float* v = (*g)->StoredVector(id);
    ASSERT_NE(v, nullptr);
    kept.insert(kept.end(), v, v + d);
  }
  auto expect = Cohort::Fit(kept, d);
  ASSERT_TRUE(expect.ok());
  r = (*g)->Search(probe, 5);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->front()[0].face_id, mate_id);
  EXPECT_NEAR(r->front()[0].rank_score, expect->Normalise(r->front()[0].score, mate), 1e-3);

  // Compaction rewrites the vectors and the index; the ranking carries on.
  ASSERT_TRUE((*g)->Compact("exact").ok());
  r = (*g)->Search(probe, 5);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->front()[0].face_id, mate_id);
  EXPECT_NEAR(r->front()[0].rank_score, expect->Normalise(r->front()[0].score, mate), 1e-3);
}

}  // namespace
