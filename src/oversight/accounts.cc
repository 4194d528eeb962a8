#include "lineup/accounts.h"

#include <sodium.h>

#include <mutex>

#include "lineup/models.h"
#include "oversight/sqlite_db.h"

namespace lineup {

using oversight::Stmt;

const char* RoleName(Role role) {
  switch (role) {
    case Role::kAdmin: return "admin";
    case Role::kAnalyst: return "analyst";
    case Role::kEnroller: return "enroller";
    case Role::kAuditor: return "auditor";
  }
  return "analyst";
}

Result<Role> ParseRole(const std::string& name) {
  for (Role r : {Role::kAdmin, Role::kAnalyst, Role::kEnroller, Role::kAuditor})
    if (name == RoleName(r)) return r;
  return Status::InvalidArgument("unknown role \"" + name.substr(0, 64) +
                                 "\" (the roles are admin, analyst, enroller and auditor)");
}

namespace {

// Version 1. Later versions append statements; never edit old ones. Secrets (session ids,
// token secrets) are stored only as their SHA-256; passwords only as Argon2id strings.
const std::vector<const char*> kMigrations = {
    R"sql(
CREATE TABLE IF NOT EXISTS users (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL CHECK (role IN ('admin', 'analyst', 'enroller', 'auditor')),
  password_hash TEXT NOT NULL,
  disabled INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS user_sources (
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  source TEXT NOT NULL,
  PRIMARY KEY (user_id, source));
CREATE TABLE IF NOT EXISTS sessions (
  id_sha256 TEXT PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  csrf TEXT NOT NULL,
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions(user_id);
CREATE TABLE IF NOT EXISTS api_tokens (
  id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  secret_sha256 TEXT NOT NULL UNIQUE,
  label TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  revoked_at TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS login_failures (
  name TEXT NOT NULL,
  at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS login_failures_name ON login_failures(name, at);
)sql",
};

// The one answer for an unknown name, a wrong password and a disabled user, so that a
// caller cannot tell which names exist.
constexpr const char* kBadLogin = "wrong user name or password";
constexpr size_t kMinPassword = 12, kMaxPasswordBytes = 4096;

bool ValidName(const std::string& n) {
  if (n.empty() || n.size() > 64) return false;
  for (char c : n)
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
          c == '@' || c == '-'))
      return false;
  return true;
}

Status CheckName(const std::string& n) {
  if (ValidName(n)) return Status::OK();
  return Status::InvalidArgument("a user name is 1-64 characters of A-Z a-z 0-9 . _ @ -");
}

Status CheckPassword(const std::string& pw) {
  const size_t chars = oversight::ValidUtf8(pw) ? oversight::Utf8Length(pw) : pw.size();
  if (chars < kMinPassword)
    return Status::InvalidArgument("a password needs at least " + std::to_string(kMinPassword) + " characters");
  if (pw.size() > kMaxPasswordBytes) return Status::InvalidArgument("a password is at most 4096 bytes");
  return Status::OK();
}

// Argon2id, libsodium's interactive limits (currently 2 passes over 64 MiB).
Result<std::string> HashPassword(const std::string& pw) {
  Status s = oversight::SodiumReady();
  if (!s.ok()) return s;
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(out, pw.data(), pw.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
    return Status::Internal("not enough memory to hash a password");
  return std::string(out);
}

bool PasswordMatches(const std::string& hash, const std::string& pw) {
  return crypto_pwhash_str_verify(hash.c_str(), pw.data(), pw.size()) == 0;
}

constexpr const char* kUserCols = "SELECT id, name, role, disabled, created_at FROM users";

}  // namespace

struct Accounts::Impl {
  std::unique_ptr<SqliteDb> db;
  AccountsOptions opt;
  std::mutex mu;  // guards db
  // A hash to verify against for names that do not exist, so they take as long.
  std::once_flag dummy_once;
  std::string dummy_hash;

  int64_t Now() const { return opt.now(); }
  std::string NowIso() const { return oversight::IsoTime(Now()); }

  // Call with mu held.
  Result<User> Load(const std::string& name) {
    Stmt q(db->db(), (std::string(kUserCols) + " WHERE name = ?").c_str());
    q.Bind(1, name);
    const int rc = q.Step();
    if (rc == SQLITE_DONE) return Status::NotFound("no user \"" + name.substr(0, 64) + "\"");
    if (rc != SQLITE_ROW) return db->Error("cannot read users");
    User u = Read(q);
    Status s = LoadSources(&u);
    if (!s.ok()) return s;
    return u;
  }
  static User Read(Stmt& q) {
    User u;
    u.id = q.Int(0);
    u.name = q.Text(1);
    u.role = ParseRole(q.Text(2)).ok() ? *ParseRole(q.Text(2)) : Role::kAnalyst;
    u.disabled = q.Int(3) != 0;
    u.created_at = q.Text(4);
    return u;
  }
  Status LoadSources(User* u) {
    Stmt q(db->db(), "SELECT source FROM user_sources WHERE user_id = ? ORDER BY source");
    q.Bind(1, u->id);
    int rc;
    while ((rc = q.Step()) == SQLITE_ROW) u->sources.push_back(q.Text(0));
    if (rc != SQLITE_DONE) return db->Error("cannot read granted sources");
    return Status::OK();
  }
  // Whether another enabled admin than `except` exists (call with mu held).
  // FailedPrecondition if `name` (id) is the last enabled admin, who must stay one.
  Status KeepAnAdmin(int64_t id, const std::string& name) {
    auto other = OtherAdmin(id);
    if (!other.ok()) return other.status();
    if (!*other) return Status::FailedPrecondition("\"" + name + "\" is the last enabled admin");
    return Status::OK();
  }
  Result<bool> OtherAdmin(int64_t except) {
    Stmt q(db->db(), "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0 AND id != ?");
    q.Bind(1, except);
    if (q.Step() != SQLITE_ROW) return db->Error("cannot count admins");
    return q.Int(0) > 0;
  }
  const std::string& DummyHash() {
    std::call_once(dummy_once, [this] {
      auto h = HashPassword(oversight::RandomBase64Url(24));
      dummy_hash = h.ok() ? *h : "";
    });
    return dummy_hash;
  }
};

Accounts::Accounts(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Accounts::~Accounts() = default;

Result<std::unique_ptr<Accounts>> Accounts::Open(const std::string& catalog_path, AccountsOptions options) {
  Status s = oversight::SodiumReady();
  if (!s.ok()) return s;
  auto db = oversight::OpenCatalog(catalog_path);
  if (!db.ok()) return db.status();
  s = oversight::Migrate(**db, "accounts", kMigrations);
  if (!s.ok()) return s;
  auto impl = std::make_unique<Impl>();
  impl->db = std::move(*db);
  impl->opt = std::move(options);
  impl->opt.now = oversight::ClockOr(impl->opt.now);
  return std::unique_ptr<Accounts>(new Accounts(std::move(impl)));
}

Result<User> Accounts::AddUser(const std::string& name, Role role, const std::string& password) {
  Status s = CheckName(name);
  if (s.ok()) s = CheckPassword(password);
  if (!s.ok()) return s;
  auto hash = HashPassword(password);  // slow: outside the lock
  if (!hash.ok()) return hash.status();
  std::lock_guard<std::mutex> lock(impl_->mu);
  Stmt q(impl_->db->db(), "INSERT INTO users (name, role, password_hash, created_at) VALUES (?, ?, ?, ?)");
  q.Bind(1, name).Bind(2, std::string(RoleName(role))).Bind(3, *hash).Bind(4, impl_->NowIso());
  const int rc = q.Step();
  if (rc == SQLITE_CONSTRAINT) return Status::InvalidArgument("user \"" + name + "\" already exists");
  if (rc != SQLITE_DONE) return impl_->db->Error("cannot add user");
  return impl_->Load(name);
}

Result<User> Accounts::FindUser(const std::string& name) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->Load(name);
}

Result<std::vector<User>> Accounts::Users() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  std::vector<User> out;
  Stmt q(impl_->db->db(), (std::string(kUserCols) + " ORDER BY name").c_str());
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) out.push_back(Impl::Read(q));
  if (rc != SQLITE_DONE) return impl_->db->Error("cannot list users");
  for (User& u : out) {
    Status s = impl_->LoadSources(&u);
    if (!s.ok()) return s;
  }
  return out;
}

Status Accounts::SetPassword(const std::string& name, const std::string& password) {
  Status s = CheckPassword(password);
  if (!s.ok()) return s;
  auto hash = HashPassword(password);
  if (!hash.ok()) return hash.status();
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->db->InTransaction([&]() -> Status {
    auto u = impl_->Load(name);
    if (!u.ok()) return u.status();
    if (Status r =
            impl_->db->Run("UPDATE users SET password_hash = ? WHERE id = ?", "cannot set password", *hash, u->id);
        !r.ok())
      return r;
    // A new password ends the old sessions and lifts a lock-out.
    if (Status r = impl_->db->Run("DELETE FROM sessions WHERE user_id = ?", "cannot end sessions", u->id); !r.ok())
      return r;
    return impl_->db->Run("DELETE FROM login_failures WHERE name = ?", "cannot clear failed sign-ins", name);
  });
}

Status Accounts::SetRole(const std::string& name, Role role) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->db->InTransaction([&]() -> Status {
    auto u = impl_->Load(name);
    if (!u.ok()) return u.status();
    if (u->role == role) return Status::OK();
    if (u->role == Role::kAdmin && !u->disabled) {
      if (Status k = impl_->KeepAnAdmin(u->id, name); !k.ok()) return k;
    }
    if (Status r = impl_->db->Run("UPDATE users SET role = ? WHERE id = ?", "cannot set role",
                                  std::string(RoleName(role)), u->id);
        !r.ok())
      return r;
    // Granted sources belong to the enroller role; they do not survive a change of role.
    return impl_->db->Run("DELETE FROM user_sources WHERE user_id = ?", "cannot clear granted sources", u->id);
  });
}

