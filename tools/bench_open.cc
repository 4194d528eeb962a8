// lineup bench open: how long a gallery of N faces takes to open, and what it holds in
// RAM once open. Builds a real gallery directory (catalog, vector log, index snapshot)
// of N synthetic faces through the library's bulk path (Gallery::AddFaces, ten faces
// per image), lets the gallery build its index as enrolment would (Checkpoint), then
// times Gallery::Open with the page cache dropped (when allowed) and warm, and searches
// each face's own vector to check that the opened gallery answers.
#include <faiss/utils/random.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numeric>

#include "cli_util.h"
#include "commands.h"
#include "measure.h"
#include "lineup/gallery.h"
#include "lineup/vector_index.h"

namespace lineup::cli {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

int64_t StatusBytes(const char* key) { return ProcBytes("/proc/self/status", key); }

// Drops the page cache so that the next open reads from disk; false if not allowed.
bool DropCaches() {
  ::sync();
  std::ofstream f("/proc/sys/vm/drop_caches");
  if (!f) return false;
  f << "3\n";
  return static_cast<bool>(f);
}



// The child of BenchGalleryOpen: opens `dir` cold and warm, searches, prints JSON.
int MeasureOpen(const std::string& dir, const AnalyzerOptions& opts, int64_t n, int queries) {
  std::vector<int64_t> probe_ids;
  for (int q = 0; q < queries; ++q) probe_ids.push_back(1 + (static_cast<int64_t>(q) * 7919 * 1013) % n);
  const bool cold = DropCaches();
  const int64_t anon0 = StatusBytes("RssAnon");
  auto t2 = Clock::now();
  auto g = Gallery::Open(dir, opts);
  if (!g.ok()) return Fail(g.status());
  const double open_cold = SecondsSince(t2);
  const int64_t anon1 = StatusBytes("RssAnon");
  const int dim = (*g)->model().dim;
  std::vector<float> probe(static_cast<size_t>(dim));
  std::vector<double> lat[2];
  int found = 0;
  for (int pass = 0; pass < 2; ++pass)
    for (int64_t id : probe_ids) {
      const float* v = (*g)->StoredVector(id);
      if (!v) continue;
      std::copy(v, v + dim, probe.begin());
      auto t = Clock::now();
      auto r = (*g)->Search(probe, 50);
      lat[pass].push_back(SecondsSince(t) * 1e3);
      if (!r.ok()) return Fail(r.status());
      if (pass == 1) found += !r->front().empty() && r->front().front().face_id == id;
    }
  const int64_t rss2 = StatusBytes("VmRSS"), anon2 = StatusBytes("RssAnon");
  g->reset();  // closes the gallery (releases its lock)
  auto t3 = Clock::now();
  auto again = Gallery::Open(dir, opts);
  if (!again.ok()) return Fail(again.status());
  const double open_warm = SecondsSince(t3);
  nlohmann::json j{{"open_seconds_cold", cold ? nlohmann::json(open_cold) : nlohmann::json(nullptr)},
                   {"open_seconds_warm", open_warm},
                   {"ram_anon_bytes_after_open", anon1 - anon0},
                   {"rss_bytes_after_searches", rss2},
                   {"anon_bytes_after_searches", anon2},
                   // The first search also fits the gallery's ranking cohort (Gallery::Search).
                   {"first_search_ms", lat[0].empty() ? nlohmann::json(nullptr) : nlohmann::json(lat[0].front())},
                   {"search_p50_ms", Percentile(lat[0], 0.5)},
                   {"search_p99_ms", Percentile(lat[0], 0.99)},
                   {"search_warm_p50_ms", Percentile(lat[1], 0.5)},
                   {"search_warm_p99_ms", Percentile(lat[1], 0.99)},
                   {"self_found", lat[1].empty() ? 0 : double(found) / lat[1].size()},
                   {"queries", lat[1].size()}};
  std::printf("%s\n", j.dump().c_str());
  return kExitOk;
}

}  // namespace

const Command kBenchOpenCommand = {
    .name = "bench open",
    .summary = "a gallery of N synthetic faces built through the library, opened cold and warm",
    .usage = {"bench open --faces N [--dir DIR] [--keep] [--index SPEC] [--queries Q] [--json OUT]"},
    .options = {{"--faces", "N", "faces in the gallery (from 10)"},
                {"--dir", "DIR", "where to build it (default a new folder in $TMPDIR or /tmp, removed after)"},
                {"--keep", "", "keep the gallery built in a new folder"},
                {"--index", "SPEC", "the index to build (default chosen by size, as the gallery does)"},
                {"--queries", "Q", "searches timed after each open (default 200)"},
                {"--json", "OUT", "also write the results to the file OUT"},
                {"--open-only", "",
                 "only open an existing gallery in --dir and time it (how the measurement runs itself)"}},
    .examples = {"lineup bench open --faces 10000"},
    .reads_photos = true,
};

