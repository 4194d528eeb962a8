// lineup persons: which faces of the gallery are the same person, from the gallery's own
// machine. Each verb is one accountable call (person_investigations.h), recorded in the
// gallery's audit log as cli:<user>: reads may name a case and a justification, every
// change needs both (an open case: `lineup case create`).
#include <cerrno>
#include <cstdlib>
#include <limits>
#include <map>
#include <memory>

#include "cli_record.h"
#include "cli_util.h"
#include "commands.h"
#include "lineup/gallery.h"
#include "lineup/person_investigations.h"

namespace lineup::cli {

namespace {
constexpr Option kLimitOption{"--limit", "N",
                              "show at most N (default 100 persons, 500 faces, 200 waiting faces, 200 changes)"};
constexpr Option kOffsetOption{"--offset", "N", "skip the first N (default 0)"};
constexpr Option kChangeCase{"--case", "ID", "the open case this change belongs to (required)"};
constexpr Option kChangeJustification{"--justification", "TEXT", "why, in a sentence (required): kept in the audit record"};
}  // namespace

const Command kPersonsListCommand = {
    .name = "persons list",
    .summary = "the persons, the most doubtful first (weakest link, nearest other person, margin)",
    .usage = {"persons list [--limit N] [--offset N] [--case ID] [--justification TEXT] [--gallery DIR] [--json]"},
    .options = {kLimitOption, kOffsetOption, kCaseOption, kJustificationOption, kGalleryOption, kJsonOption},
    .examples = {"lineup persons list --gallery lineup-data"},
};
const Command kPersonsShowCommand = {
    .name = "persons show",
    .summary = "a person's faces: photo, source, date, box, quality and who placed them",
    .usage = {"persons show ID [--limit N] [--case ID] [--justification TEXT] [--gallery DIR] [--json]"},
    .options = {kLimitOption, kCaseOption, kJustificationOption, kGalleryOption, kJsonOption},
    .examples = {"lineup persons show 1 --gallery lineup-data"},
};
const Command kPersonsPendingCommand = {
    .name = "persons pending",
    .summary = "the faces waiting for a person: photo, source, quality, and how their close neighbours vote",
    .usage = {"persons pending [--limit N] [--offset N] [--case ID] [--justification TEXT] [--gallery DIR] [--json]"},
    .options = {kLimitOption, kOffsetOption, kCaseOption, kJustificationOption, kGalleryOption, kJsonOption},
    .examples = {"lineup persons pending --gallery lineup-data",
                 "lineup persons pending --limit 20 --json --case 1 --justification \"review before the rebuild\""},
};
const Command kPersonsNameCommand = {
    .name = "persons name",
    .summary = "name a person (it becomes a known subject)",
    .usage = {"persons name ID NAME --case ID --justification TEXT [--gallery DIR] [--json]"},
    .options = {kChangeCase, kChangeJustification, kGalleryOption, kJsonOption},
    .examples = {"lineup persons name 3 \"Jane Roe\" --case 1 --justification \"named in statement S-2\""},
};
const Command kPersonsMergeCommand = {
    .name = "persons merge",
    .summary = "merge person B into person A (A keeps its id and name)",
    .usage = {"persons merge A B --case ID --justification TEXT [--gallery DIR] [--json]"},
    .options = {kChangeCase, kChangeJustification, kGalleryOption, kJsonOption},
    .examples = {"lineup persons merge 3 7 --case 1 --justification \"same tattoo on both\""},
};
const Command kPersonsSplitCommand = {
    .name = "persons split",
    .summary = "move faces out of a person into a new person of their own",
    .usage = {"persons split ID FACE... --case ID --justification TEXT [--gallery DIR] [--json]"},
    .options = {kChangeCase, kChangeJustification, kGalleryOption, kJsonOption},
    .examples = {"lineup persons split 3 41 42 --case 1 --justification \"a brother, not him\""},
};
const Command kPersonsMarkCommand = {
    .name = "persons mark",
    .summary = "mark a face as not this person: it leaves and stays out through every rebuild",
    .usage = {"persons mark FACE --not ID --case ID --justification TEXT [--gallery DIR] [--json]"},
    .options = {{"--not", "ID", "the person the face is not"}, kChangeCase, kChangeJustification, kGalleryOption,
                kJsonOption},
    .examples = {"lineup persons mark 41 --not 3 --case 1 --justification \"different ear shape\""},
};
const Command kPersonsUndoCommand = {
    .name = "persons undo",
    .summary = "take back a change (its number from `lineup persons history`)",
    .usage = {"persons undo EVENT --case ID --justification TEXT [--gallery DIR] [--json]"},
    .options = {kChangeCase, kChangeJustification, kGalleryOption, kJsonOption},
    .examples = {"lineup persons undo 4 --case 1 --justification \"merged by mistake\""},
};
const Command kPersonsHistoryCommand = {
    .name = "persons history",
    .summary = "the analysts' changes to persons, newest first",
    .usage = {"persons history [--limit N] [--case ID] [--justification TEXT] [--gallery DIR] [--json]"},
    .options = {kLimitOption, kCaseOption, kJustificationOption, kGalleryOption, kJsonOption},
    .examples = {"lineup persons history --gallery lineup-data"},
};
const Command kPersonsReclusterCommand = {
    .name = "persons recluster",
    .summary = "rebuild every person from the faces (names and analysts' decisions are kept)",
    .usage = {"persons recluster --justification TEXT [--case ID] [--gallery DIR] [--json]"},
    .options = {kCaseOption, kChangeJustification, kGalleryOption, kJsonOption},
    .examples = {"lineup persons recluster --justification \"after enrolling the March seizure\""},
};
const Command kPersonsCommand = {
    .name = "persons",
    .summary = "faces grouped into persons: list, show, pending, name, merge, split, mark, undo, history, recluster",
    .verbs = {&kPersonsListCommand, &kPersonsShowCommand, &kPersonsPendingCommand, &kPersonsNameCommand,
              &kPersonsMergeCommand, &kPersonsSplitCommand, &kPersonsMarkCommand, &kPersonsUndoCommand,
              &kPersonsHistoryCommand, &kPersonsReclusterCommand},
};

namespace {

// A positive whole number, or InvalidArgument naming what it should have been.
Result<int64_t> ParseId(const std::string& text, const std::string& what) {
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || end == text.c_str() || *end || errno == ERANGE || v <= 0 || text[0] == '+' || text[0] == ' ')
    return Status::InvalidArgument(what + " is a positive whole number, not \"" + text + "\"");
  return static_cast<int64_t>(v);
}

std::string Sure(float v) { return Fmt("%.3f", v); }

void PrintChange(const PersonChange& c, bool json, const std::string& text) {
  if (json) {
    std::printf("%s\n", nlohmann::json{{"event", PersonEventJson(c.event)}, {"audit_seq", c.audit_seq}}.dump(2).c_str());
    return;
  }
  std::printf("%s (change %lld; `lineup persons undo %lld` takes it back)\n", text.c_str(),
              static_cast<long long>(c.event.id), static_cast<long long>(c.event.id));
}

}  // namespace

