// The `lineup` command line, run as a separate process: exit codes (0 success, 1 no
// face / not the same person, 2 bad input or usage), one clear "lineup: " line on
// stderr per problem, and the JSON and vector-file outputs.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cmath>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <set>
#include <string>
#include <vector>

#include "hostile.h"
#include "lineup/analyzer.h"
#include "lineup/calibration.h"
#include "lineup/embedder.h"
#include "lineup/models.h"
#include "lineup/vector_file.h"
#include "test_util.h"

namespace {

using lineup_test::Bytes;
using lineup_test::Lines;
using lineup_test::RunCli;
using lineup_test::RunResult;
using lineup_test::TempDir;
using lineup_test::WriteBytes;
using lineup_test::WriteText;
using nlohmann::json;

bool Contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::string Describe(const RunResult& r) {
  std::string s = "exit ";
  s.append(std::to_string(r.exit_code)).append(", signal ").append(std::to_string(r.signal));
  s.append("\n--- stderr ---\n").append(r.err).append("--- stdout (first 600) ---\n").append(r.out.substr(0, 600));
  return s;
}

// The process ended by itself with `code`, and stderr is exactly one line starting
// "lineup: " that contains `part`.
void ExpectOneErrorLine(const RunResult& r, int code, const std::string& part) {
  ASSERT_EQ(r.signal, 0) << "killed by a signal: " << Describe(r);
  EXPECT_EQ(r.exit_code, code) << Describe(r);
  auto lines = Lines(r.err);
  ASSERT_EQ(lines.size(), 1u) << "stderr must be exactly one line: " << Describe(r);
  EXPECT_EQ(lines[0].rfind("lineup: ", 0), 0u) << lines[0];
  EXPECT_TRUE(Contains(lines[0], part)) << "expected \"" << part << "\" in: " << lines[0];
}

json ParseJson(const RunResult& r) {
  json j = json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(j.is_discarded()) << "stdout is not JSON: " << Describe(r);
  return j;
}

std::string LfwPhoto(const std::string& data, const std::string& name, int i) {
  char num[16];
  std::snprintf(num, sizeof num, "%04d", i);
  return data + "/lfw/images/" + name + "/" + name + "_" + num + ".jpg";
}

// --------------------------------------------------- bad input (fast; sanitize)

class CliBadInput : public ::testing::Test {
 protected:
  std::string Put(const std::string& name, const Bytes& bytes) {
    std::string p = tmp_.File(name);
    WriteBytes(p, bytes);
    return p;
  }
  void ExpectDetectRefuses(const std::string& path, const std::string& part) {
    ExpectOneErrorLine(RunCli({"detect", path}), 2, part);
  }
  TempDir tmp_;
};

TEST_F(CliBadInput, EmptyFile) { ExpectDetectRefuses(Put("empty.jpg", {}), "empty"); }

TEST_F(CliBadInput, TextFileNamedJpg) {
  std::string p = tmp_.File("notes.jpg");
  WriteText(p, "shopping list: milk, eggs\n");
  ExpectDetectRefuses(p, "not an image");
}

TEST_F(CliBadInput, TruncatedJpeg) {
  // A real LFW photo if there is one, else a JPEG made here: cut in half.
  std::string why, data = lineup_test::DataDir("", &why);
  Bytes full = data.empty() ? lineup_test::Encode(lineup_test::Pattern(250, 250), ".jpg")
                            : lineup_test::ReadBytes(LfwPhoto(data, "Aaron_Peirsol", 1));
  ASSERT_GT(full.size(), 100u);
  full.resize(full.size() / 2);
  ExpectDetectRefuses(Put("half.jpg", full), "truncated");
}

TEST_F(CliBadInput, BrokenCrcPng) { ExpectDetectRefuses(Put("crc.png", lineup_test::PngWithBrokenCrc()), "CRC"); }

TEST_F(CliBadInput, HugePngHeader) {
  RunResult r = RunCli({"detect", Put("huge.png", lineup_test::HugePng(60000, 60000))});
  ExpectOneErrorLine(r, 2, "limit");
  EXPECT_LT(r.seconds, 20) << "refusing a 3.6-gigapixel header must not decode it";
}

TEST_F(CliBadInput, HugeJpegHeader) {
  ExpectDetectRefuses(Put("huge.jpg", lineup_test::JpegDeclaring(60000, 60000)), "limit");
}

TEST_F(CliBadInput, MaxPixelsOption) {
  std::string p = Put("small.png", lineup_test::Encode(lineup_test::Pattern(100, 80), ".png"));
  ExpectOneErrorLine(RunCli({"detect", p, "--max-pixels", "7999"}), 2, "limit");
}

TEST_F(CliBadInput, PathThatDoesNotExist) { ExpectDetectRefuses(tmp_.File("no_such_photo.jpg"), "no_such_photo.jpg"); }

TEST_F(CliBadInput, Directory) { ExpectDetectRefuses(tmp_.path(), "is a directory"); }

TEST_F(CliBadInput, UnreadableFile) {
  if (lineup_test::CanReadMode000(tmp_.path()))
    GTEST_SKIP() << "this process can read mode-000 files (running as root?), so no file is unreadable";
  std::string p = Put("locked.png", lineup_test::Encode(lineup_test::Pattern(), ".png"));
  ASSERT_EQ(::chmod(p.c_str(), 0), 0);
  ExpectDetectRefuses(p, "locked.png");
}

TEST_F(CliBadInput, TruncatedBmp) {
  // The header is intact, so only the decoder notices: its complaint must still reach
  // the user as the one "lineup: " line, not as OpenCV's own stderr output.
  Bytes bmp = lineup_test::Encode(lineup_test::Pattern(64, 48), ".bmp");
  bmp.resize(bmp.size() / 2);
  ExpectDetectRefuses(Put("half.bmp", bmp), "half.bmp");
}

TEST_F(CliBadInput, TwoBadFilesTwoLines) {
  std::string a = Put("empty.jpg", {}), b = tmp_.File("missing.jpg");
  RunResult r = RunCli({"detect", a, b});
  ASSERT_EQ(r.signal, 0) << Describe(r);
  EXPECT_EQ(r.exit_code, 2) << Describe(r);
  auto lines = Lines(r.err);
  ASSERT_EQ(lines.size(), 2u) << Describe(r);
  EXPECT_EQ(lines[0].rfind("lineup: " + a, 0), 0u) << lines[0];
  EXPECT_EQ(lines[1].rfind("lineup: " + b, 0), 0u) << lines[1];
}

TEST_F(CliBadInput, OneByOneImageHasNoFace) {
  RunResult r = RunCli({"detect", Put("one.png", lineup_test::Encode(cv::Mat(1, 1, CV_8UC3, cv::Scalar::all(90)), ".png"))});
  ASSERT_EQ(r.signal, 0) << Describe(r);
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
}

// The cluster commands without a cluster, or with a wrong one: one clear line, exit 2.
TEST_F(CliBadInput, ClusterCommandsNeedAClusterAndTheirOptions) {
  ::unsetenv("LINEUP_CLUSTER");
  const std::string photo = tmp_.File("p.jpg");
  std::ofstream(photo) << "x";
  for (const auto& [args, says] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"cluster", "search", photo}, "LINEUP_CLUSTER"},
           {{"cluster", "search", photo, "--nats", "http://127.0.0.1:1"}, "not a NATS URL"},
           {{"cluster", "enroll", photo, "--nats", "nats://a:b@127.0.0.1:1"}, "--source"},
           {{"node", "serve", "--dir", tmp_.File("n"), "--nats", "nats://a:b@127.0.0.1:1"}, "--shard"},
           {{"node", "serve", "--shard", "3", "--shards", "2", "--dir", tmp_.File("n"), "--nats", "nats://a:b@127.0.0.1:1"},
            "--shard"},
           {{"node", "serve", "--shard", "0", "--nats", "nats://a:b@127.0.0.1:1"}, "--dir"}}) {
    std::string line;
    for (const auto& a : args) line += a + " ";
    SCOPED_TRACE(line);
    RunResult r = RunCli(args);
    ASSERT_EQ(r.signal, 0) << Describe(r);
    EXPECT_EQ(r.exit_code, 2) << Describe(r);
    EXPECT_TRUE(Contains(r.err, says)) << Describe(r);
  }
  // No server there: "unavailable", and the password is not printed.
  RunResult r = RunCli({"cluster", "enroll", photo, "--source", "s", "--legal-basis", "b", "--nats",
                        "nats://lineup:sekret@127.0.0.1:1"});
  EXPECT_NE(r.exit_code, 0) << Describe(r);
  EXPECT_FALSE(Contains(r.err, "sekret")) << Describe(r);
  EXPECT_FALSE(std::filesystem::exists(tmp_.File("n"))) << "no gallery made for a node that cannot start";
}

TEST_F(CliBadInput, MissingFileInJsonMode) {
  std::string p = tmp_.File("gone.jpg");
  RunResult r = RunCli({"detect", p, "--json"});
  ASSERT_EQ(r.signal, 0) << Describe(r);
  EXPECT_EQ(r.exit_code, 2) << Describe(r);
  json j = ParseJson(r);
  ASSERT_TRUE(j.contains("photos")) << j.dump();
  ASSERT_EQ(j["photos"].size(), 1u);
  ASSERT_TRUE(j["photos"][0].contains("error")) << j.dump();
  EXPECT_TRUE(Contains(j["photos"][0]["error"].get<std::string>(), p)) << j.dump();
  EXPECT_EQ(j["photos"][0]["path"], p);
}

TEST_F(CliBadInput, UnknownOption) {
  ExpectOneErrorLine(RunCli({"detect", "--frobnicate", tmp_.File("x.jpg")}), 2, "--frobnicate");
  ExpectOneErrorLine(RunCli({"verify", "a.jpg", "b.jpg", "--colour=blue"}), 2, "--colour");
}

