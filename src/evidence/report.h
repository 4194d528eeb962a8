// Private to src/evidence/: the bundle's report for people (a judge, a defence expert),
// made from the bundle's own case record (case.json) so that what people read and what
// machines check are the same facts. Every page states that candidates are leads for
// human review, not identifications.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lineup/audit_log.h"
#include "lineup/status.h"

namespace lineup::evidence {

// report.html: one self-contained page; images are the bundle's files, by relative path.
std::string ReportHtml(const nlohmann::json& record, const std::vector<AuditRecord>& audit);

// report.pdf (cairo's PDF surface, text laid out by pango): A4 pages with the notice
// and page number in every footer; images read from `bundle_dir`. `audit`: the case's
// records, listed at the end of both reports.
Status WriteReportPdf(const nlohmann::json& record, const std::string& bundle_dir, const std::string& pdf_path,
                      const std::vector<AuditRecord>& audit);

// Reading the bundle's record, shared by both reports: a field as text ("" if missing or
// null; numbers and objects as JSON), and as a number (NaN if missing or not a number).
std::string FieldText(const nlohmann::json& j, const char* key);
double FieldNumber(const nlohmann::json& j, const char* key);

// Shared wording of both reports.
std::string Percent(double share);        // "1.2%", "0.034%"
std::string VerdictText(const std::string& verdict);  // "possible match", ...

}  // namespace lineup::evidence
