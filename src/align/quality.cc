#include "lineup/quality.h"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

namespace lineup {

namespace {
float Ramp(float x, float lo, float hi) { return std::clamp((x - lo) / (hi - lo), 0.0f, 1.0f); }
}  // namespace

cv::Point2f EstimatePose(const std::vector<cv::Point2f>& p) {
  if (p.size() != 68) return {0, 0};
  // Yaw: where the nose tip sits between the two sides of the face (points 0..16 are
  // the jaw line, 30 the nose tip). Frontal faces put it half way; asin maps the
  // offset to an angle under a cylinder model of the head.
  float left = (p[0].x + p[1].x + p[2].x) / 3, right = (p[14].x + p[15].x + p[16].x) / 3;
  float width = right - left;
  float yaw = 0;
  if (std::abs(width) > 1e-3f) {
    float t = std::clamp(2 * (p[30].x - left) / width - 1, -1.0f, 1.0f);
    yaw = std::asin(t) * 180 / static_cast<float>(CV_PI);
  }
  // Pitch: the nose tip's height between the eye line and the mouth line; about 0.45
  // of the way down on frontal LFW faces.
  float eyes = 0, mouth = 0;
  for (int i = 36; i < 48; ++i) eyes += p[i].y / 12;
  for (int i = 48; i < 60; ++i) mouth += p[i].y / 12;
  float pitch = 0;
  if (mouth - eyes > 1e-3f) {
    float t = std::clamp((p[30].y - eyes) / (mouth - eyes) - 0.55f, -0.5f, 0.5f);
    pitch = std::asin(t * 2) * 180 / static_cast<float>(CV_PI) * 0.5f;
  }
  return {yaw, pitch};
}

void AssessQuality(Face& face, const cv::Mat& aligned, cv::Size photo_size, const QualityOptions& o) {
  Quality& q = face.quality;
  q = Quality{};
  q.face_height_px = face.box.height;
  q.size = Ramp(q.face_height_px, o.small_px * 0.4f, o.small_px * 2);
  if (q.face_height_px < o.small_px) q.reasons.push_back("small");

  if (!aligned.empty()) {
    cv::Mat grey, lap;
    cv::cvtColor(aligned, grey, cv::COLOR_BGR2GRAY);
    // The inner face only: the template puts the eyes at y~52 and the mouth at y~92.
    cv::Laplacian(grey(cv::Rect(24, 32, 64, 72)), lap, CV_32F);
    cv::Scalar mean, dev;
    cv::meanStdDev(lap, mean, dev);
    q.laplacian_var = static_cast<float>(dev[0] * dev[0]);
  }
  q.sharpness = Ramp(std::log(std::max(q.laplacian_var, 1.0f)), std::log(o.blurred_var / 4), std::log(o.blurred_var * 4));
  if (q.laplacian_var < o.blurred_var) q.reasons.push_back("blurred");

  cv::Point2f pose = EstimatePose(face.landmarks68);
  q.yaw_deg = pose.x;
  q.pitch_deg = pose.y;
  float yaw_f = 1 - Ramp(std::abs(q.yaw_deg), o.turned_deg * 0.5f, 80);
  float pitch_f = 1 - Ramp(std::abs(q.pitch_deg), o.tilted_deg * 0.5f, 60);
  q.pose = yaw_f * pitch_f;
  if (std::abs(q.yaw_deg) > o.turned_deg) q.reasons.push_back("turned away");
  if (std::abs(q.pitch_deg) > o.tilted_deg) q.reasons.push_back("tilted");

  q.confidence = Ramp(face.confidence, 0.5f, 0.95f);
  if (face.confidence < o.uncertain_conf) q.reasons.push_back("uncertain detection");

  // A face reaching past the photo's edge (tight crops): its landmarks are guesses.
  const float margin = 0.15f * face.box.height;
  int outside = 0;
  for (const auto& p : face.landmarks68)
    outside += p.x < -margin || p.y < -margin || p.x > photo_size.width + margin || p.y > photo_size.height + margin;
  if (outside > 6) q.reasons.push_back("cut off");
  // A photo that is already a tight crop of the face: the box touches three or more
  // edges, so the chin, forehead or cheeks are likely missing.
  const float tol = 0.03f * face.box.height;
  int edges = (face.box.x <= tol) + (face.box.y <= tol) + (face.box.x + face.box.width >= photo_size.width - tol) +
              (face.box.y + face.box.height >= photo_size.height - tol);
  if (edges >= 3) q.reasons.push_back("tight crop");

  q.score = q.size * q.sharpness * q.pose * q.confidence;
  if (edges >= 3 || outside > 6) q.score *= 0.7f;
}

}  // namespace lineup
