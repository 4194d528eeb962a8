// lineup bench load: concurrent clients searching a running `lineup serve` by vector and
// by photo for a while; requests/s, p50/p99 latency and errors per kind, and the
// server's memory over time (from /proc/<pid>, when the server runs on this machine).
#include <httplib.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <random>
#include <thread>

#include "cli_util.h"
#include "commands.h"
#include "measure.h"

namespace lineup::cli {
namespace {

struct KindStats {
  std::mutex mu;
  std::vector<double> ms;
  int64_t errors = 0;
  std::map<int, int64_t> codes;
};

}  // namespace

const Command kBenchLoadCommand = {
    .name = "bench load",
    .summary = "concurrent searches by vector and by photo against a running server",
    .usage = {"bench load --url http://HOST:PORT --token TOKEN --case ID [--photo FILE]...",
              "bench load ... [--vector-clients 2] [--photo-clients 2] [--seconds 180] [--dim 512] [--server-pid PID]",
              "bench load ... [--json OUT]"},
    .options = {{"--url", "URL", "the running `lineup serve`"},
                {"--token", "TOKEN", "an analyst's API token; the analyst must be a member of the case"},
                {"--case", "ID", "the open case the searches are made for"},
                {"--photo", "FILE", "a probe photo for the photo clients, repeatable (used in turn)"},
                {"--vector-clients", "N", "clients searching by random unit vector (default 2)"},
                {"--photo-clients", "N", "clients searching by photo (default 2)"},
                {"--seconds", "S", "how long to run (default 180)"},
                {"--dim", "D", "the vectors' dimension (default 512)"},
                {"--server-pid", "PID", "the server's process, to follow its memory (when on this machine)"},
                {"--json", "OUT", "also write the results to the file OUT"}},
    .examples =
        {"lineup bench load --url http://127.0.0.1:8080 --token \"$LINEUP_TOKEN\" --case 1 --photo samples/sample1.jpg "
         "--seconds 30"},
    .notes = "`make bench-load` sets up a gallery of 100,000 faces, a server, an analyst and a case.",
};

int BenchLoad(int argc, char** argv) {
  std::vector<std::string> photos;
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    if (i >= 3 && std::string(argv[i]) == "--photo" && i + 1 < argc) {
      photos.push_back(argv[++i]);
      continue;
    }
    rest.push_back(argv[i]);
  }
  auto args = ParseArgs(static_cast<int>(rest.size()), rest.data(), kBenchLoadCommand);
  if (!args.ok()) return Fail(args.status());
  for (const char* needed : {"--url URL", "--token TOKEN", "--case ID"})
    if (!args->Has(std::string(needed).substr(0, std::string(needed).find(' '))))
      return Misuse(kBenchLoadCommand, std::string("bench load needs ") + needed);
  if (!args->positional.empty())
    return Misuse(kBenchLoadCommand, "bench load takes no arguments, got \"" + args->positional[0] + "\"");
  auto vclients = args->GetInt("--vector-clients", 2, 0, 256);
  auto pclients = args->GetInt("--photo-clients", 2, 0, 256);
  auto seconds = args->GetInt("--seconds", 180, 1, 86400);
  auto dim = args->GetInt("--dim", 512, 1, 4096);
  auto case_id = args->GetInt("--case", 0, 1, 1 << 30);
  auto pid = args->GetInt("--server-pid", 0, 0, 1 << 30);
  for (const Status& s : {vclients.status(), pclients.status(), seconds.status(), dim.status(), case_id.status(), pid.status()})
    if (!s.ok()) return Fail(s);
  if (*pclients > 0 && photos.empty()) return Fail(Status::InvalidArgument("photo clients need --photo FILE"));
  std::vector<std::string> photo_bytes;
  for (const auto& p : photos) {
    auto b = ReadFileBytes(p, 64 << 20);
    if (!b.ok()) return Fail(b.status());
    photo_bytes.push_back(std::move(*b));
  }
  const std::string url = args->Get("--url");
  const std::string token = args->Get("--token");
  const std::string path = "/v1/cases/" + std::to_string(*case_id) + "/searches";
  const httplib::Headers auth = {{"Authorization", "Bearer " + token}};
  {
    httplib::Client probe(url);
    auto r = probe.Get("/v1/me", auth);
    if (!r) return Fail(Status::IOError("cannot reach " + url));
    if (r->status != 200) return Fail(Status::InvalidArgument("GET /v1/me: " + std::to_string(r->status) + " " + r->body));
  }

