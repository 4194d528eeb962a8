// DifferentialsAt and the table (lineup/differentials.h).
#include "lineup/differentials.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <limits>

#include "lineup/html_text.h"

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

Result<nlohmann::json> DifferentialsTable(const Calibration& calibration,
                                          const std::vector<LabelledThreshold>& extra_thresholds) {
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
  for (const LabelledThreshold& t : extra_thresholds)
    if (Status s = add(t.label, t.threshold); !s.ok()) return s;
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

namespace {

std::string Thousands(double v) {
  if (!std::isfinite(v) || v < 0) return "—";
  const std::string digits = std::to_string(static_cast<int64_t>(v));
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string Format(const char* f, double v) {
  if (!std::isfinite(v)) return "—";
  char b[48];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

// A rate's ratio to the best (lowest) group's at the same threshold.
std::string RatioToBest(double rate, double best) {
  if (!std::isfinite(rate) || !std::isfinite(best)) return "—";
  if (rate == best) return "1 (best)";
  if (best <= 0) return "— (the best group has none)";
  return Format("%.2f×", rate / best);
}

}  // namespace

Result<DifferentialsForPeople> DifferentialsForReaders(const nlohmann::json& table) {
  using json = nlohmann::json;
  auto bad = [](const std::string& why) { return Status::InvalidArgument("not a table of differentials: " + why); };
  auto text = [](const json& j, const char* key) {
    return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
  };
  auto number = [](const json& j, const char* key) {
    return j.is_object() && j.contains(key) && j[key].is_number() ? j[key].get<double>() : kNaN;
  };
  if (!table.is_object() || !table.contains("groups") || !table["groups"].is_array() || !table.contains("rows") ||
      !table["rows"].is_array())
    return bad("no groups or rows");

  DifferentialsForPeople d;
  const std::string dataset = ShortName(text(table, "dataset"));
  d.about = "Measured on " + dataset + " for the model " + text(table, "model") +
            ". FMR is the false-match rate among impostor pairs whose two photos are both in the group (the "
            "look-alikes a search meets); FNMR the false non-match rate among the group's genuine pairs. Each rate "
            "is also given as a multiple of the best group's (the lowest rate at that threshold). A property of the "
            "model at each threshold, not of any probe: no group is inferred from a face.";

  std::vector<std::string> groups;
  d.pairs.columns = {"group", "genuine pairs", "impostor pairs (within the group)", "lowest FMR its pairs measure"};
  for (const json& g : table["groups"]) {
    const std::string name = text(g, "group");
    if (name.empty()) return bad("a group without a name");
    groups.push_back(name);
    d.pairs.rows.push_back({name, Thousands(number(g, "genuine_pairs")), Thousands(number(g, "impostor_pairs")),
                            Format("%.1e", number(g, "lowest_measured_fmr"))});
  }
  if (groups.size() < 2) return bad("fewer than two groups");

  d.rates.columns = {"threshold", "group", "FMR (within the group)", "FMR ÷ best group's", "FNMR", "FNMR ÷ best group's"};
  for (const json& row : table["rows"]) {
    const double threshold = number(row, "threshold");
    if (!std::isfinite(threshold) || !row.contains("groups") || !row["groups"].is_object())
      return bad("a row without a threshold or groups");
    struct Rates {
      double fmr, fnmr;
      bool measured;
    };
    std::vector<Rates> rates;
    double fmr_best = std::numeric_limits<double>::infinity(), fnmr_best = fmr_best;
    bool all_measured = true;
    for (const std::string& g : groups) {
      const json x = row["groups"].contains(g) ? row["groups"][g] : json(nullptr);
      Rates r{number(x, "fmr"), number(x, "fnmr"), false};
      r.measured = x.is_object() && x.contains("fmr_measured") && x["fmr_measured"].is_boolean()
                       ? x["fmr_measured"].get<bool>()
                       : std::isfinite(r.fmr);
      all_measured = all_measured && r.measured;
      if (std::isfinite(r.fmr)) fmr_best = std::min(fmr_best, r.fmr);
      if (std::isfinite(r.fnmr)) fnmr_best = std::min(fnmr_best, r.fnmr);
      rates.push_back(r);
    }
    // Where some group's false matches are too rare to count at this threshold, the ratio
    // of the highest to the lowest is the one at the highest threshold all groups measure.
    std::string hi, lo;
    if (row.contains("fmr_ratio_groups") && row["fmr_ratio_groups"].is_array() && row["fmr_ratio_groups"].size() == 2 &&
        row["fmr_ratio_groups"][0].is_string() && row["fmr_ratio_groups"][1].is_string()) {
      hi = row["fmr_ratio_groups"][0].get<std::string>();
      lo = row["fmr_ratio_groups"][1].get<std::string>();
    }
    const std::string elsewhere = " at " + Format("%.4f", number(row, "fmr_ratio_threshold"));
    const std::string label = text(row, "label");
    for (size_t i = 0; i < groups.size(); ++i) {
      const std::string& g = groups[i];
      const Rates& r = rates[i];
      std::string fmr_ratio;
      if (all_measured) fmr_ratio = RatioToBest(r.fmr, fmr_best);
      else if (g == hi) fmr_ratio = Format("%.2f×", number(row, "fmr_ratio")) + elsewhere;
      else if (g == lo) fmr_ratio = "1 (best" + elsewhere + ")";
      else fmr_ratio = "— (too rare to measure)";
      d.rates.rows.push_back({i == 0 ? Format("%.4f", threshold) + (label.empty() ? "" : " (" + label + ")") : "", g,
                              (r.measured || !std::isfinite(r.fmr) ? "" : "under ") + Format("%.1e", r.fmr), fmr_ratio,
                              Format("%.2f%%", 100 * r.fnmr), RatioToBest(r.fnmr, fnmr_best)});
    }
  }
  d.intervals = "95% confidence intervals: the calibration file holds none for these rates. The command lineup eval groups "
                "measures them on a labelled set by resampling its people; Lineup's docs/accuracy.md (\"Demographic "
                "differentials\") gives them for its default model on LFW.";
  d.source = "Group curves made by: " + text(table, "command") + "; calibration file SHA-256 " +
             text(table, "calibration_sha256") + ".";
  return d;
}

std::string DifferentialsHtml(const DifferentialsForPeople& d) {
  auto table = [](const TextTable& t, const char* css) {
    std::string h = std::string("<table class=\"") + css + "\">\n<tr>";
    for (const std::string& c : t.columns) h += "<th>" + HtmlEscape(c) + "</th>";
    h += "</tr>\n";
    for (const auto& row : t.rows) {
      h += "<tr>";
      for (const std::string& cell : row) h += "<td>" + HtmlEscape(cell) + "</td>";
      h += "</tr>\n";
    }
    return h + "</table>\n";
  };
  return "<p>" + HtmlEscape(d.about) + "</p>\n" + table(d.pairs, "differentials-pairs") +
         table(d.rates, "differentials-rates") + "<p>" + HtmlEscape(d.intervals) + "</p>\n<p class=\"small\">" +
         HtmlEscape(d.source) + "</p>\n";
}

}  // namespace lineup
