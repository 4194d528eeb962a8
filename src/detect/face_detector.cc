// The pyramid detector around the fr_detect network (an SSD-style 320x240 model whose
// ONNX graph already decodes its anchors into corner-form boxes normalised to 0..1).
#include <algorithm>
#include <cmath>
#include <numeric>

#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>

#include "lineup/detector.h"
#include "lineup/inference.h"

namespace lineup {

Result<std::vector<Detection>> FaceDetector::Detect(const cv::Mat& photo) {
  auto r = Detect(std::span<const cv::Mat>(&photo, 1));
  if (!r.ok()) return r.status();
  return std::move(r->front());
}

namespace {

constexpr int kNetW = 320, kNetH = 240;
constexpr float kPadValue = 127;  // maps to 0 after the network's normalisation
constexpr int kTileOverlap = 64;  // net pixels; a face this tall fits whole in some tile
constexpr float kLevelStep = 2.5f;

// A region of the photo mapped onto the network input: photo = net / scale + origin.
struct View {
  float scale;
  cv::Point2f origin;
  // Which sides of the net input are interior tile edges, where a face may be cut.
  bool tiled = false;  // one of several tiles at a finer scale than the whole frame
  bool cut_left = false, cut_top = false, cut_right = false, cut_bottom = false;
  int valid_w = kNetW, valid_h = kNetH;  // net pixels that show the photo
  int level = 0;  // 0: the whole frame; 1, 2, ...: the pyramid's tile levels, finer each
};

// A detection at a coarser level this sure of its face wins over a more confident
// detection inside it at a finer level (see Merge).
constexpr float kCoarseWholeFace = 0.9f;
constexpr float kPartOfFace = 0.5f;  // ...if the finer box is under this share of its area

float IoU(const cv::Rect2f& a, const cv::Rect2f& b, float* inter_over_min) {
  float inter = (a & b).area();
  float uni = a.area() + b.area() - inter;
  if (inter_over_min) *inter_over_min = inter / std::max(1e-6f, std::min(a.area(), b.area()));
  return uni > 0 ? inter / uni : 0;
}

class PyramidDetector final : public FaceDetector {
 public:
  PyramidDetector(std::unique_ptr<InferenceNet> net, DetectorOptions o, bool pyramid)
      : net_(std::move(net)), opt_(o), pyramid_(pyramid) {}

  std::string Describe() const override {
    char buf[160];
    std::snprintf(buf, sizeof buf, "%s,min_face=%g,threshold=%g", pyramid_ ? "pyramid" : "single",
                  opt_.min_face, opt_.threshold);
    return buf;
  }

  Result<std::vector<std::vector<Detection>>> Detect(std::span<const cv::Mat> photos) override {
    std::vector<std::vector<Detection>> out;
    out.reserve(photos.size());
    net_status_ = Status::OK();
    try {
      for (const cv::Mat& p : photos) {
        if (p.empty() || p.type() != CV_8UC3) return Status::InvalidArgument("detector needs an 8-bit BGR photo");
        out.push_back(pyramid_ ? DetectPyramid(p) : DetectSingle(p));
        if (!net_status_.ok()) return net_status_.WithContext("face detector");
      }
    } catch (const cv::Exception& e) {
      return Status::Internal(std::string("face detector failed: ") + e.err);
    }
    return out;
  }

 private:
  // Runs the network on one 320x240 BGR input and maps kept boxes to photo pixels.
  // A failed run is kept in net_status_ (the pyramid's passes return nothing) and
  // reported by Detect.
  void RunNet(const cv::Mat& input, const View& v, std::vector<Detection>* found) {
    if (!net_status_.ok()) return;
    // Into the same buffer every time: a fresh 0.9 MB blob per pass cost page faults.
    cv::dnn::blobFromImage(input, blob_, 1.0 / 128, cv::Size(kNetW, kNetH), cv::Scalar::all(127), true, false);
    net_status_ = net_->Run({blob_.ptr<float>(), blob_.total()});
    if (!net_status_.ok()) return;
    const float* s = net_->Output(0).data();
    const float* b = net_->Output(1).data();
    const int n = static_cast<int>(net_->Output(0).size() / 2);
    const float edge = 2;
    for (int i = 0; i < n; ++i) {
      float conf = s[2 * i + 1];
      if (conf < opt_.threshold) continue;
      float x1 = b[4 * i] * kNetW, y1 = b[4 * i + 1] * kNetH, x2 = b[4 * i + 2] * kNetW, y2 = b[4 * i + 3] * kNetH;
      if (x2 - x1 < 2 || y2 - y1 < 2) continue;
      // In a tile, a face taller than the tiles' overlap may be cut by an edge without
      // touching it (the network then boxes the part it sees); the coarser level, where
      // it is 2.5 times smaller, sees it whole.
      if (v.tiled && y2 - y1 > kTileOverlap) continue;
      if ((v.cut_left && x1 < edge) || (v.cut_top && y1 < edge) || (v.cut_right && x2 > v.valid_w - edge) ||
          (v.cut_bottom && y2 > v.valid_h - edge))
        continue;  // a face cut by a tile edge; the overlapping tile sees it whole
      cv::Rect2f r(x1 / v.scale + v.origin.x, y1 / v.scale + v.origin.y, (x2 - x1) / v.scale, (y2 - y1) / v.scale);
      found->push_back({r, conf});
      levels_.push_back(v.level);
    }
  }

