#include "lineup/cases.h"

#include <cmath>
#include <mutex>

#include "oversight/sqlite_db.h"

namespace lineup {

using oversight::Stmt;

namespace {

// Version 1. Later versions append statements; never edit old ones. Users are named,
// not referenced: the accounts may live elsewhere, and a case outlives an account.
const std::vector<const char*> kMigrations = {
    R"sql(
CREATE TABLE IF NOT EXISTS cases (
  id INTEGER PRIMARY KEY,
  title TEXT NOT NULL,
  authority TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
  created_by TEXT NOT NULL,
  created_at TEXT NOT NULL,
  closed_by TEXT NOT NULL DEFAULT '',
  closed_at TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS case_members (
  case_id INTEGER NOT NULL REFERENCES cases(id),
  user TEXT NOT NULL,
  added_at TEXT NOT NULL,
  PRIMARY KEY (case_id, user));
CREATE INDEX IF NOT EXISTS case_members_user ON case_members(user);
CREATE TABLE IF NOT EXISTS searches (
  id INTEGER PRIMARY KEY,
  case_id INTEGER NOT NULL REFERENCES cases(id),
  user TEXT NOT NULL,
  justification TEXT NOT NULL,
  probe_sha256 TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('photo', 'vector')),
  threshold REAL NOT NULL,
  gallery_size INTEGER NOT NULL,
  low_quality INTEGER NOT NULL,
  at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS searches_case ON searches(case_id);
CREATE TABLE IF NOT EXISTS search_candidates (
  search_id INTEGER NOT NULL REFERENCES searches(id),
  rank INTEGER NOT NULL,
  face_id INTEGER NOT NULL,
  score REAL NOT NULL,
  PRIMARY KEY (search_id, rank));
CREATE TABLE IF NOT EXISTS reviews (
  id INTEGER PRIMARY KEY,
  search_id INTEGER NOT NULL REFERENCES searches(id),
  case_id INTEGER NOT NULL REFERENCES cases(id),
  face_id INTEGER NOT NULL,
  analyst TEXT NOT NULL,
  verdict TEXT NOT NULL CHECK (verdict IN ('possible_match', 'not_a_match', 'inconclusive')),
  note TEXT NOT NULL DEFAULT '',
  at TEXT NOT NULL,
  confirmed_by TEXT NOT NULL DEFAULT '',
  confirmed_at TEXT NOT NULL DEFAULT '',
  UNIQUE (search_id, face_id, analyst));
CREATE INDEX IF NOT EXISTS reviews_case ON reviews(case_id);
)sql",
    // Version 2: each search as it was shown (JSON: the probe, the decision and every
    // candidate with its provenance), so that it can be reopened exactly as the analyst
    // saw it without searching again.
    "ALTER TABLE searches ADD COLUMN shown TEXT NOT NULL DEFAULT '';",
    // Version 3: what the case keeps of a probe, for its evidence export: the searched
    // face's crop (always, for a photo), and the photo itself when asked to keep it.
    R"sql(
CREATE TABLE IF NOT EXISTS search_probes (
  search_id INTEGER PRIMARY KEY REFERENCES searches(id),
  face_crop BLOB NOT NULL,
  photo BLOB NOT NULL DEFAULT x'');
)sql",
};

constexpr size_t kMaxTitle = 500, kMaxJustification = 2000, kMaxNote = 2000, kMaxUser = 200;
constexpr size_t kMaxCandidates = 10000;
// A probe crop is a small JPEG; a kept probe photo is what an upload may be.
constexpr size_t kMaxProbeCrop = 4 << 20, kMaxProbePhoto = 256 << 20;

constexpr const char* kCaseCols =
    "SELECT id, title, authority, status, created_by, created_at, closed_at, closed_by FROM cases";
constexpr const char* kSearchCols =
    "SELECT id, case_id, user, justification, probe_sha256, kind, threshold, gallery_size, low_quality, at, shown "
    "FROM searches";
constexpr const char* kReviewCols =
    "SELECT id, search_id, case_id, face_id, analyst, verdict, note, at, confirmed_by, confirmed_at FROM reviews";

CaseRecord ReadCase(Stmt& q) {
  CaseRecord c;
  c.id = q.Int(0);
  c.title = q.Text(1);
  c.authority = q.Text(2);
  c.status = q.Text(3);
  c.created_by = q.Text(4);
  c.created_at = q.Text(5);
  c.closed_at = q.Text(6);
  c.closed_by = q.Text(7);
  return c;
}

SearchRecord ReadSearch(Stmt& q) {
  SearchRecord s;
  s.id = q.Int(0);
  s.case_id = q.Int(1);
  s.user = q.Text(2);
  s.justification = q.Text(3);
  s.probe_sha256 = q.Text(4);
  s.kind = q.Text(5);
  s.threshold = q.Real(6);
  s.gallery_size = q.Int(7);
  s.low_quality = q.Int(8) != 0;
  s.at = q.Text(9);
  s.shown = q.Text(10);
  return s;
}

ReviewRecord ReadReview(Stmt& q) {
  return {q.Int(0), q.Int(1), q.Int(2), q.Int(3), q.Text(4), q.Text(5), q.Text(6), q.Text(7), q.Text(8), q.Text(9)};
}

bool IsHex64(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

Status CheckUser(const std::string& what, const std::string& user) {
  return oversight::CheckText(what, user, kMaxUser, false, true);
}

}  // namespace

struct Cases::Impl {
  std::unique_ptr<SqliteDb> db;
  std::function<int64_t()> now;
  std::mutex mu;  // guards db

