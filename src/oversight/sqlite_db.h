// Private to src/oversight/: the SQLite connection that Accounts, Cases and AuditLog
// each open to a gallery's catalog.sqlite, and the small helpers they share (times,
// hashes, random secrets, text checks).
//
// The catalog itself (src/gallery/catalog.cc) owns the file and its own tables; the
// oversight components only add tables of their own, each versioned under its name in
// `oversight_schema`. A SqliteDb is not thread-safe: its owner guards it with a mutex.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lineup/status.h"
#include "util/sqlite_db.h"
#include "util/sqlite_stmt.h"

namespace lineup::oversight {

// Prepared statements: the one class the catalog uses too (src/util/sqlite_stmt.h).
using Stmt = lineup::SqliteStmt;

// Opens an existing gallery's catalog (never creates one) for the oversight tables:
// NotFound if there is no file, Corrupt if it is not a Lineup catalog. Busy timeout 5 s.
Result<std::unique_ptr<SqliteDb>> OpenCatalog(const std::string& catalog_path);
// Brings `component`'s tables to migrations.size() (version n = migrations[n-1]);
// Corrupt if the catalog holds a newer version than this build knows.
Status Migrate(SqliteDb& db, const std::string& component, const std::vector<const char*>& migrations);

// Seconds since the Unix epoch from the system clock.
int64_t SystemNow();
// `now` if set, else SystemNow.
std::function<int64_t()> ClockOr(std::function<int64_t()> now);
// "YYYY-MM-DDTHH:MM:SSZ" (UTC). Strings of this form sort as the times do.
std::string IsoTime(int64_t unix_seconds);
// True for "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SSZ".
bool IsIsoTimeOrDate(const std::string& s);

// libsodium must be initialised once per process before its random numbers are used.
Status SodiumReady();
// `bytes` random bytes (libsodium) as unpadded base64url.
std::string RandomBase64Url(size_t bytes);

bool ValidUtf8(std::string_view s);
// Characters (code points) of valid UTF-8.
size_t Utf8Length(std::string_view s);
// True if s holds only spaces, tabs and line breaks (or nothing).
bool Blank(const std::string& s);
// InvalidArgument unless `text` is valid UTF-8 with 1..max_chars characters (0..max_chars
// if allow_empty) and, for single-line fields, no control characters.
Status CheckText(const std::string& field, const std::string& text, size_t max_chars, bool allow_empty,
                 bool single_line);

}  // namespace lineup::oversight