Status Accounts::SetDisabled(const std::string& name, bool disabled) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->db->InTransaction([&]() -> Status {
    auto u = impl_->Load(name);
    if (!u.ok()) return u.status();
    if (u->disabled == disabled) return Status::OK();
    if (disabled && u->role == Role::kAdmin) {
      if (Status k = impl_->KeepAnAdmin(u->id, name); !k.ok()) return k;
    }
    if (Status r =
            impl_->db->Run("UPDATE users SET disabled = ? WHERE id = ?", "cannot change user", disabled ? 1 : 0, u->id);
        !r.ok())
      return r;
    if (!disabled) return Status::OK();
    // Sessions end for good; tokens are refused while the user stays disabled.
    return impl_->db->Run("DELETE FROM sessions WHERE user_id = ?", "cannot end sessions", u->id);
  });
}

Status Accounts::GrantSource(const std::string& name, const std::string& source) {
  Status s = oversight::CheckText("a source name", source, 200, false, true);
  if (!s.ok()) return s;
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto u = impl_->Load(name);
  if (!u.ok()) return u.status();
  if (u->role != Role::kEnroller)
    return Status::InvalidArgument("\"" + name + "\" is " + RoleName(u->role) + ": only enrollers are granted sources");
  {
    // The gallery's own table of sources (read only).
    Stmt q(impl_->db->db(), "SELECT 1 FROM sources WHERE name = ?");
    q.Bind(1, source);
    const int rc = q.Step();
    if (rc == SQLITE_DONE) return Status::NotFound("no source \"" + source + "\" (add it with `lineup source add`)");
    if (rc != SQLITE_ROW) return impl_->db->Error("cannot read sources");
  }
  return impl_->db->Run("INSERT OR IGNORE INTO user_sources (user_id, source) VALUES (?, ?)", "cannot grant source",
                        u->id, source);
}

