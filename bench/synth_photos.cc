#include "synth_photos.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace lineup::synth {

namespace {

constexpr double kPi = 3.14159265358979323846;

uint64_t SplitMix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t Fnv1a(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

int Round(double v) { return static_cast<int>(std::lround(v)); }

// Hue in degrees, saturation and value in [0, 1].
cv::Scalar Hsv(double h, double s, double v) {
  h = std::fmod(std::fmod(h, 360.0) + 360.0, 360.0) / 60.0;
  const int i = static_cast<int>(h) % 6;
  const double f = h - std::floor(h), p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
  double r = 0, g = 0, b = 0;
  switch (i) {
    case 0:
      r = v, g = t, b = p;
      break;
    case 1:
      r = q, g = v, b = p;
      break;
    case 2:
      r = p, g = v, b = t;
      break;
    case 3:
      r = p, g = q, b = v;
      break;
    case 4:
      r = t, g = p, b = v;
      break;
    default:
      r = v, g = p, b = q;
      break;
  }
  return {std::round(b * 255), std::round(g * 255), std::round(r * 255)};
}

cv::Scalar RandomColour(Rng& rng, double s_lo, double s_hi, double v_lo, double v_hi) {
  const double h = rng.Uniform(0, 360);
  const double s = rng.Uniform(s_lo, s_hi);
  return Hsv(h, s, rng.Uniform(v_lo, v_hi));
}

std::string ColourText(const cv::Scalar& c) {  // as #rrggbb
  char buf[8];
  std::snprintf(buf, sizeof buf, "%02x%02x%02x", int(c[2]), int(c[1]), int(c[0]));
  return std::string("#") + buf;
}

// A background colour: light (cream, pastel, white) or dark (navy, black, wine) prints.
cv::Scalar GroundColour(Rng& rng, bool dark) {
  return dark ? RandomColour(rng, 0.3, 0.9, 0.08, 0.35) : RandomColour(rng, 0.0, 0.35, 0.8, 1.0);
}

// Drawing with sub-pixel coordinates: OpenCV takes fixed-point points with `kShift`
// fractional bits.
constexpr int kShift = 4;
constexpr double kOne = 1 << kShift;
cv::Point Fx(double x, double y) { return {Round(x * kOne), Round(y * kOne)}; }
cv::Size FxSize(double a, double b) { return {std::max(1, Round(a * kOne)), std::max(1, Round(b * kOne))}; }

void FilledEllipse(cv::Mat* img, double cx, double cy, double a, double b, double angle_deg, const cv::Scalar& c) {
  cv::ellipse(*img, Fx(cx, cy), FxSize(a, b), angle_deg, 0, 360, c, cv::FILLED, cv::LINE_AA, kShift);
}
void FilledCircle(cv::Mat* img, double cx, double cy, double r, const cv::Scalar& c) {
  cv::circle(*img, Fx(cx, cy), std::max(1, Round(r * kOne)), c, cv::FILLED, cv::LINE_AA, kShift);
}

// ---- floral -----------------------------------------------------------------------------

void DrawLeaf(cv::Mat* img, double x, double y, double len, double angle_deg, const cv::Scalar& c) {
  const double a = angle_deg * kPi / 180;
  const double cx = x + std::cos(a) * len * 0.5, cy = y - std::sin(a) * len * 0.5;
  FilledEllipse(img, cx, cy, len * 0.5, len * 0.17, -angle_deg, c);
  const cv::Scalar rib = c * 0.6;
  cv::line(*img, Fx(x, y), Fx(x + std::cos(a) * len * 0.9, y - std::sin(a) * len * 0.9), rib, 1, cv::LINE_AA, kShift);
}

void DrawFlower(cv::Mat* img, double x, double y, double r, Rng& rng, const std::vector<cv::Scalar>& petals,
                const std::vector<cv::Scalar>& centres) {
  const int n = rng.Int(4, 9);
  const double a0 = rng.Uniform(0, 360);
  const double width = rng.Uniform(0.45, 0.85);  // petal width / length
  const cv::Scalar petal = rng.Pick(petals);
  for (int k = 0; k < n; ++k) {
    const double a = a0 + 360.0 * k / n, ar = a * kPi / 180;
    FilledEllipse(img, x + std::cos(ar) * r * 0.55, y - std::sin(ar) * r * 0.55, r * 0.5, r * 0.5 * width, -a, petal);
  }
  if (rng.Chance(0.5)) {  // an inner ring of lighter or darker petals
    const cv::Scalar inner = rng.Chance(0.5) ? petal * 0.65 : (petal + cv::Scalar(255, 255, 255)) * 0.5;
    for (int k = 0; k < n; ++k) {
      const double a = a0 + 180.0 / n + 360.0 * k / n, ar = a * kPi / 180;
      FilledEllipse(img, x + std::cos(ar) * r * 0.3, y - std::sin(ar) * r * 0.3, r * 0.28, r * 0.28 * width, -a, inner);
    }
  }
  const cv::Scalar centre = rng.Pick(centres);
  FilledCircle(img, x, y, r * rng.Uniform(0.15, 0.3), centre);
  if (rng.Chance(0.3)) {  // stamens: a ring of small dots
    const int m = rng.Int(6, 12);
    for (int k = 0; k < m; ++k) {
      const double ar = 2 * kPi * k / m;
      FilledCircle(img, x + std::cos(ar) * r * 0.33, y + std::sin(ar) * r * 0.33, std::max(0.8, r * 0.05),
                   centre * 0.5);
    }
  }
}

cv::Mat DrawFloral(cv::Size size, Rng& rng, double scale, Params* p) {
  const bool dark = rng.Chance(0.45);
  const cv::Scalar ground = GroundColour(rng, dark);
  cv::Mat img(size, CV_8UC3, ground);
  std::vector<cv::Scalar> petals, centres, leaves;
  const int n_colours = rng.Int(2, 5);
  const double base_hue = rng.Uniform(0, 360);
  for (int i = 0; i < n_colours; ++i)
    petals.push_back(Hsv(base_hue + rng.Uniform(-60, 60) + (rng.Chance(0.4) ? 180 : 0), rng.Uniform(0.3, 0.95),
                         rng.Uniform(0.55, 1.0)));
  centres = {Hsv(rng.Uniform(30, 55), 0.9, 0.9), Hsv(rng.Uniform(0, 40), 0.8, 0.25), cv::Scalar(20, 20, 20),
             rng.Pick(petals) * 0.4};
  for (int i = 0; i < 3; ++i)
    leaves.push_back(Hsv(rng.Uniform(80, 150), rng.Uniform(0.4, 0.9), rng.Uniform(0.3, 0.75)));
  const double r_lo = 6 * scale, r_hi = rng.Uniform(30, 70) * scale;
  const double coverage = rng.Uniform(0.6, 1.4);  // flower area / picture area
  const double area = double(size.width) * size.height;
  int flowers = 0, n_leaves = 0;
  double covered = 0;
  while (covered < coverage * area && flowers < 20000) {
    const double r = std::exp(rng.Uniform(std::log(r_lo), std::log(r_hi)));
    const double x = rng.Uniform(-r, size.width + r), y = rng.Uniform(-r, size.height + r);
    const int nl = rng.Int(0, 3);
    for (int k = 0; k < nl; ++k, ++n_leaves)
      DrawLeaf(&img, x, y, r * rng.Uniform(1.1, 1.8), rng.Uniform(0, 360), rng.Pick(leaves));
    DrawFlower(&img, x, y, r, rng, petals, centres);
    covered += kPi * r * r;
    ++flowers;
  }
  // Scattered dots and tiny buds between the flowers.
  const int dots = static_cast<int>(area / (900 * scale * scale) * rng.Uniform(0.3, 1.2));
  for (int k = 0; k < dots; ++k) {
    const cv::Scalar c = rng.Chance(0.5) ? rng.Pick(petals) : rng.Pick(centres);
    FilledCircle(&img, rng.Uniform(0, size.width), rng.Uniform(0, size.height), rng.Uniform(1.2, 4.5) * scale, c);
  }
  if (p) {
    p->Add("floral.ground", ColourText(ground)).Add("floral.colours", double(n_colours), 0);
    p->Add("floral.r_max", r_hi, 1).Add("floral.flowers", double(flowers), 0).Add("floral.leaves", double(n_leaves), 0);
    p->Add("floral.dots", double(dots), 0);
  }
  return img;
}

// ---- polka dots ---------------------------------------------------------------------------

cv::Mat DrawPolkaDots(cv::Size size, Rng& rng, double scale, Params* p) {
  const bool dark = rng.Chance(0.5);
  const cv::Scalar ground = GroundColour(rng, dark);
  const cv::Scalar dot = dark ? RandomColour(rng, 0, 0.6, 0.75, 1.0) : RandomColour(rng, 0.4, 1.0, 0.1, 0.7);
  cv::Mat img(size, CV_8UC3, ground);
  const double step = rng.Uniform(14, 70) * scale;
  const double radius = step * rng.Uniform(0.12, 0.38);
  const bool staggered = rng.Chance(0.6);
  const double jitter = rng.Chance(0.3) ? step * rng.Uniform(0.05, 0.3) : 0;
  const bool two_sizes = rng.Chance(0.25);
  int dots = 0;
  for (int row = -1; row * step < size.height + step; ++row)
    for (int col = -1; col * step < size.width + step; ++col) {
      double x = col * step + ((staggered && (row & 1)) ? step / 2 : 0), y = row * step;
      if (jitter > 0) x += rng.Uniform(-jitter, jitter), y += rng.Uniform(-jitter, jitter);
      const double r = (two_sizes && ((row + col) & 1)) ? radius * 0.5 : radius;
      FilledCircle(&img, x, y, r, dot);
      ++dots;
    }
  if (p) {
    p->Add("dots.ground", ColourText(ground)).Add("dots.colour", ColourText(dot)).Add("dots.step", step, 1);
    p->Add("dots.radius", radius, 1).Add("dots.staggered", double(staggered), 0).Add("dots.jitter", jitter, 1);
    p->Add("dots.two_sizes", double(two_sizes), 0).Add("dots.count", double(dots), 0);
  }
  return img;
}

// ---- paisley ------------------------------------------------------------------------------

// A teardrop of length `len` with its round end at (x, y) pointing at `angle_deg`, its
// tail curled by `curl`, `fatness` its width relative to the default.
std::vector<cv::Point> Teardrop(double x, double y, double len, double angle_deg, double curl, double fatness) {
  std::vector<cv::Point> pts;
  const double a = angle_deg * kPi / 180, ca = std::cos(a), sa = std::sin(a);
  for (int i = 0; i < 48; ++i) {
    const double t = 2 * kPi * i / 48;
    // (-1, 0) is the round end, (1, 0) the tip.
    double u = -std::cos(t), v = std::sin(t) * std::pow(std::abs(std::sin(t / 2)), 1.0) * fatness;
    v += curl * (u + 1) * (u + 1) * 0.25;
    u = (u + 1) * 0.5 * len, v *= 0.5 * len;
    pts.push_back(Fx(x + u * ca - v * sa, y - (u * sa + v * ca)));
  }
  return pts;
}

cv::Mat DrawPaisley(cv::Size size, Rng& rng, double scale, Params* p) {
  const bool dark = rng.Chance(0.5);
  const cv::Scalar ground = GroundColour(rng, dark);
  cv::Mat img(size, CV_8UC3, ground);
  std::vector<cv::Scalar> colours;
  const double hue = rng.Uniform(0, 360);
  for (int i = 0; i < 4; ++i)
    colours.push_back(Hsv(hue + rng.Uniform(-50, 50) + (i == 3 ? 180 : 0), rng.Uniform(0.4, 1), rng.Uniform(0.35, 1)));
  const double len = rng.Uniform(35, 120) * scale;
  const double step = len * rng.Uniform(0.8, 1.3);
  int drops = 0;
  for (double gy = -step; gy < size.height + step; gy += step * 0.75)
    for (double gx = -step; gx < size.width + step; gx += step) {
      const double x = gx + rng.Uniform(-0.3, 0.3) * step, y = gy + rng.Uniform(-0.3, 0.3) * step;
      const double l = len * rng.Uniform(0.6, 1.2), ang = rng.Uniform(0, 360), curl = rng.Uniform(-1.2, 1.2);
      const double fat = rng.Uniform(0.7, 1.1);
      std::vector<std::vector<cv::Point>> poly = {Teardrop(x, y, l, ang, curl, fat)};
      cv::fillPoly(img, poly, rng.Pick(colours), cv::LINE_AA, kShift);
      poly = {Teardrop(x + std::cos(ang * kPi / 180) * l * 0.12, y - std::sin(ang * kPi / 180) * l * 0.12, l * 0.65,
                       ang, curl * 0.8, fat)};
      cv::polylines(img, poly, true, rng.Pick(colours), std::max(1, Round(l * 0.03)), cv::LINE_AA, kShift);
      // The "eye" in the round end, and dots along the outside.
      const double ex = x + std::cos(ang * kPi / 180) * l * 0.22, ey = y - std::sin(ang * kPi / 180) * l * 0.22;
      FilledCircle(&img, ex, ey, l * rng.Uniform(0.06, 0.14), rng.Pick(colours));
      if (rng.Chance(0.6)) {
        const auto outline = Teardrop(x, y, l * 1.1, ang, curl, fat * 1.15);
        for (size_t i = 0; i < outline.size(); i += 3)
          FilledCircle(&img, (outline[i].x / kOne) - std::cos(ang * kPi / 180) * l * 0.05, outline[i].y / kOne,
                       std::max(1.0, l * 0.025), rng.Pick(colours));
      }
      ++drops;
    }
  if (p) {
    p->Add("paisley.ground", ColourText(ground)).Add("paisley.len", len, 1).Add("paisley.drops", double(drops), 0);
  }
  return img;
}

// ---- leopard ------------------------------------------------------------------------------

cv::Mat DrawLeopard(cv::Size size, Rng& rng, double scale, Params* p) {
  const cv::Scalar ground = Hsv(rng.Uniform(22, 42), rng.Uniform(0.35, 0.7), rng.Uniform(0.65, 0.95));
  const cv::Scalar inner = Hsv(rng.Uniform(18, 35), rng.Uniform(0.55, 0.85), rng.Uniform(0.45, 0.75));
  const cv::Scalar ink = Hsv(rng.Uniform(10, 30), rng.Uniform(0.3, 0.8), rng.Uniform(0.05, 0.2));
  cv::Mat img(size, CV_8UC3, ground);
  const double r_mean = rng.Uniform(10, 32) * scale;
  const double area = double(size.width) * size.height;
  const int rosettes = static_cast<int>(area / (r_mean * r_mean * 7) * rng.Uniform(0.7, 1.2));
  for (int i = 0; i < rosettes; ++i) {
    const double x = rng.Uniform(-r_mean, size.width + r_mean), y = rng.Uniform(-r_mean, size.height + r_mean);
    const double r = r_mean * rng.Uniform(0.6, 1.4), squash = rng.Uniform(0.6, 1.0), tilt = rng.Uniform(0, 180);
    if (rng.Chance(0.25)) {  // a solid spot
      FilledEllipse(&img, x, y, r * 0.45, r * 0.45 * squash, tilt, ink);
      continue;
    }
    FilledEllipse(&img, x, y, r * 0.75, r * 0.75 * squash, tilt, inner);
    const int arcs = rng.Int(3, 6);
    double a = rng.Uniform(0, 360);
    for (int k = 0; k < arcs; ++k) {
      const double span = 360.0 / arcs * rng.Uniform(0.45, 0.85);
      const double rr = r * rng.Uniform(0.8, 1.0);
      cv::ellipse(img, Fx(x, y), FxSize(rr, rr * squash), tilt, a, a + span, ink,
                  std::max(1, Round(r * rng.Uniform(0.15, 0.3))), cv::LINE_AA, kShift);
      a += 360.0 / arcs;
    }
  }
  const int specks = static_cast<int>(area / (r_mean * r_mean * 6));
  for (int i = 0; i < specks; ++i)
    FilledCircle(&img, rng.Uniform(0, size.width), rng.Uniform(0, size.height), r_mean * rng.Uniform(0.08, 0.2), ink);
  if (p) {
    p->Add("leopard.ground", ColourText(ground)).Add("leopard.r", r_mean, 1);
    p->Add("leopard.rosettes", double(rosettes), 0).Add("leopard.specks", double(specks), 0);
  }
  return img;
}

// ---- checks -------------------------------------------------------------------------------

cv::Mat DrawChecks(cv::Size size, Rng& rng, double scale, Params* p) {
  const cv::Scalar ground = GroundColour(rng, rng.Chance(0.3));
  cv::Mat img(size, CV_8UC3, ground);
  const bool tartan = rng.Chance(0.5);
  const double period = rng.Uniform(16, 90) * scale;
  const int bands = tartan ? rng.Int(2, 4) : 1;
  struct Band {
    double offset, width;
    cv::Scalar colour;
  };
  std::vector<Band> set;
  for (int i = 0; i < bands; ++i)
    set.push_back({rng.Uniform(0, period), period * (i == 0 ? 0.5 : rng.Uniform(0.05, 0.25)),
                   RandomColour(rng, 0.4, 1.0, 0.15, 0.8)});
  const double alpha = rng.Uniform(0.35, 0.6);
  // Each stripe is a translucent layer: where horizontal and vertical stripes cross, the
  // colour is deeper, as in woven gingham.
  for (int dir = 0; dir < 2; ++dir)
    for (const Band& b : set) {
      cv::Mat layer = img.clone();
      const int extent = dir == 0 ? size.width : size.height;
      for (double s = b.offset - period; s < extent; s += period) {
        const cv::Rect r = dir == 0 ? cv::Rect(Round(s), 0, std::max(1, Round(b.width)), size.height)
                                    : cv::Rect(0, Round(s), size.width, std::max(1, Round(b.width)));
        cv::rectangle(layer, r, b.colour, cv::FILLED);
      }
      cv::addWeighted(layer, alpha, img, 1 - alpha, 0, img);
    }
  if (tartan && rng.Chance(0.7)) {  // thin overcheck lines
    const cv::Scalar line = RandomColour(rng, 0.3, 1.0, 0.6, 1.0);
    const double off = rng.Uniform(0, period);
    for (double s = off - period; s < std::max(size.width, size.height); s += period) {
      cv::line(img, {Round(s), 0}, {Round(s), size.height}, line, 1);
      cv::line(img, {0, Round(s)}, {size.width, Round(s)}, line, 1);
    }
  }
  if (p)
    p->Add("checks.tartan", double(tartan), 0).Add("checks.period", period, 1).Add("checks.bands", double(bands), 0);
  return img;
}

// ---- printed text -------------------------------------------------------------------------

cv::Mat DrawText(cv::Size size, Rng& rng, double scale, Params* p) {
  static const std::vector<std::string> kWords = {
      "PARIS",  "LOVE",   "SUMMER",  "NEW YORK", "bonjour", "Vogue",   "2024",   "COLLECTION", "dream",   "Milano",
      "STYLE",  "chic",   "LONDON",  "amour",    "OK",      "YES",     "coffee", "TOKYO",      "No. 5",   "merci",
      "BRAND",  "sale",   "FASHION", "hello",    "ROMA",    "star",    "SPRING", "limited",    "edition", "XOXO",
      "nature", "BERLIN", "smile",   "CLUB",     "93",      "vintage", "SPORT",  "original",   "happy",   "MODE"};
  static const int kFonts[] = {cv::FONT_HERSHEY_SIMPLEX,        cv::FONT_HERSHEY_PLAIN,
                               cv::FONT_HERSHEY_DUPLEX,         cv::FONT_HERSHEY_COMPLEX,
                               cv::FONT_HERSHEY_TRIPLEX,        cv::FONT_HERSHEY_COMPLEX_SMALL,
                               cv::FONT_HERSHEY_SCRIPT_SIMPLEX, cv::FONT_HERSHEY_SCRIPT_COMPLEX};
  const bool dark = rng.Chance(0.3);
  const cv::Scalar ground = GroundColour(rng, dark);
  std::vector<cv::Scalar> inks;
  for (int i = 0; i < 3; ++i)
    inks.push_back(dark ? RandomColour(rng, 0, 0.7, 0.7, 1.0) : RandomColour(rng, 0.2, 1.0, 0.05, 0.6));
  const double tilt = rng.Chance(0.4) ? rng.Uniform(-35, 35) : 0;
  // Draw on a canvas large enough to cover `size` after turning by `tilt`.
  const int side = static_cast<int>(std::ceil(std::hypot(size.width, size.height))) + 4;
  cv::Mat big(side, side, CV_8UC3, ground);
  const int font = kFonts[rng.Int(0, 7)];
  const double fs = rng.Uniform(0.3, 0.9) * scale;
  const int thick = fs > 0.7 && rng.Chance(0.5) ? 2 : 1;
  int base = 0;
  const int line_h = cv::getTextSize("Hg", font, fs, thick, &base).height + base + Round(rng.Uniform(2, 10) * scale);
  int words = 0;
  for (int y = line_h, row = 0; y < side + line_h; y += line_h, ++row) {
    int x = rng.Int(-60, 0) + ((row & 1) ? Round(20 * scale) : 0);
    while (x < side) {
      const std::string& w = rng.Pick(kWords);
      const int f = rng.Chance(0.85) ? font : kFonts[rng.Int(0, 7)];
      cv::putText(big, w, {x, y}, f, fs, rng.Pick(inks), thick, cv::LINE_AA);
      x += cv::getTextSize(w, f, fs, thick, &base).width + Round(rng.Uniform(8, 30) * scale);
      ++words;
    }
  }
  cv::Mat img;
  const cv::Mat m = cv::getRotationMatrix2D({side / 2.0f, side / 2.0f}, tilt, 1.0);
  cv::Mat turned;
  cv::warpAffine(big, turned, m, big.size(), cv::INTER_LINEAR, cv::BORDER_REFLECT_101);
  turned(cv::Rect((side - size.width) / 2, (side - size.height) / 2, size.width, size.height)).copyTo(img);
  if (p) {
    p->Add("text.font", double(font), 0).Add("text.size", fs, 2).Add("text.tilt", tilt, 1);
    p->Add("text.words", double(words), 0);
  }
  return img;
}

}  // namespace

// ---- Rng ----------------------------------------------------------------------------------

Rng Rng::For(uint64_t seed, std::string_view stream, uint64_t index) {
  return Rng(SplitMix(SplitMix(seed) ^ SplitMix(Fnv1a(stream) + SplitMix(index))));
}

double Rng::Uniform() { return static_cast<double>(gen_() >> 11) * 0x1.0p-53; }

double Rng::Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }

