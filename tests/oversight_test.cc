// Oversight: accounts (passwords, sessions, tokens, throttling), cases (searches, reviews,
// the two-person rule, statistics), the hash-chained audit log, including tampering
// done directly to the database file, and the record of faces shown (disclosures).
#include <openssl/evp.h>
#include <sqlite3.h>

#include <atomic>
#include <filesystem>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "lineup/accounts.h"
#include "lineup/audit_log.h"
#include "lineup/cases.h"
#include "lineup/catalog.h"
#include "lineup/disclosures.h"
#include "lineup/gallery.h"
#include "test_util.h"

namespace {

using lineup::Accounts;
using lineup::AccountsOptions;
using lineup::AuditFilter;
using lineup::AuditLog;
using lineup::AuditRecord;
using lineup::Cases;
using lineup::Role;
using lineup::SearchRecord;
using lineup::Status;
using lineup_test::TempDir;
using Code = lineup::Status::Code;

constexpr const char* kPassword = "correct horse battery";
constexpr int64_t kT0 = 1798761600;  // 2027-01-01T00:00:00Z

// A gallery in a temp dir and a clock the tests move by hand.
class OversightTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(lineup::Gallery::Init(dir_.path() + "/g").ok());
    catalog_ = dir_.path() + "/g/catalog.sqlite";
  }
  std::function<int64_t()> Clock() {
    return [this] { return now_.load(); };
  }
  std::unique_ptr<AuditLog> OpenLog() {
    auto log = AuditLog::Open(catalog_, Clock());
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    return log.ok() ? std::move(*log) : nullptr;
  }
  std::unique_ptr<Cases> OpenCases() {
    auto c = Cases::Open(catalog_, Clock());
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(*c) : nullptr;
  }
  std::unique_ptr<Accounts> OpenAccounts(int max_failed = 5, int64_t lockout = 900) {
    AccountsOptions o;
    o.now = Clock();
    o.max_failed_logins = max_failed;
    o.lockout_seconds = lockout;
    o.session_seconds = 3600;
    auto a = Accounts::Open(catalog_, o);
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    return a.ok() ? std::move(*a) : nullptr;
  }
  // Raw SQL on the catalog file, as someone with the file (not the API) would do it.
  void Sql(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(catalog_.c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    std::string m = err ? err : "";
    sqlite3_free(err);
    sqlite3_close(db);
    ASSERT_EQ(rc, SQLITE_OK) << m << "\n" << sql;
  }
  int64_t SqlInt(const std::string& sql) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(catalog_.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* s = nullptr;
    int64_t v = -1;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
      v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
  }
  // Five records: seq 1..5, one second apart.
  std::vector<AuditRecord> FiveRecords(AuditLog& log) {
    std::vector<AuditRecord> out;
    for (int i = 1; i <= 5; ++i) {
      auto r = log.Append(i % 2 ? "alice" : "bob", "search", i, nlohmann::json{{"n", i}}.dump());
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      if (r.ok()) out.push_back(*r);
      now_ += 1;
    }
    return out;
  }
  // The triggers only stop accidents; an attacker with the file drops them first.
  void DropTriggers() { Sql("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;"); }

  TempDir dir_;
  std::string catalog_;
  std::atomic<int64_t> now_{kT0};
};

std::string Sha256HexOpenSsl(const std::string& bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &n, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < n; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

std::string Field(const std::string& s) { return std::to_string(s.size()) + ":" + s + "\n"; }

// ---------------------------------------------------------------- audit log

TEST_F(OversightTest, AuditAppendChainsAndHashesTheDocumentedBytes) {
  auto log = OpenLog();
  ASSERT_TRUE(log);
  auto head = log->Head();
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(*head, "");
  auto empty = log->Verify();
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->ok);
  EXPECT_EQ(empty->records, 0);

  auto r1 = log->Append("alice", "login", 0, "");
  ASSERT_TRUE(r1.ok()) << r1.status().ToString();
  EXPECT_EQ(r1->seq, 1);
  EXPECT_EQ(r1->at, "2027-01-01T00:00:00Z");
  EXPECT_EQ(r1->details, "{}");
  EXPECT_EQ(r1->prev_hash, std::string(64, '0'));
  // The bytes of docs/oversight.md, hashed by another SHA-256 implementation.
  const std::string bytes = Field("lineup-audit-v1") + Field(std::string(64, '0')) + Field("1") +
                            Field("2027-01-01T00:00:00Z") + Field("alice") + Field("login") + Field("0") + Field("{}");
  EXPECT_EQ(r1->hash, Sha256HexOpenSsl(bytes));

  now_ += 5;
  // Details are stored compact, keys sorted.
  auto r2 = log->Append("bob", "search", 7, R"({ "z": 1, "a": [1, 2, 3], "s": "x" })");
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->seq, 2);
  EXPECT_EQ(r2->prev_hash, r1->hash);
  EXPECT_EQ(r2->details, R"({"a":[1,2,3],"s":"x","z":1})");
  EXPECT_EQ(r2->hash, AuditLog::ComputeHash(*r2));
  EXPECT_EQ(*log->Head(), r2->hash);

  auto v = log->Verify(r2->hash);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->ok) << v->problem;
  EXPECT_EQ(v->records, 2);
  EXPECT_EQ(v->head, r2->hash);
  EXPECT_EQ(v->expected_head_seq, 2);
  // An older head kept elsewhere is still in the chain: the log has only grown.
  v = log->Verify(r1->hash);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->ok);
  EXPECT_EQ(v->expected_head_seq, 1);

  // A second connection sees the same chain and continues it.
  auto other = OpenLog();
  auto r3 = other->Append("carol", "case_create", 0, "{}");
  ASSERT_TRUE(r3.ok());
  EXPECT_EQ(r3->seq, 3);
  EXPECT_EQ(r3->prev_hash, r2->hash);
}