TEST_F(CliBadInput, BadOptionValues) {
  ExpectOneErrorLine(RunCli({"detect", "x.jpg", "--min-face", "tiny"}), 2, "--min-face");
  ExpectOneErrorLine(RunCli({"detect", "x.jpg", "--min-face"}), 2, "--min-face");
  ExpectOneErrorLine(RunCli({"verify", "a.jpg", "b.jpg", "--fmr", "2"}), 2, "--fmr");
}

TEST_F(CliBadInput, UsageErrorsExit2) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {}, {"frobnicate"}, {"detect"}, {"verify", "only_one.jpg"}, {"embed", "a.jpg"}, {"eval"}}) {
    std::string what;
    for (const auto& a : args) what.append(a).append(" ");
    SCOPED_TRACE(what);
    RunResult r = RunCli(args);
    ASSERT_EQ(r.signal, 0) << Describe(r);
    EXPECT_EQ(r.exit_code, 2) << Describe(r);
    EXPECT_FALSE(r.err.empty()) << "a usage error must say something on stderr";
  }
  RunResult help = RunCli({"--help"});
  EXPECT_EQ(help.exit_code, 0) << Describe(help);
  EXPECT_TRUE(Contains(help.out, "usage: lineup")) << Describe(help);
}

TEST_F(CliBadInput, MissingModelDirNamesTheFileAndTheFix) {
  for (const char* cmd : {"verify", "detect"}) {
    SCOPED_TRACE(cmd);
    std::vector<std::string> args = {cmd, "a.jpg"};
    if (std::string(cmd) == "verify") args.push_back("b.jpg");
    args.insert(args.end(), {"--models", "/nonexistent"});
    RunResult r = RunCli(args);
    ExpectOneErrorLine(r, 2, "make models");
    EXPECT_TRUE(Contains(r.err, "/nonexistent/fr_")) << "the message must name the model file: " << r.err;
    EXPECT_TRUE(Contains(r.err, ".onnx")) << r.err;
  }
}

// ------------------------------------------- help, version and usage mistakes (fast)

// Every command and verb the issue names (#15); `lineup --help` may list more.
const std::vector<std::vector<std::string>> kEveryCommand = {
    {"detect"},          {"verify"},         {"embed"},           {"eval", "pairs"},    {"eval", "ident"},
    {"calibrate"},       {"init"},           {"source", "add"},   {"source", "list"},   {"source", "expire"},
    {"enroll"},          {"search"},         {"info"},            {"erase"},            {"compact"},
    {"optout"},          {"serve"},          {"user", "add"},     {"user", "list"},     {"user", "disable"},
    {"user", "enable"},  {"user", "role"},   {"user", "password"}, {"user", "grant"},   {"user", "token"},
    {"user", "tokens"},  {"user", "revoke"}, {"audit", "verify"}, {"audit", "head"},    {"audit", "export"},
    {"audit", "stats"},  {"bench", "scale"}, {"bench", "open"},   {"bench", "load"},    {"bench", "spectra"},
    {"version"},         {"persons", "list"}, {"persons", "show"}, {"persons", "name"}, {"persons", "merge"},
    {"persons", "split"}, {"persons", "mark"}, {"persons", "undo"}, {"persons", "history"}, {"persons", "recluster"},
    {"persons", "pending"}, {"case", "export"},  {"key", "show"},    {"evidence", "verify"},
    {"node", "serve"},   {"cluster", "enroll"}, {"cluster", "search"}};

std::string Joined(const std::vector<std::string>& words) {
  std::string s;
  for (const auto& w : words) s.append(s.empty() ? "" : " ").append(w);
  return s;
}

// A usage mistake: exit 2, one "lineup: " line on stderr containing `part`, nothing on
// stdout, and nothing like the whole usage text.
void ExpectMisuse(const std::vector<std::string>& args, const std::string& part) {
  SCOPED_TRACE("lineup " + Joined(args));
  RunResult r = RunCli(args);
  ExpectOneErrorLine(r, 2, part);
  EXPECT_TRUE(r.out.empty()) << Describe(r);
  EXPECT_LT(Lines(r.out).size() + Lines(r.err).size(), 5u) << Describe(r);
  EXPECT_FALSE(Contains(r.err, "usage:")) << Describe(r);
}

// With --json: exit `code`, stdout exactly one JSON document {"error": {"code", "message"}}
// whose message is the stderr line's.
json ExpectJsonError(const std::vector<std::string>& args, int code, const std::string& error_code) {
  SCOPED_TRACE("lineup " + Joined(args));
  RunResult r = RunCli(args);
  EXPECT_EQ(r.signal, 0) << Describe(r);
  EXPECT_EQ(r.exit_code, code) << Describe(r);
  json j = ParseJson(r);
  if (!j.is_object() || !j.contains("error") || !j["error"].is_object()) {
    ADD_FAILURE() << "no {\"error\": {...}} in " << Describe(r);
    return j;
  }
  EXPECT_EQ(j["error"].value("code", ""), error_code) << j.dump();
  const std::string message = j["error"].value("message", "");
  EXPECT_FALSE(message.empty()) << j.dump();
  EXPECT_EQ(r.err, "lineup: " + message + "\n") << "the same one line on stderr";
  return j;
}

// The words of a command line, with "double quoted" arguments kept whole.
std::vector<std::string> Words(const std::string& line) {
  std::vector<std::string> words;
  std::string w;
  bool quoted = false, any = false;
  for (char c : line) {
    if (c == '"') { quoted = !quoted; any = true; continue; }
    if (c == ' ' && !quoted) {
      if (any) words.push_back(w);
      w.clear();
      any = false;
      continue;
    }
    w += c;
    any = true;
  }
  if (any) words.push_back(w);
  return words;
}

class CliUsage : public ::testing::Test {
 protected:
  TempDir tmp_;
};

TEST_F(CliUsage, HelpForEveryCommandAndVerb) {
  for (const auto& words : kEveryCommand) {
    std::vector<std::string> args = words;
    args.push_back("--help");
    SCOPED_TRACE("lineup " + Joined(args));
    RunResult r = RunCli(args);
    ASSERT_EQ(r.signal, 0) << Describe(r);
    EXPECT_EQ(r.exit_code, 0) << Describe(r);
    EXPECT_TRUE(r.err.empty()) << Describe(r);
    EXPECT_EQ(r.out.rfind("usage: lineup " + Joined(words), 0), 0u) << Describe(r);
    EXPECT_TRUE(Contains(r.out, "\nexample")) << Describe(r);
    EXPECT_TRUE(Contains(r.out, "\n  lineup " + Joined(words))) << "an example of this command: " << Describe(r);
  }
}

TEST_F(CliUsage, HelpCommandIsTheSameHelp) {
  for (const std::vector<std::string>& words :
       std::vector<std::vector<std::string>>{{"search"}, {"source"}, {"source", "add"}, {"bench", "load"}}) {
    SCOPED_TRACE(Joined(words));
    std::vector<std::string> help = words, flag = words;
    help.insert(help.begin(), "help");
    flag.push_back("--help");
    RunResult a = RunCli(help), b = RunCli(flag);
    EXPECT_EQ(a.exit_code, 0) << Describe(a);
    EXPECT_EQ(a.out, b.out);
    EXPECT_FALSE(a.out.empty());
  }
}

TEST_F(CliUsage, HelpOfACommandWithVerbsListsThem) {
  for (const auto& [command, verbs] : std::vector<std::pair<std::string, std::vector<std::string>>>{
           {"source", {"add", "list", "expire"}},
           {"eval", {"pairs", "ident"}},
           {"audit", {"verify", "head", "export", "stats"}},
           {"bench", {"scale", "open", "load"}},
           {"user", {"add", "list", "disable", "token", "revoke"}}}) {
    SCOPED_TRACE(command);
    RunResult r = RunCli({command, "--help"});
    EXPECT_EQ(r.exit_code, 0) << Describe(r);
    EXPECT_TRUE(r.err.empty()) << Describe(r);
    EXPECT_TRUE(Contains(r.out, "usage: lineup " + command + " ")) << Describe(r);
    for (const auto& v : verbs) EXPECT_TRUE(Contains(r.out, "\n  " + v + " ")) << v << ": " << Describe(r);
  }
}

TEST_F(CliUsage, HelpDoesNothingElse) {
  // Neither a gallery is made or opened nor a model loaded.
  const std::string dir = tmp_.File("gallery");
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"init", dir, "--help"},
           {"enroll", "x.jpg", "--source", "s", "--gallery", dir, "-h"},
           {"search", "x.jpg", "--gallery", dir, "--help"},
           {"detect", "x.jpg", "--models", "/nonexistent", "--help"},
           {"source", "add", "s", "--gallery", dir, "--help"},
           {"user", "add", "alice", "--role", "admin", "--gallery", dir, "--help"}}) {
    SCOPED_TRACE(Joined(args));
    RunResult r = RunCli(args);
    EXPECT_EQ(r.exit_code, 0) << Describe(r);
    EXPECT_TRUE(r.err.empty()) << Describe(r);
    EXPECT_TRUE(Contains(r.out, "usage: lineup " + args[0])) << Describe(r);
  }
  EXPECT_FALSE(std::filesystem::exists(dir));
}