int Rng::Int(int lo, int hi) {
  const uint64_t range = static_cast<uint64_t>(static_cast<int64_t>(hi) - lo) + 1;
  const uint64_t limit = UINT64_MAX - UINT64_MAX % range;  // reject the uneven top
  uint64_t r = gen_();
  while (r >= limit) r = gen_();
  return static_cast<int>(lo + static_cast<int64_t>(r % range));
}

double Rng::Normal(double mean, double sd) {
  if (has_spare_) {
    has_spare_ = false;
    return mean + sd * spare_normal_;
  }
  const double u1 = 1.0 - Uniform();  // (0, 1]
  const double u2 = Uniform();
  const double r = std::sqrt(-2.0 * std::log(u1));
  spare_normal_ = r * std::sin(2 * kPi * u2);
  has_spare_ = true;
  return mean + sd * r * std::cos(2 * kPi * u2);
}

// ---- Params -------------------------------------------------------------------------------

Params& Params::Add(std::string_view key, double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  std::string v = buf;
  if (v.find_first_not_of("-0.") == std::string::npos && v[0] == '-') v.erase(0, 1);  // no "-0.00"
  return Add(key, std::string_view(v));
}

Params& Params::Add(std::string_view key, std::string_view value) {
  if (!text_.empty()) text_ += ' ';
  text_.append(key).append("=");
  for (char c : value) text_ += (c == ' ' || c == '\t' || c == '\n' || c == '\r') ? '_' : c;
  return *this;
}

