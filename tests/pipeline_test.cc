// The whole recognition pipeline on real photos with the real models
// (lineup/analyzer.h): detection, landmarks, alignment, quality and embedding.
//
// Thresholds below were picked from what the pipeline measures on these photos, with
// room for small changes, but tight enough to catch a broken stage (the measured values
// are in the comments).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "lineup/analyzer.h"
#include "lineup/models.h"
#include "test_util.h"

namespace {

using lineup::AnalyzerOptions;
using lineup::Face;
using lineup::FaceAnalyzer;
using lineup::FacePick;
using lineup::NoFaceMessage;
using lineup::PhotoAnalysis;
using lineup::PickFace;
using lineup::Status;

float Dot(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  float s = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) s += a[i] * b[i];
  return s;
}

float Norm(const std::vector<float>& v) { return std::sqrt(Dot(v, v)); }
float Cosine(const std::vector<float>& a, const std::vector<float>& b) { return Dot(a, b) / (Norm(a) * Norm(b)); }

bool HasReason(const Face& f, const std::string& reason) {
  return std::find(f.quality.reasons.begin(), f.quality.reasons.end(), reason) != f.quality.reasons.end();
}

std::string Reasons(const Face& f) {
  std::string s;
  for (const auto& r : f.quality.reasons) s.append(s.empty() ? "" : ",").append(r);
  return s.empty() ? "-" : s;
}

std::string LfwPhoto(const std::string& lfw_images, const std::string& name, int i) {
  char num[8];
  std::snprintf(num, sizeof num, "%04d", i);
  return lfw_images + "/" + name + "/" + name + "_" + num + ".jpg";
}

// One analyzer per test process, made on first use (default options); null if the
// models cannot be loaded.
FaceAnalyzer* SharedAnalyzer() {
  static std::unique_ptr<FaceAnalyzer> analyzer = [] {
    auto a = FaceAnalyzer::Create(AnalyzerOptions{});
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    return a.ok() ? std::move(*a) : nullptr;
  }();
  return analyzer.get();
}

cv::Mat Load(const std::string& path) {
  auto img = lineup::ReadImage(path);
  EXPECT_TRUE(img.ok()) << img.status().ToString();
  return img.ok() ? img->bgr : cv::Mat();
}

std::vector<Face> AnalyzeOrFail(FaceAnalyzer& a, const cv::Mat& photo) {
  auto r = a.Analyze(photo, true);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(*r) : std::vector<Face>{};
}

class Pipeline : public ::testing::Test {
 protected:
  void SetUp() override {
    LINEUP_REQUIRE_DATA(data_, "");
    lfw_ = data_ + "/lfw/images";
    analyzer_ = SharedAnalyzer();
    ASSERT_NE(analyzer_, nullptr) << "models missing? run `make models`";
  }
  std::string data_, lfw_;
  FaceAnalyzer* analyzer_ = nullptr;
};

// The checks every properly found frontal LFW face passes.
void ExpectGoodLfwFace(const std::vector<Face>& faces, const std::string& what) {
  SCOPED_TRACE(what);
  ASSERT_EQ(faces.size(), 1u) << "LFW photos show one face near the centre";
  const Face& f = faces[0];
  cv::Point2f c(f.box.x + f.box.width / 2, f.box.y + f.box.height / 2);
  EXPECT_NEAR(c.x, 125, 25) << "box " << f.box;
  EXPECT_NEAR(c.y, 125, 30) << "box " << f.box;
  EXPECT_GT(f.box.height, 70) << "box " << f.box;
  EXPECT_LT(f.box.height, 200) << "box " << f.box;
  EXPECT_GT(f.confidence, 0.8f);
  ASSERT_EQ(f.embedding.size(), 512u);
  // The default model's vectors are unit vectors times the face's weight.
  EXPECT_GE(Norm(f.embedding), 0.8f - 1e-4f);
  EXPECT_LE(Norm(f.embedding), 1.25f + 1e-4f);
  ASSERT_EQ(f.landmarks68.size(), 68u);
  // Five points in order: subject's right eye on the picture's left, eyes above nose above mouth.
  EXPECT_LT(f.five[0].x, f.five[1].x);
  EXPECT_LT(f.five[3].x, f.five[4].x);
  EXPECT_LT(std::max(f.five[0].y, f.five[1].y), f.five[2].y);
  EXPECT_LT(f.five[2].y, std::min(f.five[3].y, f.five[4].y));
  for (const auto& p : f.five) EXPECT_TRUE(f.box.contains(p)) << "point " << p << " outside box " << f.box;
  EXPECT_GE(f.quality.score, 0.0f);
  EXPECT_LE(f.quality.score, 1.0f);
  EXPECT_FALSE(HasReason(f, "small"));
}

// ------------------------------------------------------------ smoke (sanitize)

