#include "lineup/gallery.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexIDMap.h>
#include <faiss/impl/IDSelector.h>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "lineup/calibration.h"
#include "lineup/models.h"

#include <opencv2/imgcodecs.hpp>
#include "lineup/vector_log.h"

namespace lineup {

namespace fs = std::filesystem;
using idx_t = faiss::Index::idx_t;  // FAISS 1.7.3 (Debian 12) keeps it inside Index

namespace {
constexpr const char* kCatalogFile = "catalog.sqlite";
constexpr const char* kVectorFile = "vectors.log";
constexpr const char* kOptOutFile = "optouts.log";
constexpr const char* kThumbDir = "thumbnails";
constexpr int kThumbPx = 160;
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
      return Status::IOError(dir + ": the gallery is in use by another lineup process; try again when it has finished");
    return Status::OK();
  }

 private:
  int fd_ = -1;
};

struct Gallery::Impl {
  DirLock lock;
  std::string dir;
  std::string ThumbPath(int64_t id) const {
    return (fs::path(dir) / kThumbDir / (std::to_string(id) + ".jpg")).string();
  }
  AnalyzerOptions options;
  EmbeddingModel model;
  std::unique_ptr<Catalog> catalog;
  std::unique_ptr<VectorLog> log;
  std::unique_ptr<VectorLog> optouts;
  float optout_threshold = 2;  // above any similarity until calibrated
  std::unique_ptr<faiss::IndexIDMap> index;
  std::unordered_map<int64_t, size_t> row;  // face id -> its record in log->vectors()

  const float* VectorOf(int64_t id) const {
    return log->vectors().data() + row.at(id) * static_cast<size_t>(model.dim);
  }

  bool OptedOut(const float* v) const {
    const int d = model.dim;
    const auto& o = optouts->vectors();
    for (size_t i = 0; i + static_cast<size_t>(d) <= o.size(); i += static_cast<size_t>(d))
      if (Dot(v, o.data() + i, d) >= optout_threshold) return true;
    return false;
  }
};