Result<Session> Accounts::Login(const std::string& name, const std::string& password) {
  const bool plausible = ValidName(name) && password.size() <= kMaxPasswordBytes;
  const int64_t now = impl_->Now();
  const int64_t window = impl_->opt.lockout_seconds;
  const int max_fail = impl_->opt.max_failed_logins;
  std::string hash;
  bool disabled = false;
  int64_t user_id = 0;
  if (plausible) {
    std::lock_guard<std::mutex> lock(impl_->mu);
    Status s = impl_->db->InTransaction([&]() -> Status {
      // Locked while the last max_fail failures lie within one window and the last of
      // them is less than a window ago.
      if (max_fail > 0) {
        if (Status r = impl_->db->Run("DELETE FROM login_failures WHERE at <= ?", "cannot prune failed sign-ins",
                                      now - 2 * window);
            !r.ok())
          return r;
        Stmt q(impl_->db->db(), "SELECT at FROM login_failures WHERE name = ? ORDER BY at DESC LIMIT ?");
        q.Bind(1, name).Bind(2, max_fail);
        std::vector<int64_t> at;
        int rc;
        while ((rc = q.Step()) == SQLITE_ROW) at.push_back(q.Int(0));
        if (rc != SQLITE_DONE) return impl_->db->Error("cannot read failed sign-ins");
        if (static_cast<int>(at.size()) >= max_fail && at.front() - at.back() < window && now < at.front() + window) {
          const int64_t wait = at.front() + window - now;
          return Status::Unavailable("too many failed sign-ins for this name; try again in " +
                                     std::to_string((wait + 59) / 60) + " minute(s)");
        }
      }
      // Counted as a failure before the (slow) check, so that parallel attempts see it;
      // a success clears it.
      if (Status r =
              impl_->db->Run("INSERT INTO login_failures (name, at) VALUES (?, ?)", "cannot record sign-in", name, now);
          !r.ok())
        return r;
      Stmt u(impl_->db->db(), "SELECT id, password_hash, disabled FROM users WHERE name = ?");
      u.Bind(1, name);
      const int rc = u.Step();
      if (rc == SQLITE_ROW) {
        user_id = u.Int(0);
        hash = u.Text(1);
        disabled = u.Int(2) != 0;
      } else if (rc != SQLITE_DONE) {
        return impl_->db->Error("cannot read users");
      }
      return Status::OK();
    });
    if (!s.ok()) return s;
  }
  // The slow part, outside the lock; unknown names cost the same.
  const bool known = user_id != 0;
  const bool match = PasswordMatches(known ? hash : impl_->DummyHash(), password);
  if (!known || !match || disabled) return Status::Unauthenticated(kBadLogin);

  std::lock_guard<std::mutex> lock(impl_->mu);
  Session session;
  session.id = oversight::RandomBase64Url(32);
  session.csrf = oversight::RandomBase64Url(32);
  session.expires_at = oversight::IsoTime(now + impl_->opt.session_seconds);
  Status s = impl_->db->InTransaction([&]() -> Status {
    if (Status r = impl_->db->Run("DELETE FROM login_failures WHERE name = ?", "cannot clear failed sign-ins", name);
        !r.ok())
      return r;
    if (Status r = impl_->db->Run("DELETE FROM sessions WHERE expires_at <= ?", "cannot prune sessions",
                                  oversight::IsoTime(now));
        !r.ok())
      return r;
    Stmt q(impl_->db->db(),
           "INSERT INTO sessions (id_sha256, user_id, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?)");
    q.Bind(1, Sha256Hex(session.id)).Bind(2, user_id).Bind(3, session.csrf);
    q.Bind(4, oversight::IsoTime(now)).Bind(5, session.expires_at);
    return impl_->db->Run(q, "cannot create session");
  });
  if (!s.ok()) return s;
  return session;
}