  std::string NowIso() const { return oversight::IsoTime(now()); }
  sqlite3* h() const { return db->db(); }

  // The rest is called with mu held.
  Result<CaseRecord> LoadCase(int64_t id) {
    Stmt q(h(), (std::string(kCaseCols) + " WHERE id = ?").c_str());
    q.Bind(1, id);
    const int rc = q.Step();
    if (rc == SQLITE_DONE) return Status::NotFound("no case " + std::to_string(id));
    if (rc != SQLITE_ROW) return db->Error("cannot read cases");
    CaseRecord c = ReadCase(q);
    Status s = LoadMembers(&c);
    if (!s.ok()) return s;
    return c;
  }
  Status LoadMembers(CaseRecord* c) {
    Stmt q(h(), "SELECT user FROM case_members WHERE case_id = ? ORDER BY added_at, user");
    q.Bind(1, c->id);
    int rc;
    while ((rc = q.Step()) == SQLITE_ROW) c->members.push_back(q.Text(0));
    if (rc != SQLITE_DONE) return db->Error("cannot read case members");
    return Status::OK();
  }
  // NotFound, FailedPrecondition if closed.
  Status RequireOpen(int64_t case_id) {
    Stmt q(h(), "SELECT status FROM cases WHERE id = ?");
    q.Bind(1, case_id);
    const int rc = q.Step();
    if (rc == SQLITE_DONE) return Status::NotFound("no case " + std::to_string(case_id));
    if (rc != SQLITE_ROW) return db->Error("cannot read cases");
    if (q.Text(0) != "open") return Status::FailedPrecondition("case " + std::to_string(case_id) + " is closed");
    return Status::OK();
  }
  Result<SearchRecord> LoadSearch(int64_t id) {
    Stmt q(h(), (std::string(kSearchCols) + " WHERE id = ?").c_str());
    q.Bind(1, id);
    const int rc = q.Step();
    if (rc == SQLITE_DONE) return Status::NotFound("no search " + std::to_string(id));
    if (rc != SQLITE_ROW) return db->Error("cannot read searches");
    SearchRecord s = ReadSearch(q);
    Status st = LoadCandidates(&s);
    if (!st.ok()) return st;
    return s;
  }
  Status LoadCandidates(SearchRecord* s) {
    Stmt q(h(), "SELECT face_id, score FROM search_candidates WHERE search_id = ? ORDER BY rank");
    q.Bind(1, s->id);
    int rc;
    while ((rc = q.Step()) == SQLITE_ROW) s->candidates.push_back({q.Int(0), static_cast<float>(q.Real(1))});
    if (rc != SQLITE_DONE) return db->Error("cannot read search candidates");
    return Status::OK();
  }
  Result<ReviewRecord> LoadReview(int64_t id) {
    Stmt q(h(), (std::string(kReviewCols) + " WHERE id = ?").c_str());
    q.Bind(1, id);
    const int rc = q.Step();
    if (rc == SQLITE_DONE) return Status::NotFound("no review " + std::to_string(id));
    if (rc != SQLITE_ROW) return db->Error("cannot read reviews");
    return ReadReview(q);
  }
};

Cases::Cases(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Cases::~Cases() = default;

Result<std::unique_ptr<Cases>> Cases::Open(const std::string& catalog_path, std::function<int64_t()> now) {
  auto db = oversight::OpenCatalog(catalog_path);
  if (!db.ok()) return db.status();
  Status s = oversight::Migrate(**db, "cases", kMigrations);
  if (!s.ok()) return s;
  auto impl = std::make_unique<Impl>();
  impl->db = std::move(*db);
  impl->now = oversight::ClockOr(std::move(now));
  return std::unique_ptr<Cases>(new Cases(std::move(impl)));
}

Result<CaseRecord> Cases::Create(const std::string& title, const std::string& authority, const std::string& created_by) {
  Status s = oversight::CheckText("a case title", title, kMaxTitle, false, true);
  if (s.ok()) s = oversight::CheckText("a case's authority", authority, kMaxTitle, false, true);
  if (s.ok()) s = CheckUser("a case's creator", created_by);
  if (!s.ok()) return s;
  std::lock_guard<std::mutex> lock(impl_->mu);
  int64_t id = 0;
  s = impl_->db->InTransaction([&]() -> Status {
    const std::string now = impl_->NowIso();
    Stmt q(impl_->h(), "INSERT INTO cases (title, authority, created_by, created_at) VALUES (?, ?, ?, ?)");
    q.Bind(1, title).Bind(2, authority).Bind(3, created_by).Bind(4, now);
    if (Status r = impl_->db->Run(q, "cannot create case"); !r.ok()) return r;
    id = sqlite3_last_insert_rowid(impl_->h());
    Stmt m(impl_->h(), "INSERT INTO case_members (case_id, user, added_at) VALUES (?, ?, ?)");
    m.Bind(1, id).Bind(2, created_by).Bind(3, now);
    return impl_->db->Run(m, "cannot add case member");
  });
  if (!s.ok()) return s;
  return impl_->LoadCase(id);
}

Result<CaseRecord> Cases::Get(int64_t case_id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->LoadCase(case_id);
}

Result<std::vector<CaseRecord>> Cases::List(const std::string& member) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Stmt q(impl_->h(), (std::string(kCaseCols) +
                      " WHERE ?1 = '' OR id IN (SELECT case_id FROM case_members WHERE user = ?1) ORDER BY id")
                         .c_str());
  q.Bind(1, member);
  std::vector<CaseRecord> out;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) out.push_back(ReadCase(q));
  if (rc != SQLITE_DONE) return impl_->db->Error("cannot list cases");
  for (CaseRecord& c : out) {
    Status s = impl_->LoadMembers(&c);
    if (!s.ok()) return s;
  }
  return out;
}

