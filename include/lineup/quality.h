// Quality: how usable a face is for recognition, with the reasons a person can act on.
//
// The score is the product of four factors in [0,1]: size (face height in pixels),
// sharpness (variance of the Laplacian of the aligned face), pose (yaw and pitch
// estimated from the 68 landmarks) and detector confidence. Each factor below its
// "fine" level names a reason: "small", "blurred", "turned away", "tilted",
// "uncertain detection"; a face cut by the photo's edge is "cut off", and one whose
// box touches three edges of the photo is a "tight crop" (both scale the score by 0.7).
// A low score
// never drops a face: it travels with it so that every result can say why it is weak.
#pragma once

#include <opencv2/core.hpp>

#include "lineup/face.h"

namespace lineup {

struct QualityOptions {
  float small_px = 40;         // face height below this is "small"; factor 1 at 2x this
  float blurred_var = 40;      // Laplacian variance below this is "blurred" (~3% of LFW faces); factor 1 at 4x this
  float turned_deg = 35;       // |yaw| above this is "turned away"; factor 0 at 80 degrees
  float tilted_deg = 30;       // |pitch| above this is "tilted"
  float uncertain_conf = 0.8f; // detector confidence below this is "uncertain detection"
};

// Fills face.quality from face.box, face.confidence, face.landmarks68 and the aligned
// 112x112 face. `photo_size` tells whether the box is cut by the photo's edge.
void AssessQuality(Face& face, const cv::Mat& aligned, cv::Size photo_size, const QualityOptions& options = {});

// Yaw and pitch in degrees from 68 landmarks (rough, but monotonic and cheap).
cv::Point2f EstimatePose(const std::vector<cv::Point2f>& p68);

}  // namespace lineup
