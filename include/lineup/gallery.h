// Gallery: a directory of enrolled faces that can be searched by face.
//
// A gallery directory holds catalog.sqlite (sources, images, faces; see catalog.h),
// vectors.log (the identity vectors, memory-mapped; see vector_log.h), the search
// index's snapshot (INDEX naming index-<n>.lux and index-<n>.ids; see vector_index.h),
// thumbnails/ (a small picture of each face, for reports) and optouts.log (vectors of
// people who opted out, kept apart from the faces). Enrolment writes each image's
// vectors durably first and then commits its catalog rows in one transaction, so killing
// the process at any moment loses at most the image being written, and enrolling the
// same files again skips what is there (same SHA-256) and finishes the job.
//
// Search goes through a VectorIndex: exact while the gallery is small, a compressed
// index with exact re-ranking above VectorIndex::DefaultSpec's limit (built when
// enrolment crosses it, at the latest at twice the limit, or by Compact). Opening reads the index snapshot and replays
// only the vectors logged after it, so a large gallery opens in seconds; the catalog
// decides which faces are live, so a snapshot that missed an erasure is corrected on
// open. A Gallery is used from one thread at a time; enrolment itself runs one
// analysis pipeline per core.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "lineup/admission.h"
#include "lineup/analyzer.h"
#include "lineup/catalog.h"
#include "lineup/status.h"
#include "lineup/vector_index.h"

namespace lineup {

// A detection that did not enter the gallery because it fails the admission rules.
struct LeftOutFace {
  std::string path;
  int face = 0;  // its number in the photo (1-based, largest first)
  cv::Rect2f box;
  std::string reason;
};

struct EnrollReport {
  int64_t files = 0;           // photo files considered
  int64_t enrolled = 0;        // images added with at least one face
  int64_t duplicates = 0;      // skipped: already in the gallery (same SHA-256)
  int64_t faces = 0;           // faces added (with all_faces, flagged ones too)
  int64_t flagged = 0;         // of those, kept although they fail admission (all_faces)
  int64_t erased_before = 0;   // refused: their faces were erased before (allow_erased)
  std::vector<std::pair<std::string, std::string>> problems;  // path, reason (unreadable, no face, ...)
  std::vector<LeftOutFace> left_out;  // faces not enrolled (or, with all_faces, flagged)
};

struct EnrollOptions {
  std::string source;           // must exist (Catalog::AddSource)
  std::string subject;          // link the largest usable face of each photo to this person
  bool subject_from_dir = false;  // ... to the person named by the photo's folder
  AdmissionRules admission;       // what a face must be to enter the gallery
  // Keep faces that fail admission too, stored with the reason (never shown as leads).
  bool all_faces = false;
  // Enrol photos whose faces were erased before (otherwise refused with the erasure's
  // date and reason); the earlier erasure stays on record.
  bool allow_erased = false;
  int workers = 0;              // analysis pipelines; 0: one per core
  // The URI recorded for a photo file (e.g. "upload:<job>/<name>" for a file uploaded to
  // the server and deleted after enrolment); empty: the file's absolute path.
  std::function<std::string(const std::string& path)> uri_of;
  // Hears about long work after the photos (building a compressed index when the
  // gallery outgrows exact search).
  std::function<void(const std::string&)> note;
};

struct Candidate {
  int64_t face_id = 0;
  float score = 0;  // dot product of unit vectors: what thresholds and FPIR apply to
  // What candidates are ordered by: the score normalised against the whole gallery
  // (Cohort: how far above this face's usual similarity to anyone it is), or the score
  // itself while the gallery has fewer than Cohort::kMinFaces faces.
  float rank_score = 0;
  FaceRecord face;
  ImageRecord image;
  SourceRecord source;
  std::string subject;  // "" if the face is not linked to a known person
};

class Gallery {
 public:
  // Creates the directory and an empty catalog. InvalidArgument if a gallery is there.
  static Status Init(const std::string& dir);
  // Opens an existing gallery; vectors are checked against the analyzer's model. With
  // no embedder named in `options`, the gallery keeps the model its vectors were made
  // with (so a gallery outlives a change of default). One process at a time may hold a
  // gallery (a lock file in the directory, like LevelDB's): a second open fails at once
  // with an error saying it is in use.
  static Result<std::unique_ptr<Gallery>> Open(const std::string& dir, const AnalyzerOptions& options);
  // Opens a gallery for searching and reading beside a process that holds it (e.g.
  // `lineup serve`): no lock is taken and nothing in the directory is written; it sees
  // the faces committed when it opened. Every method that would change the gallery
  // fails with FailedPrecondition.
  static Result<std::unique_ptr<Gallery>> OpenReadOnly(const std::string& dir, const AnalyzerOptions& options);
  ~Gallery();

  Catalog& catalog();
  const EmbeddingModel& model() const;
  // The options of Open with the embedder this gallery's vectors need: analyse probes
  // for it with these.
  const AnalyzerOptions& analyzer_options() const;
  // The gallery's directory, as given to Open.
  const std::string& dir() const;
  int64_t size() const;  // searchable faces

