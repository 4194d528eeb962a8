// Alignment: warps a face so that its five points land on the standard 112x112
// template the embedding network was trained with.
//
// The transform is the least-squares similarity (scale, rotation, translation; no
// shear) from the five points to the template, so a face is never distorted to fit.
#pragma once

#include <opencv2/core.hpp>

#include "lineup/face.h"

namespace lineup {

// The 112x112 template: eye centres, nose tip, mouth corners.
const FivePoints& AlignmentTemplate();

// Least-squares similarity transform taking `from` onto `to` (Umeyama's method).
cv::Matx23d SimilarityTransform(const FivePoints& from, const FivePoints& to);

// The aligned 112x112 BGR face; pixels from outside the photo are black.
cv::Mat AlignFace(const cv::Mat& photo, const FivePoints& five);

}  // namespace lineup
