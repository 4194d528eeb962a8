// report.html of an evidence bundle (report.h).
#include <cmath>
#include <cstdio>
#include <string>

#include "evidence/bundle_files.h"
#include "evidence/report.h"
#include "lineup/differentials.h"
#include "lineup/html_text.h"

namespace lineup::evidence {

using json = nlohmann::json;

std::string FieldText(const nlohmann::json& j, const char* key) {
  if (!j.is_object() || !j.contains(key)) return "";
  const nlohmann::json& v = j[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  return v.dump();
}

double FieldNumber(const nlohmann::json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_number() ? j[key].get<double>() : std::nan("");
}

std::string Percent(double share) {
  if (!std::isfinite(share)) return "unknown";
  char buf[32];
  const double p = share * 100;
  if (p == 0) return "0%";
  if (p >= 10) std::snprintf(buf, sizeof buf, "%.1f%%", p);
  else if (p >= 0.1) std::snprintf(buf, sizeof buf, "%.2f%%", p);
  else std::snprintf(buf, sizeof buf, "%.2g%%", p);
  return buf;
}

std::string VerdictText(const std::string& v) {
  if (v == "possible_match") return "possible match";
  if (v == "not_a_match") return "not a match";
  return v;
}

namespace {

std::string Num(double v, const char* f = "%.4f") {
  char buf[32];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string Row(const std::string& k, const std::string& v) { return "<tr><th>" + HtmlEscape(k) + "</th><td>" + v + "</td></tr>\n"; }

std::string Img(const json& path, const std::string& alt) {
  if (!path.is_string()) return "<div class=\"nocrop\">" + HtmlEscape(alt) + ": no image</div>";
  return "<img src=\"" + HtmlEscape(path.get<std::string>()) + "\" alt=\"" + HtmlEscape(alt) + "\">";
}

}  // namespace

std::string ReportHtml(const json& r, const std::vector<AuditRecord>& audit) {
  const json& c = r["case"];
  std::string h;
  h += "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>Case " + FieldText(c, "id") + " evidence: " +
       HtmlEscape(FieldText(c, "title")) + "</title>\n<style>\n"
       "body{font:14px/1.45 'DejaVu Sans',sans-serif;margin:0 2em 4em;color:#111}\n"
       ".notice{position:fixed;left:0;right:0;bottom:0;background:#fff3c4;border-top:2px solid #b08800;"
       "padding:.4em 1em;font-weight:bold;text-align:center}\n"
       ".notice.top{position:static;border:2px solid #b08800;margin:1em 0}\n"
       "h1{font-size:1.5em}h2{font-size:1.25em;border-bottom:1px solid #999;margin-top:2em}h3{font-size:1.1em}\n"
       "table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #bbb;padding:.25em .5em;text-align:left;"
       "vertical-align:top}th{background:#f0f0f0}\n"
       ".kv th{width:14em}.hash{font-family:'DejaVu Sans Mono',monospace;font-size:.85em;word-break:break-all}\n"
       "img{height:120px;border:1px solid #666}.nocrop{width:100px;height:120px;border:1px dashed #999;"
       "font-size:.8em;color:#666}\n"
       ".lead{color:#7a4b00;font-weight:bold}.search{page-break-inside:auto}\n"
       "@media print{.notice{position:fixed}}\n"
       "</style></head><body>\n";
  h += "<div class=\"notice top\">" + HtmlEscape(FieldText(r, "notice")) + "</div>\n";
  h += "<div class=\"notice\">" + HtmlEscape(kLeadsNotice) + " Case " + FieldText(c, "id") + ".</div>\n";
  h += "<h1>Evidence bundle: case " + FieldText(c, "id") + ", " + HtmlEscape(FieldText(c, "title")) + "</h1>\n<table class=\"kv\">\n";
  h += Row("Authority", HtmlEscape(FieldText(c, "authority")));
  h += Row("Status", HtmlEscape(FieldText(c, "status")) + (FieldText(c, "closed_at").empty() ? "" : " (closed by " + HtmlEscape(FieldText(c, "closed_by")) +
                                                                                     " at " + HtmlEscape(FieldText(c, "closed_at")) + ")"));
  h += Row("Opened", HtmlEscape(FieldText(c, "created_by")) + " at " + HtmlEscape(FieldText(c, "created_at")));
  std::string members;
  for (const json& m : c["members"]) members += (members.empty() ? "" : ", ") + HtmlEscape(m.get<std::string>());
  h += Row("Members", members);
  const json& ex = r["export"];
  h += Row("Exported", HtmlEscape(FieldText(ex, "by")) + " at " + HtmlEscape(FieldText(ex, "at")) +
                           (FieldText(ex, "justification").empty() ? "" : ": " + HtmlEscape(FieldText(ex, "justification"))));
  h += Row("Signing key (Ed25519)", "<span class=\"hash\">fingerprint " + HtmlEscape(FieldText(r["signing_key"], "fingerprint")) +
                                        "<br>public key " + HtmlEscape(FieldText(r["signing_key"], "public_key")) + "</span>");
  h += Row("Model", "<span class=\"hash\">" + HtmlEscape(FieldText(r, "model")) + "</span>");
  const json& cal = r["calibration"];
  h += Row("Calibration", HtmlEscape(FieldText(cal, "file")) + "<br><span class=\"hash\">SHA-256 " + HtmlEscape(FieldText(cal, "sha256")) +
                              "</span><br>measured on " + HtmlEscape(FieldText(cal, "dataset")));
  h += "</table>\n<p>Every file of this bundle is listed with its SHA-256 in manifest.json, which is signed "
       "(manifest.sig). <code>lineup evidence verify FOLDER --key PUBLIC_KEY</code> checks that nothing was "
       "changed, added or removed.</p>\n";

  h += "<h2>Searches (" + std::to_string(r["searches"].size()) + ")</h2>\n";
  for (const json& s : r["searches"]) {
    h += "<div class=\"search\"><h3>Search " + FieldText(s, "id") + ": " + HtmlEscape(FieldText(s, "at")) + " by " + HtmlEscape(FieldText(s, "user")) + "</h3>\n";
    h += "<table class=\"kv\">\n";
    h += Row("Justification", HtmlEscape(FieldText(s, "justification")));
    const json& p = s["probe"];
    h += Row("Probe", Img(s["probe_crop"], "searched face") +
                          (s["probe_photo"].is_string() ? "<br>probe photo kept: <a href=\"" + HtmlEscape(FieldText(s, "probe_photo")) +
                                                              "\">" + HtmlEscape(FieldText(s, "probe_photo")) + "</a>"
                                                        : "") +
                          "<br>" + HtmlEscape(FieldText(s, "kind")) + (FieldText(p, "name").empty() ? "" : " " + HtmlEscape(FieldText(p, "name"))) +
                          (p.is_object() && p.contains("searched_face") ? ", face " + FieldText(p, "searched_face") : "") +
                          (p.is_object() && p.contains("quality") ? ", quality " + FieldText(p, "quality") : ""));
    h += Row("Probe SHA-256", "<span class=\"hash\">" + HtmlEscape(FieldText(s, "probe_sha256")) + "</span>");
    const json& d = s["decision"];
    h += Row("Decision", HtmlEscape(d.is_object() ? FieldText(d, "text") : "threshold " + Num(FieldNumber(s, "threshold"))));
    h += Row("Gallery size", FieldText(s, "gallery_size") + " faces");
    const json& sc = s["calibration"];
    h += Row("Model, calibration", "<span class=\"hash\">" + HtmlEscape(FieldText(s, "model")) + "<br>" + HtmlEscape(FieldText(sc, "file")) +
                                       " SHA-256 " + HtmlEscape(FieldText(sc, "sha256")) + "</span>" +
                                       (s.value("calibration_same_as_bundle", false) ? ""
                                                                                     : "<br><b>not the calibration in this bundle</b>"));
    const json& e = s["error_rates"];
    std::string rates = "false match rate per comparison " + Percent(FieldNumber(e, "fmr_per_comparison")) +
                        "; false non-match rate " + Percent(FieldNumber(e, "fnmr_per_comparison")) +
                        "; false-positive identification rate of a search of " + FieldText(e, "gallery_size") + " faces " +
                        Percent(FieldNumber(e, "fpir_for_gallery_size"));
    if (d.is_object() && d.contains("group_fpir") && d["group_fpir"].is_object() && !d["group_fpir"].empty()) {
      rates += "<br>FPIR by group of the probe (measured searches):";
      for (const auto& [g, f] : d["group_fpir"].items())
        rates += " " + HtmlEscape(g) + " " + Percent(f.is_number() ? f.get<double>() : std::nan(""));
    }
    rates += "<br><small>measured on " + HtmlEscape(FieldText(e, "measured_on")) + "</small>";
    h += Row("Error rates at this threshold", rates);
    const std::string said = d.is_object() && d.contains("differentials") ? FieldText(d["differentials"], "text") : "";
    if (!said.empty())
      h += Row("Demographic differentials",
               "<span class=\"differentials-statement\">" + HtmlEscape(said) +
                   "</span> <a href=\"#differentials\">The table of each group's rates</a>.");
    std::string warnings;
    for (const json& w : s["warnings"]) warnings += "<li>" + HtmlEscape(w.is_string() ? w.get<std::string>() : w.dump()) + "</li>";
    if (!warnings.empty()) h += Row("Warnings", "<ul>" + warnings + "</ul>");
    h += "</table>\n";
    h += "<table><tr><th>rank</th><th>face crop</th><th>score</th><th>FPIR</th><th>lead?</th><th>provenance</th>"
         "<th>reviews</th></tr>\n";
    for (const json& cand : s["candidates"]) {
      const bool lead = cand.value("above_threshold", false);
      std::string lead_text = lead ? "<span class=\"lead\">lead</span>" : "below threshold";
      if (cand.contains("withheld") && cand["withheld"].is_string()) lead_text = "withheld: " + HtmlEscape(FieldText(cand, "withheld"));
      std::string prov;
      if (cand.contains("source")) {
        prov = "source " + HtmlEscape(FieldText(cand["source"], "name")) + "<br>legal basis: " + HtmlEscape(FieldText(cand["source"], "legal_basis"));
        if (cand.contains("image"))
          prov += "<br>photo " + HtmlEscape(FieldText(cand["image"], "uri")) + "<br><span class=\"hash\">SHA-256 " +
                  HtmlEscape(FieldText(cand["image"], "sha256")) + "</span>";
        if (!FieldText(cand, "subject").empty()) prov += "<br>enrolled as " + HtmlEscape(FieldText(cand, "subject"));
      } else {
        prov = HtmlEscape(FieldText(cand, "provenance_note"));
      }
      std::string rv;
      for (const json& x : cand["reviews"]) {
        rv += HtmlEscape(VerdictText(FieldText(x, "verdict"))) + " by " + HtmlEscape(FieldText(x, "analyst")) + " (" + HtmlEscape(FieldText(x, "at")) + ")";
        if (!FieldText(x, "note").empty()) rv += ": " + HtmlEscape(FieldText(x, "note"));
        if (x.value("confirmed", false)) rv += "<br>confirmed by " + HtmlEscape(FieldText(x, "confirmed_by")) + " (" + HtmlEscape(FieldText(x, "confirmed_at")) + ")";
        rv += "<br>";
      }
      if (rv.empty()) rv = "not reviewed";
      h += "<tr><td>" + FieldText(cand, "rank") + "</td><td>" + Img(cand["crop"], "face " + FieldText(cand, "face_id")) + "<br>face " +
           FieldText(cand, "face_id") + "</td><td>" + Num(FieldNumber(cand, "score")) + "</td><td>" +
           (cand.contains("fpir") ? Percent(FieldNumber(cand, "fpir")) : "") + "</td><td>" + lead_text + "</td><td>" + prov +
           "</td><td>" + rv + "</td></tr>\n";
    }
    if (s["candidates"].empty()) h += "<tr><td colspan=\"7\">no candidate was shown</td></tr>\n";
    h += "</table></div>\n";
  }

  const json& dd = r["demographic_differentials"];
  h += "<h2 id=\"differentials\">Demographic differentials</h2>\n<p>" + HtmlEscape(FieldText(dd, "note")) + "</p>\n";
  if (dd.is_object() && dd.contains("per_group_table") && !dd["per_group_table"].is_null()) {
    auto table = DifferentialsForReaders(dd["per_group_table"]);
    h += table.ok() ? DifferentialsHtml(*table)
                    : "<p>The table in case.json cannot be shown: " + HtmlEscape(table.status().message()) + "</p>\n";
  }

  const json& a = r["audit"];
  h += "<h2>Audit records of the case (" + FieldText(a, "records") + ")</h2>\n<p>Each record's hash covers its fields and "
       "the hash of the record before it in the gallery's whole log (" + HtmlEscape(FieldText(a, "chain_file")) + " lists them from "
       "record " + FieldText(a, "chain_from_seq") + "); the log's head at export time was record " + FieldText(a, "head_seq") +
       ", <span class=\"hash\">" + HtmlEscape(FieldText(a, "head_hash")) + "</span>.</p>\n";
  h += "<p>The records, with every field, are in " + HtmlEscape(FieldText(a, "records_file")) + ".</p>\n";
  h += "<table><tr><th>seq</th><th>at</th><th>actor</th><th>action</th><th>prev_hash</th><th>hash</th></tr>\n";
  for (const AuditRecord& rec : audit)
    h += "<tr><td>" + std::to_string(rec.seq) + "</td><td>" + HtmlEscape(rec.at) + "</td><td>" + HtmlEscape(rec.actor) + "</td><td>" +
         HtmlEscape(rec.action) + "</td><td class=\"hash\">" + HtmlEscape(rec.prev_hash.substr(0, 16)) + "…</td><td class=\"hash\">" +
         HtmlEscape(rec.hash.substr(0, 16)) + "…</td></tr>\n";
  h += "</table>\n";
  h += "</body></html>\n";
  return h;
}

}  // namespace lineup::evidence
