// lineup_bench_detection: how many labelled faces the detector finds, and how many of
// its detections are faces.
//
// Labels: detection/boxes.csv (image,split,x,y,w,h,ignore,n_landmarks), dlib's
// hand-labelled boxes. Rows with ignore=1 count neither for recall nor against
// precision: a detection matching only an ignored box is dropped, not a false positive.
// Images of detection/ without labels: those named by --negatives (default dogs.jpg,
// which holds no human face) count every detection as false; the others are reported
// with their detection count only.
//
// Matching is greedy and one-to-one under three criteria:
//   iou50   intersection over union >= 0.5 (the usual rule)
//   iou30   IoU >= 0.3; dlib's boxes are tight squares over brows to lip, ours are
//           taller (forehead to chin), which caps the IoU of a perfect hit near 0.6
//   centre  the labelled box's centre lies inside the detection and the two sizes
//           (square root of area) are within a factor of 2
// Pairs are taken best first (highest IoU; for centre, nearest centres).
//
// Also: faces found in the crowd photo groups/retinaface_img3.jpg (about 240 faces)
// with the default min_face and min_face 10, and the time each detector takes.
//
// usage: lineup_bench_detection [--data DIR] [--models DIR] [--json OUT] [--draw DIR]
//          [--repeat N] [--negatives a.jpg,b.jpg] [--crowd FILE]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "bench_util.h"
#include "lineup/detector.h"
#include "lineup/image.h"
#include "lineup/models.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace lineup::bench {
namespace {

constexpr const char* kUsage =
    "usage: lineup_bench_detection [--data DIR] [--models DIR] [--json OUT] [--draw DIR]\n"
    "         [--repeat N] [--negatives a.jpg,b.jpg] [--crowd FILE]\n"
    "  --data DIR       real-photo data (default $LINEUP_DATA or ../shared/data)\n"
    "  --draw DIR       write PNGs: labelled boxes blue, detections green (IoU>=0.5),\n"
    "                   yellow (matched only at IoU>=0.3 or by centre), red (false)\n"
    "  --repeat N       timed runs per image and detector; the median is reported (default 3)\n"
    "  --negatives LIST unlabelled images of detection/ known to hold no face (default dogs.jpg)\n"
    "  --crowd FILE     crowd photo (default groups/retinaface_img3.jpg)\n";

struct Label {
  cv::Rect2f box;
  bool ignore = false;
  std::string split;
};

enum class Kind { kLabelled, kNegative, kUnlabelled };
const char* KindName(Kind k) {
  return k == Kind::kLabelled ? "labelled" : k == Kind::kNegative ? "negative" : "unlabelled";
}

struct ImageCase {
  std::string name, path;
  Kind kind = Kind::kUnlabelled;
  std::vector<Label> labels;
  cv::Mat photo;
};

constexpr int kCriteria = 3;
const char* kCriterionName[kCriteria] = {"iou50", "iou30", "centre"};

// What matching gave for one image, detector and criterion.
struct Match {
  int labels = 0, dets = 0, tp = 0, fp = 0, fn = 0, dropped = 0;  // dropped: matched an ignored box
  std::vector<int> det_to_label;  // label index, -1 false positive, -2 matched an ignored box
  std::vector<float> iou;         // IoU of each matched pair (per detection; 0 if none)
};

float IoU(const cv::Rect2f& a, const cv::Rect2f& b) {
  float inter = (a & b).area();
  float uni = a.area() + b.area() - inter;
  return uni > 0 ? inter / uni : 0;
}

// The criterion's score for the pair, or NaN if they do not match. Higher is better.
float PairScore(int criterion, const cv::Rect2f& det, const cv::Rect2f& label) {
  if (criterion == 0 || criterion == 1) {
    float iou = IoU(det, label);
    return iou >= (criterion == 0 ? 0.5f : 0.3f) ? iou : NAN;
  }
  cv::Point2f c(label.x + label.width / 2, label.y + label.height / 2);
  if (!(c.x >= det.x && c.x <= det.x + det.width && c.y >= det.y && c.y <= det.y + det.height)) return NAN;
  float ratio = std::sqrt(det.area() / std::max(1e-6f, label.area()));
  if (!(ratio >= 0.5f && ratio <= 2.0f)) return NAN;
  cv::Point2f d(det.x + det.width / 2 - c.x, det.y + det.height / 2 - c.y);
  return -std::sqrt(d.dot(d)) / std::max(1.0f, std::sqrt(label.area()));
}

Match MatchBoxes(int criterion, const std::vector<Detection>& dets, const std::vector<Label>& labels) {
  Match m;
  m.dets = static_cast<int>(dets.size());
  m.det_to_label.assign(dets.size(), -1);
  m.iou.assign(dets.size(), 0);
  std::vector<bool> label_used(labels.size(), false);
  // Pass 1: the labels that count; pass 2: the leftovers against ignored boxes.
  for (int pass = 0; pass < 2; ++pass) {
    struct Cand { float score; size_t d, l; };
    std::vector<Cand> cands;
    for (size_t d = 0; d < dets.size(); ++d) {
      if (m.det_to_label[d] != -1) continue;
      for (size_t l = 0; l < labels.size(); ++l) {
        if (labels[l].ignore != (pass == 1)) continue;
        float s = PairScore(criterion, dets[d].box, labels[l].box);
        if (!std::isnan(s)) cands.push_back({s, d, l});
      }
    }
    std::stable_sort(cands.begin(), cands.end(), [](const Cand& a, const Cand& b) { return a.score > b.score; });
    for (const Cand& c : cands) {
      if (m.det_to_label[c.d] != -1) continue;
      if (pass == 0) {
        if (label_used[c.l]) continue;
        label_used[c.l] = true;
        m.det_to_label[c.d] = static_cast<int>(c.l);
        m.iou[c.d] = IoU(dets[c.d].box, labels[c.l].box);
      } else {
        m.det_to_label[c.d] = -2;  // an ignored box may absorb several detections
      }
    }
  }
  for (const Label& l : labels) m.labels += l.ignore ? 0 : 1;
  for (int v : m.det_to_label) {
    if (v >= 0) ++m.tp;
    else if (v == -1) ++m.fp;
    else ++m.dropped;
  }
  m.fn = m.labels - m.tp;
  return m;
}

struct Totals {
  int labels = 0, dets = 0, tp = 0, fp = 0, dropped = 0;
  void Add(const Match& m) {
    labels += m.labels;
    dets += m.dets;
    tp += m.tp;
    fp += m.fp;
    dropped += m.dropped;
  }
  double Recall() const { return labels ? double(tp) / labels : NAN; }
  double Precision() const { return tp + fp ? double(tp) / (tp + fp) : NAN; }
};

json MatchJson(const Totals& t) {
  json j;
  j["labels"] = t.labels;
  j["detections"] = t.dets;
  j["true_positives"] = t.tp;
  j["false_positives"] = t.fp;
  j["missed"] = t.labels - t.tp;
  j["dropped_on_ignored"] = t.dropped;
  j["recall"] = t.Recall();
  j["precision"] = t.Precision();
  return j;
}

double Median(std::vector<double> v) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

// Runs the detector `repeat` times; returns the detections and the median ms.
bool TimedDetect(FaceDetector* det, const cv::Mat& photo, int repeat, std::vector<Detection>* out, double* ms,
                 std::string* error) {
  std::vector<double> times;
  for (int i = 0; i < repeat; ++i) {
    auto t0 = Clock::now();
    auto r = det->Detect(photo);
    times.push_back(MsBetween(t0, Clock::now()));
    if (!r.ok()) {
      *error = r.status().ToString();
      return false;
    }
    *out = std::move(*r);
  }
  *ms = Median(times);
  return true;
}

// ---------------------------------------------------------------------------------
// Drawing.

double DrawScale(const cv::Mat& photo) {
  return std::max(1.0, std::floor(1000.0 / std::max(photo.cols, photo.rows)));
}

cv::Rect Scaled(const cv::Rect2f& r, double s) {
  return cv::Rect(cv::Point(int(std::lround(r.x * s)), int(std::lround(r.y * s))),
                  cv::Point(int(std::lround((r.x + r.width) * s)), int(std::lround((r.y + r.height) * s))));
}

void Caption(cv::Mat& img, const std::vector<std::string>& lines) {
  int y = 0;
  for (const auto& l : lines) {
    int base = 0;
    cv::Size sz = cv::getTextSize(l, cv::FONT_HERSHEY_SIMPLEX, 0.5, 1, &base);
    cv::rectangle(img, cv::Rect(0, y, sz.width + 8, sz.height + base + 6), cv::Scalar(0, 0, 0), cv::FILLED);
    cv::putText(img, l, cv::Point(4, y + sz.height + 3), cv::FONT_HERSHEY_SIMPLEX, 0.5, cv::Scalar(255, 255, 255), 1,
                cv::LINE_AA);
    y += sz.height + base + 6;
  }
}

bool DrawCase(const std::string& path, const ImageCase& c, const std::vector<Detection>& dets, const Match* strict,
              const Match* loose1, const Match* loose2, const std::vector<std::string>& caption) {
  const double s = DrawScale(c.photo);
  cv::Mat img;
  cv::resize(c.photo, img, cv::Size(), s, s, cv::INTER_LINEAR);
  const int th = std::max(1, int(std::lround(s)));
  for (const Label& l : c.labels)
    cv::rectangle(img, Scaled(l.box, s), l.ignore ? cv::Scalar(160, 160, 160) : cv::Scalar(255, 0, 0), th);
  for (size_t d = 0; d < dets.size(); ++d) {
    cv::Scalar colour(0, 200, 0);  // green: matched at IoU >= 0.5, or no labels to match
    if (strict) {
      int v = strict->det_to_label[d];
      bool loose = (loose1 && loose1->det_to_label[d] != -1) || (loose2 && loose2->det_to_label[d] != -1);
      if (v == -1) colour = loose ? cv::Scalar(0, 220, 255) : cv::Scalar(0, 0, 255);
      else if (v == -2) colour = cv::Scalar(160, 160, 160);
    }
    cv::rectangle(img, Scaled(dets[d].box, s), colour, th);
  }
  Caption(img, caption);
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  bool ok = false;
  try {
    ok = cv::imwrite(path, img);
  } catch (const cv::Exception&) {
  }
  if (!ok) std::fprintf(stderr, "lineup_bench_detection: cannot write %s\n", path.c_str());
  return ok;
}

// ---------------------------------------------------------------------------------

bool ReadLabels(const std::string& csv, std::map<std::string, std::vector<Label>>* labels,
                std::vector<std::string>* order, std::string* error) {
  std::ifstream in(csv);
  if (!in) {
    *error = Fmt("cannot read %s", csv.c_str());
    return false;
  }
  std::string line;
  std::getline(in, line);
  if (line.rfind("image,split,x,y,w,h,ignore", 0) != 0) {
    *error = Fmt("%s: unexpected header \"%s\"", csv.c_str(), line.c_str());
    return false;
  }
  int n = 1;
  while (std::getline(in, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    std::vector<std::string> f;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, ',');) f.push_back(cell);
    if (f.size() < 7) {
      *error = Fmt("%s:%d: expected at least 7 columns", csv.c_str(), n);
      return false;
    }
    Label l;
    try {
      l.split = f[1];
      l.box = cv::Rect2f(std::stof(f[2]), std::stof(f[3]), std::stof(f[4]), std::stof(f[5]));
      l.ignore = std::stoi(f[6]) != 0;
    } catch (const std::exception&) {
      *error = Fmt("%s:%d: bad number", csv.c_str(), n);
      return false;
    }
    if (!labels->count(f[0])) order->push_back(f[0]);
    (*labels)[f[0]].push_back(l);
  }
  return true;
}