Status Cases::AddMember(int64_t case_id, const std::string& user) {
  Status s = CheckUser("a case member", user);
  if (!s.ok()) return s;
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->db->InTransaction([&]() -> Status {
    if (Status r = impl_->RequireOpen(case_id); !r.ok()) return r;
    Stmt q(impl_->h(), "INSERT OR IGNORE INTO case_members (case_id, user, added_at) VALUES (?, ?, ?)");
    q.Bind(1, case_id).Bind(2, user).Bind(3, impl_->NowIso());
    return impl_->db->Run(q, "cannot add case member");
  });
}

Result<bool> Cases::IsMember(int64_t case_id, const std::string& user) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Stmt q(impl_->h(), "SELECT 1 FROM case_members WHERE case_id = ? AND user = ?");
  q.Bind(1, case_id).Bind(2, user);
  const int rc = q.Step();
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return impl_->db->Error("cannot read case members");
  return rc == SQLITE_ROW;
}

Status Cases::Close(int64_t case_id, const std::string& by) {
  Status s = CheckUser("who closes a case", by);
  if (!s.ok()) return s;
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->db->InTransaction([&]() -> Status {
    if (Status r = impl_->RequireOpen(case_id); !r.ok()) return r;
    Stmt q(impl_->h(), "UPDATE cases SET status = 'closed', closed_by = ?, closed_at = ? WHERE id = ?");
    q.Bind(1, by).Bind(2, impl_->NowIso()).Bind(3, case_id);
    return impl_->db->Run(q, "cannot close case");
  });
}

