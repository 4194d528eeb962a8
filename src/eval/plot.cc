#include "lineup/plot.h"

#include <cmath>
#include <algorithm>
#include <cstdio>

#include <opencv2/imgproc.hpp>

namespace lineup {

cv::Mat PlotCurves(const std::vector<Series>& series, const PlotOptions& o) {
  cv::Mat img(o.size, CV_8UC3, cv::Scalar::all(255));
  const int left = 90, right = 30, top = 70, bottom = 70;
  const cv::Rect area(left, top, o.size.width - left - right, o.size.height - top - bottom);
  auto fx = [&](double x) {
    double a = o.log_x ? std::log10(std::max(x, o.x_min)) : x;
    double lo = o.log_x ? std::log10(o.x_min) : o.x_min, hi = o.log_x ? std::log10(o.x_max) : o.x_max;
    return area.x + (a - lo) / (hi - lo) * area.width;
  };
  auto fy = [&](double y) { return area.y + area.height - (y - o.y_min) / (o.y_max - o.y_min) * area.height; };
  const auto font = cv::FONT_HERSHEY_SIMPLEX;
  const cv::Scalar grid(225, 225, 225), ink(40, 40, 40);
  char buf[32];
  // Grid and ticks.
  if (o.log_x) {
    for (double x = o.x_min; x <= o.x_max * 1.0001; x *= 10) {
      int px = static_cast<int>(fx(x));
      cv::line(img, {px, area.y}, {px, area.y + area.height}, grid);
      std::snprintf(buf, sizeof buf, "1e%d", static_cast<int>(std::lround(std::log10(x))));
      cv::putText(img, buf, {px - 18, area.y + area.height + 22}, font, 0.5, ink, 1, cv::LINE_AA);
    }
  } else {
    for (int k = 0; k <= 10; ++k) {
      double x = o.x_min + (o.x_max - o.x_min) * k / 10;
      int px = static_cast<int>(fx(x));
      cv::line(img, {px, area.y}, {px, area.y + area.height}, grid);
      std::snprintf(buf, sizeof buf, "%.3g", x);
      cv::putText(img, buf, {px - 14, area.y + area.height + 22}, font, 0.5, ink, 1, cv::LINE_AA);
    }
  }
  for (int k = 0; k <= 10; ++k) {
    double y = o.y_min + (o.y_max - o.y_min) * k / 10;
    int py = static_cast<int>(fy(y));
    cv::line(img, {area.x, py}, {area.x + area.width, py}, grid);
    std::snprintf(buf, sizeof buf, "%.3g", y);
    cv::putText(img, buf, {area.x - 60, py + 5}, font, 0.5, ink, 1, cv::LINE_AA);
  }
  cv::rectangle(img, area, ink, 1);
  cv::putText(img, o.title, {left, 28}, font, 0.7, ink, 2, cv::LINE_AA);
  cv::putText(img, o.x_label, {area.x + area.width / 2 - 60, o.size.height - 20}, font, 0.6, ink, 1, cv::LINE_AA);
  cv::putText(img, o.y_label, {8, area.y - 12}, font, 0.55, ink, 1, cv::LINE_AA);
  // Curves, clipped to the plotting area.
  // Legend in the lower right corner, sized to the longest label.
  int legend_w = 0;
  for (const auto& s : series) legend_w = std::max(legend_w, cv::getTextSize(s.label, font, 0.5, 1, nullptr).width);
  const int legend_x = area.x + area.width - legend_w - 50;
  int legend_y = area.y + area.height - 12 - 22 * (static_cast<int>(series.size()) - 1);
  for (const auto& s : series) {
    std::vector<cv::Point> pts;
    for (const auto& p : s.points) {
      if (o.log_x && p.x < o.x_min) continue;
      pts.push_back({static_cast<int>(fx(std::min(p.x, o.x_max))), static_cast<int>(fy(std::clamp(p.y, o.y_min, o.y_max)))});
    }
    if (pts.size() >= 2) cv::polylines(img, pts, false, s.colour, 2, cv::LINE_AA);
    cv::line(img, {legend_x, legend_y - 5}, {legend_x + 30, legend_y - 5}, s.colour, 3);
    cv::putText(img, s.label, {legend_x + 38, legend_y}, font, 0.5, ink, 1, cv::LINE_AA);
    legend_y += 22;
  }
  return img;
}

}  // namespace lineup
