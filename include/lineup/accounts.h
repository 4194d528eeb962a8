// Accounts: who may use a served gallery, and as what.
//
// Every person or machine that talks to `lineup serve` is a user with one role. People
// sign in with a password (stored only as an Argon2id hash, libsodium's
// crypto_pwhash_str) and get a session; machines use API tokens (random, shown once,
// stored as SHA-256, with an expiry and revocable). Repeated failed sign-ins lock the
// name for a while (throttling). Accounts live in the gallery's catalog.sqlite, in
// tables of their own; an Accounts object is safe to use from many threads.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "lineup/status.h"

namespace lineup {

enum class Role { kAdmin, kAnalyst, kEnroller, kAuditor };
// "admin", "analyst", "enroller", "auditor".
const char* RoleName(Role role);
// InvalidArgument naming the four roles for anything else.
Result<Role> ParseRole(const std::string& name);

struct User {
  int64_t id = 0;
  std::string name;
  Role role = Role::kAnalyst;
  bool disabled = false;
  std::string created_at;            // ISO 8601 UTC
  std::vector<std::string> sources;  // enrollers: the sources granted to them
};

// Who is calling, once authenticated.
struct Principal {
  int64_t user_id = 0;
  std::string name;
  Role role = Role::kAnalyst;
  std::string via;   // "session" or "token"
  std::string csrf;  // sessions: the token every state-changing request must echo
};

struct Session {
  std::string id;    // secret: goes into the cookie; only its SHA-256 is stored
  std::string csrf;  // not secret from the page: echoed in the X-CSRF-Token header
  std::string expires_at;
};

struct TokenInfo {
  int64_t id = 0;
  std::string user;
  std::string label;
  std::string created_at, expires_at, revoked_at;  // revoked_at "" while valid
};

struct AccountsOptions {
  int64_t session_seconds = 8 * 3600;
  int max_failed_logins = 5;             // within lockout_seconds ...
  int64_t lockout_seconds = 15 * 60;     // ... lock the name this long
  // Seconds since the Unix epoch; tests replace it to move time.
  std::function<int64_t()> now;
};

class Accounts {
 public:
  // Opens the account tables in the catalog at `catalog_path` (an existing gallery's
  // catalog.sqlite), creating them on first use.
  static Result<std::unique_ptr<Accounts>> Open(const std::string& catalog_path, AccountsOptions options = {});
  ~Accounts();

  // InvalidArgument if the name is taken or not 1-64 characters of [A-Za-z0-9._@-], or
  // the password is shorter than 12 characters.
  Result<User> AddUser(const std::string& name, Role role, const std::string& password);
  // NotFound if there is no such user.
  Result<User> FindUser(const std::string& name);
  Result<std::vector<User>> Users();
  Status SetPassword(const std::string& name, const std::string& password);
  Status SetRole(const std::string& name, Role role);
  // A disabled user cannot sign in, and their sessions and tokens stop working.
  Status SetDisabled(const std::string& name, bool disabled);
  // Lets an enroller enrol into a source (by name). InvalidArgument for other roles.
  Status GrantSource(const std::string& name, const std::string& source);

  // Unauthenticated for an unknown name, a wrong password or a disabled user (the same
  // message for all three); Unavailable while the name is locked after too many failures.
  Result<Session> Login(const std::string& name, const std::string& password);
  Status Logout(const std::string& session_id);
  // Unauthenticated if the session is unknown, expired, logged out or its user disabled.
  Result<Principal> AuthenticateSession(const std::string& session_id);

  // A new API token for the user; `secret` is returned only here ("lu_" + 43 base64url
  // characters). days: 1..3650.
  struct NewToken {
    TokenInfo info;
    std::string secret;
  };
  Result<NewToken> CreateToken(const std::string& user, const std::string& label, int days);
  Status RevokeToken(int64_t token_id);
  // All tokens, or one user's.
  Result<std::vector<TokenInfo>> Tokens(const std::string& user = "");
  // Unauthenticated if the token is unknown, expired, revoked or its user disabled.
  Result<Principal> AuthenticateToken(const std::string& secret);

 private:
  struct Impl;
  explicit Accounts(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace lineup