Params& Params::Append(const Params& other, std::string_view prefix) {
  size_t i = 0;
  const std::string& t = other.text_;
  while (i < t.size()) {
    size_t j = t.find(' ', i);
    if (j == std::string::npos) j = t.size();
    if (!text_.empty()) text_ += ' ';
    text_.append(prefix).append(t, i, j - i);
    i = j + 1;
  }
  return *this;
}

// ---- patterns -----------------------------------------------------------------------------

std::string_view PatternName(Pattern p) {
  switch (p) {
    case Pattern::kFloral:
      return "floral";
    case Pattern::kPolkaDots:
      return "dots";
    case Pattern::kPaisley:
      return "paisley";
    case Pattern::kLeopard:
      return "leopard";
    case Pattern::kChecks:
      return "checks";
    case Pattern::kText:
      return "text";
  }
  return "?";
}

cv::Mat DrawPattern(Pattern p, cv::Size size, Rng& rng, double scale, Params* params) {
  scale = std::max(scale, 0.05);
  switch (p) {
    case Pattern::kFloral:
      return DrawFloral(size, rng, scale, params);
    case Pattern::kPolkaDots:
      return DrawPolkaDots(size, rng, scale, params);
    case Pattern::kPaisley:
      return DrawPaisley(size, rng, scale, params);
    case Pattern::kLeopard:
      return DrawLeopard(size, rng, scale, params);
    case Pattern::kChecks:
      return DrawChecks(size, rng, scale, params);
    case Pattern::kText:
      return DrawText(size, rng, scale, params);
  }
  return cv::Mat(size, CV_8UC3, cv::Scalar::all(128));
}

