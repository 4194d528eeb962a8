// lineup network: who appears with whom in the gallery's photos, from the gallery's own
// machine. Each verb is one accountable query (network_investigations.h), recorded in
// the gallery's audit log as cli:<user> with what it returned; --case and
// --justification tie it to an open case. Only faces of sources that allow the purpose
// "network" are used, and every answer says how many were left out.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>

#include "cli_record.h"
#include "cli_util.h"
#include "commands.h"
#include "lineup/gallery.h"
#include "lineup/network_investigations.h"

namespace lineup::cli {

namespace {
constexpr Option kTopOption{"--top", "K", "show the K highest (default 10, at most 1000)"};
constexpr Option kAlgorithmOption{"--algorithm", "A", "leiden:modularity (default), louvain or infomap"};
constexpr Option kPhotosOption{"--photos", "N", "list at most N photos behind each link (default 3; 0: none)"};
}  // namespace

const Command kNetworkAssociatesCommand = {
    .name = "network associates",
    .summary = "the persons seen with PERSON, strongest first, with the photos behind each link",
    .usage = {"network associates PERSON [--top K] [--photos N] [--case ID] [--justification TEXT] [--gallery DIR] "
              "[--json]"},
    .options = {kTopOption, kPhotosOption, kCaseOption, kJustificationOption, kGalleryOption, kJsonOption},
    .examples = {"lineup network associates 3 --top 5 --case 1 --justification \"who travels with suspect 3\""},
};
const Command kNetworkPathCommand = {
    .name = "network path",
    .summary = "the shortest chain of co-appearances from person A to person B, with every link's photos",
    .usage = {"network path A B [--photos N] [--case ID] [--justification TEXT] [--gallery DIR] [--json]"},
    .options = {kPhotosOption, kCaseOption, kJustificationOption, kGalleryOption, kJsonOption},
    .examples = {"lineup network path 3 17 --case 1 --justification \"how are 3 and 17 connected\""},
};
const Command kNetworkCommunitiesCommand = {
    .name = "network communities",
    .summary = "groups of persons who appear together (modularity), each with its members",
    .usage = {"network communities [--algorithm A] [--case ID] [--justification TEXT] [--gallery DIR] [--json]"},
    .options = {kAlgorithmOption, kCaseOption, kJustificationOption, kGalleryOption, kJsonOption},
    .examples = {"lineup network communities --gallery lineup-data"},
};
const Command kNetworkBrokersCommand = {
    .name = "network brokers",
    .summary = "persons who bridge groups (betweenness, discounted where their associates know each other), highest first",
    .usage = {"network brokers [--top K] [--algorithm A] [--case ID] [--justification TEXT] [--gallery DIR] [--json]"},
    .options = {kTopOption, kAlgorithmOption, kCaseOption, kJustificationOption, kGalleryOption, kJsonOption},
    .examples = {"lineup network brokers --top 5 --gallery lineup-data"},
};
const Command kNetworkExportCommand = {
    .name = "network export",
    .summary = "the whole network for other link-analysis tools (GraphML or JSON, with every link's photos)",
    .usage = {"network export --graphml FILE | --json FILE [--case ID] [--justification TEXT] [--gallery DIR]"},
    .options = {{"--graphml", "FILE", "write GraphML to FILE"},
                {"--json", "FILE", "write JSON to FILE"},
                kCaseOption,
                kJustificationOption,
                kGalleryOption},
    .examples = {"lineup network export --graphml network.graphml --gallery lineup-data"},
};
const Command kNetworkCommand = {
    .name = "network",
    .summary = "who appears with whom: associates, path, communities, brokers, export",
    .notes = "Only photos of sources that allow the purpose \"network\" are used (lineup source purposes NAME "
             "search,network); every answer says how many faces were left out. Answers are leads for review.",
    .verbs = {&kNetworkAssociatesCommand, &kNetworkPathCommand, &kNetworkCommunitiesCommand, &kNetworkBrokersCommand,
              &kNetworkExportCommand},
};

namespace {

// A positive whole number, or InvalidArgument naming what it should have been.
Result<int64_t> PersonId(const std::string& text) {
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || end == text.c_str() || *end || errno == ERANGE || v <= 0 || text[0] == '+' || text[0] == ' ')
    return Status::InvalidArgument("a person id is a positive whole number, not \"" + text + "\"");
  return static_cast<int64_t>(v);
}

std::map<int64_t, NetworkPerson> ByIdOf(const NetworkAnswer& a) {
  std::map<int64_t, NetworkPerson> out;
  for (const NetworkPerson& p : a.people) out[p.id] = p;
  return out;
}

std::string Label(const std::map<int64_t, NetworkPerson>& people, int64_t id) {
  auto it = people.find(id);
  return it == people.end() ? "person " + std::to_string(id) : PersonLabel(it->second);
}

std::string Date(const std::string& d) { return d.empty() ? "-" : d; }

// The photos behind a link, as continuation rows of a table whose first `lead` columns
// are left empty.
void AddPhotoRows(Table& t, size_t lead, const std::vector<SharedPhoto>& photos, int shown) {
  int n = 0;
  for (const SharedPhoto& p : photos) {
    if (n++ >= shown) {
      std::vector<std::string> row(lead, "");
      row.push_back("... " + std::to_string(photos.size() - static_cast<size_t>(shown)) + " more (--photos N)");
      row.insert(row.end(), 2, "");
      t.Add(row);
      break;
    }
    std::vector<std::string> row(lead, "");
    row.push_back(p.uri);
    row.push_back(p.source);
    row.push_back(Date(p.captured_at));
    t.Add(row);
  }
}

// What every answer ends with: what the network is made of, what it left out, and that
// it is a lead.
void PrintReport(const NetworkReport& r) {
  std::printf("network: %lld persons, %lld links, from %lld faces in %lld photos", static_cast<long long>(r.persons),
              static_cast<long long>(r.ties), static_cast<long long>(r.faces), static_cast<long long>(r.photos));
  if (r.faces_left_out_purpose)
    std::printf("; %lld faces (%lld photos) left out: their source does not allow \"network\"",
                static_cast<long long>(r.faces_left_out_purpose), static_cast<long long>(r.photos_left_out_purpose));
  else
    std::printf("; no face left out for its source's purposes");
  if (r.faces_unplaced) std::printf("; %lld faces in no person yet", static_cast<long long>(r.faces_unplaced));
  if (r.faces_opted_out) std::printf("; %lld faces opted out", static_cast<long long>(r.faces_opted_out));
  std::printf("\n%s\n", kNetworkNotice);
}

// Writes `text` to `path` through a temporary file beside it, renamed into place, so a
// failed write leaves no half file.
Status WriteFile(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) return Status::IOError("cannot write " + path + ": " + std::strerror(errno));
  const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  const bool closed = std::fclose(f) == 0;
  std::error_code ec;
  if (!ok || !closed) {
    std::filesystem::remove(tmp, ec);
    return Status::IOError("cannot write " + path + " (disk full?)");
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    return Status::IOError("cannot write " + path + ": " + ec.message());
  }
  return Status::OK();
}

