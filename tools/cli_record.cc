#include "cli_record.h"

#include <cstdlib>
#include <filesystem>

#include "lineup/investigations.h"

namespace lineup::cli {

namespace fs = std::filesystem;

std::string GalleryDir(const Args& a) {
  if (a.Has("--gallery")) return a.Get("--gallery");
  if (const char* env = std::getenv("LINEUP_GALLERY"); env && *env) return env;
  return "lineup-data";
}

std::string CliActor() { return CliPrincipal().name; }
Principal CliPrincipal() { return LocalPrincipal(CurrentUnixUser()); }

Result<std::unique_ptr<AuditLog>> OpenCliAudit(const std::string& gallery_dir) {
  auto log = AuditLog::Open((fs::path(gallery_dir) / "catalog.sqlite").string());
  if (!log.ok()) return log.status().WithContext("audit log");
  return std::move(*log);
}

int RecordCliAudit(AuditLog& log, const std::string& action, const nlohmann::json& details) {
  auto r = log.Append(CliActor(), action, 0, details.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  if (r.ok()) return kExitOk;
  return Fail(r.status().WithContext("done, but the audit record could not be written"));
}

Result<CliRecord> OpenCliRecord(const Args& a, bool gallery_required) {
  CliRecord r;
  auto case_id = a.GetDouble("--case", 0, 1, 9e15);
  if (!case_id.ok()) return case_id.status();
  r.case_id = static_cast<int64_t>(*case_id);
  r.justification = a.Get("--justification");
  const bool named = a.Has("--gallery") || (std::getenv("LINEUP_GALLERY") && *std::getenv("LINEUP_GALLERY"));
  r.gallery_dir = GalleryDir(a);
  std::error_code ec;
  const bool exists = fs::exists(fs::path(r.gallery_dir) / "catalog.sqlite", ec);
  if (!exists) {
    if (gallery_required || named)
      return Status::NotFound(r.gallery_dir + ": no gallery here (create one with `lineup init " + r.gallery_dir + "`)");
    if (r.case_id > 0)
      return Status::InvalidArgument("--case needs the gallery whose case it is (--gallery DIR); none at " +
                                     r.gallery_dir);
    return r;  // nothing to record into
  }
  const std::string db = (fs::path(r.gallery_dir) / "catalog.sqlite").string();
  auto log = AuditLog::Open(db);
  if (!log.ok()) return log.status().WithContext("audit log");
  r.audit = std::move(*log);
  auto cases = Cases::Open(db);
  if (!cases.ok()) return cases.status().WithContext("cases");
  r.cases = std::move(*cases);
  return r;
}

}  // namespace lineup::cli
