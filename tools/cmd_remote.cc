// lineup search --server URL: a search against a served gallery, through its API, so
// that it names a case and a justification and is audited like any other.
#include <httplib.h>

#include <cstdio>
#include <cstdlib>

#include "cli_util.h"
#include "commands.h"
#include "lineup/image.h"

namespace lineup::cli {

int CmdRemoteSearch(int argc, char** argv) {
  auto args = ParseArgs(argc, argv, 2, {"--server", "--token", "--case", "--justification", "--face", "--top", "--fmr"},
                        {"--all", "--json"});
  if (!args.ok()) return Fail(args.status());
  const std::string usage =
      "usage: lineup search PROBE --server URL --case ID --justification TEXT [--token TOKEN]\n"
      "                     [--face N] [--top K] [--fmr 1e-3] [--all] [--json]\n"
      "  A served gallery is searched through its API: the token (or $LINEUP_TOKEN) must be an\n"
      "  analyst's who is a member of the open case ID.\n";
  if (args->positional.size() != 1 || !args->Has("--case") || !args->Has("--justification")) return Usage(usage);
  std::string token = args->Get("--token");
  if (token.empty() && std::getenv("LINEUP_TOKEN")) token = std::getenv("LINEUP_TOKEN");
  if (token.empty()) return Fail(Status::InvalidArgument("give --token or set LINEUP_TOKEN"));
  auto case_id = args->GetInt("--case", 0, 1, 1 << 30);
  auto top = args->GetInt("--top", 10, 1, 200);
  auto face = args->GetInt("--face", 0, 0, 10000);
  auto fmr = args->GetDouble("--fmr", 1e-3, 1e-7, 0.1);
  for (const Status& s : {case_id.status(), top.status(), face.status(), fmr.status()})
    if (!s.ok()) return Fail(s);
  auto bytes = ReadFileBytes(args->positional[0], 64 << 20);
  if (!bytes.ok()) return Fail(bytes.status());
  httplib::Client client(args->Get("--server"));
  client.set_read_timeout(120, 0);
  httplib::MultipartFormDataItems items = {{"image", *bytes, "probe", "application/octet-stream"},
                                           {"justification", args->Get("--justification"), "", ""},
                                           {"top", std::to_string(*top), "", ""},
                                           {"face", std::to_string(*face), "", ""},
                                           {"fmr", Fmt("%g", *fmr), "", ""},
                                           {"all", args->Has("--all") ? "1" : "", "", ""}};
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
  std::printf("search %lld in case %d: gallery of %lld faces, threshold %.4f (FMR %g)\n",
              static_cast<long long>(j["search_id"].get<int64_t>()), *case_id,
              static_cast<long long>(j["gallery_size"].get<int64_t>()), j["threshold"].get<double>(), *fmr);
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
