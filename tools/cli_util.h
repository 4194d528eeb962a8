// Shared pieces of the `lineup` command: argument parsing, exit codes, tables,
// progress bars and the options every command that analyses photos accepts.
#pragma once

#include <chrono>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lineup/analyzer.h"
#include "lineup/status.h"

namespace lineup::cli {

// Exit codes: 0 success, 1 no face / not the same person, 2 bad input or usage.
constexpr int kExitOk = 0, kExitNo = 1, kExitBad = 2;
int ExitCodeFor(const Status& s);

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> values;
  std::set<std::string> flags;
  bool Has(const std::string& f) const { return flags.count(f) || values.count(f); }
  std::string Get(const std::string& k, const std::string& def = "") const;
  Result<double> GetDouble(const std::string& k, double def, double lo, double hi) const;
  Result<int> GetInt(const std::string& k, int def, int lo, int hi) const;
};

// Parses argv[start..]; `valued` options take a value ("--top 5" or "--top=5"),
// `boolean` ones do not. Unknown options are an error. The analysis options
// (--models --detector --embedder --min-face --threads --max-pixels) are always valued.
Result<Args> ParseArgs(int argc, char** argv, int start, std::set<std::string> valued, std::set<std::string> boolean);

// AnalyzerOptions from --models, --detector, --embedder, --min-face, --max-pixels.
Result<AnalyzerOptions> AnalyzerOptionsFrom(const Args& a);

// Prints "lineup: <message>" to stderr and returns the exit code for the status.
int Fail(const Status& s);
int Usage(const std::string& text);

// A plain text table with aligned columns.
class Table {
 public:
  explicit Table(std::vector<std::string> header) : rows_{std::move(header)} {}
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void Print(FILE* out = stdout) const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

std::string Fmt(const char* f, double v);

// A progress bar on stderr when it is a terminal: count, rate and ETA.
class Progress {
 public:
  Progress(std::string what, size_t total);
  void Tick(size_t done, const std::string& extra = "");
  void Finish();

 private:
  std::string what_;
  size_t total_;
  bool tty_;
  std::chrono::steady_clock::time_point start_, last_;
};

nlohmann::json FaceJson(const Face& f);
// A box as whole pixels: [x, y, w, h] for JSON, "x,y,w,h" for tables.
nlohmann::json BoxJson(const cv::Rect2f& box);
std::string BoxText(const cv::Rect2f& box);

// Analyses a photo (with embeddings) and chooses face number `wanted` (1-based) or,
// if 0, the largest usable one. NoFace if none was found; InvalidArgument if there is
// no face #wanted; the photo's own read errors otherwise.
struct ChosenFace {
  PhotoAnalysis photo;
  int index = -1;  // into photo.faces
  const Face& face() const { return photo.faces[static_cast<size_t>(index)]; }
};
Result<ChosenFace> AnalyzeAndChoose(FaceAnalyzer& analyzer, const std::string& path, int wanted);
std::string Reasons(const Quality& q);

}  // namespace lineup::cli

namespace lineup::cli {

// Embeds one face per photo (chosen by `pick`) on all cores with a progress bar.
// Row i of the result is photo i's vector, or empty where no face was found or the
// photo could not be read (counted in *failures, with the first few messages printed).
struct EmbeddedPhotos {
  std::vector<std::vector<float>> vectors;
  std::vector<float> quality;
  int failures = 0;
  StageTimes times;
  std::string model_id;
};
Result<EmbeddedPhotos> EmbedPhotos(const AnalyzerOptions& options, const std::vector<std::string>& paths, int threads,
                                   FacePick pick);

}  // namespace lineup::cli
