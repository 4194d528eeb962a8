// lineup case: the investigations that searches belong to, from the gallery's own
// machine. The server's analysts open and work cases through the API and console; a
// local operator can open one too, name it in `lineup search --case ID`, and read what
// was done in it. Every change is audited as cli:<user>.
#include <filesystem>

#include "cli_record.h"
#include "cli_util.h"
#include "commands.h"
#include "lineup/cases.h"

namespace lineup::cli {

const Command kCaseCreateCommand = {
    .name = "case create",
    .summary = "open a case: a title and the authority for it (warrant, file number)",
    .usage = {"case create TITLE --authority TEXT [--gallery DIR] [--json]"},
    .options = {{"--authority", "TEXT", "the legal authority or reference for the investigation"}, kGalleryOption,
                kJsonOption},
    .examples = {"lineup case create \"Robbery 2026-114\" --authority \"warrant W-1\" --gallery lineup-data"},
};
const Command kCaseListCommand = {
    .name = "case list",
    .summary = "the cases, open and closed",
    .usage = {"case list [--gallery DIR] [--json]"},
    .options = {kGalleryOption, kJsonOption},
    .examples = {"lineup case list --gallery lineup-data"},
};
const Command kCaseShowCommand = {
    .name = "case show",
    .summary = "a case with its members, searches and reviews",
    .usage = {"case show ID [--gallery DIR] [--json]"},
    .options = {kGalleryOption, kJsonOption},
    .examples = {"lineup case show 1 --gallery lineup-data"},
};
const Command kCaseCloseCommand = {
    .name = "case close",
    .summary = "close a case: no more searches in it",
    .usage = {"case close ID [--gallery DIR] [--json]"},
    .options = {kGalleryOption, kJsonOption},
    .examples = {"lineup case close 1 --gallery lineup-data"},
};
const Command kCaseCommand = {
    .name = "case",
    .summary = "investigations: open, list, show, close and export cases",
    .verbs = {&kCaseCreateCommand, &kCaseListCommand, &kCaseShowCommand, &kCaseCloseCommand, &kCaseExportCommand},
};

namespace {
nlohmann::json CaseJson(const CaseRecord& c) {
  return {{"id", c.id},         {"title", c.title},           {"authority", c.authority},
          {"status", c.status}, {"created_by", c.created_by}, {"created_at", c.created_at},
          {"closed_at", c.closed_at}, {"members", c.members}};
}
}  // namespace

int CmdCase(int argc, char** argv) {
  auto command = VerbFrom(kCaseCommand, argc, argv);
  if (!command.ok()) return Fail(command.status());
  const std::string verb = argv[2];
  auto args = ParseArgs(argc, argv, **command);
  if (!args.ok()) return Fail(args.status());
  const bool json = args->Has("--json");
  if (verb == "export") return CaseExport(**command, *args);
  const std::string db = (std::filesystem::path(GalleryDir(*args)) / "catalog.sqlite").string();
  if (!std::filesystem::exists(db))
    return Fail(Status::NotFound(GalleryDir(*args) + ": no gallery here (create one with `lineup init`)"));
  auto cases = Cases::Open(db);
  if (!cases.ok()) return Fail(cases.status());
  if (verb == "list") {
    if (!args->positional.empty()) return Misuse(**command, "case list takes no arguments");
    auto list = (*cases)->List();
    if (!list.ok()) return Fail(list.status());
    nlohmann::json j = nlohmann::json::array();
    Table t({"id", "status", "title", "authority", "opened by", "opened"});
    for (const auto& c : *list) {
      j.push_back(CaseJson(c));
      t.Add({std::to_string(c.id), c.status, c.title, c.authority, c.created_by, c.created_at});
    }
    if (json) std::printf("%s\n", j.dump(2).c_str());
    else t.Print();
    return kExitOk;
  }
  if (args->positional.size() != 1)
    return Misuse(**command, verb == "create" ? "case create takes one TITLE" : "case " + verb + " takes one case ID");
  auto audit = OpenCliAudit(GalleryDir(*args));
  if (!audit.ok()) return Fail(audit.status());
  if (verb == "create") {
    if (args->Get("--authority").empty()) return Misuse(**command, "case create needs --authority TEXT");
    auto c = (*cases)->Create(args->positional[0], args->Get("--authority"), CliActor());
    if (!c.ok()) return Fail(c.status());
    auto rec = (*audit)->Append(CliActor(), "case_create", c->id,
                                nlohmann::json{{"title", c->title}, {"authority", c->authority}}.dump());
    if (!rec.ok()) return Fail(rec.status().WithContext("case opened, but the audit record could not be written"));
    if (json) std::printf("%s\n", CaseJson(*c).dump(2).c_str());
    else std::printf("case %lld opened: %s (%s)\n", static_cast<long long>(c->id), c->title.c_str(), c->authority.c_str());
    return kExitOk;
  }
  char* end = nullptr;
  const long long case_id = std::strtoll(args->positional[0].c_str(), &end, 10);
  if (end == args->positional[0].c_str() || *end || case_id <= 0)
    return Misuse(**command, "a case ID is a positive whole number, not \"" + args->positional[0] + "\"");
  auto c = (*cases)->Get(case_id);
  if (!c.ok()) return Fail(c.status());
  if (verb == "close") {
    Status s = (*cases)->Close(case_id, CliActor());
    if (!s.ok()) return Fail(s);
    auto rec = (*audit)->Append(CliActor(), "case_close", case_id, "{}");
    if (!rec.ok()) return Fail(rec.status().WithContext("case closed, but the audit record could not be written"));
    if (json) std::printf("%s\n", nlohmann::json{{"closed", case_id}}.dump().c_str());
    else std::printf("case %lld closed\n", case_id);
    return kExitOk;
  }
  // show
  auto searches = (*cases)->Searches(case_id);
  auto reviews = (*cases)->Reviews(case_id);
  if (!searches.ok()) return Fail(searches.status());
  if (!reviews.ok()) return Fail(reviews.status());
  if (json) {
    nlohmann::json j = CaseJson(*c);
    j["searches"] = nlohmann::json::array();
    for (const auto& s : *searches) {
      nlohmann::json cands = nlohmann::json::array();
      for (const auto& x : s.candidates) cands.push_back({{"face_id", x.face_id}, {"score", x.score}});
      j["searches"].push_back({{"id", s.id}, {"user", s.user}, {"at", s.at}, {"justification", s.justification},
                               {"probe_sha256", s.probe_sha256}, {"kind", s.kind}, {"threshold", s.threshold},
                               {"gallery_size", s.gallery_size}, {"candidates", cands}});
    }
    j["reviews"] = nlohmann::json::array();
    for (const auto& r : *reviews)
      j["reviews"].push_back({{"id", r.id}, {"search_id", r.search_id}, {"face_id", r.face_id}, {"analyst", r.analyst},
                              {"verdict", r.verdict}, {"note", r.note}, {"confirmed_by", r.confirmed_by}});
    std::printf("%s\n", j.dump(2).c_str());
    return kExitOk;
  }
  std::printf("case %lld (%s): %s\nauthority: %s\nopened by %s at %s\nmembers: ", case_id, c->status.c_str(),
              c->title.c_str(), c->authority.c_str(), c->created_by.c_str(), c->created_at.c_str());
  for (size_t i = 0; i < c->members.size(); ++i) std::printf("%s%s", i ? ", " : "", c->members[i].c_str());
  std::printf("\n\nsearches:\n");
  Table t({"id", "at", "by", "candidates", "justification"});
  for (const auto& s : *searches)
    t.Add({std::to_string(s.id), s.at, s.user, std::to_string(s.candidates.size()), s.justification});
  if (searches->empty()) std::printf("none\n");
  else t.Print();
  std::printf("\nreviews:\n");
  Table rt({"id", "search", "face", "analyst", "verdict", "confirmed by", "note"});
  for (const auto& r : *reviews)
    rt.Add({std::to_string(r.id), std::to_string(r.search_id), std::to_string(r.face_id), r.analyst, r.verdict,
            r.confirmed_by.empty() ? "-" : r.confirmed_by, r.note});
  if (reviews->empty()) std::printf("none\n");
  else rt.Print();
  return kExitOk;
}

}  // namespace lineup::cli
