// Alignment geometry (lineup/aligner.h), the five points from 68 landmarks
// (lineup/landmarker.h) and the pose estimate (lineup/quality.h). No models needed.
#include <cmath>
#include <vector>

#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>

#include "lineup/aligner.h"
#include "lineup/landmarker.h"
#include "lineup/quality.h"

namespace {

using lineup::AlignFace;
using lineup::AlignmentTemplate;
using lineup::FivePoints;
using lineup::SimilarityTransform;

cv::Point2d Apply(const cv::Matx23d& m, cv::Point2d p) {
  return {m(0, 0) * p.x + m(0, 1) * p.y + m(0, 2), m(1, 0) * p.x + m(1, 1) * p.y + m(1, 2)};
}

// A similarity: scale s, rotation by `deg` degrees, then translation (tx, ty).
cv::Matx23d Similarity(double s, double deg, double tx, double ty) {
  double a = deg * CV_PI / 180, c = s * std::cos(a), n = s * std::sin(a);
  return {c, -n, tx, n, c, ty};
}

FivePoints Transformed(const FivePoints& pts, const cv::Matx23d& m) {
  FivePoints out;
  for (size_t i = 0; i < 5; ++i) {
    cv::Point2d q = Apply(m, cv::Point2d(pts[i]));
    out[i] = cv::Point2f(static_cast<float>(q.x), static_cast<float>(q.y));
  }
  return out;
}

TEST(AlignmentTemplate, IsTheStandard112Template) {
  const FivePoints& t = AlignmentTemplate();
  // Eyes above the nose above the mouth; the subject's right eye and mouth corner on the picture's left.
  EXPECT_LT(t[0].x, t[1].x);
  EXPECT_LT(t[3].x, t[4].x);
  EXPECT_LT(t[0].y, t[2].y);
  EXPECT_LT(t[2].y, t[3].y);
  for (const auto& p : t) {
    EXPECT_GT(p.x, 0);
    EXPECT_LT(p.x, 112);
    EXPECT_GT(p.y, 0);
    EXPECT_LT(p.y, 112);
  }
  EXPECT_NEAR((t[0].x + t[1].x) / 2, 56, 1.0);
}

TEST(SimilarityTransform, RecoversAKnownSimilarityExactly) {
  const FivePoints& t = AlignmentTemplate();
  for (auto [s, deg, tx, ty] : std::vector<std::tuple<double, double, double, double>>{
           {1.0, 0, 0, 0}, {1.7, 25, 40, -13}, {0.35, -60, 300.5, 210.25}, {3.2, 170, -50, 900}}) {
    SCOPED_TRACE(::testing::Message() << "s=" << s << " deg=" << deg);
    cv::Matx23d m = Similarity(s, deg, tx, ty);
    FivePoints photo = Transformed(t, m);
    // photo -> template is the inverse of m; template -> photo is m itself.
    cv::Matx23d back = SimilarityTransform(photo, t);
    for (size_t i = 0; i < 5; ++i) {
      cv::Point2d q = Apply(back, cv::Point2d(photo[i]));
      EXPECT_NEAR(q.x, t[i].x, 1e-3);
      EXPECT_NEAR(q.y, t[i].y, 1e-3);
    }
    cv::Matx23d fwd = SimilarityTransform(t, photo);
    for (int r = 0; r < 2; ++r)
      for (int c = 0; c < 3; ++c) EXPECT_NEAR(fwd(r, c), m(r, c), 1e-3 * std::max(1.0, std::abs(m(r, c))));
    // A similarity has no shear: the linear part is [a -b; b a].
    EXPECT_NEAR(back(0, 0), back(1, 1), 1e-9);
    EXPECT_NEAR(back(0, 1), -back(1, 0), 1e-9);
  }
}

TEST(SimilarityTransform, IsTheLeastSquaresFitForNoisyPoints) {
  const FivePoints& t = AlignmentTemplate();
  cv::Matx23d m = Similarity(2.0, 10, 100, 50);
  FivePoints photo = Transformed(t, m);
  const float noise[5][2] = {{0.8f, -0.5f}, {-0.6f, 0.4f}, {0.3f, 0.9f}, {-0.7f, -0.2f}, {0.2f, -0.6f}};
  for (size_t i = 0; i < 5; ++i) photo[i] += cv::Point2f(noise[i][0], noise[i][1]);
  cv::Matx23d fit = SimilarityTransform(t, photo);
  auto sse = [&](const cv::Matx23d& x) {
    double e = 0;
    for (size_t i = 0; i < 5; ++i) {
      cv::Point2d d = Apply(x, cv::Point2d(t[i])) - cv::Point2d(photo[i]);
      e += d.dot(d);
    }
    return e;
  };
  // The fit is no worse than the true transform, and nudging it makes it worse.
  EXPECT_LE(sse(fit), sse(m) + 1e-9);
  for (int r = 0; r < 2; ++r)
    for (int c = 0; c < 3; ++c) {
      cv::Matx23d nudged = fit;
      nudged(r, c) += c == 2 ? 0.05 : 0.001;
      EXPECT_GT(sse(nudged), sse(fit));
    }
}

TEST(SimilarityTransform, DegeneratePointsGiveAFiniteTransform) {
  FivePoints same;
  same.fill(cv::Point2f(40, 60));
  cv::Matx23d m = SimilarityTransform(same, AlignmentTemplate());
  for (int r = 0; r < 2; ++r)
    for (int c = 0; c < 3; ++c) EXPECT_TRUE(std::isfinite(m(r, c)));
}

TEST(AlignFace, Outputs112x112AndPutsThePointsOnTheTemplate) {
  // A grey photo with a coloured dot at each of the five points of a rotated, scaled face.
  const FivePoints& t = AlignmentTemplate();
  cv::Matx23d m = Similarity(2.5, -20, 150, 120);
  FivePoints five = Transformed(t, m);
  cv::Mat photo(480, 640, CV_8UC3, cv::Scalar::all(128));
  const cv::Scalar colours[5] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 0}, {0, 255, 255}};
  for (size_t i = 0; i < 5; ++i) cv::circle(photo, five[i], 8, colours[i], cv::FILLED);
  cv::Mat aligned = AlignFace(photo, five);
  ASSERT_EQ(aligned.size(), cv::Size(112, 112));
  ASSERT_EQ(aligned.type(), CV_8UC3);
  for (size_t i = 0; i < 5; ++i) {
    cv::Vec3b px = aligned.at<cv::Vec3b>(cvRound(t[i].y), cvRound(t[i].x));
    for (int c = 0; c < 3; ++c) EXPECT_NEAR(px[c], colours[i][c], 10) << "point " << i << " channel " << c;
  }
}