// ---- backgrounds from real photos ---------------------------------------------------------

std::vector<BackgroundSource> LoadGroupBackgrounds(const std::string& groups_dir) {
  // Rectangles of the groups/ photos that show no face, chosen by eye and confirmed by
  // running `lineup detect --json --min-photo-confidence 0` on each crop (no detection
  // in any). The other groups photos are faces from edge to edge.
  struct Entry {
    const char* file;
    std::vector<cv::Rect> clear;
  };
  static const std::vector<Entry> kClear = {
      {"face_recognition_obama_and_biden.jpg", {{0, 0, 680, 1428}}},
      {"face_recognition_two_people.jpg", {{420, 0, 320, 300}, {975, 0, 151, 420}}},
      {"deepface_couple.jpg", {{2010, 0, 270, 1250}}},
      {"insightface_t1.jpg", {{420, 0, 420, 180}}},
      {"facenet-pytorch_multiface.jpg", {{880, 0, 320, 300}}},
  };
  std::vector<BackgroundSource> out;
  for (const Entry& e : kClear) {
    const std::string path = (std::filesystem::path(groups_dir) / e.file).string();
    cv::Mat bgr = cv::imread(path, cv::IMREAD_COLOR);
    if (bgr.empty()) continue;
    BackgroundSource s{e.file, bgr, {}};
    for (const cv::Rect& r : e.clear) {
      const cv::Rect c = r & cv::Rect(0, 0, bgr.cols, bgr.rows);
      if (c.width >= 32 && c.height >= 32) s.clear.push_back(c);
    }
    if (!s.clear.empty()) out.push_back(std::move(s));
  }
  return out;
}

