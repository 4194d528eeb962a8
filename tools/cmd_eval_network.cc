// lineup eval network: the co-appearance network measured against a planted one
// (include/lineup/planted_network.h, docs/network.md).
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "cli_util.h"
#include "commands.h"
#include "lineup/planted_network.h"

namespace lineup::cli {

const Command kEvalNetworkCommand = {
    .name = "eval network",
    .summary = "persons and the co-appearance network against a planted network of LFW group photos",
    .usage = {"eval network --root LFW_DIR [--seed N] [--groups N] [--bridges N] [--keep DIR] [--json]"},
    .options = {{"--root", "DIR", "LFW (with images/<Name>/...); the shared data's groups/ beside it gives backgrounds"},
                {"--seed", "N", "the planted network and its photos (default 1; same seed, same photos)"},
                {"--groups", "N", "planted groups of 4-8 people (default 60)"},
                {"--bridges", "N", "persons who also appear with another group (default 6)"},
                {"--keep", "DIR", "make the photos, truth.tsv and the gallery there and keep them (default: a "
                                  "temporary folder, removed)"},
                {"--threads", "N", "enrolment pipelines (default one per core)"},
                kJsonOption},
    .examples = {"lineup eval network --root ../shared/data/lfw --groups 8 --bridges 2"},
    .notes = "Prints NMI and ARI of the communities against the planted groups, the precision of each planted "
             "person's top-5 associates, and how many planted bridges are among the top brokers (twice as many "
             "brokers as bridges are examined).",
    .reads_photos = true,
};

int CmdEvalNetwork(int argc, char** argv) {
  auto args = ParseArgs(argc, argv, kEvalNetworkCommand);
  if (!args.ok()) return Fail(args.status());
  if (!args->positional.empty())
    return Misuse(kEvalNetworkCommand, "eval network takes no arguments, got \"" + args->positional[0] + "\"");
  if (!args->Has("--root")) return Misuse(kEvalNetworkCommand, "eval network needs --root LFW_DIR");
  auto seed = args->GetInt("--seed", 1, 0, 1 << 30);
  auto groups = args->GetInt("--groups", 60, 2, 1000);
  auto bridges = args->GetInt("--bridges", 6, 0, 500);
  auto threads = args->GetInt("--threads", 0, 1, 64);
  auto analyzer = AnalyzerOptionsFrom(*args);
  for (const Status& s : {seed.status(), groups.status(), bridges.status(), threads.status(), analyzer.status()})
    if (!s.ok()) return Fail(s);
  namespace fs = std::filesystem;
  PlantedEvaluationOptions o;
  o.plant.seed = static_cast<uint64_t>(*seed);
  o.plant.groups = *groups;
  o.plant.bridges = *bridges;
  o.lfw_root = args->Get("--root");
  o.groups_dir = (fs::path(o.lfw_root).lexically_normal().parent_path() / "groups").string();
  o.analyzer = *analyzer;
  o.workers = *threads;
  std::error_code ec;
  if (!fs::is_directory(fs::path(o.lfw_root) / "images", ec))
    return Fail(Status::NotFound(o.lfw_root + ": not an LFW folder (no images/ in it)"));
  std::string scratch;
  if (args->Has("--keep")) {
    o.work_dir = args->Get("--keep");
  } else {
    std::string tmpl = (fs::temp_directory_path() / "lineup-eval-network-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) return Fail(Status::IOError("cannot make a temporary folder"));
    scratch = o.work_dir = tmpl;
  }
  std::string stage;
  std::unique_ptr<Progress> bar;
  o.progress = [&](const std::string& s, size_t done, size_t total) {
    if (s != stage) {
      if (bar) bar->Finish();
      bar = std::make_unique<Progress>(s, total);
      stage = s;
    }
    bar->Tick(done);
  };
  const auto start = std::chrono::steady_clock::now();
  auto r = EvaluatePlantedNetwork(o);
  if (bar) bar->Finish();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!scratch.empty()) fs::remove_all(scratch, ec);
  if (!r.ok()) return Fail(r.status());

  nlohmann::json by_score = nlohmann::json::object();
  for (const auto& [name, p] : r->precision_by_score) by_score[name] = p;
  const nlohmann::json j = {
      {"nmi", r->nmi},
      {"ari", r->ari},
      {"associates_precision_at_5", r->associates_precision_at_5},
      {"bridges_found", r->bridges_found},
      {"bridges_planted", r->bridges_planted},
      {"brokers_examined", r->brokers_examined},
      {"bridges_found_at_planted", r->bridges_found_at_planted},
      {"nmi_louvain", r->nmi_louvain},
      {"ari_louvain", r->ari_louvain},
      {"associates_precision_at_5_by_score", by_score},
      {"seed", *seed},
      {"planted", {{"groups", r->planted_groups}, {"persons", r->planted_persons}, {"photos", r->planted_photos},
                   {"faces", r->planted_faces}}},
      {"found", {{"faces_enrolled", r->faces_enrolled}, {"faces_matched", r->faces_matched},
                 {"persons", r->persons}, {"pending", r->pending}, {"ties", r->ties},
                 {"communities", r->communities},
                 {"person_pairwise_precision", r->person_pairwise_precision},
                 {"person_pairwise_recall", r->person_pairwise_recall}}},
      {"seconds", {{"render", r->seconds_render}, {"enrol", r->seconds_enrol}, {"persons", r->seconds_persons},
                   {"network", r->seconds_network}, {"total", seconds}}},
  };
  if (args->Has("--json")) {
    std::printf("%s\n", j.dump(2).c_str());
    return kExitOk;
  }
  std::printf("planted: %lld groups, %lld persons (%lld bridges), %lld photos, %lld faces (seed %d)\n",
              static_cast<long long>(r->planted_groups), static_cast<long long>(r->planted_persons),
              static_cast<long long>(r->bridges_planted), static_cast<long long>(r->planted_photos),
              static_cast<long long>(r->planted_faces), *seed);
  std::printf("found:   %lld faces enrolled (%lld on planted faces), %lld persons, %lld pending, %lld ties, "
              "%lld communities\n\n",
              static_cast<long long>(r->faces_enrolled), static_cast<long long>(r->faces_matched),
              static_cast<long long>(r->persons), static_cast<long long>(r->pending), static_cast<long long>(r->ties),
              static_cast<long long>(r->communities));
  Table t({"measure", "value", "target"});
  t.Add({"persons: pairwise precision", Fmt("%.4f", r->person_pairwise_precision), ""});
  t.Add({"persons: pairwise recall", Fmt("%.4f", r->person_pairwise_recall), ""});
  t.Add({"communities NMI (leiden:modularity)", Fmt("%.4f", r->nmi), ">= 0.9"});
  t.Add({"communities ARI (leiden:modularity)", Fmt("%.4f", r->ari), ""});
  t.Add({"communities NMI (louvain)", Fmt("%.4f", r->nmi_louvain), ""});
  t.Add({"communities ARI (louvain)", Fmt("%.4f", r->ari_louvain), ""});
  for (const auto& [name, p] : r->precision_by_score)
    t.Add({"associates precision@5 (" + name + (name == "hub" ? ", default)" : ")"), Fmt("%.4f", p),
           name == "hub" ? ">= 0.95" : ""});
  t.Add({"bridges in the top " + std::to_string(r->brokers_examined) + " brokers",
         std::to_string(r->bridges_found) + " of " + std::to_string(r->bridges_planted), "all"});
  t.Add({"bridges in the top " + std::to_string(r->bridges_planted) + " brokers",
         std::to_string(r->bridges_found_at_planted) + " of " + std::to_string(r->bridges_planted), ""});
  t.Print();
  std::printf("\ntime: %.1f s (photos %.1f, enrolment %.1f, persons %.1f, network %.1f)\n", seconds,
              r->seconds_render, r->seconds_enrol, r->seconds_persons, r->seconds_network);
  return kExitOk;
}

}  // namespace lineup::cli
