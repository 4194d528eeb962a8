// lineup eval cluster: groups the faces of a labelled photo set into persons, with the
// labels hidden, exactly as a gallery's persons are grouped (lineup/persons.h), and
// scores the grouping against the labels (lineup/cluster_evaluation.h).
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "cli_util.h"
#include "commands.h"
#include "lineup/calibration.h"
#include "lineup/cluster_evaluation.h"
#include "lineup/gallery.h"
#include "lineup/identification.h"
#include "lineup/models.h"
#include "lineup/persons.h"
#include "lineup/vector_file.h"

namespace lineup::cli {

namespace {

namespace fs = std::filesystem;

std::vector<std::string> SplitList(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

// A temporary folder removed when it goes out of scope (unless kept).
struct ScratchDir {
  std::string path;
  bool keep = false;
  ~ScratchDir() {
    std::error_code ec;
    if (!path.empty() && !keep) fs::remove_all(path, ec);
  }
};

nlohmann::json PrJson(const PrecisionRecall& p) {
  return {{"precision", p.precision}, {"recall", p.recall}, {"f", p.f}};
}

}  // namespace

const Command kEvalClusterCommand = {
    .name = "eval cluster",
    .summary = "groups a labelled set's faces into persons with the labels hidden, and scores the grouping",
    .usage = {"eval cluster --root DIR [--identities TSV] [--json]",
              "eval cluster ... [--algorithm A[,A...]] [--k K[,K...]] [--link-fmr F[,F...]]",
              "eval cluster ... [--people all|dev|test] [--limit-people N] [--threads N] [--face largest|central]",
              "eval cluster ... [--keep DIR] [--vectors FILE]"},
    .options = {{"--root", "DIR", "the folder the identities file's paths are relative to"},
                {"--identities", "TSV", "image_relpath<TAB>identity lines (default DIR/identities.tsv)"},
                {"--algorithm", "A,...",
                 "graph clustering(s) to compare (default: the persons' default); components, "
                 "leiden[:resolution=R][,modularity], louvain[:resolution=R], infomap"},
                {"--k", "K,...", "neighbours per face (default 30)"},
                {"--link-fmr", "F,...", "a link's similarity threshold, as a false-match rate (default: the persons' own, 2e-6)"},
                {"--people", "all|dev|test",
                 "all people (default), or those at even (dev) or odd (test) positions by name: tune on dev, "
                 "confirm on test"},
                {"--limit-people", "N", "only the first N people by name (default all)"},
                {"--face", "largest|central",
                 "the face taken from each photo: the largest box (default) or the most central (LFW's "
                 "convention)"},
                {"--keep", "DIR", "build the gallery in DIR and keep it (default: a temporary folder)"},
                {"--vectors", "FILE",
                 "keep the faces' vectors in FILE (a vector file, docs/formats.md) and read them from it next "
                 "time instead of embedding again"},
                kJsonOption},
    .examples = {"lineup eval cluster --root ../shared/data/lfw --limit-people 500",
                 "lineup eval cluster --root ../shared/data/lfw --people dev --algorithm components,leiden"},
    .notes = "One face of each photo is grouped (--face); photos without a face are counted and left out. "
             "Several values of --algorithm, --k and --link-fmr are tried in every combination on the "
             "same faces; the JSON's top level is the first combination, \"runs\" holds them all.",
    .reads_photos = true,
};

int CmdEvalCluster(int argc, char** argv) {
  auto args = ParseArgs(argc, argv, kEvalClusterCommand);
  if (!args.ok()) return Fail(args.status());
  if (!args->positional.empty())
    return Misuse(kEvalClusterCommand, "eval cluster takes no arguments, got \"" + args->positional[0] + "\"");
  if (!args->Has("--root")) return Misuse(kEvalClusterCommand, "eval cluster needs --root DIR");
  auto opts = AnalyzerOptionsFrom(*args);
  if (!opts.ok()) return Fail(opts.status());
  auto threads = args->GetInt("--threads", 0, 1, 64);
  if (!threads.ok()) return Fail(threads.status());
  auto limit = args->GetInt("--limit-people", 0, 1, 100000000);
  if (!limit.ok()) return Fail(limit.status());
  const std::string face = args->Get("--face", "largest");
  if (face != "largest" && face != "central") return Fail(Status::InvalidArgument("--face must be largest or central"));
  const FacePick pick = face == "largest" ? FacePick::kLargestBox : FacePick::kCentral;
  const std::string people = args->Get("--people", "all");
  if (people != "all" && people != "dev" && people != "test")
    return Fail(Status::InvalidArgument("--people must be all, dev or test"));

  // The grid of settings, each checked before any photo is read.
  const std::vector<std::string> algorithms = SplitList(args->Get("--algorithm", "default"));
  std::vector<int> ks;
  for (const auto& s : SplitList(args->Get("--k", "30"))) {
    char* end = nullptr;
    const long v = std::strtol(s.c_str(), &end, 10);
    if (*end || v < 1 || v > 1000) return Fail(Status::InvalidArgument("--k needs whole numbers from 1 to 1000, not \"" + s + "\""));
    ks.push_back(static_cast<int>(v));
  }
  std::vector<double> fmrs;
  char default_fmr[32];
  std::snprintf(default_fmr, sizeof default_fmr, "%g", PersonsOptions{}.link_fmr);
  for (const auto& s : SplitList(args->Get("--link-fmr", default_fmr))) {
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (*end || !(v > 0 && v < 1)) return Fail(Status::InvalidArgument("--link-fmr needs rates between 0 and 1, not \"" + s + "\""));
    fmrs.push_back(v);
  }
  if (algorithms.empty() || ks.empty() || fmrs.empty())
    return Fail(Status::InvalidArgument("--algorithm, --k and --link-fmr need at least one value"));

  const std::string root = args->Get("--root");
  const std::string ids_file = args->Get("--identities", root + "/identities.tsv");
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return Fail(Status::NotFound(root + ": no such folder"));
  auto all = ReadIdentities(ids_file, root);
  if (!all.ok()) return Fail(all.status());

  // Which people take part.
  std::vector<std::string> names;
  for (const auto& p : *all) names.push_back(p.identity);
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::set<std::string> chosen;
  for (size_t i = 0; i < names.size(); ++i) {
    if (*limit > 0 && i >= static_cast<size_t>(*limit)) break;
    if (people == "all" || (people == "dev") == (i % 2 == 0)) chosen.insert(names[i]);
  }
  std::vector<LabelledPhoto> photos;
  for (const auto& p : *all)
    if (chosen.count(p.identity)) photos.push_back(p);
  if (photos.empty()) return Fail(Status::InvalidArgument("no photos of the chosen people"));

  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::string> paths;
  for (const auto& p : photos) paths.push_back(p.path);
  auto emb = EmbedPhotosCached(*opts, paths, *threads, pick, args->Get("--vectors"));
  if (!emb.ok()) return Fail(emb.status());
  const double embed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  // A gallery of the faces, labels left behind.
  ScratchDir scratch;
  if (args->Has("--keep")) {
    scratch.path = args->Get("--keep");
    scratch.keep = true;
    if (fs::exists(scratch.path, ec)) return Fail(Status::InvalidArgument(scratch.path + ": already exists; --keep makes a new gallery"));
  } else {
    std::string tmpl = (fs::temp_directory_path(ec) / "lineup-eval-cluster-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) return Fail(Status::IOError("cannot make a temporary folder"));
    scratch.path = tmpl;
    fs::remove(scratch.path, ec);  // Gallery::Init makes it
  }
  if (Status s = Gallery::Init(scratch.path); !s.ok()) return Fail(s);
  auto gallery = Gallery::Open(scratch.path, *opts);
  if (!gallery.ok()) return Fail(gallery.status());
  SourceRecord src;
  src.name = "eval";
  src.description = "lineup eval cluster: " + ids_file;
  src.legal_basis = "evaluation of the clustering on a labelled research set";
  if (Status s = (*gallery)->catalog().AddSource(&src); !s.ok()) return Fail(s);
  if (emb->model_id != (*gallery)->model().Id())
    return Fail(Status::InvalidArgument("the vectors are of " + emb->model_id + ", the gallery's model is " +
                                        (*gallery)->model().Id()));
  const int dim = (*gallery)->model().dim;
  std::vector<Catalog::NewImage> images;
  std::vector<float> vectors;
  std::vector<int64_t> truth;  // per face, in the order added
  std::map<std::string, int64_t> identity_index;
  for (size_t i = 0; i < photos.size(); ++i) {
    const auto& v = emb->vectors[i];
    if (v.empty()) continue;
    if (static_cast<int>(v.size()) != dim) return Fail(Status::Internal("a vector of the wrong size"));
    Catalog::NewImage im;
    im.image.sha256 = Sha256Hex(photos[i].path);  // unique per photo; the bytes are not needed here
    im.image.uri = photos[i].path;
    im.image.format = "jpeg";
    im.image.source_id = src.id;
    FaceRecord f;
    f.box = cv::Rect2f(0, 0, 100, 100);
    f.confidence = 1;
    f.quality = emb->quality[i];
    im.faces.push_back(f);
    images.push_back(std::move(im));
    vectors.insert(vectors.end(), v.begin(), v.end());
    truth.push_back(identity_index.emplace(photos[i].identity, static_cast<int64_t>(identity_index.size())).first->second);
  }
  if (images.empty()) return Fail(Status::NoFace("no face in any of the " + std::to_string(photos.size()) + " photos"));
  if (Status s = (*gallery)->AddFaces(images, vectors); !s.ok()) return Fail(s);
  if (Status s = (*gallery)->Checkpoint(); !s.ok()) return Fail(s);
  // Face ids in the order added: one face per image.
  std::vector<int64_t> face_ids;
  for (const auto& im : images) face_ids.push_back(im.faces.front().id);
  if (std::any_of(face_ids.begin(), face_ids.end(), [](int64_t id) { return id <= 0; })) {
    auto ids = (*gallery)->catalog().FaceIds();
    if (!ids.ok()) return Fail(ids.status());
    face_ids = *ids;
    std::sort(face_ids.begin(), face_ids.end());
  }
  if (face_ids.size() != truth.size()) return Fail(Status::Internal("the gallery holds a different number of faces"));
  auto cal = Calibration::ForModel((*gallery)->model());
  if (!cal.ok()) return Fail(cal.status());

  nlohmann::json runs = nlohmann::json::array();
  Table table({"algorithm", "k", "link FMR", "threshold", "clusters", "pairwise P", "R", "F", "BCubed P", "R", "F",
               "seconds"});
  for (const auto& algorithm : algorithms)
    for (int k : ks)
      for (double fmr : fmrs) {
        PersonsOptions po;
        po.algorithm = algorithm;
        po.k = k;
        po.link_fmr = fmr;
        auto persons = Persons::Open(**gallery, po);
        if (!persons.ok()) return Fail(persons.status());
        const auto c0 = std::chrono::steady_clock::now();
        auto rep = (*persons)->Recluster();
        if (!rep.ok()) return Fail(rep.status());
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - c0).count();
        std::vector<int64_t> predicted;
        for (int64_t id : face_ids) {
          auto p = (*persons)->PersonOf(id);
          if (!p.ok()) return Fail(p.status());
          predicted.push_back(*p);
        }
        const ClusterScores sc = ScoreClusters(truth, predicted);
        auto threshold = cal->ThresholdFor(fmr);
        const double thr = threshold.ok() ? *threshold : NAN;
        runs.push_back({{"algorithm", algorithm},
                        {"k", k},
                        {"link_fmr", fmr},
                        {"link_threshold", thr},
                        {"faces", sc.items},
                        {"clusters", sc.clusters},
                        {"identities", sc.identities},
                        {"pairwise", PrJson(sc.pairwise)},
                        {"bcubed", PrJson(sc.bcubed)},
                        {"links", rep->links},
                        {"kept_apart", rep->kept_apart},
                        {"seconds", seconds},
                        {"seconds_neighbours", rep->seconds_knn},
                        {"seconds_clustering", rep->seconds_cluster}});
        table.Add({algorithm, std::to_string(k), Fmt("%g", fmr), Fmt("%.4f", thr), std::to_string(sc.clusters),
                   Fmt("%.4f", sc.pairwise.precision), Fmt("%.4f", sc.pairwise.recall), Fmt("%.4f", sc.pairwise.f),
                   Fmt("%.4f", sc.bcubed.precision), Fmt("%.4f", sc.bcubed.recall), Fmt("%.4f", sc.bcubed.f),
                   Fmt("%.1f", seconds)});
      }

  nlohmann::json j = runs.front();
  j["runs"] = runs;
  j["photos"] = photos.size();
  j["photos_without_face"] = emb->failures;
  j["people"] = chosen.size();
  j["people_split"] = people;
  j["face_choice"] = face;
  j["model"] = emb->model_id;
  j["seconds_embedding"] = embed_s;
  if (scratch.keep) j["gallery"] = scratch.path;
  if (JsonMode()) {
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("%zu photos of %zu people (%s), %d without a face; %lld faces grouped (largest per photo), "
              "embedded in %.0f s\n\n",
              photos.size(), chosen.size(), people.c_str(), emb->failures, static_cast<long long>(truth.size()),
              embed_s);
  table.Print();
  std::printf("\nprecision: faces grouped together that are one person; recall: one person's faces grouped "
              "together (pairwise counts pairs, BCubed counts faces). seconds: neighbours, clustering and "
              "writing the persons.\n");
  return 0;
}

}  // namespace lineup::cli
