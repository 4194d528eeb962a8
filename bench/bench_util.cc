#include "bench_util.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <opencv2/core.hpp>

namespace lineup::bench {

namespace fs = std::filesystem;

bool Flags::Parse(int argc, char** argv, const std::vector<std::string>& valued,
                  const std::vector<std::string>& boolean, std::string* error) {
  auto in = [](const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
  };
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    std::string name = a, value;
    bool has_value = false;
    if (auto eq = a.find('='); a.rfind("--", 0) == 0 && eq != std::string::npos) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
      has_value = true;
    }
    if (in(valued, name)) {
      if (!has_value) {
        if (i + 1 >= argc) {
          *error = Fmt("%s needs a value", name.c_str());
          return false;
        }
        value = argv[++i];
      }
      values_[name] = value;
    } else if (in(boolean, name) && !has_value) {
      values_[name] = std::string(1, '1');
    } else {
      *error = Fmt("unknown argument \"%s\"", a.c_str());
      return false;
    }
  }
  return true;
}

std::string Flags::Get(const std::string& name, const std::string& def) const {
  auto it = values_.find(name);
  return it == values_.end() ? def : it->second;
}

bool Flags::GetDouble(const std::string& name, double def, double lo, double hi, double* out,
                      std::string* error) const {
  auto it = values_.find(name);
  if (it == values_.end()) {
    *out = def;
    return true;
  }
  char* end = nullptr;
  double v = std::strtod(it->second.c_str(), &end);
  if (it->second.empty() || *end || !(v >= lo && v <= hi)) {
    *error = Fmt("%s needs a number from %g to %g, not \"%s\"", name.c_str(), lo, hi, it->second.c_str());
    return false;
  }
  *out = v;
  return true;
}

bool Flags::GetInt(const std::string& name, int def, int lo, int hi, int* out, std::string* error) const {
  double v = 0;
  if (!GetDouble(name, def, lo, hi, &v, error)) return false;
  if (v != std::floor(v)) {
    *error = Fmt("%s needs a whole number", name.c_str());
    return false;
  }
  *out = static_cast<int>(v);
  return true;
}

std::string DataRoot(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("LINEUP_DATA"); env && *env) return env;
  return (fs::path(LINEUP_BENCH_SOURCE_DIR) / ".." / "shared" / "data").lexically_normal().string();
}

std::array<double, 3> LoadAverages() {
  std::array<double, 3> l{-1, -1, -1};
  std::ifstream in("/proc/loadavg");
  in >> l[0] >> l[1] >> l[2];
  return l;
}

std::string LoadString(const std::array<double, 3>& l) { return Fmt("%.2f, %.2f, %.2f", l[0], l[1], l[2]); }

nlohmann::json MachineJson() {
  nlohmann::json j;
  std::ifstream cpu("/proc/cpuinfo");
  for (std::string line; std::getline(cpu, line);) {
    if (line.rfind("model name", 0) == 0) {
      auto c = line.find(':');
      if (c != std::string::npos) j["cpu"] = line.substr(c + 2);
      break;
    }
  }
  j["cores"] = std::thread::hardware_concurrency();
  j["opencv"] = cv::getVersionString();
  j["opencv_threads_default"] = cv::getNumThreads();
  auto l = LoadAverages();
  j["load_average"] = {l[0], l[1], l[2]};
  char host[256] = {0};
  if (gethostname(host, sizeof host - 1) == 0) j["host"] = host;
  return j;
}

double ProcessCpuMs() {
  rusage r{};
  getrusage(RUSAGE_SELF, &r);
  auto ms = [](const timeval& t) { return t.tv_sec * 1e3 + t.tv_usec / 1e3; };
  return ms(r.ru_utime) + ms(r.ru_stime);
}

int FinishJson(const Flags& flags, const nlohmann::json& report, const char* program) {
  if (!flags.Has("--json")) return 0;
  std::string err;
  if (!WriteJson(flags.Get("--json"), report, &err)) {
    std::fprintf(stderr, "%s: %s\n", program, err.c_str());
    return 1;
  }
  std::printf("wrote %s\n", flags.Get("--json").c_str());
  return 0;
}

bool WriteJson(const std::string& path, const nlohmann::json& j, std::string* error) {
  std::error_code ec;
  fs::path p(path);
  if (p.has_parent_path()) fs::create_directories(p.parent_path(), ec);
  std::ofstream out(path);
  out << j.dump(2) << "\n";
  out.close();
  if (!out) {
    *error = Fmt("cannot write %s", path.c_str());
    return false;
  }
  return true;
}

std::string Fmt(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  va_list ap2;
  va_copy(ap2, ap);
  int n = std::vsnprintf(nullptr, 0, fmt, ap);
  va_end(ap);
  std::string s(n > 0 ? static_cast<size_t>(n) : 0, '\0');
  if (n > 0) std::vsnprintf(s.data(), s.size() + 1, fmt, ap2);
  va_end(ap2);
  return s;
}

std::string Table::Render() const {
  std::vector<size_t> width(header_.size(), 0);
  auto widen = [&](const std::vector<std::string>& r) {
    for (size_t i = 0; i < r.size() && i < width.size(); ++i) width[i] = std::max(width[i], r[i].size());
  };
  widen(header_);
  for (const auto& r : rows_) widen(r);
  size_t total = 0;
  for (size_t w : width) total += w + 2;
  std::ostringstream out;
  auto line = [&](const std::vector<std::string>& r) {
    std::string s;
    for (size_t i = 0; i < width.size(); ++i) {
      std::string c = i < r.size() ? r[i] : "";
      std::string pad(width[i] - std::min(width[i], c.size()), ' ');
      if (i == 0) s += c + pad;
      else s += pad + c;
      if (i + 1 < width.size()) s += "  ";
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    out << s << "\n";
  };
  line(header_);
  out << std::string(total > 2 ? total - 2 : total, '-') << "\n";
  for (const auto& r : rows_) {
    if (r.empty()) out << std::string(total > 2 ? total - 2 : total, '-') << "\n";
    else line(r);
  }
  return out.str();
}

}  // namespace lineup::bench
