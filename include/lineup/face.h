// Face: everything the pipeline learns about one face in one photo.
#pragma once

#include <array>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace lineup {

// Five points in photo pixels, in this order: the subject's right eye (left in the
// picture), left eye, nose tip, right and left mouth corners.
using FivePoints = std::array<cv::Point2f, 5>;

// How usable a face is for recognition, and why not where it is not.
struct Quality {
  float score = 0;            // in [0,1]; the product of the four factors below
  float size = 0;             // from the face height in pixels
  float sharpness = 0;        // from the variance of the Laplacian of the aligned face
  float pose = 0;             // from yaw and pitch
  float confidence = 0;       // from the detector's confidence
  float face_height_px = 0;
  float laplacian_var = 0;
  float yaw_deg = 0;          // estimated from landmarks; positive = turned to picture right
  float pitch_deg = 0;        // positive = looking down
  std::vector<std::string> reasons;  // e.g. "small", "blurred", "turned away"
};

struct Face {
  cv::Rect2f box;              // detector box in photo pixels
  float confidence = 0;        // detector confidence in [0,1]
  std::vector<cv::Point2f> landmarks68;
  FivePoints five{};
  Quality quality;
  // How sure the embedding network is that it sees a face: the length of its raw output
  // relative to a typical face's (1 typical; patterns, hands and faces too blurred to
  // recognise give much less). -1 if not embedded, or the model gives no such measure.
  float certainty = -1;
  std::vector<float> embedding;  // as Embedder gives it (embedder.h); empty if not embedded
  cv::Mat thumbnail;             // the face with some context, if AnalyzerOptions asked for one
};

}  // namespace lineup
