#include "lineup/gallery.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "lineup/calibration.h"
#include "lineup/cohort.h"
#include "lineup/models.h"
#include "lineup/neighbour_graph.h"
#include "lineup/vector_index.h"
#include "lineup/vector_log.h"

namespace lineup {

namespace fs = std::filesystem;

namespace {
constexpr const char* kCatalogFile = "catalog.sqlite";
constexpr const char* kVectorFile = "vectors.log";
constexpr const char* kOptOutFile = "optouts.log";
constexpr const char* kThumbDir = "thumbnails";
constexpr const char* kIndexMeta = "INDEX";
constexpr int kThumbPx = 160;
// Candidates the cohort re-ranks (top-k by similarity first): a mate ranked down by a
// face that resembles everyone is almost always among the first few.
constexpr int kRankingDepth = 50;
constexpr double kOptOutFmr = 1e-4;

float Dot(const float* a, const float* b, int n) {
  float s = 0;
  for (int i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}
}  // namespace

// An exclusive flock on <dir>/LOCK, held while the gallery is open. The kernel drops it
// when the process dies, so a killed enrolment never leaves a stale lock behind.
class DirLock {
 public:
  ~DirLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  Status Acquire(const std::string& dir) {
    const std::string path = (fs::path(dir) / "LOCK").string();
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) return Status::IOError(path + ": " + std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0)
      return Status::IOError(dir +
                             ": the gallery is in use by another lineup process; try again when it has finished "
                             "(a gallery held by `lineup serve` is searched through it: lineup search --server URL)");
    return Status::OK();
  }

 private:
  int fd_ = -1;
};

struct Gallery::Impl {
  DirLock lock;
  std::string dir;
  // Opened beside a writer (OpenReadOnly): no lock, nothing written, and the catalog's
  // faces whose vectors were not yet in the log when it was read are left out.
  bool read_only = false;
  Status Writable() const {
    if (!read_only) return Status::OK();
    return Status::FailedPrecondition(dir + ": the gallery is open read-only here (another lineup process holds it)");
  }
  std::string ThumbPath(int64_t id) const {
    return (fs::path(dir) / kThumbDir / (std::to_string(id) + ".jpg")).string();
  }
  AnalyzerOptions options;
  EmbeddingModel model;
  std::unique_ptr<Catalog> catalog;
  std::unique_ptr<VectorLog> log;
  std::unique_ptr<VectorLog> optouts;
  float optout_threshold = 2;  // above any similarity until calibrated
  std::unique_ptr<VectorIndex> index;
  // What the last snapshot covers: log records, and the largest face id among them.
  int64_t snapshot_rows = 0;
  int64_t snapshot_gen = 0;
  // Ranks search candidates; fitted at the first search, refitted after an erasure or
  // when the gallery has grown or shrunk by a tenth since.
  std::optional<Cohort> cohort;  // empty: too few faces to fit one
  int64_t cohort_fitted_at = 0;  // the gallery's size then; 0: fit at the next search

  // The cohort for ranking, or nullptr while the gallery is too small for one.
  Result<const Cohort*> RankingCohort() {
    const int64_t n = index->size();
    if (n < Cohort::kMinFaces) {
      cohort.reset();
      cohort_fitted_at = 0;
      return static_cast<const Cohort*>(nullptr);
    }
    if (cohort_fitted_at > 0 &&
        std::abs(static_cast<double>(n - cohort_fitted_at)) <= 0.1 * static_cast<double>(cohort_fitted_at))
      return cohort ? &*cohort : nullptr;
    // A sample of the live faces (the catalog has them) among the log's records: the
    // moments of a face's similarity settle long before 16,384 faces. In a large gallery
    // they are taken as 128 runs of 128 consecutive records spread evenly over the log, so
    // that a first search after a cold open reads 128 stretches of the log and the
    // catalog instead of thousands of scattered pages (at 10M faces: 23 s scattered).
    constexpr size_t kRuns = 128, kRunLength = 128;
    const std::vector<int64_t>& ids = log->ids();
    std::vector<float> sample;
    auto take = [&](size_t from, size_t to) -> Status {
      for (size_t row = from; row < to; ++row) {
        auto face = catalog->GetFace(ids[row]);
        if (face.status().code() == Status::Code::kNotFound) continue;  // erased
        if (!face.ok()) return face.status();
        sample.insert(sample.end(), log->vector(row), log->vector(row) + model.dim);
      }
      return Status::OK();
    };
    const bool all = ids.size() <= kRuns * kRunLength;
    for (size_t run = 0; run < (all ? 1 : kRuns); ++run) {
      const size_t from = all ? 0 : run * (ids.size() / kRuns);
      Status s = take(from, all ? ids.size() : from + kRunLength);
      if (!s.ok()) return s;
    }
    auto fitted = Cohort::Fit(sample, model.dim);
    cohort_fitted_at = n;
    cohort.reset();
    if (!fitted.ok()) return static_cast<const Cohort*>(nullptr);  // too few live faces sampled: plain order
    cohort = std::move(*fitted);
    return &*cohort;
  }

  bool OptedOut(const float* v) const {
    const int d = model.dim;
    for (size_t i = 0; i < optouts->ids().size(); ++i)
      if (Dot(v, optouts->vector(i), d) >= optout_threshold) return true;
    return false;
  }

  std::string SnapshotFile(int64_t gen, const char* ext) const {
    return (fs::path(dir) / ("index-" + std::to_string(gen) + ext)).string();
  }

