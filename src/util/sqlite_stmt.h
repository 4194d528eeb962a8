// SqliteStmt: a prepared SQLite statement that finalises itself, shared by the catalog
// (src/gallery) and the oversight tables (src/oversight). Every value reaches SQL
// through Bind; Step() reports a statement that failed to prepare as its error code.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>

namespace lineup {

// A prepared statement that finalises itself. Every value reaches SQL through Bind.
class SqliteStmt {
 public:
  SqliteStmt(sqlite3* db, const char* sql) { rc_ = sqlite3_prepare_v2(db, sql, -1, &s_, nullptr); }
  ~SqliteStmt() { sqlite3_finalize(s_); }
  SqliteStmt(const SqliteStmt&) = delete;
  SqliteStmt& operator=(const SqliteStmt&) = delete;
  bool ok() const { return rc_ == SQLITE_OK; }
  SqliteStmt& Bind(int i, int64_t v) { sqlite3_bind_int64(s_, i, v); return *this; }
  SqliteStmt& Bind(int i, int v) { sqlite3_bind_int64(s_, i, v); return *this; }
  SqliteStmt& Bind(int i, double v) { sqlite3_bind_double(s_, i, v); return *this; }
  SqliteStmt& Bind(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  // Bytes as a BLOB (an empty one too: a null pointer would bind NULL).
  SqliteStmt& BindBlob(int i, const std::string& v) {
    if (v.empty()) sqlite3_bind_zeroblob(s_, i, 0);
    else sqlite3_bind_blob64(s_, i, v.data(), v.size(), SQLITE_TRANSIENT);
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE, or an error code (also when preparing failed).
  int Step() { return ok() ? sqlite3_step(s_) : rc_; }
  void Reset() {
    if (!s_) return;  // never prepared: Step() keeps reporting why
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  int64_t Int(int c) { return sqlite3_column_int64(s_, c); }
  double Real(int c) { return sqlite3_column_double(s_, c); }
  std::string Text(int c) {
    const unsigned char* t = sqlite3_column_text(s_, c);
    return t ? std::string(reinterpret_cast<const char*>(t), static_cast<size_t>(sqlite3_column_bytes(s_, c))) : "";
  }
  std::string Blob(int c) {
    const void* b = sqlite3_column_blob(s_, c);
    return b ? std::string(static_cast<const char*>(b), static_cast<size_t>(sqlite3_column_bytes(s_, c))) : "";
  }

 private:
  sqlite3_stmt* s_ = nullptr;
  int rc_;
};

}  // namespace lineup