TEST(PipelineSmoke, OneLfwPhotoOneCentredFaceWithUnitEmbedding) {
  std::string lfw;
  LINEUP_REQUIRE_DATA(lfw, "lfw/images");
  auto a = FaceAnalyzer::Create(AnalyzerOptions{});
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ((*a)->Model().dim, 512);
  EXPECT_EQ((*a)->Model().Id(), (*a)->Model().name + "@" + (*a)->Model().version + "+" + (*a)->Model().setting);
  auto r = (*a)->AnalyzeFile(LfwPhoto(lfw, "Aaron_Peirsol", 1), true);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.info.format, "jpeg");
  EXPECT_EQ(r.width, 250);
  EXPECT_EQ(r.height, 250);
  ExpectGoodLfwFace(r.faces, "Aaron_Peirsol_0001");
  EXPECT_EQ((*a)->Times().photos, 1);
  EXPECT_EQ((*a)->Times().faces, 1);
  // Without `embed`, no vector.
  auto plain = (*a)->Analyze(Load(LfwPhoto(lfw, "Aaron_Peirsol", 1)), false);
  ASSERT_TRUE(plain.ok());
  ASSERT_EQ(plain->size(), 1u);
  EXPECT_TRUE((*plain)[0].embedding.empty());
}

TEST(PipelineSmoke, BadInputsAreErrorsNotCrashes) {
  auto a = FaceAnalyzer::Create(AnalyzerOptions{});
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_FALSE((*a)->Analyze(cv::Mat(), true).ok());
  EXPECT_FALSE((*a)->Analyze(cv::Mat(100, 100, CV_8UC1, cv::Scalar(128)), true).ok());
  EXPECT_FALSE((*a)->Analyze(cv::Mat(100, 100, CV_32FC3, cv::Scalar::all(0.5)), true).ok());
  // A flat grey picture and a 1x1 picture hold no face.
  auto grey = (*a)->Analyze(cv::Mat(480, 640, CV_8UC3, cv::Scalar::all(128)), true);
  ASSERT_TRUE(grey.ok()) << grey.status().ToString();
  EXPECT_TRUE(grey->empty());
  auto tiny = (*a)->Analyze(cv::Mat(1, 1, CV_8UC3, cv::Scalar::all(30)), true);
  ASSERT_TRUE(tiny.ok()) << tiny.status().ToString();
  EXPECT_TRUE(tiny->empty());
  // A missing file lands in the status.
  auto missing = (*a)->AnalyzeFile("/nonexistent/photo.jpg", true);
  EXPECT_EQ(missing.status.code(), Status::Code::kNotFound);
  EXPECT_TRUE(missing.faces.empty());
}

TEST(PipelineSmoke, MissingModelsAndBadSpecsAreClearErrors) {
  AnalyzerOptions o;
  o.model_dir = "/nonexistent/models";
  auto a = FaceAnalyzer::Create(o);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), Status::Code::kNotFound);
  EXPECT_NE(a.status().message().find("/nonexistent/models/"), std::string::npos) << a.status().message();
  EXPECT_NE(a.status().message().find("make models"), std::string::npos) << a.status().message();
  AnalyzerOptions d;
  d.detector = "magic";
  EXPECT_EQ(FaceAnalyzer::Create(d).status().code(), Status::Code::kInvalidArgument);
  AnalyzerOptions e;
  e.embedder = "facenet";
  EXPECT_EQ(FaceAnalyzer::Create(e).status().code(), Status::Code::kInvalidArgument);
  AnalyzerOptions m;
  m.detector_options.min_face = 0;
  EXPECT_EQ(FaceAnalyzer::Create(m).status().code(), Status::Code::kInvalidArgument);
  // AnalyzeFiles reports the same failure and calls back for nothing.
  int calls = 0;
  Status s = lineup::AnalyzeFiles(o, {"a.jpg"}, true, 2, [&](size_t, lineup::PhotoAnalysis&&) { ++calls; });
  EXPECT_EQ(s.code(), Status::Code::kNotFound);
  EXPECT_EQ(calls, 0);
}

