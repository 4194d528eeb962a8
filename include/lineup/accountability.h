// Accountability: the checks every accountable act starts with, and the audit record it
// ends with, shared by investigations.h (search, verify, detect) and
// person_investigations.h (persons), so that both refuse and record in the same words.
//
// Authorise passes when the caller's role is allowed (a local operator — Principal::via
// "cli", at the gallery's own machine — always is), the justification is well formed, and
// the case (if one is named, or needed) exists, is open and has the caller as a member;
// a signed-in caller working in a case must give a justification. Record appends to the
// audit log and, if that cannot be done, answers Unavailable so that the caller withholds
// its result. Safe from many threads as far as Cases and AuditLog are.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>

#include <nlohmann/json.hpp>

#include "lineup/accounts.h"
#include "lineup/audit_log.h"
#include "lineup/cases.h"
#include "lineup/status.h"

namespace lineup {

// A justification is at most this many characters.
inline constexpr size_t kMaxJustification = 2000;

// Someone at the gallery's own machine (Principal::via == "cli").
bool IsLocal(const Principal& who);

class Accountability {
 public:
  // Either may be null: without cases, an act that names a case is refused
  // (FailedPrecondition); without an audit log nothing is recorded (Record returns 0).
  Accountability(Cases* cases, AuditLog* audit) : cases_(cases), audit_(audit) {}

  // `what` names the act in messages ("a search"). PermissionDenied for a role not in
  // `roles` or a case the caller is not a member of; InvalidArgument for a bad or missing
  // justification, a negative case id, or no case where `needs_case` (signed-in callers
  // only); NotFound for an unknown case; FailedPrecondition for a closed one.
  Status Authorise(const Principal& who, int64_t case_id, const std::string& justification, const std::string& what,
                   std::initializer_list<Role> roles, bool needs_case) const;

  // Appends the record and returns its seq (0 without an audit log); Unavailable, saying
  // the result is withheld, if it cannot be written.
  Result<int64_t> Record(const Principal& who, const std::string& action, int64_t case_id,
                         const nlohmann::json& details) const;

  Cases* cases() const { return cases_; }
  AuditLog* audit() const { return audit_; }

 private:
  Cases* cases_;
  AuditLog* audit_;
};

}  // namespace lineup
