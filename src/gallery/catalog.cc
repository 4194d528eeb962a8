#include "lineup/catalog.h"

#include "util/sqlite_db.h"
#include "util/sqlite_stmt.h"

#include <sqlite3.h>

#include <algorithm>
#include <functional>
#include <iterator>

#include <nlohmann/json.hpp>

namespace lineup {

namespace {

// Version 1. Later versions append statements to kMigrations; never edit old ones.
const char* kMigrations[] = {
    R"sql(
CREATE TABLE sources (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  description TEXT NOT NULL DEFAULT '',
  legal_basis TEXT NOT NULL CHECK (length(legal_basis) > 0),
  collected_by TEXT NOT NULL DEFAULT '',
  collected_at TEXT NOT NULL DEFAULT '',
  retention_until TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')));
CREATE TABLE images (
  id INTEGER PRIMARY KEY,
  sha256 TEXT NOT NULL UNIQUE,
  uri TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  format TEXT NOT NULL,
  width INTEGER NOT NULL,
  height INTEGER NOT NULL,
  source_id INTEGER NOT NULL REFERENCES sources(id),
  enrolled_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')));
CREATE INDEX images_source ON images(source_id);
CREATE TABLE faces (
  id INTEGER PRIMARY KEY,
  image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  x REAL NOT NULL, y REAL NOT NULL, w REAL NOT NULL, h REAL NOT NULL,
  landmarks TEXT NOT NULL,
  confidence REAL NOT NULL,
  quality REAL NOT NULL,
  quality_reasons TEXT NOT NULL);
CREATE INDEX faces_image ON faces(image_id);
CREATE TABLE subjects (
  id INTEGER PRIMARY KEY,
  label TEXT NOT NULL UNIQUE,
  notes TEXT NOT NULL DEFAULT '');
CREATE TABLE face_subjects (
  face_id INTEGER NOT NULL REFERENCES faces(id) ON DELETE CASCADE,
  subject_id INTEGER NOT NULL REFERENCES subjects(id) ON DELETE CASCADE,
  PRIMARY KEY (face_id, subject_id));
CREATE TABLE erasures (
  id INTEGER PRIMARY KEY,
  what TEXT NOT NULL,
  reason TEXT NOT NULL DEFAULT '',
  faces INTEGER NOT NULL,
  images INTEGER NOT NULL,
  at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')));
CREATE TABLE optouts (
  id INTEGER PRIMARY KEY,
  reason TEXT NOT NULL DEFAULT '',
  at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')));
)sql",
    // Version 2: when the photo was taken, from its EXIF data.
    "ALTER TABLE images ADD COLUMN captured_at TEXT NOT NULL DEFAULT '';",
    // Version 3: the highest face id ever stored, so that an id is never given to a
    // second face after the first was erased and compacted away (audit records and
    // reviews name faces by id).
    R"sql(
CREATE TABLE face_id_high_water (id INTEGER NOT NULL);
INSERT INTO face_id_high_water SELECT COALESCE(MAX(id), 0) FROM faces;
CREATE TRIGGER faces_high_water AFTER INSERT ON faces
  WHEN NEW.id > (SELECT id FROM face_id_high_water)
  BEGIN UPDATE face_id_high_water SET id = NEW.id; END;
)sql",
    // Version 4: faces kept with --all-faces although they fail the admission rules
    // (excluded: the reason, '' for an admitted face), and the photos whose faces an
    // erasure removed, so that enrolling them again is refused with the truth rather
    // than done silently (or skipped as "already in the gallery").
    R"sql(
ALTER TABLE faces ADD COLUMN excluded TEXT NOT NULL DEFAULT '';
CREATE TABLE erased_images (
  sha256 TEXT PRIMARY KEY,
  erasure_id INTEGER NOT NULL REFERENCES erasures(id));
)sql",
    // Version 5: what each source's legal basis allows its photos to be used for
    // (comma-separated kPurposes). Sources made before allow searching only.
    "ALTER TABLE sources ADD COLUMN purposes TEXT NOT NULL DEFAULT 'search';",
    // Version 6: where the photo was taken, from its EXIF GPS data ("LAT,LON").
    "ALTER TABLE images ADD COLUMN place TEXT NOT NULL DEFAULT '';",
};

using Stmt = SqliteStmt;

SourceRecord ReadSource(Stmt& s) {
  SourceRecord r;
  r.id = s.Int(0);
  r.name = s.Text(1);
  r.description = s.Text(2);
  r.legal_basis = s.Text(3);
  r.collected_by = s.Text(4);
  r.collected_at = s.Text(5);
  r.retention_until = s.Text(6);
  r.created_at = s.Text(7);
  // Only names this build knows count; a damaged list allows nothing rather than more.
  r.purposes.clear();
  const std::string stored = s.Text(8);
  std::vector<std::string> names;
  for (size_t at = 0; at <= stored.size();) {
    size_t comma = stored.find(',', at);
    if (comma == std::string::npos) comma = stored.size();
    names.push_back(stored.substr(at, comma - at));
    at = comma + 1;
  }
  for (const char* p : kPurposes)
    if (std::find(names.begin(), names.end(), p) != names.end()) r.purposes.push_back(p);
  return r;
}
constexpr const char* kSourceCols =
    "SELECT id, name, description, legal_basis, collected_by, collected_at, retention_until, created_at, purposes "
    "FROM sources";

}  // namespace

struct Catalog::Impl {
  std::unique_ptr<SqliteDb> conn;
  sqlite3* db() const { return conn->db(); }
};

Catalog::Catalog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Catalog::~Catalog() = default;

Result<std::unique_ptr<Catalog>> Catalog::Open(const std::string& path, bool create) {
  auto impl = std::make_unique<Impl>();
  auto conn = SqliteDb::Open(path, create, 10000);
  if (!conn.ok()) return conn.status();
  impl->conn = std::move(*conn);
  Status s = impl->conn->Exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
  if (!s.ok()) return s;
  int64_t version = 0;
  {
    Stmt q(impl->db(), "SELECT COALESCE(MAX(version), 0) FROM schema_version");
    if (!q.ok() || q.Step() != SQLITE_ROW) return impl->conn->Error("cannot read schema version");
    version = q.Int(0);
  }
  constexpr int64_t known = sizeof(kMigrations) / sizeof(kMigrations[0]);
  if (version > known)
    return Status::Corrupt(path + ": catalog schema version " + std::to_string(version) +
                           " is newer than this lineup understands (" + std::to_string(known) + ")");
  for (int64_t v = version; v < known; ++v) {
    std::string sql = "BEGIN IMMEDIATE;";
    sql += kMigrations[v];
    sql += "INSERT INTO schema_version VALUES (" + std::to_string(v + 1) + "); COMMIT;";
    Status m = impl->conn->Exec(sql.c_str());
    if (!m.ok()) {
      impl->conn->Exec("ROLLBACK");
      return m.WithContext("schema migration to version " + std::to_string(v + 1));
    }
  }
  return std::unique_ptr<Catalog>(new Catalog(std::move(impl)));
}

bool IsIsoDate(const std::string& s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (int i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (s[i] < '0' || s[i] > '9') return false;
  const int month = (s[5] - '0') * 10 + (s[6] - '0'), day = (s[8] - '0') * 10 + (s[9] - '0');
  return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

bool SourceRecord::Allows(const std::string& purpose) const {
  return std::find(purposes.begin(), purposes.end(), purpose) != purposes.end();
}

Result<std::vector<std::string>> ParsePurposes(const std::string& list) {
  std::vector<bool> wanted(std::size(kPurposes), false);
  size_t at = 0;
  bool any = false;
  while (at <= list.size()) {
    size_t comma = list.find(',', at);
    if (comma == std::string::npos) comma = list.size();
    std::string item = list.substr(at, comma - at);
    const size_t b = item.find_first_not_of(' '), e = item.find_last_not_of(' ');
    item = b == std::string::npos ? "" : item.substr(b, e - b + 1);
    at = comma + 1;
    if (item.empty()) continue;
    size_t k = 0;
    while (k < std::size(kPurposes) && item != kPurposes[k]) ++k;
    if (k == std::size(kPurposes)) {
      std::string shown;
      for (unsigned char c : item.substr(0, 40)) shown += c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?';
      return Status::InvalidArgument("unknown purpose \"" + shown + "\" (purposes: search, network)");
    }
    wanted[k] = any = true;
  }
  if (!any) return Status::InvalidArgument("a source needs at least one purpose (search, network)");
  std::vector<std::string> out;
  for (size_t k = 0; k < wanted.size(); ++k)
    if (wanted[k]) out.push_back(kPurposes[k]);
  return out;
}

std::string JoinPurposes(const std::vector<std::string>& purposes) {
  std::string out;
  for (const auto& p : purposes) out += (out.empty() ? "" : ",") + p;
  return out;
}

Status Catalog::AddSource(SourceRecord* src) {
  if (src->name.empty()) return Status::InvalidArgument("a source needs a name");
  if (src->legal_basis.empty())
    return Status::InvalidArgument("source \"" + src->name + "\" needs a legal basis (--legal-basis TEXT)");
  // Retention is enforced by comparing dates as text (Gallery::EraseExpired), so only
  // the one form that compares correctly is accepted.
  if (!src->retention_until.empty() && !IsIsoDate(src->retention_until))
    return Status::InvalidArgument("retention date \"" + src->retention_until + "\" is not a date YYYY-MM-DD");
  auto purposes = ParsePurposes(JoinPurposes(src->purposes));
  if (!purposes.ok()) return purposes.status();
  Stmt q(impl_->db(),
         "INSERT INTO sources (name, description, legal_basis, collected_by, collected_at, retention_until, purposes) "
         "VALUES (?, ?, ?, ?, ?, ?, ?)");
  q.Bind(1, src->name).Bind(2, src->description).Bind(3, src->legal_basis).Bind(4, src->collected_by);
  q.Bind(5, src->collected_at).Bind(6, src->retention_until).Bind(7, JoinPurposes(*purposes));
  int rc = q.Step();
  if (rc == SQLITE_CONSTRAINT) return Status::InvalidArgument("source \"" + src->name + "\" already exists");
  if (rc != SQLITE_DONE) return impl_->conn->Error("cannot add source");
  src->id = sqlite3_last_insert_rowid(impl_->db());
  auto back = GetSource(src->id);
  if (back.ok()) *src = *back;
  return Status::OK();
}

Status Catalog::SetSourcePurposes(const std::string& name, const std::vector<std::string>& purposes) {
  auto checked = ParsePurposes(JoinPurposes(purposes));
  if (!checked.ok()) return checked.status();
  Stmt q(impl_->db(), "UPDATE sources SET purposes = ? WHERE name = ?");
  q.Bind(1, JoinPurposes(*checked)).Bind(2, name);
  if (q.Step() != SQLITE_DONE) return impl_->conn->Error("cannot change the purposes of source " + name);
  if (sqlite3_changes(impl_->db()) == 0) return Status::NotFound("no source \"" + name + "\"");
  return Status::OK();
}

Result<SourceRecord> Catalog::FindSource(const std::string& name) {
  Stmt q(impl_->db(), (std::string(kSourceCols) + " WHERE name = ?").c_str());
  q.Bind(1, name);
  if (q.Step() != SQLITE_ROW) return Status::NotFound("no source \"" + name + "\" (add it with `lineup source add`)");
  return ReadSource(q);
}

Result<SourceRecord> Catalog::GetSource(int64_t id) {
  Stmt q(impl_->db(), (std::string(kSourceCols) + " WHERE id = ?").c_str());
  q.Bind(1, id);
  if (q.Step() != SQLITE_ROW) return Status::NotFound("no source " + std::to_string(id));
  return ReadSource(q);
}

Result<std::vector<SourceRecord>> Catalog::Sources() {
  Stmt q(impl_->db(), (std::string(kSourceCols) + " ORDER BY name").c_str());
  std::vector<SourceRecord> out;
  while (q.Step() == SQLITE_ROW) out.push_back(ReadSource(q));
  return out;
}

namespace {
constexpr const char* kImageCols =
    "SELECT id, sha256, uri, bytes, format, width, height, source_id, enrolled_at, captured_at, place FROM images";
ImageRecord ReadImageRow(Stmt& q) {
  return {q.Int(0), q.Text(1), q.Text(2), q.Int(3), q.Text(4), static_cast<int>(q.Int(5)), static_cast<int>(q.Int(6)),
          q.Int(7), q.Text(8), q.Text(9), q.Text(10)};
}
}  // namespace

Result<std::optional<ImageRecord>> Catalog::FindImageBySha256(const std::string& sha256) {
  Stmt q(impl_->db(), (std::string(kImageCols) + " WHERE sha256 = ?").c_str());
  q.Bind(1, sha256);
  if (q.Step() != SQLITE_ROW) return std::optional<ImageRecord>();
  return std::optional<ImageRecord>(ReadImageRow(q));
}

Result<ImageRecord> Catalog::GetImage(int64_t id) {
  Stmt q(impl_->db(), (std::string(kImageCols) + " WHERE id = ?").c_str());
  q.Bind(1, id);
  if (q.Step() != SQLITE_ROW) return Status::NotFound("no image " + std::to_string(id));
  return ReadImageRow(q);
}

Status Catalog::AddImage(ImageRecord* image, std::vector<FaceRecord>* faces, const std::string& subject,
                         int subject_face) {
  NewImage one{std::move(*image), std::move(*faces), subject, subject_face};
  Status s = AddImages(std::span<NewImage>(&one, 1));
  *image = std::move(one.image);
  *faces = std::move(one.faces);
  return s;
}

Status Catalog::AddImages(std::span<NewImage> batch) {
  return impl_->conn->InTransaction([&]() -> Status {
    auto fail = [&](const std::string& what) { return impl_->conn->Error(what); };
    // Prepared once for the whole batch.
    Stmt img(impl_->db(),
             "INSERT INTO images (sha256, uri, bytes, format, width, height, source_id, captured_at, place) "
             "VALUES (?,?,?,?,?,?,?,?,?)");
    Stmt face(impl_->db(),
              "INSERT INTO faces (id, image_id, x, y, w, h, landmarks, confidence, quality, quality_reasons, excluded) "
              "VALUES (?,?,?,?,?,?,?,?,?,?,?)");
    for (NewImage& n : batch) {
      ImageRecord* image = &n.image;
      img.Reset();
      img.Bind(1, image->sha256).Bind(2, image->uri).Bind(3, image->bytes).Bind(4, image->format);
      img.Bind(5, int64_t{image->width}).Bind(6, int64_t{image->height}).Bind(7, image->source_id);
      img.Bind(8, image->captured_at).Bind(9, image->place);
      if (img.Step() != SQLITE_DONE) return fail("cannot add image " + image->uri);
      image->id = sqlite3_last_insert_rowid(impl_->db());
      for (auto& f : n.faces) {
        f.image_id = image->id;
        nlohmann::json lm = nlohmann::json::array();
        for (const auto& p : f.landmarks) lm.push_back({p.x, p.y});
        face.Reset();
        face.Bind(1, f.id).Bind(2, f.image_id).Bind(3, double{f.box.x}).Bind(4, double{f.box.y});
        face.Bind(5, double{f.box.width}).Bind(6, double{f.box.height}).Bind(7, lm.dump());
        face.Bind(8, double{f.confidence}).Bind(9, double{f.quality}).Bind(10, nlohmann::json(f.quality_reasons).dump());
        face.Bind(11, f.excluded);
        if (face.Step() != SQLITE_DONE) return fail("cannot add face " + std::to_string(f.id));
      }
      if (!n.subject.empty() && n.subject_face >= 0 && n.subject_face < static_cast<int>(n.faces.size())) {
        Stmt add(impl_->db(), "INSERT OR IGNORE INTO subjects (label) VALUES (?)");
        add.Bind(1, n.subject);
        if (add.Step() != SQLITE_DONE) return fail("cannot add subject " + n.subject);
        Stmt link(impl_->db(),
                  "INSERT INTO face_subjects (face_id, subject_id) SELECT ?, id FROM subjects WHERE label = ?");
        link.Bind(1, n.faces[static_cast<size_t>(n.subject_face)].id).Bind(2, n.subject);
        if (link.Step() != SQLITE_DONE) return fail("cannot link subject " + n.subject);
      }
    }
    return Status::OK();
  });
}

Result<int64_t> Catalog::MaxFaceId() {
  Stmt q(impl_->db(), "SELECT MAX(COALESCE((SELECT MAX(id) FROM faces), 0), (SELECT id FROM face_id_high_water))");
  if (q.Step() != SQLITE_ROW) return impl_->conn->Error("cannot read faces");
  return q.Int(0);
}

Result<FaceRecord> Catalog::GetFace(int64_t id) {
  Stmt q(impl_->db(),
         "SELECT id, image_id, x, y, w, h, landmarks, confidence, quality, quality_reasons, excluded FROM faces WHERE id = ?");
  q.Bind(1, id);
  if (q.Step() != SQLITE_ROW) return Status::NotFound("no face " + std::to_string(id));
  FaceRecord f;
  f.id = q.Int(0);
  f.image_id = q.Int(1);
  f.box = cv::Rect2f(static_cast<float>(q.Real(2)), static_cast<float>(q.Real(3)), static_cast<float>(q.Real(4)),
                     static_cast<float>(q.Real(5)));
  try {
    auto lm = nlohmann::json::parse(q.Text(6));
    for (size_t i = 0; i < 5 && i < lm.size(); ++i) f.landmarks[i] = {lm[i][0].get<float>(), lm[i][1].get<float>()};
    f.quality_reasons = nlohmann::json::parse(q.Text(9)).get<std::vector<std::string>>();
  } catch (const std::exception& e) {
    return Status::Corrupt(impl_->conn->path() + ": face " + std::to_string(id) + " has a damaged record");
  }
  f.confidence = static_cast<float>(q.Real(7));
  f.quality = static_cast<float>(q.Real(8));
  f.excluded = q.Text(10);
  return f;
}

Result<std::vector<int64_t>> Catalog::FaceIds(int64_t above) {
  Stmt q(impl_->db(), "SELECT id FROM faces WHERE id > ? ORDER BY id");
  q.Bind(1, above);
  std::vector<int64_t> ids;
  while (q.Step() == SQLITE_ROW) ids.push_back(q.Int(0));
  return ids;
}

Result<int64_t> Catalog::ErasureCount() {
  Stmt q(impl_->db(), "SELECT COUNT(*) FROM erasures");
  if (q.Step() != SQLITE_ROW) return impl_->conn->Error("cannot count erasures");
  return q.Int(0);
}

Result<CatalogCounts> Catalog::Counts() {
  Stmt q(impl_->db(),
         "SELECT (SELECT COUNT(*) FROM sources), (SELECT COUNT(*) FROM images), (SELECT COUNT(*) FROM faces), "
         "(SELECT COUNT(*) FROM subjects)");
  if (q.Step() != SQLITE_ROW) return impl_->conn->Error("cannot count");
  return CatalogCounts{q.Int(0), q.Int(1), q.Int(2), q.Int(3)};
}

Result<std::vector<Catalog::SourceCounts>> Catalog::CountsBySource() {
  Stmt q(impl_->db(),
         "SELECT s.name, (SELECT COUNT(*) FROM images i WHERE i.source_id = s.id), "
         "(SELECT COUNT(*) FROM faces f JOIN images i ON f.image_id = i.id WHERE i.source_id = s.id) "
         "FROM sources s ORDER BY s.name");
  std::vector<SourceCounts> out;
  while (q.Step() == SQLITE_ROW) out.push_back({q.Text(0), q.Int(1), q.Int(2)});
  return out;
}

Result<std::optional<Catalog::ErasureRecord>> Catalog::ErasureOfImage(const std::string& sha256) {
  Stmt q(impl_->db(),
         "SELECT e.id, e.what, e.reason, e.at, e.faces, e.images FROM erased_images x JOIN erasures e "
         "ON e.id = x.erasure_id WHERE x.sha256 = ?");
  q.Bind(1, sha256);
  const int rc = q.Step();
  if (rc == SQLITE_DONE) return std::optional<ErasureRecord>();
  if (rc != SQLITE_ROW) return impl_->conn->Error("cannot read erasures");
  return std::optional<ErasureRecord>(ErasureRecord{q.Int(0), q.Text(1), q.Text(2), q.Text(3), q.Int(4), q.Int(5)});
}

Result<int64_t> Catalog::FaceCountOfImage(int64_t image_id) {
  Stmt q(impl_->db(), "SELECT COUNT(*) FROM faces WHERE image_id = ?");
  q.Bind(1, image_id);
  if (q.Step() != SQLITE_ROW) return impl_->conn->Error("cannot count faces");
  return q.Int(0);
}

Status Catalog::ForgetErasedImage(const std::string& sha256) {
  return impl_->conn->InTransaction([&]() -> Status {
    Stmt f(impl_->db(), "SELECT COUNT(*) FROM faces f JOIN images i ON i.id = f.image_id WHERE i.sha256 = ?");
    f.Bind(1, sha256);
    if (f.Step() != SQLITE_ROW) return impl_->conn->Error("cannot count faces");
    if (f.Int(0) > 0)
      return Status::FailedPrecondition("image " + sha256 + " still has " + std::to_string(f.Int(0)) +
                                        " face(s) in the gallery");
    Stmt d(impl_->db(), "DELETE FROM images WHERE sha256 = ?");
    d.Bind(1, sha256);
    if (d.Step() != SQLITE_DONE) return impl_->conn->Error("cannot remove the image record");
    Stmt e(impl_->db(), "DELETE FROM erased_images WHERE sha256 = ?");
    e.Bind(1, sha256);
    if (e.Step() != SQLITE_DONE) return impl_->conn->Error("cannot update erased images");
    return Status::OK();
  });
}

Result<std::string> Catalog::SubjectOfFace(int64_t face_id) {
  Stmt q(impl_->db(),
         "SELECT s.label FROM face_subjects fs JOIN subjects s ON s.id = fs.subject_id WHERE fs.face_id = ?");
  q.Bind(1, face_id);
  return q.Step() == SQLITE_ROW ? q.Text(0) : std::string();
}

Result<std::vector<Catalog::SubjectRecord>> Catalog::Subjects() {
  Stmt q(
      impl_->db(),
      "SELECT s.label, s.notes, COUNT(fs.face_id) FROM subjects s LEFT JOIN face_subjects fs ON fs.subject_id = s.id "
      "GROUP BY s.id ORDER BY s.label");
  std::vector<SubjectRecord> out;
  while (q.Step() == SQLITE_ROW) out.push_back({q.Text(0), q.Text(1), q.Int(2)});
  return out;
}

Result<std::vector<int64_t>> Catalog::FacesOfSubject(const std::string& label) {
  Stmt q(impl_->db(),
         "SELECT fs.face_id FROM face_subjects fs JOIN subjects s ON s.id = fs.subject_id WHERE s.label = ? "
         "ORDER BY fs.face_id");
  q.Bind(1, label);
  std::vector<int64_t> ids;
  while (q.Step() == SQLITE_ROW) ids.push_back(q.Int(0));
  return ids;
}

Result<Catalog::ErasePlan> Catalog::PlanErase(const std::string& kind, const std::string& key) {
  ErasePlan plan;
  plan.what = kind + ":" + key;
  const char* faces_sql = nullptr;
  const char* images_sql = nullptr;
  if (kind == "subject") {
    Stmt q(impl_->db(), "SELECT COUNT(*) FROM subjects WHERE label = ?");
    q.Bind(1, key);
    if (q.Step() != SQLITE_ROW || q.Int(0) == 0) return Status::NotFound("no subject \"" + key + "\"");
    faces_sql = "SELECT fs.face_id FROM face_subjects fs JOIN subjects s ON s.id = fs.subject_id WHERE s.label = ?";
  } else if (kind == "source") {
    Stmt q(impl_->db(), "SELECT COUNT(*) FROM sources WHERE name = ?");
    q.Bind(1, key);
    if (q.Step() != SQLITE_ROW || q.Int(0) == 0) return Status::NotFound("no source \"" + key + "\"");
    faces_sql = "SELECT f.id FROM faces f JOIN images i ON i.id = f.image_id JOIN sources s ON s.id = i.source_id WHERE s.name = ?";
    images_sql = "SELECT COUNT(*) FROM images i JOIN sources s ON s.id = i.source_id WHERE s.name = ?";
  } else if (kind == "image") {
    faces_sql = "SELECT f.id FROM faces f JOIN images i ON i.id = f.image_id WHERE i.sha256 = ?";
    images_sql = "SELECT COUNT(*) FROM images WHERE sha256 = ?";
  } else {
    return Status::InvalidArgument("erase what? (subject, source or image)");
  }
  Stmt f(impl_->db(), faces_sql);
  f.Bind(1, key);
  while (f.Step() == SQLITE_ROW) plan.face_ids.push_back(f.Int(0));
  if (images_sql) {
    Stmt i(impl_->db(), images_sql);
    i.Bind(1, key);
    if (i.Step() == SQLITE_ROW) plan.images = i.Int(0);
  }
  if (kind == "image" && plan.images == 0) return Status::NotFound("no image with SHA-256 " + key);
  return plan;
}

Status Catalog::Erase(const ErasePlan& plan, const std::string& reason) {
  return impl_->conn->InTransaction([&]() -> Status {
    auto fail = [&](const std::string& what) { return impl_->conn->Error(what); };
    const std::string kind = plan.what.substr(0, plan.what.find(':'));
    const std::string key = plan.what.substr(plan.what.find(':') + 1);
    Stmt rec(impl_->db(), "INSERT INTO erasures (what, reason, faces, images) VALUES (?, ?, ?, ?)");
    rec.Bind(1, plan.what).Bind(2, reason).Bind(3, static_cast<int64_t>(plan.face_ids.size())).Bind(4, plan.images);
    if (rec.Step() != SQLITE_DONE) return fail("cannot record the erasure");
    const int64_t erasure_id = sqlite3_last_insert_rowid(impl_->db());
    // A photo erased on purpose (one person's faces, or the photo itself) is remembered by
    // its hash, so enrolment can say so instead of bringing it back. Erasing a whole
    // source (e.g. its retention period ended) forgets its photos.
    if (kind != "source") {
      for (int64_t id : plan.face_ids) {
        Stmt m(impl_->db(),
               "INSERT OR REPLACE INTO erased_images (sha256, erasure_id) "
               "SELECT i.sha256, ? FROM faces f JOIN images i ON i.id = f.image_id WHERE f.id = ?");
        m.Bind(1, erasure_id).Bind(2, id);
        if (m.Step() != SQLITE_DONE) return fail("cannot record the erased photo");
      }
      if (kind == "image") {
        Stmt m(impl_->db(), "INSERT OR REPLACE INTO erased_images (sha256, erasure_id) VALUES (?, ?)");
        m.Bind(1, key).Bind(2, erasure_id);
        if (m.Step() != SQLITE_DONE) return fail("cannot record the erased photo");
      }
    }
    for (int64_t id : plan.face_ids) {
      Stmt d(impl_->db(), "DELETE FROM faces WHERE id = ?");
      d.Bind(1, id);
      if (d.Step() != SQLITE_DONE) return fail("cannot erase face");
    }
    const char* extra = kind == "source"    ? "DELETE FROM images WHERE source_id = (SELECT id FROM sources WHERE name = ?1);"
                        : kind == "image"   ? "DELETE FROM images WHERE sha256 = ?1;"
                                            : "DELETE FROM subjects WHERE label = ?1;";
    {
      Stmt d(impl_->db(), extra);
      d.Bind(1, key);
      if (d.Step() != SQLITE_DONE) return fail("cannot erase " + plan.what);
    }
    if (kind == "source") {
      Stmt d(impl_->db(), "DELETE FROM sources WHERE name = ?");
      d.Bind(1, key);
      if (d.Step() != SQLITE_DONE) return fail("cannot erase " + plan.what);
    }
    return Status::OK();
  });
}

Result<std::vector<Catalog::ErasureRecord>> Catalog::Erasures() {
  Stmt q(impl_->db(), "SELECT id, what, reason, at, faces, images FROM erasures ORDER BY id");
  std::vector<ErasureRecord> out;
  while (q.Step() == SQLITE_ROW) out.push_back({q.Int(0), q.Text(1), q.Text(2), q.Text(3), q.Int(4), q.Int(5)});
  return out;
}

Result<int64_t> Catalog::AddOptOut(const std::string& reason) {
  Stmt q(impl_->db(), "INSERT INTO optouts (reason) VALUES (?)");
  q.Bind(1, reason);
  if (q.Step() != SQLITE_DONE) return impl_->conn->Error("cannot record the opt-out");
  return sqlite3_last_insert_rowid(impl_->db());
}

Status Catalog::Vacuum() {
  Status s = impl_->conn->Exec("PRAGMA secure_delete=ON; VACUUM; PRAGMA wal_checkpoint(TRUNCATE);");
  return s;
}

}  // namespace lineup