int CmdPersons(int argc, char** argv) {
  auto command = VerbFrom(kPersonsCommand, argc, argv);
  if (!command.ok()) return Fail(command.status());
  const Command& cmd = **command;
  const std::string verb = argv[2];
  auto args = ParseArgs(argc, argv, cmd);
  if (!args.ok()) return Fail(args.status());
  const bool json = args->Has("--json");
  const auto& pos = args->positional;

  // The shape of the command line first, before the gallery is opened.
  const std::map<std::string, std::pair<size_t, size_t>> arity = {
      {"list", {0, 0}},  {"show", {1, 1}}, {"pending", {0, 0}}, {"name", {2, 2}},
      {"merge", {2, 2}}, {"split", {2, 1 + kMaxFacesPerSplit}},
      {"mark", {1, 1}},  {"undo", {1, 1}}, {"history", {0, 0}}, {"recluster", {0, 0}}};
  const auto [lo, hi] = arity.at(verb);
  if (pos.size() < lo || pos.size() > hi) {
    static const std::map<std::string, std::string> takes = {
        {"show", "one person ID"},         {"name", "a person ID and a NAME"},
        {"merge", "two person IDs, A B"},  {"split", "a person ID and the FACE ids to move out"},
        {"mark", "one FACE id (and --not ID)"}, {"undo", "one change number (lineup persons history)"}};
    if (verb == "split" && pos.size() > hi)
      return Misuse(cmd, "a split moves at most " + std::to_string(kMaxFacesPerSplit) + " faces at once");
    return Misuse(cmd, lo == 0 ? verb + " takes no arguments" : "persons " + verb + " takes " + takes.at(verb));
  }
  std::vector<int64_t> ids;
  for (size_t i = 0; i < pos.size(); ++i) {
    if (verb == "name" && i == 1) continue;
    const std::string what = verb == "split" && i > 0 ? "a face id"
                             : verb == "mark"         ? "a face id"
                             : verb == "undo"         ? "a change number"
                                                      : "a person id";
    auto id = ParseId(pos[i], what);
    if (!id.ok()) return Misuse(cmd, id.status().message());
    ids.push_back(*id);
  }
  int64_t not_person = 0;
  if (verb == "mark") {
    if (!args->Has("--not")) return Misuse(cmd, "mark needs --not ID (the person the face is not)");
    auto id = ParseId(args->Get("--not"), "--not");
    if (!id.ok()) return Misuse(cmd, id.status().message());
    not_person = *id;
  }
  const bool change = verb == "name" || verb == "merge" || verb == "split" || verb == "mark" || verb == "undo";
  if (change && !args->Has("--case")) return Misuse(cmd, verb + " needs --case ID (an open case: lineup case create)");
  if ((change || verb == "recluster") && args->Get("--justification").empty())
    return Misuse(cmd, verb + " needs --justification TEXT");
  const int default_limit = verb == "show" ? 500 : verb == "history" || verb == "pending" ? 200 : 100;
  const int max_limit = verb == "show" || verb == "pending" ? static_cast<int>(kMaxFacesPerView)
                        : verb == "history" ? 10000
                                            : static_cast<int>(kMaxPersonsPerList);
  auto limit = args->GetInt("--limit", default_limit, 1, max_limit);
  auto offset = args->GetInt("--offset", 0, 0, std::numeric_limits<int>::max());
  if (!limit.ok()) return Fail(limit.status());
  if (!offset.ok()) return Fail(offset.status());

  auto record = OpenCliRecord(*args, true);
  if (!record.ok()) return Fail(record.status());
  auto opts = AnalyzerOptionsFrom(*args);
  if (!opts.ok()) return Fail(opts.status());
  // Reads run beside `lineup serve`; changes hold the gallery.
  auto g = change || verb == "recluster" ? Gallery::Open(record->gallery_dir, *opts)
                                         : Gallery::OpenReadOnly(record->gallery_dir, *opts);
  if (!g.ok()) return Fail(g.status());
  PersonInvestigations persons(g->get(), record->cases.get(), record->audit.get());
  const Principal who = CliPrincipal();
  const PersonsScope scope{record->case_id, record->justification};

  if (verb == "list") {
    auto l = persons.List(who, scope, *offset, *limit);
    if (!l.ok()) return Fail(l.status());
    if (json) {
      nlohmann::json arr = nlohmann::json::array();
      for (const auto& p : l->persons) arr.push_back(PersonSummaryJson(p));
      std::printf("%s\n", nlohmann::json{{"persons", arr}, {"total", l->total}, {"pending", l->pending},
                                         {"offset", l->offset}}.dump(2).c_str());
      return kExitOk;
    }
    Table t({"person", "name", "faces", "photos", "weakest link", "nearest other", "margin", "first seen", "last seen"});
    for (const auto& p : l->persons)
      t.Add({std::to_string(p.id), p.name.empty() ? "-" : p.name, std::to_string(p.faces), std::to_string(p.photos),
             Sure(p.weakest_link),
             p.nearest_person ? Sure(p.nearest_other) + " (person " + std::to_string(p.nearest_person) + ")" : "-",
             p.nearest_person || p.faces <= 1 ? Sure(p.margin()) : "not measured", p.first_seen.empty() ? "-" : p.first_seen, p.last_seen.empty() ? "-" : p.last_seen});
    if (l->persons.empty()) std::printf("no persons%s\n", l->total ? " on this page" : " (lineup persons recluster)");
    else t.Print();
    std::printf("%lld of %lld persons, the most doubtful (smallest margin) first; %lld faces pending"
                " (\"not measured\": placed since the last `lineup persons recluster`)\n",
                static_cast<long long>(l->persons.size()), static_cast<long long>(l->total),
                static_cast<long long>(l->pending));
    return kExitOk;
  }
  if (verb == "show") {
    auto v = persons.Show(who, scope, ids[0], *limit);
    if (!v.ok()) return Fail(v.status());
    if (json) {
      nlohmann::json faces = nlohmann::json::array();
      for (const auto& f : v->faces) faces.push_back(PersonFaceJson(f));
      nlohmann::json j = PersonSummaryJson(v->person);
      j["face_list"] = faces;
      std::printf("%s\n", j.dump(2).c_str());
      return kExitOk;
    }
    const PersonSummary& p = v->person;
    std::printf("person %lld%s: %lld face(s) in %lld photo(s); weakest link %s, nearest other %s, margin %s\n",
                static_cast<long long>(p.id), p.name.empty() ? " (unnamed)" : (" \"" + p.name + "\"").c_str(),
                static_cast<long long>(p.faces), static_cast<long long>(p.photos), Sure(p.weakest_link).c_str(),
                p.nearest_person ? (Sure(p.nearest_other) + " (person " + std::to_string(p.nearest_person) + ")").c_str()
                                 : "-",
                Sure(p.margin()).c_str());
    Table t({"face", "photo", "source", "date", "box", "quality", "placed by"});
    for (const auto& f : v->faces)
      t.Add({std::to_string(f.face_id), f.image_uri, f.source, f.captured_at.empty() ? "-" : f.captured_at,
             BoxText(f.box), Fmt("%.2f", f.quality), f.placed_by});
    t.Print();
    if (static_cast<int64_t>(v->faces.size()) < p.faces)
      std::printf("the first %zu faces; --limit N shows more\n", v->faces.size());
    return kExitOk;
  }
  if (verb == "pending") {
    auto p = persons.Pending(who, scope, *offset, *limit);
    if (!p.ok()) return Fail(p.status());
    if (json) {
      nlohmann::json faces = nlohmann::json::array();
      for (const auto& f : p->faces) faces.push_back(PendingFaceJson(f));
      std::printf("%s\n", nlohmann::json{{"faces", faces}, {"total", p->total}, {"offset", p->offset}}.dump(2).c_str());
      return kExitOk;
    }
    // "Have vs need": the close neighbours in the leading person and their share of the
    // weight, against the share that joining needs.
    Table t(
        {"face", "photo", "source", "quality", "close neighbours", "in one person", "share (needed)", "why waiting"});
    for (const auto& [f, v] : p->faces)
      t.Add({std::to_string(f.face_id), f.image_uri, f.source, Fmt("%.2f", f.quality),
             std::to_string(v.close_neighbours),
             v.leading_person ? std::to_string(v.leading_neighbours) + " (person " +
                                    std::to_string(v.leading_person) + ")"
                              : "-",
             Fmt("%.2f", v.leading_share) + " (" + Fmt("%.2f", v.share_needed) + ")", v.reason});
    if (p->faces.empty()) std::printf("no face%s is waiting for a person\n", p->total ? " on this page" : "");
    else t.Print();
    std::printf("%zu of %lld waiting faces; a face joins the person holding at least the needed share of its close "
                "neighbours' similarity; `lineup persons recluster` places every face\n",
                p->faces.size(), static_cast<long long>(p->total));
    return kExitOk;
  }
  if (verb == "history") {
    auto h = persons.History(who, scope, *limit);
    if (!h.ok()) return Fail(h.status());
    if (json) {
      nlohmann::json arr = nlohmann::json::array();
      for (const auto& e : *h) arr.push_back(PersonEventJson(e));
      std::printf("%s\n", nlohmann::json{{"changes", arr}}.dump(2).c_str());
      return kExitOk;
    }
    Table t({"change", "at", "by", "action", "details", "undone by"});
    for (const auto& e : *h)
      t.Add({std::to_string(e.id), e.at, e.actor, e.action, e.details, e.undone_by ? std::to_string(e.undone_by) : "-"});
    if (h->empty()) std::printf("no changes yet\n");
    else t.Print();
    return kExitOk;
  }
  if (verb == "recluster") {
    std::string stage;
    std::unique_ptr<Progress> bar;
    auto r = persons.Recluster(who, scope, [&](const std::string& what, int64_t done, int64_t total) {
      if (what != stage || !bar) {
        if (bar) bar->Finish();
        stage = what;
        bar = std::make_unique<Progress>(what, static_cast<size_t>(std::max<int64_t>(total, 0)));
      }
      bar->Tick(static_cast<size_t>(std::max<int64_t>(done, 0)));
    });
    if (bar) bar->Finish();
    if (!r.ok()) return Fail(r.status());
    if (json) {
      std::printf("%s\n", ReclusterReportJson(*r).dump(2).c_str());
      return kExitOk;
    }
    std::printf("%lld faces into %lld persons (%lld of one face), %lld pending; %lld links; %lld faces kept apart by "
                "constraints; neighbours %.1f s, clustering %.1f s\n",
                static_cast<long long>(r->faces), static_cast<long long>(r->persons), static_cast<long long>(r->singletons),
                static_cast<long long>(r->pending), static_cast<long long>(r->links),
                static_cast<long long>(r->kept_apart), r->seconds_knn, r->seconds_cluster);
    return kExitOk;
  }
  // The changes.
  Result<PersonChange> c = Status::Internal("unset");
  std::string text;
  if (verb == "name") {
    c = persons.Name(who, scope, ids[0], pos[1]);
    text = "person " + pos[0] + " is now \"" + pos[1] + "\"";
  } else if (verb == "merge") {
    c = persons.Merge(who, scope, ids[0], ids[1]);
    text = "person " + pos[1] + " merged into person " + pos[0];
  } else if (verb == "split") {
    c = persons.Split(who, scope, ids[0], std::vector<int64_t>(ids.begin() + 1, ids.end()));
    if (c.ok())
      text = std::to_string(ids.size() - 1) + " face(s) moved out of person " + pos[0] + " into person " +
             std::to_string(nlohmann::json::parse(c->event.details, nullptr, false).value("new_person", int64_t{0}));
  } else if (verb == "mark") {
    c = persons.MarkNot(who, scope, ids[0], not_person);
    text = "face " + pos[0] + " marked as not person " + std::to_string(not_person);
  } else {
    c = persons.Undo(who, scope, ids[0]);
    text = "change " + pos[0] + " taken back";
  }
  if (!c.ok()) return Fail(c.status());
  PrintChange(*c, json, text);
  return kExitOk;
}

}  // namespace lineup::cli
