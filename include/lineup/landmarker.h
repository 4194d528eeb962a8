// Landmarker: 68 facial landmarks for each detected face, and the five points that
// alignment uses.
//
// The network sees a 64x64 greyscale crop of the square around the detector box.
// Optionally a second pass runs on the square re-centred on the first pass's points
// ("refine"), and each pass is averaged with the points found on the mirrored crop
// ("mirror"); docs/accuracy.md has what each measured. Not thread-safe; one per thread.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "lineup/face.h"
#include "lineup/status.h"

namespace lineup {

class Landmarker {
 public:
  // Loads fr_landmark.onnx from model_dir onto the inference engine `engine` (empty:
  // DefaultInferenceEngine()). `refine` adds the second, re-centred pass; `mirror`
  // averages each pass with the points found on the mirrored crop.
  static Result<std::unique_ptr<Landmarker>> Create(const std::string& model_dir, bool refine = false,
                                                    bool mirror = false, const std::string& engine = "");

  // 68 points (photo pixels, iBUG 300-W order) for each box of `photo`.
  Result<std::vector<std::vector<cv::Point2f>>> Locate(const cv::Mat& photo, std::span<const cv::Rect2f> boxes);

  ~Landmarker();

 private:
  struct Impl;
  explicit Landmarker(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The five alignment points from 68 landmarks: eye centres (mean of each eye's six
// points), nose tip, mouth corners (mean of outer and inner corner points).
FivePoints FivePointsFrom68(std::span<const cv::Point2f> p68);

}  // namespace lineup