TEST_F(OversightTest, AuditAppendRefusesBadInput) {
  auto log = OpenLog();
  ASSERT_TRUE(log);
  for (const char* details : {"[1,2]", "\"text\"", "42", "{", "{\"a\":}", "null"}) {
    auto r = log->Append("alice", "login", 0, details);
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << details;
  }
  EXPECT_EQ(log->Append("", "login", 0, "{}").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(log->Append("alice", "", 0, "{}").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(log->Append("alice", "DROP TABLE", 0, "{}").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(log->Append("alice", "login", -1, "{}").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(log->Append(std::string(10000, 'a'), "login", 0, "{}").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(log->Append("al\nice", "login", 0, "{}").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(log->Append("\xff\xfe", "login", 0, "{}").status().code(), Code::kInvalidArgument);
  // Never raw vectors in the details.
  nlohmann::json vec = nlohmann::json::array();
  for (int i = 0; i < 128; ++i) vec.push_back(0.01 * i + 0.001);
  EXPECT_EQ(log->Append("alice", "search", 0, nlohmann::json{{"probe", {{"v", vec}}}}.dump()).status().code(),
            Code::kInvalidArgument);
  // Lists of ids are fine.
  nlohmann::json ids = nlohmann::json::array();
  for (int i = 0; i < 128; ++i) ids.push_back(i);
  EXPECT_TRUE(log->Append("alice", "erase", 0, nlohmann::json{{"face_ids", ids}}.dump()).ok());
  EXPECT_EQ(log->Verify()->records, 1);
}

TEST_F(OversightTest, AuditRefusesUpdatesThroughPlainSql) {
  auto log = OpenLog();
  FiveRecords(*log);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(catalog_.c_str(), &db), SQLITE_OK);
  EXPECT_NE(sqlite3_exec(db, "UPDATE audit_log SET actor = 'mallory'", nullptr, nullptr, nullptr), SQLITE_OK);
  EXPECT_NE(sqlite3_exec(db, "DELETE FROM audit_log WHERE seq = 2", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  EXPECT_TRUE(log->Verify()->ok);
}

TEST_F(OversightTest, AuditVerifyCatchesAnAlteredRecord) {
  auto log = OpenLog();
  auto recs = FiveRecords(*log);
  DropTriggers();
  Sql("UPDATE audit_log SET details = '{\"n\":333}' WHERE seq = 3");
  auto v = log->Verify();
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->ok);
  EXPECT_EQ(v->first_bad_seq, 3);
  EXPECT_NE(v->problem.find("altered"), std::string::npos) << v->problem;
  EXPECT_EQ(v->records, 5);

  // Altered and re-hashed by someone who knows the format: the next record's link breaks.
  AuditRecord forged = recs[2];
  forged.actor = "mallory";
  forged.details = R"({"n":3})";
  Sql("UPDATE audit_log SET details = '{\"n\":3}', actor = 'mallory', hash = '" + AuditLog::ComputeHash(forged) +
      "' WHERE seq = 3");
  v = log->Verify();
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->ok);
  EXPECT_EQ(v->first_bad_seq, 3) << v->problem;
  EXPECT_NE(v->problem.find("altered and re-hashed"), std::string::npos) << v->problem;
}

TEST_F(OversightTest, AuditVerifyCatchesAnInsertedRecord) {
  auto log = OpenLog();
  auto recs = FiveRecords(*log);
  DropTriggers();
  // Make room at 3 and insert a well-formed record chained to record 2.
  Sql("UPDATE audit_log SET seq = seq + 1000 WHERE seq >= 3; UPDATE audit_log SET seq = seq - 999 WHERE seq >= 1000;");
  AuditRecord fake;
  fake.seq = 3;
  fake.at = recs[1].at;
  fake.actor = "alice";
  fake.action = "search";
  fake.case_id = 2;
  fake.details = "{}";
  fake.prev_hash = recs[1].hash;
  fake.hash = AuditLog::ComputeHash(fake);
  Sql("INSERT INTO audit_log (seq, at, actor, action, case_id, details, prev_hash, hash) VALUES (3, '" + fake.at +
      "', 'alice', 'search', 2, '{}', '" + fake.prev_hash + "', '" + fake.hash + "')");
  EXPECT_EQ(SqlInt("SELECT COUNT(*) FROM audit_log"), 6);
  auto v = log->Verify();
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->ok);
  EXPECT_EQ(v->first_bad_seq, 3) << v->problem;
  EXPECT_NE(v->problem.find("inserted"), std::string::npos) << v->problem;
}

TEST_F(OversightTest, AuditVerifyCatchesAnInsertedRecordWithoutRenumbering) {
  auto log = OpenLog();
  auto recs = FiveRecords(*log);
  DropTriggers();
  Sql("INSERT INTO audit_log (seq, at, actor, action, case_id, details, prev_hash, hash) VALUES (0, '" + recs[0].at +
      "', 'mallory', 'login', 0, '{}', '" + std::string(64, '0') + "', '" + std::string(64, 'f') + "')");
  auto v = log->Verify();
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->ok);
  EXPECT_EQ(v->first_bad_seq, 0) << v->problem;
  EXPECT_NE(v->problem.find("inserted"), std::string::npos) << v->problem;
}

TEST_F(OversightTest, AuditVerifyCatchesADeletedRecord) {
  auto log = OpenLog();
  FiveRecords(*log);
  DropTriggers();
  Sql("DELETE FROM audit_log WHERE seq = 3");
  auto v = log->Verify();
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->ok);
  EXPECT_EQ(v->first_bad_seq, 3) << v->problem;
  EXPECT_NE(v->problem.find("missing"), std::string::npos) << v->problem;
  EXPECT_EQ(v->records, 4);

  // Deleted and the later ones renumbered to hide the gap: the link breaks there.
  Sql("UPDATE audit_log SET seq = seq - 1 WHERE seq = 4; UPDATE audit_log SET seq = seq - 1 WHERE seq = 5;");
  v = log->Verify();
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->ok);
  EXPECT_EQ(v->first_bad_seq, 3) << v->problem;
  EXPECT_NE(v->problem.find("deleted"), std::string::npos) << v->problem;
}

TEST_F(OversightTest, AuditVerifyCatchesDeletingTheFirstRecord) {
  auto log = OpenLog();
  FiveRecords(*log);
  DropTriggers();
  Sql("DELETE FROM audit_log WHERE seq = 1");
  auto v = log->Verify();
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->ok);
  EXPECT_EQ(v->first_bad_seq, 1) << v->problem;
  EXPECT_NE(v->problem.find("missing"), std::string::npos) << v->problem;
}

TEST_F(OversightTest, AuditVerifyCatchesReorderedRecords) {
  auto log = OpenLog();
  FiveRecords(*log);
  DropTriggers();
  // Swap records 3 and 4.
  Sql("UPDATE audit_log SET seq = 100 WHERE seq = 3; UPDATE audit_log SET seq = 3 WHERE seq = 4;"
      "UPDATE audit_log SET seq = 4 WHERE seq = 100;");
  auto v = log->Verify();
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->ok);
  EXPECT_EQ(v->first_bad_seq, 3) << v->problem;
  EXPECT_NE(v->problem.find("reordered"), std::string::npos) << v->problem;
}

TEST_F(OversightTest, AuditVerifyCatchesARewrittenTailAgainstTheKeptHead) {
  auto log = OpenLog();
  auto recs = FiveRecords(*log);
  const std::string kept = recs.back().hash;
  DropTriggers();
  // Remove the last two records: what is left is a valid chain on its own...
  Sql("DELETE FROM audit_log WHERE seq >= 4");
  auto v = log->Verify();
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->ok);
  // ...but not the one whose head was kept elsewhere.
  v = log->Verify(kept);
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->ok);
  EXPECT_TRUE(v->head_mismatch);
  EXPECT_EQ(v->first_bad_seq, 3);
  EXPECT_NE(v->problem.find("expected head"), std::string::npos) << v->problem;
  // Rewritten from record 3 on, re-hashed and re-chained: also only the head tells.
  Sql("DELETE FROM audit_log WHERE seq >= 3");
  auto again = log->Append("mallory", "search", 3, "{}");
  ASSERT_TRUE(again.ok());
  v = log->Verify(kept);
  EXPECT_FALSE(v->ok);
  EXPECT_TRUE(log->Verify(recs[1].hash)->ok);  // records 1-2 are still the kept ones
}

TEST_F(OversightTest, AuditConcurrentAppendersKeepOneChain) {
  auto a = OpenLog();
  auto b = OpenLog();  // a second connection, as a second process would have
  ASSERT_TRUE(a && b);
  constexpr int kThreads = 4, kEach = 40;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      AuditLog& log = t % 2 ? *a : *b;
      for (int i = 0; i < kEach; ++i)
        if (!log.Append("user" + std::to_string(t), "search", t, nlohmann::json{{"i", i}}.dump()).ok()) ++failures;
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  auto v = a->Verify();
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->ok) << v->problem;
  EXPECT_EQ(v->records, kThreads * kEach);
  auto all = b->Records();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(static_cast<int>(all->size()), kThreads * kEach);
  for (size_t i = 0; i < all->size(); ++i) EXPECT_EQ((*all)[i].seq, static_cast<int64_t>(i + 1));
}