struct DetectorRun {
  std::string name, spec;
  DetectorOptions options;
  std::unique_ptr<FaceDetector> detector;
  std::string describe;
};

struct CaseResult {
  std::vector<Detection> dets;
  double ms = 0;
  Match match[kCriteria];
};

std::string Frac(int a, int b) { return Fmt("%d/%d", a, b); }
std::string Pct(double v) { return std::isnan(v) ? std::string("-") : Fmt("%.1f%%", 100 * v); }

int Main(int argc, char** argv) {
  Flags flags;
  std::string err;
  if (!flags.Parse(argc, argv, {"--data", "--models", "--json", "--draw", "--repeat", "--negatives", "--crowd"},
                   {"--help"}, &err)) {
    std::fprintf(stderr, "lineup_bench_detection: %s\n%s", err.c_str(), kUsage);
    return 2;
  }
  if (flags.Has("--help")) {
    std::printf("%s", kUsage);
    return 0;
  }
  int repeat = 3;
  if (!flags.GetInt("--repeat", 3, 1, 100, &repeat, &err)) {
    std::fprintf(stderr, "lineup_bench_detection: %s\n", err.c_str());
    return 2;
  }
  const std::string data = DataRoot(flags.Get("--data"));
  const std::string model_dir = flags.Get("--models", DefaultModelDir());
  const fs::path det_dir = fs::path(data) / "detection";
  const std::string crowd_path = flags.Get("--crowd", (fs::path(data) / "groups" / "retinaface_img3.jpg").string());
  const std::string draw = flags.Get("--draw");
  std::set<std::string> negatives;
  {
    std::stringstream ss(flags.Get("--negatives", "dogs.jpg"));
    for (std::string s; std::getline(ss, s, ',');)
      if (!s.empty()) negatives.insert(s);
  }

  std::map<std::string, std::vector<Label>> labels;
  std::vector<std::string> order;
  if (!ReadLabels((det_dir / "boxes.csv").string(), &labels, &order, &err)) {
    std::fprintf(stderr, "lineup_bench_detection: %s (set --data or LINEUP_DATA)\n", err.c_str());
    return 1;
  }
  // Labelled images in the CSV's order, then the other photos of the folder by name.
  std::vector<ImageCase> cases;
  for (const auto& name : order) cases.push_back({name, (det_dir / name).string(), Kind::kLabelled, labels[name], {}});
  {
    std::vector<std::string> rest;
    std::error_code ec;
    for (const auto& f : fs::directory_iterator(det_dir, ec)) {
      std::string name = f.path().filename().string();
      std::string ext = f.path().extension().string();
      std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char ch) { return std::tolower(ch); });
      if (f.is_regular_file() && (ext == ".jpg" || ext == ".jpeg" || ext == ".png") && !labels.count(name))
        rest.push_back(name);
    }
    std::sort(rest.begin(), rest.end());
    for (const auto& name : rest)
      cases.push_back({name, (det_dir / name).string(), negatives.count(name) ? Kind::kNegative : Kind::kUnlabelled,
                       {}, {}});
  }
  for (auto& c : cases) {
    auto img = ReadImage(c.path);
    if (!img.ok()) {
      std::fprintf(stderr, "lineup_bench_detection: %s\n", img.status().ToString().c_str());
      return 1;
    }
    c.photo = img->bgr;
  }

  std::vector<DetectorRun> detectors;
  detectors.push_back({"pyramid", "pyramid", {}, nullptr, ""});
  detectors.push_back({"single", "single", {}, nullptr, ""});
  for (auto& d : detectors) {
    auto r = FaceDetector::Create(d.spec, model_dir, d.options);
    if (!r.ok()) {
      std::fprintf(stderr, "lineup_bench_detection: %s\n", r.status().ToString().c_str());
      return 1;
    }
    d.detector = std::move(*r);
    d.describe = d.detector->Describe();
    // First runs of a network are slower (allocation); keep them out of the timings.
    auto warm = d.detector->Detect(cases.front().photo);
    (void)warm;
  }

  json report;
  report["bench"] = "lineup_bench_detection";
  report["build_type"] = LINEUP_BENCH_BUILD_TYPE;
  report["machine"] = MachineJson();
  report["data"] = data;
  report["labels"] = (det_dir / "boxes.csv").string();
  report["repeat"] = repeat;
  report["timing_notes"] = Fmt("median of %d runs, OpenCV on %d threads, wall-clock ms per image", repeat,
                               cv::getNumThreads());
  report["criteria"] = {
      {"iou50", "greedy one-to-one, IoU >= 0.5"},
      {"iou30", "greedy one-to-one, IoU >= 0.3"},
      {"centre", "labelled box centre inside the detection and sqrt(area) ratio within [0.5, 2]; nearest first"}};
  std::printf("lineup_bench_detection: %zu images from %s; load average %s\n", cases.size(), det_dir.c_str(),
              LoadString(LoadAverages()).c_str());

  json det_reports = json::array();
  std::vector<std::pair<std::string, Totals[kCriteria]>> summary_rows;
  std::vector<std::array<double, 3>> summary_extra;  // total ms, median h ratio, median IoU
  for (auto& d : detectors) {
    Totals tot[kCriteria];
    double total_ms = 0;
    std::vector<double> h_ratio, w_ratio, ious, cx_off, cy_off;
    json images = json::array();
    Table t({d.describe, "kind", "labels", "dets", "ms", "R iou.5", "P iou.5", "R iou.3", "P iou.3", "R centre",
             "P centre"});
    for (auto& c : cases) {
      CaseResult r;
      if (!TimedDetect(d.detector.get(), c.photo, repeat, &r.dets, &r.ms, &err)) {
        std::fprintf(stderr, "lineup_bench_detection: %s: %s\n", c.name.c_str(), err.c_str());
        return 1;
      }
      total_ms += r.ms;
      json ji;
      ji["image"] = c.name;
      ji["kind"] = KindName(c.kind);
      ji["size"] = {c.photo.cols, c.photo.rows};
      ji["detections"] = r.dets.size();
      ji["ms"] = r.ms;
      if (c.kind == Kind::kUnlabelled) {
        t.Row({c.name, KindName(c.kind), "?", Fmt("%zu", r.dets.size()), Fmt("%.1f", r.ms), "", "", "", "", "", ""});
        images.push_back(ji);
        if (!draw.empty())
          DrawCase((fs::path(draw) / d.name / (fs::path(c.name).stem().string() + ".png")).string(), c, r.dets,
                   nullptr, nullptr, nullptr,
                   {Fmt("%s  %s: %zu detections (no labels)", c.name.c_str(), d.describe.c_str(), r.dets.size())});
        continue;
      }
      int n_labels = 0, n_ignored = 0;
      for (const Label& l : c.labels) ++(l.ignore ? n_ignored : n_labels);
      ji["labels"] = n_labels;
      ji["ignored_labels"] = n_ignored;
      std::vector<std::string> row = {c.name, KindName(c.kind), Fmt("%d", n_labels),
                                      Fmt("%zu", r.dets.size()), Fmt("%.1f", r.ms)};
      for (int k = 0; k < kCriteria; ++k) {
        r.match[k] = MatchBoxes(k, r.dets, c.labels);
        const Match& m = r.match[k];
        tot[k].Add(m);
        Totals one;
        one.Add(m);
        ji[kCriterionName[k]] = MatchJson(one);
        row.push_back(m.labels ? Frac(m.tp, m.labels) : "-");
        row.push_back(Frac(m.tp, m.tp + m.fp));
      }
      // Box shape against the labels, over the centre-criterion matches.
      const Match& cm = r.match[2];
      for (size_t i = 0; i < r.dets.size(); ++i) {
        int l = cm.det_to_label[i];
        if (l < 0) continue;
        const cv::Rect2f& a = r.dets[i].box;
        const cv::Rect2f& b = c.labels[static_cast<size_t>(l)].box;
        h_ratio.push_back(a.height / b.height);
        w_ratio.push_back(a.width / b.width);
        ious.push_back(IoU(a, b));
        cx_off.push_back((a.x + a.width / 2 - (b.x + b.width / 2)) / b.width);
        cy_off.push_back((a.y + a.height / 2 - (b.y + b.height / 2)) / b.height);
      }
      json boxes = json::array();
      for (size_t i = 0; i < r.dets.size(); ++i) {
        const auto& b = r.dets[i].box;
        int v = r.match[0].det_to_label[i];
        boxes.push_back({{"box", {b.x, b.y, b.width, b.height}},
                         {"confidence", r.dets[i].confidence},
                         {"iou50", v >= 0 ? "match" : v == -2 ? "ignored" : "false"},
                         {"iou", r.match[0].iou[i]}});
      }
      ji["boxes"] = boxes;
      t.Row(row);
      images.push_back(ji);
      if (!draw.empty()) {
        std::string cap = Fmt("%s  %s", c.name.c_str(), d.describe.c_str());
        std::string cap2 = Fmt("IoU>=.5: %d/%d found, %d false | IoU>=.3: %d/%d, %d false | centre: %d/%d, %d false",
                               r.match[0].tp, r.match[0].labels, r.match[0].fp, r.match[1].tp, r.match[1].labels,
                               r.match[1].fp, r.match[2].tp, r.match[2].labels, r.match[2].fp);
        DrawCase((fs::path(draw) / d.name / (fs::path(c.name).stem().string() + ".png")).string(), c, r.dets,
                 &r.match[0], &r.match[1], &r.match[2],
                 {cap, cap2, "blue: label  green: IoU>=.5  yellow: only IoU>=.3/centre  red: false"});
      }
    }
    t.Rule();
    std::vector<std::string> all = {"overall (labelled + negative)", "", Fmt("%d", tot[0].labels),
                                    Fmt("%d", tot[0].dets), Fmt("%.1f", total_ms)};
    for (int k = 0; k < kCriteria; ++k) {
      all.push_back(Pct(tot[k].Recall()));
      all.push_back(Pct(tot[k].Precision()));
    }
    t.Row(all);
    std::printf("\n%s", t.Render().c_str());
    std::printf("box shape vs labels (centre matches, n=%zu): median height ratio %.2f, width ratio %.2f, "
                "IoU %.2f, centre offset x %+.2f y %+.2f (fractions of the label box)\n",
                ious.size(), Median(h_ratio), Median(w_ratio), Median(ious), Median(cx_off), Median(cy_off));

    json jd;
    jd["detector"] = d.describe;
    jd["spec"] = d.spec;
    jd["images"] = images;
    jd["total_ms"] = total_ms;
    for (int k = 0; k < kCriteria; ++k) jd["overall"][kCriterionName[k]] = MatchJson(tot[k]);
    jd["box_shape_vs_labels"] = {{"matches", ious.size()},
                                 {"median_height_ratio", Median(h_ratio)},
                                 {"median_width_ratio", Median(w_ratio)},
                                 {"median_iou", Median(ious)},
                                 {"median_centre_offset_x", Median(cx_off)},
                                 {"median_centre_offset_y", Median(cy_off)}};
    det_reports.push_back(jd);
    summary_rows.emplace_back();
    summary_rows.back().first = d.describe;
    for (int k = 0; k < kCriteria; ++k) summary_rows.back().second[k] = tot[k];
    summary_extra.push_back({total_ms, Median(h_ratio), Median(ious)});
  }
  report["detectors"] = det_reports;

  // Summary across detectors.
  {
    Table t({"overall", "recall iou.5", "prec iou.5", "recall iou.3", "prec iou.3", "recall centre", "prec centre",
             "ms (all images)", "h ratio", "IoU"});
    for (size_t i = 0; i < summary_rows.size(); ++i) {
      const auto& [name, tot] = summary_rows[i];
      std::vector<std::string> row = {name};
      for (int k = 0; k < kCriteria; ++k) {
        row.push_back(Fmt("%s %s", Pct(tot[k].Recall()).c_str(), Frac(tot[k].tp, tot[k].labels).c_str()));
        row.push_back(Fmt("%s %s", Pct(tot[k].Precision()).c_str(), Frac(tot[k].tp, tot[k].tp + tot[k].fp).c_str()));
      }
      row.push_back(Fmt("%.1f", summary_extra[i][0]));
      row.push_back(Fmt("%.2f", summary_extra[i][1]));
      row.push_back(Fmt("%.2f", summary_extra[i][2]));
      t.Row(row);
    }
    std::printf("\n%s", t.Render().c_str());
  }

  // The crowd.
  {
    auto img = ReadImage(crowd_path);
    if (!img.ok()) {
      std::fprintf(stderr, "lineup_bench_detection: %s\n", img.status().ToString().c_str());
      return 1;
    }
    struct CrowdRun { std::string name, spec; float min_face; };
    std::vector<CrowdRun> crowd_runs = {{"pyramid", "pyramid", 20}, {"pyramid_min10", "pyramid", 10},
                                        {"single", "single", 20}};
    Table t({Fmt("crowd: %s %dx%d (about 240 faces)", fs::path(crowd_path).filename().c_str(), img->bgr.cols,
                 img->bgr.rows),
             "faces", "ms", "median h px", "min h px"});
    json jc = json::array();
    for (const auto& cr : crowd_runs) {
      DetectorOptions o;
      o.min_face = cr.min_face;
      auto det = FaceDetector::Create(cr.spec, model_dir, o);
      if (!det.ok()) {
        std::fprintf(stderr, "lineup_bench_detection: %s\n", det.status().ToString().c_str());
        return 1;
      }
      auto warm = (*det)->Detect(cases.front().photo);
      (void)warm;
      std::vector<Detection> dets;
      double ms = 0;
      if (!TimedDetect(det->get(), img->bgr, repeat, &dets, &ms, &err)) {
        std::fprintf(stderr, "lineup_bench_detection: crowd: %s\n", err.c_str());
        return 1;
      }
      std::vector<double> hs;
      for (const auto& d : dets) hs.push_back(d.box.height);
      double min_h = hs.empty() ? NAN : *std::min_element(hs.begin(), hs.end());
      t.Row({(*det)->Describe(), Fmt("%zu", dets.size()), Fmt("%.1f", ms), Fmt("%.1f", Median(hs)), Fmt("%.1f", min_h)});
      jc.push_back({{"detector", (*det)->Describe()}, {"faces", dets.size()}, {"ms", ms}, {"median_height_px", Median(hs)},
                    {"min_height_px", min_h}});
      if (!draw.empty()) {
        ImageCase c{fs::path(crowd_path).filename().string(), crowd_path, Kind::kUnlabelled, {}, img->bgr};
        DrawCase((fs::path(draw) / "crowd" / (cr.name + ".png")).string(), c, dets, nullptr, nullptr, nullptr,
                 {Fmt("%s  %s: %zu faces", c.name.c_str(), (*det)->Describe().c_str(), dets.size())});
      }
    }
    std::printf("\n%s", t.Render().c_str());
    report["crowd"] = {{"image", crowd_path}, {"size", {img->bgr.cols, img->bgr.rows}}, {"approx_faces", 240},
                       {"runs", jc}};
  }

  auto l = LoadAverages();
  report["load_average_end"] = {l[0], l[1], l[2]};
  std::printf("load average at end %s\n", LoadString(l).c_str());
  if (!draw.empty()) {
    report["drawings"] = draw;
    std::printf("drawings in %s\n", draw.c_str());
  }
  return FinishJson(flags, report, "lineup_bench_detection");
}

}  // namespace
}  // namespace lineup::bench

int main(int argc, char** argv) { return lineup::bench::Main(argc, argv); }
