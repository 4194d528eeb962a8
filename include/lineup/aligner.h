// Alignment: warps a face so that its landmarks land on the template an embedding
// network was trained with: the standard 112x112 five-point template (AlignFace), or
// dlib's face chip (AlignDlibChip) for networks trained with dlib.
//
// The transform is always the least-squares similarity (scale, rotation, translation;
// no shear) from the points to the template, so a face is never distorted to fit.
// Pixels from outside the photo are black; a face larger than the output is shrunk with
// area averaging before the warp.
#pragma once

#include <span>
#include <vector>

#include <opencv2/core.hpp>

#include "lineup/face.h"

namespace lineup {

// The 112x112 template: eye centres, nose tip, mouth corners.
const FivePoints& AlignmentTemplate();

// Least-squares similarity transform taking `from` onto `to` (Umeyama's method).
cv::Matx23d SimilarityTransform(const FivePoints& from, const FivePoints& to);

// The same for any number of point pairs (the first min(from, to) of each).
cv::Matx23d SimilarityTransform(std::span<const cv::Point2f> from, std::span<const cv::Point2f> to);

// The aligned 112x112 BGR face; pixels from outside the photo are black.
cv::Mat AlignFace(const cv::Mat& photo, const FivePoints& five);

// dlib's face chip, as get_face_chip_details(shape, size, padding) + extract_image_chip
// make it: dlib's mean face shape, widened by `padding` on every side, fitted to 33 of
// the 68 iBUG landmarks (nose, eyes, outer mouth, inner upper lip). The dlib face
// recognition ResNet was trained on 150x150 chips with padding 0.25.
// DlibChipTemplate: the template points in chip pixels, in landmark order 27..54, 60..64.
std::vector<cv::Point2f> DlibChipTemplate(int size = 150, double padding = 0.25);
// Photo -> chip transform. landmarks68 must hold 68 points (photo pixels, iBUG order);
// anything else is a programming error (cv::Exception).
cv::Matx23d DlibChipTransform(std::span<const cv::Point2f> landmarks68, int size = 150, double padding = 0.25);
// The size x size BGR chip.
cv::Mat AlignDlibChip(const cv::Mat& photo, std::span<const cv::Point2f> landmarks68, int size = 150,
                      double padding = 0.25);

}  // namespace lineup
