#include "lineup/audit_log.h"

#include <mutex>

#include <nlohmann/json.hpp>

#include "lineup/models.h"
#include "oversight/sqlite_db.h"

namespace lineup {

using oversight::Stmt;

namespace {

// Version 1. Later versions append statements; never edit old ones. The triggers stop
// accidental changes through SQL; deliberate ones (dropping the triggers) are what the
// hash chain is for.
const std::vector<const char*> kMigrations = {
    R"sql(
CREATE TABLE IF NOT EXISTS audit_log (
  seq INTEGER PRIMARY KEY,
  at TEXT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  case_id INTEGER NOT NULL DEFAULT 0,
  details TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS audit_log_at ON audit_log(at);
CREATE INDEX IF NOT EXISTS audit_log_case ON audit_log(case_id);
CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
)sql",
};

const std::string kZeroHash(64, '0');
constexpr size_t kMaxDetailsBytes = 64 * 1024;

constexpr const char* kCols = "SELECT seq, at, actor, action, case_id, details, prev_hash, hash FROM audit_log";

AuditRecord ReadRecord(Stmt& q) {
  return {q.Int(0), q.Text(1), q.Text(2), q.Text(3), q.Int(4), q.Text(5), q.Text(6), q.Text(7)};
}

bool ValidAction(const std::string& a) {
  if (a.empty() || a.size() > 64) return false;
  for (char c : a)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == ':' || c == '-'))
      return false;
  return true;
}

// True if j holds an array that looks like a biometric vector: 16 or more numbers
// with a fractional part. Lists of ids (integers) are fine.
bool HoldsVector(const nlohmann::json& j) {
  if (j.is_array()) {
    int fractional = 0;
    for (const auto& e : j)
      if (e.is_number_float()) ++fractional;
    if (fractional >= 16) return true;
  }
  if (j.is_structured())
    for (const auto& e : j)
      if (HoldsVector(e)) return true;
  return false;
}

nlohmann::json RecordJson(const AuditRecord& r) {
  return {{"seq", r.seq},         {"at", r.at},           {"actor", r.actor}, {"action", r.action},
          {"case_id", r.case_id}, {"details", r.details}, {"prev_hash", r.prev_hash}, {"hash", r.hash}};
}

}  // namespace

// The hashed bytes of a record, format "lineup-audit-v1":
//
//   for each field, in this order:
//     "lineup-audit-v1", prev_hash, seq, at, actor, action, case_id, details
//   write  <length in bytes, decimal ASCII> ":" <the field's bytes> "\n"
//
// seq and case_id are written in decimal ASCII (no sign, no leading zeros), prev_hash
// as 64 lower-case hex digits (64 '0's for record 1), details as the compact JSON text
// stored in the log. hash = lower-case hex SHA-256 of the concatenation. The length
// prefixes make the split unambiguous: no byte can move from one field to the next.
// Example, record 1 = {at "2026-01-01T00:00:00Z", actor "alice", action "login",
// case 0, details "{}"}:
//   "15:lineup-audit-v1\n64:000...000\n1:1\n20:2026-01-01T00:00:00Z\n5:alice\n5:login\n1:0\n2:{}\n"
std::string AuditLog::ComputeHash(const AuditRecord& r) {
  std::string bytes;
  for (const std::string& field : {std::string("lineup-audit-v1"), r.prev_hash, std::to_string(r.seq), r.at, r.actor,
                                   r.action, std::to_string(r.case_id), r.details}) {
    bytes += std::to_string(field.size());
    bytes += ':';
    bytes += field;
    bytes += '\n';
  }
  return Sha256Hex(bytes);
}

struct AuditLog::Impl {
  std::unique_ptr<SqliteDb> db;
  std::function<int64_t()> now;
  std::mutex mu;  // guards db

  // The seq of a record whose stored hash is `hash`, or 0.
  int64_t SeqOfHash(const std::string& hash) {
    Stmt q(db->db(), "SELECT seq FROM audit_log WHERE hash = ? ORDER BY seq LIMIT 1");
    q.Bind(1, hash);
    return q.Step() == SQLITE_ROW ? q.Int(0) : 0;
  }

  // Calls fn for every matching record, oldest first (mu held).
  Status ForEach(const AuditFilter& f, const std::function<void(const AuditRecord&)>& fn) {
    if (f.limit < 0) return Status::InvalidArgument("a limit must not be negative");
    if (!f.since.empty() && !oversight::IsIsoTimeOrDate(f.since))
      return Status::InvalidArgument("since must be YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ, not \"" + f.since.substr(0, 40) +
                                     "\"");
    // The newest `limit` matching (all if limit is -1), then put back in order.
    const std::string where =
        " WHERE (?1 = '' OR at >= ?1) AND (?2 = 0 OR case_id = ?2) AND (?3 = '' OR actor = ?3) AND"
        " (?4 = '' OR action = ?4)";
    const std::string sql = "SELECT * FROM (" + std::string(kCols) + where + " ORDER BY seq DESC LIMIT ?5) ORDER BY seq";
    Stmt q(db->db(), sql.c_str());
    q.Bind(1, f.since).Bind(2, f.case_id).Bind(3, f.actor).Bind(4, f.action);
    q.Bind(5, f.limit == 0 ? int64_t{-1} : f.limit);
    int rc;
    while ((rc = q.Step()) == SQLITE_ROW) fn(ReadRecord(q));
    if (rc != SQLITE_DONE) return db->Error("cannot read the audit log");
    return Status::OK();
  }
};