cv::Mat CropBackground(const std::vector<BackgroundSource>& sources, cv::Size size, Rng& rng, Params* params) {
  const BackgroundSource& s = rng.Pick(sources);
  const cv::Rect& r = rng.Pick(s.clear);
  const double aspect = double(size.width) / size.height;
  double w = r.width, h = r.height;
  if (w / h > aspect)
    w = h * aspect;
  else
    h = w / aspect;
  const double zoom = rng.Uniform(0.55, 1.0);
  w *= zoom, h *= zoom;
  const int iw = std::max(8, Round(w)), ih = std::max(8, Round(h));
  const int x = r.x + rng.Int(0, std::max(0, r.width - iw)), y = r.y + rng.Int(0, std::max(0, r.height - ih));
  const cv::Rect crop = cv::Rect(x, y, iw, ih) & cv::Rect(0, 0, s.bgr.cols, s.bgr.rows);
  cv::Mat out;
  cv::resize(s.bgr(crop), out, size, 0, 0, crop.width > size.width ? cv::INTER_AREA : cv::INTER_LINEAR);
  const bool flip = rng.Chance(0.5);
  if (flip) cv::flip(out, out, 1);
  if (params) {
    params->Add("bg.src", s.name).Add("bg.x", crop.x, 0).Add("bg.y", crop.y, 0).Add("bg.w", crop.width, 0);
    params->Add("bg.h", crop.height, 0).Add("bg.flip", double(flip), 0);
  }
  return out;
}