  KindStats vec_stats, photo_stats;
  std::atomic<bool> stop{false};
  const auto t0 = std::chrono::steady_clock::now();
  auto record = [](KindStats& k, double ms, int status) {
    std::lock_guard<std::mutex> g(k.mu);
    ++k.codes[status];
    if (status == 200) k.ms.push_back(ms);
    else ++k.errors;
  };
  std::vector<std::thread> threads;
  for (int c = 0; c < *vclients; ++c)
    threads.emplace_back([&, c] {
      httplib::Client cl(url);
      cl.set_read_timeout(60, 0);
      std::mt19937 rng(1234 + c);
      std::normal_distribution<float> nd;
      while (!stop) {
        nlohmann::json v = nlohmann::json::array();
        for (int i = 0; i < *dim; ++i) v.push_back(nd(rng));
        const std::string body = nlohmann::json{{"vector", v}, {"justification", "load test"}, {"top", 50}}.dump();
        const auto t = std::chrono::steady_clock::now();
        auto r = cl.Post(path.c_str(), auth, body, "application/json");
        record(vec_stats, SecondsSince(t) * 1000, r ? r->status : 0);
      }
    });
  for (int c = 0; c < *pclients; ++c)
    threads.emplace_back([&, c] {
      httplib::Client cl(url);
      cl.set_read_timeout(60, 0);
      size_t next = static_cast<size_t>(c);
      while (!stop) {
        const std::string& img = photo_bytes[next++ % photo_bytes.size()];
        httplib::MultipartFormDataItems items = {{"image", img, "probe.jpg", "application/octet-stream"},
                                                 {"justification", "load test", "", ""},
                                                 {"top", "50", "", ""}};
        const auto t = std::chrono::steady_clock::now();
        auto r = cl.Post(path.c_str(), auth, items);
        record(photo_stats, SecondsSince(t) * 1000, r ? r->status : 0);
      }
    });
  // The server's resident memory every 5 s.
  std::vector<std::pair<double, int64_t>> rss;
  const std::string status_file = "/proc/" + std::to_string(*pid) + "/status";
  Progress progress("load", static_cast<size_t>(*seconds));
  while (SecondsSince(t0) < *seconds) {
    if (*pid > 0) rss.push_back({SecondsSince(t0), ProcBytes(status_file.c_str(), "VmRSS")});
    progress.Tick(static_cast<size_t>(SecondsSince(t0)));
    std::this_thread::sleep_for(std::chrono::seconds(5));
  }
  stop = true;
  for (auto& t : threads) t.join();
  progress.Finish();
  const double elapsed = SecondsSince(t0);
  if (*pid > 0) rss.push_back({elapsed, ProcBytes(status_file.c_str(), "VmRSS")});

  nlohmann::json out = {{"url", url}, {"seconds", elapsed}, {"vector_clients", *vclients}, {"photo_clients", *pclients},
                        {"photos", photos}};
  Table t({"kind", "clients", "requests", "errors", "req/s", "p50 ms", "p99 ms", "max ms"});
  int64_t total_errors = 0;
  for (auto [name, k, n] : {std::tuple{"vector", &vec_stats, *vclients}, {"photo", &photo_stats, *pclients}}) {
    if (n == 0) continue;
    const double p50 = Percentile(k->ms, 0.5), p99 = Percentile(k->ms, 0.99), mx = Percentile(k->ms, 1.0);
    const int64_t reqs = static_cast<int64_t>(k->ms.size()) + k->errors;
    total_errors += k->errors;
    nlohmann::json codes = nlohmann::json::object();
    for (auto [code, count] : k->codes) codes[std::to_string(code)] = count;
    out[name] = {{"clients", n}, {"requests", reqs}, {"errors", k->errors}, {"status_codes", codes},
                 {"rps", reqs / elapsed}, {"p50_ms", p50}, {"p99_ms", p99}, {"max_ms", mx}};
    t.Add({name, std::to_string(n), std::to_string(reqs), std::to_string(k->errors), Fmt("%.1f", reqs / elapsed),
           Fmt("%.1f", p50), Fmt("%.1f", p99), Fmt("%.1f", mx)});
  }
  t.Print();
  if (!rss.empty()) {
    nlohmann::json mem = nlohmann::json::array();
    int64_t lo = INT64_MAX, hi = 0;
    for (auto [s, b] : rss) {
      mem.push_back({{"s", s}, {"rss_bytes", b}});
      lo = std::min(lo, b);
      hi = std::max(hi, b);
    }
    out["server_rss"] = mem;
    // Flat: compare the second half's peak with the first half's (warm-up excluded).
    int64_t first_half = 0, second_half = 0;
    for (auto [s, b] : rss) (s < elapsed / 2 ? first_half : second_half) = std::max(s < elapsed / 2 ? first_half : second_half, b);
    out["server_rss_first_half_max"] = first_half;
    out["server_rss_second_half_max"] = second_half;
    std::printf("server RSS: %.0f MB at the start, %.0f MB at the end, min %.0f / max %.0f MB; "
                "peak in the first half %.0f MB, in the second %.0f MB\n",
                rss.front().second / 1e6, rss.back().second / 1e6, lo / 1e6, hi / 1e6, first_half / 1e6,
                second_half / 1e6);
  }
  if (args->Has("--json")) {
    std::ofstream f(args->Get("--json"));
    f << out.dump(2) << "\n";
    if (!f) return Fail(Status::IOError("cannot write " + args->Get("--json")));
    std::printf("-> %s\n", args->Get("--json").c_str());
  }
  return total_errors == 0 ? kExitOk : kExitBad;
}

}  // namespace lineup::cli
