#include "lineup/accountability.h"

#include <algorithm>

#include "oversight/sqlite_db.h"

namespace lineup {

bool IsLocal(const Principal& who) { return who.via == "cli"; }

Status Accountability::Authorise(const Principal& who, int64_t case_id, const std::string& justification,
                                 const std::string& what, std::initializer_list<Role> roles, bool needs_case) const {
  if (!IsLocal(who) && std::find(roles.begin(), roles.end(), who.role) == roles.end())
    return Status::PermissionDenied(what + " is not allowed for the " + RoleName(who.role) + " role");
  if (Status s = oversight::CheckText("a justification", justification, kMaxJustification, true, false); !s.ok())
    return s;
  if (case_id < 0) return Status::InvalidArgument("a case id must not be negative");
  if (case_id == 0) {
    if (needs_case && !IsLocal(who)) return Status::InvalidArgument(what + " needs an open case");
    return Status::OK();
  }
  if (!cases_) return Status::FailedPrecondition("no cases here to record " + what + " in");
  auto cs = cases_->Get(case_id);
  if (!cs.ok()) return cs.status();
  if (!IsLocal(who)) {
    auto member = cases_->IsMember(case_id, who.name);
    if (!member.ok()) return member.status();
    if (!*member) return Status::PermissionDenied("you are not a member of case " + std::to_string(case_id));
    if (justification.empty()) return Status::InvalidArgument(what + " needs a justification");
  }
  if (cs->status != "open") return Status::FailedPrecondition("case " + std::to_string(case_id) + " is closed");
  return Status::OK();
}

Result<int64_t> Accountability::Record(const Principal& who, const std::string& action, int64_t case_id,
                                       const nlohmann::json& details) const {
  if (!audit_) return int64_t{0};
  auto rec = audit_->Append(who.name, action, case_id, details.dump());
  if (!rec.ok())
    return Status::Unavailable("the audit log cannot be written (" + rec.status().message() +
                               "): the result is withheld, since an unrecorded " + action + " is not allowed");
  return rec->seq;
}

}  // namespace lineup