TEST_F(CliUsage, ExamplesUseOnlyDeclaredOptions) {
  // The help's own JSON lists each command's options; its examples must not use others.
  RunResult top = RunCli({"--help", "--json"});
  ASSERT_EQ(top.exit_code, 0) << Describe(top);
  json listed = ParseJson(top);
  std::set<std::string> names;
  for (const auto& section : listed["sections"])
    for (const auto& c : section["commands"]) names.insert(c["name"].get<std::string>());
  for (const auto& words : kEveryCommand) EXPECT_TRUE(names.count(words[0])) << words[0] << " not in lineup --help";
  int examples = 0;
  for (const auto& name : names) {
    RunResult r = RunCli({name, "--help", "--json"});
    ASSERT_EQ(r.exit_code, 0) << Describe(r);
    json help = ParseJson(r);
    std::vector<json> forms{help};
    for (const auto& v : help.value("commands", json::array())) forms.push_back(v);
    for (const auto& v : help.value("variants", json::array())) forms.push_back(v);
    for (const json& form : forms) {
      std::set<std::string> options;
      for (const char* list : {"options", "analysis_options"})
        for (const auto& o : form.value(list, json::array())) options.insert(o["name"].get<std::string>());
      const std::string command = form["command"].get<std::string>();
      for (const auto& e : form["examples"]) {
        const std::string example = e.get<std::string>();
        SCOPED_TRACE(example);
        ++examples;
        EXPECT_EQ(example.rfind("lineup " + command, 0), 0u);
        for (const std::string& w : Words(example)) {
          if (w.rfind("--", 0) != 0) continue;
          EXPECT_TRUE(options.count(w.substr(0, w.find('=')))) << w << " is not an option";
        }
      }
    }
  }
  EXPECT_GE(examples, static_cast<int>(kEveryCommand.size()));
}

