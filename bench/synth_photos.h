// Synthetic photos for Lineup's benchmarks: printed textile patterns (the texture a face
// detector mistakes for faces), real LFW faces composited onto canvases with a body and
// a background, and the degradations of video frames, every choice recorded.
//
// What it promises:
//  - Determinism. Every function is a pure function of its arguments and of the Rng it
//    is handed: the same seed gives the same pixels (and, through EncodeJpeg, the same
//    bytes) on the same platform and library versions. Rng draws from std::mt19937_64,
//    whose raw output the C++ standard fixes, through transforms written here, never
//    through std::*_distribution (whose results differ between standard libraries).
//  - Ground truth without a detector. Where a real face lies is derived from the LFW
//    deep-funneled geometry (LfwFaceBox) and from the transforms applied to the photo;
//    nothing here runs a model, so the truth cannot inherit the detector's mistakes.
//  - Records. Functions that make random choices append them to a Params, so a
//    manifest can say exactly how each image was made.
//
// Used by lineup_make_hard_set (bench/make_hard_set.cc); meant to be reused by tools
// that build group photos (several PlacePerson calls on one canvas) and test videos
// (CropFace + Degrade per frame).
#pragma once

#include <array>
#include <cstdint>
#include <opencv2/core.hpp>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lineup::synth {

// ---------------------------------------------------------------------------------------
// Random numbers

// A seeded random stream with fixed transforms (identical results with any standard
// library). Not thread-safe; give each thread or each item its own (Rng::For).
class Rng {
 public:
  explicit Rng(uint64_t seed) : gen_(seed) {}
  // The stream for item `index` of the part of a job called `stream`: the same (seed,
  // stream, index) always gives the same numbers, however many other items were drawn,
  // so adding an item or a section never changes the others.
  static Rng For(uint64_t seed, std::string_view stream, uint64_t index);

  uint64_t Bits() { return gen_(); }
  double Uniform();                               // [0, 1), 53 random bits
  double Uniform(double lo, double hi);           // [lo, hi)
  int Int(int lo, int hi);                        // [lo, hi], both included; lo <= hi
  double Normal(double mean = 0, double sd = 1);  // Box-Muller
  bool Chance(double p) { return Uniform() < p; }
  template <class T>
  const T& Pick(const std::vector<T>& v) {
    return v[static_cast<size_t>(Int(0, static_cast<int>(v.size()) - 1))];
  }
  // Fisher-Yates.
  template <class T>
  void Shuffle(std::vector<T>* v) {
    for (size_t i = v->size(); i > 1; --i) std::swap((*v)[i - 1], (*v)[static_cast<size_t>(Int(0, int(i) - 1))]);
  }

 private:
  std::mt19937_64 gen_;
  double spare_normal_ = 0;
  bool has_spare_ = false;
};

// ---------------------------------------------------------------------------------------
// Parameter records

// The parameters behind one image, as space-separated key=value pairs in the order
// added (values never contain spaces, tabs or newlines: Add replaces them with '_').
class Params {
 public:
  Params& Add(std::string_view key, double value, int decimals = 2);
  Params& Add(std::string_view key, std::string_view value);
  Params& Add(std::string_view key, const char* value) { return Add(key, std::string_view(value)); }
  // Appends all of `other`'s pairs, each key prefixed with `prefix`.
  Params& Append(const Params& other, std::string_view prefix = "");
  const std::string& Str() const { return text_; }
  bool empty() const { return text_.empty(); }

 private:
  std::string text_;
};

// ---------------------------------------------------------------------------------------
// Printed patterns (clothing, wallpaper, upholstery)

enum class Pattern {
  kFloral,     // busy flower print: petals (ellipses) round a centre, leaves, dots
  kPolkaDots,  // dots on a (possibly staggered) grid
  kPaisley,    // curved teardrops with inner outlines and dot borders
  kLeopard,    // broken dark rings round orange centres, plus solid spots
  kChecks,     // gingham/tartan: translucent crossing stripes
  kText,       // small printed words in lines
};
inline constexpr std::array<Pattern, 6> kAllPatterns = {Pattern::kFloral,  Pattern::kPolkaDots, Pattern::kPaisley,
                                                        Pattern::kLeopard, Pattern::kChecks,    Pattern::kText};
std::string_view PatternName(Pattern p);

// A new `size` BGR image filled edge to edge with `p`, colours, motif sizes and density
// drawn from `rng`. `scale` multiplies the motif sizes (1 = sized for a person at about
// 100-250 px face height; use about face_height / 150 for a person of another size).
// The choices are added to *params (if given) with keys prefixed "<name>.".
cv::Mat DrawPattern(Pattern p, cv::Size size, Rng& rng, double scale = 1.0, Params* params = nullptr);

// ---------------------------------------------------------------------------------------
// Backgrounds cut from real photos

// A real photo and the rectangles of it known to hold no face (checked by eye).
struct BackgroundSource {
  std::string name;  // file name
  cv::Mat bgr;
  std::vector<cv::Rect> clear;  // face-free rectangles, photo pixels
};
// The face-free regions of the photos in the shared data's groups/ folder (the list and
// how it was checked are in synth_photos.cc). Photos missing from `groups_dir` are
// skipped; an empty result means none was readable.
std::vector<BackgroundSource> LoadGroupBackgrounds(const std::string& groups_dir);
// A `size` image cut from a random face-free rectangle of a random source (a random
// sub-rectangle of the canvas's aspect ratio, resized to cover `size`). Recorded under
// "bg.". `sources` must not be empty.
cv::Mat CropBackground(const std::vector<BackgroundSource>& sources, cv::Size size, Rng& rng, Params* params = nullptr);