Gallery::Gallery(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Gallery::~Gallery() = default;
Catalog& Gallery::catalog() { return *impl_->catalog; }
const EmbeddingModel& Gallery::model() const { return impl_->model; }
int64_t Gallery::size() const { return impl_->index->ntotal; }

Status Gallery::Init(const std::string& dir) {
  std::error_code ec;
  if (fs::exists(fs::path(dir) / kCatalogFile, ec)) return Status::InvalidArgument(dir + ": a gallery is already there");
  fs::create_directories(dir, ec);
  if (ec) return Status::IOError(dir + ": cannot create (" + ec.message() + ")");
  auto c = Catalog::Open((fs::path(dir) / kCatalogFile).string(), true);
  return c.status();
}

Result<std::unique_ptr<Gallery>> Gallery::Open(const std::string& dir, const AnalyzerOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  impl->options = options;
  impl->options.thumbnail_px = kThumbPx;
  if (!fs::exists(fs::path(dir) / kCatalogFile))
    return Status::NotFound(dir + ": no gallery here (create one with `lineup init " + dir + "`)");
  Status locked = impl->lock.Acquire(dir);
  if (!locked.ok()) return locked;
  auto cat = Catalog::Open((fs::path(dir) / kCatalogFile).string(), false);
  if (!cat.ok()) return cat.status();
  impl->catalog = std::move(*cat);
  {
    // The model's identity without running anything: the embedder names it.
    auto emb = Embedder::Create(options.embedder.empty() ? Embedder::DefaultSpec() : options.embedder,
                                options.model_dir.empty() ? DefaultModelDir() : options.model_dir);
    if (!emb.ok()) return emb.status();
    impl->model = (*emb)->Model();
  }
  auto log = VectorLog::Open((fs::path(dir) / kVectorFile).string(), impl->model.Id(), impl->model.dim);
  if (!log.ok()) return log.status();
  impl->log = std::move(*log);
  auto optouts = VectorLog::Open((fs::path(dir) / kOptOutFile).string(), impl->model.Id(), impl->model.dim);
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
  auto ids = impl->catalog->FaceIds();
  if (!ids.ok()) return ids.status();
  std::unordered_set<int64_t> known(ids->begin(), ids->end());
  impl->index = std::make_unique<faiss::IndexIDMap>(new faiss::IndexFlatIP(impl->model.dim));
  impl->index->own_fields = true;
  const auto& lids = impl->log->ids();
  const auto& vecs = impl->log->vectors();
  std::vector<idx_t> keep_ids;
  std::vector<float> keep;
  std::unordered_set<int64_t> seen;
  for (size_t i = 0; i < lids.size(); ++i) {
    if (!known.count(lids[i]) || !seen.insert(lids[i]).second) continue;
    impl->row[lids[i]] = i;
    keep_ids.push_back(lids[i]);
    keep.insert(keep.end(), vecs.begin() + static_cast<std::ptrdiff_t>(i * impl->model.dim),
                vecs.begin() + static_cast<std::ptrdiff_t>((i + 1) * impl->model.dim));
  }
  if (seen.size() != known.size())
    return Status::Corrupt(dir + ": " + std::to_string(known.size() - seen.size()) +
                           " catalogued face(s) have no vector in " + kVectorFile);
  if (!keep_ids.empty()) impl->index->add_with_ids(static_cast<idx_t>(keep_ids.size()), keep.data(), keep_ids.data());
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
  auto source = impl_->catalog->FindSource(options.source);
  if (!source.ok()) return source.status();
  EnrollReport report;
  report.files = static_cast<int64_t>(files.size());
  // Skip what is already enrolled before spending any analysis on it.
  std::vector<std::string> todo;
  std::vector<std::string> hashes;
  std::vector<std::string> captured_at;
  std::map<std::string, std::string> first_path_of_hash;
  for (const auto& f : files) {
    auto bytes = ReadFileBytes(f, impl_->options.decode.max_bytes);
    if (!bytes.ok()) {
      report.problems.push_back({f, bytes.status().message()});
      continue;
    }
    std::string h = Sha256Hex(bytes->data(), bytes->size());
    const std::string captured =
        ExifCaptureTime({reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size()});
    auto have = impl_->catalog->FindImageBySha256(h);
    if (!have.ok()) return have.status();
    if (*have || !first_path_of_hash.emplace(h, f).second) {
      ++report.duplicates;
      continue;
    }
    todo.push_back(f);
    hashes.push_back(h);
    captured_at.push_back(captured);
  }
  auto max_id = impl_->catalog->MaxFaceId();
  if (!max_id.ok()) return max_id.status();
  // Ids already in the log (from an interrupted run) are never reused.
  int64_t next_id = *max_id;
  for (int64_t id : impl_->log->ids()) next_id = std::max(next_id, id);
  ++next_id;
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
      report.problems.push_back({r.path, r.path + ": no face found"});
      return;
    }
    // Faces of people who opted out are never enrolled.
    std::vector<Face> faces;
    for (Face& f : r.faces) {
      if (impl_->OptedOut(f.embedding.data())) {
        report.problems.push_back({r.path, r.path + ": a face matches a person who opted out; not enrolled"});
        continue;
      }
      faces.push_back(std::move(f));
    }
    if (faces.empty()) return;
    std::string subject = options.subject;
    if (options.subject_from_dir) subject = fs::path(r.path).parent_path().filename().string();
    const int subject_face = subject.empty() ? -1 : PickFace(faces, {r.width, r.height}, FacePick::kLargest);
    if (subject_face >= 0 && faces.size() > 1)
      report.problems.push_back({r.path, r.path + ": " + std::to_string(faces.size()) + " faces; only #" +
                                             std::to_string(subject_face + 1) + " (the largest usable) linked to " + subject});
    std::vector<int64_t> ids;
    std::vector<float> vecs;
    std::vector<FaceRecord> recs;
    for (const Face& f : faces) {
      ids.push_back(next_id++);
      vecs.insert(vecs.end(), f.embedding.begin(), f.embedding.end());
      FaceRecord fr;
      fr.id = ids.back();
      fr.box = f.box;
      fr.landmarks = f.five;
      fr.confidence = f.confidence;
      fr.quality = f.quality.score;
      fr.quality_reasons = f.quality.reasons;
      recs.push_back(std::move(fr));
    }
    const size_t first_row = impl_->log->ids().size();
    Status w = impl_->log->Append(ids, vecs);
    ImageRecord img;
    img.sha256 = hashes[i];
    img.captured_at = captured_at[i];
    img.uri = fs::absolute(r.path).lexically_normal().string();
    img.bytes = static_cast<int64_t>(fs::file_size(r.path));
    img.format = r.info.format;
    img.width = r.width;
    img.height = r.height;
    img.source_id = source->id;
    // Thumbnails before the catalog commit: a crash leaves orphans, which Compact removes.
    if (w.ok()) {
      std::error_code ec;
      fs::create_directories(fs::path(impl_->dir) / kThumbDir, ec);
      for (size_t k = 0; k < faces.size() && w.ok(); ++k)
        if (!faces[k].thumbnail.empty() && !cv::imwrite(impl_->ThumbPath(ids[k]), faces[k].thumbnail))
          w = Status::IOError(impl_->ThumbPath(ids[k]) + ": cannot write thumbnail");
    }
    if (w.ok()) w = impl_->catalog->AddImage(&img, &recs, subject, subject_face);
    if (!w.ok()) {
      failed = w;
      return;
    }
    impl_->index->add_with_ids(static_cast<idx_t>(ids.size()), vecs.data(), ids.data());
    for (size_t k = 0; k < ids.size(); ++k) impl_->row[ids[k]] = first_row + k;
    ++report.enrolled;
    report.faces += static_cast<int64_t>(ids.size());
  });
  if (!s.ok()) return s;
  if (!failed.ok()) return failed;
  return report;
}

