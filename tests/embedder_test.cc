// The embedding models (lineup/embedder.h) and dlib's face chip (lineup/aligner.h):
// faceapi_resnet, the dlib ResNet rebuilt in OpenCV's DNN module from the TensorFlow.js
// weights of @vladmandic/face-api, and its fusion with fr_feature.
//
// Thresholds were picked from what the models measure on these photos, with room for
// small changes (the measured values are in the comments).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "lineup/aligner.h"
#include "lineup/analyzer.h"
#include "lineup/embedder.h"
#include "lineup/image.h"
#include "lineup/models.h"
#include "test_util.h"

namespace {

namespace fs = std::filesystem;
using lineup::Embedder;
using lineup::Face;
using lineup::FaceAnalyzer;
using lineup::Status;

cv::Point2d Apply(const cv::Matx23d& m, cv::Point2d p) {
  return {m(0, 0) * p.x + m(0, 1) * p.y + m(0, 2), m(1, 0) * p.x + m(1, 1) * p.y + m(1, 2)};
}

float RowDot(const cv::Mat& a, int i, const cv::Mat& b, int j) { return static_cast<float>(a.row(i).dot(b.row(j))); }

std::string LfwPhoto(const std::string& lfw_images, const std::string& name, int i) {
  char num[8];
  std::snprintf(num, sizeof num, "%04d", i);
  return lfw_images + "/" + name + "/" + name + "_" + num + ".jpg";
}

std::unique_ptr<Embedder> CreateOrFail(const std::string& spec) {
  auto e = Embedder::Create(spec, lineup::DefaultModelDir());
  EXPECT_TRUE(e.ok()) << spec << ": " << e.status().ToString();
  return e.ok() ? std::move(*e) : nullptr;
}

// ------------------------------------------------------------ dlib's chip (no models)

// 68 points whose 33 chip points are the chip template mapped into a photo by `chip_to_photo`.
std::vector<cv::Point2f> LandmarksFromTemplate(const cv::Matx23d& chip_to_photo) {
  std::vector<cv::Point2f> t = lineup::DlibChipTemplate(150, 0.25), p68(68, cv::Point2f(0, 0));
  size_t k = 0;
  for (int i = 17; i < 68; ++i)
    if ((i >= 27 && i <= 54) || (i >= 60 && i <= 64)) {
      cv::Point2d q = Apply(chip_to_photo, cv::Point2d(t[k++]));
      p68[static_cast<size_t>(i)] = cv::Point2f(static_cast<float>(q.x), static_cast<float>(q.y));
    }
  EXPECT_EQ(k, t.size());
  return p68;
}

TEST(DlibChip, TemplateIsDlibsMeanFaceWithPadding) {
  std::vector<cv::Point2f> t = lineup::DlibChipTemplate(150, 0.25);
  ASSERT_EQ(t.size(), 33u);  // landmarks 27..54 and 60..64
  // Nose bridge top (27) centred, eye corners (36, 45) level, mouth below the nose.
  EXPECT_NEAR(t[0].x, 75, 1.5);
  EXPECT_NEAR(t[36 - 27].y, t[45 - 27].y, 0.01);
  EXPECT_LT(t[36 - 27].x, t[45 - 27].x);
  EXPECT_GT(t[51 - 27].y, t[33 - 27].y);
  // padding 0.25: the unit square's [0,1] maps to [25, 125] of 150 pixels.
  for (const auto& p : t) {
    EXPECT_GT(p.x, 25);
    EXPECT_LT(p.x, 125);
    EXPECT_GT(p.y, 25);
    EXPECT_LT(p.y, 125);
  }
}

TEST(DlibChip, LandmarksOnTheTemplateLandOnTheChipTemplate) {
  // A face 1.6x the chip's size, turned by 20 degrees, somewhere in a photo.
  const double s = 1.6, a = 20 * CV_PI / 180;
  const cv::Matx23d chip_to_photo(s * std::cos(a), -s * std::sin(a), 310, s * std::sin(a), s * std::cos(a), 95);
  std::vector<cv::Point2f> p68 = LandmarksFromTemplate(chip_to_photo);
  cv::Matx23d m = lineup::DlibChipTransform(p68);
  std::vector<cv::Point2f> t = lineup::DlibChipTemplate(150, 0.25);
  size_t k = 0;
  for (int i = 17; i < 68; ++i)
    if ((i >= 27 && i <= 54) || (i >= 60 && i <= 64)) {
      // As dlib's extract_image_chip: template coordinates 0..150 span chip pixels 0..149.
      cv::Point2d q = Apply(m, cv::Point2d(p68[static_cast<size_t>(i)]));
      EXPECT_NEAR(q.x, t[k].x * 149.0 / 150, 1e-3) << "landmark " << i;
      EXPECT_NEAR(q.y, t[k].y * 149.0 / 150, 1e-3) << "landmark " << i;
      ++k;
    }
  // The chip is 150x150, black where it leaves the photo.
  cv::Mat white(200, 200, CV_8UC3, cv::Scalar::all(255));
  cv::Mat chip = lineup::AlignDlibChip(white, p68);
  ASSERT_EQ(chip.size(), cv::Size(150, 150));
  ASSERT_EQ(chip.type(), CV_8UC3);
  EXPECT_EQ(chip.at<cv::Vec3b>(75, 75), cv::Vec3b(0, 0, 0)) << "the face centre is at x 310, outside the photo";
}

// ------------------------------------------------------------ specs and files

TEST(EmbedderFiles, SpecsNameTheirModels) {
  auto fused = CreateOrFail("fr_feature+faceapi");
  auto face_api = CreateOrFail("faceapi_resnet");
  auto fr = CreateOrFail("fr_feature");
  ASSERT_TRUE(fused && face_api && fr);
  EXPECT_EQ(face_api->Model().dim, 128);
  EXPECT_EQ(face_api->Model().Id(), "faceapi_resnet@@vladmandic/face-api@1.7.15+plain");
  EXPECT_EQ(fused->Model().dim, 512 + 128);
  char w[16];
  std::snprintf(w, sizeof w, "%.2f", Embedder::kDefaultFusionWeight);
  EXPECT_EQ(fused->Model().Id(), std::string("fr_feature+faceapi_resnet@faceplugin-face-recognition-js@0.0.1,"
                                             "@vladmandic/face-api@1.7.15+plain,plain,w") + w);
  // Every setting is its own id: vectors of different models or weights never mix.
  auto other_weight = CreateOrFail("fr_feature+faceapi:0.35");
  ASSERT_TRUE(other_weight);
  std::vector<std::string> ids = {fr->Model().Id(), face_api->Model().Id(), fused->Model().Id(), other_weight->Model().Id()};
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(std::unique(ids.begin(), ids.end()), ids.end());
  // A fusion has no single crop to embed.
  std::vector<cv::Mat> crops = {cv::Mat(112, 112, CV_8UC3, cv::Scalar::all(90))};
  EXPECT_EQ(fused->Embed(crops).status().code(), Status::Code::kInvalidArgument);
  // faceapi_resnet wants its own 150x150 chips, and faces with 68 landmarks.
  EXPECT_EQ(face_api->Embed(crops).status().code(), Status::Code::kInvalidArgument);
  std::vector<Face> no_landmarks(1);
  EXPECT_EQ(face_api->EmbedFaces(crops[0], no_landmarks, {}).status().code(), Status::Code::kInvalidArgument);
  for (const char* bad : {"fr_feature+faceapi:1.5", "fr_feature+faceapi:0", "fr_feature+faceapi:0.555",
                          "fr_feature+faceapi:x", "fr_feature+faceapi0.5", "faceapi", "dlib"}) {
    auto e = Embedder::Create(bad, lineup::DefaultModelDir());
    EXPECT_EQ(e.status().code(), Status::Code::kInvalidArgument) << bad;
  }
}

TEST(EmbedderFiles, MissingOrCorruptWeightsAreClearErrors) {
  lineup_test::TempDir tmp;
  const std::string manifest = "face_recognition_model-weights_manifest.json", bin = "face_recognition_model.bin";
  for (const auto& f : {manifest, bin, std::string("fr_feature.onnx")})
    fs::copy_file(fs::path(lineup::DefaultModelDir()) / f, fs::path(tmp.path()) / f);
  ASSERT_TRUE(Embedder::Create("faceapi_resnet", tmp.path()).ok()) << "the copies load";

  auto bytes = lineup_test::ReadBytes(tmp.File(bin));
  ASSERT_GT(bytes.size(), 1000000u);
  bytes[bytes.size() / 3] ^= 0x10;
  lineup_test::WriteBytes(tmp.File(bin), bytes);
  for (const char* spec : {"faceapi_resnet", "fr_feature+faceapi"}) {
    auto e = Embedder::Create(spec, tmp.path());
    ASSERT_FALSE(e.ok()) << spec;
    EXPECT_EQ(e.status().code(), Status::Code::kCorrupt) << spec;
    EXPECT_NE(e.status().message().find(tmp.File(bin)), std::string::npos) << e.status().message();
    EXPECT_NE(e.status().message().find("make models"), std::string::npos) << e.status().message();
  }
  bytes.resize(bytes.size() / 2);  // truncated
  lineup_test::WriteBytes(tmp.File(bin), bytes);
  EXPECT_EQ(Embedder::Create("faceapi_resnet", tmp.path()).status().code(), Status::Code::kCorrupt);

  fs::remove(tmp.File(manifest));
  auto e = Embedder::Create("faceapi_resnet", tmp.path());
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), Status::Code::kNotFound);
  EXPECT_NE(e.status().message().find(tmp.File(manifest)), std::string::npos) << e.status().message();
  EXPECT_NE(e.status().message().find("make models"), std::string::npos) << e.status().message();
}