TEST_F(OversightTest, AuditExportFilters) {
  auto log = OpenLog();
  ASSERT_TRUE(log->Append("alice", "login", 0, "{}").ok());
  now_ = kT0 + 86400;  // 2027-01-02
  ASSERT_TRUE(log->Append("alice", "search", 4, R"({"top":10})").ok());
  ASSERT_TRUE(log->Append("bob", "search", 5, "{}").ok());
  now_ = kT0 + 2 * 86400;  // 2027-01-03
  ASSERT_TRUE(log->Append("bob", "review", 4, R"({"note":"line\nbreak \"quoted\""})").ok());
  ASSERT_TRUE(log->Append("alice", "search", 4, "{}").ok());

  auto lines = [&](const AuditFilter& f) {
    std::ostringstream out;
    EXPECT_TRUE(log->Export(out, f).ok());
    std::vector<nlohmann::json> js;
    for (const auto& l : lineup_test::Lines(out.str())) js.push_back(nlohmann::json::parse(l));
    return js;
  };
  auto all = lines({});
  ASSERT_EQ(all.size(), 5u);
  for (const char* k : {"seq", "at", "actor", "action", "case_id", "details", "prev_hash", "hash"})
    EXPECT_TRUE(all[0].contains(k)) << k;
  // details is the hashed text itself, so an export can be re-verified outside Lineup.
  EXPECT_EQ(nlohmann::json::parse(all[3]["details"].get<std::string>())["note"], "line\nbreak \"quoted\"");
  EXPECT_EQ(all[4]["prev_hash"], all[3]["hash"]);

  AuditFilter f;
  f.since = "2027-01-02";
  EXPECT_EQ(lines(f).size(), 4u);
  f.since = "2027-01-03T00:00:00Z";
  EXPECT_EQ(lines(f).size(), 2u);
  f = {};
  f.case_id = 4;
  auto c4 = lines(f);
  ASSERT_EQ(c4.size(), 3u);
  EXPECT_EQ(c4[0]["seq"], 2);
  f = {};
  f.actor = "bob";
  EXPECT_EQ(lines(f).size(), 2u);
  f = {};
  f.action = "search";
  EXPECT_EQ(lines(f).size(), 3u);
  f.actor = "alice";
  EXPECT_EQ(lines(f).size(), 2u);
  f = {};
  f.limit = 2;  // the newest two, oldest first
  auto newest = lines(f);
  ASSERT_EQ(newest.size(), 2u);
  EXPECT_EQ(newest[0]["seq"], 4);
  EXPECT_EQ(newest[1]["seq"], 5);
  f = {};
  f.actor = "x' OR '1'='1";
  EXPECT_EQ(lines(f).size(), 0u);
  f = {};
  f.since = "yesterday";
  std::ostringstream sink;
  EXPECT_EQ(log->Export(sink, f).code(), Code::kInvalidArgument);
  f = {};
  f.limit = -1;
  EXPECT_EQ(log->Records(f).status().code(), Code::kInvalidArgument);
}

// ---------------------------------------------------------------- accounts

TEST_F(OversightTest, AccountsAddAndList) {
  auto acc = OpenAccounts();
  ASSERT_TRUE(acc);
  auto u = acc->AddUser("alice", Role::kAdmin, kPassword);
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->name, "alice");
  EXPECT_EQ(u->role, Role::kAdmin);
  EXPECT_FALSE(u->disabled);
  EXPECT_EQ(u->created_at, "2027-01-01T00:00:00Z");
  EXPECT_EQ(acc->AddUser("alice", Role::kAnalyst, kPassword).status().code(), Code::kInvalidArgument);
  for (const std::string& bad : {std::string(), std::string(65, 'a'), std::string("al ice"), std::string("a'b"),
                                std::string("'; DROP TABLE users; --"), std::string("é"), std::string("a/b")})
    EXPECT_EQ(acc->AddUser(bad, Role::kAnalyst, kPassword).status().code(), Code::kInvalidArgument) << bad;
  EXPECT_EQ(acc->AddUser("bob", Role::kAnalyst, "short").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(acc->AddUser("bob", Role::kAnalyst, "elevenchars").status().code(), Code::kInvalidArgument);
  ASSERT_TRUE(acc->AddUser("bob.smith@unit-7_x", Role::kEnroller, "twelve chars").ok());
  auto users = acc->Users();
  ASSERT_TRUE(users.ok());
  ASSERT_EQ(users->size(), 2u);
  EXPECT_EQ((*users)[0].name, "alice");
  EXPECT_EQ((*users)[1].role, Role::kEnroller);
  EXPECT_EQ(acc->FindUser("nobody").status().code(), Code::kNotFound);

  // The password is stored only as an Argon2id string.
  EXPECT_EQ(SqlInt("SELECT COUNT(*) FROM users WHERE password_hash LIKE '$argon2id$%'"), 2);
  EXPECT_EQ(SqlInt("SELECT COUNT(*) FROM users WHERE instr(password_hash, 'horse') > 0"), 0);

  EXPECT_EQ(std::string(lineup::RoleName(Role::kAuditor)), "auditor");
  EXPECT_EQ(*lineup::ParseRole("enroller"), Role::kEnroller);
  EXPECT_EQ(lineup::ParseRole("root").status().code(), Code::kInvalidArgument);
}

TEST_F(OversightTest, AccountsRolesSourcesAndTheLastAdmin) {
  auto acc = OpenAccounts();
  ASSERT_TRUE(acc->AddUser("admin", Role::kAdmin, kPassword).ok());
  ASSERT_TRUE(acc->AddUser("eve", Role::kEnroller, kPassword).ok());
  {
    auto cat = lineup::Catalog::Open(catalog_, false);
    ASSERT_TRUE(cat.ok());
    lineup::SourceRecord s;
    s.name = "seized-phone";
    s.legal_basis = "warrant 12";
    ASSERT_TRUE((*cat)->AddSource(&s).ok());
  }
  EXPECT_TRUE(acc->GrantSource("eve", "seized-phone").ok());
  EXPECT_TRUE(acc->GrantSource("eve", "seized-phone").ok());  // again: no change
  EXPECT_EQ(acc->GrantSource("eve", "no-such-source").code(), Code::kNotFound);
  EXPECT_EQ(acc->GrantSource("admin", "seized-phone").code(), Code::kInvalidArgument);
  EXPECT_EQ(acc->GrantSource("nobody", "seized-phone").code(), Code::kNotFound);
  EXPECT_EQ(acc->FindUser("eve")->sources, std::vector<std::string>{"seized-phone"});
  ASSERT_TRUE(acc->SetRole("eve", Role::kAnalyst).ok());
  EXPECT_TRUE(acc->FindUser("eve")->sources.empty());
  EXPECT_EQ(acc->SetRole("nobody", Role::kAnalyst).code(), Code::kNotFound);
  // Nobody can lock the gallery out of administration by accident.
  EXPECT_EQ(acc->SetRole("admin", Role::kAnalyst).code(), Code::kFailedPrecondition);
  EXPECT_EQ(acc->SetDisabled("admin", true).code(), Code::kFailedPrecondition);
  ASSERT_TRUE(acc->SetRole("eve", Role::kAdmin).ok());
  EXPECT_TRUE(acc->SetDisabled("admin", true).ok());
}

TEST_F(OversightTest, AccountsLoginSessionsAndLogout) {
  auto acc = OpenAccounts();
  ASSERT_TRUE(acc->AddUser("alice", Role::kAnalyst, kPassword).ok());
  auto s = acc->Login("alice", kPassword);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->id.size(), 43u);
  EXPECT_FALSE(s->csrf.empty());
  EXPECT_NE(s->id, s->csrf);
  EXPECT_EQ(s->expires_at, "2027-01-01T01:00:00Z");
  // Only the SHA-256 of the session id is stored.
  EXPECT_EQ(SqlInt("SELECT COUNT(*) FROM sessions WHERE id_sha256 = '" + s->id + "'"), 0);
  EXPECT_EQ(SqlInt("SELECT COUNT(*) FROM sessions"), 1);

  auto p = acc->AuthenticateSession(s->id);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->name, "alice");
  EXPECT_EQ(p->role, Role::kAnalyst);
  EXPECT_EQ(p->via, "session");
  EXPECT_EQ(p->csrf, s->csrf);
  EXPECT_EQ(acc->AuthenticateSession("").status().code(), Code::kUnauthenticated);
  EXPECT_EQ(acc->AuthenticateSession(s->csrf).status().code(), Code::kUnauthenticated);

  // Wrong password, unknown name and disabled user all get one message.
  auto wrong = acc->Login("alice", "not the password");
  auto unknown = acc->Login("nobody", kPassword);
  EXPECT_EQ(wrong.status().code(), Code::kUnauthenticated);
  EXPECT_EQ(unknown.status().code(), Code::kUnauthenticated);
  EXPECT_EQ(wrong.status().message(), unknown.status().message());

  // Expiry.
  now_ += 3599;
  EXPECT_TRUE(acc->AuthenticateSession(s->id).ok());
  now_ += 1;
  EXPECT_EQ(acc->AuthenticateSession(s->id).status().code(), Code::kUnauthenticated);

  // Logout.
  auto s2 = acc->Login("alice", kPassword);
  ASSERT_TRUE(s2.ok());
  ASSERT_TRUE(acc->AuthenticateSession(s2->id).ok());
  ASSERT_TRUE(acc->Logout(s2->id).ok());
  EXPECT_EQ(acc->AuthenticateSession(s2->id).status().code(), Code::kUnauthenticated);
  EXPECT_TRUE(acc->Logout(s2->id).ok());

  // Disabled: sessions stop, sign-in refused with the same message.
  auto s3 = acc->Login("alice", kPassword);
  ASSERT_TRUE(s3.ok());
  ASSERT_TRUE(acc->SetDisabled("alice", true).ok());
  EXPECT_EQ(acc->AuthenticateSession(s3->id).status().code(), Code::kUnauthenticated);
  auto disabled = acc->Login("alice", kPassword);
  EXPECT_EQ(disabled.status().code(), Code::kUnauthenticated);
  EXPECT_EQ(disabled.status().message(), unknown.status().message());
  ASSERT_TRUE(acc->SetDisabled("alice", false).ok());
  EXPECT_EQ(acc->AuthenticateSession(s3->id).status().code(), Code::kUnauthenticated);  // stays ended
  EXPECT_TRUE(acc->Login("alice", kPassword).ok());

  // A new password works, the old one does not, and old sessions end.
  auto s4 = acc->Login("alice", kPassword);
  ASSERT_TRUE(acc->SetPassword("alice", "another long passphrase").ok());
  EXPECT_EQ(acc->AuthenticateSession(s4->id).status().code(), Code::kUnauthenticated);
  EXPECT_EQ(acc->Login("alice", kPassword).status().code(), Code::kUnauthenticated);
  EXPECT_TRUE(acc->Login("alice", "another long passphrase").ok());
  EXPECT_EQ(acc->SetPassword("alice", "short").code(), Code::kInvalidArgument);
}