Status Cases::RecordSearch(SearchRecord* search) {
  if (!search) return Status::InvalidArgument("no search to record");
  Status s = CheckUser("who searched", search->user);
  if (s.ok()) s = oversight::CheckText("a search justification", search->justification, kMaxJustification, false, false);
  if (!s.ok()) return s;
  if (search->kind != "photo" && search->kind != "vector")
    return Status::InvalidArgument("a search's kind is \"photo\" or \"vector\"");
  if (!search->probe_sha256.empty() && !IsHex64(search->probe_sha256))
    return Status::InvalidArgument("a probe's SHA-256 is 64 lower-case hex digits");
  if (!std::isfinite(search->threshold) || search->gallery_size < 0)
    return Status::InvalidArgument("a search needs a finite threshold and a gallery size of 0 or more");
  if (search->candidates.size() > kMaxCandidates)
    return Status::InvalidArgument("a search records at most " + std::to_string(kMaxCandidates) + " candidates");
  for (const SearchCandidate& c : search->candidates)
    if (!std::isfinite(c.score)) return Status::InvalidArgument("a candidate's score must be finite");
  if (search->probe_crop.size() > kMaxProbeCrop || search->probe_photo.size() > kMaxProbePhoto)
    return Status::InvalidArgument("a kept probe crop is at most 4 MiB and a kept probe photo at most 256 MiB");
  if (search->probe_crop.empty() && !search->probe_photo.empty())
    return Status::InvalidArgument("a kept probe photo needs the crop of the face searched");
  std::lock_guard<std::mutex> lock(impl_->mu);
  const std::string at = impl_->NowIso();
  int64_t id = 0;
  s = impl_->db->InTransaction([&]() -> Status {
    if (Status r = impl_->RequireOpen(search->case_id); !r.ok()) return r;
    Stmt q(impl_->h(),
           "INSERT INTO searches (case_id, user, justification, probe_sha256, kind, threshold, gallery_size, "
           "low_quality, at, shown) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    q.Bind(1, search->case_id).Bind(2, search->user).Bind(3, search->justification).Bind(4, search->probe_sha256);
    q.Bind(5, search->kind).Bind(6, search->threshold).Bind(7, search->gallery_size);
    q.Bind(8, search->low_quality ? 1 : 0).Bind(9, at).Bind(10, search->shown);
    if (Status r = impl_->db->Run(q, "cannot record search"); !r.ok()) return r;
    id = sqlite3_last_insert_rowid(impl_->h());
    Stmt c(impl_->h(), "INSERT INTO search_candidates (search_id, rank, face_id, score) VALUES (?, ?, ?, ?)");
    int64_t rank = 0;
    for (const SearchCandidate& cand : search->candidates) {
      c.Reset();
      c.Bind(1, id).Bind(2, ++rank).Bind(3, cand.face_id).Bind(4, static_cast<double>(cand.score));
      if (Status r = impl_->db->Run(c, "cannot record search candidates"); !r.ok()) return r;
    }
    if (search->probe_crop.empty()) return Status::OK();
    Stmt p(impl_->h(), "INSERT INTO search_probes (search_id, face_crop, photo) VALUES (?, ?, ?)");
    p.Bind(1, id).BindBlob(2, search->probe_crop).BindBlob(3, search->probe_photo);
    return impl_->db->Run(p, "cannot keep the probe");
  });
  if (!s.ok()) return s;
  search->id = id;
  search->at = at;
  return Status::OK();
}

Result<SearchRecord> Cases::GetSearch(int64_t search_id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->LoadSearch(search_id);
}

Result<std::vector<SearchRecord>> Cases::Searches(int64_t case_id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto c = impl_->LoadCase(case_id);
  if (!c.ok()) return c.status();
  Stmt q(impl_->h(), (std::string(kSearchCols) + " WHERE case_id = ? ORDER BY id").c_str());
  q.Bind(1, case_id);
  std::vector<SearchRecord> out;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) out.push_back(ReadSearch(q));
  if (rc != SQLITE_DONE) return impl_->db->Error("cannot list searches");
  for (SearchRecord& s : out) {
    Status st = impl_->LoadCandidates(&s);
    if (!st.ok()) return st;
  }
  return out;
}

