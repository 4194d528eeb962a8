// FaceDetector: finds every face in a photo, large or small.
//
// The network sees 320x240 pixels at a time. To find faces from a full-frame close-up
// down to DetectorOptions::min_face pixels tall in a 12-megapixel photo, the photo is
// searched as an image pyramid: the whole frame first, then overlapping 320x240 tiles
// at finer scales, with detections merged across tiles and scales. A tile keeps only
// faces small enough to lie whole inside some tile (taller ones come from the coarser
// level, where the network sees them whole): otherwise a tile that cuts a large face
// boxes the part it sees, and hands or shirts at those scales pass for faces. If
// nothing is found, the frame is searched once more with a margin around it, which
// rescues photos that are already a tight crop of a face. A FaceDetector is not
// thread-safe; make one per thread (FaceAnalyzer does).
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "lineup/status.h"

namespace lineup {

struct Detection {
  cv::Rect2f box;          // photo pixels, clipped to the photo
  float confidence = 0;
};

struct DetectorOptions {
  // Smallest face height (box height), in photo pixels: the pyramid is built to find
  // faces this small, and shorter detections are not reported.
  float min_face = 20;
  // Detections below this confidence are dropped.
  float threshold = 0.6f;
  // Two detections overlapping more than this (intersection over union) are one face.
  float nms_iou = 0.4f;
  // Smallest face, in network pixels, the network finds reliably; sets the finest scale.
  float net_min_face = 16;
  // Never enlarge the photo by more than this to reach min_face.
  float max_upscale = 2.0f;
};

class FaceDetector {
 public:
  virtual ~FaceDetector() = default;

  // Detections for each photo (8-bit BGR), most confident first.
  virtual Result<std::vector<std::vector<Detection>>> Detect(std::span<const cv::Mat> photos) = 0;
  // The one-photo case of Detect.
  Result<std::vector<Detection>> Detect(const cv::Mat& photo);

  // The configuration string this detector was made from.
  virtual std::string Describe() const = 0;

  // Makes a detector from a factory string: "pyramid" (default: whole frame, tiles,
  // margin fallback) or "single" (one pass over the frame resized to 320x240, like the
  // model's reference code). Models are read from `model_dir` and run on the inference
  // engine `engine` (include/lineup/inference.h; empty: DefaultInferenceEngine()).
  static Result<std::unique_ptr<FaceDetector>> Create(const std::string& spec, const std::string& model_dir,
                                                      const DetectorOptions& options = {},
                                                      const std::string& engine = "");
};

}  // namespace lineup
