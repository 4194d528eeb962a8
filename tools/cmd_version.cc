// lineup --version: this build's version and the models it runs, so that a result can be
// traced to the code, the model files and the calibration that made it. It loads the
// embedder only to learn its model id (no photo goes through it), and still answers, with
// exit code 0, when model files are missing: that is when the question gets asked.
#include <filesystem>

#include "cli_util.h"
#include "commands.h"
#include "lineup/calibration.h"
#include "lineup/embedder.h"
#include "lineup/inference.h"
#include "lineup/models.h"
#include "lineup_version.h"
#include "model_sums.h"

namespace lineup::cli {

const Command kVersionCommand = {
    .name = "version",
    .summary = "the version of this build and the models in use (also: lineup --version)",
    .usage = {"version [--models DIR] [--embedder SPEC] [--json]", "--version [--json]"},
    .options = {kJsonOption,
                {"--models", "DIR",
                 "the model folder to report on (default $LINEUP_MODELS or the source tree's models/)"},
                {"--embedder", "SPEC", "the embedder to report on (default fr_feature+weight)"}},
    .examples = {"lineup version", "lineup version --json"},
    .notes =
        "The detector's and landmark model's files are checked against their pinned SHA-256;\n"
        "the embedder is loaded (which checks its file) to read its model id.",
};

namespace {
const char* PinnedSum(const std::string& file) {
  for (const auto& pin : kModelSums)
    if (file == pin.file) return pin.sha256;
  return "";
}

// "ok", "missing" or "differs from the pin".
std::string FileState(const std::string& dir, const std::string& file) {
  auto sum = Sha256File((std::filesystem::path(dir) / file).string());
  if (!sum.ok()) return "missing";
  return *sum == PinnedSum(file) ? "ok" : "differs from the pin";
}
}  // namespace

int CmdVersion(int argc, char** argv) {
  auto args = ParseArgs(argc, argv, kVersionCommand);
  if (!args.ok()) return Fail(args.status());
  if (!args->positional.empty())
    return Misuse(kVersionCommand, "version takes no arguments, got \"" + args->positional[0] + "\"");
  const std::string dir = args->Get("--models", DefaultModelDir());
  const std::string spec = args->Get("--embedder", Embedder::DefaultSpec());
  auto embedder = Embedder::Create(spec, dir);
  // A spec no embedder has is a mistake on the command line; a missing or altered model
  // file is what this command reports.
  if (!embedder.ok() && embedder.status().code() == Status::Code::kInvalidArgument) return Fail(embedder.status());

  nlohmann::json j = {{"version", kVersion}, {"git", kGitDescribe}, {"models_dir", dir}};
  j["embedder"] = {{"spec", spec}};
  j["inference_engine"] = DefaultInferenceEngine();
  if (embedder.ok()) j["embedder"]["model_id"] = (*embedder)->Model().Id();
  else j["embedder"]["error"] = embedder.status().message();
  for (const auto& [role, file] : {std::pair{"detector", "fr_detect.onnx"}, std::pair{"landmarks", "fr_landmark.onnx"}})
    j[role] = {{"file", file}, {"sha256_pinned", PinnedSum(file)}, {"state", FileState(dir, file)}};
  j["calibration"] = nullptr;
  if (embedder.ok()) {
    const std::string path = Calibration::PathFor((*embedder)->Model());
    j["calibration"] = {{"path", path}, {"present", std::filesystem::exists(path)}};
  }
  j["missing"] = nlohmann::json::array();
  for (const auto& pin : kModelSums)
    if (!std::filesystem::exists(std::filesystem::path(dir) / pin.file)) j["missing"].push_back(pin.file);

  if (args->Has("--json")) {
    std::printf("%s\n", j.dump(2).c_str());
    return kExitOk;
  }
  std::printf("lineup %s%s\n", kVersion, *kGitDescribe ? (std::string(" (") + kGitDescribe + ")").c_str() : "");
  std::printf("models in %s, run by %s (the default engine; --engine chooses):\n", dir.c_str(),
              DefaultInferenceEngine());
  if (embedder.ok())
    std::printf("  embedder     %s (--embedder %s)\n", (*embedder)->Model().Id().c_str(), spec.c_str());
  else
    std::printf("  embedder     %s: not available (%s)\n", spec.c_str(), embedder.status().message().c_str());
  for (const char* role : {"detector", "landmarks"}) {
    const auto& m = j[role];
    std::printf("  %-12s %s, SHA-256 %s... (%s)\n", role, m["file"].get<std::string>().c_str(),
                m["sha256_pinned"].get<std::string>().substr(0, 12).c_str(), m["state"].get<std::string>().c_str());
  }
  if (j["calibration"].is_null())
    std::printf("  calibration  unknown without the embedder's model id\n");
  else
    std::printf("  calibration  %s%s\n", j["calibration"]["path"].get<std::string>().c_str(),
                j["calibration"]["present"].get<bool>() ? "" : " (missing: run `make calibrate`)");
  if (!j["missing"].empty()) {
    std::string list;
    for (const auto& f : j["missing"]) list += (list.empty() ? "" : ", ") + f.get<std::string>();
    std::printf("missing model files: %s; run `make models` (scripts/fetch_models.sh) to fetch them\n", list.c_str());
  }
  return kExitOk;
}

}  // namespace lineup::cli
