// AuditLog: an append-only, tamper-evident record of everything done to a gallery.
//
// Each record (sequence number, time, actor, action, case, details as a JSON object)
// carries the SHA-256 of the previous record and its own SHA-256 over all of that, so
// the records form a hash chain. Changing, inserting, deleting or reordering a record
// in the database breaks the chain at that point, and Verify names it; replacing the
// whole chain from some point on is caught by comparing Head() with a copy kept
// elsewhere (Verify's expected_head). Appends are serialised (one chain, no forks).
// Lives in the gallery's catalog.sqlite, in a table of its own; safe from many threads.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "lineup/status.h"

namespace lineup {

struct AuditRecord {
  int64_t seq = 0;       // 1, 2, 3, ... without gaps
  std::string at;        // ISO 8601 UTC, e.g. 2026-11-27T13:45:10Z
  std::string actor;     // user name, or "cli:<unix user>" for local commands
  std::string action;    // e.g. "login", "login_failed", "search", "verify", "enroll",
                         // "erase", "optout", "review", "confirm", "case_create", "user_add"
  int64_t case_id = 0;   // 0: not tied to a case
  std::string details;   // a JSON object (compact); never raw biometric vectors
  std::string prev_hash; // hex SHA-256 of the previous record; 64 zeros for the first
  std::string hash;      // hex SHA-256 of this record (see audit_log.cc for the bytes)
};

struct AuditVerification {
  bool ok = false;
  int64_t records = 0;
  int64_t first_bad_seq = 0;  // 0 if ok; else the first record that breaks the chain
  std::string problem;        // for a person: what is wrong there
  std::string head;           // hash of the last record ("" if the log is empty)
  // Where expected_head was found: the head itself, or an older record when the log
  // has grown since that copy was taken (0 if no expected_head was given, or not found).
  int64_t expected_head_seq = 0;
  // The chain itself is intact but expected_head is not in it: records were removed from
  // the end, or the chain was rewritten from some point on (first_bad_seq is then the
  // last record's seq, or 1 for an empty log).
  bool head_mismatch = false;
};

struct AuditFilter {
  std::string since;     // ISO 8601; records at or after it
  int64_t case_id = 0;   // 0: all
  std::string actor;     // "": all
  std::string action;    // "": all
  int64_t limit = 0;     // 0: no limit; otherwise the newest `limit` matching
};

class AuditLog {
 public:
  static Result<std::unique_ptr<AuditLog>> Open(const std::string& catalog_path,
                                                std::function<int64_t()> now = {});
  ~AuditLog();

  // Appends one record and returns it with seq, time and hashes filled in.
  // InvalidArgument if details is not a JSON object or actor/action is empty.
  Result<AuditRecord> Append(const std::string& actor, const std::string& action, int64_t case_id,
                             const std::string& details_json);
  // Walks the whole chain in seq order. With expected_head (a hash copied from Head()
  // earlier and kept elsewhere), it must be the hash of a record of the intact chain:
  // the head now, or an older record if the log has grown since.
  Result<AuditVerification> Verify(const std::string& expected_head = "");
  // Hash of the last record, "" if none.
  Result<std::string> Head();
  // Matching records, oldest first.
  Result<std::vector<AuditRecord>> Records(const AuditFilter& filter = {});
  // Matching records as JSON lines (one object per record with every field above;
  // details as the stored JSON text, so that the hash can be recomputed from a line).
  Status Export(std::ostream& out, const AuditFilter& filter = {});

  // The seq and hash of every record from `from_seq` on, in order, up to the head, read
  // in one snapshot: the links a reader needs to place records of one case in the whole
  // chain without seeing the others' contents (the evidence export, evidence.h).
  Result<std::vector<std::pair<int64_t, std::string>>> ChainHashes(int64_t from_seq);

  // One record as Export writes it: a JSON object on one line, without the newline.
  static std::string ExportLine(const AuditRecord& record);

  // The hex SHA-256 a record's `hash` must hold, computed from its other fields
  // (the exact bytes are documented in audit_log.cc and docs/oversight.md).
  static std::string ComputeHash(const AuditRecord& record);

 private:
  struct Impl;
  explicit AuditLog(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace lineup