  // Adds the live faces among log rows [from, to) to the index, in chunks.
  Status AddRows(size_t from, size_t to, const std::vector<int64_t>& live) {
    const size_t chunk = 8192;
    const int d = model.dim;
    std::vector<int64_t> ids;
    std::vector<float> vecs;
    for (size_t r = from; r < to; ++r) {
      const int64_t id = log->ids()[r];
      if (!std::binary_search(live.begin(), live.end(), id)) continue;
      ids.push_back(id);
      vecs.insert(vecs.end(), log->vector(r), log->vector(r) + d);
      if (ids.size() == chunk || r + 1 == to) {
        Status s = index->Add(ids, vecs);
        if (!s.ok()) return s;
        ids.clear();
        vecs.clear();
      }
    }
    if (!ids.empty()) return index->Add(ids, vecs);
    return Status::OK();
  }

  // A new index of `spec` holding every live face, trained on an even sample of them.
  Status BuildIndex(const std::string& spec, const std::vector<int64_t>& live,
                    const std::function<void(const std::string&)>& note) {
    auto made = VectorIndex::Create(spec, model.dim);
    if (!made.ok()) return made.status();
    index = std::move(*made);
    if (!index->is_trained()) {
      const size_t want = std::min<size_t>(live.size(), 262144);
      if (note) note("training index " + spec + " on " + std::to_string(want) + " of " + std::to_string(live.size()) + " faces");
      std::vector<float> sample;
      sample.reserve(want * static_cast<size_t>(model.dim));
      for (size_t i = 0; i < want; ++i) {
        const float* v = log->Find(live[i * live.size() / want]);
        if (!v) return Status::Corrupt(dir + ": face " + std::to_string(live[i * live.size() / want]) + " has no vector");
        sample.insert(sample.end(), v, v + model.dim);
      }
      Status s = index->Train(sample);
      if (!s.ok()) return s;
    }
    if (note) note("adding " + std::to_string(live.size()) + " faces to index " + index->spec());
    return AddRows(0, log->ids().size(), live);
  }

  // Writes the snapshot: the index, the ids of the log records it covers, then INDEX
  // naming them (the commit point), then removes the previous generation.
  Status SaveSnapshot(int64_t erasures) {
    if (read_only) return Status::OK();  // the writer keeps the snapshot
    const int64_t gen = snapshot_gen + 1;
    const std::string ids_path = SnapshotFile(gen, ".ids"), lux = SnapshotFile(gen, ".lux");
    {
      const auto& ids = log->ids();
      std::FILE* f = std::fopen(ids_path.c_str(), "wb");
      if (!f) return Status::IOError(ids_path + ": " + std::strerror(errno));
      bool ok = ids.empty() || std::fwrite(ids.data(), 8, ids.size(), f) == ids.size();
      ok = std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0 && ok;
      ok = std::fclose(f) == 0 && ok;
      if (!ok) return Status::IOError(ids_path + ": cannot write");
    }
    Status s = index->Save(lux);
    if (!s.ok()) return s;
    const nlohmann::json meta{{"generation", gen},
                              {"model", model.Id()},
                              {"spec", index->spec()},
                              {"faces", index->size()},
                              {"log_bytes", log->bytes()},
                              {"log_last_crc", log->last_crc()},
                              {"log_rows", log->ids().size()},
                              {"max_face_id", log->ids().empty() ? 0 : log->ids().back()},
                              {"erasures", erasures}};
    s = WriteFileAtomic((fs::path(dir) / kIndexMeta).string(), meta.dump(2) + "\n");
    if (!s.ok()) return s;
    std::error_code ec;
    for (int64_t g = snapshot_gen; g > 0 && g >= snapshot_gen - 1; --g) {
      fs::remove(SnapshotFile(g, ".ids"), ec);
      fs::remove(SnapshotFile(g, ".lux"), ec);
    }
    snapshot_gen = gen;
    snapshot_rows = static_cast<int64_t>(log->ids().size());
    return Status::OK();
  }

  // Removes snapshot files that INDEX does not name (left by a crash mid-save).
  void RemoveStraySnapshots() {
    if (read_only) return;
    std::error_code ec;
    for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (name.rfind("index-", 0) != 0) continue;
      const std::string keep = "index-" + std::to_string(snapshot_gen) + ".";
      if (name.rfind(keep, 0) != 0) fs::remove(it->path(), ec);
    }
  }