TEST_F(OversightTest, AccountsThrottleLoginsAndUnlockWithTime) {
  auto acc = OpenAccounts(/*max_failed=*/3, /*lockout=*/600);
  ASSERT_TRUE(acc->AddUser("alice", Role::kAnalyst, kPassword).ok());
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(acc->Login("alice", "wrong password!").status().code(), Code::kUnauthenticated);
    now_ += 10;
  }
  // Locked: even the right password is refused, without being checked.
  auto locked = acc->Login("alice", kPassword);
  EXPECT_EQ(locked.status().code(), Code::kUnavailable) << locked.status().ToString();
  // Until lockout_seconds after the last failure (at +20 s).
  now_ = kT0 + 20 + 599;
  EXPECT_EQ(acc->Login("alice", kPassword).status().code(), Code::kUnavailable);
  now_ = kT0 + 20 + 600;
  EXPECT_TRUE(acc->Login("alice", kPassword).ok());
  // A success resets the count.
  EXPECT_EQ(acc->Login("alice", "wrong password!").status().code(), Code::kUnauthenticated);
  EXPECT_EQ(acc->Login("alice", "wrong password!").status().code(), Code::kUnauthenticated);
  EXPECT_TRUE(acc->Login("alice", kPassword).ok());

  // Failures spread wider than the window do not lock.
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(acc->Login("alice", "wrong password!").status().code(), Code::kUnauthenticated);
    now_ += 400;
  }
  EXPECT_TRUE(acc->Login("alice", kPassword).ok());

  // Unknown names are throttled the same way, so throttling does not reveal names.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(acc->Login("ghost", "whatever it is").status().code(), Code::kUnauthenticated);
  EXPECT_EQ(acc->Login("ghost", "whatever it is").status().code(), Code::kUnavailable);

  // An admin's password reset lifts the lock.
  for (int i = 0; i < 3; ++i) acc->Login("alice", "wrong password!");
  EXPECT_EQ(acc->Login("alice", kPassword).status().code(), Code::kUnavailable);
  ASSERT_TRUE(acc->SetPassword("alice", "a brand new passphrase").ok());
  EXPECT_TRUE(acc->Login("alice", "a brand new passphrase").ok());
}

TEST_F(OversightTest, AccountsTokens) {
  auto acc = OpenAccounts();
  ASSERT_TRUE(acc->AddUser("admin", Role::kAdmin, kPassword).ok());
  ASSERT_TRUE(acc->AddUser("bot", Role::kEnroller, kPassword).ok());
  auto t = acc->CreateToken("bot", "nightly import", 2);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->secret.size(), 46u);
  EXPECT_EQ(t->secret.substr(0, 3), "lu_");
  EXPECT_EQ(t->info.user, "bot");
  EXPECT_EQ(t->info.label, "nightly import");
  EXPECT_EQ(t->info.expires_at, "2027-01-03T00:00:00Z");
  EXPECT_EQ(t->info.revoked_at, "");
  EXPECT_EQ(SqlInt("SELECT COUNT(*) FROM api_tokens WHERE instr(secret_sha256, '" + t->secret.substr(3) + "') > 0"), 0);

  auto p = acc->AuthenticateToken(t->secret);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->name, "bot");
  EXPECT_EQ(p->role, Role::kEnroller);
  EXPECT_EQ(p->via, "token");
  EXPECT_EQ(acc->AuthenticateToken("lu_" + std::string(43, 'A')).status().code(), Code::kUnauthenticated);
  EXPECT_EQ(acc->AuthenticateToken("").status().code(), Code::kUnauthenticated);
  EXPECT_EQ(acc->AuthenticateToken(t->secret + "x").status().code(), Code::kUnauthenticated);

  EXPECT_EQ(acc->CreateToken("bot", "", 0).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(acc->CreateToken("bot", "", 3651).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(acc->CreateToken("nobody", "", 1).status().code(), Code::kNotFound);
  EXPECT_EQ(acc->CreateToken("bot", std::string(10000, 'x'), 1).status().code(), Code::kInvalidArgument);

  // Disabled users' tokens stop working, and work again when re-enabled.
  ASSERT_TRUE(acc->SetDisabled("bot", true).ok());
  EXPECT_EQ(acc->AuthenticateToken(t->secret).status().code(), Code::kUnauthenticated);
  EXPECT_EQ(acc->CreateToken("bot", "", 1).status().code(), Code::kFailedPrecondition);
  ASSERT_TRUE(acc->SetDisabled("bot", false).ok());
  EXPECT_TRUE(acc->AuthenticateToken(t->secret).ok());

  // Revocation.
  auto t2 = acc->CreateToken("bot", "second", 30);
  ASSERT_TRUE(t2.ok());
  ASSERT_TRUE(acc->RevokeToken(t2->info.id).ok());
  EXPECT_EQ(acc->AuthenticateToken(t2->secret).status().code(), Code::kUnauthenticated);
  EXPECT_TRUE(acc->AuthenticateToken(t->secret).ok());
  EXPECT_TRUE(acc->RevokeToken(t2->info.id).ok());
  EXPECT_EQ(acc->RevokeToken(999).code(), Code::kNotFound);
  auto list = acc->Tokens("bot");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[1].revoked_at, "2027-01-01T00:00:00Z");
  EXPECT_EQ(acc->Tokens()->size(), 2u);
  EXPECT_TRUE(acc->Tokens("admin")->empty());
  EXPECT_EQ(acc->Tokens("nobody").status().code(), Code::kNotFound);

  // Expiry.
  now_ = kT0 + 2 * 86400 - 1;
  EXPECT_TRUE(acc->AuthenticateToken(t->secret).ok());
  now_ = kT0 + 2 * 86400;
  EXPECT_EQ(acc->AuthenticateToken(t->secret).status().code(), Code::kUnauthenticated);
}