// ---------------------------------------------------------------------------------------
// Face geometry

// Where the face lies in a deep-funneled 250x250 LFW photo: the mean of the boxes that
// Lineup's detector reports on LFW (see synth_photos.cc for how it was measured).
// Ground truth for every pasted or cropped LFW face is this box, transformed.
cv::Rect2f LfwFaceBox();
// "x,y,w,h" with whole pixels, or "x,y,w,h=Name" if `name` is not empty: the manifest's
// face format.
std::string BoxText(const cv::Rect2f& box, std::string_view name = "");

// ---------------------------------------------------------------------------------------
// Compositing real faces onto canvases

enum class Cutout {
  kWholePhoto,  // the whole LFW photo, edges feathered (a picture on the canvas)
  kHeadOval,    // the head and neck in an ellipse with soft edges (a person on the canvas)
};
std::string_view CutoutName(Cutout c);

// How one person goes onto a canvas.
struct PersonLayout {
  cv::Point2f face_centre;  // canvas pixels, centre of the face box
  float face_height = 120;  // canvas pixels, height of the face box (LfwFaceBox scaled)
  Cutout cutout = Cutout::kHeadOval;
  bool torso = true;                    // draw shoulders and a body
  float body_length = 0;                // the body's length below the chin in face heights; 0: to the canvas's bottom
  Pattern clothing = Pattern::kFloral;  // the torso's print (if torso)
};

// Pastes the LFW photo `lfw` (250x250 BGR, deep-funneled) onto *canvas as laid out,
// then dresses it: a torso in a fresh `clothing` pattern from `rng` is drawn over the
// photo's own clothes, from a little below the chin, leaving the neck bare. Returns the
// face box in canvas pixels (it may run past the canvas edge if the layout puts it
// there); the torso never covers it. Choices are added to *params (if given), each key
// prefixed with `prefix`. To put several people on one canvas, place the farthest first:
// a later person's head and torso cover what is behind them.
cv::Rect2f PlacePerson(cv::Mat* canvas, const cv::Mat& lfw, const PersonLayout& layout, Rng& rng,
                       Params* params = nullptr, std::string_view prefix = "");

// ---------------------------------------------------------------------------------------
// Crops and degradations (video frames, poor cameras)

// A crop around a face, as a video frame's face crop would be.
struct FaceCrop {
  double margin = 1.6;      // crop side = margin x face height (square crop)
  double face_px = 60;      // face height in the output, pixels
  double rotation_deg = 0;  // the face is turned this much (counter-clockwise) about its centre
};
// Crops `photo` around `face` as `crop` says (pixels outside the photo are mirrored in)
// and returns the crop; *face_out gets the face box in the crop's pixels.
cv::Mat CropFace(const cv::Mat& photo, const cv::Rect2f& face, const FaceCrop& crop, cv::Rect2f* face_out);

// Image degradations, applied in this order by Degrade: downscale-upscale, Gaussian or
// motion blur, brightness/contrast/gamma, noise. JPEG quality is applied when encoding.
struct Degradation {
  double resample = 1;     // < 1: shrink by this factor (INTER_AREA) then enlarge back (bilinear)
  double gauss_sigma = 0;  // > 0: Gaussian blur with this sigma (pixels)
  int motion_px = 0;       // > 1: motion blur along a line this long ...
  double motion_deg = 0;   // ... at this angle (degrees, counter-clockwise from +x)
  double brightness = 0;   // added to every value (0..255 scale), after contrast
  double contrast = 1;     // multiplies the distance from 128
  double gamma = 1;        // out = 255 * (v / 255) ^ gamma, last
  double noise_sigma = 0;  // > 0: Gaussian noise per pixel and channel (0..255 scale)
  int jpeg_quality = 0;    // > 0: the quality to encode with; 0: the caller's default

  // The non-default fields as key=value pairs under `prefix`.
  Params Record(std::string_view prefix = "") const;
};

// The degradations of a face cropped from a compressed video frame: Gaussian blur
// (sigma 0.5-2.5) or motion blur (3-9 px, any angle) or, rarely, neither; usually noise
// (sigma 2-8); brightness (+-30), contrast (0.7-1.3) and gamma (0.7-1.4) jitter; JPEG
// quality 20-60.
Degradation RandomVideoDegradation(Rng& rng);
// Strong degradation of a whole photo: Gaussian blur with sigma 2-6, or (half the time)
// shrinking until the face is `face_px_lo`-`face_px_hi` tall and enlarging back. `face_h`
// is the face height in the photo.
Degradation RandomStrongBlur(Rng& rng, double face_h, double face_px_lo = 32, double face_px_hi = 60);
// Light degradation of a whole picture: a mild blur (Gaussian 0.5-2 or motion 3-7 px) and
// JPEG quality 30-70.
Degradation RandomLightDegradation(Rng& rng);

// `bgr` degraded as `d` says (all but the JPEG quality); the noise comes from `rng`.
cv::Mat Degrade(const cv::Mat& bgr, const Degradation& d, Rng& rng);

// JPEG bytes of `bgr` at `quality` (1-100, baseline, no optimisation: deterministic).
std::vector<uint8_t> EncodeJpeg(const cv::Mat& bgr, int quality);

}  // namespace lineup::synth