  static Status WriteFileAtomic(const std::string& path, const std::string& text) {
    const std::string tmp = path + ".tmp";
    std::FILE* f = std::fopen(tmp.c_str(), "wb");
    if (!f) return Status::IOError(tmp + ": " + std::strerror(errno));
    bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
    ok = std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0 && ok;
    ok = std::fclose(f) == 0 && ok;
    if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) return Status::IOError(path + ": cannot write");
    return Status::OK();
  }

  // Stores new faces: assigns their ids (above every id in the catalog and the log, so
  // the ids of vectors orphaned by a crash are never reused), makes their vectors
  // durable, runs before_commit (e.g. writing thumbnails), commits the catalog rows in
  // one transaction, then makes them searchable. vectors: one row per face, in order.
  Status Store(std::span<Catalog::NewImage> images, std::span<const float> vectors,
               const std::function<Status(const std::vector<int64_t>&)>& before_commit = {}) {
    auto max_id = catalog->MaxFaceId();
    if (!max_id.ok()) return max_id.status();
    int64_t next = std::max(*max_id, log->ids().empty() ? int64_t{0} : log->ids().back()) + 1;
    std::vector<int64_t> ids;
    for (auto& im : images)
      for (auto& f : im.faces) {
        f.id = next++;
        ids.push_back(f.id);
      }
    Status s = log->Append(ids, vectors);
    if (s.ok() && before_commit) s = before_commit(ids);
    if (s.ok()) s = catalog->AddImages(images);
    if (!s.ok()) return s;
    // Searchable now; durable through the log until the next snapshot.
    s = index->Add(ids, vectors);
    if (!s.ok()) return s;
    // One enrolment of millions of faces must not keep them all in the exact index
    // (2 KB of RAM each; 10M faces ran out of memory) until it ends: at twice the size
    // exact search is meant for, move to the compressed index now, trained on what is
    // there (`lineup compact` retrains on everything later).
    if (!index->compressed() && VectorIndex::DefaultSpec(index->size() / 2, model.dim) != "exact")
      return AfterGrowth({});
    return Status::OK();
  }

  // After enrolment: moves to a compressed index when the gallery outgrows exact search,
  // and writes a snapshot when enough has been logged since the last one that
  // replaying it at every open would show.
  Status AfterGrowth(const std::function<void(const std::string&)>& note) {
    auto erasures = catalog->ErasureCount();
    if (!erasures.ok()) return erasures.status();
    const int64_t n = index->size();
    const std::string want = VectorIndex::DefaultSpec(n, model.dim);
    if (!index->compressed() && want != "exact") {
      auto live = catalog->FaceIds();
      if (!live.ok()) return live.status();
      Status s = BuildIndex(want, *live, note);
      if (!s.ok()) return s;
      return SaveSnapshot(*erasures);
    }
    const int64_t since = static_cast<int64_t>(log->ids().size()) - snapshot_rows;
    if (since > 0 && (!index->persistent() || since >= 20000 || since * 20 >= n)) return SaveSnapshot(*erasures);
    return Status::OK();
  }

  // Opens vectors.log and the index: from the snapshot plus the records logged after
  // it when the snapshot is sound, else rebuilt from the log. The catalog decides
  // which faces are live.
  Status OpenVectors(const std::function<void(const std::string&)>& note) {
    const std::string log_path = (fs::path(dir) / kVectorFile).string();
    nlohmann::json meta;
    VectorLog::Prefix prefix;
    bool have_meta = false;
    {
      std::ifstream in(fs::path(dir) / kIndexMeta);
      if (in) {
        meta = nlohmann::json::parse(in, nullptr, false);
        have_meta = meta.is_object() && meta["generation"].is_number_integer() && meta["model"] == model.Id() &&
                    meta["spec"].is_string() && meta["log_bytes"].is_number_integer() &&
                    meta["log_last_crc"].is_number_unsigned() && meta["log_rows"].is_number_unsigned() &&
                    meta["max_face_id"].is_number_integer() && meta["erasures"].is_number_integer();
      }
    }
    if (have_meta) {
      snapshot_gen = meta["generation"].get<int64_t>();
      const std::string ids_path = SnapshotFile(snapshot_gen, ".ids");
      std::error_code ec;
      const uint64_t rows = meta["log_rows"].get<uint64_t>();
      if (fs::file_size(ids_path, ec) == rows * 8 && !ec) {
        prefix.ids.resize(rows);
        std::FILE* f = std::fopen(ids_path.c_str(), "rb");
        const bool ok = f && (rows == 0 || std::fread(prefix.ids.data(), 8, rows, f) == rows);
        if (f) std::fclose(f);
        if (ok) {
          prefix.bytes = meta["log_bytes"].get<int64_t>();
          prefix.last_crc = meta["log_last_crc"].get<uint32_t>();
        } else {
          prefix.ids.clear();
        }
      }
    }
    RemoveStraySnapshots();
    auto log_or = read_only ? VectorLog::OpenReadOnly(log_path, model.Id(), model.dim, prefix.bytes > 0 ? &prefix : nullptr)
                            : VectorLog::Open(log_path, model.Id(), model.dim, prefix.bytes > 0 ? &prefix : nullptr);
    if (!log_or.ok()) return log_or.status();
    log = std::move(*log_or);
    auto counts = catalog->Counts();
    if (!counts.ok()) return counts.status();
    auto erasures = catalog->ErasureCount();
    if (!erasures.ok()) return erasures.status();

    // Fast path: a compressed index from the snapshot, plus the faces logged after it.
    if (have_meta && (log->used_trusted_prefix() || meta["log_rows"].get<uint64_t>() == 0)) {
      auto loaded = VectorIndex::Load(SnapshotFile(snapshot_gen, ".lux"), model.dim);
      if (loaded.ok() && (*loaded)->persistent()) {
        index = std::move(*loaded);
        const int64_t max_id = meta["max_face_id"].get<int64_t>();
        auto tail = catalog->FaceIds(max_id);
        if (!tail.ok()) return tail.status();
        snapshot_rows = static_cast<int64_t>(meta["log_rows"].get<uint64_t>());
        Status s = AddRows(static_cast<size_t>(snapshot_rows), log->ids().size(), *tail);
        if (!s.ok()) return s;
        if (meta["erasures"].get<int64_t>() != *erasures || index->size() != counts->faces) {
          // Faces erased after the snapshot was written: drop what the catalog no longer has.
          auto live = catalog->FaceIds();
          if (!live.ok()) return live.status();
          std::vector<int64_t> gone;
          for (size_t r = 0; r < static_cast<size_t>(snapshot_rows); ++r)
            if (!std::binary_search(live->begin(), live->end(), log->ids()[r])) gone.push_back(log->ids()[r]);
          s = index->Remove(gone);
          if (!s.ok()) return s;
          if (read_only || index->size() == counts->faces) return SaveSnapshot(*erasures);
          index.reset();  // still inconsistent: rebuild below
        } else {
          return Status::OK();
        }
      } else if (loaded.ok() || loaded.status().code() == Status::Code::kCorrupt) {
        // An exact index (never saved with its vectors), or a damaged file: rebuild.
      } else {
        return loaded.status();
      }
    }
    // Rebuild from the log: exact for a small gallery, else the snapshot's kind.
    auto live = catalog->FaceIds();
    if (!live.ok()) return live.status();
    std::string spec = have_meta ? meta["spec"].get<std::string>() : "exact";
    if (static_cast<int64_t>(live->size()) < 1000) spec = "exact";
    Status s = BuildIndex(spec, *live, note);
    if (!s.ok()) return s;
    // A writer beside us may have committed faces whose vectors we read too early.
    if (read_only) return Status::OK();
    if (index->size() != static_cast<int64_t>(live->size()))
      return Status::Corrupt(dir + ": " + std::to_string(static_cast<int64_t>(live->size()) - index->size()) +
                             " catalogued face(s) have no vector in " + kVectorFile);
    // An exact index is always rebuilt like this; its snapshot only spares re-checking
    // the log, so it is rewritten only when it no longer covers the log.
    if (!index->persistent() && have_meta && log->used_trusted_prefix()) {
      snapshot_rows = static_cast<int64_t>(meta["log_rows"].get<uint64_t>());
      return Status::OK();
    }
    return SaveSnapshot(*erasures);
  }
};