TEST_F(OversightTest, AccountsFromManyThreads) {
  auto acc = OpenAccounts();
  ASSERT_TRUE(acc->AddUser("alice", Role::kAnalyst, kPassword).ok());
  auto t = acc->CreateToken("alice", "", 1);
  ASSERT_TRUE(t.ok());
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i)
    threads.emplace_back([&] {
      auto s = acc->Login("alice", kPassword);
      if (!s.ok() || !acc->AuthenticateSession(s->id).ok()) ++bad;
      for (int k = 0; k < 50; ++k)
        if (!acc->AuthenticateToken(t->secret).ok()) ++bad;
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
}

// ---------------------------------------------------------------- cases

SearchRecord Search(int64_t case_id, const std::string& user, std::vector<lineup::SearchCandidate> cands,
                    double threshold = 0.5, bool low_quality = false) {
  SearchRecord s;
  s.case_id = case_id;
  s.user = user;
  s.justification = "suspect in the CCTV still, frame 120";
  s.probe_sha256 = std::string(64, 'a');
  s.kind = "photo";
  s.threshold = threshold;
  s.gallery_size = 1000;
  s.low_quality = low_quality;
  s.candidates = std::move(cands);
  return s;
}

TEST_F(OversightTest, CasesCreateListAndClose) {
  auto cases = OpenCases();
  ASSERT_TRUE(cases);
  auto c1 = cases->Create("Burglary 14 Elm St", "warrant 2027/114", "ann");
  ASSERT_TRUE(c1.ok()) << c1.status().ToString();
  EXPECT_EQ(c1->status, "open");
  EXPECT_EQ(c1->created_by, "ann");
  EXPECT_EQ(c1->created_at, "2027-01-01T00:00:00Z");
  EXPECT_EQ(c1->members, std::vector<std::string>{"ann"});
  auto c2 = cases->Create("Fraud", "file 77", "ben");
  ASSERT_TRUE(c2.ok());
  ASSERT_TRUE(cases->AddMember(c1->id, "ben").ok());
  ASSERT_TRUE(cases->AddMember(c1->id, "ben").ok());
  EXPECT_EQ(cases->AddMember(99, "ben").code(), Code::kNotFound);
  EXPECT_EQ(cases->Get(c1->id)->members.size(), 2u);
  EXPECT_TRUE(*cases->IsMember(c1->id, "ben"));
  EXPECT_FALSE(*cases->IsMember(c2->id, "ann"));
  EXPECT_EQ(cases->List()->size(), 2u);
  EXPECT_EQ(cases->List("ann")->size(), 1u);
  EXPECT_EQ(cases->List("ben")->size(), 2u);
  EXPECT_TRUE(cases->List("carl")->empty());
  EXPECT_EQ(cases->Get(99).status().code(), Code::kNotFound);

  EXPECT_EQ(cases->Create("", "x", "ann").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(cases->Create("   ", "x", "ann").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(cases->Create("t", "", "ann").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(cases->Create(std::string(501, 't'), "x", "ann").status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(cases->Create(std::string(500, 't'), "x", "ann").ok());

  now_ += 60;
  ASSERT_TRUE(cases->Close(c2->id, "ben").ok());
  auto closed = cases->Get(c2->id);
  EXPECT_EQ(closed->status, "closed");
  EXPECT_EQ(closed->closed_by, "ben");
  EXPECT_EQ(closed->closed_at, "2027-01-01T00:01:00Z");
  EXPECT_EQ(cases->Close(c2->id, "ben").code(), Code::kFailedPrecondition);
  EXPECT_EQ(cases->AddMember(c2->id, "ann").code(), Code::kFailedPrecondition);
  EXPECT_EQ(cases->Close(99, "ben").code(), Code::kNotFound);
}

TEST_F(OversightTest, CasesSearchesNeedAnOpenCaseAndAJustification) {
  auto cases = OpenCases();
  auto c = cases->Create("Case", "warrant", "ann");
  ASSERT_TRUE(c.ok());
  SearchRecord s = Search(c->id, "ann", {{11, 0.8f}, {12, 0.6f}, {13, 0.3f}});
  ASSERT_TRUE(cases->RecordSearch(&s).ok());
  EXPECT_GT(s.id, 0);
  EXPECT_EQ(s.at, "2027-01-01T00:00:00Z");
  auto back = cases->GetSearch(s.id);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->justification, s.justification);
  ASSERT_EQ(back->candidates.size(), 3u);
  EXPECT_EQ(back->candidates[0].face_id, 11);
  EXPECT_FLOAT_EQ(back->candidates[1].score, 0.6f);
  EXPECT_EQ(cases->Searches(c->id)->size(), 1u);
  EXPECT_EQ(cases->Searches(99).status().code(), Code::kNotFound);
  EXPECT_EQ(cases->GetSearch(99).status().code(), Code::kNotFound);

  SearchRecord empty = Search(c->id, "ann", {});
  empty.justification = "";
  EXPECT_EQ(cases->RecordSearch(&empty).code(), Code::kInvalidArgument);
  empty.justification = " \n ";
  EXPECT_EQ(cases->RecordSearch(&empty).code(), Code::kInvalidArgument);
  empty.justification = std::string(2001, 'j');
  EXPECT_EQ(cases->RecordSearch(&empty).code(), Code::kInvalidArgument);
  empty.justification = std::string(10000, 'j');
  EXPECT_EQ(cases->RecordSearch(&empty).code(), Code::kInvalidArgument);
  SearchRecord bad_kind = Search(c->id, "ann", {});
  bad_kind.kind = "guess";
  EXPECT_EQ(cases->RecordSearch(&bad_kind).code(), Code::kInvalidArgument);
  SearchRecord bad_sha = Search(c->id, "ann", {});
  bad_sha.probe_sha256 = "'; DROP TABLE searches; --";
  EXPECT_EQ(cases->RecordSearch(&bad_sha).code(), Code::kInvalidArgument);
  SearchRecord by_vector = Search(c->id, "ann", {});
  by_vector.kind = "vector";
  by_vector.probe_sha256 = "";
  EXPECT_TRUE(cases->RecordSearch(&by_vector).ok());
  SearchRecord nowhere = Search(99, "ann", {});
  EXPECT_EQ(cases->RecordSearch(&nowhere).code(), Code::kNotFound);

  ASSERT_TRUE(cases->Close(c->id, "ann").ok());
  SearchRecord late = Search(c->id, "ann", {{11, 0.9f}});
  EXPECT_EQ(cases->RecordSearch(&late).code(), Code::kFailedPrecondition);
  EXPECT_EQ(cases->Searches(c->id)->size(), 2u);
}

TEST_F(OversightTest, CasesReviewsAndTheTwoPersonRule) {
  auto cases = OpenCases();
  auto c = cases->Create("Case", "warrant", "ann");
  ASSERT_TRUE(c.ok());
  SearchRecord s = Search(c->id, "ann", {{11, 0.8f}, {12, 0.6f}});
  ASSERT_TRUE(cases->RecordSearch(&s).ok());

  EXPECT_EQ(cases->Review(s.id, 99, "ann", "possible_match", "").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(cases->Review(s.id, 11, "ann", "match", "").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(cases->Review(999, 11, "ann", "possible_match", "").status().code(), Code::kNotFound);
  EXPECT_EQ(cases->Review(s.id, 11, "ann", "possible_match", std::string(10000, 'n')).status().code(),
            Code::kInvalidArgument);

  auto r = cases->Review(s.id, 11, "ann", "possible_match", "same scar above the left eye");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->case_id, c->id);
  EXPECT_EQ(r->verdict, "possible_match");
  EXPECT_EQ(r->confirmed_by, "");
  // The analyst who marked it cannot confirm it.
  EXPECT_EQ(cases->Confirm(r->id, "ann").status().code(), Code::kPermissionDenied);
  now_ += 30;
  auto confirmed = cases->Confirm(r->id, "ben");
  ASSERT_TRUE(confirmed.ok()) << confirmed.status().ToString();
  EXPECT_EQ(confirmed->confirmed_by, "ben");
  EXPECT_EQ(confirmed->confirmed_at, "2027-01-01T00:00:30Z");
  EXPECT_EQ(cases->Confirm(r->id, "carl").status().code(), Code::kFailedPrecondition);  // already confirmed

  // not_a_match and inconclusive are never confirmed.
  auto no = cases->Review(s.id, 12, "ann", "not_a_match", "different ears");
  ASSERT_TRUE(no.ok());
  EXPECT_EQ(cases->Confirm(no->id, "ben").status().code(), Code::kFailedPrecondition);
  auto unsure = cases->Review(s.id, 12, "ben", "inconclusive", "");
  ASSERT_TRUE(unsure.ok());
  EXPECT_NE(unsure->id, no->id);
  EXPECT_EQ(cases->Confirm(unsure->id, "ann").status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(cases->Confirm(999, "ann").status().code(), Code::kNotFound);

  // A later review of the same candidate by the same analyst replaces theirs and must
  // be confirmed again.
  auto again = cases->Review(s.id, 11, "ann", "possible_match", "on second look");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->id, r->id);
  EXPECT_EQ(again->note, "on second look");
  EXPECT_EQ(again->confirmed_by, "");
  EXPECT_EQ(cases->Reviews(c->id)->size(), 3u);

  ASSERT_TRUE(cases->Close(c->id, "ann").ok());
  EXPECT_EQ(cases->Review(s.id, 12, "carl", "possible_match", "").status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(cases->Confirm(again->id, "ben").status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(cases->GetReview(again->id)->note, "on second look");
}

TEST_F(OversightTest, CasesStatistics) {
  auto cases = OpenCases();
  auto a = cases->Create("A", "w1", "ann");
  auto b = cases->Create("B", "w2", "ben");
  auto quiet = cases->Create("C", "w3", "ben");
  ASSERT_TRUE(a.ok() && b.ok() && quiet.ok());
  // 4 searches: ann 3 (a), ben 1 (b); 1 low quality; 2 with a candidate >= threshold.
  SearchRecord s1 = Search(a->id, "ann", {{1, 0.9f}, {2, 0.4f}}, 0.5);
  SearchRecord s2 = Search(a->id, "ann", {{3, 0.45f}}, 0.5, true);
  SearchRecord s3 = Search(a->id, "ann", {}, 0.5);
  SearchRecord s4 = Search(b->id, "ben", {{4, 0.5f}}, 0.5);
  for (SearchRecord* s : {&s1, &s2, &s3, &s4}) ASSERT_TRUE(cases->RecordSearch(s).ok());
  auto r1 = cases->Review(s1.id, 1, "ann", "possible_match", "");
  ASSERT_TRUE(r1.ok());
  ASSERT_TRUE(cases->Confirm(r1->id, "ben").ok());
  ASSERT_TRUE(cases->Review(s1.id, 2, "ann", "not_a_match", "").ok());
  ASSERT_TRUE(cases->Review(s4.id, 4, "ben", "possible_match", "").ok());
  ASSERT_TRUE(cases->Review(s2.id, 3, "ann", "inconclusive", "").ok());

  auto st = cases->Stats();
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->searches, 4);
  ASSERT_EQ(st->searches_per_user.size(), 2u);
  EXPECT_EQ(st->searches_per_user[0].user, "ann");
  EXPECT_EQ(st->searches_per_user[0].searches, 3);
  EXPECT_EQ(st->searches_per_user[1].searches, 1);
  ASSERT_EQ(st->searches_per_case.size(), 3u);
  EXPECT_EQ(st->searches_per_case[0].title, "A");
  EXPECT_EQ(st->searches_per_case[0].searches, 3);
  EXPECT_EQ(st->searches_per_case[2].searches, 0);
  EXPECT_DOUBLE_EQ(st->low_quality_share, 0.25);
  EXPECT_DOUBLE_EQ(st->above_threshold_share, 0.5);
  EXPECT_EQ(st->reviews_possible, 2);
  EXPECT_EQ(st->reviews_not, 1);
  EXPECT_EQ(st->reviews_inconclusive, 1);
  EXPECT_EQ(st->reviews_confirmed, 1);
}

TEST_F(OversightTest, EmptyStatistics) {
  auto cases = OpenCases();
  auto st = cases->Stats();
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->searches, 0);
  EXPECT_EQ(st->low_quality_share, 0);
  EXPECT_TRUE(st->searches_per_case.empty());
}

// ---------------------------------------------------------------- hostile text and the file

TEST_F(OversightTest, HostileTextIsStoredVerbatimAndHarmless) {
  auto cases = OpenCases();
  auto log = OpenLog();
  auto acc = OpenAccounts();
  ASSERT_TRUE(acc->AddUser("alice", Role::kAdmin, kPassword).ok());
  const std::vector<std::string> hostile = {
      "'; DROP TABLE users; --",
      "Robert'); DROP TABLE audit_log;--",
      "\" OR \"1\"=\"1",
      "x' OR '1'='1",
      "%_\\ LIKE *",
      "Ermittlung \xE2\x80\x93 \xC3\x98 \xE5\x90\x8D\xE5\x89\x8D \xF0\x9F\x99\x82 \xD8\xA7\xD9\x84\xD8\xB9\xD8\xB1\xD8\xA8\xD9\x8A\xD8\xA9",
      "<script>alert(1)</script>",
  };
  for (const std::string& h : hostile) {
    auto c = cases->Create(h, h, h);
    ASSERT_TRUE(c.ok()) << h << ": " << c.status().ToString();
    EXPECT_EQ(c->title, h);
    EXPECT_EQ(c->authority, h);
    EXPECT_EQ(c->members, std::vector<std::string>{h});
    EXPECT_TRUE(*cases->IsMember(c->id, h));
    EXPECT_EQ(cases->List(h)->size(), 1u);
    SearchRecord s = Search(c->id, h, {{5, 0.7f}});
    s.justification = h;
    ASSERT_TRUE(cases->RecordSearch(&s).ok());
    auto r = cases->Review(s.id, 5, h, "possible_match", h + "\nsecond line");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->note, h + "\nsecond line");
    auto rec = log->Append(h, "note", c->id, nlohmann::json{{"text", h}}.dump());
    ASSERT_TRUE(rec.ok()) << h;
    EXPECT_EQ(rec->actor, h);
    AuditFilter f;
    f.actor = h;
    EXPECT_EQ(log->Records(f)->size(), 1u) << h;
    EXPECT_EQ(acc->Login(h, kPassword).status().code(), Code::kUnauthenticated);
  }
  // Every table is still there and whole.
  EXPECT_EQ(SqlInt("SELECT COUNT(*) FROM users"), 1);
  EXPECT_EQ(SqlInt("SELECT COUNT(*) FROM cases"), static_cast<int64_t>(hostile.size()));
  EXPECT_EQ(SqlInt("SELECT COUNT(*) FROM audit_log"), static_cast<int64_t>(hostile.size()));
  EXPECT_EQ(SqlInt("SELECT COUNT(*) FROM sources"), 0);
  EXPECT_TRUE(log->Verify()->ok);
  EXPECT_TRUE(acc->Login("alice", kPassword).ok());

  // Control characters and broken UTF-8 are refused in single-line fields.
  EXPECT_EQ(cases->Create("a\nb", "w", "ann").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(cases->Create(std::string("a\0b", 3), "w", "ann").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(cases->Create("\xC3", "w", "ann").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(cases->Create("\xED\xA0\x80", "w", "ann").status().code(), Code::kInvalidArgument);  // a surrogate
  EXPECT_EQ(cases->Create("t", std::string(10000, 'w'), "ann").status().code(), Code::kInvalidArgument);
  // Limits count characters, not bytes: 500 three-byte characters fit.
  std::string wide;
  for (int i = 0; i < 500; ++i) wide += "\xE5\x90\x8D";
  EXPECT_TRUE(cases->Create(wide, "w", "ann").ok());
  EXPECT_EQ(cases->Create(wide + "x", "w", "ann").status().code(), Code::kInvalidArgument);
}

TEST_F(OversightTest, OpenNeedsAGalleryCatalogAndLeavesItsTablesAlone) {
  EXPECT_EQ(AuditLog::Open(dir_.File("nope.sqlite")).status().code(), Code::kNotFound);
  EXPECT_EQ(Accounts::Open(dir_.File("nope.sqlite")).status().code(), Code::kNotFound);
  EXPECT_EQ(Cases::Open(dir_.File("nope.sqlite")).status().code(), Code::kNotFound);
  lineup_test::WriteText(dir_.File("text.sqlite"), "this is not a database at all, just some text........");
  EXPECT_EQ(AuditLog::Open(dir_.File("text.sqlite")).status().code(), Code::kCorrupt);
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(dir_.File("other.sqlite").c_str(), &db), SQLITE_OK);
    sqlite3_exec(db, "CREATE TABLE t (x)", nullptr, nullptr, nullptr);
    sqlite3_close(db);
  }
  EXPECT_EQ(Cases::Open(dir_.File("other.sqlite")).status().code(), Code::kCorrupt);

  const int64_t schema = SqlInt("SELECT MAX(version) FROM schema_version");
  { auto a = OpenAccounts(); auto c = OpenCases(); auto l = OpenLog(); }
  { auto a = OpenAccounts(); auto c = OpenCases(); auto l = OpenLog(); }  // re-open: no migration twice
  EXPECT_EQ(SqlInt("SELECT MAX(version) FROM schema_version"), schema);
  EXPECT_EQ(SqlInt("SELECT COUNT(*) FROM oversight_schema"), 3);
  EXPECT_EQ(SqlInt("SELECT version FROM oversight_schema WHERE component = 'audit_log'"), 1);
  // The catalog still opens as a catalog.
  EXPECT_TRUE(lineup::Catalog::Open(catalog_, false).ok());
  // A newer schema than this build knows is refused, not misread.
  Sql("UPDATE oversight_schema SET version = 99 WHERE component = 'cases'");
  EXPECT_EQ(Cases::Open(catalog_).status().code(), Code::kCorrupt);
}

// A catalog whose cases tables are at schema version 2 (before search_probes), made with
// the statements the version-2 code ran (src/oversight/cases.cc at 029a11c) and filled as
// it filled them: opened by this code, it keeps every case, member, search and review and
// gains search_probes; opening it again changes nothing.
TEST_F(OversightTest, CasesSchema2CatalogMigratesToSchema3) {
  Sql(R"sql(
BEGIN;
CREATE TABLE IF NOT EXISTS oversight_schema (component TEXT PRIMARY KEY, version INTEGER NOT NULL);
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
ALTER TABLE searches ADD COLUMN shown TEXT NOT NULL DEFAULT '';
INSERT INTO oversight_schema (component, version) VALUES ('cases', 2);

INSERT INTO cases (title, authority, created_by, created_at) VALUES ('Burglary 12', 'warrant 7', 'ann', '2026-12-01T10:00:00Z');
INSERT INTO case_members (case_id, user, added_at) VALUES (1, 'ann', '2026-12-01T10:00:00Z');
INSERT INTO case_members (case_id, user, added_at) VALUES (1, 'bob', '2026-12-01T10:05:00Z');
INSERT INTO cases (title, authority, created_by, created_at) VALUES ('Fraud 3', 'file F-3', 'bob', '2026-12-02T09:00:00Z');
INSERT INTO case_members (case_id, user, added_at) VALUES (2, 'bob', '2026-12-02T09:00:00Z');
UPDATE cases SET status = 'closed', closed_by = 'bob', closed_at = '2026-12-03T09:00:00Z' WHERE id = 2;
INSERT INTO searches (case_id, user, justification, probe_sha256, kind, threshold, gallery_size, low_quality, at, shown)
  VALUES (1, 'ann', 'still from camera 4', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'photo', 0.5342, 4909, 0,
          '2026-12-01T10:10:00Z', '{"decision":{"threshold":0.5342}}');
INSERT INTO search_candidates (search_id, rank, face_id, score) VALUES (1, 0, 17, 0.71);
INSERT INTO search_candidates (search_id, rank, face_id, score) VALUES (1, 1, 4, 0.55);
INSERT INTO searches (case_id, user, justification, probe_sha256, kind, threshold, gallery_size, low_quality, at)
  VALUES (2, 'bob', 'a vector from the bank', '', 'vector', 0.6, 4909, 1, '2026-12-02T09:30:00Z');
INSERT INTO reviews (search_id, case_id, face_id, analyst, verdict, note, at) VALUES (1, 1, 17, 'ann', 'possible_match', 'same scar', '2026-12-01T10:20:00Z');
UPDATE reviews SET confirmed_by = 'bob', confirmed_at = '2026-12-01T11:00:00Z' WHERE id = 1 AND confirmed_by = '';
INSERT INTO reviews (search_id, case_id, face_id, analyst, verdict, note, at) VALUES (1, 1, 4, 'bob', 'not_a_match', '', '2026-12-01T10:30:00Z');
COMMIT;
)sql");
  ASSERT_EQ(SqlInt("SELECT COUNT(*) FROM sqlite_master WHERE name = 'search_probes'"), 0);

  auto check = [&](Cases& cases) {
    auto all = cases.List();
    ASSERT_TRUE(all.ok()) << all.status().ToString();
    ASSERT_EQ(all->size(), 2u);
    auto one = cases.Get(1);
    ASSERT_TRUE(one.ok());
    EXPECT_EQ(one->title, "Burglary 12");
    EXPECT_EQ(one->authority, "warrant 7");
    EXPECT_EQ(one->status, "open");
    EXPECT_EQ(one->members, (std::vector<std::string>{"ann", "bob"}));
    auto two = cases.Get(2);
    ASSERT_TRUE(two.ok());
    EXPECT_EQ(two->status, "closed");
    EXPECT_EQ(two->closed_by, "bob");
    EXPECT_EQ(two->members, std::vector<std::string>{"bob"});
    auto s1 = cases.Searches(1);
    ASSERT_TRUE(s1.ok());
    ASSERT_EQ(s1->size(), 1u);
    const SearchRecord& s = (*s1)[0];
    EXPECT_EQ(s.justification, "still from camera 4");
    EXPECT_EQ(s.probe_sha256, std::string(64, 'a'));
    EXPECT_DOUBLE_EQ(s.threshold, 0.5342);
    EXPECT_EQ(s.shown, R"({"decision":{"threshold":0.5342}})");
    ASSERT_EQ(s.candidates.size(), 2u);
    EXPECT_EQ(s.candidates[0].face_id, 17);
    EXPECT_EQ(s.candidates[1].face_id, 4);
    auto s2 = cases.GetSearch(2);
    ASSERT_TRUE(s2.ok());
    EXPECT_EQ(s2->kind, "vector");
    EXPECT_TRUE(s2->low_quality);
    EXPECT_EQ(s2->shown, "");
    auto reviews = cases.Reviews(1);
    ASSERT_TRUE(reviews.ok());
    ASSERT_EQ(reviews->size(), 2u);
    EXPECT_EQ((*reviews)[0].verdict, "possible_match");
    EXPECT_EQ((*reviews)[0].note, "same scar");
    EXPECT_EQ((*reviews)[0].confirmed_by, "bob");
    EXPECT_EQ((*reviews)[1].verdict, "not_a_match");
    // Searches from before version 3 kept nothing of their probe.
    auto kept = cases.ProbeImagesOf(1);
    ASSERT_TRUE(kept.ok()) << kept.status().ToString();
    EXPECT_TRUE(kept->crop.empty());
    EXPECT_TRUE(kept->photo.empty());
  };
  {
    auto cases = OpenCases();
    ASSERT_NE(cases, nullptr);
    EXPECT_EQ(SqlInt("SELECT version FROM oversight_schema WHERE component = 'cases'"), 3);
    EXPECT_EQ(SqlInt("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'search_probes'"), 1);
    check(*cases);
  }
  const int64_t schema_objects = SqlInt("SELECT COUNT(*) FROM sqlite_master");
  {
    auto cases = OpenCases();  // again: nothing migrates twice, nothing is lost
    ASSERT_NE(cases, nullptr);
    EXPECT_EQ(SqlInt("SELECT version FROM oversight_schema WHERE component = 'cases'"), 3);
    check(*cases);
    // The migrated tables take new searches with what they keep of the probe.
    SearchRecord rec;
    rec.case_id = 1;
    rec.user = "ann";
    rec.justification = "after the upgrade";
    rec.probe_sha256 = std::string(64, 'b');
    rec.kind = "photo";
    rec.threshold = 0.55;
    rec.gallery_size = 4909;
    rec.candidates = {{17, 0.6f}};
    rec.probe_crop = "\xFF\xD8 crop";
    rec.probe_photo = "photo bytes";
    ASSERT_TRUE(cases->RecordSearch(&rec).ok());
    auto kept = cases->ProbeImagesOf(rec.id);
    ASSERT_TRUE(kept.ok());
    EXPECT_EQ(kept->crop, "\xFF\xD8 crop");
    EXPECT_EQ(kept->photo, "photo bytes");
  }
  EXPECT_EQ(SqlInt("SELECT COUNT(*) FROM sqlite_master"), schema_objects);  // the second opening made nothing
  EXPECT_EQ(SqlInt("SELECT COUNT(*) FROM searches"), 3);
  EXPECT_EQ(SqlInt("SELECT COUNT(*) FROM reviews"), 2);
  EXPECT_EQ(SqlInt("SELECT COUNT(*) FROM case_members"), 3);
}

// The faces an answer showed, per user and case: kept in the catalog across reopening,
// the first answer's seq kept, nothing for faces that are not (or no longer) there.
TEST_F(OversightTest, DisclosuresSurviveReopeningAndGoWithAnErasedFace) {
  using lineup::Disclosures;
  std::vector<lineup::FaceRecord> faces(3);
  {
    auto cat = lineup::Catalog::Open(catalog_, false);
    ASSERT_TRUE(cat.ok()) << cat.status().ToString();
    lineup::SourceRecord src;
    src.name = "s";
    src.legal_basis = "test";
    ASSERT_TRUE((*cat)->AddSource(&src).ok());
    for (int i = 0; i < 3; ++i) {
      faces[i].id = i + 1;
      faces[i].box = cv::Rect2f(10.f * i, 0, 10, 10);
    }
    lineup::ImageRecord a;
    a.sha256 = std::string(64, 'a');
    a.uri = "a.jpg";
    a.source_id = src.id;
    std::vector<lineup::FaceRecord> fa(faces.begin(), faces.begin() + 2);
    ASSERT_TRUE((*cat)->AddImage(&a, &fa).ok());
    lineup::ImageRecord b = a;
    b.sha256 = std::string(64, 'b');
    b.uri = "b.jpg";
    std::vector<lineup::FaceRecord> fb(faces.begin() + 2, faces.end());
    ASSERT_TRUE((*cat)->AddImage(&b, &fb).ok());
  }
  {
    auto d = Disclosures::Open(catalog_);
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    ASSERT_TRUE((*d)->Record("ana", 7, {1, 3, 987654}, 10).ok()) << "a face that is not there is skipped";
    ASSERT_TRUE((*d)->Record("ana", 7, {1, 2}, 11).ok());
    EXPECT_EQ(*(*d)->ShownBy("ana", 7, 1), 10) << "the first answer that showed it";
    EXPECT_EQ(*(*d)->ShownBy("ana", 7, 2), 11);
    EXPECT_EQ(*(*d)->ShownBy("ana", 7, 987654), 0);
    EXPECT_EQ((*d)->Record("", 7, {1}, 12).code(), Code::kInvalidArgument);
    EXPECT_EQ((*d)->Record("ana", 0, {1}, 12).code(), Code::kInvalidArgument);
  }
  EXPECT_EQ(SqlInt("SELECT version FROM oversight_schema WHERE component = 'disclosures'"), 1);
  auto d = Disclosures::Open(catalog_);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(*(*d)->ShownBy("ana", 7, 1), 10) << "kept across reopening";
  EXPECT_EQ(*(*d)->ShownBy("ana", 7, 3), 10);
  EXPECT_EQ(*(*d)->ShownBy("bob", 7, 1), 0) << "another user";
  EXPECT_EQ(*(*d)->ShownBy("ana", 8, 1), 0) << "another case";
  EXPECT_EQ(*(*d)->ShownBy("ana", 7, 4), 0) << "a face never shown";
  // Erasing an image takes its faces' disclosures with them; the other image's stay.
  {
    auto cat = lineup::Catalog::Open(catalog_, false);
    ASSERT_TRUE(cat.ok());
    auto plan = (*cat)->PlanErase("image", std::string(64, 'a'));
    ASSERT_TRUE(plan.ok()) << plan.status().ToString();
    ASSERT_TRUE((*cat)->Erase(*plan, "test").ok());
  }
  EXPECT_EQ(*(*d)->ShownBy("ana", 7, 1), 0);
  EXPECT_EQ(*(*d)->ShownBy("ana", 7, 3), 10);
  EXPECT_EQ(SqlInt("SELECT COUNT(*) FROM face_disclosures"), 1);
  // Not a catalog, or a newer table than this build knows: refused, not misread.
  EXPECT_EQ(Disclosures::Open(dir_.File("nope.sqlite")).status().code(), Code::kNotFound);
  Sql("UPDATE oversight_schema SET version = 2 WHERE component = 'disclosures'");
  EXPECT_EQ(Disclosures::Open(catalog_).status().code(), Code::kCorrupt);
}

// ---------------------------------------------------------------- the lineup command

TEST_F(OversightTest, CliUsersAndAuditTrail) {
  if (!std::filesystem::exists(lineup_test::CliPath())) GTEST_SKIP() << "build lineup_cli first";
  // This test does not make CMake rebuild the binary: say so rather than fail on an old one.
  if (lineup_test::RunCli({"user"}).err.find("unknown command") != std::string::npos)
    GTEST_SKIP() << lineup_test::CliPath() << " predates `lineup user`: rebuild lineup_cli";
  const std::string g = dir_.path() + "/g";
  auto cli = [&](const std::string& args, const std::string& stdin_text = "") {
    // Through a shell only to feed stdin; every argument here is fixed text.
    return lineup_test::Run({"/bin/sh", "-c",
                             "printf '%s\\n' '" + stdin_text + "' | '" + lineup_test::CliPath() + "' " + args +
                                 " --gallery '" + g + "'"});
  };
  auto add = cli("user add root_admin --role admin --password-stdin", kPassword);
  ASSERT_EQ(add.exit_code, 0) << add.err;
  EXPECT_EQ(cli("user add root_admin --role admin --password-stdin", kPassword).exit_code, 2);
  EXPECT_EQ(cli("user add bob --role king --password-stdin", kPassword).exit_code, 2);
  EXPECT_EQ(cli("user add bob --role analyst --password-stdin", "short").exit_code, 2);
  // No terminal and no --password-stdin: refused, not read from the pipe.
  auto no_tty = cli("user add bob --role analyst", kPassword);
  EXPECT_EQ(no_tty.exit_code, 2);
  EXPECT_NE(no_tty.err.find("--password-stdin"), std::string::npos) << no_tty.err;
  ASSERT_EQ(cli("user add bot --role enroller --password-stdin", kPassword).exit_code, 0);
  auto token = cli("user token bot --label nightly --days 3 --json");
  ASSERT_EQ(token.exit_code, 0) << token.err;
  const auto t = nlohmann::json::parse(token.out);
  EXPECT_EQ(t["secret"].get<std::string>().size(), 46u);
  ASSERT_EQ(cli("user revoke " + std::to_string(t["id"].get<int64_t>())).exit_code, 0);
  ASSERT_EQ(cli("user disable bot").exit_code, 0);

  auto list = cli("user list --json");
  ASSERT_EQ(list.exit_code, 0);
  const auto users = nlohmann::json::parse(list.out);
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(users[1]["name"], "root_admin");
  EXPECT_EQ(users[0]["disabled"], true);
  auto acc = OpenAccounts();
  EXPECT_TRUE(acc->Login("root_admin", kPassword).ok());

  // Each change is one audit record by "cli:<unix user>".
  auto log = OpenLog();
  auto recs = log->Records();
  ASSERT_TRUE(recs.ok());
  std::vector<std::string> actions;
  for (const auto& r : *recs) {
    actions.push_back(r.action);
    EXPECT_EQ(r.actor.rfind("cli:", 0), 0u) << r.actor;
  }
  EXPECT_EQ(actions, (std::vector<std::string>{"user_add", "user_add", "token_create", "token_revoke", "user_disable"}));
  EXPECT_EQ(recs->back().details, R"({"user":"bot"})");

  auto head = cli("audit head");
  ASSERT_EQ(head.exit_code, 0);
  EXPECT_EQ(head.out, recs->back().hash + "\n");
  auto verify = cli("audit verify --expect-head " + recs->back().hash + " --json");
  EXPECT_EQ(verify.exit_code, 0) << verify.err;
  EXPECT_TRUE(nlohmann::json::parse(verify.out)["ok"]);
  auto exported = cli("audit export --action user_add");
  EXPECT_EQ(lineup_test::Lines(exported.out).size(), 2u);
  EXPECT_EQ(cli("audit stats --json").exit_code, 0);

  DropTriggers();
  Sql("UPDATE audit_log SET details = '{\"user\":\"someone else\"}' WHERE seq = 2");
  auto broken = cli("audit verify");
  EXPECT_EQ(broken.exit_code, 1);
  EXPECT_NE(broken.err.find("record 2"), std::string::npos) << broken.err;
}

}  // namespace
