#include "lineup/disclosures.h"

#include <mutex>

#include "oversight/sqlite_db.h"

namespace lineup {

using oversight::Stmt;

namespace {

// Version 1. Later versions append statements; never edit old ones. Users are named, as
// in cases; faces are the catalog's (never reused: face_id_high_water), and an erased
// face takes its rows with it.
const std::vector<const char*> kMigrations = {
    R"sql(
CREATE TABLE IF NOT EXISTS face_disclosures (
  user TEXT NOT NULL,
  case_id INTEGER NOT NULL,
  face_id INTEGER NOT NULL REFERENCES faces(id) ON DELETE CASCADE,
  audit_seq INTEGER NOT NULL,
  PRIMARY KEY (user, case_id, face_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS face_disclosures_face ON face_disclosures(face_id);
)sql",
};

}  // namespace

struct Disclosures::Impl {
  std::mutex mu;
  std::unique_ptr<SqliteDb> db;
};

Disclosures::Disclosures(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Disclosures::~Disclosures() = default;

Result<std::unique_ptr<Disclosures>> Disclosures::Open(const std::string& catalog_path) {
  auto db = oversight::OpenCatalog(catalog_path);
  if (!db.ok()) return db.status();
  if (Status s = oversight::Migrate(**db, "disclosures", kMigrations); !s.ok()) return s;
  auto impl = std::make_unique<Impl>();
  impl->db = std::move(*db);
  return std::unique_ptr<Disclosures>(new Disclosures(std::move(impl)));
}

Status Disclosures::Record(const std::string& user, int64_t case_id, const std::vector<int64_t>& face_ids,
                           int64_t audit_seq) {
  if (user.empty()) return Status::InvalidArgument("a disclosure names the user it was made to");
  if (case_id <= 0) return Status::InvalidArgument("a disclosure belongs to a case");
  if (face_ids.empty()) return Status::OK();
  std::lock_guard<std::mutex> lock(impl_->mu);
  SqliteDb& db = *impl_->db;
  return db.InTransaction([&]() -> Status {
    // Only faces still in the catalog: one erased since the answer is not disclosed.
    Stmt q(db.db(),
           "INSERT OR IGNORE INTO face_disclosures (user, case_id, face_id, audit_seq) "
           "SELECT ?, ?, id, ? FROM faces WHERE id = ?");
    if (!q.ok()) return db.Error("cannot record the faces shown");
    for (int64_t face : face_ids) {
      q.Reset();
      q.Bind(1, user).Bind(2, case_id).Bind(3, audit_seq).Bind(4, face);
      if (Status s = db.Run(q, "cannot record the faces shown"); !s.ok()) return s;
    }
    return Status::OK();
  });
}

Result<int64_t> Disclosures::ShownBy(const std::string& user, int64_t case_id, int64_t face_id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Stmt q(impl_->db->db(), "SELECT audit_seq FROM face_disclosures WHERE user = ? AND case_id = ? AND face_id = ?");
  q.Bind(1, user).Bind(2, case_id).Bind(3, face_id);
  const int rc = q.Step();
  if (rc == SQLITE_ROW) return q.Int(0);
  if (rc == SQLITE_DONE) return int64_t{0};
  return impl_->db->Error("cannot read the faces shown");
}

}  // namespace lineup
