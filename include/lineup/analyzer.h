// FaceAnalyzer: the recognition pipeline from photo to faces with identity vectors.
//
// decode -> detect -> landmarks -> align -> quality -> embed, each stage one component
// named by a factory string in AnalyzerOptions. A FaceAnalyzer is not thread-safe;
// AnalyzeFiles gives each worker thread its own, which is how Lineup keeps both cores
// busy (one pipeline per core beats more threads per network on this hardware).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "lineup/detector.h"
#include "lineup/embedder.h"
#include "lineup/face.h"
#include "lineup/image.h"
#include "lineup/quality.h"
#include "lineup/status.h"

namespace lineup {

struct AnalyzerOptions {
  std::string model_dir;                          // empty: DefaultModelDir()
  std::string detector = "pyramid";               // FaceDetector::Create spec
  DetectorOptions detector_options;
  std::string embedder;                           // empty: Embedder::DefaultSpec()
  // The inference engine running the three ONNX networks (include/lineup/inference.h):
  // "opencv" or "dnnl"; empty: DefaultInferenceEngine(). Vectors do not depend on it
  // beyond float rounding (docs/engine.md), so a gallery accepts either.
  std::string engine;
  bool refine_landmarks = false;  // measured: no gain on LFW for 1.3 ms (docs/accuracy.md)
  bool mirror_landmarks = false;
  QualityOptions quality;
  DecodeOptions decode;
  // If > 0, each Face carries a thumbnail this many pixels tall: the box with 30% margin.
  int thumbnail_px = 0;
  // A photo whose most confident detection is below this has no face: its detections
  // are set aside (not landmarked, embedded, enrolled or searched) and reported as such.
  // Measured (docs/benchmarks.md): every one of the 13,366 photos of ../shared/data with
  // a person in it has a detection above 0.8, and so do blurred, small, turned, dark and
  // tightly cropped faces; the dog faces of detection/dogs.jpg reach 0.79 and 0.71.
  // Uncertain boxes in a photo that also has a certain one are kept (they are flagged
  // "uncertain detection"). 0 keeps every detection.
  float photo_min_confidence = 0.8f;
  // A measurement knob, not for production: AnalyzeFile resizes every photo by this
  // factor after decoding (area averaging when shrinking), to see how smaller faces fare.
  double photo_scale = 1.0;
};

// Milliseconds spent per stage, summed over the photos analysed.
struct StageTimes {
  double decode = 0, detect = 0, landmarks = 0, align = 0, quality = 0, embed = 0;
  int64_t photos = 0, faces = 0;
  StageTimes& operator+=(const StageTimes& o);
};

// What one photo file gave.
struct PhotoAnalysis {
  std::string path;
  Status status;          // not OK: the photo could not be read (faces is empty)
  ImageInfo info;
  int width = 0, height = 0;  // upright, after EXIF orientation
  std::vector<Face> faces;    // largest first
  // Detections set aside because none reached AnalyzerOptions::photo_min_confidence
  // (box and confidence only); faces is then empty.
  std::vector<Face> set_aside;
};

class FaceAnalyzer {
 public:
  static Result<std::unique_ptr<FaceAnalyzer>> Create(const AnalyzerOptions& options);
  ~FaceAnalyzer();

  // Every face in `photo` (8-bit BGR), largest first, with landmarks and quality, and
  // with embeddings if `embed`. An empty vector means no face was found; detections set
  // aside by photo_min_confidence go to `set_aside` if given (box and confidence only).
  Result<std::vector<Face>> Analyze(const cv::Mat& photo, bool embed, std::vector<Face>* set_aside = nullptr);
  // Reads and analyses one file; decoding problems land in PhotoAnalysis::status.
  PhotoAnalysis AnalyzeFile(const std::string& path, bool embed);
  // The aligned 112x112 face for drawing and thumbnails.
  cv::Mat AlignedFace(const cv::Mat& photo, const Face& face) const;

  const EmbeddingModel& Model() const;
  const AnalyzerOptions& Options() const;
  std::string DetectorName() const;
  const StageTimes& Times() const;

 private:
  struct Impl;
  explicit FaceAnalyzer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Analyses `paths` on `workers` threads (0: one per core), each with its own
// FaceAnalyzer. on_done is called once per photo, in completion order, from one
// thread at a time. Fails only if the analyzers cannot be made (e.g. missing model).
Status AnalyzeFiles(const AnalyzerOptions& options, const std::vector<std::string>& paths, bool embed, int workers,
                    const std::function<void(size_t index, PhotoAnalysis&& result)>& on_done,
                    StageTimes* times = nullptr);

// "no face found", saying what was set aside and why, e.g. "no face found (2 uncertain
// detections set aside: best confidence 0.79, under 0.80)".
std::string NoFaceMessage(const std::vector<Face>& set_aside, float photo_min_confidence);

// Which face of a multi-face photo to use.
enum class FacePick {
  kLargest,  // the largest face with no quality warning, else the largest box of
             // quality >= 0.1, else the largest box (the default for people's photos)
  kCentral,  // the box whose centre is nearest the photo's centre, among boxes at
             // least half as tall as the largest (LFW's convention: the labelled
             // person is centred)
  kLargestBox,  // the largest box of quality >= 0.1, else the largest box, warnings or
                // not (a labelled set's "largest face per photo")
};
// Index into faces, or -1 if there are none.
int PickFace(const std::vector<Face>& faces, cv::Size photo, FacePick pick);

// The face's box with a 30% margin, cut from `photo` and scaled to `height` pixels tall
// (the gallery's thumbnails and a search's probe crop); empty if the box is outside.
cv::Mat FaceThumbnail(const cv::Mat& photo, const cv::Rect2f& box, int height);

}  // namespace lineup