// ------------------------------------------------------------ real photos

// Faces of LFW photos (the one nearest the centre), with landmarks, from the default
// analyzer; each model then embeds them itself.
class EmbedderOnPhotos : public ::testing::Test {
 protected:
  struct Photo {
    cv::Mat bgr;
    Face face;
  };

  void SetUp() override {
    LINEUP_REQUIRE_DATA(lfw_, "lfw/images");
    auto a = FaceAnalyzer::Create(lineup::AnalyzerOptions{});
    ASSERT_TRUE(a.ok()) << a.status().ToString() << " (models missing? run `make models`)";
    analyzer_ = std::move(*a);
  }

  Photo Lfw(const std::string& name, int i) {
    Photo p;
    auto img = lineup::ReadImage(LfwPhoto(lfw_, name, i));
    EXPECT_TRUE(img.ok()) << img.status().ToString();
    if (!img.ok()) return p;
    p.bgr = img->bgr;
    auto faces = analyzer_->Analyze(p.bgr, false);
    EXPECT_TRUE(faces.ok()) << faces.status().ToString();
    if (!faces.ok()) return p;
    int k = lineup::PickFace(*faces, p.bgr.size(), lineup::FacePick::kCentral);
    EXPECT_GE(k, 0) << name << " " << i;
    if (k >= 0) p.face = (*faces)[static_cast<size_t>(k)];
    return p;
  }

