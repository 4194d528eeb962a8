#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "lineup/evaluation.h"

namespace lineup {

namespace {
std::string LfwPath(const std::string& root, const std::string& name, int i) {
  char num[16];
  std::snprintf(num, sizeof num, "%04d", i);
  return root + "/" + name + "/" + name + "_" + num + ".jpg";
}

bool ParseInt(const std::string& s, int lo, int hi, int* out) {
  if (s.empty() || s.size() > 9) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  int v = std::stoi(s);
  if (v < lo || v > hi) return false;
  *out = v;
  return true;
}

bool ValidName(const std::string& s) {
  if (s.empty() || s.size() > 200 || s == "." || s == "..") return false;
  return s.find('/') == std::string::npos && s.find('\0') == std::string::npos;
}
}  // namespace

Result<std::vector<LabelledPair>> ReadLfwPairs(const std::string& file, const std::string& root) {
  std::ifstream in(file);
  if (!in) return Status::NotFound(file + ": cannot open pairs file");
  std::string line;
  int folds = 0, per = 0;
  if (!std::getline(in, line)) return Status::InvalidArgument(file + ": empty pairs file");
  {
    std::istringstream h(line);
    std::string a, b, extra;
    if (!(h >> a >> b) || (h >> extra) || !ParseInt(a, 1, 100, &folds) || !ParseInt(b, 1, 100000, &per))
      return Status::InvalidArgument(file + ":1: expected \"<folds> <pairs per half-fold>\"");
  }
  std::vector<LabelledPair> pairs;
  int lineno = 1;
  for (int f = 0; f < folds; ++f) {
    for (int k = 0; k < 2 * per; ++k) {
      ++lineno;
      if (!std::getline(in, line)) return Status::InvalidArgument(file + ":" + std::to_string(lineno) + ": file ends early");
      std::istringstream ls(line);
      std::vector<std::string> t;
      for (std::string w; ls >> w;) t.push_back(w);
      LabelledPair p;
      p.fold = f % 10;
      int i, j;
      if (k < per && t.size() == 3 && ValidName(t[0]) && ParseInt(t[1], 1, 9999, &i) && ParseInt(t[2], 1, 9999, &j)) {
        p = {LfwPath(root, t[0], i), LfwPath(root, t[0], j), true, f % 10};
      } else if (k >= per && t.size() == 4 && ValidName(t[0]) && ValidName(t[2]) && ParseInt(t[1], 1, 9999, &i) &&
                 ParseInt(t[3], 1, 9999, &j)) {
        p = {LfwPath(root, t[0], i), LfwPath(root, t[2], j), false, f % 10};
      } else {
        return Status::InvalidArgument(file + ":" + std::to_string(lineno) + ": expected a " +
                                       (k < per ? "matched \"name i j\"" : "mismatched \"name1 i name2 j\"") + " line");
      }
      pairs.push_back(std::move(p));
    }
  }
  // More pairs than the header announced means the header is wrong, not that the
  // rest may be ignored.
  while (std::getline(in, line)) {
    ++lineno;
    if (line.find_first_not_of(" \t\r") != std::string::npos)
      return Status::InvalidArgument(file + ":" + std::to_string(lineno) + ": more lines than the header's " +
                                     std::to_string(folds) + " folds of " + std::to_string(2 * per) + " pairs");
  }
  return pairs;
}

Result<std::vector<LabelledPair>> ReadPairsTsv(const std::string& file) {
  std::ifstream in(file);
  if (!in) return Status::NotFound(file + ": cannot open pairs file");
  std::filesystem::path dir = std::filesystem::path(file).parent_path();
  std::vector<LabelledPair> pairs;
  std::vector<bool> has_fold;
  std::string line;
  for (int lineno = 1; std::getline(in, line); ++lineno) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> f;
    std::stringstream ss(line);
    for (std::string c; std::getline(ss, c, '\t');) f.push_back(c);
    auto bad = [&](const std::string& why) {
      return Status::InvalidArgument(file + ":" + std::to_string(lineno) + ": " + why);
    };
    if (f.size() < 3 || f.size() > 4) return bad("expected path_a<TAB>path_b<TAB>same[<TAB>fold]");
    if (lineno == 1 && f[0] == "path_a" && f[1] == "path_b") continue;  // a header row
    LabelledPair p;
    for (int s = 0; s < 2; ++s) {
      if (f[s].empty()) return bad("empty path");
      std::filesystem::path path(f[s]);
      (s ? p.b : p.a) = path.is_absolute() ? f[s] : (dir / path).string();
    }
    const std::string& v = f[2];
    if (v == "1" || v == "true" || v == "same") p.same = true;
    else if (v == "0" || v == "false" || v == "different") p.same = false;
    else return bad("third column must be 1/0, true/false or same/different");
    int fold = -1;
    if (f.size() == 4 && !ParseInt(f[3], 0, 9, &fold)) return bad("fold must be 0..9");
    p.fold = fold;
    pairs.push_back(std::move(p));
  }
  if (pairs.empty()) return Status::InvalidArgument(file + ": no pairs");
  for (size_t i = 0; i < pairs.size(); ++i)
    if (pairs[i].fold < 0) pairs[i].fold = static_cast<int>(i * 10 / pairs.size());
  return pairs;
}

}  // namespace lineup
