#include "lineup/landmarker.h"

#include <cmath>

#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>

#include "lineup/inference.h"

namespace lineup {

namespace {
constexpr int kSide = 64;
// Mean of the 68 points of frontal LFW faces, as a fraction of the detector's square
// (measured on 600 LFW photos, every 20th; see docs/accuracy.md).
constexpr float kMeanX = 0.507f, kMeanY = 0.597f;

// The square the landmark network expects: side = box height, centred on the box.
cv::Rect2f SquareOf(const cv::Rect2f& b) {
  float side = b.height;
  return {b.x + b.width / 2 - side / 2, b.y, side, side};
}

// The square crop of `sq` as a 64x64 grey image; parts outside the photo are black.
// Only the square's pixels are converted to grey, and a large face is shrunk with
// area averaging first: a bilinear warp straight to 64x64 would alias.
cv::Mat Crop(const cv::Mat& photo, const cv::Rect2f& sq) {
  const float s = kSide / sq.width;
  const cv::Rect roi = cv::Rect(static_cast<int>(std::floor(sq.x)) - 2, static_cast<int>(std::floor(sq.y)) - 2,
                                static_cast<int>(std::ceil(sq.width)) + 5, static_cast<int>(std::ceil(sq.height)) + 5) &
                       cv::Rect(0, 0, photo.cols, photo.rows);
  if (roi.empty()) return cv::Mat::zeros(kSide, kSide, CV_8U);
  cv::Mat grey;
  cv::cvtColor(photo(roi), grey, cv::COLOR_BGR2GRAY);
  float sx = 1, sy = 1;
  if (s < 1) {
    cv::Mat small;
    cv::resize(grey, small, cv::Size(std::max(1, static_cast<int>(std::lround(roi.width * s))),
                                     std::max(1, static_cast<int>(std::lround(roi.height * s)))),
               0, 0, cv::INTER_AREA);
    sx = static_cast<float>(small.cols) / roi.width;
    sy = static_cast<float>(small.rows) / roi.height;
    grey = small;
  }
  // crop = (photo - sq.origin) * s, with photo = roi.origin + pixel / (sx, sy).
  cv::Matx23f m(s / sx, 0, (roi.x - sq.x) * s, 0, s / sy, (roi.y - sq.y) * s);
  cv::Mat out;
  cv::warpAffine(grey, out, m, cv::Size(kSide, kSide), cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar(0));
  return out;
}
}  // namespace

// iBUG 68-point index of each point's mirror image (left and right swapped).
constexpr int kMirror[68] = {16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0,    // jaw
                             26, 25, 24, 23, 22, 21, 20, 19, 18, 17,                       // brows
                             27, 28, 29, 30, 35, 34, 33, 32, 31,                           // nose
                             45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40,               // eyes
                             54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55,               // outer lips
                             64, 63, 62, 61, 60, 67, 66, 65};                              // inner lips

struct Landmarker::Impl {
  std::unique_ptr<InferenceNet> net;
  bool refine;
  bool mirror;
  Status status;  // the first failed run, reported by Locate

  // 136 values in crop-relative units for one 64x64 crop (zeros after a failed run).
  std::vector<cv::Point2f> Run(const cv::Mat& crop) {
    std::vector<cv::Point2f> pts(68);
    if (!status.ok()) return pts;
    cv::Mat blob = cv::dnn::blobFromImage(crop, 1.0 / 256);
    status = net->Run({blob.ptr<float>(), blob.total()});
    if (!status.ok()) return pts;
    const float* v = net->Output(0).data();
    for (int i = 0; i < 68; ++i) pts[i] = {v[2 * i], v[2 * i + 1]};
    return pts;
  }

  std::vector<std::vector<cv::Point2f>> Pass(const cv::Mat& photo, const std::vector<cv::Rect2f>& squares) {
    std::vector<std::vector<cv::Point2f>> out;
    for (const auto& sq : squares) {
      cv::Mat crop = Crop(photo, sq);
      std::vector<cv::Point2f> pts = Run(crop);
      if (mirror) {
        // Average with the points found on the mirrored crop: halves the network's
        // left/right bias, which otherwise tilts the aligned face.
        cv::Mat flipped;
        cv::flip(crop, flipped, 1);
        std::vector<cv::Point2f> m = Run(flipped);
        for (int i = 0; i < 68; ++i) pts[i] = 0.5f * (pts[i] + cv::Point2f(1 - m[kMirror[i]].x, m[kMirror[i]].y));
      }
      for (auto& p : pts) p = {p.x * sq.width + sq.x, p.y * sq.height + sq.y};
      out.push_back(std::move(pts));
    }
    return out;
  }
};

Landmarker::Landmarker(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Landmarker::~Landmarker() = default;

Result<std::unique_ptr<Landmarker>> Landmarker::Create(const std::string& model_dir, bool refine, bool mirror,
                                                      const std::string& engine) {
  auto net = InferenceNet::Load(engine.empty() ? DefaultInferenceEngine() : engine, model_dir, "fr_landmark.onnx");
  if (!net.ok()) return net.status();
  if ((*net)->InputDims() != std::vector<int64_t>{1, 1, kSide, kSide} || (*net)->OutputCount() != 1 ||
      (*net)->OutputDims(0) != std::vector<int64_t>{1, 136})
    return Status::Corrupt(model_dir + "/fr_landmark.onnx does not have the landmark network's input and output");
  auto impl = std::make_unique<Impl>();
  impl->net = std::move(*net);
  impl->refine = refine;
  impl->mirror = mirror;
  return std::unique_ptr<Landmarker>(new Landmarker(std::move(impl)));
}

Result<std::vector<std::vector<cv::Point2f>>> Landmarker::Locate(const cv::Mat& photo,
                                                                std::span<const cv::Rect2f> boxes) {
  impl_->status = Status::OK();
  try {
    std::vector<cv::Rect2f> squares;
    for (const auto& b : boxes) squares.push_back(SquareOf(b));
    auto pts = impl_->Pass(photo, squares);
    if (!impl_->status.ok()) return impl_->status.WithContext("landmark network");
    if (!impl_->refine) return pts;
    // Re-centre each square on the first pass's points, keeping its size: the network
    // was trained on crops centred like a frontal detector box.
    for (size_t i = 0; i < squares.size(); ++i) {
      cv::Point2f c(0, 0), c0(0, 0);
      for (const auto& p : pts[i]) c += p;
      c *= 1.0f / pts[i].size();
      // Where a centred face's points would average, relative to the square.
      c0 = {squares[i].x + squares[i].width * kMeanX, squares[i].y + squares[i].height * kMeanY};
      squares[i].x += c.x - c0.x;
      squares[i].y += c.y - c0.y;
    }
    pts = impl_->Pass(photo, squares);
    if (!impl_->status.ok()) return impl_->status.WithContext("landmark network");
    return pts;
  } catch (const cv::Exception& e) {
    return Status::Internal(std::string("landmark network failed: ") + e.err);
  }
}

FivePoints FivePointsFrom68(std::span<const cv::Point2f> p) {
  auto mean = [&](std::initializer_list<int> idx) {
    cv::Point2f s(0, 0);
    for (int i : idx) s += p[i];
    return s * (1.0f / idx.size());
  };
  return {mean({36, 37, 38, 39, 40, 41}), mean({42, 43, 44, 45, 46, 47}), p[30], mean({48, 60}), mean({54, 64})};
}

}  // namespace lineup
