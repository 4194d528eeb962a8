// Shared pieces of the `lineup` command: argument parsing, exit codes, tables,
// progress bars and the options every command that analyses photos accepts.
#pragma once

#include <chrono>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lineup/analyzer.h"
#include "lineup/status.h"

namespace lineup::cli {

// Exit codes: 0 success, 1 no face / not the same person / no lead, 2 bad input or usage,
// 3 a face too poor to decide on.
constexpr int kExitOk = 0, kExitNo = 1, kExitBad = 2, kExitUndecided = 3;
int ExitCodeFor(const Status& s);

// ------------------------------------------------------------- command descriptions
//
// Every command describes itself once, in its own file, as a Command. The description
// drives `lineup CMD --help` (and `lineup help CMD`), the list of `lineup --help`, and
// ParseArgs (which options exist, which take a value), so the help text cannot drift
// from what the parser accepts. tools/lineup.cc lists the commands.
//
// A new command: next to its CmdFoo, `const Command kFooCommand = {.name = "foo",
// .summary = ..., .usage = {...}, .options = {...}, .examples = {...}};`, declared in
// commands.h and listed in lineup.cc's Sections(); CmdFoo parses with
// ParseArgs(argc, argv, kFooCommand) and reports mistakes with Misuse(kFooCommand, "...").
// A new option is one line in its command's .options.

// One option: "--top" "K" "show the K best candidates (default 10)"; value "" for a flag.
// Plain pointers, so that options shared between commands (kGalleryOption) are constants
// that any file's Command can copy during static initialisation.
struct Option {
  const char* name;
  const char* value;
  const char* help;  // one line, with the default
};

inline constexpr Option kGalleryOption{"--gallery", "DIR", "the gallery (default $LINEUP_GALLERY or ./lineup-data)"};
inline constexpr Option kJsonOption{"--json", "", "print JSON on stdout instead of text (errors too)"};

// Every member has an initializer, so that a description names only the fields it needs
// (designated initializers) without -Wmissing-field-initializers.
struct Command {
  std::string name{};                 // "search", or "source add" for a verb of `source`
  std::string summary{};              // one line, for `lineup --help`
  std::vector<std::string> usage{};   // synopsis lines, each starting with the name
  std::vector<Option> options{};      // all it accepts besides the photo analysis options
  std::vector<std::string> examples{};  // whole command lines that work from the source tree after `make demo`
  std::string notes{};                // optional lines printed after the options
  bool reads_photos = false;          // its help also lists AnalysisOptions()
  // A command made of verbs (source add|list|expire): each verb is a Command named
  // "source add". Pointers, because verbs may live in other files (eval ident).
  std::vector<const Command*> verbs{};
  // Other forms of the same command, parsed by their own Command and shown after this one
  // in its help (search --server).
  std::vector<const Command*> variants{};

  // The verb called `word` ("add"), or null.
  const Command* Verb(const std::string& word) const;
  // True if --json is a flag of this command or of one of its verbs (not `--json OUT`).
  bool HasJsonFlag() const;
};

// The options every command accepts (--models, --detector, --embedder, --landmarks,
// --min-face, --min-photo-confidence, --max-pixels, --threads), all taking a value.
const std::vector<Option>& AnalysisOptions();

// Help text is wrapped to this many columns.
inline constexpr size_t kHelpWidth = 100;
// `text` broken into lines of at most `width` columns, every line after the first indented
// by `indent` spaces (the first is assumed to start there too).
std::string Wrap(const std::string& text, size_t indent, size_t width);
// Options as an aligned list, one line each (two for a long name).
void PrintOptions(const std::vector<Option>& options, FILE* out = stdout);
// `lineup CMD --help`: usage, summary, options, notes and examples (of its verbs and
// variants too); HelpJson is the same for `--help --json`.
void PrintHelp(const Command& c, FILE* out = stdout);
nlohmann::json HelpJson(const Command& c);

// The candidate closest to `word` by edit distance (a swap of two neighbours counts one),
// or "" if none is close enough to be what was meant.
std::string Closest(const std::string& word, const std::vector<std::string>& candidates);

// JSON mode: the command line asked for --json. Fail then also prints the error as one
// JSON document on stdout. main() sets it before running a command; ParseArgs too.
void SetJsonMode(bool on);
bool JsonMode();

// A mistake in how a command was called, as one line naming what is wrong and where the
// usage is: "enroll needs --source NAME (lineup enroll --help for usage)". Returns the
// exit code, like Fail.
int Misuse(const Command& c, const std::string& what);

// For a command made of verbs: the verb argv[2] names, or InvalidArgument naming the
// verbs (and the closest one to a misspelling).
Result<const Command*> VerbFrom(const Command& c, int argc, char** argv);

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> values;
  std::set<std::string> flags;
  bool Has(const std::string& f) const { return flags.count(f) || values.count(f); }
  std::string Get(const std::string& k, const std::string& def = "") const;
  Result<double> GetDouble(const std::string& k, double def, double lo, double hi) const;
  Result<int> GetInt(const std::string& k, int def, int lo, int hi) const;
};

