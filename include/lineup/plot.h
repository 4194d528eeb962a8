// Plot: small line charts as PNG-ready images (ROC, DET, CMC curves) drawn with
// OpenCV, so reports need no plotting stack.
#pragma once

#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace lineup {

struct Series {
  std::string label;
  std::vector<cv::Point2d> points;
  cv::Scalar colour = {200, 80, 20};
};

struct PlotOptions {
  std::string title, x_label, y_label;
  bool log_x = false;
  double x_min = 0, x_max = 1, y_min = 0, y_max = 1;
  cv::Size size = {900, 640};
};

// A white chart with axes, grid, tick labels, a legend and one polyline per series.
cv::Mat PlotCurves(const std::vector<Series>& series, const PlotOptions& options);

}  // namespace lineup
