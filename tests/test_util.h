// Helpers shared by Lineup's tests: where the real photos are, scratch folders,
// file bytes, and running the built `lineup` binary.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace lineup_test {

// The real-photo folder: $LINEUP_DATA if set, else ../shared/data next to the
// source tree. Empty if `sub` (e.g. "lfw/images") is not there; *why says what is missing.
std::string DataDir(const std::string& sub, std::string* why);
// True when the environment says CI=true: missing data is then a failure, not a skip.
bool InCi();

// A fresh folder under the system temp dir, removed with everything in it at the end.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::vector<uint8_t> ReadBytes(const std::string& path);
void WriteBytes(const std::string& path, const std::vector<uint8_t>& bytes);
void WriteText(const std::string& path, const std::string& text);

// True if this process can read a file whose mode is 000 (root, CAP_DAC_OVERRIDE):
// an "unreadable file" cannot be made then.
bool CanReadMode000(const std::string& scratch_dir);

// The result of running a program.
struct RunResult {
  int exit_code = -1;     // -1 if it did not exit normally
  int signal = 0;         // the signal that ended it, if one did
  std::string out, err;
  double seconds = 0;
};
// Runs `argv` (argv[0] a path) with stdout and stderr captured, no shell involved.
RunResult Run(const std::vector<std::string>& argv);
// Runs the built `lineup` CLI with these arguments.
RunResult RunCli(const std::vector<std::string>& args);
std::string CliPath();

// Splits text into lines (a final newline does not start another line).
std::vector<std::string> Lines(const std::string& text);

}  // namespace lineup_test

// Puts the data folder `sub` into `var` (a std::string), or ends the test: a skip
// with the reason normally, a failure when CI=true. For use in a TEST body or SetUp.
#define LINEUP_REQUIRE_DATA(var, sub)                                          \
  do {                                                                         \
    std::string lineup_why_;                                                   \
    var = ::lineup_test::DataDir(sub, &lineup_why_);                           \
    if (var.empty()) {                                                         \
      if (::lineup_test::InCi()) {                                             \
        FAIL() << lineup_why_ << " (CI=true: real photos are required)";       \
      } else {                                                                 \
        GTEST_SKIP() << lineup_why_ << "; set LINEUP_DATA to the data folder"; \
      }                                                                        \
    }                                                                          \
  } while (0)