AuditLog::AuditLog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AuditLog::~AuditLog() = default;

Result<std::unique_ptr<AuditLog>> AuditLog::Open(const std::string& catalog_path, std::function<int64_t()> now) {
  Status s = oversight::SodiumReady();
  if (!s.ok()) return s;
  auto db = oversight::OpenCatalog(catalog_path);
  if (!db.ok()) return db.status();
  s = oversight::Migrate(**db, "audit_log", kMigrations);
  if (!s.ok()) return s;
  auto impl = std::make_unique<Impl>();
  impl->db = std::move(*db);
  impl->now = oversight::ClockOr(std::move(now));
  return std::unique_ptr<AuditLog>(new AuditLog(std::move(impl)));
}

Result<AuditRecord> AuditLog::Append(const std::string& actor, const std::string& action, int64_t case_id,
                                     const std::string& details_json) {
  Status s = oversight::CheckText("an audit actor", actor, 200, false, true);
  if (!s.ok()) return s;
  if (!ValidAction(action))
    return Status::InvalidArgument("an audit action is 1-64 characters of a-z 0-9 _ . : -");
  if (case_id < 0) return Status::InvalidArgument("a case id must not be negative");
  if (details_json.size() > kMaxDetailsBytes) return Status::InvalidArgument("audit details are over 64 KiB");
  const auto details = nlohmann::json::parse(details_json.empty() ? "{}" : details_json, nullptr, false);
  if (details.is_discarded() || !details.is_object())
    return Status::InvalidArgument("audit details must be a JSON object");
  if (HoldsVector(details)) return Status::InvalidArgument("audit details must not hold biometric vectors");

  AuditRecord r;
  r.actor = actor;
  r.action = action;
  r.case_id = case_id;
  r.details = details.dump();
  std::lock_guard<std::mutex> lock(impl_->mu);
  // Read the last record, chain to it and insert under one write lock: appenders in
  // other threads or processes wait, so the chain cannot fork.
  s = impl_->db->InTransaction([&]() -> Status {
    Stmt last(impl_->db->db(), "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1");
    const int rc = last.Step();
    if (rc == SQLITE_ROW) {
      r.seq = last.Int(0) + 1;
      r.prev_hash = last.Text(1);
    } else if (rc == SQLITE_DONE) {
      r.seq = 1;
      r.prev_hash = kZeroHash;
    } else {
      return impl_->db->Error("cannot read the audit log");
    }
    r.at = oversight::IsoTime(impl_->now());
    r.hash = ComputeHash(r);
    Stmt q(impl_->db->db(),
           "INSERT INTO audit_log (seq, at, actor, action, case_id, details, prev_hash, hash) "
           "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    q.Bind(1, r.seq).Bind(2, r.at).Bind(3, r.actor).Bind(4, r.action).Bind(5, r.case_id);
    q.Bind(6, r.details).Bind(7, r.prev_hash).Bind(8, r.hash);
    if (q.Step() != SQLITE_DONE) return impl_->db->Error("cannot append to the audit log");
    return Status::OK();
  });
  if (!s.ok()) return s;
  return r;
}

Result<AuditVerification> AuditLog::Verify(const std::string& expected_head) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  // One read transaction: a consistent snapshot even while other processes append.
  Status s = impl_->db->Exec("BEGIN");
  if (!s.ok()) return s;
  AuditVerification v;
  s = [&]() -> Status {
    {
      Stmt n(impl_->db->db(), "SELECT COUNT(*) FROM audit_log");
      if (n.Step() != SQLITE_ROW) return impl_->db->Error("cannot read the audit log");
      v.records = n.Int(0);
    }
    {
      Stmt h(impl_->db->db(), "SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1");
      if (h.Step() == SQLITE_ROW) v.head = h.Text(0);
    }
    int64_t expected_seq = 1;
    std::string prev = kZeroHash;
    AuditRecord bad;
    enum { kNone, kGap, kLink, kAltered } problem = kNone;
    {
      Stmt q(impl_->db->db(), (std::string(kCols) + " ORDER BY seq").c_str());
      int rc;
      while ((rc = q.Step()) == SQLITE_ROW) {
        AuditRecord r = ReadRecord(q);
        if (r.seq != expected_seq) problem = kGap;
        else if (r.prev_hash != prev) problem = kLink;
        else if (ComputeHash(r) != r.hash) problem = kAltered;
        if (problem != kNone) {
          bad = std::move(r);
          break;
        }
        prev = r.hash;
        ++expected_seq;
      }
      if (problem == kNone && rc != SQLITE_DONE) return impl_->db->Error("cannot read the audit log");
    }
    const std::string S = std::to_string(bad.seq), E = std::to_string(expected_seq);
    switch (problem) {
      case kNone:
        v.ok = true;
        break;
      case kGap:
        if (bad.seq > expected_seq) {
          v.first_bad_seq = expected_seq;
          v.problem = bad.seq == expected_seq + 1
                          ? "record " + E + " is missing (deleted): record " + S + " comes next"
                          : "records " + E + " to " + std::to_string(bad.seq - 1) + " are missing (deleted): record " +
                                S + " comes next";
        } else {
          v.first_bad_seq = bad.seq;
          v.problem = "record " + S + " was inserted: sequence numbers start at 1 and have no gaps";
        }
        break;
      case kLink: {
        // Which record is this one chained to, if any still in the log?
        const int64_t k = impl_->SeqOfHash(bad.prev_hash);
        if (k > 0 && k < bad.seq - 1) {
          v.first_bad_seq = k + 1;
          v.problem = (k + 1 == bad.seq - 1 ? "record " + std::to_string(k + 1) + " was inserted"
                                            : "records " + std::to_string(k + 1) + " to " +
                                                  std::to_string(bad.seq - 1) + " were inserted") +
                      " after the fact: record " + S + " is chained to record " + std::to_string(k);
        } else if (k >= bad.seq) {
          v.first_bad_seq = bad.seq;
          v.problem = "records were reordered: record " + S + " is chained to record " + std::to_string(k) +
                      ", which comes after it";
        } else if (bad.seq == 1) {
          v.first_bad_seq = 1;
          v.problem = "record 1 does not start the chain (its previous hash is not zeros): earlier records were "
                      "deleted and the rest renumbered, or the log was rewritten";
        } else if (ComputeHash(bad) == bad.hash) {
          // This record is as it was written, so its predecessor is not.
          v.first_bad_seq = bad.seq - 1;
          v.problem = "record " + std::to_string(bad.seq - 1) + " was altered and re-hashed, or replaced: record " + S +
                      " is chained to a different record " + std::to_string(bad.seq - 1);
        } else {
          v.first_bad_seq = bad.seq;
          v.problem = "a record was deleted before record " + S +
                      " and the later ones renumbered: it is chained to a record no longer in the log";
        }
        break;
      }
      case kAltered:
        v.first_bad_seq = bad.seq;
        v.problem = "record " + S + " was altered: its contents do not match its hash";
        break;
    }
    if (v.ok && !expected_head.empty()) {
      if (expected_head == v.head) {
        v.expected_head_seq = v.records;
      } else if (const int64_t k = impl_->SeqOfHash(expected_head); k > 0) {
        v.expected_head_seq = k;  // the log has grown since the copy was taken
      } else {
        v.ok = false;
        v.head_mismatch = true;
        v.first_bad_seq = std::max<int64_t>(1, v.records);
        v.problem = "the expected head " + expected_head.substr(0, 64) + " is not in the log (" +
                    std::to_string(v.records) + " records, head " + (v.head.empty() ? "none" : v.head) +
                    "): records were removed from the end, or the log was rewritten from some point on";
      }
    }
    return Status::OK();
  }();
  impl_->db->Exec("COMMIT");
  if (!s.ok()) return s;
  return v;
}