// ---- face geometry ------------------------------------------------------------------------

cv::Rect2f LfwFaceBox() {
  // The mean of the boxes `lineup detect --json` gave on 509 LFW photos (every 26th line
  // of identities.tsv; in each, the face nearest the centre): x 79.6 (sd 7.7), y 59.3
  // (sd 7.2), w 91.5 (sd 8.1), h 132.1 (sd 11.5); centre (125.3, 125.4). The detector's
  // box runs from the hairline to below the chin, so it is taller than wide.
  return {79.6f, 59.3f, 91.5f, 132.1f};
}

std::string BoxText(const cv::Rect2f& box, std::string_view name) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "%d,%d,%d,%d", Round(box.x), Round(box.y), Round(box.width), Round(box.height));
  std::string s = buf;
  if (!name.empty()) s.append("=").append(name);
  return s;
}

// ---- compositing --------------------------------------------------------------------------

std::string_view CutoutName(Cutout c) { return c == Cutout::kWholePhoto ? "photo" : "oval"; }

namespace {

// Blends `src` (BGR) onto `dst` with `alpha` (CV_32F, 0..1) at `at`, clipped to `dst`.
void Blend(cv::Mat* dst, const cv::Mat& src, const cv::Mat& alpha, cv::Point at) {
  const cv::Rect whole(at, src.size());
  const cv::Rect vis = whole & cv::Rect(0, 0, dst->cols, dst->rows);
  if (vis.empty()) return;
  for (int y = vis.y; y < vis.y + vis.height; ++y) {
    auto* d = dst->ptr<cv::Vec3b>(y);
    const auto* s = src.ptr<cv::Vec3b>(y - at.y);
    const float* a = alpha.ptr<float>(y - at.y);
    for (int x = vis.x; x < vis.x + vis.width; ++x) {
      const float w = a[x - at.x];
      if (w <= 0) continue;
      const cv::Vec3b& sv = s[x - at.x];
      for (int c = 0; c < 3; ++c) d[x][c] = cv::saturate_cast<uchar>(sv[c] * w + d[x][c] * (1 - w));
    }
  }
}

}  // namespace