  // One row per photo.
  cv::Mat EmbedAll(Embedder& e, const std::vector<Photo>& photos) {
    cv::Mat out;
    for (const auto& p : photos) {
      auto v = e.EmbedFaces(p.bgr, std::span<const Face>(&p.face, 1), {});
      EXPECT_TRUE(v.ok()) << v.status().ToString();
      if (!v.ok()) return {};
      out.push_back(*v);
    }
    return out;
  }

  std::string lfw_;
  std::unique_ptr<FaceAnalyzer> analyzer_;
};

TEST_F(EmbedderOnPhotos, FaceApiResNetGivesUnitVectorsThatTellPeopleApart) {
  auto e = CreateOrFail("faceapi_resnet");
  ASSERT_TRUE(e);
  const std::vector<std::string> people = {"Aaron_Peirsol", "Colin_Powell", "Serena_Williams", "Tony_Blair"};
  std::vector<Photo> photos;
  for (const auto& p : people)
    for (int i : {1, 2}) photos.push_back(Lfw(p, i));
  cv::Mat v = EmbedAll(*e, photos);
  ASSERT_EQ(v.rows, 8);
  ASSERT_EQ(v.cols, 128);
  ASSERT_EQ(v.type(), CV_32F);
  for (int i = 0; i < v.rows; ++i) EXPECT_NEAR(cv::norm(v.row(i)), 1.0, 1e-4);
  float min_same = 2, max_diff = -2;
  for (int p = 0; p < 4; ++p) {
    min_same = std::min(min_same, RowDot(v, 2 * p, v, 2 * p + 1));
    for (int q = p + 1; q < 4; ++q)
      for (int i : {0, 1})
        for (int j : {0, 1}) max_diff = std::max(max_diff, RowDot(v, 2 * p + i, v, 2 * q + j));
  }
  // The dlib vectors share a large common part: cosines of different people are high
  // too, but the same person's are higher (measured: same min 0.948, different max 0.898).
  std::printf("faceapi_resnet: same person min %.3f; different people max %.3f\n", min_same, max_diff);
  EXPECT_GT(min_same, 0.92f);
  EXPECT_LT(max_diff, 0.92f);
  EXPECT_GT(min_same - max_diff, 0.025f);
  // Deterministic: the same face gives the same vector.
  cv::Mat again = EmbedAll(*e, {photos[0]});
  EXPECT_GT(RowDot(v, 0, again, 0), 0.99999f);
}