Result<std::string> AuditLog::Head() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Stmt q(impl_->db->db(), "SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1");
  const int rc = q.Step();
  if (rc == SQLITE_DONE) return std::string();
  if (rc != SQLITE_ROW) return impl_->db->Error("cannot read the audit log");
  return q.Text(0);
}

Result<std::vector<AuditRecord>> AuditLog::Records(const AuditFilter& filter) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  std::vector<AuditRecord> out;
  Status s = impl_->ForEach(filter, [&](const AuditRecord& r) { out.push_back(r); });
  if (!s.ok()) return s;
  return out;
}

Result<std::vector<std::pair<int64_t, std::string>>> AuditLog::ChainHashes(int64_t from_seq) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Stmt q(impl_->db->db(), "SELECT seq, hash FROM audit_log WHERE seq >= ? ORDER BY seq");
  q.Bind(1, from_seq);
  std::vector<std::pair<int64_t, std::string>> out;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) out.emplace_back(q.Int(0), q.Text(1));
  if (rc != SQLITE_DONE) return impl_->db->Error("cannot read the audit log");
  return out;
}

std::string AuditLog::ExportLine(const AuditRecord& r) {
  return RecordJson(r).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Status AuditLog::Export(std::ostream& out, const AuditFilter& filter) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Status s = impl_->ForEach(filter, [&](const AuditRecord& r) {
    out << ExportLine(r) << '\n';
  });
  if (!s.ok()) return s;
  out.flush();
  if (!out) return Status::IOError("cannot write the audit export");
  return Status::OK();
}

}  // namespace lineup