cv::Rect2f PlacePerson(cv::Mat* canvas, const cv::Mat& lfw, const PersonLayout& layout, Rng& rng, Params* params,
                       std::string_view prefix) {
  const cv::Rect2f f0 = LfwFaceBox();
  const double s = layout.face_height / f0.height;
  const double fw = f0.width * s, fh = layout.face_height;
  const double cx = layout.face_centre.x, cy = layout.face_centre.y;
  Params rec;
  rec.Add("face_h", fh, 1).Add("cutout", CutoutName(layout.cutout));

  // The cut-out, in the LFW photo's own pixels, with its alpha.
  cv::Mat alpha(lfw.size(), CV_32F, cv::Scalar(0));
  if (layout.cutout == Cutout::kWholePhoto) {
    const double e = rng.Uniform(3, 14);  // feather width, LFW pixels
    for (int y = 0; y < lfw.rows; ++y)
      for (int x = 0; x < lfw.cols; ++x) {
        const double d = std::min({x + 0.5, lfw.cols - x - 0.5, y + 0.5, lfw.rows - y - 0.5});
        alpha.at<float>(y, x) = static_cast<float>(std::min(1.0, d / e));
      }
    rec.Add("feather", e, 1);
  } else {
    // Head and neck: from above the hair to below the chin, soft at the edge.
    const double ocx = f0.x + f0.width / 2, ocy = f0.y + f0.height * rng.Uniform(0.5, 0.56);
    const double ax = f0.width * rng.Uniform(0.68, 0.8), ay = f0.height * rng.Uniform(0.72, 0.8);
    const double feather = f0.height * rng.Uniform(0.04, 0.08);
    cv::Mat m(lfw.size(), CV_8U, cv::Scalar(0));
    cv::ellipse(m, Fx(ocx, ocy), FxSize(ax - feather, ay - feather), 0, 0, 360, cv::Scalar(255), cv::FILLED,
                cv::LINE_AA, kShift);
    cv::GaussianBlur(m, m, cv::Size(0, 0), feather, feather, cv::BORDER_CONSTANT);
    m.convertTo(alpha, CV_32F, 1.0 / 255);
    rec.Add("oval_w", ax * 2, 1).Add("oval_h", ay * 2, 1).Add("feather", feather, 1);
  }
  const int nw = std::max(2, Round(lfw.cols * s)), nh = std::max(2, Round(lfw.rows * s));
  const int interp = s < 1 ? cv::INTER_AREA : cv::INTER_LINEAR;
  cv::Mat scaled, scaled_alpha;
  cv::resize(lfw, scaled, {nw, nh}, 0, 0, interp);
  cv::resize(alpha, scaled_alpha, {nw, nh}, 0, 0, interp);
  const double sx = double(nw) / lfw.cols, sy = double(nh) / lfw.rows;
  const cv::Point at(Round(cx - (f0.x + f0.width / 2) * sx), Round(cy - (f0.y + f0.height / 2) * sy));
  Blend(canvas, scaled, scaled_alpha, at);

  if (layout.torso) {
    // Clothes over the photo's own: shoulders (the top of a flat ellipse) starting a
    // little below the chin, a round or V neckline that leaves the neck bare, and the
    // body straight down (widening a little) to the canvas's bottom edge or to
    // layout.body_length.
    const double chin = cy + fh / 2;
    const double half_w = fw * rng.Uniform(1.25, 1.7);
    const double shoulder_y = chin + fh * rng.Uniform(0.22, 0.4);
    const double ey = shoulder_y + fh * 0.3;
    cv::Mat mask(canvas->size(), CV_8U, cv::Scalar(0));
    cv::ellipse(mask, Fx(cx, ey), FxSize(half_w, fh * 0.3), 0, 180, 360, cv::Scalar(255), cv::FILLED, cv::LINE_AA,
                kShift);
    const double bottom = layout.body_length > 0 ? std::max(chin + layout.body_length * fh, ey + 1)
                                                 : std::max<double>(canvas->rows, ey + 1);
    std::vector<std::vector<cv::Point>> body = {
        {Fx(cx - half_w, ey), Fx(cx + half_w, ey), Fx(cx + half_w * 1.12, bottom), Fx(cx - half_w * 1.12, bottom)}};
    cv::fillPoly(mask, body, cv::Scalar(255), cv::LINE_AA, kShift);
    const double neck_w = fw * rng.Uniform(0.28, 0.45), neck_d = fh * rng.Uniform(0.12, 0.4);
    const bool v_neck = rng.Chance(0.35);
    if (v_neck) {
      std::vector<std::vector<cv::Point>> v = {{Fx(cx - neck_w, shoulder_y - fh * 0.1),
                                                Fx(cx + neck_w, shoulder_y - fh * 0.1), Fx(cx, shoulder_y + neck_d)}};
      cv::fillPoly(mask, v, cv::Scalar(0), cv::LINE_AA, kShift);
    } else {
      cv::ellipse(mask, Fx(cx, shoulder_y), FxSize(neck_w, neck_d), 0, 0, 360, cv::Scalar(0), cv::FILLED, cv::LINE_AA,
                  kShift);
    }
    const cv::Rect box = cv::boundingRect(mask);
    if (!box.empty()) {
      Params cloth;
      cv::Mat print = DrawPattern(layout.clothing, box.size(), rng, std::max(0.15, fh / 150.0), &cloth);
      // A little shading at the sides, as cloth turns away from the light.
      const double shade = rng.Uniform(0.0, 0.35);
      for (int x = 0; x < print.cols; ++x) {
        const double d = std::clamp(std::abs((box.x + x) - cx) / (half_w * 1.12), 0.0, 1.0);
        const double k = 1 - shade * d * d;
        for (int y = 0; y < print.rows; ++y) print.at<cv::Vec3b>(y, x) *= k;
      }
      cv::Mat torso_alpha;
      mask(box).convertTo(torso_alpha, CV_32F, 1.0 / 255);
      const double soft = std::max(0.6, fh * 0.008);
      cv::GaussianBlur(torso_alpha, torso_alpha, cv::Size(0, 0), soft, soft, cv::BORDER_REPLICATE);
      Blend(canvas, print, torso_alpha, box.tl());
      if (layout.body_length > 0) rec.Add("body_len", layout.body_length, 2);
      rec.Add("torso_w", half_w * 2, 0).Add("neck", v_neck ? "v" : "round").Add("shade", shade, 2);
      rec.Add("cloth", PatternName(layout.clothing)).Append(cloth, "cloth.");
    }
  }
  if (params) params->Append(rec, prefix);
  return {static_cast<float>(at.x + f0.x * sx), static_cast<float>(at.y + f0.y * sy), static_cast<float>(f0.width * sx),
          static_cast<float>(f0.height * sy)};
}

// ---- crops and degradations ---------------------------------------------------------------

cv::Mat CropFace(const cv::Mat& photo, const cv::Rect2f& face, const FaceCrop& crop, cv::Rect2f* face_out) {
  const cv::Point2f c(face.x + face.width / 2, face.y + face.height / 2);
  const double side_in = crop.margin * face.height;
  const int in = std::max(4, Round(side_in));
  // Turn about the face centre and cut the square around it at full resolution ...
  cv::Mat m = cv::getRotationMatrix2D(c, crop.rotation_deg, 1.0);
  m.at<double>(0, 2) += in / 2.0 - c.x;
  m.at<double>(1, 2) += in / 2.0 - c.y;
  cv::Mat cut;
  cv::warpAffine(photo, cut, m, {in, in}, cv::INTER_LINEAR, cv::BORDER_REFLECT_101);
  // ... then bring it to size (area averaging when shrinking, as a camera would).
  const int out = std::max(4, Round(crop.margin * crop.face_px));
  cv::Mat res;
  cv::resize(cut, res, {out, out}, 0, 0, out < in ? cv::INTER_AREA : cv::INTER_LINEAR);
  const double k = double(out) / in;
  if (face_out) {
    const double w = face.width * k, h = face.height * k;
    *face_out = cv::Rect2f(static_cast<float>(out / 2.0 - w / 2), static_cast<float>(out / 2.0 - h / 2),
                           static_cast<float>(w), static_cast<float>(h));
  }
  return res;
}

