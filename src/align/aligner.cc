#include "lineup/aligner.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <opencv2/imgproc.hpp>

namespace lineup {

const FivePoints& AlignmentTemplate() {
  static const FivePoints t = {cv::Point2f(38.2946f, 51.6963f), cv::Point2f(73.5318f, 51.5014f),
                               cv::Point2f(56.0252f, 71.7366f), cv::Point2f(41.5493f, 92.3655f),
                               cv::Point2f(70.7299f, 92.2041f)};
  return t;
}

cv::Matx23d SimilarityTransform(const FivePoints& from, const FivePoints& to) {
  // Closed form for 2-D: with centred points, the best a = s*cos, b = s*sin are
  // sum(x'u' + y'v') / sum(x'^2 + y'^2) and sum(x'v' - y'u') / sum(x'^2 + y'^2).
  cv::Point2d mf(0, 0), mt(0, 0);
  for (int i = 0; i < 5; ++i) { mf += cv::Point2d(from[i]); mt += cv::Point2d(to[i]); }
  mf *= 0.2; mt *= 0.2;
  double sxx = 0, num_a = 0, num_b = 0;
  for (int i = 0; i < 5; ++i) {
    cv::Point2d p = cv::Point2d(from[i]) - mf, q = cv::Point2d(to[i]) - mt;
    sxx += p.x * p.x + p.y * p.y;
    num_a += p.x * q.x + p.y * q.y;
    num_b += p.x * q.y - p.y * q.x;
  }
  if (sxx < 1e-12) return cv::Matx23d(1, 0, mt.x - mf.x, 0, 1, mt.y - mf.y);
  double a = num_a / sxx, b = num_b / sxx;
  return cv::Matx23d(a, -b, mt.x - (a * mf.x - b * mf.y), b, a, mt.y - (b * mf.x + a * mf.y));
}

cv::Mat AlignFace(const cv::Mat& photo, const FivePoints& five) {
  constexpr int kSide = 112;
  cv::Matx23d m = SimilarityTransform(five, AlignmentTemplate());
  const double scale = std::sqrt(m(0, 0) * m(0, 0) + m(1, 0) * m(1, 0));
  cv::Mat src = photo;
  if (scale < 0.8 && scale > 0) {
    // A large face: shrink the part of the photo that lands in the crop with area
    // averaging first, since a bilinear warp would alias (moire on hair and skin).
    cv::Matx23d inv;
    cv::invertAffineTransform(m, inv);
    std::vector<cv::Point2d> corners = {{0, 0}, {kSide, 0}, {0, kSide}, {kSide, kSide}};
    double x0 = 1e18, y0 = 1e18, x1 = -1e18, y1 = -1e18;
    for (const auto& c : corners) {
      double x = inv(0, 0) * c.x + inv(0, 1) * c.y + inv(0, 2), y = inv(1, 0) * c.x + inv(1, 1) * c.y + inv(1, 2);
      x0 = std::min(x0, x); y0 = std::min(y0, y); x1 = std::max(x1, x); y1 = std::max(y1, y);
    }
    cv::Rect roi = cv::Rect(cv::Point(static_cast<int>(std::floor(x0)) - 2, static_cast<int>(std::floor(y0)) - 2),
                            cv::Point(static_cast<int>(std::ceil(x1)) + 3, static_cast<int>(std::ceil(y1)) + 3)) &
                   cv::Rect(0, 0, photo.cols, photo.rows);
    if (!roi.empty()) {
      cv::resize(photo(roi), src, cv::Size(std::max(1, static_cast<int>(std::lround(roi.width * scale))),
                                           std::max(1, static_cast<int>(std::lround(roi.height * scale)))),
                 0, 0, cv::INTER_AREA);
      const double sx = static_cast<double>(src.cols) / roi.width, sy = static_cast<double>(src.rows) / roi.height;
      // out = m * photo, photo = roi.origin + pixel / (sx, sy)
      m = cv::Matx23d(m(0, 0) / sx, m(0, 1) / sy, m(0, 0) * roi.x + m(0, 1) * roi.y + m(0, 2),
                      m(1, 0) / sx, m(1, 1) / sy, m(1, 0) * roi.x + m(1, 1) * roi.y + m(1, 2));
    }
  }
  cv::Mat out;
  cv::warpAffine(src, out, m, cv::Size(kSide, kSide), cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar::all(0));
  return out;
}

}  // namespace lineup