TEST_F(EmbedderOnPhotos, FusionIsTheWeightedSumOfTheTwoCosines) {
  auto fused = CreateOrFail("fr_feature+faceapi:0.70");
  auto fr = CreateOrFail("fr_feature:rgb");  // the fusion keeps the RGB input it was measured with
  auto face_api = CreateOrFail("faceapi_resnet");
  ASSERT_TRUE(fused && fr && face_api);
  std::vector<Photo> photos = {Lfw("Colin_Powell", 1), Lfw("Colin_Powell", 2), Lfw("Tony_Blair", 1)};
  cv::Mat f = EmbedAll(*fused, photos), a = EmbedAll(*fr, photos), b = EmbedAll(*face_api, photos);
  ASSERT_EQ(f.rows, 3);
  ASSERT_EQ(f.cols, 640);
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(cv::norm(f.row(i)), 1.0, 1e-4);
    for (int j = i + 1; j < 3; ++j)
      EXPECT_NEAR(RowDot(f, i, f, j), 0.7f * RowDot(a, i, a, j) + 0.3f * RowDot(b, i, b, j), 1e-4) << i << "," << j;
  }
  EXPECT_GT(RowDot(f, 0, f, 1), RowDot(f, 0, f, 2));
}

TEST_F(EmbedderOnPhotos, FrFeatureThroughEmbedFacesIsBitIdenticalToItsCrops) {
  // The analyzer passes its 112x112 crops; without them the default EmbedFaces makes
  // the same crops. Either way fr_feature's vectors stay what they were.
  auto fr = CreateOrFail("fr_feature");
  ASSERT_TRUE(fr);
  Photo p = Lfw("Serena_Williams", 1);
  std::vector<cv::Mat> crop = {lineup::AlignFace(p.bgr, p.face.five)};
  auto direct = fr->Embed(crop);
  auto own = fr->EmbedFaces(p.bgr, std::span<const Face>(&p.face, 1), {});
  auto given = fr->EmbedFaces(p.bgr, std::span<const Face>(&p.face, 1), crop);
  ASSERT_TRUE(direct.ok() && own.ok() && given.ok());
  EXPECT_EQ(cv::norm(*direct, *own, cv::NORM_INF), 0.0);
  EXPECT_EQ(cv::norm(*direct, *given, cv::NORM_INF), 0.0);
  // And, times the face's weight, it is what the default analyzer stores.
  auto weighted = CreateOrFail("fr_feature+weight");
  ASSERT_TRUE(weighted);
  auto w = weighted->Embed(crop);
  ASSERT_TRUE(w.ok());
  EXPECT_NEAR(cv::norm(*w / cv::norm(*w), *direct, cv::NORM_INF), 0.0, 1e-6);
  auto faces = analyzer_->Analyze(p.bgr, true);
  ASSERT_TRUE(faces.ok());
  int k = lineup::PickFace(*faces, p.bgr.size(), lineup::FacePick::kCentral);
  ASSERT_GE(k, 0);
  const auto& emb = (*faces)[static_cast<size_t>(k)].embedding;
  ASSERT_EQ(emb.size(), 512u);
  EXPECT_EQ(cv::norm(cv::Mat(1, 512, CV_32F, const_cast<float*>(emb.data())), *w, cv::NORM_INF), 0.0);
}

TEST_F(EmbedderOnPhotos, AnalyzerRunsTheChosenEmbedder) {
  lineup::AnalyzerOptions o;
  o.embedder = "fr_feature+faceapi";
  auto a = FaceAnalyzer::Create(o);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ((*a)->Model().dim, 640);
  auto img = lineup::ReadImage(LfwPhoto(lfw_, "Tony_Blair", 3));
  ASSERT_TRUE(img.ok());
  auto faces = (*a)->Analyze(img->bgr, true);
  ASSERT_TRUE(faces.ok()) << faces.status().ToString();
  ASSERT_FALSE(faces->empty());
  for (const auto& f : *faces) {
    ASSERT_EQ(f.embedding.size(), 640u);
    float n = 0;
    for (float x : f.embedding) n += x * x;
    EXPECT_NEAR(n, 1.0f, 1e-3f);
  }
}

}  // namespace