Status Accounts::Logout(const std::string& session_id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->db->Run("DELETE FROM sessions WHERE id_sha256 = ?", "cannot end session", Sha256Hex(session_id));
}

Result<Principal> Accounts::AuthenticateSession(const std::string& session_id) {
  const Status bad = Status::Unauthenticated("not signed in, or the session has expired");
  if (session_id.empty() || session_id.size() > 256) return bad;
  std::lock_guard<std::mutex> lock(impl_->mu);
  Stmt q(impl_->db->db(),
         "SELECT u.id, u.name, u.role, u.disabled, s.csrf, s.expires_at FROM sessions s "
         "JOIN users u ON u.id = s.user_id WHERE s.id_sha256 = ?");
  q.Bind(1, Sha256Hex(session_id));
  const int rc = q.Step();
  if (rc == SQLITE_DONE) return bad;
  if (rc != SQLITE_ROW) return impl_->db->Error("cannot read sessions");
  if (q.Int(3) != 0 || q.Text(5) <= impl_->NowIso()) return bad;
  Principal p;
  p.user_id = q.Int(0);
  p.name = q.Text(1);
  auto role = ParseRole(q.Text(2));
  if (!role.ok()) return bad;
  p.role = *role;
  p.via = "session";
  p.csrf = q.Text(4);
  return p;
}