TEST(PipelineSmoke, ModelFilesMatchTheirPins) {
  for (const char* file : {"fr_detect.onnx", "fr_landmark.onnx", "fr_feature.onnx"}) {
    auto net = lineup::LoadModel(lineup::DefaultModelDir(), file);
    EXPECT_TRUE(net.ok()) << file << ": " << net.status().ToString();
  }
  auto unpinned = lineup::LoadModel(lineup::DefaultModelDir(), "other.onnx");
  EXPECT_EQ(unpinned.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(lineup::Sha256Hex("abc", 3), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(PipelineSmoke, CorruptModelIsRefusedByItsPin) {
  lineup_test::TempDir tmp;
  auto bytes = lineup_test::ReadBytes(lineup::DefaultModelDir() + "/fr_detect.onnx");
  ASSERT_GT(bytes.size(), 1000u);
  bytes[bytes.size() / 2] ^= 1;
  lineup_test::WriteBytes(tmp.File("fr_detect.onnx"), bytes);
  auto net = lineup::LoadModel(tmp.path(), "fr_detect.onnx");
  ASSERT_FALSE(net.ok());
  EXPECT_EQ(net.status().code(), Status::Code::kCorrupt);
  EXPECT_NE(net.status().message().find("make models"), std::string::npos) << net.status().message();
}

// ------------------------------------------------------------------ PickFace

Face FaceAt(float x, float y, float w, float h) {
  Face f;
  f.box = {x, y, w, h};
  return f;
}

TEST(PickFace, LargestAndCentral) {
  EXPECT_EQ(PickFace({}, {100, 100}, FacePick::kLargest), -1);
  EXPECT_EQ(PickFace({}, {100, 100}, FacePick::kCentral), -1);
  // A big face in the corner, a smaller one over the centre of a 200x200 photo.
  std::vector<Face> faces = {FaceAt(80, 80, 40, 40), FaceAt(0, 0, 70, 70), FaceAt(150, 150, 10, 10)};
  EXPECT_EQ(PickFace(faces, {200, 200}, FacePick::kLargest), 1);
  EXPECT_EQ(PickFace(faces, {200, 200}, FacePick::kCentral), 0);
  // Nothing over the centre: the largest.
  std::vector<Face> off = {FaceAt(0, 0, 20, 20), FaceAt(150, 0, 40, 40)};
  EXPECT_EQ(PickFace(off, {200, 200}, FacePick::kCentral), 1);
  // Two over the centre: the larger of them.
  std::vector<Face> both = {FaceAt(90, 90, 20, 20), FaceAt(60, 60, 80, 80), FaceAt(0, 0, 100, 100)};
  EXPECT_EQ(PickFace(both, {200, 200}, FacePick::kCentral), 1);
  EXPECT_EQ(PickFace(both, {200, 200}, FacePick::kLargest), 2);
  // Only faces at least half as tall as the largest compete for the centre, so a
  // tiny background face at the centre does not win.
  std::vector<Face> tiny = {FaceAt(95, 95, 10, 10), FaceAt(20, 20, 60, 60)};
  EXPECT_EQ(PickFace(tiny, {200, 200}, FacePick::kCentral), 1);
  std::vector<Face> close = {FaceAt(80, 80, 40, 40), FaceAt(10, 10, 60, 60)};
  EXPECT_EQ(PickFace(close, {200, 200}, FacePick::kCentral), 0);
  // A large blurred box over a body loses to smaller sharp faces (seen on
  // knn_examples/test/obama_and_biden.jpg: quality 0.13, "blurred, turned away").
  std::vector<Face> group = {FaceAt(0, 0, 120, 120), FaceAt(130, 10, 50, 50), FaceAt(130, 100, 40, 40)};
  group[0].quality.score = 0.13f;
  group[0].quality.reasons = {"blurred", "turned away"};
  group[1].quality.score = group[2].quality.score = 1.0f;
  EXPECT_EQ(PickFace(group, {200, 200}, FacePick::kLargest), 1);
  for (Face& f : group) f.quality.reasons = {"small"};
  EXPECT_EQ(PickFace(group, {200, 200}, FacePick::kLargest), 0) << "all flagged: the largest usable";
}

// ------------------------------------------------------------------ real photos

TEST_F(Pipeline, SeveralLfwPhotosOneCentredFaceEach) {
  FaceAnalyzer& a = *analyzer_;
  for (auto [name, i] : std::vector<std::pair<std::string, int>>{{"Aaron_Peirsol", 2},
                                                                 {"Colin_Powell", 1},
                                                                 {"George_W_Bush", 1},
                                                                 {"Serena_Williams", 1},
                                                                 {"Tony_Blair", 3},
                                                                 {"Gloria_Macapagal_Arroyo", 1},
                                                                 {"Hugo_Chavez", 2},
                                                                 {"Jennifer_Aniston", 1}}) {
    std::string path = LfwPhoto(lfw_, name, i);
    ExpectGoodLfwFace(AnalyzeOrFail(a, Load(path)), path);
  }
}

TEST_F(Pipeline, SamePersonScoresClearlyAboveDifferentPeople) {
  FaceAnalyzer& a = *analyzer_;
  const std::vector<std::string> people = {"Aaron_Peirsol", "Colin_Powell", "Serena_Williams", "Tony_Blair"};
  std::map<std::string, std::vector<std::vector<float>>> vecs;
  for (const auto& p : people)
    for (int i : {1, 2}) {
      auto faces = AnalyzeOrFail(a, Load(LfwPhoto(lfw_, p, i)));
      int k = PickFace(faces, {250, 250}, FacePick::kCentral);
      ASSERT_GE(k, 0) << p << " " << i;
      vecs[p].push_back(faces[static_cast<size_t>(k)].embedding);
    }
  float min_same = 2, max_diff = -2;
  for (const auto& p : people) {
    float s = Dot(vecs[p][0], vecs[p][1]);
    RecordProperty("same_" + p, std::to_string(s));
    min_same = std::min(min_same, s);
    for (const auto& q : people)
      if (p < q)
        for (int i : {0, 1})
          for (int j : {0, 1}) max_diff = std::max(max_diff, Dot(vecs[p][static_cast<size_t>(i)], vecs[q][static_cast<size_t>(j)]));
  }
  std::printf("same person: min %.3f; different people: max %.3f\n", min_same, max_diff);
  EXPECT_GT(min_same, 0.35f);
  EXPECT_LT(max_diff, 0.30f);
  EXPECT_GT(min_same - max_diff, 0.15f);
}

TEST_F(Pipeline, MultiFacePhotosGiveSeveralFaces) {
  FaceAnalyzer& a = *analyzer_;
  for (const char* rel : {"deepface/couple.jpg", "face_recognition/examples/two_people.jpg",
                          "face_recognition/examples/knn_examples/test/obama_and_biden.jpg",
                          "face_recognition/examples/knn_examples/test/kit_with_rose.jpg"}) {
    SCOPED_TRACE(rel);
    cv::Mat photo = Load(data_ + "/" + rel);
    auto faces = AnalyzeOrFail(a, photo);
    EXPECT_GE(faces.size(), 2u);
    for (size_t i = 0; i < faces.size(); ++i) {
      EXPECT_EQ(faces[i].embedding.size(), 512u);
      if (i > 0) {
        EXPECT_LE(faces[i].box.area(), faces[i - 1].box.area()) << "faces must come largest first";
      }
      EXPECT_TRUE((cv::Rect2f(0, 0, static_cast<float>(photo.cols), static_cast<float>(photo.rows)) & faces[i].box) ==
                  faces[i].box)
          << "box " << faces[i].box << " not clipped to the photo";
    }
  }
}

TEST_F(Pipeline, LargeFacesAreBoxedWholeAndNothingElseIs) {
  // A face too large for the finer levels' tiles used to be boxed again from a tile that
  // cut it (deepface/img9.jpg, a 1000x1780 close-up: a 575x464 box ending at the nose),
  // and hands and shirts at those scales came out as faces (two_people.jpg: 4 "faces").
  FaceAnalyzer& a = *analyzer_;
  auto portrait = AnalyzeOrFail(a, Load(data_ + "/deepface/img9.jpg"));
  ASSERT_EQ(portrait.size(), 1u);
  EXPECT_GT(portrait[0].box.height, 1.2f * portrait[0].box.width) << portrait[0].box;
  EXPECT_GT(portrait[0].box.height, 500.f) << portrait[0].box;
  EXPECT_TRUE(portrait[0].quality.reasons.empty()) << Reasons(portrait[0]);
  auto two = AnalyzeOrFail(a, Load(data_ + "/face_recognition/examples/two_people.jpg"));
  EXPECT_EQ(two.size(), 2u);
}

TEST_F(Pipeline, CrowdPhotoGivesManySmallFaces) {
  // About 240 faces, most of them 10 to 20 px tall. Asked to look down to 10 px, the
  // pyramid finds over 90; by default (20 px) only faces at least that tall are listed.
  AnalyzerOptions o;
  o.detector_options.min_face = 10;
  auto fine = FaceAnalyzer::Create(o);
  ASSERT_TRUE(fine.ok()) << fine.status().ToString();
  const cv::Mat crowd = Load(data_ + "/groups/retinaface_img3.jpg");
  auto faces = AnalyzeOrFail(**fine, crowd);
  std::printf("crowd, min face 10: %zu faces\n", faces.size());
  EXPECT_GE(faces.size(), 90u);
  int small = 0;
  for (const auto& f : faces) {
    small += HasReason(f, "small");
    EXPECT_GE(f.box.height, 10.0f) << f.box;
  }
  EXPECT_GT(small, 20);
  auto usual = AnalyzeOrFail(*analyzer_, crowd);
  std::printf("crowd, min face 20: %zu faces\n", usual.size());
  EXPECT_GE(usual.size(), 20u);
  EXPECT_LT(usual.size(), faces.size());
  for (const auto& f : usual) EXPECT_GE(f.box.height, 20.0f) << f.box;
}

TEST_F(Pipeline, SamePersonInTwoMultiFacePhotos) {
  // Obama appears in both group photos; his faces should be each other's best match
  // across the two photos, above every pairing with someone else.
  FaceAnalyzer& a = *analyzer_;
  auto one = AnalyzeOrFail(a, Load(data_ + "/face_recognition/examples/obama.jpg"));
  auto group = AnalyzeOrFail(a, Load(data_ + "/face_recognition/examples/knn_examples/test/obama_and_biden.jpg"));
  ASSERT_FALSE(one.empty());
  ASSERT_GE(group.size(), 2u);
  std::vector<float> sims;
  for (const auto& g : group) sims.push_back(Dot(one[0].embedding, g.embedding));
  std::sort(sims.rbegin(), sims.rend());
  std::printf("obama vs group faces: best %.3f, next %.3f\n", sims[0], sims[1]);
  EXPECT_GT(sims[0], 0.4f);
  EXPECT_GT(sims[0] - sims[1], 0.2f);
}

TEST_F(Pipeline, PhotoWithoutACertainDetectionHasNoFace) {
  FaceAnalyzer& a = *analyzer_;
  EXPECT_FLOAT_EQ(a.Options().photo_min_confidence, 0.8f);
  const std::string dogs = data_ + "/detection/dogs.jpg";
  PhotoAnalysis p = a.AnalyzeFile(dogs, true);
  ASSERT_TRUE(p.status.ok()) << p.status.ToString();
  EXPECT_TRUE(p.faces.empty()) << p.faces.size() << " dog face(s) taken for human faces";
  ASSERT_EQ(p.set_aside.size(), 2u);
  for (const Face& f : p.set_aside) {
    EXPECT_LT(f.confidence, 0.8f);
    EXPECT_TRUE(f.embedding.empty()) << "set-aside boxes are not embedded";
  }
  EXPECT_NE(NoFaceMessage(p.set_aside, 0.8f).find("2 uncertain detections set aside"), std::string::npos);
  EXPECT_EQ(NoFaceMessage({}, 0.8f), "no face found");
  // 0 keeps every detection, as uncertain faces.
  AnalyzerOptions keep;
  keep.photo_min_confidence = 0;
  auto k = FaceAnalyzer::Create(keep);
  ASSERT_TRUE(k.ok());
  PhotoAnalysis all = (*k)->AnalyzeFile(dogs, false);
  ASSERT_EQ(all.faces.size(), 2u);
  EXPECT_TRUE(all.set_aside.empty());
  // A photo with one certain face keeps its uncertain boxes too (flagged, not dropped).
  std::vector<Face> aside;
  auto kate = a.Analyze(Load(LfwPhoto(lfw_, "Kate_Capshaw", 2)), false, &aside);
  ASSERT_TRUE(kate.ok());
  EXPECT_TRUE(aside.empty());
  bool uncertain = false;
  for (const Face& f : *kate) uncertain |= f.confidence < 0.8f;
  EXPECT_TRUE(uncertain) << "the 0.79 box beside the two certain faces is kept";
}

TEST_F(Pipeline, HardTightCropStillFoundAndEmbedded) {
  FaceAnalyzer& a = *analyzer_;
  for (auto [name, i] : std::vector<std::pair<std::string, int>>{{"Aaron_Peirsol", 1}, {"Colin_Powell", 1}, {"Tony_Blair", 3}}) {
    SCOPED_TRACE(name);
    cv::Mat photo = Load(LfwPhoto(lfw_, name, i));
    auto full = AnalyzeOrFail(a, photo);
    ASSERT_EQ(full.size(), 1u);
    cv::Rect box = cv::Rect(full[0].box) & cv::Rect(0, 0, photo.cols, photo.rows);
    cv::Mat crop = photo(box).clone();  // the face fills the frame
    auto faces = AnalyzeOrFail(a, crop);
    ASSERT_GE(faces.size(), 1u) << "no face in a " << crop.cols << "x" << crop.rows << " tight crop";
    int k = PickFace(faces, crop.size(), FacePick::kLargest);
    float sim = Dot(full[0].embedding, faces[static_cast<size_t>(k)].embedding);
    std::printf("%s tight crop %dx%d: similarity to uncropped %.3f, reasons %s\n", name.c_str(), crop.cols, crop.rows,
                sim, Reasons(faces[static_cast<size_t>(k)]).c_str());
    EXPECT_GT(sim, 0.3f);
  }
}

// Collections like AT&T/ORL keep 92x112 greyscale PGMs cropped tightly around the face.
// Read through the decoder as PGM, such a crop gives the same pixels, so the same face
// and vector, as when it is saved as PNG.
TEST_F(Pipeline, GreyscalePgmCroppedLikeOrlGivesTheSameFaceAsPng) {
  FaceAnalyzer& a = *analyzer_;
  lineup_test::TempDir tmp;
  const std::vector<std::pair<std::string, int>> photos = {{"Aaron_Peirsol", 1}, {"Colin_Powell", 1}, {"Tony_Blair", 3}};
  for (auto [name, i] : photos) {
    SCOPED_TRACE(name);
    cv::Mat photo = Load(LfwPhoto(lfw_, name, i));
    auto full = AnalyzeOrFail(a, photo);
    ASSERT_EQ(full.size(), 1u);
    const cv::Point centre(static_cast<int>(full[0].box.x + full[0].box.width / 2),
                           static_cast<int>(full[0].box.y + full[0].box.height / 2));
    const cv::Rect orl(centre.x - 46, centre.y - 56, 92, 112);
    ASSERT_EQ(orl & cv::Rect(0, 0, photo.cols, photo.rows), orl);
    cv::Mat grey;
    cv::cvtColor(photo(orl), grey, cv::COLOR_BGR2GRAY);
    std::vector<uchar> pgm, png;
    ASSERT_TRUE(cv::imencode(".pgm", grey, pgm));
    ASSERT_TRUE(cv::imencode(".png", grey, png));
    ASSERT_EQ(std::string(pgm.begin(), pgm.begin() + 2), "P5");
    const std::string pgm_path = tmp.File(name + ".pgm"), png_path = tmp.File(name + ".png");
    lineup_test::WriteBytes(pgm_path, std::vector<uint8_t>(pgm.begin(), pgm.end()));
    lineup_test::WriteBytes(png_path, std::vector<uint8_t>(png.begin(), png.end()));

    auto from_pgm = lineup::ReadImage(pgm_path), from_png = lineup::ReadImage(png_path);
    ASSERT_TRUE(from_pgm.ok()) << from_pgm.status().ToString();
    ASSERT_TRUE(from_png.ok()) << from_png.status().ToString();
    EXPECT_EQ(from_pgm->info.format, "pgm");
    ASSERT_EQ(from_pgm->bgr.size(), cv::Size(92, 112));
    EXPECT_EQ(cv::norm(from_pgm->bgr, from_png->bgr, cv::NORM_INF), 0) << "PGM and PNG of one crop differ";

    PhotoAnalysis p = a.AnalyzeFile(pgm_path, true), q = a.AnalyzeFile(png_path, true);
    ASSERT_TRUE(p.status.ok()) << p.status.ToString();
    ASSERT_TRUE(q.status.ok()) << q.status.ToString();
    ASSERT_GE(p.faces.size(), 1u) << "no face in the " << name << " ORL-style PGM";
    ASSERT_GE(q.faces.size(), 1u);
    const Face& f = p.faces[static_cast<size_t>(PickFace(p.faces, cv::Size(92, 112), FacePick::kLargest))];
    const Face& g = q.faces[static_cast<size_t>(PickFace(q.faces, cv::Size(92, 112), FacePick::kLargest))];
    const float same = Cosine(f.embedding, g.embedding);
    std::printf("%s ORL-style 92x112 PGM: cosine to the PNG %.6f, to the colour photo %.3f, reasons %s\n", name.c_str(),
                same, Cosine(f.embedding, full[0].embedding), Reasons(f).c_str());
    EXPECT_GE(same, 0.9f);
  }
}

TEST_F(Pipeline, HardSmallFaceInABigPhoto) {
  cv::Mat photo = Load(LfwPhoto(lfw_, "Colin_Powell", 1));
  auto full = AnalyzeOrFail(*analyzer_, photo);
  ASSERT_EQ(full.size(), 1u);
  // Scale so that the face box is ~24 px tall, and paste into a 4000x3000 grey canvas
  // with some texture.
  const double scale = 24.0 / full[0].box.height;
  cv::Mat small;
  cv::resize(photo, small, cv::Size(), scale, scale, cv::INTER_AREA);
  cv::Mat canvas(3000, 4000, CV_8UC3);
  cv::randn(canvas, cv::Scalar::all(120), cv::Scalar::all(12));
  cv::GaussianBlur(canvas, canvas, cv::Size(0, 0), 3);
  const cv::Point at(2600, 1900);
  small.copyTo(canvas(cv::Rect(at, small.size())));
  const cv::Rect2f expected(static_cast<float>(at.x + full[0].box.x * scale), static_cast<float>(at.y + full[0].box.y * scale),
                            static_cast<float>(full[0].box.width * scale), static_cast<float>(full[0].box.height * scale));

  AnalyzerOptions o;
  o.detector_options.min_face = 20;
  auto a = FaceAnalyzer::Create(o);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  auto faces = AnalyzeOrFail(**a, canvas);
  ASSERT_FALSE(faces.empty()) << "the 24 px face was not found";
  const Face* hit = nullptr;
  for (const auto& f : faces) {
    float iou = (f.box & expected).area() / (f.box | expected).area();
    if (iou > 0.3f) hit = &f;
  }
  ASSERT_NE(hit, nullptr) << "no face near " << expected << "; first found " << faces[0].box;
  std::printf("small face: box %.0fx%.0f, reasons %s, %zu faces in all\n", hit->box.width, hit->box.height,
              Reasons(*hit).c_str(), faces.size());
  EXPECT_TRUE(HasReason(*hit, "small")) << Reasons(*hit);
  EXPECT_LT(hit->quality.size, 1.0f);
  EXPECT_LE(faces.size(), 3u) << "the textured background should not be full of faces";
}

TEST_F(Pipeline, HardBlurredFace) {
  FaceAnalyzer& a = *analyzer_;
  // A sharp photo (Laplacian variance ~190; the "blurred" line is at 40).
  cv::Mat photo = Load(LfwPhoto(lfw_, "Colin_Powell", 1)), blurred;
  cv::GaussianBlur(photo, blurred, cv::Size(0, 0), 4);
  auto sharp = AnalyzeOrFail(a, photo);
  auto faces = AnalyzeOrFail(a, blurred);
  ASSERT_EQ(sharp.size(), 1u);
  ASSERT_GE(faces.size(), 1u) << "the blurred face was not found";
  const Face& f = faces[static_cast<size_t>(PickFace(faces, blurred.size(), FacePick::kCentral))];
  std::printf("blurred: laplacian var %.1f (sharp %.1f), reasons %s\n", f.quality.laplacian_var,
              sharp[0].quality.laplacian_var, Reasons(f).c_str());
  EXPECT_TRUE(HasReason(f, "blurred")) << Reasons(f);
  EXPECT_FALSE(HasReason(sharp[0], "blurred")) << Reasons(sharp[0]);
  EXPECT_LT(f.quality.sharpness, sharp[0].quality.sharpness);
  EXPECT_LT(f.quality.score, sharp[0].quality.score);
}

TEST_F(Pipeline, HardRotatedFace) {
  FaceAnalyzer& a = *analyzer_;
  for (double angle : {30.0, -30.0}) {
    SCOPED_TRACE(angle);
    cv::Mat photo = Load(LfwPhoto(lfw_, "Colin_Powell", 1));
    // Rotate about the centre, on a canvas large enough to keep the whole photo.
    cv::Mat m = cv::getRotationMatrix2D(cv::Point2f(125, 125), angle, 1.0);
    m.at<double>(0, 2) += 50;
    m.at<double>(1, 2) += 50;
    cv::Mat rotated;
    cv::warpAffine(photo, rotated, m, cv::Size(350, 350), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
    auto faces = AnalyzeOrFail(a, rotated);
    ASSERT_GE(faces.size(), 1u) << "the face rotated by " << angle << " degrees was not found";
    const Face& f = faces[static_cast<size_t>(PickFace(faces, rotated.size(), FacePick::kCentral))];
    // The eye line follows the rotation (OpenCV's positive angle turns the picture
    // anticlockwise, which raises the picture-right eye: a negative slope in image y).
    double eye_angle = std::atan2(f.five[1].y - f.five[0].y, f.five[1].x - f.five[0].x) * 180 / CV_PI;
    std::printf("rotated %.0f: eye line %.1f degrees, %zu faces\n", angle, eye_angle, faces.size());
    EXPECT_NEAR(eye_angle, -angle, 12);
  }
}

TEST_F(Pipeline, MirroredPhotoFlipsYaw) {
  FaceAnalyzer& a = *analyzer_;
  // Andy Dick, face turned well to the picture's right (yaw ~ +52 degrees).
  cv::Mat photo = Load(LfwPhoto(lfw_, "Andy_Dick", 1)), mirrored;
  cv::flip(photo, mirrored, 1);
  auto f1 = AnalyzeOrFail(a, photo);
  auto f2 = AnalyzeOrFail(a, mirrored);
  int k1 = PickFace(f1, photo.size(), FacePick::kLargest), k2 = PickFace(f2, mirrored.size(), FacePick::kLargest);
  ASSERT_GE(k1, 0);
  ASSERT_GE(k2, 0);
  const Face &a1 = f1[static_cast<size_t>(k1)], &a2 = f2[static_cast<size_t>(k2)];
  std::printf("yaw %.1f, mirrored %.1f; pitch %.1f, mirrored %.1f\n", a1.quality.yaw_deg, a2.quality.yaw_deg,
              a1.quality.pitch_deg, a2.quality.pitch_deg);
  EXPECT_GT(a1.quality.yaw_deg, 25) << "turned to the picture's right is positive yaw";
  EXPECT_LT(a2.quality.yaw_deg, -25);
  // The landmark network is not mirror-symmetric (52 vs -40 degrees measured), so
  // only roughly opposite.
  EXPECT_NEAR(a1.quality.yaw_deg, -a2.quality.yaw_deg, 18);
  EXPECT_NEAR(a1.quality.pitch_deg, a2.quality.pitch_deg, 5);
  EXPECT_TRUE(HasReason(a1, "turned away")) << Reasons(a1);
  EXPECT_TRUE(HasReason(a2, "turned away")) << Reasons(a2);
  // The mirrored face is still the same person.
  EXPECT_GT(Dot(a1.embedding, a2.embedding), 0.5f);
}

TEST_F(Pipeline, MirrorLandmarksMakeYawSymmetric) {
  // With mirror_landmarks each pass is averaged with the mirrored crop, so a photo
  // and its mirror image get opposite yaw.
  AnalyzerOptions o;
  o.mirror_landmarks = true;
  auto a = FaceAnalyzer::Create(o);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  for (auto [name, i] : std::vector<std::pair<std::string, int>>{{"Andy_Dick", 1}, {"Colin_Powell", 1}}) {
    SCOPED_TRACE(name);
    cv::Mat photo = Load(LfwPhoto(lfw_, name, i)), mirrored;
    cv::flip(photo, mirrored, 1);
    auto f1 = AnalyzeOrFail(**a, photo), f2 = AnalyzeOrFail(**a, mirrored);
    int k1 = PickFace(f1, photo.size(), FacePick::kLargest), k2 = PickFace(f2, mirrored.size(), FacePick::kLargest);
    ASSERT_GE(k1, 0);
    ASSERT_GE(k2, 0);
    float y1 = f1[static_cast<size_t>(k1)].quality.yaw_deg, y2 = f2[static_cast<size_t>(k2)].quality.yaw_deg;
    std::printf("%s with mirrored landmarks: yaw %.1f, mirrored %.1f\n", name.c_str(), y1, y2);
    EXPECT_NEAR(y1, -y2, 4);
  }
}

TEST_F(Pipeline, WebpAndPngPhotosWork) {
  FaceAnalyzer& a = *analyzer_;
  auto webp = a.AnalyzeFile(data_ + "/deepface/img47.jpg", true);
  ASSERT_TRUE(webp.status.ok()) << webp.status.ToString();
  EXPECT_EQ(webp.info.format, "webp");
  EXPECT_GE(webp.faces.size(), 1u);
  auto png = a.AnalyzeFile(data_ + "/face_recognition/examples/alex-lacamoire.png", true);
  ASSERT_TRUE(png.status.ok()) << png.status.ToString();
  EXPECT_EQ(png.info.format, "png");
  EXPECT_GE(png.faces.size(), 1u);
}

TEST_F(Pipeline, AnalyzeFilesOnTwoWorkersMatchesOneByOne) {
  std::vector<std::string> paths;
  for (const char* name : {"Aaron_Peirsol", "Colin_Powell", "Serena_Williams", "Tony_Blair", "George_W_Bush"})
    for (int i : {1, 2}) paths.push_back(LfwPhoto(lfw_, name, i));
  paths.push_back(data_ + "/no_such_photo.jpg");
  std::vector<lineup::PhotoAnalysis> results(paths.size());
  std::vector<int> calls(paths.size(), 0);
  lineup::StageTimes times;
  Status s = lineup::AnalyzeFiles(
      AnalyzerOptions{}, paths, true, 2,
      [&](size_t i, lineup::PhotoAnalysis&& r) {
        ASSERT_LT(i, paths.size());
        calls[i]++;
        results[i] = std::move(r);
      },
      &times);
  ASSERT_TRUE(s.ok()) << s.ToString();
  for (size_t i = 0; i < paths.size(); ++i) EXPECT_EQ(calls[i], 1) << paths[i];
  EXPECT_EQ(times.photos, 10) << "the photo that could not be read is not analysed";
  EXPECT_EQ(results.back().status.code(), Status::Code::kNotFound);
  FaceAnalyzer& a = *analyzer_;
  for (size_t i = 0; i + 1 < paths.size(); ++i) {
    SCOPED_TRACE(paths[i]);
    EXPECT_EQ(results[i].path, paths[i]);
    ASSERT_TRUE(results[i].status.ok()) << results[i].status.ToString();
    auto one = AnalyzeOrFail(a, Load(paths[i]));
    ASSERT_EQ(results[i].faces.size(), one.size());
    ASSERT_FALSE(one.empty());
    EXPECT_GT(Cosine(results[i].faces[0].embedding, one[0].embedding), 0.999f);
    EXPECT_NEAR(Norm(results[i].faces[0].embedding), Norm(one[0].embedding), 1e-3f);
    EXPECT_LT(cv::norm(results[i].faces[0].box.tl() - one[0].box.tl()), 0.5);
  }
}

// Tony_Blair_0003's one face embedded by the default analyzer and by `spec`'s, whose
// model goes to *model. Empty vectors (and a test failure) if either misses the face.
std::pair<std::vector<float>, std::vector<float>> EmbedByDefaultAnd(FaceAnalyzer& def, const std::string& lfw,
                                                                    const std::string& spec,
                                                                    lineup::EmbeddingModel* model) {
  AnalyzerOptions o;
  o.embedder = spec;
  auto other = FaceAnalyzer::Create(o);
  EXPECT_TRUE(other.ok()) << other.status().ToString();
  if (!other.ok()) return {};
  *model = (*other)->Model();
  cv::Mat photo = Load(LfwPhoto(lfw, "Tony_Blair", 3));
  auto a = AnalyzeOrFail(def, photo);
  auto b = AnalyzeOrFail(**other, photo);
  EXPECT_EQ(a.size(), 1u);
  EXPECT_EQ(b.size(), 1u);
  if (a.size() != 1 || b.size() != 1) return {};
  return {a[0].embedding, b[0].embedding};
}

TEST_F(Pipeline, DefaultIsTheUnitVectorTimesTheFacesWeight) {
  lineup::EmbeddingModel unit;
  auto [a, b] = EmbedByDefaultAnd(*analyzer_, lfw_, "fr_feature", &unit);
  ASSERT_FALSE(a.empty() || b.empty());
  const lineup::EmbeddingModel& def = analyzer_->Model();
  EXPECT_EQ(def.setting, "bgr+weight");
  EXPECT_EQ(unit.setting, "bgr");
  EXPECT_NE(def.Id(), unit.Id()) << "weighted and unit vectors must never be mixed";
  EXPECT_FLOAT_EQ(def.weight_limit, 1.25f);
  EXPECT_FLOAT_EQ(unit.weight_limit, 1.0f);
  EXPECT_NEAR(Norm(b), 1.0f, 1e-4f);
  EXPECT_GT(Cosine(a, b), 0.99999f) << "the weight scales the vector, it does not turn it";
  EXPECT_GT(std::fabs(Norm(a) - 1.0f), 1e-4f) << "a face's weight is rarely exactly 1";
}

// A face the network is less sure of gets a larger weight: the same photo blurred.
TEST_F(Pipeline, BlurredFaceGetsALargerWeight) {
  cv::Mat photo = Load(LfwPhoto(lfw_, "Tony_Blair", 3)), blurred;
  cv::GaussianBlur(photo, blurred, cv::Size(0, 0), 3.0);
  auto sharp = AnalyzeOrFail(*analyzer_, photo);
  auto soft = AnalyzeOrFail(*analyzer_, blurred);
  ASSERT_EQ(sharp.size(), 1u);
  ASSERT_EQ(soft.size(), 1u);
  std::printf("weight sharp %.4f, blurred %.4f\n", Norm(sharp[0].embedding), Norm(soft[0].embedding));
  EXPECT_GT(Norm(soft[0].embedding), Norm(sharp[0].embedding) + 0.01f);
  EXPECT_LE(Norm(soft[0].embedding), 1.25f + 1e-4f);
}

TEST_F(Pipeline, FlipEmbedderIsADifferentModelIdButAgrees) {
  lineup::EmbeddingModel flip;
  auto [a, b] = EmbedByDefaultAnd(*analyzer_, lfw_, "fr_feature+flip", &flip);
  ASSERT_FALSE(a.empty() || b.empty());
  EXPECT_NE(flip.Id(), analyzer_->Model().Id()) << "vectors of the two settings must never be mixed";
  EXPECT_EQ(flip.setting, "bgr+flip");
  EXPECT_NEAR(Norm(b), 1.0f, 1e-3f);
  const float sim = Cosine(a, b);
  EXPECT_GT(sim, 0.8f);
  EXPECT_LT(sim, 0.99999f) << "the flip setting should change the vector";
}

TEST_F(Pipeline, RgbSettingKeepsTheOldModelIdAndIsADifferentVector) {
  lineup::EmbeddingModel rgb;
  auto [a, b] = EmbedByDefaultAnd(*analyzer_, lfw_, "fr_feature:rgb", &rgb);
  ASSERT_FALSE(a.empty() || b.empty());
  EXPECT_EQ(analyzer_->Model().setting, "bgr+weight");
  // Galleries filled before the default became BGR carry this id and must still open.
  EXPECT_EQ(rgb.Id(), "fr_feature@faceplugin-face-recognition-js@0.0.1+plain");
  const float sim = Cosine(a, b);
  EXPECT_GT(sim, 0.7f) << "the same face in either channel order";
  EXPECT_LT(sim, 0.999f) << "the channel order must change the vector";
}

}  // namespace
