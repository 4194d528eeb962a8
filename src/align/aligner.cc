#include "lineup/aligner.h"

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
  cv::Matx23d m = SimilarityTransform(five, AlignmentTemplate());
  cv::Mat out;
  cv::warpAffine(photo, out, m, cv::Size(112, 112), cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar::all(0));
  return out;
}

}  // namespace lineup