Result<ProbeImages> Cases::ProbeImagesOf(int64_t search_id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto search = impl_->LoadSearch(search_id);
  if (!search.ok()) return search.status();
  Stmt q(impl_->h(), "SELECT face_crop, photo FROM search_probes WHERE search_id = ?");
  q.Bind(1, search_id);
  const int rc = q.Step();
  ProbeImages out;
  if (rc == SQLITE_DONE) return out;
  if (rc != SQLITE_ROW) return impl_->db->Error("cannot read the kept probe");
  out.crop = q.Blob(0);
  out.photo = q.Blob(1);
  return out;
}

Result<ReviewRecord> Cases::Review(int64_t search_id, int64_t face_id, const std::string& analyst,
                                   const std::string& verdict, const std::string& note) {
  if (verdict != "possible_match" && verdict != "not_a_match" && verdict != "inconclusive")
    return Status::InvalidArgument("a verdict is possible_match, not_a_match or inconclusive");
  Status s = CheckUser("a reviewer", analyst);
  if (s.ok()) s = oversight::CheckText("a review note", note, kMaxNote, true, false);
  if (!s.ok()) return s;
  std::lock_guard<std::mutex> lock(impl_->mu);
  int64_t id = 0;
  s = impl_->db->InTransaction([&]() -> Status {
    auto search = impl_->LoadSearch(search_id);
    if (!search.ok()) return search.status();
    if (Status r = impl_->RequireOpen(search->case_id); !r.ok()) return r;
    bool returned = false;
    for (const SearchCandidate& c : search->candidates) returned |= c.face_id == face_id;
    if (!returned)
      return Status::InvalidArgument("search " + std::to_string(search_id) + " did not return face " +
                                     std::to_string(face_id));
    // A second review by the same analyst replaces theirs and needs confirming again.
    Stmt q(impl_->h(),
           "INSERT INTO reviews (search_id, case_id, face_id, analyst, verdict, note, at) VALUES (?, ?, ?, ?, ?, ?, ?) "
           "ON CONFLICT (search_id, face_id, analyst) DO UPDATE SET verdict = excluded.verdict, "
           "note = excluded.note, at = excluded.at, confirmed_by = '', confirmed_at = ''");
    q.Bind(1, search_id).Bind(2, search->case_id).Bind(3, face_id).Bind(4, analyst).Bind(5, verdict);
    q.Bind(6, note).Bind(7, impl_->NowIso());
    if (Status r = impl_->db->Run(q, "cannot record review"); !r.ok()) return r;
    Stmt back(impl_->h(), "SELECT id FROM reviews WHERE search_id = ? AND face_id = ? AND analyst = ?");
    back.Bind(1, search_id).Bind(2, face_id).Bind(3, analyst);
    if (back.Step() != SQLITE_ROW) return impl_->db->Error("cannot read review back");
    id = back.Int(0);
    return Status::OK();
  });
  if (!s.ok()) return s;
  return impl_->LoadReview(id);
}

Result<ReviewRecord> Cases::Confirm(int64_t review_id, const std::string& analyst) {
  Status s = CheckUser("who confirms", analyst);
  if (!s.ok()) return s;
  std::lock_guard<std::mutex> lock(impl_->mu);
  s = impl_->db->InTransaction([&]() -> Status {
    auto r = impl_->LoadReview(review_id);
    if (!r.ok()) return r.status();
    if (r->analyst == analyst)
      return Status::PermissionDenied("a possible match is confirmed by a second analyst, not by " + analyst +
                                      " who marked it");
    if (r->verdict != "possible_match")
      return Status::FailedPrecondition("review " + std::to_string(review_id) + " is " + r->verdict +
                                        ": only a possible_match is confirmed");
    if (!r->confirmed_by.empty())
      return Status::FailedPrecondition("review " + std::to_string(review_id) + " was already confirmed by " +
                                        r->confirmed_by);
    if (Status o = impl_->RequireOpen(r->case_id); !o.ok()) return o;
    Stmt q(impl_->h(), "UPDATE reviews SET confirmed_by = ?, confirmed_at = ? WHERE id = ? AND confirmed_by = ''");
    q.Bind(1, analyst).Bind(2, impl_->NowIso()).Bind(3, review_id);
    return impl_->db->Run(q, "cannot confirm review");
  });
  if (!s.ok()) return s;
  return impl_->LoadReview(review_id);
}

