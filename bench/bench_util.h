// Small helpers shared by Lineup's benchmark programs: flags, where the data is, what
// the machine was doing, tables for people and JSON for the record.
#pragma once

#include <array>
#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace lineup::bench {

using Clock = std::chrono::steady_clock;
inline double MsBetween(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// "--name value" and "--name=value" flags; "--name" alone for booleans.
class Flags {
 public:
  // `valued` flags take a value, `boolean` ones do not. Returns false (and fills
  // *error) on anything unknown or a valued flag without a value.
  bool Parse(int argc, char** argv, const std::vector<std::string>& valued, const std::vector<std::string>& boolean,
             std::string* error);
  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  std::string Get(const std::string& name, const std::string& def = "") const;
  // Whole number in [lo, hi]; false with *error set if not.
  bool GetInt(const std::string& name, int def, int lo, int hi, int* out, std::string* error) const;
  bool GetDouble(const std::string& name, double def, double lo, double hi, double* out, std::string* error) const;

 private:
  std::map<std::string, std::string> values_;
};

// The real-photo data folder: --data, else $LINEUP_DATA, else ../shared/data next to
// the source tree.
std::string DataRoot(const std::string& flag);

// The 1, 5 and 15 minute load averages (from /proc/loadavg; -1 if unreadable).
std::array<double, 3> LoadAverages();
std::string LoadString(const std::array<double, 3>& l);

// CPU model, core count, OpenCV version and build, the load now.
nlohmann::json MachineJson();

// Process CPU time (user + system) in milliseconds.
double ProcessCpuMs();

// Writes `j` (pretty) to `path`, creating parent folders. False with *error on failure.
bool WriteJson(const std::string& path, const nlohmann::json& j, std::string* error);

// Writes `report` to the file named by --json, if given, saying where; prints the
// error as "<program>: ..." and returns 1 on failure, else 0 (a main's exit code).
int FinishJson(const Flags& flags, const nlohmann::json& report, const char* program);

// printf-style formatting into a std::string.
std::string Fmt(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// A plain-text table: first column left-aligned, the others right-aligned.
class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void Row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  void Rule() { rows_.push_back({}); }  // a horizontal line
  std::string Render() const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace lineup::bench