  // The whole photo scaled to fit 320x240 with its aspect ratio kept, after adding
  // `margin` (a fraction of each side) of neutral border.
  void WholeFrame(const cv::Mat& photo, float margin, float max_scale, std::vector<Detection>* found) {
    cv::Mat src = photo;
    int mx = 0, my = 0;
    if (margin > 0) {
      mx = static_cast<int>(photo.cols * margin);
      my = static_cast<int>(photo.rows * margin);
      cv::copyMakeBorder(photo, src, my, my, mx, mx, cv::BORDER_CONSTANT, cv::Scalar::all(kPadValue));
    }
    float f = std::min({float(kNetW) / src.cols, float(kNetH) / src.rows, max_scale});
    int w = std::max(1, static_cast<int>(std::lround(src.cols * f)));
    int h = std::max(1, static_cast<int>(std::lround(src.rows * f)));
    cv::Mat input(kNetH, kNetW, CV_8UC3, cv::Scalar::all(kPadValue));
    cv::resize(src, input(cv::Rect(0, 0, std::min(w, kNetW), std::min(h, kNetH))),
               cv::Size(std::min(w, kNetW), std::min(h, kNetH)), 0, 0, f < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
    View v{f, cv::Point2f(float(-mx), float(-my))};
    v.scale = float(std::min(w, kNetW)) / src.cols;  // exact scale after rounding
    RunNet(input, v, found);
  }

  // Overlapping 320x240 tiles over the photo scaled by f.
  void Tiles(const cv::Mat& photo, float f, int level, std::vector<Detection>* found) {
    cv::Mat scaled;
    cv::resize(photo, scaled, cv::Size(), f, f, f < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
    const float fx = float(scaled.cols) / photo.cols;
    const int sx = kNetW - kTileOverlap, sy = kNetH - kTileOverlap;
    for (int ty = 0;; ty += sy) {
      int th = std::min(kNetH, scaled.rows - ty);
      for (int tx = 0;; tx += sx) {
        int tw = std::min(kNetW, scaled.cols - tx);
        cv::Mat input(kNetH, kNetW, CV_8UC3, cv::Scalar::all(kPadValue));
        scaled(cv::Rect(tx, ty, tw, th)).copyTo(input(cv::Rect(0, 0, tw, th)));
        View v{fx, cv::Point2f(tx / fx, ty / fx)};
        v.tiled = true;
        v.level = level;
        v.cut_left = tx > 0;
        v.cut_top = ty > 0;
        v.cut_right = tx + tw < scaled.cols;
        v.cut_bottom = ty + th < scaled.rows;
        v.valid_w = tw;
        v.valid_h = th;
        RunNet(input, v, found);
        if (tx + tw >= scaled.cols) break;
      }
      if (ty + th >= scaled.rows) break;
    }
  }

  std::vector<Detection> DetectPyramid(const cv::Mat& photo) {
    std::vector<Detection> found;
    levels_.clear();
    const float f0 = std::min(float(kNetW) / photo.cols, float(kNetH) / photo.rows);
    WholeFrame(photo, 0, 4.0f, &found);
    const float target = std::min(opt_.net_min_face / opt_.min_face, opt_.max_upscale);
    int level = 1;
    for (float f = f0 * kLevelStep; f0 * 1.25f < target; f *= kLevelStep, ++level) {
      float scale = std::min(f, target);
      Tiles(photo, scale, level, &found);
      if (scale >= target) break;
    }
    if (found.empty()) WholeFrame(photo, 0.4f, 4.0f, &found);
    return Merge(photo, std::move(found));
  }

  std::vector<Detection> DetectSingle(const cv::Mat& photo) {
    cv::Mat input;
    cv::resize(photo, input, cv::Size(kNetW, kNetH));
    View v{1, {0, 0}};
    std::vector<Detection> found;
    levels_.clear();
    RunNet(input, v, &found);
    for (auto& d : found) {  // undo the anisotropic resize
      d.box.x *= float(photo.cols) / kNetW;
      d.box.width *= float(photo.cols) / kNetW;
      d.box.y *= float(photo.rows) / kNetH;
      d.box.height *= float(photo.rows) / kNetH;
    }
    return Merge(photo, std::move(found));
  }

  // Non-maximum suppression across tiles and scales. A box mostly inside a more
  // confident one is the same face seen at another scale, not a second face. One
  // exception: a part of a large face (its nose and mouth, say) can look like a whole
  // face at a finer level, where the face itself is too tall to be kept (RunNet), and
  // be more confident than the whole face seen at the coarser level; the coarser box,
  // if it is sure of a face, then replaces the parts inside it. Found on a planted
  // group photo: a lower-face box at 1.00 had suppressed the whole face at 0.98.
  std::vector<Detection> Merge(const cv::Mat& photo, std::vector<Detection> found) {
    std::vector<size_t> order(found.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return found[a].confidence > found[b].confidence; });
    auto level_of = [&](size_t i) { return i < levels_.size() ? levels_[i] : 0; };
    std::vector<size_t> kept;  // indices into found
    for (size_t i : order) {
      const Detection& d = found[i];
      bool dup = false;
      std::vector<size_t> parts;  // kept boxes that are parts of d's face
      for (size_t k : kept) {
        float inside;
        float iou = IoU(d.box, found[k].box, &inside);
        if (iou <= opt_.nms_iou && inside <= 0.6f) continue;
        // A part, not the same face boxed a little tighter: inside d and under half its size.
        bool part_of_d = (d.box & found[k].box).area() > 0.6f * found[k].box.area() &&
                         found[k].box.area() < kPartOfFace * d.box.area();
        if (part_of_d && level_of(i) < level_of(k) && d.confidence >= kCoarseWholeFace) {
          parts.push_back(k);
        } else {
          dup = true;
          break;
        }
      }
      if (dup) continue;
      std::erase_if(kept, [&](size_t k) { return std::find(parts.begin(), parts.end(), k) != parts.end(); });
      kept.push_back(i);
    }
    std::vector<Detection> out;
    for (size_t k : kept) out.push_back(found[k]);
    std::stable_sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.confidence > b.confidence; });
    const cv::Rect2f frame(0, 0, float(photo.cols), float(photo.rows));
    for (auto& k : out) k.box &= frame;
    // min_face is a promise to the caller, not only how far down the pyramid goes: the
    // network also fires on smaller faces (and patterns) at the finest level.
    std::erase_if(out, [&](const Detection& d) { return d.box.width < 1 || d.box.height < opt_.min_face; });
    return out;
  }