Gallery::Gallery(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Gallery::~Gallery() = default;
Catalog& Gallery::catalog() { return *impl_->catalog; }
const EmbeddingModel& Gallery::model() const { return impl_->model; }
const AnalyzerOptions& Gallery::analyzer_options() const { return impl_->options; }
const std::string& Gallery::dir() const { return impl_->dir; }
int64_t Gallery::size() const { return impl_->index->size(); }
std::string Gallery::IndexSpec() const { return impl_->index->spec(); }
int64_t Gallery::IndexMemoryBytes() const { return impl_->index->MemoryBytes(); }

Status Gallery::Init(const std::string& dir) {
  std::error_code ec;
  if (fs::exists(fs::path(dir) / kCatalogFile, ec)) return Status::InvalidArgument(dir + ": a gallery is already there");
  fs::create_directories(dir, ec);
  if (ec) return Status::IOError(dir + ": cannot create (" + ec.message() + ")");
  auto c = Catalog::Open((fs::path(dir) / kCatalogFile).string(), true);
  return c.status();
}

Result<std::unique_ptr<Gallery>> Gallery::Open(const std::string& dir, const AnalyzerOptions& options) {
  return OpenImpl(dir, options, false);
}

Result<std::unique_ptr<Gallery>> Gallery::OpenReadOnly(const std::string& dir, const AnalyzerOptions& options) {
  return OpenImpl(dir, options, true);
}

Result<std::unique_ptr<Gallery>> Gallery::OpenImpl(const std::string& dir, const AnalyzerOptions& options,
                                                   bool read_only) {
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  impl->read_only = read_only;
  impl->options = options;
  impl->options.thumbnail_px = kThumbPx;
  if (!fs::exists(fs::path(dir) / kCatalogFile))
    return Status::NotFound(dir + ": no gallery here (create one with `lineup init " + dir + "`)");
  if (!read_only) {
    Status locked = impl->lock.Acquire(dir);
    if (!locked.ok()) return locked;
  }
  auto cat = Catalog::Open((fs::path(dir) / kCatalogFile).string(), false);
  if (!cat.ok()) return cat.status();
  impl->catalog = std::move(*cat);
  if (impl->options.embedder.empty()) {
    // Unless told otherwise, a gallery keeps the model it was filled with, even after the
    // default changed (vectors of two models are never compared).
    auto stored = VectorLog::ReadModelId((fs::path(dir) / kVectorFile).string());
    if (stored.ok()) {
      auto spec = Embedder::SpecFor(*stored);
      if (!spec.ok()) return Status::InvalidArgument(dir + ": " + spec.status().message());
      impl->options.embedder = *spec;
    } else if (stored.status().code() != Status::Code::kNotFound) {
      return stored.status();
    }
  }
  {
    // The model's identity without running anything: the embedder names it.
    auto emb = Embedder::Create(impl->options.embedder.empty() ? Embedder::DefaultSpec() : impl->options.embedder,
                                options.model_dir.empty() ? DefaultModelDir() : options.model_dir);
    if (!emb.ok()) return emb.status();
    impl->model = (*emb)->Model();
  }
  const std::string optout_path = (fs::path(dir) / kOptOutFile).string();
  auto optouts = read_only ? VectorLog::OpenReadOnly(optout_path, impl->model.Id(), impl->model.dim)
                           : VectorLog::Open(optout_path, impl->model.Id(), impl->model.dim);
  if (!optouts.ok()) return optouts.status();
  impl->optouts = std::move(*optouts);
  // Opt-outs are matched at a strict false-match rate; without a calibration for this
  // model nothing could be matched safely, so the gallery does not open.
  auto cal = Calibration::ForModel(impl->model);
  if (!cal.ok()) return cal.status();
  auto t = cal->ThresholdFor(kOptOutFmr);
  if (!t.ok()) return t.status();
  impl->optout_threshold = *t;
  // Only vectors whose faces the catalog holds are searchable: a vector written just
  // before a crash, whose catalog transaction never committed, stays invisible.
  Status s = impl->OpenVectors({});
  if (!s.ok()) return s;
  return std::unique_ptr<Gallery>(new Gallery(std::move(impl)));
}

Result<std::vector<std::string>> ListPhotos(const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  for (const auto& p : paths) {
    std::error_code ec;
    auto st = fs::status(p, ec);
    if (ec || !fs::exists(st)) return Status::NotFound(p + ": no such file or directory");
    if (fs::is_directory(st)) {
      std::vector<std::string> found;
      for (auto it = fs::recursive_directory_iterator(p, fs::directory_options::skip_permission_denied, ec);
           !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
        if (it->is_regular_file(ec)) found.push_back(it->path().string());
      std::sort(found.begin(), found.end());
      out.insert(out.end(), found.begin(), found.end());
    } else {
      out.push_back(p);
    }
  }
  return out;
}

Result<EnrollReport> Gallery::Enroll(const std::vector<std::string>& files, const EnrollOptions& options,
                                     const std::function<void(int64_t, const EnrollReport&)>& progress) {
  if (Status w = impl_->Writable(); !w.ok()) return w;
  auto source = impl_->catalog->FindSource(options.source);
  if (!source.ok()) return source.status();
  EnrollReport report;
  report.files = static_cast<int64_t>(files.size());
  // Skip what is already enrolled before spending any analysis on it.
  std::vector<std::string> todo;
  std::vector<std::string> hashes;
  std::vector<std::string> captured_at, places;
  std::map<std::string, std::string> first_path_of_hash;
  for (const auto& f : files) {
    auto bytes = ReadFileBytes(f, impl_->options.decode.max_bytes);
    if (!bytes.ok()) {
      report.problems.push_back({f, bytes.status().message()});
      continue;
    }
    std::string h = Sha256Hex(bytes->data(), bytes->size());
    const std::span<const uint8_t> raw(reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size());
    const std::string captured = ExifCaptureTime(raw);
    const std::string place = ExifPlace(raw);
    auto have = impl_->catalog->FindImageBySha256(h);
    if (!have.ok()) return have.status();
    int64_t live_faces = 0;
    if (*have) {
      auto n = impl_->catalog->FaceCountOfImage((*have)->id);
      if (!n.ok()) return n.status();
      live_faces = *n;
    }
    if (live_faces == 0) {
      // A photo whose faces were erased is not brought back unasked: say when and why.
      auto erased = impl_->catalog->ErasureOfImage(h);
      if (!erased.ok()) return erased.status();
      if (*erased && !options.allow_erased) {
        const auto& e = **erased;
        report.problems.push_back(
            {f, f + ": its faces were erased from the gallery on " + e.at + " (" + e.what +
                    (e.reason.empty() ? "" : ", reason: " + e.reason) +
                    "); not enrolled again (enrol with --allow-erased to bring it back)"});
        ++report.erased_before;
        continue;
      }
      if (*erased || *have) {
        Status forget = impl_->catalog->ForgetErasedImage(h);
        if (!forget.ok()) return forget;
        *have = std::nullopt;
      }
    }
    if (*have || !first_path_of_hash.emplace(h, f).second) {
      ++report.duplicates;
      continue;
    }
    todo.push_back(f);
    hashes.push_back(h);
    captured_at.push_back(captured);
    places.push_back(place);
  }
  Status failed;
  int64_t done = report.duplicates + static_cast<int64_t>(report.problems.size());
  Status s = AnalyzeFiles(impl_->options, todo, true, options.workers, [&](size_t i, PhotoAnalysis&& r) {
    ++done;
    // Reported after this photo is settled, so that the counts include it.
    struct Tick {
      const std::function<void(int64_t, const EnrollReport&)>& f;
      int64_t done;
      const EnrollReport& r;
      ~Tick() { if (f) f(done, r); }
    } tick{progress, done, report};
    if (!failed.ok()) return;
    if (!r.status.ok()) {
      report.problems.push_back({r.path, r.status.message()});
      return;
    }
    if (r.faces.empty()) {
      report.problems.push_back(
          {r.path, r.path + ": " + NoFaceMessage(r.set_aside, impl_->options.photo_min_confidence)});
      return;
    }
    // Faces of people who opted out are never enrolled; faces that fail admission only
    // with all_faces, flagged.
    std::vector<Face> faces, admitted;
    std::vector<std::string> excluded;
    int number = 0;
    for (Face& f : r.faces) {
      ++number;
      if (impl_->OptedOut(f.embedding.data())) {
        report.problems.push_back({r.path, r.path + ": face " + std::to_string(number) +
                                               " matches a person who opted out; not enrolled"});
        continue;
      }
      const std::string why = JoinReasons(AdmissionFailures(f, options.admission));
      if (!why.empty()) {
        report.left_out.push_back({r.path, number, f.box, why});
        if (!options.all_faces) continue;
      } else {
        admitted.push_back(f);
      }
      excluded.push_back(why);
      faces.push_back(std::move(f));
    }
    if (faces.empty()) {
      if (!report.left_out.empty() && report.left_out.back().path == r.path)
        report.problems.push_back({r.path, r.path + ": no face fit for the gallery (" +
                                               std::to_string(r.faces.size()) +
                                               " detection(s) left out; see the faces left out)"});
      return;
    }
    std::string subject = options.subject;
    if (options.subject_from_dir) subject = fs::path(r.path).parent_path().filename().string();
    // The subject's face is the largest usable admitted one, never a flagged one.
    int subject_face = -1;
    if (!subject.empty() && !admitted.empty()) {
      const int pick = PickFace(admitted, {r.width, r.height}, FacePick::kLargest);
      for (size_t k = 0; k < faces.size() && subject_face < 0; ++k)
        if (excluded[k].empty() && faces[k].box == admitted[static_cast<size_t>(pick)].box)
          subject_face = static_cast<int>(k);
    }
    if (subject_face >= 0 && faces.size() > 1)
      report.problems.push_back({r.path, r.path + ": " + std::to_string(faces.size()) + " faces; only #" +
                                             std::to_string(subject_face + 1) + " (the largest usable) linked to " + subject});
    Catalog::NewImage im;
    std::vector<float> vecs;
    for (size_t k = 0; k < faces.size(); ++k) {
      const Face& f = faces[k];
      vecs.insert(vecs.end(), f.embedding.begin(), f.embedding.end());
      FaceRecord fr;
      fr.excluded = excluded[k];
      fr.box = f.box;
      fr.landmarks = f.five;
      fr.confidence = f.confidence;
      fr.quality = f.quality.score;
      fr.quality_reasons = f.quality.reasons;
      im.faces.push_back(std::move(fr));
    }
    im.subject = subject;
    im.subject_face = subject_face;
    ImageRecord& img = im.image;
    img.sha256 = hashes[i];
    img.captured_at = captured_at[i];
    img.place = places[i];
    img.uri = options.uri_of ? options.uri_of(r.path) : fs::absolute(r.path).lexically_normal().string();
    img.bytes = static_cast<int64_t>(fs::file_size(r.path));
    img.format = r.info.format;
    img.width = r.width;
    img.height = r.height;
    img.source_id = source->id;
    // Thumbnails before the catalog commit: a crash leaves orphans, which Compact removes.
    Status w = impl_->Store(std::span<Catalog::NewImage>(&im, 1), vecs, [&](const std::vector<int64_t>& ids) {
      std::error_code ec;
      fs::create_directories(fs::path(impl_->dir) / kThumbDir, ec);
      for (size_t k = 0; k < faces.size(); ++k)
        if (!faces[k].thumbnail.empty() && !cv::imwrite(impl_->ThumbPath(ids[k]), faces[k].thumbnail))
          return Status::IOError(impl_->ThumbPath(ids[k]) + ": cannot write thumbnail");
      return Status::OK();
    });
    if (!w.ok()) {
      failed = w;
      return;
    }
    ++report.enrolled;
    report.faces += static_cast<int64_t>(faces.size());
    for (const std::string& e : excluded) report.flagged += !e.empty();
  });
  if (!s.ok()) return s;
  if (!failed.ok()) return failed;
  s = impl_->AfterGrowth(options.note);
  if (!s.ok()) return s;
  return report;
}

Status Gallery::Checkpoint(const std::function<void(const std::string&)>& note) {
  if (Status w = impl_->Writable(); !w.ok()) return w;
  return impl_->AfterGrowth(note);
}

Status Gallery::AddFaces(std::span<Catalog::NewImage> images, std::span<const float> vectors) {
  if (Status w = impl_->Writable(); !w.ok()) return w;
  const size_t d = static_cast<size_t>(impl_->model.dim);
  size_t n = 0;
  for (const auto& im : images) n += im.faces.size();
  if (vectors.size() != n * d) return Status::InvalidArgument("AddFaces: " + std::to_string(n) + " faces need " + std::to_string(n * d) + " values");
  for (size_t i = 0; i < n; ++i)
    if (impl_->OptedOut(vectors.data() + i * d)) return Status::InvalidArgument("a face matches a person who opted out");
  return impl_->Store(images, vectors);
}

Result<std::vector<std::vector<Candidate>>> Gallery::Search(std::span<const float> probes, int k) {
  const int dim = impl_->model.dim;
  if (probes.empty() || probes.size() % static_cast<size_t>(dim) != 0)
    return Status::InvalidArgument("probe vectors must have " + std::to_string(dim) + " values each");
  if (k <= 0) return Status::InvalidArgument("top-k must be positive");
  auto cohort = impl_->RankingCohort();
  if (!cohort.ok()) return cohort.status();
  // Ask for more than k when opt-outs may remove some of the nearest faces, and enough
  // for the cohort to re-rank.
  int want = impl_->optouts->ids().empty() ? k : 2 * k + 16;
  if (*cohort) want = std::max(want, kRankingDepth);
  std::vector<std::vector<IndexHit>> hits;
  Status s = impl_->index->Search(probes, want, impl_->log.get(), &hits);
  if (!s.ok()) return s;
  std::vector<std::vector<Candidate>> out(hits.size());
  std::map<int64_t, SourceRecord> sources;
  for (size_t q = 0; q < hits.size(); ++q) {
    struct Ranked {
      IndexHit hit;
      double rank_score;
    };
    std::vector<Ranked> ranked;
    std::vector<float> vectors;  // of the ranked hits, for the cohort
    for (const IndexHit& h : hits[q]) {
      const float* v = (*cohort || !impl_->optouts->ids().empty()) ? impl_->log->Find(h.id) : nullptr;
      if (!impl_->optouts->ids().empty() && (!v || impl_->OptedOut(v))) continue;
      if (*cohort && !v) return Status::Corrupt(impl_->dir + ": face " + std::to_string(h.id) + " has no vector");
      ranked.push_back({h, h.score});
      if (*cohort) vectors.insert(vectors.end(), v, v + dim);
    }
    if (*cohort && !ranked.empty()) {
      std::vector<double> mean(ranked.size()), sd(ranked.size());
      (*cohort)->Moments(vectors.data(), static_cast<int64_t>(ranked.size()), mean.data(), sd.data());
      for (size_t i = 0; i < ranked.size(); ++i)
        ranked[i].rank_score = Cohort::ZScore(ranked[i].hit.score, mean[i], sd[i]);
      std::stable_sort(ranked.begin(), ranked.end(),
                       [](const Ranked& a, const Ranked& b) { return a.rank_score > b.rank_score; });
    }
    for (const Ranked& r : ranked) {
      if (static_cast<int>(out[q].size()) >= k) break;
      const IndexHit& h = r.hit;
      Candidate c;
      c.face_id = h.id;
      c.score = h.score;
      c.rank_score = static_cast<float>(r.rank_score);
      auto face = impl_->catalog->GetFace(h.id);
      if (!face.ok()) return face.status();
      c.face = *face;
      auto img = impl_->catalog->GetImage(c.face.image_id);
      if (!img.ok()) return img.status();
      c.image = *img;
      if (!sources.count(c.image.source_id)) {
        auto src = impl_->catalog->GetSource(c.image.source_id);
        if (!src.ok()) return src.status();
        sources[c.image.source_id] = *src;
      }
      c.source = sources[c.image.source_id];
      auto subject = impl_->catalog->SubjectOfFace(h.id);
      if (!subject.ok()) return subject.status();
      c.subject = *subject;
      out[q].push_back(std::move(c));
    }
  }
  return out;
}

bool Gallery::RankedByCohort() const { return impl_->cohort.has_value(); }

Result<std::vector<std::vector<IndexHit>>> Gallery::Neighbours(std::span<const int64_t> face_ids, int k,
                                                              const std::function<void(int64_t, int64_t)>& progress) {
  if (k <= 0) return Status::InvalidArgument("k must be positive");
  const int dim = impl_->model.dim;
  const VectorIndex* index = impl_->index.get();
  // Many faces at once (a rebuild of persons): a neighbour graph made for the purpose
  // (neighbour_graph.h). The gallery's own index is built for single probes and high
  // recall at any depth (exact, or a compressed one that scans half the gallery); a
  // neighbour graph needs only each face's close neighbours, which a self-join of an
  // inverted file finds at the cost of a few matrix products.
  if (static_cast<int64_t>(face_ids.size()) >= kGraphIndexMinFaces) {
    auto live = impl_->catalog->FaceIds();
    if (!live.ok()) return live.status();
    std::vector<const float*> rows;
    std::vector<int64_t> ids;
    std::unordered_map<int64_t, int64_t> row_of;
    rows.reserve(live->size() + face_ids.size());
    for (int64_t id : *live) {
      const float* v = impl_->log->Find(id);
      if (!v) continue;
      row_of[id] = static_cast<int64_t>(rows.size());
      rows.push_back(v);
      ids.push_back(id);
    }
    const int64_t findable = static_cast<int64_t>(rows.size());
    std::vector<int64_t> queries;
    queries.reserve(face_ids.size());
    for (int64_t id : face_ids) {
      auto it = row_of.find(id);
      if (it != row_of.end()) {
        queries.push_back(it->second);
        continue;
      }
      const float* v = impl_->log->Find(id);
      if (!v) return Status::NotFound("face " + std::to_string(id) + " has no vector");
      // Not live (e.g. erased since): searched like the others, found by no one.
      row_of[id] = static_cast<int64_t>(rows.size());
      queries.push_back(static_cast<int64_t>(rows.size()));
      rows.push_back(v);
      ids.push_back(id);
    }
    NeighbourGraphOptions o;
    o.probes = kGraphProbes;
    o.findable_rows = findable;
    o.progress = progress;
    return NeighbourGraph(rows, ids, dim, queries, k, o);
  }
  std::vector<std::vector<IndexHit>> out;
  out.reserve(face_ids.size());
  // Batches keep the probe matrix small while letting the index run one BLAS product or
  // one parallel scan per batch.
  constexpr size_t kBatch = 4096;
  std::vector<float> probes;
  for (size_t at = 0; at < face_ids.size(); at += kBatch) {
    const size_t n = std::min(kBatch, face_ids.size() - at);
    probes.assign(n * static_cast<size_t>(dim), 0.0f);
    for (size_t i = 0; i < n; ++i) {
      const float* v = impl_->log->Find(face_ids[at + i]);
      if (!v) return Status::NotFound("face " + std::to_string(face_ids[at + i]) + " has no vector");
      std::copy(v, v + dim, probes.begin() + static_cast<std::ptrdiff_t>(i * static_cast<size_t>(dim)));
    }
    std::vector<std::vector<IndexHit>> hits;
    Status s = index->SearchNear(probes, k + 1, impl_->log.get(), &hits);
    if (!s.ok()) return s;
    for (size_t i = 0; i < n; ++i) {
      std::vector<IndexHit> row;
      for (const IndexHit& h : hits[i])
        if (h.id != face_ids[at + i] && h.id >= 0 && static_cast<int>(row.size()) < k) row.push_back(h);
      out.push_back(std::move(row));
    }
    if (progress) progress(static_cast<int64_t>(at + n), static_cast<int64_t>(face_ids.size()));
  }
  return out;
}

Result<Catalog::ErasePlan> Gallery::Erase(const std::string& kind, const std::string& key, const std::string& reason) {
  if (Status w = impl_->Writable(); !w.ok()) return w;
  if (reason.empty()) return Status::InvalidArgument("an erasure needs a reason (it is kept in the erasure record)");
  auto plan = impl_->catalog->PlanErase(kind, key);
  if (!plan.ok()) return plan.status();
  Status s = impl_->catalog->Erase(*plan, reason);
  if (!s.ok()) return s;
  // The catalog has committed: from here on the faces are gone even if we crash, since
  // opening drops index entries the catalog no longer has.
  s = impl_->index->Remove(plan->face_ids);
  if (!s.ok()) return s;
  impl_->cohort_fitted_at = 0;
  for (int64_t id : plan->face_ids) {
    std::error_code ec;
    fs::remove(impl_->ThumbPath(id), ec);
  }
  // A compressed index file holds codes of the erased vectors: rewrite it now.
  auto erasures = impl_->catalog->ErasureCount();
  if (!erasures.ok()) return erasures.status();
  s = impl_->SaveSnapshot(*erasures);
  if (!s.ok()) return s;
  return plan;
}

Result<std::vector<Catalog::ErasePlan>> Gallery::EraseExpired(const std::string& today) {
  if (!IsIsoDate(today)) return Status::InvalidArgument("\"" + today + "\" is not a date YYYY-MM-DD");
  auto sources = impl_->catalog->Sources();
  if (!sources.ok()) return sources.status();
  std::vector<Catalog::ErasePlan> done;
  for (const SourceRecord& src : *sources) {
    // ISO dates compare as strings; a longer form (with a time) is cut to its date.
    const std::string until = src.retention_until.substr(0, 10);
    if (until.empty() || until >= today) continue;
    auto plan = Erase("source", src.name, "retention period ended " + until);
    if (!plan.ok()) return plan.status().WithContext("source " + src.name);
    done.push_back(std::move(*plan));
  }
  return done;
}

Status Gallery::Compact(const std::string& index_spec, const std::function<void(const std::string&)>& note) {
  if (Status w = impl_->Writable(); !w.ok()) return w;
  const fs::path dir(impl_->dir);
  auto live = impl_->catalog->FaceIds();
  if (!live.ok()) return live.status();
  const std::string spec =
      index_spec.empty() ? VectorIndex::DefaultSpec(static_cast<int64_t>(live->size()), impl_->model.dim) : index_spec;
  // Refuse a bad spec before touching anything.
  auto probe = VectorIndex::Create(spec, impl_->model.dim);
  if (!probe.ok()) return probe.status();
  if (static_cast<int64_t>(live->size()) < (*probe)->MinTrainingVectors())
    return Status::InvalidArgument("index " + spec + " must be trained on at least " +
                                   std::to_string((*probe)->MinTrainingVectors()) + " faces; the gallery has " +
                                   std::to_string(live->size()) + " (use a smaller nlist, or exact)");
  // Write the live vectors to a new log, make it durable, then swap it in.
  const std::string tmp = (dir / (std::string(kVectorFile) + ".compact")).string();
  std::error_code ec;
  fs::remove(tmp, ec);
  if (note) note("rewriting " + std::string(kVectorFile) + " with " + std::to_string(live->size()) + " live faces");
  {
    auto fresh = VectorLog::Open(tmp, impl_->model.Id(), impl_->model.dim);
    if (!fresh.ok()) return fresh.status();
    std::vector<int64_t> ids;
    std::vector<float> vecs;
    const auto& all = impl_->log->ids();
    for (size_t r = 0; r < all.size(); ++r) {
      if (std::binary_search(live->begin(), live->end(), all[r]) && (ids.empty() || ids.back() != all[r])) {
        ids.push_back(all[r]);
        vecs.insert(vecs.end(), impl_->log->vector(r), impl_->log->vector(r) + impl_->model.dim);
      }
      if (ids.size() == 8192 || (r + 1 == all.size() && !ids.empty())) {
        Status s = (*fresh)->Append(ids, vecs);
        if (!s.ok()) return s;
        ids.clear();
        vecs.clear();
      }
    }
  }
  impl_->index.reset();
  impl_->log.reset();
  impl_->cohort_fitted_at = 0;
  fs::rename(tmp, dir / kVectorFile, ec);
  if (ec) return Status::IOError(tmp + ": cannot replace " + kVectorFile + " (" + ec.message() + ")");
  auto log = VectorLog::Open((dir / kVectorFile).string(), impl_->model.Id(), impl_->model.dim);
  if (!log.ok()) return log.status();
  impl_->log = std::move(*log);
  Status s = impl_->BuildIndex(spec, *live, note);
  if (!s.ok()) return s;
  auto erasures = impl_->catalog->ErasureCount();
  if (!erasures.ok()) return erasures.status();
  s = impl_->SaveSnapshot(*erasures);
  if (!s.ok()) return s;
  // Thumbnails of faces that are not live (erased, or written just before a crash).
  ec.clear();
  for (auto it = fs::directory_iterator(dir / kThumbDir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const std::string stem = it->path().stem().string();
    char* end = nullptr;
    const long long id = std::strtoll(stem.c_str(), &end, 10);
    if (end == stem.c_str() || *end || !std::binary_search(live->begin(), live->end(), id)) fs::remove(it->path(), ec);
  }
  return impl_->catalog->Vacuum();
}

const float* Gallery::StoredVector(int64_t face_id) {
  // Erased faces keep their log records until Compact; they are not returned.
  if (!impl_->catalog->GetFace(face_id).ok()) return nullptr;
  return impl_->log->Find(face_id);
}

std::string Gallery::ThumbnailPath(int64_t face_id) const {
  std::string p = impl_->ThumbPath(face_id);
  std::error_code ec;
  return fs::exists(p, ec) ? p : "";
}

Status Gallery::OptOut(std::span<const float> vector, const std::string& reason) {
  if (Status w = impl_->Writable(); !w.ok()) return w;
  if (static_cast<int>(vector.size()) != impl_->model.dim) return Status::InvalidArgument("opt-out vector of the wrong size");
  Status s = impl_->optouts->Append(std::vector<int64_t>{static_cast<int64_t>(impl_->optouts->ids().size()) + 1}, vector);
  if (!s.ok()) return s;
  auto r = impl_->catalog->AddOptOut(reason);
  return r.status();
}

bool Gallery::IsOptedOut(std::span<const float> vector) const {
  return static_cast<int>(vector.size()) == impl_->model.dim && impl_->OptedOut(vector.data());
}

}  // namespace lineup
