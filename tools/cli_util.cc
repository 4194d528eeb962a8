#include "cli_util.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>

#include "lineup/embedder.h"
#include "lineup/inference.h"
#include "lineup/models.h"
#include "lineup/vector_file.h"

namespace lineup::cli {

int ExitCodeFor(const Status& s) {
  if (s.ok()) return kExitOk;
  if (s.code() == Status::Code::kNoFace) return kExitNo;
  return kExitBad;
}

namespace {
bool json_mode = false;

const char* CodeSlug(Status::Code c) {
  switch (c) {
    case Status::Code::kOk: return "ok";
    case Status::Code::kInvalidArgument: return "invalid_argument";
    case Status::Code::kNotFound: return "not_found";
    case Status::Code::kNoFace: return "no_face";
    case Status::Code::kCorrupt: return "corrupt";
    case Status::Code::kIOError: return "io_error";
    case Status::Code::kInternal: return "internal";
    case Status::Code::kUnauthenticated: return "unauthenticated";
    case Status::Code::kPermissionDenied: return "permission_denied";
    case Status::Code::kFailedPrecondition: return "failed_precondition";
    case Status::Code::kUnavailable: return "unavailable";
  }
  return "unknown";
}

// Words of a command's name: 1 for "search", 2 for "source add"; its arguments start after.
int NameWords(const Command& c) {
  return 1 + static_cast<int>(std::count(c.name.begin(), c.name.end(), ' '));
}

std::string OptionText(const Option& o) { return *o.value ? std::string(o.name) + " " + o.value : std::string(o.name); }

// Optimal string alignment distance: insertions, deletions, substitutions and swaps of
// neighbours ("--frm" for "--fmr") each count one.
size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i)
    for (size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1])});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}
}  // namespace

void SetJsonMode(bool on) { json_mode = on; }
bool JsonMode() { return json_mode; }

nlohmann::json ErrorJson(const Status& s) {
  return {{"error", {{"code", CodeSlug(s.code())}, {"message", s.message()}}}};
}