Params Degradation::Record(std::string_view prefix) const {
  Params p;
  const std::string pre(prefix);
  if (resample < 1) p.Add(pre + "resample", resample, 3);
  if (gauss_sigma > 0) p.Add(pre + "gauss", gauss_sigma, 2);
  if (motion_px > 1) p.Add(pre + "motion_px", motion_px, 0).Add(pre + "motion_deg", motion_deg, 1);
  if (brightness != 0) p.Add(pre + "bright", brightness, 1);
  if (contrast != 1) p.Add(pre + "contrast", contrast, 2);
  if (gamma != 1) p.Add(pre + "gamma", gamma, 2);
  if (noise_sigma > 0) p.Add(pre + "noise", noise_sigma, 2);
  if (jpeg_quality > 0) p.Add(pre + "jpeg_q", jpeg_quality, 0);
  return p;
}

Degradation RandomVideoDegradation(Rng& rng) {
  Degradation d;
  const double u = rng.Uniform();
  if (u < 0.5) {
    d.gauss_sigma = rng.Uniform(0.5, 2.5);
  } else if (u < 0.9) {
    d.motion_px = rng.Int(3, 9);
    d.motion_deg = rng.Uniform(0, 180);
  }
  if (rng.Chance(0.8)) d.noise_sigma = rng.Uniform(2, 8);
  d.brightness = rng.Uniform(-30, 30);
  d.contrast = rng.Uniform(0.7, 1.3);
  d.gamma = std::exp(rng.Uniform(std::log(0.7), std::log(1.4)));
  d.jpeg_quality = rng.Int(20, 60);
  return d;
}

Degradation RandomStrongBlur(Rng& rng, double face_h, double face_px_lo, double face_px_hi) {
  Degradation d;
  if (rng.Chance(0.5))
    d.gauss_sigma = rng.Uniform(2, 6);
  else
    d.resample = std::min(1.0, rng.Uniform(face_px_lo, face_px_hi) / face_h);
  return d;
}

Degradation RandomLightDegradation(Rng& rng) {
  Degradation d;
  if (rng.Chance(0.6)) {
    d.gauss_sigma = rng.Uniform(0.5, 2);
  } else {
    d.motion_px = rng.Int(3, 7);
    d.motion_deg = rng.Uniform(0, 180);
  }
  d.jpeg_quality = rng.Int(30, 70);
  return d;
}

cv::Mat Degrade(const cv::Mat& bgr, const Degradation& d, Rng& rng) {
  cv::Mat img = bgr.clone();
  if (d.resample < 1) {
    cv::Mat small;
    const cv::Size s(std::max(2, Round(img.cols * d.resample)), std::max(2, Round(img.rows * d.resample)));
    cv::resize(img, small, s, 0, 0, cv::INTER_AREA);
    cv::resize(small, img, bgr.size(), 0, 0, cv::INTER_LINEAR);
  }
  if (d.gauss_sigma > 0)
    cv::GaussianBlur(img, img, cv::Size(0, 0), d.gauss_sigma, d.gauss_sigma, cv::BORDER_REFLECT_101);
  if (d.motion_px > 1) {
    // A line kernel: samples along the line splatted bilinearly, then normalised.
    const int k = d.motion_px | 1;
    cv::Mat kernel(k, k, CV_32F, cv::Scalar(0));
    const double a = d.motion_deg * kPi / 180, half = (d.motion_px - 1) / 2.0, c = (k - 1) / 2.0;
    const int samples = 8 * d.motion_px;
    for (int i = 0; i < samples; ++i) {
      const double t = -half + 2 * half * i / (samples - 1);
      const double x = c + t * std::cos(a), y = c - t * std::sin(a);
      const int x0 = static_cast<int>(std::floor(x)), y0 = static_cast<int>(std::floor(y));
      const double fx = x - x0, fy = y - y0;
      for (int dy = 0; dy < 2; ++dy)
        for (int dx = 0; dx < 2; ++dx) {
          const int xx = x0 + dx, yy = y0 + dy;
          if (xx < 0 || yy < 0 || xx >= k || yy >= k) continue;
          kernel.at<float>(yy, xx) += static_cast<float>((dx ? fx : 1 - fx) * (dy ? fy : 1 - fy));
        }
    }
    kernel /= cv::sum(kernel)[0];
    cv::filter2D(img, img, -1, kernel, {-1, -1}, 0, cv::BORDER_REFLECT_101);
  }
  if (d.brightness != 0 || d.contrast != 1 || d.gamma != 1) {
    cv::Mat lut(1, 256, CV_8U);
    for (int v = 0; v < 256; ++v) {
      const double a = std::clamp(d.contrast * (v - 128.0) + 128.0 + d.brightness, 0.0, 255.0);
      lut.at<uchar>(v) = cv::saturate_cast<uchar>(std::round(255.0 * std::pow(a / 255.0, d.gamma)));
    }
    cv::LUT(img, lut, img);
  }
  if (d.noise_sigma > 0) {
    for (int y = 0; y < img.rows; ++y) {
      uchar* row = img.ptr<uchar>(y);
      for (int x = 0; x < img.cols * img.channels(); ++x)
        row[x] = cv::saturate_cast<uchar>(std::lround(row[x] + rng.Normal(0, d.noise_sigma)));
    }
  }
  return img;
}

std::vector<uint8_t> EncodeJpeg(const cv::Mat& bgr, int quality) {
  std::vector<uint8_t> buf;
  cv::imencode(".jpg", bgr, buf,
               {cv::IMWRITE_JPEG_QUALITY, std::clamp(quality, 1, 100), cv::IMWRITE_JPEG_OPTIMIZE, 0,
                cv::IMWRITE_JPEG_PROGRESSIVE, 0});
  return buf;
}

}  // namespace lineup::synth
