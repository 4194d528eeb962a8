// Catalog: the gallery's records of sources, images and faces, in one SQLite file.
//
// Every image belongs to a source that names its legal basis; every face belongs to an
// image and carries the id of its vector in the VectorLog. Writes are transactions: an
// image and all its faces appear together or not at all. The schema is versioned
// (table schema_version) and migrated forward on open. The file runs in WAL mode, so
// readers never block the single writer. A Catalog is used from one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "lineup/face.h"
#include "lineup/status.h"

namespace lineup {

struct SourceRecord {
  int64_t id = 0;
  std::string name;             // unique, e.g. "case-1234-seized-phone"
  std::string description;
  std::string legal_basis;      // required: why Lineup may hold these photos
  std::string collected_by;
  std::string collected_at;     // ISO 8601 date
  std::string retention_until;  // ISO 8601 date, empty: until erased
  std::string created_at;       // set by the catalog
  // What its legal basis allows the photos to be used for (kPurposes, canonical order):
  // "search" (finding a face), "network" (co-appearance analysis, network.h). Sources
  // made before purposes existed allow "search" only.
  std::vector<std::string> purposes{"search"};
  bool Allows(const std::string& purpose) const;
};

// Every purpose a source can allow, in canonical order.
inline constexpr const char* kPurposes[] = {"search", "network"};
// "search,network" -> {"search", "network"}: comma-separated, spaces around names
// ignored, duplicates merged, canonical order. InvalidArgument for an empty list or a
// name that is not in kPurposes.
Result<std::vector<std::string>> ParsePurposes(const std::string& list);
// {"search", "network"} -> "search,network".
std::string JoinPurposes(const std::vector<std::string>& purposes);

struct ImageRecord {
  int64_t id = 0;
  std::string sha256;  // of the file's bytes; unique
  std::string uri;     // original path or URI
  int64_t bytes = 0;
  std::string format;
  int width = 0, height = 0;
  int64_t source_id = 0;
  std::string enrolled_at;  // set by the catalog
  std::string captured_at;  // EXIF capture time, "" if unknown
  std::string place;        // EXIF GPS position "LAT,LON" in decimal degrees, "" if unknown
};

struct FaceRecord {
  int64_t id = 0;  // also the vector's id
  int64_t image_id = 0;
  cv::Rect2f box;
  FivePoints landmarks{};
  float confidence = 0;
  float quality = 0;
  std::vector<std::string> quality_reasons;
  // Why the face fails the gallery's admission rules (admission.h), for a face kept
  // anyway (enrolled with --all-faces); "" for an admitted face. Such a face is never
  // shown as a lead above a search's threshold.
  std::string excluded;
};

struct CatalogCounts {
  int64_t sources = 0, images = 0, faces = 0, subjects = 0;
};

// True for a calendar date written YYYY-MM-DD (the form retention dates take, so that
// they compare correctly as text).
bool IsIsoDate(const std::string& s);

class Catalog {
 public:
  // Opens (and with `create`, makes) the catalog at `path`, migrating its schema.
  static Result<std::unique_ptr<Catalog>> Open(const std::string& path, bool create);
  ~Catalog();

  static constexpr int kSchemaVersion = 5;

  // InvalidArgument if the name is taken, the legal basis is empty or a purpose unknown.
  Status AddSource(SourceRecord* source);
  // Changes what a source's photos may be used for (ParsePurposes' rules); NotFound if
  // there is no such source. Takes effect for every later query (nothing is cached).
  Status SetSourcePurposes(const std::string& name, const std::vector<std::string>& purposes);
  // NotFound if there is no such source.
  Result<SourceRecord> FindSource(const std::string& name);
  Result<std::vector<SourceRecord>> Sources();

  // The image with this content hash, if enrolled.
  Result<std::optional<ImageRecord>> FindImageBySha256(const std::string& sha256);
  // Adds an image and its faces in one transaction and fills in the image id. The
  // faces arrive with their ids already set (MaxFaceId()+1 upward), because their
  // vectors are made durable before the catalog commits (see Gallery). If `subject`
  // is not empty, face number `subject_face` (index into faces) is linked to that
  // subject, which is created if new, in the same transaction.
  Status AddImage(ImageRecord* image, std::vector<FaceRecord>* faces, const std::string& subject = "",
                  int subject_face = -1);
  // The same for many images in one transaction (all or none): bulk imports.
  struct NewImage {
    ImageRecord image;
    std::vector<FaceRecord> faces;
    std::string subject;
    int subject_face = -1;
  };
  Status AddImages(std::span<NewImage> images);

  // The subject linked to a face, or "" if none.
  Result<std::string> SubjectOfFace(int64_t face_id);
  // Known people: label, notes and how many faces are linked to each, by label.
  struct SubjectRecord {
    std::string label, notes;
    int64_t faces = 0;
  };
  Result<std::vector<SubjectRecord>> Subjects();
  // Face ids linked to a subject label (empty if the subject is unknown).
  Result<std::vector<int64_t>> FacesOfSubject(const std::string& label);

  // What an erasure removes, found before it happens.
  struct ErasePlan {
    std::string what;  // "subject:NAME", "source:NAME" or "image:SHA256"
    std::vector<int64_t> face_ids;
    int64_t images = 0;
  };
  // NotFound if nothing matches. kind is "subject", "source" or "image".
  Result<ErasePlan> PlanErase(const std::string& kind, const std::string& key);
  // Deletes the plan's faces (and, for a source or image, the images; for a source or
  // subject, that record too) and writes an erasure record holding only what was
  // erased, how much, when and why: no face data. One transaction.
  Status Erase(const ErasePlan& plan, const std::string& reason);
  struct ErasureRecord {
    int64_t id = 0;
    std::string what, reason, at;
    int64_t faces = 0, images = 0;
  };
  Result<std::vector<ErasureRecord>> Erasures();
  // Records an opt-out (reason and time only; the vector lives in optouts.log).
  Result<int64_t> AddOptOut(const std::string& reason);
  // Rewrites the catalog file so that deleted rows leave no trace on disk.
  Status Vacuum();
  // The largest face id ever stored, erased faces included (ids are never reused), 0 for none.
  Result<int64_t> MaxFaceId();

  Result<FaceRecord> GetFace(int64_t face_id);
  Result<ImageRecord> GetImage(int64_t image_id);
  Result<SourceRecord> GetSource(int64_t source_id);
  // Ids of the catalogued faces above `above` (all of them by default), ascending.
  Result<std::vector<int64_t>> FaceIds(int64_t above = 0);
  // Erasures recorded so far (changes whenever faces are erased).
  Result<int64_t> ErasureCount();
  Result<CatalogCounts> Counts();
  // Images and faces per source, by source name.
  struct SourceCounts {
    std::string name;
    int64_t images = 0, faces = 0;
  };
  Result<std::vector<SourceCounts>> CountsBySource();
  // The erasure that removed this photo's faces (erasure of a subject or of the image;
  // an erased source forgets its photos), or none.
  Result<std::optional<ErasureRecord>> ErasureOfImage(const std::string& sha256);
  // Live faces of an image.
  Result<int64_t> FaceCountOfImage(int64_t image_id);
  // Drops the record of an erased photo (and its image row, which must hold no live
  // face: FailedPrecondition otherwise), so it can be enrolled afresh. The erasure
  // record itself stays.
  Status ForgetErasedImage(const std::string& sha256);

 private:
  struct Impl;
  explicit Catalog(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace lineup
