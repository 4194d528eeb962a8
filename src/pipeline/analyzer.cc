#include "lineup/analyzer.h"

#include "lineup/inference.h"
#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "lineup/aligner.h"
#include "lineup/inference.h"
#include "lineup/landmarker.h"
#include "lineup/models.h"

#include <opencv2/imgproc.hpp>

namespace lineup {

namespace {
// Faces are listed largest first.
bool LargerBox(const Face& a, const Face& b) { return a.box.area() > b.box.area(); }

using Clock = std::chrono::steady_clock;
double MsSince(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

}  // namespace

cv::Mat FaceThumbnail(const cv::Mat& photo, const cv::Rect2f& box, int height) {
  const float m = 0.3f * std::max(box.width, box.height);
  cv::Rect r = cv::Rect(cv::Rect2f(box.x - m, box.y - m, box.width + 2 * m, box.height + 2 * m)) &
               cv::Rect(0, 0, photo.cols, photo.rows);
  if (r.empty()) return {};
  cv::Mat out;
  const double s = static_cast<double>(height) / r.height;
  cv::resize(photo(r), out, cv::Size(), s, s, s < 1 ? cv::INTER_AREA : cv::INTER_CUBIC);
  return out;
}

StageTimes& StageTimes::operator+=(const StageTimes& o) {
  decode += o.decode; detect += o.detect; landmarks += o.landmarks; align += o.align;
  quality += o.quality; embed += o.embed; photos += o.photos; faces += o.faces;
  return *this;
}

struct FaceAnalyzer::Impl {
  AnalyzerOptions opt;
  std::unique_ptr<FaceDetector> detector;
  std::unique_ptr<Landmarker> landmarker;
  std::unique_ptr<Embedder> embedder;
  StageTimes times;
};

FaceAnalyzer::FaceAnalyzer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FaceAnalyzer::~FaceAnalyzer() = default;

Result<std::unique_ptr<FaceAnalyzer>> FaceAnalyzer::Create(const AnalyzerOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->opt = options;
  if (impl->opt.model_dir.empty()) impl->opt.model_dir = DefaultModelDir();
  if (impl->opt.embedder.empty()) impl->opt.embedder = Embedder::DefaultSpec();
  if (impl->opt.engine.empty()) impl->opt.engine = DefaultInferenceEngine();
  auto det = FaceDetector::Create(impl->opt.detector, impl->opt.model_dir, impl->opt.detector_options, impl->opt.engine);
  if (!det.ok()) return det.status();
  auto lm = Landmarker::Create(impl->opt.model_dir, impl->opt.refine_landmarks, impl->opt.mirror_landmarks,
                               impl->opt.engine);
  if (!lm.ok()) return lm.status();
  auto emb = Embedder::Create(impl->opt.embedder, impl->opt.model_dir, impl->opt.engine);
  if (!emb.ok()) return emb.status();
  impl->detector = std::move(*det);
  impl->landmarker = std::move(*lm);
  impl->embedder = std::move(*emb);
  return std::unique_ptr<FaceAnalyzer>(new FaceAnalyzer(std::move(impl)));
}

const EmbeddingModel& FaceAnalyzer::Model() const { return impl_->embedder->Model(); }
const AnalyzerOptions& FaceAnalyzer::Options() const { return impl_->opt; }
std::string FaceAnalyzer::DetectorName() const { return impl_->detector->Describe(); }
const StageTimes& FaceAnalyzer::Times() const { return impl_->times; }

cv::Mat FaceAnalyzer::AlignedFace(const cv::Mat& photo, const Face& face) const { return AlignFace(photo, face.five); }

Result<std::vector<Face>> FaceAnalyzer::Analyze(const cv::Mat& photo, bool embed, std::vector<Face>* set_aside) {
  StageTimes& t = impl_->times;
  auto t0 = Clock::now();
  auto dets = impl_->detector->Detect(photo);
  if (!dets.ok()) return dets.status();
  t.detect += MsSince(t0);
  if (set_aside) set_aside->clear();
  float best = 0;
  for (const auto& d : *dets) best = std::max(best, d.confidence);
  if (!dets->empty() && best < impl_->opt.photo_min_confidence) {
    if (set_aside) {
      for (const auto& d : *dets) {
        Face f;
        f.box = d.box;
        f.confidence = d.confidence;
        set_aside->push_back(std::move(f));
      }
      std::stable_sort(set_aside->begin(), set_aside->end(), LargerBox);
    }
    t.photos += 1;
    return std::vector<Face>{};
  }

  std::vector<Face> faces(dets->size());
  std::vector<cv::Rect2f> boxes;
  for (size_t i = 0; i < faces.size(); ++i) {
    faces[i].box = (*dets)[i].box;
    faces[i].confidence = (*dets)[i].confidence;
    boxes.push_back(faces[i].box);
  }
  t0 = Clock::now();
  auto lms = impl_->landmarker->Locate(photo, boxes);
  if (!lms.ok()) return lms.status();
  t.landmarks += MsSince(t0);

  std::vector<cv::Mat> aligned(faces.size());
  for (size_t i = 0; i < faces.size(); ++i) {
    t0 = Clock::now();
    faces[i].landmarks68 = std::move((*lms)[i]);
    faces[i].five = FivePointsFrom68(faces[i].landmarks68);
    aligned[i] = AlignFace(photo, faces[i].five);
    t.align += MsSince(t0);
    t0 = Clock::now();
    AssessQuality(faces[i], aligned[i], photo.size(), impl_->opt.quality);
    t.quality += MsSince(t0);
    if (impl_->opt.thumbnail_px > 0) faces[i].thumbnail = FaceThumbnail(photo, faces[i].box, impl_->opt.thumbnail_px);
  }
  if (embed && !faces.empty()) {
    t0 = Clock::now();
    // The embedder gets the photo and landmarks too: a model trained on another
    // alignment than the 112x112 crop makes its own.
    auto vecs = impl_->embedder->EmbedFaces(photo, faces, aligned);
    if (!vecs.ok()) return vecs.status();
    const std::vector<float> certainty = impl_->embedder->Certainty();
    for (size_t i = 0; i < faces.size(); ++i) {
      faces[i].embedding.assign(vecs->ptr<float>(int(i)), vecs->ptr<float>(int(i)) + vecs->cols);
      if (i < certainty.size()) faces[i].certainty = certainty[i];
    }
    t.embed += MsSince(t0);
  }
  std::stable_sort(faces.begin(), faces.end(), LargerBox);
  t.photos += 1;
  t.faces += static_cast<int64_t>(faces.size());
  return faces;
}

PhotoAnalysis FaceAnalyzer::AnalyzeFile(const std::string& path, bool embed) {
  PhotoAnalysis out;
  out.path = path;
  auto t0 = Clock::now();
  auto img = ReadImage(path, impl_->opt.decode);
  impl_->times.decode += MsSince(t0);
  if (!img.ok()) {
    out.status = img.status();
    return out;
  }
  if (impl_->opt.photo_scale != 1.0 && impl_->opt.photo_scale > 0) {
    cv::Mat scaled;
    cv::resize(img->bgr, scaled, cv::Size(), impl_->opt.photo_scale, impl_->opt.photo_scale,
               impl_->opt.photo_scale < 1 ? cv::INTER_AREA : cv::INTER_CUBIC);
    img->bgr = scaled;
  }
  out.info = img->info;
  out.width = img->bgr.cols;
  out.height = img->bgr.rows;
  auto faces = Analyze(img->bgr, embed, &out.set_aside);
  if (!faces.ok()) out.status = faces.status().WithContext(path);
  else out.faces = std::move(*faces);
  return out;
}

std::string NoFaceMessage(const std::vector<Face>& set_aside, float photo_min_confidence) {
  if (set_aside.empty()) return "no face found";
  float best = 0;
  for (const auto& f : set_aside) best = std::max(best, f.confidence);
  char buf[160];
  std::snprintf(buf, sizeof buf,
                "no face found (%zu uncertain detection%s set aside: best confidence %.2f, under %.2f)",
                set_aside.size(), set_aside.size() == 1 ? "" : "s", best, photo_min_confidence);
  return buf;
}

Status AnalyzeFiles(const AnalyzerOptions& options, const std::vector<std::string>& paths, bool embed, int workers,
                    const std::function<void(size_t, PhotoAnalysis&&)>& on_done, StageTimes* times) {
  if (workers <= 0) workers = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  workers = static_cast<int>(std::min<size_t>(static_cast<size_t>(workers), std::max<size_t>(1, paths.size())));
  // The analyzers are made at the same time, one per worker: loading the networks (for
  // oneDNN, choosing and compiling its kernels) takes 150-400 ms each, which at 200
  // photos/s is worth 30-80 photos.
  std::vector<std::unique_ptr<FaceAnalyzer>> analyzers(static_cast<size_t>(workers));
  std::vector<Status> made(static_cast<size_t>(workers));
  {
    std::vector<std::thread> loaders;
    for (size_t i = 0; i < analyzers.size(); ++i)
      loaders.emplace_back([&, i] {
        auto a = FaceAnalyzer::Create(options);
        if (a.ok()) analyzers[i] = std::move(*a);
        else made[i] = a.status();
      });
    for (auto& t : loaders) t.join();
  }
  for (const Status& s : made)
    if (!s.ok()) return s;
  // With several pipelines, each runs its networks on one thread: OpenCV's own
  // thread pool would otherwise make the pipelines fight over the same cores.
  const int saved_threads = cv::getNumThreads();
  if (workers > 1) cv::setNumThreads(1);
  std::atomic<size_t> next{0};
  std::mutex done_mu;
  auto work = [&](FaceAnalyzer* a) {
    for (size_t i; (i = next.fetch_add(1)) < paths.size();) {
      PhotoAnalysis r = a->AnalyzeFile(paths[i], embed);
      std::lock_guard<std::mutex> lock(done_mu);
      on_done(i, std::move(r));
    }
  };
  std::vector<std::thread> threads;
  for (int i = 1; i < workers; ++i) threads.emplace_back(work, analyzers[static_cast<size_t>(i)].get());
  work(analyzers[0].get());
  for (auto& th : threads) th.join();
  if (workers > 1) cv::setNumThreads(saved_threads);
  if (times)
    for (auto& a : analyzers) *times += a->Times();
  return Status::OK();
}

int PickFace(const std::vector<Face>& faces, cv::Size photo, FacePick pick) {
  constexpr float kUsableQuality = 0.1f;
  if (faces.empty()) return -1;
  // The largest usable face: a large box of quality near 0 is more often a blurred
  // false detection (a knee, a pattern) than the person the photo is about.
  int best = -1;
  for (int pass = 0; pass < 2 && best < 0; ++pass)
    for (size_t i = 0; i < faces.size(); ++i)
      if ((pass == 1 || faces[i].quality.score >= kUsableQuality) &&
          (best < 0 || faces[i].box.area() > faces[static_cast<size_t>(best)].box.area()))
        best = static_cast<int>(i);
  if (pick == FacePick::kLargestBox) return best;
  if (pick == FacePick::kLargest) {
    // Better still, the largest face with nothing wrong with it: in a group photo a
    // blurred box over a body can pass the bar above and outsize two sharp faces.
    int clean = -1;
    for (size_t i = 0; i < faces.size(); ++i)
      if (faces[i].quality.reasons.empty() &&
          (clean < 0 || faces[i].box.area() > faces[static_cast<size_t>(clean)].box.area()))
        clean = static_cast<int>(i);
    return clean >= 0 ? clean : best;
  }
  // Nearest to the centre, among faces at least half as tall as the largest: a large
  // spurious box spanning two people must not win, nor a tiny face in the background.
  const cv::Point2f c(photo.width / 2.0f, photo.height / 2.0f);
  const float min_h = 0.5f * faces[static_cast<size_t>(best)].box.height;
  int central = best;
  float best_d = 1e30f;
  for (size_t i = 0; i < faces.size(); ++i) {
    const cv::Rect2f& b = faces[i].box;
    if (b.height < min_h) continue;
    cv::Point2f d = cv::Point2f(b.x + b.width / 2, b.y + b.height / 2) - c;
    if (d.dot(d) < best_d) { best_d = d.dot(d); central = static_cast<int>(i); }
  }
  return central;
}

}  // namespace lineup
