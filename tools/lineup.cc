// lineup: the command-line front end of the Lineup library.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iostream>
#include <streambuf>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core/utils/logger.hpp>

#include "cli_util.h"
#include "commands.h"

namespace {
struct NullBuffer : std::streambuf {
  int overflow(int c) override { return c; }
};

using lineup::cli::Command;

struct Entry {
  const Command* command;
  int (*run)(int argc, char** argv);
};
struct Section {
  const char* title;
  std::vector<Entry> entries;
};

// Every command, in the order and sections of `lineup --help`.
const std::vector<Section>& Sections() {
  using namespace lineup::cli;
  static const std::vector<Section> sections = {
      {"commands",
       {{&kDetectCommand, CmdDetect},
        {&kVerifyCommand, CmdVerify},
        {&kEmbedCommand, CmdEmbed},
        {&kEvalCommand, CmdEval},
        {&kCalibrateCommand, CmdCalibrate}}},
      {"gallery (--gallery DIR, default $LINEUP_GALLERY or ./lineup-data)",
       {{&kInitCommand, CmdInit},
        {&kSourceCommand, CmdSource},
        {&kEnrollCommand, CmdEnroll},
        {&kSearchCommand, CmdSearch},
        {&kInfoCommand, CmdInfo},
        {&kEraseCommand, CmdErase},
        {&kCompactCommand, CmdCompact},
        {&kOptOutCommand, CmdOptOut}}},
      {"service and oversight (docs/service.md, docs/oversight.md)",
       {{&kServeCommand, CmdServe}, {&kUserCommand, CmdUser}, {&kCaseCommand, CmdCase}, {&kAuditCommand, CmdAudit}}},
      {"evidence: a case as a signed bundle (docs/evidence.md)", {{&kKeyCommand, CmdKey}, {&kEvidenceCommand, CmdEvidence}}},
      {"persons: faces grouped by who they are", {{&kPersonsCommand, CmdPersons}}},
      {"network: who appears with whom", {{&kNetworkCommand, CmdNetwork}}},
      {"cluster: one gallery over several nodes (docs/cluster.md)", {{&kNodeCommand, CmdNode}, {&kClusterCommand, CmdClusterClient}}},
      {"measurements", {{&kBenchCommand, CmdBench}}},
      {"about", {{&kVersionCommand, CmdVersion}}},
  };
  return sections;
}

const Entry* Find(const std::string& name) {
  for (const Section& s : Sections())
    for (const Entry& e : s.entries)
      if (e.command->name == name) return &e;
  return nullptr;
}

std::vector<std::string> CommandNames() {
  std::vector<std::string> names;
  for (const Section& s : Sections())
    for (const Entry& e : s.entries) names.push_back(e.command->name);
  return names;
}

std::string SummaryOf(const Command& c) {
  std::string s = c.summary;
  if (c.verbs.empty()) return s;
  s += " (";
  for (size_t i = 0; i < c.verbs.size(); ++i) s += (i ? ", " : "") + c.verbs[i]->name.substr(c.name.size() + 1);
  return s + ")";
}

void PrintUsage() {
  std::printf(
      "usage: lineup COMMAND [options]\n"
      "       lineup COMMAND --help   a command's usage, options and examples (also: lineup help COMMAND)\n"
      "       lineup --version        the version and the models in use\n"
      "\n"
      "Every result is a lead for human review, never an identification.\n");
  for (const Section& s : Sections()) {
    std::printf("\n%s:\n", s.title);
    for (const Entry& e : s.entries)
      std::printf("  %-10s %s\n", e.command->name.c_str(),
                  lineup::cli::Wrap(SummaryOf(*e.command), 13, lineup::cli::kHelpWidth).c_str());
  }
  std::printf("\noptions for every command that reads photos:\n");
  lineup::cli::PrintOptions(lineup::cli::AnalysisOptions());
  std::printf("\nexit codes: 0 success, 1 no face / not the same person, 2 bad input or usage\n");
}

nlohmann::json UsageJson() {
  nlohmann::json sections = nlohmann::json::array();
  for (const Section& s : Sections()) {
    nlohmann::json commands = nlohmann::json::array();
    for (const Entry& e : s.entries) commands.push_back({{"name", e.command->name}, {"summary", SummaryOf(*e.command)}});
    sections.push_back({{"title", s.title}, {"commands", commands}});
  }
  return {{"usage", "lineup COMMAND [options]"}, {"sections", sections}};
}

// The arguments before a "--", where options may be.
bool HasOption(int argc, char** argv, int from, std::initializer_list<const char*> names) {
  for (int i = from; i < argc && std::strcmp(argv[i], "--"); ++i)
    for (const char* n : names)
      if (!std::strcmp(argv[i], n)) return true;
  return false;
}

// `lineup help [COMMAND [VERB]]` and `lineup COMMAND [VERB] ... --help`.
int Help(const std::string& name, const std::string& verb, bool json) {
  if (name.empty()) {
    if (json) std::printf("%s\n", UsageJson().dump(2).c_str());
    else PrintUsage();
    return lineup::cli::kExitOk;
  }
  const Entry* e = Find(name);
  if (!e) {
    const std::string near = lineup::cli::Closest(name, CommandNames());
    return lineup::cli::Fail(lineup::Status::InvalidArgument(
        "no command \"" + name + "\"" + (near.empty() ? " (lineup --help lists them)" : " (did you mean " + near + "?)")));
  }
  const Command* c = e->command;
  if (const Command* v = verb.empty() ? nullptr : c->Verb(verb)) c = v;
  if (json) std::printf("%s\n", lineup::cli::HelpJson(*c).dump(2).c_str());
  else lineup::cli::PrintHelp(*c);
  return lineup::cli::kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  // FAISS parallelises short loops with OpenMP, whose threads spin between them by
  // default; with two cores shared with OpenBLAS and other processes, spinning made
  // index training 7x slower (245 s against 35 s for 30,000 faces, docs/benchmarks.md).
  // The wait policy is read when libgomp loads, so it is set by running again.
  if (!std::getenv("OMP_WAIT_POLICY") && ::setenv("OMP_WAIT_POLICY", "PASSIVE", 1) == 0)
    ::execv("/proc/self/exe", argv);  // returns only on failure: carry on as we are
  // Library problems reach the user as one clear line each, not as OpenCV's log.
  cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
  // Some OpenCV decoders also write to std::cerr directly; our own messages go to
  // stderr through stdio, so the stream is muted for the whole process.
  // Never destroyed: the runtime flushes std::cerr after static objects are gone.
  static NullBuffer* null_buffer = new NullBuffer;
  std::cerr.rdbuf(null_buffer);
  using lineup::Status;
  using lineup::cli::Fail;
  if (argc < 2) return Fail(Status::InvalidArgument("no command given (lineup --help lists the commands)"));
  const std::string cmd = argv[1];
  const bool json = HasOption(argc, argv, 2, {"--json"});
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    lineup::cli::SetJsonMode(json);
    const bool named = cmd == "help" && argc >= 3 && argv[2][0] != '-';
    return Help(named ? argv[2] : "", named && argc >= 4 && argv[3][0] != '-' ? argv[3] : "", json);
  }
  const Entry* entry = Find(cmd == "--version" ? "version" : cmd);
  if (!entry) {
    lineup::cli::SetJsonMode(json);
    const std::string near = lineup::cli::Closest(cmd, CommandNames());
    return Fail(Status::InvalidArgument("unknown command \"" + cmd + "\"" +
                                        (near.empty() ? " (lineup --help lists the commands)"
                                                      : " (did you mean " + near + "?)")));
  }
  // A verb (source add) has its own help and options.
  const Command& command = *entry->command;
  const Command* verb = argc >= 3 ? command.Verb(argv[2]) : nullptr;
  if (HasOption(argc, argv, 2, {"--help", "-h"})) {
    lineup::cli::SetJsonMode(json);
    return Help(command.name, verb ? argv[2] : "", json);
  }
  // Set before the command runs, so that its errors before parsing are JSON too; not for
  // commands whose --json names an output file (bench).
  lineup::cli::SetJsonMode(json && (verb ? verb : &command)->HasJsonFlag());
  try {
    if (cmd == "search")
      for (int i = 2; i < argc; ++i)
        if (!std::strncmp(argv[i], "--server", 8)) return lineup::cli::CmdRemoteSearch(argc, argv);
    return entry->run(argc, argv);
  } catch (const std::exception& e) {
    return Fail(Status::Internal(std::string("internal error: ") + e.what()));
  }
}