  std::unique_ptr<InferenceNet> net_;
  DetectorOptions opt_;
  bool pyramid_;
  Status net_status_;
  cv::Mat blob_;  // the network's input, reused
  std::vector<int> levels_;  // the level (View::level) of each detection found for the photo in hand
};

}  // namespace

Result<std::unique_ptr<FaceDetector>> FaceDetector::Create(const std::string& spec, const std::string& model_dir,
                                                          const DetectorOptions& options, const std::string& engine) {
  if (spec != "pyramid" && spec != "single")
    return Status::InvalidArgument("unknown detector \"" + spec + "\" (known: pyramid, single)");
  if (!(options.min_face >= 4) || !(options.threshold > 0 && options.threshold < 1))
    return Status::InvalidArgument("detector options out of range (min_face >= 4, 0 < threshold < 1)");
  auto net = InferenceNet::Load(engine.empty() ? DefaultInferenceEngine() : engine, model_dir, "fr_detect.onnx");
  if (!net.ok()) return net.status();
  // scores [1, N, 2] (column 1: face) and boxes [1, N, 4], in that order (docs/models.md).
  const InferenceNet& n = **net;
  if (n.InputDims() != std::vector<int64_t>{1, 3, kNetH, kNetW} || n.OutputCount() != 2 ||
      n.OutputDims(0).size() != 3 || n.OutputDims(0)[2] != 2 || n.OutputDims(1).size() != 3 ||
      n.OutputDims(1)[2] != 4 || n.OutputDims(0)[1] != n.OutputDims(1)[1])
    return Status::Corrupt(model_dir + "/fr_detect.onnx does not have the detector's input and outputs");
  return std::unique_ptr<FaceDetector>(new PyramidDetector(std::move(*net), options, spec == "pyramid"));
}

}  // namespace lineup