// An export's file must be a new or regular file in an existing directory; checked
// before the network is asked, so that a bad path costs no audit record.
Status CheckExportPath(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (path.empty()) return Status::InvalidArgument("an export needs a file name");
  if (fs::is_directory(path, ec)) return Status::InvalidArgument(path + " is a directory; name a file");
  if (fs::exists(path, ec) && !fs::is_regular_file(path, ec))
    return Status::InvalidArgument(path + " is not a regular file");
  fs::path dir = fs::path(path).parent_path();
  if (dir.empty()) dir = ".";
  if (!fs::is_directory(dir, ec)) return Status::InvalidArgument("no directory " + dir.string() + " for " + path);
  if (::access(dir.c_str(), W_OK) != 0) return Status::InvalidArgument("cannot write into " + dir.string());
  return Status::OK();
}

}  // namespace

int CmdNetwork(int argc, char** argv) {
  auto command = VerbFrom(kNetworkCommand, argc, argv);
  if (!command.ok()) return Fail(command.status());
  const Command& cmd = **command;
  const std::string verb = argv[2];
  auto args = ParseArgs(argc, argv, cmd);
  if (!args.ok()) return Fail(args.status());
  const bool json = verb != "export" && args->Has("--json");
  const auto& pos = args->positional;

  // The shape of the command line first, before the gallery is opened.
  const std::map<std::string, size_t> arity = {
      {"associates", 1}, {"path", 2}, {"communities", 0}, {"brokers", 0}, {"export", 0}};
  if (pos.size() != arity.at(verb)) {
    if (verb == "associates") return Misuse(cmd, "network associates takes one PERSON id");
    if (verb == "path") return Misuse(cmd, "network path takes two person ids, A B");
    return Misuse(cmd, "network " + verb + " takes no arguments");
  }
  std::vector<int64_t> ids;
  for (const std::string& p : pos) {
    auto id = PersonId(p);
    if (!id.ok()) return Misuse(cmd, id.status().message());
    ids.push_back(*id);
  }
  auto top = args->GetInt("--top", 10, 1, kMaxNetworkTop);
  if (!top.ok()) return Fail(top.status());
  auto photos = args->GetInt("--photos", 3, 0, 1000000);
  if (!photos.ok()) return Fail(photos.status());
  std::string format, out_path;
  if (verb == "export") {
    const bool graphml = args->Has("--graphml"), as_json = args->Has("--json");
    if (graphml == as_json) return Misuse(cmd, "export needs one of --graphml FILE or --json FILE");
    format = graphml ? "graphml" : "json";
    out_path = args->Get(graphml ? "--graphml" : "--json");
    if (Status s = CheckExportPath(out_path); !s.ok()) return Fail(s);
  }

  auto record = OpenCliRecord(*args, true);
  if (!record.ok()) return Fail(record.status());
  auto opts = AnalyzerOptionsFrom(*args);
  if (!opts.ok()) return Fail(opts.status());
  // Queries only read: they run beside `lineup serve`.
  auto g = Gallery::OpenReadOnly(record->gallery_dir, *opts);
  if (!g.ok()) return Fail(g.status());
  NetworkInvestigations network(g->get(), record->cases.get(), record->audit.get());
  const Principal who = CliPrincipal();
  const NetworkScope scope{record->case_id, record->justification};
  const std::string algorithm = args->Get("--algorithm");

  if (verb == "associates") {
    auto a = network.Associates(who, scope, ids[0], *top);
    if (!a.ok()) return Fail(a.status());
    if (json) {
      std::printf("%s\n", AssociatesAnswerJson(*a).dump(2).c_str());
      return a->in_network ? kExitOk : kExitNo;
    }
    if (!a->in_network) {
      std::printf("%s is not in the co-appearance network: none of its faces is in a photo of a source that allows "
                  "\"network\"\n",
                  PersonLabel(a->person).c_str());
      PrintReport(a->report);
      return kExitNo;
    }
    std::printf("associates of %s (%lld photos, linked to %lld persons)\n", PersonLabel(a->person).c_str(),
                static_cast<long long>(a->person.photos), static_cast<long long>(a->person.ties));
    Table t({"rank", "person", "shared photos", "score", "photo", "source", "date"});
    int rank = 0;
    for (const Associate& x : a->associates) {
      t.Add({std::to_string(++rank), x.name.empty() ? "person " + std::to_string(x.person) : x.name,
             std::to_string(x.shared_photos), Fmt("%.3f", x.score), "", "", ""});
      AddPhotoRows(t, 4, x.photos, *photos);
    }
    if (a->associates.empty()) std::printf("nobody appears with %s\n", PersonLabel(a->person).c_str());
    else t.Print();
    PrintReport(a->report);
    return kExitOk;
  }
  if (verb == "path") {
    auto p = network.Path(who, scope, ids[0], ids[1]);
    if (!p.ok()) return Fail(p.status());
    if (json) {
      std::printf("%s\n", PathAnswerJson(*p).dump(2).c_str());
      return kExitOk;
    }
    const auto people = ByIdOf(*p);
    std::printf("%zu link(s) from %s to %s\n", p->path.links.size(), Label(people, ids[0]).c_str(),
                Label(people, ids[1]).c_str());
    Table t({"link", "from", "to", "shared photos", "photo", "source", "date"});
    int n = 0;
    for (const PathLink& l : p->path.links) {
      t.Add({std::to_string(++n), Label(people, l.from), Label(people, l.to), std::to_string(l.photos.size()), "", "",
             ""});
      AddPhotoRows(t, 4, l.photos, *photos);
    }
    if (!p->path.links.empty()) t.Print();
    PrintReport(p->report);
    return kExitOk;
  }
  if (verb == "communities") {
    auto c = network.Communities(who, scope, algorithm);
    if (!c.ok()) return Fail(c.status());
    if (json) {
      std::printf("%s\n", CommunitiesAnswerJson(*c).dump(2).c_str());
      return kExitOk;
    }
    const auto people = ByIdOf(*c);
    Table t({"community", "persons", "links inside", "photos inside", "members"});
    for (const Community& g : c->communities.communities) {
      std::string members;
      size_t k = 0;
      for (int64_t m : g.members) {
        if (k++ == 8) {
          members += ", ... " + std::to_string(g.members.size() - 8) + " more";
          break;
        }
        members += (members.empty() ? "" : ", ") + Label(people, m);
      }
      t.Add({std::to_string(g.id + 1), std::to_string(g.members.size()), std::to_string(g.internal_ties),
             std::to_string(g.internal_photos), members});
    }
    if (c->communities.communities.empty()) std::printf("no community: nobody appears with anyone\n");
    else t.Print();
    std::printf("%zu communities by %s (modularity %.3f); %lld persons linked to nobody\n",
                c->communities.communities.size(), c->communities.algorithm.c_str(), c->communities.quality,
                static_cast<long long>(c->communities.isolated));
    PrintReport(c->report);
    return kExitOk;
  }
  if (verb == "brokers") {
    auto b = network.Brokers(who, scope, *top, algorithm);
    if (!b.ok()) return Fail(b.status());
    if (json) {
      std::printf("%s\n", BrokersAnswerJson(*b).dump(2).c_str());
      return kExitOk;
    }
    Table t({"rank", "person", "score", "betweenness", "associates who know each other", "communities touched",
             "linked to"});
    int rank = 0;
    for (const Broker& k : b->brokers)
      t.Add({std::to_string(++rank), k.name.empty() ? "person " + std::to_string(k.person) : k.name,
             Fmt("%.1f", k.score), Fmt("%.1f", k.betweenness), Fmt("%.0f%%", 100 * k.closure),
             std::to_string(k.communities), std::to_string(k.ties)});
    if (b->brokers.empty()) std::printf("no persons in the network\n");
    else t.Print();
    std::printf("score: betweenness (how many shortest chains between others pass through the person, links "
                "weighted by shared photos) times the share of its associates' pairs who do not appear together; "
                "communities by %s\n",
                b->algorithm.c_str());
    PrintReport(b->report);
    return kExitOk;
  }
  // export
  auto e = network.Export(who, scope, format);
  if (!e.ok()) return Fail(e.status());
  if (Status s = WriteFile(out_path, e->text); !s.ok()) return Fail(s);
  std::printf("wrote %s: %lld persons, %lld links (%zu bytes, %s)\n", out_path.c_str(),
              static_cast<long long>(e->report.persons), static_cast<long long>(e->report.ties), e->text.size(),
              format == "graphml" ? "GraphML" : "JSON");
  PrintReport(e->report);
  return kExitOk;
}

}  // namespace lineup::cli
