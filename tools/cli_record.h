// Where the command line keeps its record. Local commands act with the rights of whoever
// can read the gallery's files, so what they do is written to that gallery's audit log
// under the actor "cli:<unix user>" (and a search named with --case into that case),
// just as the server records its users: a search, verification or detection from the
// command line leaves the same trace as one through the API (investigations.h).
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "lineup/accounts.h"
#include "lineup/audit_log.h"
#include "lineup/cases.h"

namespace lineup::cli {

// --gallery, else $LINEUP_GALLERY, else ./lineup-data.
std::string GalleryDir(const Args& a);
// "cli:<unix user>", and the principal the library's accountable calls take for it.
std::string CliActor();
Principal CliPrincipal();

// The audit log of a gallery: open it before changing the gallery (so that a log that
// cannot be written stops the command first), record after; RecordCliAudit returns 0
// or the exit code.
Result<std::unique_ptr<AuditLog>> OpenCliAudit(const std::string& gallery_dir);
int RecordCliAudit(AuditLog& log, const std::string& action, const nlohmann::json& details);

inline constexpr Option kCaseOption{"--case", "ID", "record this in case ID (an open case of the gallery)"};
inline constexpr Option kJustificationOption{"--justification", "TEXT",
                                             "why, in a sentence: kept in the audit record (and the case)"};

// The record a command writes to: the gallery's audit log and cases, with --case and
// --justification. gallery_required: the gallery must exist (search). Otherwise (detect,
// verify, which need no gallery) the gallery named by --gallery or $LINEUP_GALLERY must
// exist, ./lineup-data is used if it does, and with none of them nothing is recorded
// (audit is null) — unless --case was given, which needs a gallery.
struct CliRecord {
  std::string gallery_dir;
  std::unique_ptr<AuditLog> audit;
  std::unique_ptr<Cases> cases;
  int64_t case_id = 0;
  std::string justification;
};
Result<CliRecord> OpenCliRecord(const Args& a, bool gallery_required);

}  // namespace lineup::cli
