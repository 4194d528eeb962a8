// Accounts and the audit trail of a gallery: `lineup user ...` and `lineup audit ...`.
//
// These run locally, by whoever can write the gallery's files: that is what makes
// `lineup user add NAME --role admin` the way to create the first admin. Every change
// made here, and by the gallery commands of cmd_gallery.cc, is written to the audit log
// with the actor "cli:<unix user>": the log is opened before the change (so that a log
// that cannot be written stops the command first) and the record appended after it.
#include <pwd.h>
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli_record.h"
#include "cli_util.h"
#include "commands.h"
#include "lineup/accounts.h"
#include "lineup/audit_log.h"
#include "lineup/cases.h"

namespace lineup::cli {

namespace {

std::string CatalogPath(const Args& a) { return (std::filesystem::path(GalleryDir(a)) / "catalog.sqlite").string(); }

std::string ReadLine(bool* ok) {
  std::string line;
  *ok = static_cast<bool>(std::getline(std::cin, line));
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

// From stdin (one line) with --password-stdin; otherwise typed twice at the terminal
// without echo. Refused when stdin is neither.
Result<std::string> ReadPassword(const Args& a) {
  bool ok = false;
  if (a.Has("--password-stdin")) {
    std::string pw = ReadLine(&ok);
    if (!ok) return Status::InvalidArgument("--password-stdin: no password on stdin");
    return pw;
  }
  if (!isatty(STDIN_FILENO))
    return Status::InvalidArgument("stdin is not a terminal: give the password on stdin with --password-stdin");
  termios old{};
  if (tcgetattr(STDIN_FILENO, &old) != 0) return Status::IOError("cannot read the terminal settings");
  termios quiet = old;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  std::string first, second;
  tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  std::fprintf(stderr, "password (12 characters or more): ");
  std::fflush(stderr);
  first = ReadLine(&ok);
  std::fprintf(stderr, "\nagain: ");
  std::fflush(stderr);
  if (ok) second = ReadLine(&ok);
  std::fprintf(stderr, "\n");
  tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
  if (!ok) return Status::InvalidArgument("no password typed");
  if (first != second) return Status::InvalidArgument("the two passwords differ");
  return first;
}

nlohmann::json UserJson(const User& u) {
  return {{"id", u.id},         {"name", u.name},     {"role", RoleName(u.role)}, {"disabled", u.disabled},
          {"created_at", u.created_at}, {"sources", u.sources}};
}

nlohmann::json TokenJson(const TokenInfo& t) {
  return {{"id", t.id},           {"user", t.user},         {"label", t.label},
          {"created_at", t.created_at}, {"expires_at", t.expires_at}, {"revoked_at", t.revoked_at}};
}

std::string Join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
  return s.empty() ? "-" : s;
}

constexpr Option kPasswordStdin{"--password-stdin", "",
                                 "read the password from stdin (one line) instead of typing it twice at the terminal"};

const Command kUserAdd = {
    .name = "user add",
    .summary = "create an account (the first admin is made this way)",
    .usage = {"user add NAME --role ROLE [--password-stdin] [--gallery DIR] [--json]"},
    .options = {{"--role", "ROLE", "admin, analyst, enroller or auditor (docs/oversight.md)"},
                kPasswordStdin,
                kGalleryOption,
                kJsonOption},
    .examples = {"lineup user add alice --role admin --gallery lineup-data"},
};
const Command kUserList = {
    .name = "user list",
    .summary = "the accounts, their roles and states",
    .usage = {"user list [--gallery DIR] [--json]"},
    .options = {kGalleryOption, kJsonOption},
    .examples = {"lineup user list --gallery lineup-data"},
};
const Command kUserDisable = {
    .name = "user disable",
    .summary = "end an account's sessions and refuse its tokens",
    .usage = {"user disable NAME [--gallery DIR] [--json]"},
    .options = {kGalleryOption, kJsonOption},
    .examples = {"lineup user disable bob --gallery lineup-data"},
};
const Command kUserEnable = {
    .name = "user enable",
    .summary = "allow a disabled account again",
    .usage = {"user enable NAME [--gallery DIR] [--json]"},
    .options = {kGalleryOption, kJsonOption},
    .examples = {"lineup user enable bob --gallery lineup-data"},
};
const Command kUserRole = {
    .name = "user role",
    .summary = "change an account's role",
    .usage = {"user role NAME ROLE [--gallery DIR] [--json]"},
    .options = {kGalleryOption, kJsonOption},
    .examples = {"lineup user role bob enroller --gallery lineup-data"},
};
const Command kUserPassword = {
    .name = "user password",
    .summary = "set a new password; the account's sessions end",
    .usage = {"user password NAME [--password-stdin] [--gallery DIR] [--json]"},
    .options = {kPasswordStdin, kGalleryOption, kJsonOption},
    .examples = {"lineup user password alice --gallery lineup-data"},
};
const Command kUserGrant = {
    .name = "user grant",
    .summary = "let an enroller enrol into a source",
    .usage = {"user grant NAME --source SOURCE [--gallery DIR] [--json]"},
    .options = {{"--source", "SOURCE", "the source they may enrol into"}, kGalleryOption, kJsonOption},
    .examples = {"lineup user grant bob --source samples --gallery lineup-data"},
};
const Command kUserToken = {
    .name = "user token",
    .summary = "an API token for an account; prints the secret once",
    .usage = {"user token NAME [--label L] [--days D] [--gallery DIR] [--json]"},
    .options = {{"--label", "L", "what the token is for"},
                {"--days", "D", "days until it expires, 1 to 3650 (default 90)"},
                kGalleryOption,
                kJsonOption},
    .examples = {"lineup user token alice --label laptop --days 30 --gallery lineup-data"},
    .notes = "Send the secret as \"Authorization: Bearer <secret>\".",
};
const Command kUserTokens = {
    .name = "user tokens",
    .summary = "the API tokens (of one account, or all)",
    .usage = {"user tokens [NAME] [--gallery DIR] [--json]"},
    .options = {kGalleryOption, kJsonOption},
    .examples = {"lineup user tokens --gallery lineup-data"},
};
const Command kUserRevoke = {
    .name = "user revoke",
    .summary = "revoke an API token",
    .usage = {"user revoke TOKEN_ID [--gallery DIR] [--json]"},
    .options = {kGalleryOption, kJsonOption},
    .examples = {"lineup user revoke 1 --gallery lineup-data"},
};

const Command kAuditVerify = {
    .name = "audit verify",
    .summary = "check the hash chain; exit 0 intact, 1 broken (names the first bad record)",
    .usage = {"audit verify [--expect-head HASH] [--gallery DIR] [--json]"},
    .options = {{"--expect-head", "HASH",
                 "also check that the log still holds this head (from `audit head`, kept elsewhere)"},
                kGalleryOption,
                kJsonOption},
    .examples = {"lineup audit verify --gallery lineup-data"},
};
const Command kAuditHead = {
    .name = "audit head",
    .summary = "the hash of the last record, to keep elsewhere",
    .usage = {"audit head [--gallery DIR] [--json]"},
    .options = {kGalleryOption, kJsonOption},
    .examples = {"lineup audit head --gallery lineup-data"},
};
const Command kAuditExport = {
    .name = "audit export",
    .summary = "the records as JSON lines, oldest first",
    .usage = {"audit export [--since T] [--case ID] [--actor U] [--action A] [--limit N] [--out FILE] [--gallery DIR]"},
    .options = {{"--since", "T", "records at or after this time (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)"},
                {"--case", "ID", "records of this case"},
                {"--actor", "U", "records of this actor (a user name, or cli:<unix user>)"},
                {"--action", "A", "records of this action (search, enroll, erase, ...)"},
                {"--limit", "N", "at most N records"},
                {"--out", "FILE", "write to FILE instead of stdout"},
                kGalleryOption,
                {"--json", "", "accepted for symmetry: the records are always JSON lines"}},
    .examples = {"lineup audit export --action enroll --gallery lineup-data"},
};
const Command kAuditStats = {
    .name = "audit stats",
    .summary = "searches and reviews, for auditors",
    .usage = {"audit stats [--gallery DIR] [--json]"},
    .options = {kGalleryOption, kJsonOption},
    .examples = {"lineup audit stats --gallery lineup-data"},
};

}  // namespace

const Command kUserCommand = {
    .name = "user",
    .summary = "accounts of the served gallery and their API tokens",
    .notes = "Changes are written to the gallery's audit log as the actor cli:<unix user>.",
    .verbs = {&kUserAdd, &kUserList, &kUserDisable, &kUserEnable, &kUserRole, &kUserPassword, &kUserGrant, &kUserToken,
              &kUserTokens, &kUserRevoke},
};

const Command kAuditCommand = {
    .name = "audit",
    .summary = "the hash-chained audit log of a gallery",
    .verbs = {&kAuditVerify, &kAuditHead, &kAuditExport, &kAuditStats},
};

int CmdUser(int argc, char** argv) {
  auto command = VerbFrom(kUserCommand, argc, argv);
  if (!command.ok()) return Fail(command.status());
  const Command& c = **command;
  const std::string verb = argv[2];
  auto args = ParseArgs(argc, argv, c);
  if (!args.ok()) return Fail(args.status());
  const auto& pos = args->positional;
  auto positional = [&](size_t n) { return pos.size() == n; };
  const bool json = args->Has("--json");

  // Reading verbs first: they change nothing and need no audit log.
  if (verb == "list" || verb == "tokens") {
    if (pos.size() > (verb == "tokens" ? 1u : 0u))
      return Misuse(c, c.name + " takes " + (verb == "tokens" ? "at most one NAME" : "no arguments") + ", got " +
                           std::to_string(pos.size()));
    auto acc = Accounts::Open(CatalogPath(*args));
    if (!acc.ok()) return Fail(acc.status());
    nlohmann::json j = nlohmann::json::array();
    if (verb == "list") {
      auto users = (*acc)->Users();
      if (!users.ok()) return Fail(users.status());
      Table t({"user", "role", "state", "created", "sources"});
      for (const User& u : *users) {
        j.push_back(UserJson(u));
        t.Add({u.name, RoleName(u.role), u.disabled ? "disabled" : "enabled", u.created_at, Join(u.sources)});
      }
      if (json) std::printf("%s\n", j.dump(2).c_str());
      else if (users->empty()) std::printf("no users yet: lineup user add NAME --role admin\n");
      else t.Print();
      return kExitOk;
    }
    auto tokens = (*acc)->Tokens(pos.empty() ? "" : pos[0]);
    if (!tokens.ok()) return Fail(tokens.status());
    Table t({"id", "user", "label", "created", "expires", "revoked"});
    for (const TokenInfo& k : *tokens) {
      j.push_back(TokenJson(k));
      t.Add({std::to_string(k.id), k.user, k.label.empty() ? "-" : k.label, k.created_at, k.expires_at,
             k.revoked_at.empty() ? "-" : k.revoked_at});
    }
    if (json) std::printf("%s\n", j.dump(2).c_str());
    else t.Print();
    return kExitOk;
  }

  if (verb == "role" ? !positional(2) : !positional(1))
    return Misuse(c, c.name + " takes " + (verb == "role" ? "NAME ROLE" : verb == "revoke" ? "one TOKEN_ID" : "one NAME") +
                         ", got " + std::to_string(pos.size()) + " argument(s)");
  // Check the arguments before prompting for anything.
  Role role = Role::kAnalyst;
  if (verb == "add" || verb == "role") {
    if (verb == "add" && !args->Has("--role")) return Misuse(c, "user add needs --role ROLE");
    auto r = ParseRole(verb == "add" ? args->Get("--role") : pos[1]);
    if (!r.ok()) return Fail(r.status());
    role = *r;
  }
  if (verb == "grant" && !args->Has("--source")) return Misuse(c, "user grant needs --source SOURCE");
  auto days = args->GetInt("--days", 90, 1, 3650);
  if (!days.ok()) return Fail(days.status());
  int64_t token_id = 0;
  if (verb == "revoke") {
    char* end = nullptr;
    token_id = std::strtoll(pos[0].c_str(), &end, 10);
    if (pos[0].empty() || *end || token_id <= 0)
      return Fail(Status::InvalidArgument("TOKEN_ID is a number (see lineup user tokens)"));
  }

  auto acc = Accounts::Open(CatalogPath(*args));
  if (!acc.ok()) return Fail(acc.status());
  auto audit_log = OpenCliAudit(GalleryDir(*args));
  if (!audit_log.ok()) return Fail(audit_log.status());
  auto record = [&](const std::string& action, const nlohmann::json& details) {
    return RecordCliAudit(**audit_log, action, details);
  };
  const std::string& name = pos[0];
  // The verbs that change one thing: a line for people, or the same facts as JSON.
  auto reply = [&](const nlohmann::json& j, const std::string& text) {
    std::printf("%s\n", json ? j.dump().c_str() : text.c_str());
    return kExitOk;
  };

  if (verb == "add" || verb == "password") {
    if (verb == "add") {
      // Refuse a taken name before asking for a password.
      if ((*acc)->FindUser(name).ok()) return Fail(Status::InvalidArgument("user \"" + name + "\" already exists"));
    } else if (auto u = (*acc)->FindUser(name); !u.ok()) {
      return Fail(u.status());
    }
    auto pw = ReadPassword(*args);
    if (!pw.ok()) return Fail(pw.status());
    if (verb == "add") {
      auto u = (*acc)->AddUser(name, role, *pw);
      if (!u.ok()) return Fail(u.status());
      if (int rc = record("user_add", {{"user", name}, {"role", RoleName(role)}}); rc) return rc;
      if (json) std::printf("%s\n", UserJson(*u).dump().c_str());
      else std::printf("user \"%s\" added as %s\n", name.c_str(), RoleName(role));
    } else {
      Status s = (*acc)->SetPassword(name, *pw);
      if (!s.ok()) return Fail(s);
      if (int rc = record("user_password", {{"user", name}}); rc) return rc;
      return reply({{"user", name}, {"password_changed", true}},
                   "password of \"" + name + "\" changed; their sessions have ended");
    }
    return kExitOk;
  }
  if (verb == "disable" || verb == "enable") {
    const bool off = verb == "disable";
    Status s = (*acc)->SetDisabled(name, off);
    if (!s.ok()) return Fail(s);
    if (int rc = record(off ? "user_disable" : "user_enable", {{"user", name}}); rc) return rc;
    return reply({{"user", name}, {"disabled", off}},
                 off ? "user \"" + name + "\" disabled: sessions ended, tokens refused" : "user \"" + name + "\" enabled");
  }
  if (verb == "role") {
    auto before = (*acc)->FindUser(name);
    if (!before.ok()) return Fail(before.status());
    Status s = (*acc)->SetRole(name, role);
    if (!s.ok()) return Fail(s);
    if (int rc = record("user_role", {{"user", name}, {"role", RoleName(role)}, {"was", RoleName(before->role)}});
        rc)
      return rc;
    return reply({{"user", name}, {"role", RoleName(role)}},
                 "user \"" + name + "\" is now " + RoleName(role));
  }
  if (verb == "grant") {
    const std::string source = args->Get("--source");
    Status s = (*acc)->GrantSource(name, source);
    if (!s.ok()) return Fail(s);
    if (int rc = record("user_grant", {{"user", name}, {"source", source}}); rc) return rc;
    return reply({{"user", name}, {"granted_source", source}},
                 "enroller \"" + name + "\" may enrol into source \"" + source + "\"");
  }
  if (verb == "token") {
    auto t = (*acc)->CreateToken(name, args->Get("--label"), *days);
    if (!t.ok()) return Fail(t.status());
    if (int rc = record("token_create", {{"user", name}, {"token_id", t->info.id}, {"label", t->info.label},
                                                {"expires_at", t->info.expires_at}});
        rc)
      return rc;
    if (json) {
      nlohmann::json j = TokenJson(t->info);
      j["secret"] = t->secret;
      std::printf("%s\n", j.dump().c_str());
    } else {
      std::printf("%s\n", t->secret.c_str());
      std::fprintf(stderr, "token %lld for \"%s\", valid until %s. This is the only time the secret is shown;\n"
                           "send it as \"Authorization: Bearer <secret>\".\n",
                   static_cast<long long>(t->info.id), name.c_str(), t->info.expires_at.c_str());
    }
    return kExitOk;
  }
  // revoke
  auto tokens = (*acc)->Tokens();
  std::string owner;
  if (tokens.ok())
    for (const TokenInfo& k : *tokens)
      if (k.id == token_id) owner = k.user;
  Status s = (*acc)->RevokeToken(token_id);
  if (!s.ok()) return Fail(s);
  if (int rc = record("token_revoke", {{"token_id", token_id}, {"user", owner}}); rc) return rc;
  return reply({{"revoked_token_id", token_id}, {"user", owner}}, "token " + std::to_string(token_id) + " revoked");
}

int CmdAudit(int argc, char** argv) {
  auto command = VerbFrom(kAuditCommand, argc, argv);
  if (!command.ok()) return Fail(command.status());
  const std::string verb = argv[2];
  auto args = ParseArgs(argc, argv, **command);
  if (!args.ok()) return Fail(args.status());
  if (!args->positional.empty())
    return Misuse(**command, (*command)->name + " takes no arguments, got \"" + args->positional[0] + "\"");
  const bool json = args->Has("--json");

  if (verb == "stats") {
    auto cases = Cases::Open(CatalogPath(*args));
    if (!cases.ok()) return Fail(cases.status());
    auto st = (*cases)->Stats();
    if (!st.ok()) return Fail(st.status());
    if (json) {
      nlohmann::json users = nlohmann::json::array(), per_case = nlohmann::json::array();
      for (const auto& u : st->searches_per_user) users.push_back({{"user", u.user}, {"searches", u.searches}});
      for (const auto& c : st->searches_per_case)
        per_case.push_back({{"case_id", c.case_id}, {"title", c.title}, {"searches", c.searches}});
      std::printf("%s\n", nlohmann::json{{"searches", st->searches},
                                         {"low_quality_share", st->low_quality_share},
                                         {"above_threshold_share", st->above_threshold_share},
                                         {"reviews", {{"possible_match", st->reviews_possible},
                                                      {"not_a_match", st->reviews_not},
                                                      {"inconclusive", st->reviews_inconclusive},
                                                      {"confirmed", st->reviews_confirmed}}},
                                         {"searches_per_user", users},
                                         {"searches_per_case", per_case}}
                              .dump(2)
                              .c_str());
      return kExitOk;
    }
    std::printf("%lld search(es); %.1f%% with a low-quality probe; %.1f%% with a candidate at or above the threshold\n",
                static_cast<long long>(st->searches), 100 * st->low_quality_share, 100 * st->above_threshold_share);
    std::printf("reviews: %lld possible match (%lld confirmed by a second analyst), %lld not a match, %lld "
                "inconclusive\n\n",
                static_cast<long long>(st->reviews_possible), static_cast<long long>(st->reviews_confirmed),
                static_cast<long long>(st->reviews_not), static_cast<long long>(st->reviews_inconclusive));
    Table users({"user", "searches"});
    for (const auto& u : st->searches_per_user) users.Add({u.user, std::to_string(u.searches)});
    Table per_case({"case", "title", "searches"});
    for (const auto& c : st->searches_per_case)
      per_case.Add({std::to_string(c.case_id), c.title, std::to_string(c.searches)});
    users.Print();
    std::printf("\n");
    per_case.Print();
    return kExitOk;
  }

  auto log = AuditLog::Open(CatalogPath(*args));
  if (!log.ok()) return Fail(log.status());
  if (verb == "verify") {
    auto v = (*log)->Verify(args->Get("--expect-head"));
    if (!v.ok()) return Fail(v.status());
    if (json) {
      std::printf("%s\n", nlohmann::json{{"ok", v->ok}, {"records", v->records}, {"first_bad_seq", v->first_bad_seq},
                                         {"problem", v->problem}, {"head", v->head},
                                         {"expected_head_seq", v->expected_head_seq},
                                         {"head_mismatch", v->head_mismatch}}
                              .dump()
                              .c_str());
    } else if (v->ok) {
      std::printf("audit log intact: %lld record(s), head %s\n", static_cast<long long>(v->records),
                  v->head.empty() ? "(empty log)" : v->head.c_str());
      if (args->Has("--expect-head"))
        std::printf("the expected head is record %lld%s\n", static_cast<long long>(v->expected_head_seq),
                    v->expected_head_seq == v->records ? " (the current head)" : "; later records were added since");
    } else if (v->head_mismatch) {
      std::fprintf(stderr, "lineup: audit log does not hold the expected head: %s\n", v->problem.c_str());
    } else {
      std::fprintf(stderr, "lineup: audit log BROKEN at record %lld: %s\n", static_cast<long long>(v->first_bad_seq),
                   v->problem.c_str());
    }
    return v->ok ? kExitOk : kExitNo;
  }
  if (verb == "head") {
    AuditFilter last;
    last.limit = 1;
    auto r = (*log)->Records(last);
    if (!r.ok()) return Fail(r.status());
    const std::string head = r->empty() ? "" : r->back().hash;
    const int64_t seq = r->empty() ? 0 : r->back().seq;
    if (json) std::printf("%s\n", nlohmann::json{{"head", head}, {"seq", seq}}.dump().c_str());
    else if (head.empty()) std::fprintf(stderr, "lineup: the audit log is empty\n");
    else std::printf("%s\n", head.c_str());
    return kExitOk;
  }
  if (verb == "export") {
    AuditFilter f;
    f.since = args->Get("--since");
    f.actor = args->Get("--actor");
    f.action = args->Get("--action");
    for (const char* k : {"--case", "--limit"}) {
      if (!args->Has(k)) continue;
      const std::string v = args->Get(k);
      char* end = nullptr;
      const long long n = std::strtoll(v.c_str(), &end, 10);
      if (v.empty() || *end || n < 1) return Fail(Status::InvalidArgument(std::string(k) + " needs a whole number from 1"));
      (std::string(k) == "--case" ? f.case_id : f.limit) = n;
    }
    if (!args->Has("--out")) {
      Status s = (*log)->Export(std::cout, f);
      return s.ok() ? kExitOk : Fail(s);
    }
    const std::string out = args->Get("--out");
    std::ofstream file(out, std::ios::binary | std::ios::trunc);
    if (!file) return Fail(Status::IOError(out + ": cannot write"));
    Status s = (*log)->Export(file, f);
    file.close();
    if (s.ok() && !file) s = Status::IOError(out + ": cannot write");
    return s.ok() ? kExitOk : Fail(s);
  }
  return Fail(Status::Internal("audit " + verb + " has no implementation"));
}

}  // namespace lineup::cli
