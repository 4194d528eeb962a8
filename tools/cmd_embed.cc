// lineup embed: identity vectors for photos (files, or directories searched recursively),
// written to a vector file.
#include "cli_util.h"
#include "commands.h"
#include "lineup/gallery.h"
#include "lineup/vector_file.h"

namespace lineup::cli {

const Command kEmbedCommand = {
    .name = "embed",
    .summary = "identity vectors with photo, box and model, to a vector file (docs/formats.md)",
    .usage = {"embed PHOTO|DIR... --out FILE [--all-faces] [--threads N] [--json]"},
    .options = {{"--out", "FILE", "the vector file to write (nothing is written if no photo has a face)"},
                {"--all-faces", "", "a vector for every face (default only the largest usable face of each photo)"},
                kJsonOption},
    .examples = {"lineup embed samples --out out/samples.luvec",
                 "lineup embed samples/sample1.jpg --out out/one.luvec --all-faces"},
    .notes = "Directories are searched recursively. Exit code 1 if no photo has a face.",
    .reads_photos = true,
};

int CmdEmbed(int argc, char** argv) {
  auto args = ParseArgs(argc, argv, kEmbedCommand);
  if (!args.ok()) return Fail(args.status());
  if (args->positional.empty()) return Misuse(kEmbedCommand, "embed needs at least one photo or directory");
  if (args->Get("--out").empty()) return Misuse(kEmbedCommand, "embed needs --out FILE");
  auto opts = AnalyzerOptionsFrom(*args);
  auto threads = args->GetInt("--threads", 0, 1, 64);
  if (!opts.ok()) return Fail(opts.status());
  if (!threads.ok()) return Fail(threads.status());
  const bool all = args->Has("--all-faces");
  auto photos = ListPhotos(args->positional);
  if (!photos.ok()) return Fail(photos.status());

  std::vector<PhotoAnalysis> results(photos->size());
  Progress progress("photos", results.size());
  size_t done = 0;
  std::string model_id;
  {
    auto probe = FaceAnalyzer::Create(*opts);  // fails early and clearly on a missing model
    if (!probe.ok()) return Fail(probe.status());
    model_id = (*probe)->Model().Id();
  }
  Status s = AnalyzeFiles(*opts, *photos, true, *threads, [&](size_t i, PhotoAnalysis&& r) {
    results[i] = std::move(r);
    progress.Tick(++done);
  });
  progress.Finish();
  if (!s.ok()) return Fail(s);

  VectorFile file;
  file.model_id = model_id;
  file.dim = 0;
  nlohmann::json problems = nlohmann::json::array();
  int bad = 0, no_face = 0;
  for (const auto& r : results) {
    if (!r.status.ok()) {
      ++bad;
      problems.push_back({{"path", r.path}, {"error", r.status.message()}});
      continue;
    }
    if (r.faces.empty()) {
      ++no_face;
      problems.push_back(
          {{"path", r.path}, {"error", r.path + ": " + NoFaceMessage(r.set_aside, opts->photo_min_confidence)}});
      continue;
    }
    int pick = PickFace(r.faces, {r.width, r.height}, FacePick::kLargest);
    for (size_t i = 0; i < r.faces.size(); ++i) {
      if (!all && static_cast<int>(i) != pick) continue;
      const Face& f = r.faces[i];
      file.dim = static_cast<int>(f.embedding.size());
      file.records.push_back({r.path, static_cast<int>(i) + 1, f.box, f.quality.score, f.quality.reasons, f.embedding});
    }
  }
  if (!file.records.empty()) {
    Status w = file.Write(args->Get("--out"));
    if (!w.ok()) return Fail(w);
  }
  if (args->Has("--json")) {
    std::printf("%s\n", nlohmann::json{{"out", file.records.empty() ? "" : args->Get("--out")},
                                       {"model", model_id}, {"dim", file.dim}, {"vectors", file.records.size()},
                                       {"photos", results.size()}, {"problems", problems}}.dump(2).c_str());
  } else {
    for (const auto& p : problems) std::fprintf(stderr, "lineup: %s\n", p["error"].get<std::string>().c_str());
    std::printf("%zu vector(s) of %d values from %zu photo(s), model %s -> %s\n", file.records.size(), file.dim,
                results.size(), model_id.c_str(), file.records.empty() ? "(nothing written)" : args->Get("--out").c_str());
  }
  if (bad) return kExitBad;
  return file.records.empty() ? kExitNo : kExitOk;
}

}  // namespace lineup::cli