Result<std::vector<std::vector<Candidate>>> Gallery::Search(std::span<const float> probes, int k) {
  const int dim = impl_->model.dim;
  if (probes.empty() || probes.size() % static_cast<size_t>(dim) != 0)
    return Status::InvalidArgument("probe vectors must have " + std::to_string(dim) + " values each");
  if (k <= 0) return Status::InvalidArgument("top-k must be positive");
  const idx_t n = static_cast<idx_t>(probes.size() / static_cast<size_t>(dim));
  // Ask for more than k when opt-outs may remove some of the nearest faces.
  const idx_t want = impl_->optouts->ids().empty() ? k : 2 * static_cast<idx_t>(k) + 16;
  const idx_t kk = std::min<idx_t>(want, std::max<idx_t>(1, impl_->index->ntotal));
  std::vector<float> dist(static_cast<size_t>(n * kk));
  std::vector<idx_t> labels(static_cast<size_t>(n * kk));
  if (impl_->index->ntotal > 0) impl_->index->search(n, probes.data(), kk, dist.data(), labels.data());
  std::vector<std::vector<Candidate>> out(static_cast<size_t>(n));
  std::map<int64_t, SourceRecord> sources;
  for (idx_t q = 0; q < n && impl_->index->ntotal > 0; ++q) {
    for (idx_t j = 0; j < kk; ++j) {
      idx_t id = labels[static_cast<size_t>(q * kk + j)];
      if (id < 0 || static_cast<int>(out[static_cast<size_t>(q)].size()) >= k) continue;
      if (!impl_->optouts->ids().empty() && impl_->OptedOut(impl_->VectorOf(id))) continue;
      Candidate c;
      c.face_id = id;
      c.score = dist[static_cast<size_t>(q * kk + j)];
      auto face = impl_->catalog->GetFace(id);
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
      auto subject = impl_->catalog->SubjectOfFace(id);
      if (!subject.ok()) return subject.status();
      c.subject = *subject;
      out[static_cast<size_t>(q)].push_back(std::move(c));
    }
  }
  return out;
}

Result<Catalog::ErasePlan> Gallery::Erase(const std::string& kind, const std::string& key, const std::string& reason) {
  auto plan = impl_->catalog->PlanErase(kind, key);
  if (!plan.ok()) return plan.status();
  Status s = impl_->catalog->Erase(*plan, reason);
  if (!s.ok()) return s;
  if (!plan->face_ids.empty()) {
    std::vector<idx_t> ids(plan->face_ids.begin(), plan->face_ids.end());
    faiss::IDSelectorArray sel(ids.size(), ids.data());
    impl_->index->remove_ids(sel);
    for (int64_t id : plan->face_ids) {
      impl_->row.erase(id);
      std::error_code ec;
      fs::remove(impl_->ThumbPath(id), ec);
    }
  }
  return plan;
}

Status Gallery::Compact() {
  // Write the live vectors to a new log, make it durable, then swap it in.
  const fs::path dir(impl_->dir);
  const std::string tmp = (dir / (std::string(kVectorFile) + ".compact")).string();
  std::error_code ec;
  fs::remove(tmp, ec);
  std::vector<int64_t> ids;
  std::vector<float> vecs;
  for (int64_t id : impl_->log->ids()) {
    if (!impl_->row.count(id)) continue;
    if (!ids.empty() && ids.back() == id) continue;
    const float* v = impl_->VectorOf(id);
    ids.push_back(id);
    vecs.insert(vecs.end(), v, v + impl_->model.dim);
  }
  {
    auto fresh = VectorLog::Open(tmp, impl_->model.Id(), impl_->model.dim);
    if (!fresh.ok()) return fresh.status();
    if (!ids.empty()) {
      Status s = (*fresh)->Append(ids, vecs);
      if (!s.ok()) return s;
    }
  }
  impl_->log.reset();
  fs::rename(tmp, dir / kVectorFile, ec);
  if (ec) return Status::IOError(tmp + ": cannot replace " + kVectorFile + " (" + ec.message() + ")");
  auto log = VectorLog::Open((dir / kVectorFile).string(), impl_->model.Id(), impl_->model.dim);
  if (!log.ok()) return log.status();
  impl_->log = std::move(*log);
  impl_->row.clear();
  for (size_t i = 0; i < impl_->log->ids().size(); ++i) impl_->row[impl_->log->ids()[i]] = i;
  // Thumbnails of faces that are not live (erased, or written just before a crash).
  ec.clear();
  for (auto it = fs::directory_iterator(dir / kThumbDir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const std::string stem = it->path().stem().string();
    char* end = nullptr;
    const long long id = std::strtoll(stem.c_str(), &end, 10);
    if (end == stem.c_str() || *end || !impl_->row.count(id)) fs::remove(it->path(), ec);
  }
  return impl_->catalog->Vacuum();
}

std::string Gallery::ThumbnailPath(int64_t face_id) const {
  std::string p = impl_->ThumbPath(face_id);
  std::error_code ec;
  return fs::exists(p, ec) ? p : "";
}

Status Gallery::OptOut(std::span<const float> vector, const std::string& reason) {
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
