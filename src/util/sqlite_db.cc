#include "util/sqlite_db.h"

namespace lineup {

Result<std::unique_ptr<SqliteDb>> SqliteDb::Open(const std::string& path, bool create, int busy_timeout_ms) {
  std::unique_ptr<SqliteDb> d(new SqliteDb);
  d->path_ = path;
  const int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
  if (sqlite3_open_v2(path.c_str(), &d->db_, flags, nullptr) != SQLITE_OK)
    return create ? d->Error("cannot create catalog")
                  : Status::NotFound(path + ": no catalog here (run `lineup init` first)");
  sqlite3_busy_timeout(d->db_, busy_timeout_ms);
  for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON"}) {
    Status s = d->Exec(pragma);
    if (!s.ok()) return Status::Corrupt(path + ": not a Lineup catalog (" + s.message() + ")");
  }
  return d;
}

SqliteDb::~SqliteDb() { sqlite3_close(db_); }

Status SqliteDb::Error(const std::string& what) const {
  const int code = sqlite3_errcode(db_);
  std::string m = path_ + ": " + what + ": " + sqlite3_errmsg(db_);
  if (code == SQLITE_BUSY || code == SQLITE_LOCKED) return Status::Unavailable(m);
  return Status::IOError(m);
}

Status SqliteDb::Exec(const char* sql) {
  char* err = nullptr;
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string m = path_ + ": " + (err ? err : "unknown error");
    sqlite3_free(err);
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) return Status::Unavailable(m);
    return Status::IOError(m);
  }
  return Status::OK();
}

Status SqliteDb::InTransaction(const std::function<Status()>& body) {
  Status s = Exec("BEGIN IMMEDIATE");
  if (!s.ok()) return s;
  s = body();
  if (s.ok()) s = Exec("COMMIT");
  if (!s.ok()) Exec("ROLLBACK");
  return s;
}

}  // namespace lineup
