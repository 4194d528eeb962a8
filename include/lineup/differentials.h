// Differentials: how a model's error rates differ between demographic groups at the
// threshold a decision used, in one plain sentence and as a table, from the calibration's
// group curves (GroupCurve: each group's own pairs, measured by `lineup calibrate
// --groups`; for the shipped models LFW by sex).
//
// It is a disclosure about the model, never about the probe: no group is inferred from a
// face. Every place a decision is shown (CLI, API, console, HTML report) takes its text
// from DifferentialsAt, so they all say the same thing.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lineup/calibration.h"
#include "lineup/status.h"

namespace lineup {

struct GroupRatesAt {
  std::string group;
  double fmr = 0;            // within-group FMR at the threshold (a bound where not measured)
  bool fmr_measured = true;  // false: rarer than the group's pairs can measure; fmr is the bound
  double fnmr = 0;           // share of the group's genuine pairs under the threshold
};

struct Differentials {
  float threshold = 0;
  std::string dataset;  // a short name of the labelled set ("LFW")
  std::vector<GroupRatesAt> groups;
  // Highest group's within-group FMR over the lowest's. At `threshold` if every group's
  // rate is measured there; else at fmr_ratio_threshold, the highest threshold at which
  // every group's still is (fmr_ratio_at_threshold false). NaN if no such threshold.
  std::string fmr_highest, fmr_lowest;
  double fmr_ratio = 0;
  float fmr_ratio_threshold = 0;
  bool fmr_ratio_at_threshold = true;
  // Highest group's FNMR over the lowest's at `threshold` (NaN if the lowest is 0).
  std::string fnmr_highest, fnmr_lowest;
  double fnmr_ratio = 0;
  // The statement for people, e.g. "On LFW, at this threshold, the false-match rate for
  // female faces is 2.4× that for male faces, and the false non-match rate 2.0×."
  std::string text;
};

// The differentials at `threshold`. NotFound if the calibration has fewer than two groups
// with measured pairs (older calibration files have none).
Result<Differentials> DifferentialsAt(const Calibration& calibration, float threshold);

// The statement a decision carries (SearchThreshold::differentials), or "" if none.
std::string DifferentialsText(const SearchThreshold& t);

// As JSON: {"threshold", "dataset", "groups": {name: {"fmr", "fmr_measured", "fnmr"}},
// "fmr_ratio", "fmr_ratio_groups": [highest, lowest], "fmr_ratio_threshold",
// "fnmr_ratio", "fnmr_ratio_groups", "text"}; ratios that cannot be measured are null.
nlohmann::json DifferentialsJson(const Differentials& d);

// A threshold a table adds to the calibrated ones, and what it was used for ("this
// decision", "search 3").
struct LabelledThreshold {
  float threshold = 0;
  std::string label;
};

// The full table behind the statement: the differentials at the calibration's FMR 1e-3,
// 1e-4 and 1e-5 thresholds (and at `extra_thresholds`, in their order), with each group's
// pair counts and how the curves were made. As JSON: {"model", "dataset", "command",
// "calibration_sha256", "groups": [{"group", "genuine_pairs", "impostor_pairs",
// "lowest_measured_fmr"}], "rows": [DifferentialsJson + "label"], "about"}. NotFound as
// DifferentialsAt.
Result<nlohmann::json> DifferentialsTable(const Calibration& calibration,
                                          const std::vector<LabelledThreshold>& extra_thresholds = {});

// A table of text for people: column headings and rows of cells.
struct TextTable {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
};

// The table as the reports print it (a search's HTML report, an evidence bundle's HTML and
// PDF reports), with the same wording in each.
struct DifferentialsForPeople {
  std::string about;  // what the rates are, and on which labelled set
  // Per group: genuine pairs, impostor pairs within the group, the lowest FMR its pairs
  // can measure.
  TextTable pairs;
  // Per threshold and group: the within-group FMR and the FNMR, each with its ratio to the
  // best group (the one with the lowest rate at that threshold: "1 (best)").
  TextTable rates;
  std::string intervals;  // the 95% confidence intervals, or why there are none here
  std::string source;     // the command that measured the curves, and the calibration file
};

// `table` as DifferentialsTable writes it (a bundle's case.json carries it) put into words
// and cells. InvalidArgument if it is not such a table.
Result<DifferentialsForPeople> DifferentialsForReaders(const nlohmann::json& table);

// The tables as an HTML fragment (paragraphs and two tables, text escaped; no heading), for
// the HTML reports.
std::string DifferentialsHtml(const DifferentialsForPeople& d);

}  // namespace lineup