TEST(AlignFace, PixelsFromOutsideThePhotoAreBlack) {
  cv::Mat white(100, 100, CV_8UC3, cv::Scalar::all(255));
  // Points far outside the photo: every output pixel samples outside it.
  FivePoints five = Transformed(AlignmentTemplate(), Similarity(1, 0, -500, -500));
  cv::Mat aligned = AlignFace(white, five);
  ASSERT_EQ(aligned.size(), cv::Size(112, 112));
  EXPECT_EQ(cv::countNonZero(aligned.reshape(1)), 0);
  // Half in: the photo's pixels appear, the rest stays black.
  FivePoints half = Transformed(AlignmentTemplate(), Similarity(1, 0, -56, 0));
  cv::Mat part = AlignFace(white, half);
  EXPECT_EQ(part.at<cv::Vec3b>(50, 100), cv::Vec3b(255, 255, 255));
  EXPECT_EQ(part.at<cv::Vec3b>(50, 10), cv::Vec3b(0, 0, 0));
}

TEST(FivePointsFrom68, OrderAndAverages) {
  std::vector<cv::Point2f> p(68);
  for (int i = 0; i < 68; ++i) p[static_cast<size_t>(i)] = cv::Point2f(static_cast<float>(i), static_cast<float>(1000 - 3 * i));
  FivePoints f = lineup::FivePointsFrom68(p);
  auto mean = [&](std::initializer_list<int> idx) {
    cv::Point2f s(0, 0);
    for (int i : idx) s += p[static_cast<size_t>(i)];
    return s * (1.0f / static_cast<float>(idx.size()));
  };
  auto near = [](cv::Point2f a, cv::Point2f b) { return cv::norm(a - b) < 1e-4; };
  EXPECT_TRUE(near(f[0], mean({36, 37, 38, 39, 40, 41}))) << f[0];  // subject's right eye
  EXPECT_TRUE(near(f[1], mean({42, 43, 44, 45, 46, 47}))) << f[1];  // left eye
  EXPECT_TRUE(near(f[2], p[30])) << f[2];                            // nose tip
  EXPECT_TRUE(near(f[3], mean({48, 60}))) << f[3];                   // right mouth corner
  EXPECT_TRUE(near(f[4], mean({54, 64}))) << f[4];                   // left mouth corner
}