TEST_F(CliUsage, TopLevelHelpListsCommandsAndPointsToTheirHelp) {
  RunResult r = RunCli({"--help"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_TRUE(r.err.empty()) << Describe(r);
  EXPECT_TRUE(Contains(r.out, "lineup COMMAND --help")) << r.out;
  EXPECT_TRUE(Contains(r.out, "lineup --version")) << r.out;
  for (const char* c : {"detect", "verify", "search", "enroll", "source", "user", "audit", "bench"})
    EXPECT_TRUE(Contains(r.out, std::string("\n  ") + c + " ")) << c;
  // The summary shown is the command's own.
  RunResult detect = RunCli({"detect", "--help"});
  auto lines = Lines(detect.out);
  ASSERT_GE(lines.size(), 3u);
  EXPECT_TRUE(Contains(r.out, lines[2])) << "detect's summary \"" << lines[2] << "\" not in lineup --help";
  EXPECT_EQ(RunCli({"help"}).out, r.out);
  EXPECT_EQ(RunCli({"-h"}).out, r.out);
}

TEST_F(CliUsage, VersionText) {
  for (const char* how : {"--version", "version"}) {
    RunResult r = RunCli({how});
    ASSERT_EQ(r.exit_code, 0) << Describe(r);
    EXPECT_TRUE(r.err.empty()) << Describe(r);
    EXPECT_EQ(r.out.rfind("lineup 0.", 0), 0u) << r.out;
    auto embedder = lineup::Embedder::Create(lineup::Embedder::DefaultSpec(), lineup::DefaultModelDir());
    ASSERT_TRUE(embedder.ok()) << embedder.status().ToString();
    EXPECT_TRUE(Contains(r.out, (*embedder)->Model().Id())) << r.out;
    // Each file with the start of its pinned sum, as scripts/models.sha256 has them.
    const Bytes pin_bytes = lineup_test::ReadBytes(std::string(LINEUP_TEST_SOURCE_DIR) + "/scripts/models.sha256");
    const std::string pins(pin_bytes.begin(), pin_bytes.end());
    for (const std::string file : {"fr_detect.onnx", "fr_landmark.onnx"}) {
      const size_t at = pins.find("  " + file);
      ASSERT_NE(at, std::string::npos) << file;
      const std::string sum = pins.substr(pins.rfind('\n', at) + 1, 12);
      EXPECT_TRUE(Contains(r.out, file + ", SHA-256 " + sum)) << r.out;
    }
    EXPECT_TRUE(Contains(r.out, lineup::Calibration::PathFor((*embedder)->Model()))) << r.out;
  }
}

TEST_F(CliUsage, VersionJson) {
  RunResult r = RunCli({"--version", "--json"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_TRUE(r.err.empty()) << Describe(r);
  json j = ParseJson(r);
  ASSERT_TRUE(j.is_object()) << r.out;
  const std::string version = j.value("version", "");
  EXPECT_EQ(std::count(version.begin(), version.end(), '.'), 2) << version;
  EXPECT_TRUE(j["git"].is_string()) << j.dump();
  EXPECT_EQ(j["embedder"]["spec"], lineup::Embedder::DefaultSpec());
  EXPECT_TRUE(j["embedder"]["model_id"].get<std::string>().starts_with("fr_feature@")) << j.dump();
  EXPECT_EQ(j["detector"]["file"], "fr_detect.onnx");
  EXPECT_EQ(j["detector"]["state"], "ok");
  EXPECT_EQ(j["detector"]["sha256_pinned"].get<std::string>().size(), 64u);
  EXPECT_EQ(j["landmarks"]["file"], "fr_landmark.onnx");
  EXPECT_TRUE(j["calibration"]["present"].get<bool>()) << j.dump();
  EXPECT_TRUE(j["missing"].empty()) << j.dump();
}

TEST_F(CliUsage, VersionWithoutModelsSaysWhatIsMissing) {
  RunResult r = RunCli({"--version", "--models", tmp_.path()});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_TRUE(Contains(r.out, "fr_detect.onnx, SHA-256")) << r.out;
  EXPECT_TRUE(Contains(r.out, "(missing)")) << r.out;
  EXPECT_TRUE(Contains(r.out, "missing model files: fr_detect.onnx")) << r.out;
  EXPECT_TRUE(Contains(r.out, "make models")) << r.out;
  json j = ParseJson(RunCli({"version", "--models", tmp_.path(), "--json"}));
  EXPECT_FALSE(j["embedder"].contains("model_id")) << j.dump();
  EXPECT_TRUE(Contains(j["embedder"].value("error", ""), "fr_feature.onnx")) << j.dump();
  EXPECT_TRUE(j["calibration"].is_null()) << j.dump();
  EXPECT_EQ(j["missing"].size(), 5u) << j.dump();
}

TEST_F(CliUsage, MistakesSayWhatIsWrongInOneLine) {
  ExpectMisuse({"enroll", "photos", "--gallery", tmp_.path()}, "enroll needs --source NAME (lineup enroll --help");
  ExpectMisuse({"enroll", "--source", "s"}, "enroll needs at least one PATH");
  ExpectMisuse({"enroll", "p", "--source", "s", "--subject", "a", "--subject-from-dir"},
               "--subject and --subject-from-dir cannot be combined");
  ExpectMisuse({"search", "a.jpg", "b.jpg", "c.jpg"}, "search takes one probe photo, got 3");
  ExpectMisuse({"search", "a.jpg", "--frm", "1e-4"}, "unknown option --frm for search (did you mean --fmr?)");
  ExpectMisuse({"serch", "a.jpg"}, "unknown command \"serch\" (did you mean search?)");
  ExpectMisuse({"frobnicate"}, "unknown command \"frobnicate\" (lineup --help lists the commands)");
  ExpectMisuse({}, "no command given");
  ExpectMisuse({"verify", "only_one.jpg"}, "verify takes two photos, got 1");
  ExpectMisuse({"embed", "a.jpg"}, "embed needs --out FILE");
  ExpectMisuse({"eval"}, "eval needs a command: pairs, ident");
  ExpectMisuse({"source", "ad", "x"}, "unknown source command \"ad\" (did you mean add?)");
  ExpectMisuse({"user", "add", "alice"}, "user add needs --role ROLE");
  ExpectMisuse({"erase", "--subject", "a", "--image", "b"}, "erase takes only one of");
  ExpectMisuse({"bench", "scale"}, "bench scale needs --faces N");
  ExpectMisuse({"detect", "a.jpg", "--json=yes"}, "--json takes no value");
  ExpectMisuse({"help", "serch"}, "(did you mean search?)");
}

TEST_F(CliUsage, JsonErrorsForMistakes) {
  json unknown = ExpectJsonError({"search", "a.jpg", "--frm", "3", "--json"}, 2, "invalid_argument");
  EXPECT_TRUE(Contains(unknown["error"]["message"].get<std::string>(), "--frm")) << unknown.dump();
  // --json given before the mistake or after it, the error is JSON.
  ExpectJsonError({"verify", "--json", "a.jpg"}, 2, "invalid_argument");
  json number = ExpectJsonError({"verify", "a.jpg", "b.jpg", "--fmr", "often", "--json"}, 2, "invalid_argument");
  EXPECT_TRUE(Contains(number["error"]["message"].get<std::string>(), "--fmr needs a number")) << number.dump();
  ExpectJsonError({"serch", "--json"}, 2, "invalid_argument");
  ExpectJsonError({"source", "frobble", "--json"}, 2, "invalid_argument");
  json missing = ExpectJsonError({"embed", tmp_.File("gone.jpg"), "--out", tmp_.File("v.luvec"), "--json"}, 2,
                                 "not_found");
  EXPECT_TRUE(Contains(missing["error"]["message"].get<std::string>(), "gone.jpg")) << missing.dump();
  json no_gallery = ExpectJsonError({"info", "--gallery", tmp_.File("none"), "--json"}, 2, "not_found");
  // Where --json names an output file (bench), it does not ask for JSON errors.
  RunResult bench = RunCli({"bench", "scale", "--json", tmp_.File("out.json")});
  EXPECT_EQ(bench.exit_code, 2) << Describe(bench);
  EXPECT_TRUE(bench.out.empty()) << Describe(bench);
}

TEST_F(CliUsage, HelpAsJson) {
  RunResult r = RunCli({"source", "add", "--help", "--json"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  json j = ParseJson(r);
  EXPECT_EQ(j["command"], "source add");
  bool legal_basis = false;
  for (const auto& o : j["options"]) legal_basis |= o["name"] == "--legal-basis" && o["value"] == "TEXT";
  EXPECT_TRUE(legal_basis) << j.dump();
  EXPECT_FALSE(j["examples"].empty());
}

// The persons commands check their command line before opening any gallery: ids are
// positive whole numbers, every change names a case and a justification.
TEST_F(CliUsage, PersonsMistakesAreNamedInOneLine) {
  ExpectMisuse({"persons", "show", "abc"}, "a person id is a positive whole number, not \"abc\"");
  ExpectMisuse({"persons", "show", "-1"}, "-1");
  ExpectMisuse({"persons", "show", "0"}, "positive whole number");
  ExpectMisuse({"persons", "show", "12x"}, "positive whole number");
  ExpectMisuse({"persons", "show", "99999999999999999999999"}, "positive whole number");
  ExpectMisuse({"persons", "show"}, "persons show takes one person ID");
  ExpectMisuse({"persons", "merge", "1"}, "persons merge takes two person IDs");
  ExpectMisuse({"persons", "list", "7"}, "list takes no arguments");
  ExpectMisuse({"persons", "pending", "7"}, "pending takes no arguments");
  ExpectMisuse({"persons", "name", "1", "Jane"}, "name needs --case ID");
  ExpectMisuse({"persons", "name", "1", "Jane", "--case", "1"}, "name needs --justification");
  ExpectMisuse({"persons", "merge", "1", "2", "--case", "1", "--justification", ""}, "--justification");
  ExpectMisuse({"persons", "mark", "5", "--case", "1", "--justification", "x"}, "mark needs --not ID");
  ExpectMisuse({"persons", "mark", "5", "--not", "x", "--case", "1", "--justification", "x"}, "--not is a positive");
  ExpectMisuse({"persons", "undo", "1.5", "--case", "1", "--justification", "x"}, "a change number");
  ExpectMisuse({"persons", "split", "3", "4", "nine", "--case", "1", "--justification", "x"}, "a face id");
  ExpectMisuse({"persons", "recluster"}, "recluster needs --justification");
  std::vector<std::string> huge = {"persons", "split", "3"};
  for (int i = 0; i < 1001; ++i) huge.push_back(std::to_string(i + 1));
  ExpectMisuse(huge, "at most 1000 faces");
  ExpectOneErrorLine(RunCli({"persons", "lst"}), 2, "list");
  ExpectJsonError({"persons", "show", "x", "--json"}, 2, "invalid_argument");
  ExpectJsonError({"persons", "list", "--limit", "0", "--json"}, 2, "invalid_argument");
  ExpectJsonError({"persons", "pending", "--limit", "2001", "--json"}, 2, "invalid_argument");
  ExpectJsonError({"persons", "pending", "--offset", "-1", "--json"}, 2, "invalid_argument");
  ExpectJsonError({"persons", "list", "--gallery", tmp_.File("nowhere"), "--json"}, 2, "not_found");
}

// The network commands check their command line before opening any gallery: ids are
// positive whole numbers, --top is bounded, an export names one writable file.
TEST_F(CliUsage, NetworkMistakesAreNamedInOneLine) {
  ExpectMisuse({"network", "associates", "abc"}, "a person id is a positive whole number, not \"abc\"");
  ExpectMisuse({"network", "associates", "-3"}, "-3");
  ExpectMisuse({"network", "associates", "0"}, "positive whole number");
  ExpectMisuse({"network", "associates", "99999999999999999999999"}, "positive whole number");
  ExpectMisuse({"network", "associates"}, "network associates takes one PERSON id");
  ExpectMisuse({"network", "path", "1"}, "network path takes two person ids");
  ExpectMisuse({"network", "path", "1", "2", "3"}, "network path takes two person ids");
  ExpectMisuse({"network", "brokers", "7"}, "brokers takes no arguments");
  ExpectMisuse({"network", "export"}, "export needs one of --graphml FILE or --json FILE");
  ExpectMisuse({"network", "export", "--graphml", "a", "--json", "b"}, "export needs one of");
  ExpectJsonError({"network", "associates", "1", "--top", "1000000", "--json"}, 2, "invalid_argument");
  ExpectJsonError({"network", "brokers", "--top", "0", "--json"}, 2, "invalid_argument");
  ExpectJsonError({"network", "brokers", "--top", "1e99", "--json"}, 2, "invalid_argument");
  ExpectJsonError({"network", "associates", "x", "--json"}, 2, "invalid_argument");
  ExpectJsonError({"network", "communities", "--gallery", tmp_.File("nowhere"), "--json"}, 2, "not_found");
  ExpectOneErrorLine(RunCli({"network", "brokrs"}), 2, "brokers");
  // Bad export paths are refused before the network is asked (and so before any record).
  ExpectOneErrorLine(RunCli({"network", "export", "--graphml", tmp_.path()}), 2, "is a directory");
  ExpectOneErrorLine(RunCli({"network", "export", "--graphml", tmp_.File("no/such/dir/n.graphml")}), 2,
                     "no directory");
  ExpectOneErrorLine(RunCli({"network", "export", "--json", "/dev/null"}), 2, "not a regular file");
  ExpectOneErrorLine(RunCli({"network", "export", "--graphml", ""}), 2, "file name");
}

// ------------------------------------------------------ real photos (slower)

class Cli : public ::testing::Test {
 protected:
  void SetUp() override { LINEUP_REQUIRE_DATA(data_, ""); }
  std::string data_;
  TempDir tmp_;
};

TEST_F(Cli, DogsPhotoHasNoFaceAndSaysWhatItSetAside) {
  // dogs.jpg has no human face; the detector's best guesses (two dog faces at 0.79 and
  // 0.71) stay under the confidence every photo with a person reaches.
  RunResult r = RunCli({"detect", data_ + "/detection/dogs.jpg"});
  ASSERT_EQ(r.signal, 0) << Describe(r);
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_TRUE(r.err.empty()) << Describe(r);
  EXPECT_TRUE(Contains(r.out, "no face found")) << r.out;
  EXPECT_TRUE(Contains(r.out, "set aside")) << r.out;
  RunResult j = RunCli({"detect", data_ + "/detection/dogs.jpg", "--json"});
  EXPECT_EQ(j.exit_code, 1) << Describe(j);
  json doc = ParseJson(j);
  const json& photo = doc["photos"][0];
  EXPECT_TRUE(photo["faces"].empty()) << photo.dump();
  ASSERT_TRUE(photo.contains("set_aside")) << photo.dump();
  EXPECT_EQ(photo["set_aside"].size(), 2u) << photo.dump();
  for (const auto& f : photo["set_aside"]) EXPECT_LT(f["confidence"].get<double>(), 0.8) << photo.dump();
  // Asked to keep every detection, the two boxes come back as (uncertain) faces.
  RunResult all = RunCli({"detect", data_ + "/detection/dogs.jpg", "--json", "--min-photo-confidence", "0"});
  EXPECT_EQ(all.exit_code, 0) << Describe(all);
  json kept = ParseJson(all);
  ASSERT_EQ(kept["photos"][0]["faces"].size(), 2u) << kept.dump();
  for (const auto& f : kept["photos"][0]["faces"])
    EXPECT_NE(f["quality_reasons"].dump().find("uncertain detection"), std::string::npos) << f.dump();
  ExpectOneErrorLine(RunCli({"detect", data_ + "/detection/dogs.jpg", "--min-photo-confidence", "2"}), 2,
                     "--min-photo-confidence");
  // Verify says the same, with exit code 1.
  RunResult v = RunCli({"verify", data_ + "/detection/dogs.jpg", LfwPhoto(data_, "Aaron_Peirsol", 1)});
  ExpectOneErrorLine(v, 1, "set aside");
}

TEST_F(Cli, JsonErrorsForPhotos) {
  const std::string dogs = data_ + "/detection/dogs.jpg", face = LfwPhoto(data_, "Aaron_Peirsol", 1);
  json no_face = ExpectJsonError({"verify", face, dogs, "--json"}, 1, "no_face");
  EXPECT_TRUE(Contains(no_face["error"]["message"].get<std::string>(), "dogs.jpg: no face found")) << no_face.dump();
  json missing = ExpectJsonError({"verify", face, tmp_.File("gone.jpg"), "--json"}, 2, "not_found");
  EXPECT_TRUE(Contains(missing["error"]["message"].get<std::string>(), "gone.jpg")) << missing.dump();
  // detect keeps its list of photos, each with its faces (none here) or its error.
  RunResult detect = RunCli({"detect", dogs, "--json"});
  EXPECT_EQ(detect.exit_code, 1) << Describe(detect);
  EXPECT_TRUE(ParseJson(detect)["photos"][0]["faces"].empty());
  // A search of a gallery with a photo without a face, and an opt-out of one.
  const std::string g = tmp_.File("gallery");
  ASSERT_EQ(RunCli({"init", g}).exit_code, 0);
  ExpectJsonError({"search", dogs, "--gallery", g, "--json"}, 1, "no_face");
  ExpectJsonError({"optout", dogs, "--gallery", g, "--json"}, 1, "no_face");
}

void ExpectFaceJson(const json& f) {
  ASSERT_TRUE(f.contains("box")) << f.dump();
  ASSERT_TRUE(f["box"].is_array());
  ASSERT_EQ(f["box"].size(), 4u);
  for (const auto& v : f["box"]) EXPECT_TRUE(v.is_number()) << f["box"].dump();
  EXPECT_GT(f["box"][2].get<double>(), 0);
  EXPECT_GT(f["box"][3].get<double>(), 0);
  ASSERT_TRUE(f.contains("landmarks"));
  ASSERT_EQ(f["landmarks"].size(), 5u) << f["landmarks"].dump();
  for (const auto& p : f["landmarks"]) {
    ASSERT_TRUE(p.is_array());
    ASSERT_EQ(p.size(), 2u);
    EXPECT_TRUE(p[0].is_number() && p[1].is_number()) << p.dump();
  }
  ASSERT_TRUE(f.contains("quality"));
  ASSERT_TRUE(f["quality"].is_number());
  EXPECT_GE(f["quality"].get<double>(), 0.0);
  EXPECT_LE(f["quality"].get<double>(), 1.0);
  ASSERT_TRUE(f.contains("quality_reasons"));
  ASSERT_TRUE(f["quality_reasons"].is_array());
  for (const auto& s : f["quality_reasons"]) EXPECT_TRUE(s.is_string());
  ASSERT_TRUE(f.contains("confidence"));
  EXPECT_GT(f["confidence"].get<double>(), 0.5);
  EXPECT_LE(f["confidence"].get<double>(), 1.0);
}

TEST_F(Cli, DetectRealPhotoJson) {
  std::string p = LfwPhoto(data_, "Aaron_Peirsol", 1);
  RunResult r = RunCli({"detect", p, "--json"});
  ASSERT_EQ(r.signal, 0) << Describe(r);
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_TRUE(r.err.empty()) << Describe(r);
  json j = ParseJson(r);
  ASSERT_TRUE(j.contains("photos"));
  ASSERT_EQ(j["photos"].size(), 1u);
  const json& photo = j["photos"][0];
  EXPECT_EQ(photo["path"], p);
  EXPECT_FALSE(photo.contains("error")) << photo.dump();
  EXPECT_EQ(photo["width"], 250);
  EXPECT_EQ(photo["height"], 250);
  EXPECT_EQ(photo["format"], "jpeg");
  ASSERT_TRUE(photo.contains("faces"));
  ASSERT_EQ(photo["faces"].size(), 1u) << photo.dump();
  ExpectFaceJson(photo["faces"][0]);
  // The box is around the centre of the 250x250 LFW photo.
  const json& box = photo["faces"][0]["box"];
  double cx = box[0].get<double>() + box[2].get<double>() / 2, cy = box[1].get<double>() + box[3].get<double>() / 2;
  EXPECT_NEAR(cx, 125, 25);
  EXPECT_NEAR(cy, 125, 30);
}

TEST_F(Cli, DetectBatchWithAMissingFileInJsonMode) {
  std::string good = LfwPhoto(data_, "Colin_Powell", 1), missing = tmp_.File("missing.jpg");
  RunResult r = RunCli({"detect", good, missing, data_ + "/deepface/couple.jpg", "--json"});
  ASSERT_EQ(r.signal, 0) << Describe(r);
  EXPECT_EQ(r.exit_code, 2) << Describe(r);
  json j = ParseJson(r);
  ASSERT_EQ(j["photos"].size(), 3u);
  EXPECT_FALSE(j["photos"][0].contains("error"));
  ASSERT_EQ(j["photos"][0]["faces"].size(), 1u);
  ASSERT_TRUE(j["photos"][1].contains("error"));
  EXPECT_TRUE(Contains(j["photos"][1]["error"].get<std::string>(), "missing.jpg"));
  EXPECT_GE(j["photos"][2]["faces"].size(), 2u);
  for (const auto& f : j["photos"][2]["faces"]) ExpectFaceJson(f);
}

TEST_F(Cli, DetectDrawWritesAnAnnotatedPicture) {
  std::string out = tmp_.File("drawn.png");
  RunResult r = RunCli({"detect", data_ + "/deepface/couple.jpg", "--draw", out});
  ASSERT_EQ(r.signal, 0) << Describe(r);
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  cv::Mat drawn = cv::imread(out, cv::IMREAD_COLOR), photo = cv::imread(data_ + "/deepface/couple.jpg", cv::IMREAD_COLOR);
  ASSERT_FALSE(drawn.empty()) << "no picture at " << out;
  EXPECT_EQ(drawn.size(), photo.size());
  EXPECT_GT(cv::norm(drawn, photo, cv::NORM_L1), 0) << "nothing was drawn";
}

TEST_F(Cli, VerifySamePersonExits0) {
  RunResult r = RunCli({"verify", LfwPhoto(data_, "Aaron_Peirsol", 1), LfwPhoto(data_, "Aaron_Peirsol", 2)});
  ASSERT_EQ(r.signal, 0) << Describe(r);
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_TRUE(Contains(r.out, "SAME PERSON")) << Describe(r);
}

TEST_F(Cli, VerifyDifferentPeopleExits1) {
  RunResult r = RunCli({"verify", LfwPhoto(data_, "Serena_Williams", 1), LfwPhoto(data_, "George_W_Bush", 1)});
  ASSERT_EQ(r.signal, 0) << Describe(r);
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_TRUE(Contains(r.out, "NOT THE SAME PERSON")) << Describe(r);
}

TEST_F(Cli, VerifyJson) {
  RunResult r = RunCli({"verify", LfwPhoto(data_, "Aaron_Peirsol", 1), LfwPhoto(data_, "Aaron_Peirsol", 2), "--json",
                        "--fmr", "1e-4"});
  ASSERT_EQ(r.signal, 0) << Describe(r);
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  json j = ParseJson(r);
  for (const char* k : {"similarity", "threshold", "fmr", "same_person", "estimated_fmr_at_similarity", "model", "a", "b"})
    EXPECT_TRUE(j.contains(k)) << "no \"" << k << "\" in " << j.dump();
  EXPECT_TRUE(j["same_person"].get<bool>());
  EXPECT_DOUBLE_EQ(j["fmr"].get<double>(), 1e-4);
  EXPECT_GE(j["similarity"].get<double>(), j["threshold"].get<double>());
  EXPECT_LE(j["similarity"].get<double>(), 1.0 + 1e-5);
  EXPECT_LE(j["estimated_fmr_at_similarity"].get<double>(), 1e-4 * 1.0001);
  ExpectFaceJson(j["a"]);
  ExpectFaceJson(j["b"]);
}

TEST_F(Cli, VerifyPhotoWithoutAFaceExits1) {
  std::string blank = tmp_.File("blank.png");
  ASSERT_TRUE(cv::imwrite(blank, cv::Mat(200, 200, CV_8UC3, cv::Scalar::all(128))));
  RunResult r = RunCli({"verify", LfwPhoto(data_, "Aaron_Peirsol", 1), blank});
  ExpectOneErrorLine(r, 1, "no face");
}

TEST_F(Cli, EmbedTwoPhotosWritesAVectorFile) {
  std::string out = tmp_.File("two.luvec");
  std::string a = LfwPhoto(data_, "Aaron_Peirsol", 1), b = LfwPhoto(data_, "Colin_Powell", 1);
  RunResult r = RunCli({"embed", a, b, "--out", out});
  ASSERT_EQ(r.signal, 0) << Describe(r);
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  auto f = lineup::VectorFile::Read(out);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  auto analyzer = lineup::FaceAnalyzer::Create(lineup::AnalyzerOptions{});
  ASSERT_TRUE(analyzer.ok());
  EXPECT_EQ(f->model_id, (*analyzer)->Model().Id());
  EXPECT_EQ(f->dim, 512);
  ASSERT_EQ(f->records.size(), 2u);
  EXPECT_EQ(f->records[0].photo, a);
  EXPECT_EQ(f->records[1].photo, b);
  float dot = 0;
  for (const auto& rec : f->records) {
    EXPECT_EQ(rec.face, 1);
    ASSERT_EQ(rec.vector.size(), 512u);
    float n = 0;
    for (float v : rec.vector) n += v * v;
    // Unit vectors times the face's weight (embedder.h).
    EXPECT_GE(std::sqrt(n), 0.8f - 1e-4f);
    EXPECT_LE(std::sqrt(n), 1.25f + 1e-4f);
  }
  for (size_t k = 0; k < 512; ++k) dot += f->records[0].vector[k] * f->records[1].vector[k];
  EXPECT_LT(dot, 0.4f) << "two different people";
}

TEST_F(Cli, EmbedAllFacesOfAGroupPhoto) {
  std::string out = tmp_.File("group.luvec");
  RunResult r = RunCli({"embed", data_ + "/deepface/couple.jpg", "--out", out, "--all-faces", "--json"});
  ASSERT_EQ(r.signal, 0) << Describe(r);
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  json j = ParseJson(r);
  auto f = lineup::VectorFile::Read(out);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_GE(f->records.size(), 2u);
  EXPECT_EQ(j["vectors"].get<size_t>(), f->records.size());
  for (size_t i = 0; i < f->records.size(); ++i) EXPECT_EQ(f->records[i].face, static_cast<int>(i) + 1);
}

TEST_F(Cli, EmbedADirectoryTakesEveryPhotoInItRecursively) {
  const std::string dir = tmp_.File("photos"), out = tmp_.File("dir.luvec");
  std::filesystem::create_directories(dir + "/Colin_Powell");
  const std::string a = LfwPhoto(data_, "Aaron_Peirsol", 1), b = LfwPhoto(data_, "Colin_Powell", 1);
  std::filesystem::copy_file(a, dir + "/a.jpg");
  std::filesystem::copy_file(b, dir + "/Colin_Powell/b.jpg");
  RunResult r = RunCli({"embed", dir, "--out", out});
  ASSERT_EQ(r.signal, 0) << Describe(r);
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  auto f = lineup::VectorFile::Read(out);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_EQ(f->records.size(), 2u);
  EXPECT_EQ(f->records[0].photo, dir + "/Colin_Powell/b.jpg") << "sorted paths";
  EXPECT_EQ(f->records[1].photo, dir + "/a.jpg");
  RunResult missing = RunCli({"embed", tmp_.File("nothing-here"), "--out", out});
  ExpectOneErrorLine(missing, 2, "no such file");
}

TEST_F(Cli, EmbedWithNoFaceWritesNothingAndExits1) {
  std::string blank = tmp_.File("blank.png"), out = tmp_.File("none.luvec");
  ASSERT_TRUE(cv::imwrite(blank, cv::Mat(200, 200, CV_8UC3, cv::Scalar::all(128))));
  RunResult r = RunCli({"embed", blank, "--out", out});
  ASSERT_EQ(r.signal, 0) << Describe(r);
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_FALSE(std::filesystem::exists(out));
}

TEST_F(Cli, EvalPairsTsvJson) {
  // Ten pairs from LFW's first fold: five of one person, five of two people.
  std::string tsv = tmp_.File("pairs.tsv");
  std::string text = "path_a\tpath_b\tsame\n";
  const char* people[] = {"Aaron_Peirsol", "Colin_Powell", "Tony_Blair", "Serena_Williams", "George_W_Bush"};
  for (int i = 0; i < 5; ++i) {
    text.append(LfwPhoto(data_, people[i], 1)).append("\t").append(LfwPhoto(data_, people[i], 2)).append("\t1\n");
    text.append(LfwPhoto(data_, people[i], 1)).append("\t").append(LfwPhoto(data_, people[(i + 1) % 5], 2)).append("\t0\n");
  }
  WriteText(tsv, text);
  RunResult r = RunCli({"eval", "pairs", "--tsv", tsv, "--json", "--report", tmp_.File("report")});
  ASSERT_EQ(r.signal, 0) << Describe(r);
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  json j = ParseJson(r);
  EXPECT_EQ(j["pairs"], 10);
  EXPECT_EQ(j["genuine"], 5);
  EXPECT_EQ(j["impostor"], 5);
  EXPECT_EQ(j["failures_to_enrol"], 0);
  EXPECT_GE(j["auc"].get<double>(), 0.95);
  EXPECT_TRUE(std::filesystem::exists(tmp_.File("report/roc.png")));
  EXPECT_TRUE(std::filesystem::exists(tmp_.File("report/report.json")));
}

// --min-face is a floor everywhere a photo is analysed: no box shorter is listed,
// embedded, enrolled or searched.
TEST_F(Cli, MinFaceHoldsForEveryCommand) {
  const std::string crowd = data_ + "/groups/retinaface_img3.jpg";
  auto heights = [&](const json& faces) {
    std::vector<double> h;
    for (const auto& f : faces) h.push_back(f["box"][3].get<double>());
    return h;
  };
  RunResult d = RunCli({"detect", crowd, "--json"});
  ASSERT_EQ(d.exit_code, 0) << Describe(d);
  auto usual = heights(ParseJson(d)["photos"][0]["faces"]);
  ASSERT_FALSE(usual.empty());
  EXPECT_GE(*std::min_element(usual.begin(), usual.end()), 19.5) << "the default floor is 20";
  EXPECT_LT(*std::min_element(usual.begin(), usual.end()), 40.0);
  RunResult d40 = RunCli({"detect", crowd, "--json", "--min-face", "40"});
  ASSERT_EQ(d40.exit_code, 0) << Describe(d40);
  auto big = heights(ParseJson(d40)["photos"][0]["faces"]);
  ASSERT_FALSE(big.empty());
  EXPECT_GE(*std::min_element(big.begin(), big.end()), 39.5);
  EXPECT_LT(big.size(), usual.size());
  // embed --all-faces: one vector per face tall enough.
  const std::string out = tmp_.File("crowd.luvec");
  RunResult e = RunCli({"embed", crowd, "--all-faces", "--min-face", "40", "--out", out});
  ASSERT_EQ(e.exit_code, 0) << Describe(e);
  auto vf = lineup::VectorFile::Read(out);
  ASSERT_TRUE(vf.ok());
  EXPECT_EQ(vf->records.size(), big.size());
  for (const auto& rec : vf->records) EXPECT_GE(rec.box.height, 39.5f);
  // enroll: with a floor taller than every face in the photo, nothing is enrolled; a
  // search probe likewise has no face.
  const std::string g = tmp_.File("g");
  ASSERT_EQ(RunCli({"init", g}).exit_code, 0);
  ASSERT_EQ(RunCli({"source", "add", "s", "--legal-basis", "test", "--gallery", g}).exit_code, 0);
  const std::string face = LfwPhoto(data_, "Colin_Powell", 1);
  RunResult en = RunCli({"enroll", face, "--source", "s", "--gallery", g, "--min-face", "300", "--json"});
  EXPECT_EQ(en.exit_code, 0) << Describe(en);
  EXPECT_EQ(ParseJson(en)["faces"], 0) << en.out;
  RunResult s = RunCli({"search", face, "--gallery", g, "--min-face", "300", "--json"});
  EXPECT_EQ(s.exit_code, 1) << Describe(s);
  EXPECT_EQ(ParseJson(s)["error"]["code"], "no_face") << s.out;
}

// A face too blurred and small to compare (quality under 0.01) is never called "not the
// same person": every output says it cannot be decided.
TEST_F(Cli, VerifyCannotDecideOnAUselessFace) {
  cv::Mat m = cv::imread(LfwPhoto(data_, "Colin_Powell", 1)), small;
  cv::resize(m, small, cv::Size(), 0.35, 0.35, cv::INTER_AREA);
  cv::GaussianBlur(small, small, cv::Size(0, 0), 1.2);
  const std::string useless = tmp_.File("far-away.png");
  ASSERT_TRUE(cv::imwrite(useless, small));
  const std::string other = LfwPhoto(data_, "Tony_Blair", 1);
  RunResult t = RunCli({"verify", useless, other});
  EXPECT_EQ(t.exit_code, 3) << Describe(t);
  EXPECT_TRUE(Contains(t.out, "CANNOT DECIDE")) << t.out;
  EXPECT_FALSE(Contains(t.out, "NOT THE SAME PERSON")) << t.out;
  RunResult j = RunCli({"verify", useless, other, "--json"});
  EXPECT_EQ(j.exit_code, 3) << Describe(j);
  json doc = ParseJson(j);
  EXPECT_EQ(doc["decision"], "undecided");
  EXPECT_TRUE(doc["same_person"].is_null());
  EXPECT_TRUE(Contains(doc["reason"].get<std::string>(), "first face")) << doc.dump();
}

// Enrolment, search, erasure and re-enrolment as a first user meets them: faces left
// out with the reason, searches recorded (in a case when named), erasure with a reason
// and a confirmation, and an erased photo refused with the truth.
TEST_F(Cli, EnrolSearchEraseAsAFirstUser) {
  const std::string g = tmp_.File("g");
  ASSERT_EQ(RunCli({"init", g}).exit_code, 0);
  ASSERT_EQ(RunCli({"source", "add", "web", "--legal-basis", "test", "--gallery", g}).exit_code, 0);
  // deepface/img54.jpg: one face and two blurred background boxes.
  RunResult en = RunCli({"enroll", data_ + "/deepface/img54.jpg", "--source", "web", "--gallery", g});
  ASSERT_EQ(en.exit_code, 0) << Describe(en);
  EXPECT_TRUE(Contains(en.out, "2 detection(s) left out of the gallery")) << en.out;
  EXPECT_TRUE(Contains(en.out, "uncertain detection")) << en.out;
  const std::string powell = LfwPhoto(data_, "Colin_Powell", 1);
  RunResult en2 = RunCli({"enroll", powell, "--source", "web", "--subject", "Colin Powell", "--gallery", g, "--json"});
  ASSERT_EQ(en2.exit_code, 0) << Describe(en2);
  EXPECT_EQ(ParseJson(en2)["faces"], 1);
  // A search in a case, with a justification: recorded there and in the audit log.
  RunResult c = RunCli({"case", "create", "Robbery 2026-114", "--authority", "warrant W-1", "--gallery", g, "--json"});
  ASSERT_EQ(c.exit_code, 0) << Describe(c);
  const std::string case_id = std::to_string(ParseJson(c)["id"].get<int64_t>());
  RunResult s = RunCli({"search", LfwPhoto(data_, "Colin_Powell", 2), "--gallery", g, "--case", case_id,
                        "--justification", "CCTV still", "--json"});
  ASSERT_EQ(s.exit_code, 0) << Describe(s);
  json sj = ParseJson(s);
  EXPECT_EQ(sj["decision"]["target_fpir"], 0.01);
  EXPECT_EQ(sj["decision"]["basis"], "fpir");
  ASSERT_EQ(sj["leads"], 1);
  EXPECT_EQ(sj["candidates"][0]["subject"], "Colin Powell");
  EXPECT_GT(sj["search_id"].get<int64_t>(), 0);
  RunResult show = RunCli({"case", "show", case_id, "--gallery", g, "--json"});
  ASSERT_EQ(show.exit_code, 0) << Describe(show);
  ASSERT_EQ(ParseJson(show)["searches"].size(), 1u);
  EXPECT_EQ(ParseJson(show)["searches"][0]["justification"], "CCTV still");
  EXPECT_EQ(RunCli({"search", powell, "--gallery", g, "--case", "999", "--justification", "x"}).exit_code, 2);
  RunResult audit = RunCli({"audit", "export", "--action", "search", "--gallery", g});
  EXPECT_EQ(Lines(audit.out).size(), 1u) << audit.out;
  EXPECT_TRUE(Contains(audit.out, "\"actor\":\"cli:")) << audit.out;
  EXPECT_TRUE(Contains(audit.out, "CCTV still")) << audit.out;
  // Erasure: a reason, and a confirmation (--yes without a terminal).
  ExpectOneErrorLine(RunCli({"erase", "--subject", "Colin Powell", "--gallery", g}), 2, "--reason");
  ExpectOneErrorLine(RunCli({"erase", "--subject", "Colin Powell", "--reason", "his request", "--gallery", g}), 2,
                     "--yes");
  RunResult er = RunCli({"erase", "--subject", "Colin Powell", "--reason", "his request", "--yes", "--gallery", g});
  ASSERT_EQ(er.exit_code, 0) << Describe(er);
  RunResult again = RunCli({"enroll", powell, "--source", "web", "--gallery", g});
  EXPECT_EQ(again.exit_code, 0) << Describe(again);
  EXPECT_TRUE(Contains(again.err, "erased from the gallery on")) << again.err;
  EXPECT_TRUE(Contains(again.err, "his request")) << again.err;
  EXPECT_FALSE(Contains(again.out, "1 already in the gallery")) << again.out;
  EXPECT_TRUE(Contains(again.out, "1 erased before")) << again.out;
}

// A photo that is not there is an error, never a photo without a face: with a wrong
// --root, the evaluations stop with one line instead of reporting 50% accuracy.
TEST_F(Cli, EvaluationsRefuseMissingPhotos) {
  const std::string nowhere = tmp_.File("nowhere");
  ExpectOneErrorLine(RunCli({"eval", "pairs", "--lfw-pairs", data_ + "/lfw/pairs.txt", "--root", nowhere}), 2,
                     "7701 of 7701 photos do not exist");
  ExpectOneErrorLine(RunCli({"eval", "ident", "--root", nowhere, "--identities", data_ + "/lfw/identities.tsv"}), 2,
                     "nowhere");
  ExpectOneErrorLine(RunCli({"calibrate", "--root", nowhere, "--identities", data_ + "/lfw/identities.tsv",
                             "--out", tmp_.File("c.json")}),
                     2, "nowhere");
  ExpectOneErrorLine(RunCli({"eval", "admission", "--boxes", data_ + "/detection/boxes.csv", "--root", nowhere}), 2,
                     "no such photo");
  json j = ExpectJsonError({"eval", "pairs", "--lfw-pairs", data_ + "/lfw/pairs.txt", "--root", nowhere, "--json"}, 2,
                           "not_found");
  EXPECT_TRUE(Contains(j["error"]["message"].get<std::string>(), "is the root folder right")) << j.dump();
}

// Kept vectors are read back instead of embedding again, giving the same calibration;
// a file that is not a vector file, or lacks a photo, is an error naming it.
TEST_F(Cli, CalibrateKeepsAndReusesVectors) {
  const std::string cache = tmp_.File("v.luvec");
  auto first = RunCli({"calibrate", "--root", data_ + "/lfw", "--limit", "60", "--vectors", cache, "--out", tmp_.File("a.json")});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  auto second = RunCli({"calibrate", "--root", data_ + "/lfw", "--limit", "60", "--vectors", cache, "--out", tmp_.File("b.json")});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  auto slurp = [](const std::string& p) {
    std::ifstream in(p);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  EXPECT_EQ(slurp(tmp_.File("a.json")), slurp(tmp_.File("b.json")));
  ExpectOneErrorLine(RunCli({"calibrate", "--root", data_ + "/lfw", "--limit", "80", "--vectors", cache, "--out",
                             tmp_.File("c.json")}),
                     2, "has no vector for");
  const std::string garbage = tmp_.File("g.luvec");
  std::ofstream(garbage) << "not vectors";
  ExpectOneErrorLine(RunCli({"calibrate", "--root", data_ + "/lfw", "--limit", "60", "--vectors", garbage, "--out",
                             tmp_.File("d.json")}),
                     2, "not a Lineup vector file");
}

// Persons from the command line: enrolment places faces (no rebuild needed), every read
// and change is in the audit log as cli:<user>, changes need a case and a justification,
// undo takes a change back, and erasure takes faces out of their persons.
TEST_F(Cli, PersonsFromEnrolmentToUndo) {
  const std::string g = tmp_.File("g");
  ASSERT_EQ(RunCli({"init", g}).exit_code, 0);
  ASSERT_EQ(RunCli({"source", "add", "web", "--legal-basis", "test", "--gallery", g}).exit_code, 0);
  std::vector<std::string> en = {"enroll"};
  for (const char* who : {"Colin_Powell", "Tony_Blair"})
    for (int i = 1; i <= 2; ++i) en.push_back(LfwPhoto(data_, who, i));
  for (const char* a : {"--source", "web", "--gallery"}) en.push_back(a);
  en.push_back(g);
  RunResult e = RunCli(en);
  ASSERT_EQ(e.exit_code, 0) << Describe(e);
  RunResult l = RunCli({"persons", "list", "--gallery", g, "--json"});
  ASSERT_EQ(l.exit_code, 0) << Describe(l);
  json lj = ParseJson(l);
  ASSERT_GE(lj["persons"].size(), 2u) << lj.dump();
  int64_t faces = 0;
  for (const auto& p : lj["persons"]) faces += p["faces"].get<int64_t>();
  RunResult info = RunCli({"info", "--gallery", g, "--json"});
  EXPECT_EQ(faces + lj["pending"].get<int64_t>(), ParseJson(info)["faces"].get<int64_t>()) << lj.dump();
  for (size_t i = 1; i < lj["persons"].size(); ++i)
    EXPECT_LE(lj["persons"][i - 1]["margin"].get<double>(), lj["persons"][i]["margin"].get<double>());
  // The table for people: a header with the sureness columns.
  RunResult lt = RunCli({"persons", "list", "--gallery", g});
  ASSERT_EQ(lt.exit_code, 0) << Describe(lt);
  EXPECT_TRUE(Contains(lt.out, "weakest link")) << lt.out;
  EXPECT_TRUE(Contains(lt.out, "the most doubtful (smallest margin) first")) << lt.out;
  const std::string a = std::to_string(lj["persons"][0]["id"].get<int64_t>());
  const std::string b = std::to_string(lj["persons"][1]["id"].get<int64_t>());
  RunResult show = RunCli({"persons", "show", a, "--gallery", g});
  ASSERT_EQ(show.exit_code, 0) << Describe(show);
  for (const char* col : {"face", "photo", "source", "date", "box", "quality", "placed by", "margin"})
    EXPECT_TRUE(Contains(show.out, col)) << show.out;
  ExpectOneErrorLine(RunCli({"persons", "show", "987654", "--gallery", g}), 2, "no person 987654");

  // Changes: a case is needed, and they are recorded.
  ExpectOneErrorLine(RunCli({"persons", "name", a, "Jane Roe", "--case", "5", "--justification", "why", "--gallery", g}),
                     2, "5");
  RunResult c = RunCli({"case", "create", "Network 7", "--authority", "warrant W-7", "--gallery", g, "--json"});
  ASSERT_EQ(c.exit_code, 0) << Describe(c);
  const std::string case_id = std::to_string(ParseJson(c)["id"].get<int64_t>());
  RunResult n = RunCli({"persons", "name", a, "Jane Roe", "--case", case_id, "--justification", "statement S-2",
                        "--gallery", g});
  ASSERT_EQ(n.exit_code, 0) << Describe(n);
  EXPECT_TRUE(Contains(n.out, "is now \"Jane Roe\"")) << n.out;
  RunResult m = RunCli({"persons", "merge", a, b, "--case", case_id, "--justification", "same tattoo", "--gallery", g,
                        "--json"});
  ASSERT_EQ(m.exit_code, 0) << Describe(m);
  const int64_t merge_event = ParseJson(m)["event"]["id"].get<int64_t>();
  RunResult h = RunCli({"persons", "history", "--gallery", g, "--json"});
  ASSERT_EQ(h.exit_code, 0) << Describe(h);
  ASSERT_EQ(ParseJson(h)["changes"].size(), 2u);
  EXPECT_EQ(ParseJson(h)["changes"][0]["action"], "merge");
  RunResult u = RunCli({"persons", "undo", std::to_string(merge_event), "--case", case_id, "--justification",
                        "merged in error", "--gallery", g});
  ASSERT_EQ(u.exit_code, 0) << Describe(u);
  RunResult u2 = RunCli({"persons", "undo", std::to_string(merge_event), "--case", case_id, "--justification",
                         "again", "--gallery", g});
  ExpectOneErrorLine(u2, 2, "undone already");
  for (const char* action : {"persons_list", "persons_show", "person_name", "person_merge", "person_undo"}) {
    RunResult audit = RunCli({"audit", "export", "--action", action, "--gallery", g});
    EXPECT_FALSE(Lines(audit.out).empty()) << action;
    EXPECT_TRUE(Contains(audit.out, "\"actor\":\"cli:")) << audit.out;
  }
  RunResult named = RunCli({"audit", "export", "--action", "person_name", "--gallery", g});
  EXPECT_TRUE(Contains(named.out, "statement S-2")) << named.out;
  RunResult r = RunCli({"persons", "recluster", "--justification", "after enrolment", "--gallery", g, "--json"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(ParseJson(r)["faces"].get<int64_t>(), ParseJson(info)["faces"].get<int64_t>());
  // Erasure: the source's faces leave every person at once.
  RunResult er = RunCli({"erase", "--source", "web", "--reason", "end of test", "--yes", "--gallery", g});
  ASSERT_EQ(er.exit_code, 0) << Describe(er);
  RunResult after = RunCli({"persons", "list", "--gallery", g, "--json"});
  ASSERT_EQ(after.exit_code, 0) << Describe(after);
  EXPECT_EQ(ParseJson(after)["total"], 0) << after.out;
}

// The faces waiting for a person from the command line: a photo showing one face twice
// leaves a copy waiting (two faces of one photo are two people), listed with its photo,
// source, quality and its close neighbours' vote against the share joining needs; the
// read is audited; a rebuild places it.
TEST_F(Cli, PersonsPendingShowsTheWaitingFacesAndWhy) {
  const std::string g = tmp_.File("g");
  ASSERT_EQ(RunCli({"init", g}).exit_code, 0);
  ASSERT_EQ(RunCli({"source", "add", "web", "--legal-basis", "test", "--gallery", g}).exit_code, 0);
  const std::string one_path = LfwPhoto(data_, "Colin_Powell", 1);
  RunResult e = RunCli({"enroll", one_path, "--source", "web", "--gallery", g});
  ASSERT_EQ(e.exit_code, 0) << Describe(e);
  RunResult none = RunCli({"persons", "pending", "--gallery", g});
  ASSERT_EQ(none.exit_code, 0) << Describe(none);
  EXPECT_TRUE(Contains(none.out, "no face is waiting for a person")) << none.out;
  cv::Mat one = cv::imread(one_path, cv::IMREAD_COLOR), twice;
  ASSERT_FALSE(one.empty());
  cv::hconcat(one, one, twice);
  const std::string twice_path = tmp_.File("twice.jpg");
  ASSERT_TRUE(cv::imwrite(twice_path, twice));
  RunResult e2 = RunCli({"enroll", twice_path, "--source", "web", "--gallery", g});
  ASSERT_EQ(e2.exit_code, 0) << Describe(e2);

  RunResult p = RunCli({"persons", "pending", "--gallery", g, "--json"});
  ASSERT_EQ(p.exit_code, 0) << Describe(p);
  json pj = ParseJson(p);
  ASSERT_EQ(pj["total"], 1) << pj.dump();
  ASSERT_EQ(pj["faces"].size(), 1u) << pj.dump();
  const json& f = pj["faces"][0];
  EXPECT_TRUE(Contains(f["image"].get<std::string>(), "twice.jpg")) << f.dump();
  EXPECT_EQ(f["source"], "web");
  EXPECT_EQ(f["placed_by"], "pending");
  EXPECT_GT(f["quality"].get<double>(), 0);
  const json& v = f["vote"];
  // Its copy and the photo it was made of are its close neighbours, both in one person
  // that already holds a face of this photo.
  EXPECT_EQ(v["reason"], "same photo") << v.dump();
  EXPECT_GE(v["close_neighbours"].get<int64_t>(), 2) << v.dump();
  EXPECT_EQ(v["leading_neighbours"], v["close_neighbours"]) << v.dump();
  EXPECT_GT(v["leading_person"].get<int64_t>(), 0);
  EXPECT_DOUBLE_EQ(v["leading_share"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(v["share_needed"].get<double>(), 0.75);
  const std::string face = std::to_string(f["face_id"].get<int64_t>());

  // The table for people: one row with what it has and what it needs.
  RunResult t = RunCli({"persons", "pending", "--limit", "5", "--gallery", g});
  ASSERT_EQ(t.exit_code, 0) << Describe(t);
  for (const char* col : {"face", "photo", "source", "quality", "close neighbours", "in one person", "share (needed)",
                          "why waiting", "same photo", "1.00 (0.75)", "1 of 1 waiting faces"})
    EXPECT_TRUE(Contains(t.out, col)) << col << "\n" << t.out;
  EXPECT_TRUE(Contains(t.out, "twice.jpg")) << t.out;
  // A page past the end says so; the total stays.
  RunResult past = RunCli({"persons", "pending", "--offset", "1", "--gallery", g, "--json"});
  ASSERT_EQ(past.exit_code, 0) << Describe(past);
  EXPECT_TRUE(ParseJson(past)["faces"].empty());
  EXPECT_EQ(ParseJson(past)["total"], 1);

  RunResult audit = RunCli({"audit", "export", "--action", "persons_pending", "--gallery", g});
  ASSERT_EQ(Lines(audit.out).size(), 4u) << "four reads, four records: " << audit.out;
  EXPECT_TRUE(Contains(audit.out, "faces\\\":[" + face + "]")) << "the face shown is recorded: " << audit.out;
  EXPECT_TRUE(Contains(audit.out, "\"actor\":\"cli:")) << audit.out;

  ASSERT_EQ(RunCli({"persons", "recluster", "--justification", "place the copy", "--gallery", g}).exit_code, 0);
  RunResult after = RunCli({"persons", "pending", "--gallery", g, "--json"});
  ASSERT_EQ(after.exit_code, 0) << Describe(after);
  EXPECT_EQ(ParseJson(after)["total"], 0) << after.out;
}

// The network from the command line: tables for people, JSON, the audit record of every
// query as cli:<user>, an export that parses, hostile ids and an unknown person, and a
// search that skips a source whose legal basis does not allow search.
TEST_F(Cli, NetworkQueriesFromTheCommandLine) {
  const std::string g = tmp_.File("g");
  ASSERT_EQ(RunCli({"init", g}).exit_code, 0);
  ASSERT_EQ(RunCli({"source", "add", "seized", "--legal-basis", "test", "--purposes", "network", "--gallery", g})
                .exit_code,
            0);
  ASSERT_EQ(RunCli({"source", "add", "web", "--legal-basis", "test", "--gallery", g}).exit_code, 0);
  RunResult e = RunCli({"enroll", data_ + "/groups/face_recognition_two_people.jpg",
                        data_ + "/groups/face_recognition_obama_and_biden.jpg",
                        data_ + "/groups/face_recognition_kit_with_rose.jpg", "--source", "seized", "--gallery", g});
  ASSERT_EQ(e.exit_code, 0) << Describe(e);
  RunResult w = RunCli({"enroll", data_ + "/groups/deepface_couple.jpg", "--source", "web", "--gallery", g});
  ASSERT_EQ(w.exit_code, 0) << Describe(w);
  RunResult b = RunCli({"network", "brokers", "--top", "1000", "--gallery", g, "--json"});
  ASSERT_EQ(b.exit_code, 0) << Describe(b);
  json bj = ParseJson(b);
  EXPECT_EQ(bj["report"]["faces_left_out_purpose"], 2) << "the couple's faces: web allows search only";
  // The two persons of two shared photos.
  std::string a_id, b_id;
  for (const auto& k : bj["brokers"]) {
    RunResult a = RunCli({"network", "associates", std::to_string(k["person"].get<int64_t>()), "--top", "1",
                          "--gallery", g, "--json"});
    ASSERT_EQ(a.exit_code, 0) << Describe(a);
    json aj = ParseJson(a);
    if (!aj["associates"].empty() && aj["associates"][0]["shared_photos"] == 2) {
      a_id = std::to_string(k["person"].get<int64_t>());
      b_id = std::to_string(aj["associates"][0]["person"].get<int64_t>());
    }
  }
  ASSERT_FALSE(a_id.empty()) << bj.dump();
  RunResult t = RunCli({"network", "associates", a_id, "--gallery", g});
  ASSERT_EQ(t.exit_code, 0) << Describe(t);
  for (const char* want : {"shared photos", "face_recognition_obama_and_biden.jpg", "seized", "left out",
                           "leads for review"})
    EXPECT_TRUE(Contains(t.out, want)) << want << "\n" << t.out;
  RunResult p = RunCli({"network", "path", a_id, b_id, "--gallery", g});
  ASSERT_EQ(p.exit_code, 0) << Describe(p);
  EXPECT_TRUE(Contains(p.out, "1 link(s)")) << p.out;
  RunResult c = RunCli({"network", "communities", "--algorithm", "louvain", "--gallery", g});
  ASSERT_EQ(c.exit_code, 0) << Describe(c);
  EXPECT_TRUE(Contains(c.out, "by louvain")) << c.out;
  ExpectOneErrorLine(RunCli({"network", "communities", "--algorithm", "components", "--gallery", g}), 2,
                     "unknown community algorithm");
  ExpectOneErrorLine(RunCli({"network", "associates", "987654", "--gallery", g}), 2, "no person 987654");
  const std::string out = tmp_.File("n.graphml");
  RunResult x = RunCli({"network", "export", "--graphml", out, "--gallery", g});
  ASSERT_EQ(x.exit_code, 0) << Describe(x);
  std::ifstream in(out);
  std::string xml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(Contains(xml, "<graphml")) << xml.substr(0, 200);
  for (const auto& f : std::filesystem::directory_iterator(tmp_.path()))
    EXPECT_EQ(f.path().string().find(".tmp-"), std::string::npos) << "no temporary file left: " << f.path();
  for (const char* action : {"network_brokers", "network_associates", "network_path", "network_communities",
                             "network_export"}) {
    RunResult audit = RunCli({"audit", "export", "--action", action, "--gallery", g});
    EXPECT_FALSE(Lines(audit.out).empty()) << action;
    EXPECT_TRUE(Contains(audit.out, "\"actor\":\"cli:")) << audit.out;
  }
  // With a case, a justification is kept.
  RunResult cc = RunCli({"case", "create", "Ring", "--authority", "warrant 9", "--gallery", g, "--json"});
  ASSERT_EQ(cc.exit_code, 0) << Describe(cc);
  const std::string case_id = std::to_string(ParseJson(cc)["id"].get<int64_t>());
  ASSERT_EQ(RunCli({"network", "associates", a_id, "--case", case_id, "--justification", "who is with A", "--gallery", g})
                .exit_code,
            0);
  RunResult rec = RunCli({"audit", "export", "--action", "network_associates", "--case", case_id, "--gallery", g});
  EXPECT_TRUE(Contains(rec.out, "who is with A")) << rec.out;
  // Search: the seized source allows only the network; a search says what it skipped.
  RunResult s = RunCli({"search", data_ + "/face_recognition/examples/obama.jpg", "--all", "--gallery", g, "--json"});
  ASSERT_LE(s.exit_code, 1) << Describe(s);
  json sj = ParseJson(s);
  ASSERT_FALSE(sj["candidates"].empty()) << sj.dump();
  for (const auto& cand : sj["candidates"]) EXPECT_EQ(cand.value("source", ""), "web") << cand.dump();
  EXPECT_TRUE(Contains(sj["warnings"].dump(), "were not searched")) << sj.dump();
}

}  // namespace