int BenchGalleryOpen(int argc, char** argv) {
  auto args = ParseArgs(argc, argv, kBenchOpenCommand);
  if (!args.ok()) return Fail(args.status());
  if (!args->positional.empty())
    return Misuse(kBenchOpenCommand, "bench open takes no arguments, got \"" + args->positional[0] + "\"");
  if (!args->Has("--faces")) return Misuse(kBenchOpenCommand, "bench open needs --faces N");
  auto faces_arg = args->GetDouble("--faces", 0, 10, 1e8);
  auto queries = args->GetInt("--queries", 200, 1, 100000);
  if (!faces_arg.ok()) return Fail(faces_arg.status());
  if (!queries.ok()) return Fail(queries.status());
  const int64_t n = static_cast<int64_t>(*faces_arg);
  auto opts = AnalyzerOptionsFrom(*args);
  if (!opts.ok()) return Fail(opts.status());
  if (args->Has("--open-only")) return MeasureOpen(args->Get("--dir"), *opts, n, *queries);
  std::string dir = args->Get("--dir");
  bool made_dir = false;
  if (dir.empty()) {
    std::string tmpl = (fs::temp_directory_path() / "lineup-open-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) return Fail(Status::IOError("cannot create a temporary directory"));
    dir = tmpl + "/gallery";
    made_dir = true;
  }
  struct Cleanup {
    std::string root;
    bool on;
    ~Cleanup() {
      std::error_code ec;
      if (on) fs::remove_all(root, ec);
    }
  } cleanup{made_dir ? fs::path(dir).parent_path().string() : dir, made_dir && !args->Has("--keep")};

  Status s = Gallery::Init(dir);
  if (!s.ok()) return Fail(s);
  std::printf("bench open: %lld synthetic faces in %s\n", static_cast<long long>(n), dir.c_str());
  double fill_s = 0, index_s = 0;
  int dim = 0;
  std::string spec;
  {
    auto g = Gallery::Open(dir, *opts);
    if (!g.ok()) return Fail(g.status());
    SourceRecord src;
    src.name = "synthetic";
    src.description = "synthetic vectors for lineup bench open";
    src.legal_basis = "synthetic benchmark data; no person's face";
    s = (*g)->catalog().AddSource(&src);
    if (!s.ok()) return Fail(s);
    dim = (*g)->model().dim;
    // Ten faces per image, identities of five faces with a spread like the model's.
    const int64_t per_image = 10, chunk_images = 10000;
    const int64_t images = (n + per_image - 1) / per_image;
    Progress progress("faces", static_cast<size_t>(n));
    auto t0 = Clock::now();
    std::vector<float> centres, noise, vecs;
    int64_t face = 0;
    for (int64_t first = 0; first < images; first += chunk_images) {
      const int64_t count = std::min(chunk_images, images - first);
      std::vector<Catalog::NewImage> batch(static_cast<size_t>(count));
      int64_t in_chunk = 0;
      for (int64_t i = 0; i < count; ++i) {
        auto& im = batch[static_cast<size_t>(i)];
        char sha[65];
        std::snprintf(sha, sizeof sha, "%064llx", static_cast<unsigned long long>(first + i));
        im.image.sha256 = sha;
        im.image.uri = "synthetic://image/" + std::to_string(first + i);
        im.image.format = "synthetic";
        im.image.width = im.image.height = 1000;
        im.image.source_id = src.id;
        const int64_t k = std::min(per_image, n - face - in_chunk);
        for (int64_t j = 0; j < k; ++j) {
          FaceRecord f;
          f.box = cv::Rect2f(static_cast<float>(j * 90), 100, 80, 100);
          f.confidence = 0.99f;
          f.quality = 0.8f;
          im.faces.push_back(f);
        }
        in_chunk += k;
      }
      const size_t m = static_cast<size_t>(in_chunk);
      centres.resize((m / 5 + 1) * static_cast<size_t>(dim));
      noise.resize(m * static_cast<size_t>(dim));
      faiss::float_randn(centres.data(), centres.size(), 1000 + first);
      faiss::float_randn(noise.data(), noise.size(), 2000 + first);
      vecs.resize(m * static_cast<size_t>(dim));
      const float sigma = static_cast<float>(std::sqrt((1.0 / 0.637 - 1.0)));
      for (size_t i = 0; i < m; ++i) {
        float* v = &vecs[i * static_cast<size_t>(dim)];
        const float* c = &centres[(i / 5) * static_cast<size_t>(dim)];
        const float* e = &noise[i * static_cast<size_t>(dim)];
        double norm = 0;
        for (int j = 0; j < dim; ++j) {
          v[j] = c[j] + sigma * e[j];
          norm += double(v[j]) * v[j];
        }
        const float inv = static_cast<float>(1.0 / std::sqrt(norm));
        for (int j = 0; j < dim; ++j) v[j] *= inv;
      }
      s = (*g)->AddFaces(batch, vecs);
      if (!s.ok()) return Fail(s);
      face += in_chunk;
      progress.Tick(static_cast<size_t>(face));
    }
    progress.Finish();
    fill_s = SecondsSince(t0);
    auto t1 = Clock::now();
    s = (*g)->Checkpoint([](const std::string& what) { std::fprintf(stderr, "lineup: %s\n", what.c_str()); });
    if (!s.ok()) return Fail(s);
    if (args->Has("--index") && args->Get("--index") != (*g)->IndexSpec()) {
      s = (*g)->Compact(args->Get("--index"), [](const std::string& what) { std::fprintf(stderr, "lineup: %s\n", what.c_str()); });
      if (!s.ok()) return Fail(s);
    }
    index_s = SecondsSince(t1);
    spec = (*g)->IndexSpec();
  }
  int64_t disk = 0;
  std::error_code ec;
  for (auto& e : fs::recursive_directory_iterator(dir, ec))
    if (e.is_regular_file(ec)) disk += static_cast<int64_t>(e.file_size(ec));

  // Opened in a fresh process, so that RAM counts only what opening allocates.
  std::error_code self_ec;
  const std::string self = fs::read_symlink("/proc/self/exe", self_ec).string();  // not the shell's
  std::string cmd = "'" + self + "' bench open --open-only --dir '" + dir + "' --faces " + std::to_string(n) +
                    " --queries " + std::to_string(*queries);
  if (args->Has("--models")) cmd += " --models '" + args->Get("--models") + "'";
  std::FILE* pipe = ::popen(cmd.c_str(), "r");
  if (!pipe) return Fail(Status::Internal("cannot run " + cmd));
  std::string out;
  char buf[4096];
  while (size_t r = std::fread(buf, 1, sizeof buf, pipe)) out.append(buf, r);
  const int rc = ::pclose(pipe);
  nlohmann::json m = nlohmann::json::parse(out, nullptr, false);
  if (rc != 0 || m.is_discarded() || !m.is_object()) return Fail(Status::Internal("the open measurement failed: " + out));
  const bool cold = !m["open_seconds_cold"].is_null();
  const double open_cold = cold ? m["open_seconds_cold"].get<double>() : 0, open_warm = m["open_seconds_warm"].get<double>();
  const double anon_open = m["ram_anon_bytes_after_open"].get<double>();
  const double p50 = m["search_p50_ms"].get<double>(), p99 = m["search_p99_ms"].get<double>();
  const double warm_p50 = m["search_warm_p50_ms"].get<double>(), warm_p99 = m["search_warm_p99_ms"].get<double>();
  const double self_found = m["self_found"].get<double>();
  const std::string first = m["first_search_ms"].is_number() ? Fmt("%.0f", m["first_search_ms"].get<double>()) : "-";
  Table t({"faces", "index", "fill s", "index s", "disk B/face", "open s (cold)", "open s (warm)",
           "RAM after open B/face", "first search ms", "search p50/p99 ms (cold)", "(warm)", "self found"});
  t.Add({std::to_string(n), spec, Fmt("%.1f", fill_s), Fmt("%.1f", index_s), Fmt("%.0f", double(disk) / n),
         cold ? Fmt("%.2f", open_cold) : "n/a", Fmt("%.2f", open_warm), Fmt("%.0f", anon_open / n), first,
         Fmt("%.2f", p50) + " / " + Fmt("%.2f", p99), Fmt("%.2f", warm_p50) + " / " + Fmt("%.2f", warm_p99),
         Fmt("%.3f", self_found)});
  t.Print();
  std::printf(
      "(cold: the page cache dropped first%s; RAM: anonymous memory of a fresh process after Open (the vector\n"
      " log is memory-mapped; re-ranking reads it through the page cache); searches: top-50 with each probe\n"
      " face's stored vector, first pass just after the cold open, second pass warm; the first search also\n"
      " fits the ranking cohort)\n",
      cold ? "" : " - not allowed here, so both opens are warm");
  if (args->Has("--json")) {
    m["faces"] = n;
    m["index"] = spec;
    m["fill_seconds"] = fill_s;
    m["index_seconds"] = index_s;
    m["disk_bytes"] = disk;
    m["disk_bytes_per_face"] = double(disk) / n;
    m["ram_anon_bytes_per_face"] = anon_open / n;
    m["cores"] = ::sysconf(_SC_NPROCESSORS_ONLN);
    std::ofstream(args->Get("--json")) << m.dump(2) << "\n";
    std::printf("wrote %s\n", args->Get("--json").c_str());
  }
  return kExitOk;
}

}  // namespace lineup::cli
