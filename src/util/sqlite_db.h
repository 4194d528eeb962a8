// SqliteDb: one connection to a gallery's catalog.sqlite, shared in form by the catalog
// (src/gallery) and the oversight tables (src/oversight): WAL mode, FULL sync, foreign
// keys, a busy timeout, and transactions that take the write lock up front. Not
// thread-safe: its owner guards it.
#pragma once

#include <sqlite3.h>

#include <functional>
#include <memory>
#include <string>

#include "lineup/status.h"
#include "util/sqlite_stmt.h"

namespace lineup {

class SqliteDb {
 public:
  // Opens `path` (creating the file only if `create`): NotFound if there is none,
  // Corrupt if it is not an SQLite database.
  static Result<std::unique_ptr<SqliteDb>> Open(const std::string& path, bool create, int busy_timeout_ms);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  sqlite3* db() const { return db_; }
  const std::string& path() const { return path_; }

  // IOError "<path>: <what>: <sqlite message>" (Unavailable if the database stayed busy).
  Status Error(const std::string& what) const;
  // Runs SQL without parameters (schema statements, BEGIN, COMMIT).
  Status Exec(const char* sql);
  // Steps a statement that returns no rows; Error(what) if it fails.
  Status Run(SqliteStmt& q, const std::string& what) const {
    if (q.Step() != SQLITE_DONE) return Error(what);
    return Status::OK();
  }
  // Prepares `sql`, binds `args` to its parameters in order and runs it as above.
  template <typename... Args>
  Status Run(const char* sql, const std::string& what, const Args&... args) const {
    SqliteStmt q(db_, sql);
    int i = 0;
    (q.Bind(++i, args), ...);
    return Run(q, what);
  }
  // Runs body inside BEGIN IMMEDIATE ... COMMIT, so that other connections (threads or
  // processes) wait; any failure rolls everything back. body reports a failed statement
  // by returning Error(what).
  Status InTransaction(const std::function<Status()>& body);

 private:
  SqliteDb() = default;
  sqlite3* db_ = nullptr;
  std::string path_;
};

}  // namespace lineup
