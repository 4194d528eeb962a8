#include "oversight/sqlite_db.h"

#include <sodium.h>

#include <chrono>
#include <ctime>
#include <mutex>

namespace lineup::oversight {

Result<std::unique_ptr<SqliteDb>> OpenCatalog(const std::string& catalog_path) {
  auto d = SqliteDb::Open(catalog_path, /*create=*/false, 5000);
  if (!d.ok()) return d.status();
  Stmt q((*d)->db(), "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'");
  int rc = q.Step();
  if (rc == SQLITE_DONE) return Status::Corrupt(catalog_path + ": not a Lineup catalog (no schema_version table)");
  if (rc != SQLITE_ROW) return (*d)->Error("cannot read the schema");
  return d;
}

Status Migrate(SqliteDb& db, const std::string& component, const std::vector<const char*>& migrations) {
  const int64_t known = static_cast<int64_t>(migrations.size());
  // 0 if the component (or the version table) is not there yet.
  auto read_version = [&]() -> Result<int64_t> {
    Stmt t(db.db(), "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'oversight_schema'");
    int rc = t.Step();
    if (rc == SQLITE_DONE) return int64_t{0};
    if (rc != SQLITE_ROW) return db.Error("cannot read the schema");
    Stmt q(db.db(), "SELECT version FROM oversight_schema WHERE component = ?");
    q.Bind(1, component);
    rc = q.Step();
    if (rc == SQLITE_ROW) return q.Int(0);
    if (rc == SQLITE_DONE) return int64_t{0};
    return db.Error("cannot read the " + component + " schema version");
  };
  auto too_new = [&](int64_t version) {
    return Status::Corrupt(db.path() + ": " + component + " schema version " + std::to_string(version) +
                           " is newer than this lineup understands (" + std::to_string(known) + ")");
  };
  // Up to date: nothing is written, so a read-only copy of a gallery can still be read.
  auto current = read_version();
  if (!current.ok()) return current.status();
  if (*current > known) return too_new(*current);
  if (*current == known) return Status::OK();
  // Read again and migrate under one write lock, so two processes opening at once agree.
  return db.InTransaction([&]() -> Status {
    Status s = db.Exec(
        "CREATE TABLE IF NOT EXISTS oversight_schema (component TEXT PRIMARY KEY, version INTEGER NOT NULL)");
    if (!s.ok()) return s;
    auto version = read_version();
    if (!version.ok()) return version.status();
    if (*version > known) return too_new(*version);
    for (int64_t v = *version; v < known; ++v) {
      Status m = db.Exec(migrations[static_cast<size_t>(v)]);
      if (!m.ok()) return m.WithContext(component + " schema migration to version " + std::to_string(v + 1));
    }
    if (*version == known) return Status::OK();
    Stmt u(db.db(),
           "INSERT INTO oversight_schema (component, version) VALUES (?, ?) "
           "ON CONFLICT(component) DO UPDATE SET version = excluded.version");
    u.Bind(1, component).Bind(2, known);
    if (u.Step() != SQLITE_DONE) return db.Error("cannot record the " + component + " schema version");
    return Status::OK();
  });
}

int64_t SystemNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::function<int64_t()> ClockOr(std::function<int64_t()> now) {
  if (now) return now;
  return SystemNow;
}

std::string IsoTime(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

bool IsIsoTimeOrDate(const std::string& s) {
  const char* date = "dddd-dd-dd";
  const char* full = "dddd-dd-ddTdd:dd:ddZ";
  auto matches = [&](const char* pattern) {
    if (s.size() != std::char_traits<char>::length(pattern)) return false;
    for (size_t i = 0; i < s.size(); ++i) {
      if (pattern[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != pattern[i]) return false;
    }
    return true;
  };
  return matches(date) || matches(full);
}

Status SodiumReady() {
  static std::once_flag once;
  static int rc = -1;
  std::call_once(once, [] { rc = sodium_init(); });
  // 0: initialised now, 1: already initialised.
  if (rc < 0) return Status::Internal("libsodium could not be initialised");
  return Status::OK();
}

std::string RandomBase64Url(size_t bytes) {
  std::vector<unsigned char> raw(bytes);
  randombytes_buf(raw.data(), raw.size());
  std::vector<char> out(sodium_base64_ENCODED_LEN(bytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING));
  sodium_bin2base64(out.data(), out.size(), raw.data(), raw.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero(raw.data(), raw.size());
  return out.data();
}

bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n;
    uint32_t cp;
    if (c < 0x80) { ++i; continue; }
    if (c >= 0xC2 && c <= 0xDF) { n = 1; cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { n = 2; cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { n = 3; cp = c & 0x07; }
    else return false;
    for (size_t k = 1; k <= n; ++k) {
      if (i + k >= s.size()) return false;
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF.
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += n + 1;
  }
  return true;
}

size_t Utf8Length(std::string_view s) {
  size_t n = 0;
  for (char c : s)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  return n;
}

bool Blank(const std::string& s) { return s.find_first_not_of(" \t\r\n") == std::string::npos; }

Status CheckText(const std::string& field, const std::string& text, size_t max_chars, bool allow_empty,
                 bool single_line) {
  if (!ValidUtf8(text)) return Status::InvalidArgument(field + " is not valid UTF-8 text");
  if (!allow_empty && Blank(text)) return Status::InvalidArgument(field + " must not be empty");
  const size_t n = Utf8Length(text);
  if (n > max_chars)
    return Status::InvalidArgument(field + " is too long (" + std::to_string(n) + " characters; at most " +
                                   std::to_string(max_chars) + ")");
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u == 0 || u == 0x7F || (u < 0x20 && (single_line || (c != '\n' && c != '\t' && c != '\r'))))
      return Status::InvalidArgument(field + " must not hold control characters");
  }
  return Status::OK();
}

}  // namespace lineup::oversight