Result<ReviewRecord> Cases::GetReview(int64_t review_id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->LoadReview(review_id);
}

Result<std::vector<ReviewRecord>> Cases::Reviews(int64_t case_id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto c = impl_->LoadCase(case_id);
  if (!c.ok()) return c.status();
  Stmt q(impl_->h(), (std::string(kReviewCols) + " WHERE case_id = ? ORDER BY id").c_str());
  q.Bind(1, case_id);
  std::vector<ReviewRecord> out;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) out.push_back(ReadReview(q));
  if (rc != SQLITE_DONE) return impl_->db->Error("cannot list reviews");
  return out;
}

Result<OversightStats> Cases::Stats() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  OversightStats st;
  // One snapshot for all the numbers.
  Status s = impl_->db->Exec("BEGIN");
  if (!s.ok()) return s;
  s = [&]() -> Status {
    {
      Stmt q(impl_->h(), "SELECT user, COUNT(*) AS n FROM searches GROUP BY user ORDER BY n DESC, user");
      int rc;
      while ((rc = q.Step()) == SQLITE_ROW) st.searches_per_user.push_back({q.Text(0), q.Int(1)});
      if (rc != SQLITE_DONE) return impl_->db->Error("cannot count searches");
    }
    {
      Stmt q(impl_->h(),
             "SELECT c.id, c.title, COUNT(s.id) FROM cases c LEFT JOIN searches s ON s.case_id = c.id "
             "GROUP BY c.id ORDER BY c.id");
      int rc;
      while ((rc = q.Step()) == SQLITE_ROW) st.searches_per_case.push_back({q.Int(0), q.Text(1), q.Int(2)});
      if (rc != SQLITE_DONE) return impl_->db->Error("cannot count searches");
    }
    {
      Stmt q(impl_->h(),
             "SELECT COUNT(*), COALESCE(SUM(low_quality != 0), 0), COALESCE(SUM(EXISTS (SELECT 1 FROM "
             "search_candidates c WHERE c.search_id = s.id AND c.score >= s.threshold)), 0) FROM searches s");
      if (q.Step() != SQLITE_ROW) return impl_->db->Error("cannot count searches");
      st.searches = q.Int(0);
      if (st.searches > 0) {
        st.low_quality_share = static_cast<double>(q.Int(1)) / static_cast<double>(st.searches);
        st.above_threshold_share = static_cast<double>(q.Int(2)) / static_cast<double>(st.searches);
      }
    }
    {
      Stmt q(impl_->h(),
             "SELECT COALESCE(SUM(verdict = 'possible_match'), 0), COALESCE(SUM(verdict = 'not_a_match'), 0), "
             "COALESCE(SUM(verdict = 'inconclusive'), 0), COALESCE(SUM(confirmed_by != ''), 0) FROM reviews");
      if (q.Step() != SQLITE_ROW) return impl_->db->Error("cannot count reviews");
      st.reviews_possible = q.Int(0);
      st.reviews_not = q.Int(1);
      st.reviews_inconclusive = q.Int(2);
      st.reviews_confirmed = q.Int(3);
    }
    return Status::OK();
  }();
  impl_->db->Exec("COMMIT");
  if (!s.ok()) return s;
  return st;
}

nlohmann::json CaseRecordJson(const CaseRecord& c) {
  return {{"id", c.id},
          {"title", c.title},
          {"authority", c.authority},
          {"status", c.status},
          {"created_by", c.created_by},
          {"created_at", c.created_at},
          {"closed_by", c.closed_by},
          {"closed_at", c.closed_at},
          {"members", c.members}};
}

nlohmann::json ReviewRecordJson(const ReviewRecord& r) {
  return {{"id", r.id},
          {"search_id", r.search_id},
          {"case_id", r.case_id},
          {"face_id", r.face_id},
          {"analyst", r.analyst},
          {"verdict", r.verdict},
          {"note", r.note},
          {"at", r.at},
          {"confirmed", !r.confirmed_by.empty()},
          {"confirmed_by", r.confirmed_by},
          {"confirmed_at", r.confirmed_at}};
}

}  // namespace lineup