// Parses the arguments after the command's name (argv[1] for "search", argv[1..2] for
// "source add"): options with a value ("--top 5" or "--top=5") and flags as `c` declares
// them, plus AnalysisOptions(). An unknown option is an error naming the command and the
// closest known option. Sets JSON mode if `c` has the flag --json and it was given.
Result<Args> ParseArgs(int argc, char** argv, const Command& c);

// AnalyzerOptions from --models, --detector, --embedder, --min-face, --max-pixels.
Result<AnalyzerOptions> AnalyzerOptionsFrom(const Args& a);

// Prints "lineup: <message>" to stderr (and, in JSON mode, {"error": {"code", "message"}}
// on stdout) and returns the exit code for the status.
int Fail(const Status& s);
// {"error": {"code": "not_found", "message": "..."}}: the code names the Status code
// (invalid_argument, not_found, no_face, corrupt, io_error, ...).
nlohmann::json ErrorJson(const Status& s);

// A plain text table with aligned columns.
class Table {
 public:
  explicit Table(std::vector<std::string> header) : rows_{std::move(header)} {}
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void Print(FILE* out = stdout) const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

std::string Fmt(const char* f, double v);

// A progress bar on stderr when it is a terminal: count, rate and ETA.
class Progress {
 public:
  Progress(std::string what, size_t total);
  void Tick(size_t done, const std::string& extra = "");
  void Finish();

 private:
  std::string what_;
  size_t total_;
  bool tty_;
  std::chrono::steady_clock::time_point start_, last_;
};

nlohmann::json FaceJson(const Face& f);
// A box as whole pixels: [x, y, w, h] for JSON, "x,y,w,h" for tables.
nlohmann::json BoxJson(const cv::Rect2f& box);
std::string BoxText(const cv::Rect2f& box);

// Analyses a photo (with embeddings) and chooses face number `wanted` (1-based) or,
// if 0, the largest usable one. NoFace if none was found; InvalidArgument if there is
// no face #wanted; the photo's own read errors otherwise.
struct ChosenFace {
  PhotoAnalysis photo;
  int index = -1;  // into photo.faces
  const Face& face() const { return photo.faces[static_cast<size_t>(index)]; }
};
Result<ChosenFace> AnalyzeAndChoose(FaceAnalyzer& analyzer, const std::string& path, int wanted);
std::string Reasons(const Quality& q);

}  // namespace lineup::cli

namespace lineup::cli {

// Embeds one face per photo (chosen by `pick`) on all cores with a progress bar.
// Row i of the result is photo i's vector, or empty where no face was found or the
// photo could not be read (counted in *failures, with the first few messages printed).
struct EmbeddedPhotos {
  std::vector<std::vector<float>> vectors;
  std::vector<float> quality;
  int failures = 0;
  StageTimes times;
  std::string model_id;
};
Result<EmbeddedPhotos> EmbedPhotos(const AnalyzerOptions& options, const std::vector<std::string>& paths, int threads,
                                   FacePick pick);

// The same, kept in the vector file `cache` (docs/formats.md; face 0: the photo had
// none) and read from it instead when it exists, to compare settings without embedding
// again. The file does not record the face choice or analysis options: a cache made
// with others must be removed by hand. "" embeds without a cache.
Result<EmbeddedPhotos> EmbedPhotosCached(const AnalyzerOptions& options, const std::vector<std::string>& paths,
                                         int threads, FacePick pick, const std::string& cache);

}  // namespace lineup::cli