  // Enrols photo files (directories must be expanded by the caller, see ListPhotos)
  // into options.source, on options.workers pipelines. progress(done, report so far)
  // is called after each photo (done counts files, of report.files). Faces that match an opted-out person are not enrolled and are
  // listed as problems.
  Result<EnrollReport> Enroll(const std::vector<std::string>& files, const EnrollOptions& options,
                              const std::function<void(int64_t, const EnrollReport&)>& progress = {});

  // Adds faces whose vectors were computed elsewhere with this gallery's model, with
  // their images' records (source_id set, unique sha256): vectors first (durable), then
  // the catalog rows in one transaction, then the index, as Enroll does per photo.
  // Face ids are assigned here. vectors: one row of dim floats per face, in order.
  // Faces matching an opted-out person are refused (InvalidArgument, nothing added).
  Status AddFaces(std::span<Catalog::NewImage> images, std::span<const float> vectors);
  // What Enroll does at its end, for callers of AddFaces: moves to a compressed index if
  // the gallery has outgrown exact search, and writes the index snapshot when due.
  Status Checkpoint(const std::function<void(const std::string&)>& note = {});

  // The k best candidates for each probe (rows of dim floats), best first by
  // Candidate::rank_score: the 50 (or k, if more) most similar faces, re-ranked by
  // their similarity normalised against the gallery once it has Cohort::kMinFaces faces
  // (docs/gallery.md). Faces matching an opted-out person (at FMR 1e-4) are never returned.
  Result<std::vector<std::vector<Candidate>>> Search(std::span<const float> probes, int k);
  // The k nearest faces of each of the gallery's own faces `face_ids`, by plain
  // similarity (exact scores), best first, the face itself left out: the graph persons
  // are clustered on (persons.h). Fewer than kGraphIndexMinFaces faces are searched
  // through the gallery's own index (VectorIndex::SearchNear); more, by a neighbour
  // graph of all live faces made for the call (neighbour_graph.h: lists of about 512
  // faces, kGraphProbes visited per face): it finds close neighbours, such as the links
  // persons are made of, at a fraction of the cost, and may miss distant ones.
  // progress(done, total) now and then. NotFound for a face without a vector.
  static constexpr int64_t kGraphIndexMinFaces = 20000;
  static constexpr int kGraphProbes = 8;
  Result<std::vector<std::vector<IndexHit>>> Neighbours(std::span<const int64_t> face_ids, int k,
                                                        const std::function<void(int64_t, int64_t)>& progress = {});
  // Whether the last Search ordered its candidates by the cohort (rank_score differs from
  // the score) rather than by plain similarity.
  bool RankedByCohort() const;

  // Removes every face of a subject, a source or an image ("subject", "source",
  // "image" with the label, name or SHA-256) from the catalog and the search index at
  // once, and records the erasure with its reason (InvalidArgument if there is none). Their vector bytes leave the disk at Compact().
  Result<Catalog::ErasePlan> Erase(const std::string& kind, const std::string& key, const std::string& reason);
  // Erases every source whose retention date (SourceRecord::retention_until, a date
  // "YYYY-MM-DD") is before `today` (same form), recording "retention period ended" as
  // the reason. Returns what was erased (empty if nothing was due).
  Result<std::vector<Catalog::ErasePlan>> EraseExpired(const std::string& today);
  // Rewrites vectors.log with only the live faces, rebuilds the search index (with
  // `index_spec`, or VectorIndex::DefaultSpec for the gallery's size if empty) and
  // vacuums the catalog, so that no byte of an erased face's vector remains in the
  // gallery directory. `note` hears what is happening (rebuilding takes minutes at
  // millions of faces).
  Status Compact(const std::string& index_spec = "", const std::function<void(const std::string&)>& note = {});
  // The search index's spec (see vector_index.h) and the RAM it holds.
  std::string IndexSpec() const;
  int64_t IndexMemoryBytes() const;

  // Stores the vector of a person who opted out (in optouts.log, apart from the
  // faces) and records when and why.
  Status OptOut(std::span<const float> vector, const std::string& reason);
  // The stored vector of a live face (model().dim floats), or nullptr; valid until
  // the gallery next changes.
  const float* StoredVector(int64_t face_id);
  // The face's thumbnail (thumbnails/<id>.jpg, 160 px tall), or "" if there is none.
  std::string ThumbnailPath(int64_t face_id) const;
  // True if the vector matches an opted-out person at FMR 1e-4.
  bool IsOptedOut(std::span<const float> vector) const;

 private:
  static Result<std::unique_ptr<Gallery>> OpenImpl(const std::string& dir, const AnalyzerOptions& options, bool read_only);
  struct Impl;
  explicit Gallery(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Regular files under each path (directories recursively, sorted), or an error naming
// a path that does not exist.
Result<std::vector<std::string>> ListPhotos(const std::vector<std::string>& paths);

}  // namespace lineup