Result<Accounts::NewToken> Accounts::CreateToken(const std::string& user, const std::string& label, int days) {
  if (days < 1 || days > 3650) return Status::InvalidArgument("a token lasts 1 to 3650 days");
  Status s = oversight::CheckText("a token label", label, 100, true, true);
  if (!s.ok()) return s;
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto u = impl_->Load(user);
  if (!u.ok()) return u.status();
  if (u->disabled) return Status::FailedPrecondition("\"" + user + "\" is disabled");
  NewToken t;
  t.secret = "lu_" + oversight::RandomBase64Url(32);
  const int64_t now = impl_->Now();
  t.info.user = user;
  t.info.label = label;
  t.info.created_at = oversight::IsoTime(now);
  t.info.expires_at = oversight::IsoTime(now + static_cast<int64_t>(days) * 86400);
  Stmt q(impl_->db->db(),
         "INSERT INTO api_tokens (user_id, secret_sha256, label, created_at, expires_at) VALUES (?, ?, ?, ?, ?)");
  q.Bind(1, u->id).Bind(2, Sha256Hex(t.secret)).Bind(3, label);
  q.Bind(4, t.info.created_at).Bind(5, t.info.expires_at);
  if (Status r = impl_->db->Run(q, "cannot create token"); !r.ok()) return r;
  t.info.id = sqlite3_last_insert_rowid(impl_->db->db());
  return t;
}

Status Accounts::RevokeToken(int64_t token_id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (Status r = impl_->db->Run("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at = ''",
                                "cannot revoke token", impl_->NowIso(), token_id);
      !r.ok())
    return r;
  if (sqlite3_changes(impl_->db->db()) > 0) return Status::OK();
  Stmt e(impl_->db->db(), "SELECT 1 FROM api_tokens WHERE id = ?");
  e.Bind(1, token_id);
  if (e.Step() != SQLITE_ROW) return Status::NotFound("no token " + std::to_string(token_id));
  return Status::OK();  // already revoked
}

Result<std::vector<TokenInfo>> Accounts::Tokens(const std::string& user) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (!user.empty()) {
    auto u = impl_->Load(user);
    if (!u.ok()) return u.status();
  }
  Stmt q(impl_->db->db(),
         "SELECT t.id, u.name, t.label, t.created_at, t.expires_at, t.revoked_at FROM api_tokens t "
         "JOIN users u ON u.id = t.user_id WHERE ?1 = '' OR u.name = ?1 ORDER BY t.id");
  q.Bind(1, user);
  std::vector<TokenInfo> out;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW)
    out.push_back({q.Int(0), q.Text(1), q.Text(2), q.Text(3), q.Text(4), q.Text(5)});
  if (rc != SQLITE_DONE) return impl_->db->Error("cannot list tokens");
  return out;
}

Result<Principal> Accounts::AuthenticateToken(const std::string& secret) {
  const Status bad = Status::Unauthenticated("the API token is not valid (unknown, expired or revoked)");
  if (secret.size() != 46 || secret.compare(0, 3, "lu_") != 0) return bad;
  std::lock_guard<std::mutex> lock(impl_->mu);
  Stmt q(impl_->db->db(),
         "SELECT u.id, u.name, u.role, u.disabled, t.expires_at, t.revoked_at FROM api_tokens t "
         "JOIN users u ON u.id = t.user_id WHERE t.secret_sha256 = ?");
  q.Bind(1, Sha256Hex(secret));
  const int rc = q.Step();
  if (rc == SQLITE_DONE) return bad;
  if (rc != SQLITE_ROW) return impl_->db->Error("cannot read tokens");
  if (q.Int(3) != 0 || q.Text(4) <= impl_->NowIso() || !q.Text(5).empty()) return bad;
  Principal p;
  p.user_id = q.Int(0);
  p.name = q.Text(1);
  auto role = ParseRole(q.Text(2));
  if (!role.ok()) return bad;
  p.role = *role;
  p.via = "token";
  return p;
}

}  // namespace lineup