int Fail(const Status& s) {
  std::fprintf(stderr, "lineup: %s\n", s.message().c_str());
  if (json_mode) {
    // One line, so that it is also a valid last line of the commands that print JSON lines
    // (enroll); file names need not be UTF-8.
    std::printf("%s\n", ErrorJson(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    std::fflush(stdout);
  }
  return ExitCodeFor(s);
}

int Misuse(const Command& c, const std::string& what) {
  return Fail(Status::InvalidArgument(what + " (lineup " + c.name + " --help for usage)"));
}

const Command* Command::Verb(const std::string& word) const {
  for (const Command* v : verbs)
    if (v->name.size() > name.size() && v->name.compare(name.size() + 1, std::string::npos, word) == 0) return v;
  return nullptr;
}

bool Command::HasJsonFlag() const {
  for (const Option& o : options)
    if (std::string(o.name) == "--json") return !*o.value;
  for (const Command* v : verbs)
    if (v->HasJsonFlag()) return true;
  return false;
}

const std::vector<Option>& AnalysisOptions() {
  static const std::vector<Option> options = {
      {"--models", "DIR", "model folder (default $LINEUP_MODELS or the source tree's models/)"},
      {"--detector", "SPEC", "pyramid (default) or single"},
      {"--engine", "NAME", "inference engine running the networks: dnnl (oneDNN, default) or opencv (OpenCV DNN; docs/engine.md)"},
      {"--embedder", "SPEC",
       "fr_feature+weight (default), fr_feature, fr_feature+flip, fr_feature:rgb and fr_feature+flip:rgb (fed "
       "RGB: galleries made before 2026-11-27), faceapi_resnet or fr_feature+faceapi[:W] (both models fused; "
       "docs/accuracy.md)"},
      {"--landmarks", "MODE",
       "single (default), refined (a second pass re-centred on the first), refined+mirror or single+mirror "
       "(averaged with the mirrored crop)"},
      {"--min-face", "PX", "smallest face height to look for (default 20)"},
      {"--min-photo-confidence", "C",
       "a photo whose best detection is below C has no face; its detections are set aside, not used (default "
       "0.8; 0 keeps all)"},
      {"--max-pixels", "N", "refuse images declaring more pixels (default 100000000)"},
      {"--threads", "N", "worker pipelines for many photos (default: one per core)"},
  };
  return options;
}

std::string Wrap(const std::string& text, size_t indent, size_t width) {
  std::string out, line;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(' ', start);
    if (end == std::string::npos) end = text.size();
    const std::string word = text.substr(start, end - start);
    if (!line.empty() && indent + line.size() + 1 + word.size() > width) {
      out += line + "\n" + std::string(indent, ' ');
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
    start = end + 1;
  }
  return out + line;
}

void PrintOptions(const std::vector<Option>& options, FILE* out) {
  size_t w = 0;
  for (const Option& o : options) w = std::max(w, OptionText(o).size());
  w = std::min<size_t>(w, 24);
  for (const Option& o : options) {
    const std::string t = OptionText(o), help = Wrap(o.help, w + 4, kHelpWidth);
    if (t.size() > w) std::fprintf(out, "  %s\n  %s  %s\n", t.c_str(), std::string(w, ' ').c_str(), help.c_str());
    else std::fprintf(out, "  %-*s  %s\n", static_cast<int>(w), t.c_str(), help.c_str());
  }
}

void PrintHelp(const Command& c, FILE* out) {
  std::vector<std::string> usage = c.usage;
  for (const Command* v : c.verbs) usage.insert(usage.end(), v->usage.begin(), v->usage.end());
  for (size_t i = 0; i < usage.size(); ++i) std::fprintf(out, "%s lineup %s\n", i ? "      " : "usage:", usage[i].c_str());
  std::fprintf(out, "\n%s\n", Wrap(c.summary, 0, kHelpWidth).c_str());
  if (!c.verbs.empty()) {
    std::fprintf(out, "\ncommands (lineup %s COMMAND --help for each one's options):\n", c.name.c_str());
    size_t w = 0;
    for (const Command* v : c.verbs) w = std::max(w, v->name.size() - c.name.size() - 1);
    for (const Command* v : c.verbs)
      std::fprintf(out, "  %-*s  %s\n", static_cast<int>(w), v->name.substr(c.name.size() + 1).c_str(),
                   Wrap(v->summary, w + 4, kHelpWidth).c_str());
  }
  if (!c.options.empty()) {
    std::fprintf(out, "\noptions:\n");
    PrintOptions(c.options, out);
  }
  if (c.reads_photos) {
    std::fprintf(out, "\nphoto analysis options:\n");
    PrintOptions(AnalysisOptions(), out);
  }
  if (!c.notes.empty()) std::fprintf(out, "\n%s%s", c.notes.c_str(), c.notes.back() == '\n' ? "" : "\n");
  for (const Command* v : c.variants) {
    std::fprintf(out, "\n%s:\n", v->summary.c_str());
    for (const auto& u : v->usage) std::fprintf(out, "  lineup %s\n", u.c_str());
    PrintOptions(v->options, out);
    if (!v->notes.empty()) std::fprintf(out, "%s%s", v->notes.c_str(), v->notes.back() == '\n' ? "" : "\n");
  }
  std::vector<std::string> examples = c.examples;
  for (const Command* v : c.verbs)
    if (!v->examples.empty()) examples.push_back(v->examples.front());
  for (const Command* v : c.variants) examples.insert(examples.end(), v->examples.begin(), v->examples.end());
  std::fprintf(out, "\n%s:\n", examples.size() == 1 ? "example" : "examples");
  for (const auto& e : examples) std::fprintf(out, "  %s\n", e.c_str());
}

nlohmann::json HelpJson(const Command& c) {
  auto options = [](const std::vector<Option>& list) {
    nlohmann::json j = nlohmann::json::array();
    for (const Option& o : list) j.push_back({{"name", o.name}, {"value", o.value}, {"help", o.help}});
    return j;
  };
  nlohmann::json j = {{"command", c.name}, {"summary", c.summary}, {"usage", c.usage},
                      {"options", options(c.options)}, {"examples", c.examples}};
  if (!c.notes.empty()) j["notes"] = c.notes;
  if (c.reads_photos) j["analysis_options"] = options(AnalysisOptions());
  if (!c.verbs.empty()) {
    j["commands"] = nlohmann::json::array();
    for (const Command* v : c.verbs) j["commands"].push_back(HelpJson(*v));
  }
  if (!c.variants.empty()) {
    j["variants"] = nlohmann::json::array();
    for (const Command* v : c.variants) j["variants"].push_back(HelpJson(*v));
  }
  return j;
}

std::string Closest(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = std::string::npos;
  for (const auto& c : candidates) {
    const size_t d = EditDistance(word, c);
    if (d < best_d) best_d = d, best = c;
  }
  // Close enough to be a typo, not a different word: at most two edits, and about one per
  // three letters (one in a word of two).
  const size_t letters = word.size() - std::min(word.find_first_not_of('-'), word.size());
  return best_d <= 2 && best_d * 3 <= letters + 1 ? best : "";
}

Result<const Command*> VerbFrom(const Command& c, int argc, char** argv) {
  std::vector<std::string> words;
  for (const Command* v : c.verbs) words.push_back(v->name.substr(c.name.size() + 1));
  std::string list;
  for (size_t i = 0; i < words.size(); ++i) list += (i == 0 ? "" : i + 1 == words.size() ? " or " : ", ") + words[i];
  const std::string hint = " (lineup " + c.name + " --help for usage)";
  if (argc < 3 || argv[2][0] == '-') return Status::InvalidArgument(c.name + " needs a command: " + list + hint);
  if (const Command* v = c.Verb(argv[2])) return v;
  const std::string near = Closest(argv[2], words);
  return Status::InvalidArgument("unknown " + c.name + " command \"" + argv[2] + "\"" +
                                 (near.empty() ? "; it takes " + list + hint : " (did you mean " + near + "?)"));
}

std::string Args::Get(const std::string& k, const std::string& def) const {
  auto it = values.find(k);
  return it == values.end() ? def : it->second;
}

Result<double> Args::GetDouble(const std::string& k, double def, double lo, double hi) const {
  auto it = values.find(k);
  if (it == values.end()) return def;
  char* end = nullptr;
  double v = std::strtod(it->second.c_str(), &end);
  if (it->second.empty() || *end || !(v >= lo && v <= hi))
    return Status::InvalidArgument(k + " needs a number from " + Fmt("%g", lo) + " to " + Fmt("%g", hi) + ", not \"" +
                                   it->second + "\"");
  return v;
}

Result<int> Args::GetInt(const std::string& k, int def, int lo, int hi) const {
  auto v = GetDouble(k, def, lo, hi);
  if (!v.ok()) return v.status();
  if (*v != std::floor(*v)) return Status::InvalidArgument(k + " needs a whole number");
  return static_cast<int>(*v);
}

Result<Args> ParseArgs(int argc, char** argv, const Command& c) {
  std::set<std::string> valued, boolean;
  std::vector<std::string> known;
  for (const auto* list : {&c.options, &AnalysisOptions()})
    for (const Option& o : *list) {
      (*o.value ? valued : boolean).insert(o.name);
      known.push_back(o.name);
    }
  const int start = 1 + NameWords(c);
  // Before anything can fail, so that every error of this command is JSON too.
  if (boolean.count("--json"))
    for (int i = start; i < argc && std::strcmp(argv[i], "--"); ++i)
      if (!std::strcmp(argv[i], "--json")) SetJsonMode(true);
  Args a;
  bool only_positional = false;
  for (int i = start; i < argc; ++i) {
    std::string s = argv[i];
    if (only_positional || s.size() < 2 || s[0] != '-' || s == "-") {
      a.positional.push_back(s);
      continue;
    }
    if (s == "--") { only_positional = true; continue; }
    std::string key = s, value;
    bool has_eq = false;
    if (auto eq = s.find('='); eq != std::string::npos) { key = s.substr(0, eq); value = s.substr(eq + 1); has_eq = true; }
    if (valued.count(key)) {
      if (!has_eq) {
        if (i + 1 >= argc) return Status::InvalidArgument(key + " needs a value");
        value = argv[++i];
      }
      a.values[key] = value;
    } else if (boolean.count(key)) {
      if (has_eq) return Status::InvalidArgument(key + " takes no value");
      a.flags.insert(key);
    } else {
      const std::string near = Closest(key, known);
      return Status::InvalidArgument("unknown option " + key + " for " + c.name +
                                     (near.empty() ? " (lineup " + c.name + " --help lists the options)"
                                                   : " (did you mean " + near + "?)"));
    }
  }
  return a;
}

Result<AnalyzerOptions> AnalyzerOptionsFrom(const Args& a) {
  AnalyzerOptions o;
  o.model_dir = a.Get("--models");
  o.detector = a.Get("--detector", "pyramid");
  o.embedder = a.Get("--embedder");
  o.engine = a.Get("--engine");
  if (!o.engine.empty())
    if (Status s = CheckInferenceEngine(o.engine); !s.ok()) return s;
  const std::string lm = a.Get("--landmarks", "single");
  if (lm != "refined" && lm != "single" && lm != "refined+mirror" && lm != "single+mirror")
    return Status::InvalidArgument("--landmarks must be refined, single, refined+mirror or single+mirror");
  o.refine_landmarks = lm.rfind("refined", 0) == 0;
  o.mirror_landmarks = lm.find("+mirror") != std::string::npos;
  auto mf = a.GetDouble("--min-face", o.detector_options.min_face, 8, 10000);
  if (!mf.ok()) return mf.status();
  o.detector_options.min_face = static_cast<float>(*mf);
  auto mc = a.GetDouble("--min-photo-confidence", o.photo_min_confidence, 0, 1);
  if (!mc.ok()) return mc.status();
  o.photo_min_confidence = static_cast<float>(*mc);
  auto mp = a.GetDouble("--max-pixels", static_cast<double>(o.decode.max_pixels), 1, 1e10);
  if (!mp.ok()) return mp.status();
  o.decode.max_pixels = static_cast<int64_t>(*mp);
  return o;
}

void Table::Print(FILE* out) const {
  std::vector<size_t> w;
  for (const auto& r : rows_)
    for (size_t i = 0; i < r.size(); ++i) {
      if (w.size() <= i) w.push_back(0);
      w[i] = std::max(w[i], r[i].size());
    }
  for (size_t k = 0; k < rows_.size(); ++k) {
    std::string line;
    for (size_t i = 0; i < rows_[k].size(); ++i) {
      line += rows_[k][i];
      if (i + 1 < rows_[k].size()) line += std::string(w[i] - rows_[k][i].size() + 2, ' ');
    }
    std::fprintf(out, "%s\n", line.c_str());
    if (k == 0) {
      size_t total = 0;
      for (size_t i = 0; i < w.size(); ++i) total += w[i] + (i + 1 < w.size() ? 2 : 0);
      std::fprintf(out, "%s\n", std::string(total, '-').c_str());
    }
  }
}

std::string Fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

Progress::Progress(std::string what, size_t total)
    : what_(std::move(what)), total_(total), tty_(isatty(2) != 0), start_(std::chrono::steady_clock::now()), last_(start_) {}

void Progress::Tick(size_t done, const std::string& extra) {
  if (!tty_) return;
  auto now = std::chrono::steady_clock::now();
  if (done < total_ && now - last_ < std::chrono::milliseconds(200)) return;
  last_ = now;
  double secs = std::chrono::duration<double>(now - start_).count();
  double rate = secs > 0 ? done / secs : 0;
  double eta = rate > 0 ? (total_ - done) / rate : 0;
  int width = 30, filled = total_ ? static_cast<int>(width * done / total_) : width;
  std::fprintf(stderr, "\r[%s%s] %zu/%zu %s%s  %.1f/s  ETA %d:%02d ", std::string(filled, '#').c_str(),
               std::string(width - filled, '.').c_str(), done, total_, what_.c_str(), extra.c_str(), rate, int(eta) / 60,
               int(eta) % 60);
  std::fflush(stderr);
}

void Progress::Finish() {
  if (tty_) std::fprintf(stderr, "\n");
}

nlohmann::json FaceJson(const Face& f) {
  nlohmann::json j;
  j["box"] = BoxJson(f.box);
  j["confidence"] = std::round(f.confidence * 1000) / 1000;
  j["landmarks"] = nlohmann::json::array();
  for (const auto& p : f.five) j["landmarks"].push_back({std::round(p.x * 10) / 10, std::round(p.y * 10) / 10});
  j["quality"] = std::round(f.quality.score * 1000) / 1000;
  j["quality_reasons"] = f.quality.reasons;
  j["quality_detail"] = {{"size", f.quality.size},       {"sharpness", f.quality.sharpness},
                         {"pose", f.quality.pose},       {"confidence", f.quality.confidence},
                         {"face_height_px", f.quality.face_height_px}, {"laplacian_var", f.quality.laplacian_var},
                         {"yaw_deg", f.quality.yaw_deg}, {"pitch_deg", f.quality.pitch_deg}};
  return j;
}

nlohmann::json BoxJson(const cv::Rect2f& b) {
  return {std::lround(b.x), std::lround(b.y), std::lround(b.width), std::lround(b.height)};
}

std::string BoxText(const cv::Rect2f& b) {
  return Fmt("%.0f", b.x) + "," + Fmt("%.0f", b.y) + "," + Fmt("%.0f", b.width) + "," + Fmt("%.0f", b.height);
}

Result<ChosenFace> AnalyzeAndChoose(FaceAnalyzer& analyzer, const std::string& path, int wanted) {
  ChosenFace c;
  c.photo = analyzer.AnalyzeFile(path, true);
  if (!c.photo.status.ok()) return c.photo.status;
  const int n = static_cast<int>(c.photo.faces.size());
  if (n == 0)
    return Status::NoFace(path + ": " + NoFaceMessage(c.photo.set_aside, analyzer.Options().photo_min_confidence));
  if (wanted > n)
    return Status::InvalidArgument(path + ": has " + std::to_string(n) + " face(s), no face #" + std::to_string(wanted));
  c.index = wanted > 0 ? wanted - 1 : PickFace(c.photo.faces, {c.photo.width, c.photo.height}, FacePick::kLargest);
  return c;
}

std::string Reasons(const Quality& q) {
  std::string s;
  for (const auto& r : q.reasons) s += (s.empty() ? "" : ", ") + r;
  return s.empty() ? "-" : s;
}

}  // namespace lineup::cli

namespace lineup::cli {

Result<EmbeddedPhotos> EmbedPhotos(const AnalyzerOptions& options, const std::vector<std::string>& paths, int threads,
                                   FacePick pick) {
  EmbeddedPhotos out;
  // A photo that is not there is a mistake (a wrong --root, a moved folder), not a photo
  // without a face: found before any work, and the whole run refused.
  {
    size_t missing = 0;
    std::string first;
    for (const auto& p : paths) {
      std::error_code ec;
      if (!std::filesystem::is_regular_file(p, ec)) {
        if (missing++ == 0) first = p;
      }
    }
    if (missing > 0)
      return Status::NotFound(std::to_string(missing) + " of " + std::to_string(paths.size()) +
                              " photos do not exist, the first " + first + " (is the root folder right?)");
  }
  {
    auto probe = FaceAnalyzer::Create(options);
    if (!probe.ok()) return probe.status();
    out.model_id = (*probe)->Model().Id();
  }
  out.vectors.resize(paths.size());
  out.quality.assign(paths.size(), 0);
  Progress progress("photos", paths.size());
  size_t done = 0;
  int shown = 0;
  Status unreadable;
  size_t unreadable_count = 0;
  Status s = AnalyzeFiles(options, paths, true, threads, [&](size_t i, PhotoAnalysis&& r) {
    progress.Tick(++done);
    if (!r.status.ok() && unreadable_count++ == 0) unreadable = r.status;
    int k = r.status.ok() ? PickFace(r.faces, {r.width, r.height}, pick) : -1;
    if (k < 0) {
      ++out.failures;
      if (shown++ < 5)
        std::fprintf(stderr, "\nlineup: %s\n",
                     r.status.ok() ? (r.path + ": " + NoFaceMessage(r.set_aside, options.photo_min_confidence)).c_str()
                                   : r.status.message().c_str());
      return;
    }
    out.vectors[i] = std::move(r.faces[static_cast<size_t>(k)].embedding);
    out.quality[i] = r.faces[static_cast<size_t>(k)].quality.score;
  }, &out.times);
  progress.Finish();
  if (!s.ok()) return s;
  // A damaged or unreadable photo would count as a non-match and bias every rate.
  if (unreadable_count > 0)
    return Status::InvalidArgument(std::to_string(unreadable_count) + " of " + std::to_string(paths.size()) +
                                   " photos could not be read, the first: " + unreadable.message() +
                                   "; nothing is reported from an evaluation with unreadable photos");
  return out;
}

Result<EmbeddingModel> ModelFor(const AnalyzerOptions& options) {
  auto e = Embedder::Create(options.embedder.empty() ? Embedder::DefaultSpec() : options.embedder,
                            options.model_dir.empty() ? DefaultModelDir() : options.model_dir);
  if (!e.ok()) return e.status();
  return (*e)->Model();
}

Result<EmbeddedPhotos> EmbedPhotosCached(const AnalyzerOptions& options, const std::vector<std::string>& paths,
                                         int threads, FacePick pick, const std::string& cache) {
  std::error_code ec;
  if (cache.empty() || !std::filesystem::exists(cache, ec)) {
    auto emb = EmbedPhotos(options, paths, threads, pick);
    if (!emb.ok() || cache.empty()) return emb;
    VectorFile vf;
    vf.model_id = emb->model_id;
    for (const auto& v : emb->vectors)
      if (!v.empty()) vf.dim = static_cast<int>(v.size());
    for (size_t i = 0; i < paths.size(); ++i) {
      VectorRecord r;
      r.photo = paths[i];
      r.face = emb->vectors[i].empty() ? 0 : 1;
      r.quality = emb->quality[i];
      r.vector = emb->vectors[i].empty() ? std::vector<float>(static_cast<size_t>(vf.dim), 0.f) : emb->vectors[i];
      vf.records.push_back(std::move(r));
    }
    if (Status s = vf.Write(cache); !s.ok()) return s;
    return emb;
  }
  auto vf = VectorFile::Read(cache);
  if (!vf.ok()) return vf.status().WithContext(cache);
  auto model = ModelFor(options);
  if (!model.ok()) return model.status();
  if (vf->model_id != model->Id())
    return Status::InvalidArgument(cache + " holds vectors of " + vf->model_id + ", not of " + model->Id() +
                                   ": remove it to embed again");
  std::map<std::string, const VectorRecord*> by_photo;
  for (const auto& r : vf->records) by_photo[r.photo] = &r;
  EmbeddedPhotos e;
  e.model_id = vf->model_id;
  for (const auto& path : paths) {
    auto it = by_photo.find(path);
    if (it == by_photo.end())
      return Status::InvalidArgument(cache + " has no vector for " + path + ": remove it to embed again");
    const bool face = it->second->face > 0;
    e.vectors.push_back(face ? it->second->vector : std::vector<float>{});
    e.quality.push_back(it->second->quality);
    e.failures += !face;
  }
  return e;
}

}  // namespace lineup::cli
