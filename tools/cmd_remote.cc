// lineup search --server URL: a search against a served gallery, through its API, so
// that it names a case and a justification and is audited like any other.
#include <httplib.h>

#include <cstdio>
#include <cstdlib>

#include "cli_util.h"
#include "commands.h"
#include "lineup/image.h"

namespace lineup::cli {

// Shown in `lineup search --help` after the local search; named "search" so that its
// messages point there.
const Command kRemoteSearchCommand = {
    .name = "search",
    .summary = "search through a served gallery's API instead (with --server)",
    .usage = {"search PROBE --server URL --case ID --justification TEXT [--token TOKEN]",
              "search PROBE --server URL ... [--face N] [--top K] [--fpir 0.01 | --fmr RATE] [--all] [--json]"},
    .options = {{"--server", "URL", "the running `lineup serve`, e.g. http://127.0.0.1:8080"},
                {"--case", "ID", "the open case the search is for; the token's analyst must be a member"},
                {"--justification", "TEXT", "why this search, for the audit log"},
                {"--token", "TOKEN",
                 "an analyst's API token (default $LINEUP_TOKEN); an admin issues one with "
                 "`lineup user token NAME` or POST /v1/users/{name}/tokens"},
                {"--face", "N", "search with face #N of the probe (default the largest usable)"},
                {"--top", "K", "at most K candidates (default 10)"},
                {"--fpir", "RATE", "the decision: target FPIR for the gallery's size (default the server's, 0.01)"},
                {"--fmr", "RATE", "for experts: a per-comparison false-match rate instead"},
                {"--all", "", "show the nearest candidates even below the threshold"},
                kJsonOption},
    .examples =
        {"lineup search samples/sample6.jpg --server http://127.0.0.1:8080 --case 1 --justification \"case 1 probe\""},
};

int CmdRemoteSearch(int argc, char** argv) {
  auto args = ParseArgs(argc, argv, kRemoteSearchCommand);
  if (!args.ok()) return Fail(args.status());
  const Command& c = kRemoteSearchCommand;
  if (args->positional.size() != 1)
    return Misuse(c, "search takes one probe photo, got " + std::to_string(args->positional.size()));
  if (!args->Has("--case")) return Misuse(c, "search --server needs --case ID");
  if (!args->Has("--justification")) return Misuse(c, "search --server needs --justification TEXT");
  std::string token = args->Get("--token");
  if (token.empty() && std::getenv("LINEUP_TOKEN")) token = std::getenv("LINEUP_TOKEN");
  if (token.empty()) return Fail(Status::InvalidArgument("give --token or set LINEUP_TOKEN"));
  auto case_id = args->GetInt("--case", 0, 1, 1 << 30);
  auto top = args->GetInt("--top", 10, 1, 200);
  auto face = args->GetInt("--face", 0, 0, 10000);
  auto fmr = args->GetDouble("--fmr", 0, 1e-7, 0.1);
  auto fpir = args->GetDouble("--fpir", 0.01, 1e-6, 0.5);
  for (const Status& s : {case_id.status(), top.status(), face.status(), fmr.status(), fpir.status()})
    if (!s.ok()) return Fail(s);
  if (args->Has("--fpir") && args->Has("--fmr")) return Misuse(c, "give --fpir or --fmr, not both");
  auto bytes = ReadFileBytes(args->positional[0], 64 << 20);
  if (!bytes.ok()) return Fail(bytes.status());
  httplib::Client client(args->Get("--server"));
  client.set_read_timeout(120, 0);
  httplib::MultipartFormDataItems items = {{"image", *bytes, "probe", "application/octet-stream"},
                                           {"justification", args->Get("--justification"), "", ""},
                                           {"top", std::to_string(*top), "", ""},
                                           {"face", std::to_string(*face), "", ""},
                                           {"all", args->Has("--all") ? "1" : "", "", ""}};
  if (args->Has("--fmr")) items.push_back({"fmr", Fmt("%g", *fmr), "", ""});
  if (args->Has("--fpir")) items.push_back({"fpir", Fmt("%g", *fpir), "", ""});
  auto res = client.Post(("/v1/cases/" + std::to_string(*case_id) + "/searches").c_str(),
                         {{"Authorization", "Bearer " + token}}, items);
  if (!res) return Fail(Status::IOError("cannot reach " + args->Get("--server") + ": " + httplib::to_string(res.error())));
  nlohmann::json j = nlohmann::json::parse(res->body, nullptr, false);
  if (res->status != 200) {
    std::string msg = j.is_object() && j.contains("error") ? j["error"].value("message", res->body) : res->body;
    return Fail(Status::InvalidArgument("server answered " + std::to_string(res->status) + ": " + msg));
  }
  if (args->Has("--json")) {
    std::printf("%s\n", j.dump(2).c_str());
    return kExitOk;
  }
  for (const auto& w : j["warnings"]) std::printf("WARNING: %s\n", w.get<std::string>().c_str());
  std::printf("search %lld in case %d: gallery of %lld faces; %s\n", static_cast<long long>(j["search_id"].get<int64_t>()),
              *case_id, static_cast<long long>(j["gallery_size"].get<int64_t>()),
              j.contains("decision") ? j["decision"].value("text", "").c_str() : "");
  Table t({"rank", "score", "FPIR", "face", "subject", "source", "image"});
  for (const auto& c : j["candidates"])
    t.Add({std::to_string(c["rank"].get<int>()), Fmt("%.4f", c["score"].get<double>()), Fmt("%.2g", c["fpir"].get<double>()),
           std::to_string(c["face_id"].get<int64_t>()), c["subject"].get<std::string>(),
           c["source"]["name"].get<std::string>(), c["image"]["uri"].get<std::string>()});
  t.Print();
  std::printf("%s\n", j["notice"].get<std::string>().c_str());
  return kExitOk;
}

}  // namespace lineup::cli
