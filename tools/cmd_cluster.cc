// `lineup node serve` (a shard node) and `lineup cluster enroll|search` (a client of a
// cluster): the first front ends of scale-out (issue 19; docs/cluster.md).
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "commands.h"
#include "lineup/admission.h"
#include "lineup/analyzer.h"
#include "lineup/gallery.h"
#include "lineup/message_bus.h"
#include "lineup/models.h"
#include "lineup/shard_log.h"
#include "lineup/shard_search.h"

namespace lineup::cli {
namespace fs = std::filesystem;

namespace {
const Option kNatsOption = {"--nats", "URLS",
                            "the cluster's NATS servers, nats://USER:PASS@HOST:PORT,... (default $LINEUP_CLUSTER)"};
const Option kShardsOption = {"--shards", "N", "how many shards the cluster's faces are split into (default 2)"};
constexpr const char* kEnrolStream = "ENROL";
constexpr const char* kEnrolSubject = "lineup.enrol";
}  // namespace

const Command kNodeServeCommand = {
    .name = "node serve",
    .summary = "a shard node: keeps a replica of one shard, answers its searches, and enrols queued photos",
    .usage = {"node serve --shard S --dir DIR [--nats URLS] [--shards N] [--replicas R] [--workers N]"},
    .options = {kNatsOption,
                {"--shard", "S", "the shard this node keeps a replica of (0 .. shards-1)"},
                {"--dir", "DIR", "the replica's gallery (created if missing)"},
                kShardsOption,
                {"--replicas", "R", "copies of each stream the servers keep (default 3)"},
                {"--workers", "N", "enrolment workers taking photos from the queue (default 1; 0: none)"}},
    .examples = {"lineup node serve --shard 0 --dir out/node0"},
    .notes = "Runs until SIGINT or SIGTERM. Every replica of a shard answers that shard's searches as one\n"
             "queue group: NATS sends each search to one live replica.",
    .reads_photos = true,
};

const Command kNodeCommand = {
    .name = "node",
    .summary = "run a shard node of a cluster (docs/cluster.md)",
    .verbs = {&kNodeServeCommand},
};

const Command kClusterEnrollCommand = {
    .name = "cluster enroll",
    .summary = "queue photos for the cluster's nodes to enrol",
    .usage = {"cluster enroll PHOTO|DIR... --source NAME --legal-basis TEXT [--nats URLS] [--json]"},
    .options = {kNatsOption,
                {"--source", "NAME", "the collection the photos come from"},
                {"--legal-basis", "TEXT", "why Lineup may hold them"},
                kJsonOption},
    .examples = {"lineup cluster enroll samples --source demo --legal-basis \"demo photos\""},
    .notes = "Paths are given to the nodes as absolute paths: the nodes must see the same files. A photo\n"
             "queued twice (same SHA-256) is enrolled once.",
};

const Command kClusterSearchCommand = {
    .name = "cluster search",
    .summary = "search every shard of the cluster with the largest face of a photo",
    .usage = {"cluster search PHOTO [--nats URLS] [--shards N] [--top K] [--deadline MS] [--json]"},
    .options = {kNatsOption, kShardsOption,
                {"--top", "K", "candidates to list (default 10)"},
                {"--deadline", "MS", "how long to wait for the shards (default 2000)"},
                kJsonOption},
    .examples = {"lineup cluster search samples/obama.jpg --top 5"},
    .notes = "A shard that does not answer in time is named, with the result marked partial.",
    .reads_photos = true,
};

const Command kClusterCommand = {
    .name = "cluster",
    .summary = "enrol into and search a cluster of shard nodes (docs/cluster.md)",
    .verbs = {&kClusterEnrollCommand, &kClusterSearchCommand},
};

namespace {

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }

Result<std::string> NatsUrls(const Args& a) {
  std::string urls = a.Get("--nats");
  if (urls.empty()) {
    const char* env = std::getenv("LINEUP_CLUSTER");
    urls = env ? env : "";
  }
  if (urls.empty()) return Status::InvalidArgument("no cluster given: --nats URLS or LINEUP_CLUSTER (scripts/cluster.sh up writes it)");
  return urls;
}

// One queued photo: its absolute path and the source it belongs to.
nlohmann::json WorkItem(const std::string& path, const std::string& source, const std::string& basis) {
  return {{"path", path}, {"source", source}, {"legal_basis", basis}};
}

// Takes photos from the enrolment queue until stopped: analyses each, publishes the
// admitted faces to the photo's shard log, then acknowledges the work item (a worker
// killed before that leaves it to another one; the log's message id keeps it single).
void EnrolmentWorker(const std::string& urls, AnalyzerOptions opt, int shards, int worker) {
  auto bus = MessageBus::Connect(urls, "enrolment-worker-" + std::to_string(worker));
  if (!bus.ok()) {
    std::fprintf(stderr, "lineup: enrolment worker %d: %s\n", worker, bus.status().ToString().c_str());
    return;
  }
  auto analyzer = FaceAnalyzer::Create(opt);
  if (!analyzer.ok()) {
    std::fprintf(stderr, "lineup: enrolment worker %d: %s\n", worker, analyzer.status().ToString().c_str());
    return;
  }
  std::unique_ptr<StreamReader> reader;
  while (!g_stop) {
    if (!reader) {
      auto r = (*bus)->Reader(kEnrolStream, kEnrolSubject, "enrolment-workers", 120000);
      if (!r.ok()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        continue;
      }
      reader = std::move(*r);
    }
    auto got = reader->Fetch(1, 1000);
    if (!got.ok()) {
      reader.reset();
      continue;
    }
    for (const BusMessage& m : *got) {
      nlohmann::json item = nlohmann::json::parse(m.data.begin(), m.data.end(), nullptr, false);
      if (!item.is_object() || !item.contains("path") || !item["path"].is_string()) {
        std::fprintf(stderr, "lineup: enrolment queue entry %llu is not a work item; dropped\n",
                     static_cast<unsigned long long>(m.sequence));
        reader->Ack(m);
        continue;
      }
      const std::string path = item["path"];
      auto sha = Sha256File(path);
      PhotoAnalysis a = (*analyzer)->AnalyzeFile(path, true);
      if (!sha.ok() || !a.status.ok()) {
        std::fprintf(stderr, "lineup: %s: %s\n", path.c_str(),
                     (sha.ok() ? a.status : sha.status()).ToString().c_str());
        reader->Ack(m);  // an unreadable photo stays unreadable; reported, not retried
        continue;
      }
      ShardPhoto p;
      p.source.name = item.value("source", "");
      p.source.legal_basis = item.value("legal_basis", "");
      p.image.sha256 = *sha;
      p.image.uri = path;
      std::error_code ec;
      p.image.bytes = static_cast<int64_t>(fs::file_size(path, ec));
      p.image.format = a.info.format;
      p.image.width = a.width;
      p.image.height = a.height;
      for (const Face& f : a.faces) {
        if (!AdmissionFailures(f).empty()) continue;
        FaceRecord fr;
        fr.box = f.box;
        fr.landmarks = f.five;
        fr.confidence = f.confidence;
        fr.quality = f.quality.score;
        fr.quality_reasons = f.quality.reasons;
        p.faces.push_back(fr);
        p.vectors.insert(p.vectors.end(), f.embedding.begin(), f.embedding.end());
      }
      const int dim = a.faces.empty() ? 0 : static_cast<int>(a.faces[0].embedding.size());
      if (!p.faces.empty()) {
        auto ack = PublishPhoto(**bus, shards, p, dim);
        if (!ack.ok()) {
          std::fprintf(stderr, "lineup: %s: %s (left in the queue)\n", path.c_str(), ack.status().ToString().c_str());
          continue;  // not acknowledged: delivered again
        }
      }
      reader->Ack(m);
    }
  }
}

int NodeServe(const Args& args) {
  auto urls = NatsUrls(args);
  if (!urls.ok()) return Fail(urls.status());
  auto shards = args.GetInt("--shards", 2, 1, 1024);
  auto shard = args.GetInt("--shard", -1, 0, 1023);
  auto replicas = args.GetInt("--replicas", 3, 1, 5);
  auto workers = args.GetInt("--workers", 1, 0, 16);
  if (!shards.ok()) return Fail(shards.status());
  if (!shard.ok()) return Fail(shard.status());
  if (!replicas.ok()) return Fail(replicas.status());
  if (!workers.ok()) return Fail(workers.status());
  if (!args.Has("--shard") || *shard >= *shards)
    return Misuse(kNodeServeCommand, "node serve needs --shard S with 0 <= S < --shards");
  const std::string dir = args.Get("--dir");
  if (dir.empty()) return Misuse(kNodeServeCommand, "node serve needs --dir DIR");
  auto opt = AnalyzerOptionsFrom(args);
  if (!opt.ok()) return Fail(opt.status());

  // The cluster first: a node that cannot reach it makes no gallery.
  auto bus = MessageBus::Connect(*urls, "node-shard-" + std::to_string(*shard));
  if (!bus.ok()) return Fail(bus.status());
  if (!fs::exists(fs::path(dir) / "catalog.sqlite")) {
    Status init = Gallery::Init(dir);
    if (!init.ok()) return Fail(init);
  }
  auto gallery = Gallery::Open(dir, *opt);
  if (!gallery.ok()) return Fail(gallery.status());
  Status st = EnsureShardLogs(**bus, *shards, *replicas);
  if (st.ok()) st = (*bus)->EnsureStream({kEnrolStream, {kEnrolSubject}, *replicas, true});
  if (!st.ok()) return Fail(st);
  std::mutex gallery_mu;  // the replica changes the gallery while the server searches it
  auto replica = ShardReplica::Open(bus->get(), gallery->get(), *shard, &gallery_mu);
  if (!replica.ok()) return Fail(replica.status());
  // Searches use their own connection: a long catch-up does not delay them.
  auto search_bus = MessageBus::Connect(*urls, "node-shard-" + std::to_string(*shard) + "-search");
  if (!search_bus.ok()) return Fail(search_bus.status());

  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  // Catch up before answering searches, so a restarted replica does not answer from an
  // old state while its twin is current.
  int64_t total = 0;
  for (;;) {
    auto n = (*replica)->CatchUp(512, 500);
    if (!n.ok()) return Fail(n.status());
    total += *n;
    if (*n == 0 || g_stop) break;
  }
  const long long faces_now = static_cast<long long>((*gallery)->size());  // before searches begin
  auto server = ShardServer::Start(search_bus->get(), gallery->get(), *shard, &gallery_mu);
  if (!server.ok()) return Fail(server.status());
  std::vector<std::thread> threads;
  for (int w = 0; w < *workers; ++w) threads.emplace_back(EnrolmentWorker, *urls, *opt, *shards, w);
  std::printf("node: shard %d of %d, %lld faces (log entry %llu), serving searches%s\n", *shard, *shards,
              faces_now, static_cast<unsigned long long>((*replica)->applied()),
              *workers ? ", enrolling queued photos" : "");
  std::fflush(stdout);
  while (!g_stop) {
    auto n = (*replica)->CatchUp(512, 500);
    if (!n.ok()) {
      std::fprintf(stderr, "lineup: node: %s (retrying)\n", n.status().ToString().c_str());
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      continue;
    }
    if (*n > 0) {
      std::lock_guard<std::mutex> lock(gallery_mu);
      std::printf("node: shard %d: %lld faces (log entry %llu)\n", *shard, static_cast<long long>((*gallery)->size()),
                  static_cast<unsigned long long>((*replica)->applied()));
      std::fflush(stdout);
    }
  }
  for (auto& t : threads) t.join();
  server->reset();
  std::printf("node: stopped\n");
  return 0;
}

int ClusterEnroll(const Args& args) {
  auto urls = NatsUrls(args);
  if (!urls.ok()) return Fail(urls.status());
  const std::string source = args.Get("--source"), basis = args.Get("--legal-basis");
  if (source.empty() || basis.empty())
    return Misuse(kClusterEnrollCommand, "cluster enroll needs --source NAME and --legal-basis TEXT");
  if (args.positional.empty()) return Misuse(kClusterEnrollCommand, "cluster enroll needs photos or folders");
  auto files = ListPhotos(args.positional);
  if (!files.ok()) return Fail(files.status());
  auto bus = MessageBus::Connect(*urls, "cluster-enroll");
  if (!bus.ok()) return Fail(bus.status());
  Status st = (*bus)->EnsureStream({kEnrolStream, {kEnrolSubject}, 3, true});
  if (!st.ok()) return Fail(st);
  int64_t queued = 0, again = 0;
  for (const auto& f : *files) {
    auto sha = Sha256File(f);
    if (!sha.ok()) return Fail(sha.status());
    const std::string item = WorkItem(fs::absolute(f).lexically_normal().string(), source, basis).dump();
    auto ack = (*bus)->Publish(kEnrolSubject, std::vector<uint8_t>(item.begin(), item.end()), *sha);
    if (!ack.ok()) return Fail(ack.status());
    (ack->duplicate ? again : queued) += 1;
  }
  if (args.Has("--json")) {
    std::printf("%s\n", nlohmann::json{{"queued", queued}, {"already_queued", again}}.dump().c_str());
  } else {
    std::printf("queued %lld photos for enrolment", static_cast<long long>(queued));
    if (again) std::printf(" (%lld already queued)", static_cast<long long>(again));
    std::printf("\n");
  }
  return 0;
}

int ClusterSearch(const Args& args) {
  auto urls = NatsUrls(args);
  if (!urls.ok()) return Fail(urls.status());
  if (args.positional.size() != 1) return Misuse(kClusterSearchCommand, "cluster search takes one photo");
  auto shards = args.GetInt("--shards", 2, 1, 1024);
  auto top = args.GetInt("--top", 10, 1, 1000);
  auto deadline = args.GetInt("--deadline", 2000, 10, 600000);
  if (!shards.ok()) return Fail(shards.status());
  if (!top.ok()) return Fail(top.status());
  if (!deadline.ok()) return Fail(deadline.status());
  auto opt = AnalyzerOptionsFrom(args);
  if (!opt.ok()) return Fail(opt.status());
  auto bus = MessageBus::Connect(*urls, "cluster-search");  // a wrong cluster is named first
  if (!bus.ok()) return Fail(bus.status());
  auto analyzer = FaceAnalyzer::Create(*opt);
  if (!analyzer.ok()) return Fail(analyzer.status());
  PhotoAnalysis a = (*analyzer)->AnalyzeFile(args.positional[0], true);
  if (!a.status.ok()) return Fail(a.status);
  if (a.faces.empty()) return Fail(Status::NoFace(args.positional[0] + ": no face found"));
  const Face& probe = a.faces.front();  // largest first
  auto r = SearchShards(**bus, *shards, probe.embedding, static_cast<int>(probe.embedding.size()), *top, *deadline);
  if (!r.ok()) return Fail(r.status());
  const auto& hits = r->hits.front();
  if (args.Has("--json")) {
    nlohmann::json c = nlohmann::json::array(), missing = nlohmann::json::array();
    for (const auto& h : hits) c.push_back({{"shard", h.shard}, {"face_id", h.face_id}, {"score", h.score}});
    for (const auto& m : r->missing) missing.push_back({{"shard", m.shard}, {"reason", m.reason}});
    std::printf("%s\n", nlohmann::json{{"candidates", c}, {"partial", !r->missing.empty()}, {"missing_shards", missing}}
                            .dump(2)
                            .c_str());
  } else {
    std::printf("rank  shard  face      score\n");
    for (size_t i = 0; i < hits.size(); ++i)
      std::printf("%4zu  %5d  %-8lld  %.4f\n", i + 1, hits[i].shard, static_cast<long long>(hits[i].face_id),
                  hits[i].score);
    for (const auto& m : r->missing) std::printf("PARTIAL: shard %d not searched: %s\n", m.shard, m.reason.c_str());
    std::printf("Candidates are leads for review, not identifications.\n");
  }
  return r->missing.empty() ? 0 : 4;
}

}  // namespace

int CmdNode(int argc, char** argv) {
  auto command = VerbFrom(kNodeCommand, argc, argv);
  if (!command.ok()) return Fail(command.status());
  auto args = ParseArgs(argc, argv, **command);
  if (!args.ok()) return Fail(args.status());
  if (!args->positional.empty()) return Misuse(**command, "node serve takes no arguments");
  return NodeServe(*args);
}

int CmdClusterClient(int argc, char** argv) {
  auto command = VerbFrom(kClusterCommand, argc, argv);
  if (!command.ok()) return Fail(command.status());
  auto args = ParseArgs(argc, argv, **command);
  if (!args.ok()) return Fail(args.status());
  if (*command == &kClusterEnrollCommand) return ClusterEnroll(*args);
  return ClusterSearch(*args);
}

}  // namespace lineup::cli
