// DifferentialsAt and the table (lineup/differentials.h).
#include "lineup/differentials.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace lineup {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

nlohmann::json Num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

// "lfw (identities.tsv: ...)" -> "LFW": the labelled set's name as people know it.
std::string ShortName(const std::string& dataset) {
  std::string name = dataset.substr(0, dataset.find(" ("));
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower == "lfw") return "LFW";
  return name.empty() ? "the calibration's labelled set" : name;
}

std::string Times(double r) {
  char b[32];
  std::snprintf(b, sizeof b, r >= 10 ? "%.0f×" : "%.1f×", r);
  return b;
}

}  // namespace

Result<Differentials> DifferentialsAt(const Calibration& calibration, float threshold) {
  std::vector<const GroupCurve*> curves;
  for (const auto& c : calibration.group_curves)
    if (!c.points.empty() && !c.fnmr.empty()) curves.push_back(&c);
  if (curves.size() < 2)
    return Status::NotFound("the calibration has no measured differences between groups (" + calibration.model_id +
                            "; `lineup calibrate --groups` measures them)");
  Differentials d;
  d.threshold = threshold;
  d.dataset = ShortName(calibration.dataset);
  // The highest threshold at which every group's FMR is still measured.
  float measured_to = std::numeric_limits<float>::infinity();
  for (const GroupCurve* c : curves) measured_to = std::min(measured_to, c->points.back().second);
  d.fmr_ratio_at_threshold = threshold <= measured_to;
  d.fmr_ratio_threshold = d.fmr_ratio_at_threshold ? threshold : measured_to;
  double fmr_hi = -1, fmr_lo = std::numeric_limits<double>::infinity();
  double fnmr_hi = -1, fnmr_lo = std::numeric_limits<double>::infinity();
  for (const GroupCurve* c : curves) {
    GroupRatesAt g;
    g.group = c->group;
    g.fmr = c->FmrAt(threshold);
    g.fmr_measured = c->MeasuredAt(threshold);
    g.fnmr = c->FnmrAt(threshold);
    d.groups.push_back(g);
    const double f = c->FmrAt(d.fmr_ratio_threshold);
    if (f > fmr_hi) fmr_hi = f, d.fmr_highest = c->group;
    if (f < fmr_lo) fmr_lo = f, d.fmr_lowest = c->group;
    if (g.fnmr > fnmr_hi) fnmr_hi = g.fnmr, d.fnmr_highest = c->group;
    if (g.fnmr < fnmr_lo) fnmr_lo = g.fnmr, d.fnmr_lowest = c->group;
  }
  d.fmr_ratio = fmr_lo > 0 ? fmr_hi / fmr_lo : kNaN;
  d.fnmr_ratio = fnmr_lo > 0 ? fnmr_hi / fnmr_lo : kNaN;

  std::string text = "On " + d.dataset + ", ";
  char at[64];
  if (d.fmr_ratio_at_threshold) {
    text += "at this threshold, ";
  } else {
    std::snprintf(at, sizeof at, "%.4f", d.fmr_ratio_threshold);
    text += "at this threshold false matches are too rare to measure in every group; at " + std::string(at) +
            ", the highest threshold measured for all groups, ";
  }
  if (std::isfinite(d.fmr_ratio))
    text += "the false-match rate for " + d.fmr_highest + " faces is " + Times(d.fmr_ratio) + " that for " +
            d.fmr_lowest + " faces";
  else
    text += "no false match was measured for " + d.fmr_lowest + " faces";
  text += d.fmr_ratio_at_threshold ? ", and " : "; at this threshold ";
  if (!std::isfinite(d.fnmr_ratio))
    text += "no false non-match was measured for " + d.fnmr_lowest + " faces";
  else if (d.fnmr_highest == d.fmr_highest && d.fnmr_lowest == d.fmr_lowest)
    text += "the false non-match rate " + Times(d.fnmr_ratio);
  else
    text += "the false non-match rate for " + d.fnmr_highest + " faces is " + Times(d.fnmr_ratio) + " that for " +
            d.fnmr_lowest + " faces";
  text += " (pairs within each group; a property of the model, not of this probe).";
  d.text = text;
  return d;
}

std::string DifferentialsText(const SearchThreshold& t) {
  if (!t.differentials.is_object()) return "";
  return t.differentials.value("text", "");
}

nlohmann::json DifferentialsJson(const Differentials& d) {
  nlohmann::json groups = nlohmann::json::object();
  for (const auto& g : d.groups)
    groups[g.group] = {{"fmr", Num(g.fmr)}, {"fmr_measured", g.fmr_measured}, {"fnmr", Num(g.fnmr)}};
  return {{"threshold", d.threshold},
          {"dataset", d.dataset},
          {"groups", groups},
          {"fmr_ratio", Num(d.fmr_ratio)},
          {"fmr_ratio_groups", {d.fmr_highest, d.fmr_lowest}},
          {"fmr_ratio_threshold", d.fmr_ratio_threshold},
          {"fmr_ratio_at_threshold", d.fmr_ratio_at_threshold},
          {"fnmr_ratio", Num(d.fnmr_ratio)},
          {"fnmr_ratio_groups", {d.fnmr_highest, d.fnmr_lowest}},
          {"text", d.text}};
}

Result<nlohmann::json> DifferentialsTable(const Calibration& calibration, const std::vector<float>& extra_thresholds) {
  nlohmann::json rows = nlohmann::json::array();
  auto add = [&](const std::string& label, float threshold) -> Status {
    auto d = DifferentialsAt(calibration, threshold);
    if (!d.ok()) return d.status();
    nlohmann::json row = DifferentialsJson(*d);
    row["label"] = label;
    rows.push_back(row);
    return Status::OK();
  };
  for (double fmr : {1e-3, 1e-4, 1e-5}) {
    auto t = calibration.ThresholdFor(fmr);
    if (!t.ok()) continue;
    char label[64];
    std::snprintf(label, sizeof label, "FMR %g over all pairs", fmr);
    if (Status s = add(label, *t); !s.ok()) return s;
  }
  for (float t : extra_thresholds)
    if (Status s = add("this decision", t); !s.ok()) return s;
  if (rows.empty()) return Status::NotFound("the calibration has no thresholds");
  nlohmann::json groups = nlohmann::json::array();
  for (const auto& c : calibration.group_curves)
    groups.push_back({{"group", c.group},
                      {"impostor_pairs", c.impostor_comparisons},
                      {"genuine_pairs", c.genuine_comparisons},
                      {"lowest_measured_fmr", c.points.empty() ? nlohmann::json(nullptr) : Num(c.points.back().first)}});
  return nlohmann::json{{"model", calibration.model_id},
                        {"dataset", calibration.dataset},
                        {"command", calibration.group_curves_command.empty() ? calibration.command
                                                                             : calibration.group_curves_command},
                        {"calibration_sha256", calibration.sha256},
                        {"groups", groups},
                        {"rows", rows},
                        {"about", "Within-group false-match rates (impostor pairs whose two photos are both in the "
                                  "group) and false non-match rates at each threshold; ratios are the highest group's "
                                  "rate over the lowest's. docs/accuracy.md, \"Demographic differentials\", has the "
                                  "full measurement with confidence intervals."}};
}

}  // namespace lineup
