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
