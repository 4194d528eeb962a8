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
  return SimilarityTransform(std::span<const cv::Point2f>(from), std::span<const cv::Point2f>(to));
}

namespace {

// warpAffine of `photo` by `m` into a side x side image, black outside the photo. When
// `m` shrinks, the part of the photo that lands in the output is first shrunk with area
// averaging, since a bilinear warp would alias (moire on hair and skin).
cv::Mat WarpShrinkingFirst(const cv::Mat& photo, cv::Matx23d m, int side) {
  const double scale = std::sqrt(m(0, 0) * m(0, 0) + m(1, 0) * m(1, 0));
  cv::Mat src = photo;
  if (scale < 0.8 && scale > 0) {
    cv::Matx23d inv;
    cv::invertAffineTransform(m, inv);
    const double d = side;
    std::vector<cv::Point2d> corners = {{0, 0}, {d, 0}, {0, d}, {d, d}};
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
  cv::warpAffine(src, out, m, cv::Size(side, side), cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar::all(0));
  return out;
}

// dlib's mean face shape (dlib/image_transforms/interpolation.h, get_face_chip_details):
// the average positions of the iBUG 68 points 17..67 in a unit square. dlib fits its
// chips to 33 of them: nose, eyes, outer mouth and the inner upper lip (points 27-54
// and 60-64), leaving out the eyebrows and the lower lip.
constexpr double kDlibMeanFaceX[51] = {
    0.000213256, 0.0752622, 0.18113,  0.29077,  0.393397, 0.586856, 0.689483, 0.799124, 0.904991,
    0.98004,     0.490127,  0.490127, 0.490127, 0.490127, 0.36688,  0.426036, 0.490127, 0.554217,
    0.613373,    0.121737,  0.187122, 0.265825, 0.334606, 0.260918, 0.182743, 0.645647, 0.714428,
    0.793132,    0.858516,  0.79751,  0.719335, 0.254149, 0.340985, 0.428858, 0.490127, 0.551395,
    0.639268,    0.726104,  0.642159, 0.556721, 0.490127, 0.423532, 0.338094, 0.290379, 0.428096,
    0.490127,    0.552157,  0.689874, 0.553364, 0.490127, 0.42689};
constexpr double kDlibMeanFaceY[51] = {
    0.106454, 0.038915, 0.0187482, 0.0344891, 0.0773906, 0.0773906, 0.0344891, 0.0187482, 0.038915,
    0.106454, 0.203352, 0.307009,  0.409805,  0.515625,  0.587326,  0.609345,  0.628106,  0.609345,
    0.587326, 0.216423, 0.178758,  0.179852,  0.231733,  0.245099,  0.244077,  0.231733,  0.179852,
    0.178758, 0.216423, 0.244077,  0.245099,  0.780233,  0.745405,  0.727388,  0.742578,  0.727388,
    0.745405, 0.780233, 0.864805,  0.902192,  0.909281,  0.902192,  0.864805,  0.784792,  0.778746,
    0.785343, 0.778746, 0.784792,  0.824182,  0.831803,  0.824182};

bool UsedForDlibChip(int i) { return (i >= 27 && i <= 54) || (i >= 60 && i <= 64); }

}  // namespace

cv::Matx23d SimilarityTransform(std::span<const cv::Point2f> from, std::span<const cv::Point2f> to) {
  // Closed form for 2-D: with centred points, the best a = s*cos, b = s*sin are
  // sum(x'u' + y'v') / sum(x'^2 + y'^2) and sum(x'v' - y'u') / sum(x'^2 + y'^2).
  const size_t n = std::min(from.size(), to.size());
  if (n == 0) return cv::Matx23d(1, 0, 0, 0, 1, 0);
  cv::Point2d mf(0, 0), mt(0, 0);
  for (size_t i = 0; i < n; ++i) { mf += cv::Point2d(from[i]); mt += cv::Point2d(to[i]); }
  // Multiplied by 1/n (0.2 for five points, as the 112x112 alignment always did).
  const double inv = 1.0 / static_cast<double>(n);
  mf *= inv; mt *= inv;
  double sxx = 0, num_a = 0, num_b = 0;
  for (size_t i = 0; i < n; ++i) {
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
  return WarpShrinkingFirst(photo, SimilarityTransform(five, AlignmentTemplate()), kSide);
}

std::vector<cv::Point2f> DlibChipTemplate(int size, double padding) {
  std::vector<cv::Point2f> t;
  for (int i = 17; i < 68; ++i)
    if (UsedForDlibChip(i))
      t.emplace_back(static_cast<float>((padding + kDlibMeanFaceX[i - 17]) / (2 * padding + 1) * size),
                     static_cast<float>((padding + kDlibMeanFaceY[i - 17]) / (2 * padding + 1) * size));
  return t;
}

cv::Matx23d DlibChipTransform(std::span<const cv::Point2f> landmarks68, int size, double padding) {
  CV_Assert(landmarks68.size() == 68 && size > 1);
  std::vector<cv::Point2f> from;
  for (int i = 17; i < 68; ++i)
    if (UsedForDlibChip(i)) from.push_back(landmarks68[static_cast<size_t>(i)]);
  // As dlib: the least-squares similarity T from the template (chip coordinates 0..size)
  // to the photo gives the chip's centre, angle and extent, and the extent's corners land
  // on chip pixels 0 and size - 1; so chip pixel c is the photo point T(c * size / (size - 1)).
  const cv::Matx23d t = SimilarityTransform(DlibChipTemplate(size, padding), from);
  const double k = static_cast<double>(size) / (size - 1);
  const cv::Matx23d chip_to_photo(t(0, 0) * k, t(0, 1) * k, t(0, 2), t(1, 0) * k, t(1, 1) * k, t(1, 2));
  cv::Matx23d photo_to_chip;
  cv::invertAffineTransform(chip_to_photo, photo_to_chip);
  return photo_to_chip;
}

cv::Mat AlignDlibChip(const cv::Mat& photo, std::span<const cv::Point2f> landmarks68, int size, double padding) {
  return WarpShrinkingFirst(photo, DlibChipTransform(landmarks68, size, padding), size);
}

}  // namespace lineup
