#include "lineup/calibration.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include <iterator>
#include <limits>

#include <nlohmann/json.hpp>

#include "lineup/differentials.h"
#include "lineup/models.h"

namespace lineup {

int HistogramBin(float s) {
  int b = static_cast<int>(std::floor((s + 1.0f) * 0.5f * kHistogramBins));
  return std::clamp(b, 0, kHistogramBins - 1);
}
float HistogramBinLow(int bin) { return -1.0f + 2.0f * bin / kHistogramBins; }

namespace {

// For rates 10^(-k/4) from `highest` down to where fewer than ten scores are at or above:
// the lowest bin edge b whose share of scores in bins >= b is <= the rate (b may be the
// number of bins: no bin qualifies).
std::vector<std::pair<double, int>> RateBins(const std::vector<int64_t>& hist, double highest) {
  std::vector<std::pair<double, int>> out;
  int64_t total = 0;
  for (auto v : hist) total += v;
  std::vector<int64_t> above(hist.size() + 1, 0);
  for (size_t b = hist.size(); b-- > 0;) above[b] = above[b + 1] + hist[b];
  const int bins = static_cast<int>(hist.size());
  for (int k = static_cast<int>(std::ceil(-4 * std::log10(highest) - 1e-9)); k <= 40; ++k) {
    const double rate = std::pow(10.0, -k / 4.0);
    if (rate * static_cast<double>(total) < 10) break;  // fewer than 10 scores above: not a measurement
    int b = bins;
    while (b > 0 && static_cast<double>(above[static_cast<size_t>(b - 1)]) <= rate * static_cast<double>(total)) --b;
    out.push_back({rate, b});
  }
  return out;
}

}  // namespace

std::vector<std::pair<double, float>> Calibration::RatePoints(const std::vector<int64_t>& hist, double highest) {
  std::vector<std::pair<double, float>> points;
  for (const auto& [rate, b] : RateBins(hist, highest))
    points.push_back({rate, HistogramBinLow(std::min(b, static_cast<int>(hist.size()) - 1))});
  return points;
}

Calibration Calibration::FromHistograms(const std::vector<int64_t>& imp, const std::vector<int64_t>& gen) {
  Calibration c;
  for (auto v : imp) c.impostor_comparisons += v;
  for (auto v : gen) c.genuine_comparisons += v;
  std::vector<int64_t> gen_above(gen.size() + 1, 0);
  for (size_t b = gen.size(); b-- > 0;) gen_above[b] = gen_above[b + 1] + gen[b];
  for (const auto& [rate, b] : RateBins(imp, 0.1)) {
    c.points.push_back({rate, HistogramBinLow(std::min(b, kHistogramBins - 1))});
    c.tmr.push_back(c.genuine_comparisons ? double(gen_above[static_cast<size_t>(std::min(b, kHistogramBins))]) /
                                                static_cast<double>(c.genuine_comparisons)
                                          : 0);
  }
  return c;
}

namespace {

// The threshold holding `rate` on (rate, threshold) points, interpolated in log(rate);
// at or above the first point's rate, the first threshold. NaN below the last point.
float InterpolateThreshold(const std::vector<std::pair<double, float>>& points, double rate) {
  if (rate >= points.front().first) return points.front().second;
  for (size_t i = 1; i < points.size(); ++i) {
    if (rate >= points[i].first) {
      double a = std::log(points[i - 1].first), b = std::log(points[i].first), t = (std::log(rate) - a) / (b - a);
      return static_cast<float>(points[i - 1].second + t * (points[i].second - points[i - 1].second));
    }
  }
  return std::numeric_limits<float>::quiet_NaN();
}

// The rate at `score` on (rate, threshold) points, interpolated in log(rate); towards 1
// at score -1 below the first point; the last point's rate above the last threshold.
double InterpolateRate(const std::vector<std::pair<double, float>>& points, float score) {
  if (score <= points.front().second) {
    double t = (score + 1.0) / (points.front().second + 1.0);
    return std::exp(std::log(points.front().first) * std::clamp(t, 0.0, 1.0));
  }
  for (size_t i = 1; i < points.size(); ++i) {
    if (score <= points[i].second) {
      float lo = points[i - 1].second, hi = points[i].second;
      double t = hi > lo ? (score - lo) / (hi - lo) : 1.0;
      return std::exp(std::log(points[i - 1].first) + t * (std::log(points[i].first) - std::log(points[i - 1].first)));
    }
  }
  return points.back().first;
}

// 1 - (1 - q)^(n / b): a rate measured per search of b faces, for a search of n.
double Extend(double q, int64_t b, int64_t n) {
  return -std::expm1(static_cast<double>(n) / static_cast<double>(b) * std::log1p(-std::clamp(q, 0.0, 1.0 - 1e-12)));
}

// The measured search sizes usable for a search of n faces, largest first.
std::vector<int64_t> SizesFor(const std::vector<SearchCurve>& curves, int64_t n) {
  std::vector<int64_t> sizes;
  for (const auto& c : curves)
    if (c.faces <= n && std::find(sizes.begin(), sizes.end(), c.faces) == sizes.end()) sizes.push_back(c.faces);
  std::sort(sizes.rbegin(), sizes.rend());
  return sizes;
}

}  // namespace

GroupCurve GroupCurve::FromHistograms(const std::string& group, const std::vector<int64_t>& imp,
                                      const std::vector<int64_t>& gen) {
  GroupCurve c;
  c.group = group;
  for (auto v : imp) c.impostor_comparisons += v;
  for (auto v : gen) c.genuine_comparisons += v;
  if (c.impostor_comparisons > 0) c.points = Calibration::RatePoints(imp, 0.1);
  if (c.genuine_comparisons > 0) {
    // Genuine pairs under each threshold k * step, for thresholds 0 to 1: a bin counts as
    // under the threshold when its upper edge is at or below it.
    std::vector<int64_t> below(gen.size() + 1, 0);
    for (size_t b = 0; b < gen.size(); ++b) below[b + 1] = below[b] + gen[b];
    const int steps = static_cast<int>(std::lround(1.0f / kGroupFnmrStep));
    for (int k = 0; k <= steps; ++k) {
      const float t = static_cast<float>(k) * kGroupFnmrStep;
      const int first_at_or_above = std::clamp(HistogramBin(t + 0.25f * 2.0f / kHistogramBins), 0,
                                               static_cast<int>(gen.size()));
      c.fnmr.push_back({t, static_cast<double>(below[static_cast<size_t>(first_at_or_above)]) /
                               static_cast<double>(c.genuine_comparisons)});
    }
  }
  return c;
}

double GroupCurve::FmrAt(float score) const {
  if (points.empty()) return std::numeric_limits<double>::quiet_NaN();
  return InterpolateRate(points, score);
}

double GroupCurve::FnmrAt(float score) const {
  if (fnmr.empty()) return std::numeric_limits<double>::quiet_NaN();
  if (score <= fnmr.front().first) return fnmr.front().second;
  for (size_t i = 1; i < fnmr.size(); ++i)
    if (score <= fnmr[i].first) {
      const double t = (score - fnmr[i - 1].first) / (fnmr[i].first - fnmr[i - 1].first);
      return fnmr[i - 1].second + t * (fnmr[i].second - fnmr[i - 1].second);
    }
  return fnmr.back().second;
}

namespace {

// Each group's within-group FMR at the threshold, beside the rate over all pairs.
void StateGroupFmr(const Calibration& calibration, SearchThreshold* t) {
  double worst = -1;
  for (const auto& c : calibration.group_curves) {
    if (c.points.empty()) continue;
    const double f = c.FmrAt(t->threshold);
    t->group_fmr.push_back({c.group, f});
    t->group_fmr_bounded = t->group_fmr_bounded || !c.MeasuredAt(t->threshold);
    if (f > worst) worst = f, t->worst_fmr_group = c.group;
  }
  if (auto d = DifferentialsAt(calibration, t->threshold); d.ok()) t->differentials = DifferentialsJson(*d);
}

}  // namespace

Result<float> Calibration::ThresholdFor(double fmr) const {
  if (!(fmr > 0 && fmr < 1)) return Status::InvalidArgument("false-match rate must be between 0 and 1");
  if (points.empty()) return Status::Corrupt("calibration has no points");
  const float t = InterpolateThreshold(points, fmr);
  if (!std::isnan(t)) return t;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.0e", points.back().first);
  return Status::InvalidArgument("false-match rate below the lowest calibrated (" + std::string(buf) + ")");
}

double FpirOf(double fmr, int64_t gallery_size) {
  const double n = static_cast<double>(std::max<int64_t>(gallery_size, 1));
  return -std::expm1(n * std::log1p(-std::clamp(fmr, 0.0, 1.0 - 1e-12)));
}

std::string SearchThreshold::Describe() const {
  auto percent = [](double p) {
    char b[32];
    if (p >= 0.1) std::snprintf(b, sizeof b, "%.0f%%", p * 100);
    else if (p >= 0.001) std::snprintf(b, sizeof b, "%.2g%%", p * 100);
    else std::snprintf(b, sizeof b, "1 in %.0f", 1 / p);
    return std::string(b);
  };
  auto thousands = [](int64_t v) {
    const std::string digits = std::to_string(v);
    std::string n;
    for (size_t i = 0; i < digits.size(); ++i) {
      if (i > 0 && (digits.size() - i) % 3 == 0) n += ',';
      n += digits[i];
    }
    return n;
  };
  const std::string n = thousands(gallery_size);
  char buf[480];
  if (target_fpir > 0 && !beyond_calibration && searched_faces > 1) {
    std::string groups;
    for (const auto& [g, f] : group_fpir) groups += (groups.empty() ? "; " : ", ") + g + " " + percent(f);
    std::snprintf(buf, sizeof buf, "threshold %.4f: FPIR %s for a search of %s faces (from measured searches of %s faces%s)",
                  threshold, percent(fpir).c_str(), n.c_str(), thousands(searched_faces).c_str(), groups.c_str());
  } else if (target_fpir > 0 && !beyond_calibration) {
    std::snprintf(buf, sizeof buf, "threshold %.4f: FPIR %s for a search of %s faces (FMR %.1e per comparison)", threshold,
                  percent(fpir).c_str(), n.c_str(), fmr);
  } else if (target_fpir > 0) {
    std::snprintf(buf, sizeof buf,
                  "threshold %.4f, the most conservative calibrated: FPIR %s for a search of %s faces, above the %s "
                  "asked for (the calibration measured FMR down to %.1e per comparison; %.1e was needed)",
                  threshold, percent(fpir).c_str(), n.c_str(), percent(target_fpir).c_str(), fmr,
                  1 - std::pow(1 - target_fpir, 1.0 / static_cast<double>(std::max<int64_t>(gallery_size, 1))));
  } else {
    std::string groups;
    for (const auto& [g, f] : group_fmr) {
      char r[64];
      std::snprintf(r, sizeof r, "%s%.1e", group_fmr_bounded ? "under " : "", f);
      groups += (groups.empty() ? " (within-group: " : ", ") + g + " " + r;
    }
    if (!groups.empty()) groups += ")";
    std::snprintf(buf, sizeof buf, "threshold %.4f: FMR %.1e per comparison%s, FPIR %s for a search of %s faces",
                  threshold, fmr, groups.c_str(), percent(fpir).c_str(), n.c_str());
  }
  return buf;
}

double Calibration::FpirAt(float score, int64_t gallery_size) const {
  const int64_t n = std::max<int64_t>(gallery_size, 1);
  // A score past a curve's last point has at most that point's rate: an upper bound that
  // also keeps the estimate from rising with the score where smaller searches take over.
  double bound = 1;
  for (int64_t b : SizesFor(search_curves, n)) {
    for (const auto& c : search_curves) {
      if (c.faces != b || !c.group.empty()) continue;
      const double f = Extend(InterpolateRate(c.points, score), b, n);
      if (score <= c.points.back().second) return std::min(bound, f);
      bound = std::min(bound, f);
    }
  }
  return std::min(bound, FpirOf(FmrAt(score), gallery_size));
}

Result<SearchThreshold> Calibration::ForSearch(double fpir, int64_t gallery_size) const {
  if (!(fpir > 0 && fpir < 1)) return Status::InvalidArgument("a target FPIR must be between 0 and 1");
  if (points.empty()) return Status::Corrupt("calibration has no points");
  SearchThreshold t;
  t.target_fpir = fpir;
  t.gallery_size = std::max<int64_t>(gallery_size, 0);
  const int64_t n = std::max<int64_t>(gallery_size, 1);
  // The largest measured search size whose curve (all probes) reaches the rate needed;
  // each group's rate at that threshold is stated beside it.
  for (int64_t b : SizesFor(search_curves, n)) {
    const double q = -std::expm1(std::log1p(-fpir) * static_cast<double>(b) / static_cast<double>(n));
    const SearchCurve* all = nullptr;
    for (const auto& c : search_curves)
      if (c.faces == b && c.group.empty()) all = &c;
    if (!all) continue;
    const float threshold = InterpolateThreshold(all->points, q);
    if (std::isnan(threshold)) continue;
    t.threshold = threshold;
    t.searched_faces = b;
    t.fpir = fpir;
    double worst = -1;
    for (const auto& c : search_curves) {
      if (c.faces != b || c.group.empty()) continue;
      const double f = Extend(InterpolateRate(c.points, threshold), b, n);
      t.group_fpir.push_back({c.group, f});
      if (f > worst) worst = f, t.worst_group = c.group;
    }
    t.fmr = FmrAt(threshold);
    StateGroupFmr(*this, &t);
    return t;
  }
  // 1 - (1 - fpir)^(1/N), written to keep its precision for large N.
  const double fmr = -std::expm1(std::log1p(-fpir) / static_cast<double>(n));
  if (fmr < points.back().first) {
    t.beyond_calibration = true;
    t.fmr = points.back().first;
    t.threshold = points.back().second;
  } else {
    auto th = ThresholdFor(fmr);
    if (!th.ok()) return th.status();
    t.fmr = fmr;
    t.threshold = *th;
  }
  // The measured searches that could not reach the rate needed still show that their
  // last threshold gives more than it: never go below it.
  bool raised = false;
  for (const auto& c : search_curves)
    if (c.faces <= n && c.points.back().second > t.threshold) t.threshold = c.points.back().second, raised = true;
  if (raised) t.fmr = FmrAt(t.threshold);
  t.fpir = search_curves.empty() ? FpirOf(t.fmr, gallery_size) : FpirAt(t.threshold, gallery_size);
  if (t.fpir <= fpir * (1 + 1e-9) && !t.beyond_calibration) t.fpir = fpir;
  StateGroupFmr(*this, &t);
  return t;
}

Result<SearchThreshold> Calibration::ForComparison(double fmr, int64_t gallery_size) const {
  auto th = ThresholdFor(fmr);
  if (!th.ok()) return th.status();
  SearchThreshold t;
  t.fmr = fmr;
  t.threshold = *th;
  t.gallery_size = std::max<int64_t>(gallery_size, 0);
  t.fpir = FpirAt(t.threshold, gallery_size);
  StateGroupFmr(*this, &t);
  return t;
}

double Calibration::FmrAt(float score) const {
  if (points.empty()) return 1.0;
  return InterpolateRate(points, score);  // above the last point an upper bound: lower rates were not measured
}

nlohmann::json Calibration::ToJson() const {
  nlohmann::json j;
  j["model"] = model_id;
  j["dataset"] = dataset;
  j["command"] = command;
  j["impostor_comparisons"] = impostor_comparisons;
  j["genuine_comparisons"] = genuine_comparisons;
  j["points"] = nlohmann::json::array();
  for (size_t i = 0; i < points.size(); ++i)
    j["points"].push_back({{"fmr", points[i].first}, {"threshold", points[i].second}, {"tmr", tmr[i]}});
  j["search_curves"] = nlohmann::json::array();
  for (const auto& c : search_curves) {
    nlohmann::json pts = nlohmann::json::array();
    for (const auto& [rate, threshold] : c.points) pts.push_back({{"fpir", rate}, {"threshold", threshold}});
    j["search_curves"].push_back({{"group", c.group}, {"faces", c.faces}, {"searches", c.searches}, {"points", pts}});
  }
  if (!group_curves.empty()) {
    j["group_curves"] = nlohmann::json::array();
    for (const auto& c : group_curves) {
      nlohmann::json pts = nlohmann::json::array(), fnmr = nlohmann::json::array();
      for (const auto& [rate, threshold] : c.points) pts.push_back({{"fmr", rate}, {"threshold", threshold}});
      for (const auto& [threshold, rate] : c.fnmr) fnmr.push_back({{"threshold", threshold}, {"fnmr", rate}});
      j["group_curves"].push_back({{"group", c.group},
                                   {"impostor_comparisons", c.impostor_comparisons},
                                   {"genuine_comparisons", c.genuine_comparisons},
                                   {"points", pts},
                                   {"fnmr", fnmr}});
    }
    if (!group_curves_command.empty()) j["group_curves_command"] = group_curves_command;
  }
  return j;
}

Status Calibration::Save(const std::string& path) const {
  const nlohmann::json j = ToJson();
  std::ofstream out(path + ".tmp");
  out << j.dump(2) << "\n";
  out.close();
  if (!out || std::rename((path + ".tmp").c_str(), path.c_str()) != 0) return Status::IOError(path + ": cannot write");
  return Status::OK();
}

Result<Calibration> Calibration::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("calibration file " + path + " is missing; `make calibrate` regenerates it");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  try {
    nlohmann::json j = nlohmann::json::parse(text);
    Calibration c;
    c.model_id = j.at("model").get<std::string>();
    c.dataset = j.at("dataset").get<std::string>();
    c.command = j.value("command", "");
    c.sha256 = Sha256Hex(text);
    c.impostor_comparisons = j.at("impostor_comparisons").get<int64_t>();
    c.genuine_comparisons = j.at("genuine_comparisons").get<int64_t>();
    for (const auto& p : j.at("points")) {
      c.points.push_back({p.at("fmr").get<double>(), p.at("threshold").get<float>()});
      c.tmr.push_back(p.value("tmr", 0.0));
    }
    for (size_t i = 1; i < c.points.size(); ++i)
      if (!(c.points[i].first < c.points[i - 1].first) || c.points[i].second < c.points[i - 1].second)
        return Status::Corrupt(path + ": calibration points out of order");
    if (c.points.empty() || c.impostor_comparisons <= 0) return Status::Corrupt(path + ": calibration is empty");
    for (const auto& jc : j.value("search_curves", nlohmann::json::array())) {
      SearchCurve sc;
      sc.group = jc.at("group").get<std::string>();
      sc.faces = jc.at("faces").get<int64_t>();
      sc.searches = jc.at("searches").get<int64_t>();
      for (const auto& p : jc.at("points")) sc.points.push_back({p.at("fpir").get<double>(), p.at("threshold").get<float>()});
      if (sc.faces < 1 || sc.searches < 1 || sc.points.empty())
        return Status::Corrupt(path + ": a search curve is empty");
      for (size_t i = 0; i < sc.points.size(); ++i)
        if (!(sc.points[i].first > 0 && sc.points[i].first < 1) ||
            (i > 0 && (!(sc.points[i].first < sc.points[i - 1].first) || sc.points[i].second < sc.points[i - 1].second)))
          return Status::Corrupt(path + ": search curve points out of order");
      c.search_curves.push_back(std::move(sc));
    }
    for (const auto& jg : j.value("group_curves", nlohmann::json::array())) {
      GroupCurve g;
      g.group = jg.at("group").get<std::string>();
      g.impostor_comparisons = jg.at("impostor_comparisons").get<int64_t>();
      g.genuine_comparisons = jg.at("genuine_comparisons").get<int64_t>();
      for (const auto& p : jg.at("points")) g.points.push_back({p.at("fmr").get<double>(), p.at("threshold").get<float>()});
      for (const auto& p : jg.at("fnmr")) g.fnmr.push_back({p.at("threshold").get<float>(), p.at("fnmr").get<double>()});
      if (g.group.empty() || g.impostor_comparisons < 0 || g.genuine_comparisons < 0 ||
          (g.points.empty() && g.fnmr.empty()))
        return Status::Corrupt(path + ": a group curve is empty or has no group");
      if (!g.points.empty() && static_cast<double>(g.impostor_comparisons) * g.points.back().first < 1)
        return Status::Corrupt(path + ": group curve " + g.group + " has rates below one comparison");
      for (size_t i = 0; i < g.points.size(); ++i)
        if (!(g.points[i].first > 0 && g.points[i].first < 1) || !std::isfinite(g.points[i].second) ||
            (i > 0 && (!(g.points[i].first < g.points[i - 1].first) || g.points[i].second < g.points[i - 1].second)))
          return Status::Corrupt(path + ": group curve " + g.group + " points out of order");
      for (size_t i = 0; i < g.fnmr.size(); ++i)
        if (!(g.fnmr[i].second >= 0 && g.fnmr[i].second <= 1) || !std::isfinite(g.fnmr[i].first) ||
            (i > 0 && (!(g.fnmr[i].first > g.fnmr[i - 1].first) || g.fnmr[i].second < g.fnmr[i - 1].second)))
          return Status::Corrupt(path + ": group curve " + g.group + " FNMR points out of order");
      for (const auto& other : c.group_curves)
        if (other.group == g.group) return Status::Corrupt(path + ": group curve " + g.group + " given twice");
      c.group_curves.push_back(std::move(g));
    }
    c.group_curves_command = j.value("group_curves_command", "");
    return c;
  } catch (const std::exception& e) {
    return Status::Corrupt(path + ": not a calibration file (" + e.what() + ")");
  }
}

std::string Calibration::PathFor(const EmbeddingModel& model) {
  std::string dir = LINEUP_SOURCE_DIR "/calibration";
  if (const char* env = std::getenv("LINEUP_CALIBRATION"); env && *env) dir = env;
  std::string id = model.Id();
  std::replace(id.begin(), id.end(), '/', '_');
  std::replace(id.begin(), id.end(), '@', '-');
  return dir + "/" + id + ".json";
}

Result<Calibration> Calibration::ForModel(const EmbeddingModel& model) {
  auto c = Load(PathFor(model));
  if (!c.ok()) return c;
  if (c->model_id != model.Id())
    return Status::Corrupt(PathFor(model) + " calibrates " + c->model_id + ", not " + model.Id());
  return c;
}

}  // namespace lineup