// A frontal 68-point face in iBUG order, centred on x = 0, with the nose tip at `nose_x`.
std::vector<cv::Point2f> Face68(float nose_x) {
  std::vector<cv::Point2f> p(68);
  for (int i = 0; i <= 16; ++i) {  // jaw, picture left to right
    float a = static_cast<float>(CV_PI) * static_cast<float>(i) / 16.0f;
    p[static_cast<size_t>(i)] = {-50.0f * std::cos(a), 10.0f + 45.0f * std::sin(a)};
  }
  for (int i = 17; i <= 21; ++i) p[static_cast<size_t>(i)] = {-40.0f + 7.0f * static_cast<float>(i - 17), -30};
  for (int i = 22; i <= 26; ++i) p[static_cast<size_t>(i)] = {12.0f + 7.0f * static_cast<float>(i - 22), -30};
  for (int i = 27; i <= 30; ++i) p[static_cast<size_t>(i)] = {nose_x * static_cast<float>(i - 27) / 3.0f, -15.0f + 6.0f * static_cast<float>(i - 27)};
  for (int i = 31; i <= 35; ++i) p[static_cast<size_t>(i)] = {nose_x - 10.0f + 5.0f * static_cast<float>(i - 31), 8};
  // Picture-left eye (outer corner 36, inner corner 39); the other eye is its mirror image.
  const float eye[6][2] = {{-8, 0}, {-3, -3}, {3, -3}, {8, 0}, {3, 3}, {-3, 3}};
  for (int k = 0; k < 6; ++k) p[static_cast<size_t>(36 + k)] = {-20.0f + eye[k][0], -20.0f + eye[k][1]};
  const int other_eye[6] = {45, 44, 43, 42, 47, 46};  // mirror partners of 36..41
  for (int k = 0; k < 6; ++k) {
    const cv::Point2f& q = p[static_cast<size_t>(36 + k)];
    p[static_cast<size_t>(other_eye[k])] = {-q.x, q.y};
  }
  for (int i = 48; i <= 59; ++i) {
    float a = 2 * static_cast<float>(CV_PI) * static_cast<float>(i - 48) / 12.0f;
    p[static_cast<size_t>(i)] = {-20.0f * std::cos(a), 25.0f - 6.0f * std::sin(a)};
  }
  for (int i = 60; i <= 67; ++i) {
    float a = 2 * static_cast<float>(CV_PI) * static_cast<float>(i - 60) / 8.0f;
    p[static_cast<size_t>(i)] = {-14.0f * std::cos(a), 25.0f - 3.0f * std::sin(a)};
  }
  return p;
}

// The same face seen in a mirror: x flipped, and each point renamed to its mirror
// partner (iBUG 300-W symmetry), as a landmarker would label the mirrored photo.
std::vector<cv::Point2f> Mirrored(const std::vector<cv::Point2f>& p) {
  static const int partner[68] = {16, 15, 14, 13, 12, 11, 10, 9,  8,  7,  6,  5,  4,  3,  2,  1,  0,
                                  26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 27, 28, 29, 30, 35, 34, 33,
                                  32, 31, 45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40, 54, 53, 52,
                                  51, 50, 49, 48, 59, 58, 57, 56, 55, 64, 63, 62, 61, 60, 67, 66, 65};
  std::vector<cv::Point2f> m(68);
  for (int i = 0; i < 68; ++i) {
    cv::Point2f q = p[static_cast<size_t>(partner[i])];
    m[static_cast<size_t>(i)] = {-q.x, q.y};
  }
  return m;
}

TEST(EstimatePose, FrontalIsNearZero) {
  cv::Point2f pose = lineup::EstimatePose(Face68(0));
  EXPECT_NEAR(pose.x, 0, 1.0);
  EXPECT_LT(std::abs(pose.y), 20);
}

TEST(EstimatePose, YawSignFollowsTheNoseAndFlipsInAMirror) {
  auto right = Face68(20);  // nose towards picture right: turned to picture right
  cv::Point2f a = lineup::EstimatePose(right);
  EXPECT_GT(a.x, 10) << "nose towards picture right must give positive yaw";
  cv::Point2f b = lineup::EstimatePose(Mirrored(right));
  EXPECT_LT(b.x, -10) << "the mirrored face must turn the other way";
  EXPECT_NEAR(a.x, -b.x, 0.5);
  EXPECT_NEAR(a.y, b.y, 0.5) << "mirroring must not change pitch";
  // Further turned, larger yaw.
  EXPECT_GT(lineup::EstimatePose(Face68(35)).x, a.x);
}

TEST(EstimatePose, PitchSignFollowsTheNose) {
  auto up = Face68(0), down = Face68(0);
  up[30].y -= 8;    // nose tip closer to the eyes: the head tilts back (looking up)
  down[30].y += 8;  // closer to the mouth: looking down
  EXPECT_GT(lineup::EstimatePose(down).y, lineup::EstimatePose(up).y);
  EXPECT_GT(lineup::EstimatePose(down).y, 0) << "positive pitch = looking down";
}

TEST(EstimatePose, WrongPointCountIsZero) {
  cv::Point2f pose = lineup::EstimatePose(std::vector<cv::Point2f>(5, cv::Point2f(3, 4)));
  EXPECT_EQ(pose, cv::Point2f(0, 0));
  EXPECT_EQ(lineup::EstimatePose({}), cv::Point2f(0, 0));
}

}  // namespace
