#include "search_report.h"

#include <openssl/evp.h>

#include <ctime>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "cli_util.h"
#include "lineup/differentials.h"
#include "lineup/html_text.h"
#include "lineup/image.h"

namespace lineup::cli {

namespace {
// The face with some context, as a JPEG data URI; "" if the photo cannot be read.
std::string FaceDataUri(const std::string& photo_path, const cv::Rect2f& box) {
  auto img = ReadImage(photo_path);
  if (!img.ok()) return "";
  const float m = 0.3f * std::max(box.width, box.height);
  cv::Rect r = cv::Rect(cv::Rect2f(box.x - m, box.y - m, box.width + 2 * m, box.height + 2 * m)) &
               cv::Rect(0, 0, img->bgr.cols, img->bgr.rows);
  if (r.empty()) return "";
  cv::Mat crop;
  const double s = 200.0 / r.height;
  cv::resize(img->bgr(r), crop, cv::Size(), s, s, s < 1 ? cv::INTER_AREA : cv::INTER_CUBIC);
  std::vector<uchar> jpg;
  if (!cv::imencode(".jpg", crop, jpg, {cv::IMWRITE_JPEG_QUALITY, 88})) return "";
  std::string b64(4 * ((jpg.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()), jpg.data(), static_cast<int>(jpg.size()));
  b64.resize(static_cast<size_t>(n));
  return "data:image/jpeg;base64," + b64;
}

// A stored thumbnail as a data URI, "" if unreadable.
std::string FileDataUri(const std::string& path) {
  auto bytes = ReadFileBytes(path, 8 << 20);
  if (!bytes.ok()) return "";
  std::string b64(4 * ((bytes->size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()),
                          reinterpret_cast<const unsigned char*>(bytes->data()), static_cast<int>(bytes->size()));
  b64.resize(static_cast<size_t>(n));
  return "data:image/jpeg;base64," + b64;
}

std::string Picture(const std::string& uri, const std::string& alt) {
  if (uri.empty()) return "<div class=missing>photo not available</div>";
  return "<img src=\"" + uri + "\" alt=\"" + HtmlEscape(alt) + "\">";
}
std::string JpegDataUri(const cv::Mat& bgr) {
  std::vector<uchar> jpg;
  if (bgr.empty() || !cv::imencode(".jpg", bgr, jpg, {cv::IMWRITE_JPEG_QUALITY, 85})) return "";
  std::string b64(4 * ((jpg.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()), jpg.data(), static_cast<int>(jpg.size()));
  b64.resize(static_cast<size_t>(n));
  return "data:image/jpeg;base64," + b64;
}

// The whole probe photo, at most 900 px wide, with every face boxed and numbered as the
// command line numbers them (--face N); the searched face in blue, the others in grey.
std::string OverviewDataUri(const std::string& photo_path, const ProbeReport& p) {
  auto img = ReadImage(photo_path);
  if (!img.ok()) return "";
  cv::Mat view;
  const double s = std::min(1.0, 900.0 / std::max(img->bgr.cols, 1));
  cv::resize(img->bgr, view, cv::Size(), s, s, cv::INTER_AREA);
  for (size_t i = 0; i < p.faces.size(); ++i) {
    const bool searched = static_cast<int>(i) == p.searched;
    const cv::Scalar colour = searched ? cv::Scalar(200, 90, 0) : cv::Scalar(170, 170, 170);
    const cv::Rect2f& b = p.faces[i].box;
    cv::Rect r(cv::Point(static_cast<int>(b.x * s), static_cast<int>(b.y * s)),
               cv::Size(std::max(1, static_cast<int>(b.width * s)), std::max(1, static_cast<int>(b.height * s))));
    cv::rectangle(view, r, colour, searched ? 3 : 2, cv::LINE_AA);
    const std::string label = std::to_string(i + 1);
    int base = 0;
    const cv::Size ts = cv::getTextSize(label, cv::FONT_HERSHEY_SIMPLEX, 0.6, 2, &base);
    const cv::Point org(r.x, std::max(ts.height + 4, r.y - 4));
    cv::rectangle(view, cv::Rect(org.x, org.y - ts.height - 3, ts.width + 6, ts.height + base + 4), colour, cv::FILLED);
    cv::putText(view, label, {org.x + 3, org.y}, cv::FONT_HERSHEY_SIMPLEX, 0.6, {255, 255, 255}, 2, cv::LINE_AA);
  }
  return JpegDataUri(view);
}

std::string Percent(double p) {
  if (p >= 0.1) return Fmt("%.0f%%", p * 100);
  if (p >= 0.001) return Fmt("%.2g%%", p * 100);
  return "1 in " + Fmt("%.0f", 1 / p);
}

// The differentials table of the calibration (at its FMR 1e-3..1e-5 thresholds and this
// decision's), or "" without group curves: the same tables as an evidence bundle's report.
std::string DifferentialsSection(const Calibration* calibration, float threshold) {
  if (!calibration) return "";
  auto table = DifferentialsTable(*calibration, {{threshold, "this decision"}});
  if (!table.ok()) return "";
  auto people = DifferentialsForReaders(*table);
  if (!people.ok()) return "";
  return "<h2 id=differentials>Demographic differentials of the model</h2>" + DifferentialsHtml(*people);
}

}  // namespace

Status WriteSearchReport(const std::string& path, const SearchResult& r, const std::string& probe_path,
                         const std::function<std::string(int64_t)>& thumbnail_of, const Calibration* calibration) {
  std::string h;
  h += "<!doctype html><html lang=en><meta charset=utf-8><title>Lineup search report</title><style>"
       "body{font:15px/1.4 system-ui,sans-serif;margin:24px;color:#222;background:#fafafa}"
       ".lead{background:#fff3cd;border:2px solid #e0a800;padding:12px 16px;font-weight:600;margin-bottom:16px}"
       ".warn{background:#f8d7da;border:2px solid #c82333;padding:12px 16px;font-weight:700;margin-bottom:16px}"
       ".probe,.card{background:#fff;border:1px solid #ccc;border-radius:6px;padding:10px;display:inline-block;"
       "vertical-align:top;margin:6px;width:230px}.probe{border:2px solid #0056b3}"
       ".card.isLead{border:2px solid #198754}"
       ".rank{font-size:13px;font-weight:700;color:#fff;background:#555;border-radius:4px;padding:1px 7px;"
       "display:inline-block;margin-bottom:4px}.isLead .rank{background:#198754}"
       "img{height:200px;max-width:220px;display:block;margin:auto}img.overview{height:auto;max-width:100%}"
       ".missing{height:200px;line-height:200px;text-align:center;color:#888;background:#eee}"
       ".score{font-size:20px;font-weight:700}.below{opacity:.55}.small{font-size:12px;color:#555;"
       "word-break:break-all}table{border-collapse:collapse}td{padding:2px 8px 2px 0;vertical-align:top}"
       "table.differentials-pairs,table.differentials-rates{margin:6px 0 10px}"
       ".differentials-pairs td,.differentials-pairs th,.differentials-rates td,.differentials-rates th{border:1px solid "
       "#ccc;padding:3px 8px;text-align:left}"
       ".differentials{background:#eef4fb;border:1px solid #6c8ebf;padding:8px 12px;margin:8px 0}</style><body>";
  h += "<h1>Lineup search report</h1>";
  h += "<div class=lead>Every candidate below is an investigative lead for human review, never an identification. "
       "A similarity score says how alike two faces look to a model that makes mistakes; confirm with other "
       "evidence before acting.</div>";
  for (const auto& w : r.warnings) h += "<div class=warn>" + HtmlEscape(w) + "</div>";
  char when[32];
  std::time_t now = std::time(nullptr);
  std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", std::gmtime(&now));
  h += "<table><tr><td>made</td><td>" + std::string(when) + "</td></tr>";
  if (r.case_id > 0) h += "<tr><td>case</td><td>" + std::to_string(r.case_id) + (r.search_id ? ", search " + std::to_string(r.search_id) : "") + "</td></tr>";
  if (!r.justification.empty()) h += "<tr><td>justification</td><td>" + HtmlEscape(r.justification) + "</td></tr>";
  if (r.audit_seq > 0) h += "<tr><td>audit record</td><td>" + std::to_string(r.audit_seq) + "</td></tr>";
  h += "<tr><td>gallery</td><td>" + std::to_string(r.gallery_size) + " faces</td></tr><tr><td>decision</td><td>" +
       HtmlEscape(r.threshold.Describe()) + "</td></tr><tr><td>model</td><td>" + HtmlEscape(r.model) +
       "</td></tr><tr><td>calibration</td><td>" + HtmlEscape(r.calibration) + " (SHA-256 " +
       HtmlEscape(r.calibration_sha256.substr(0, 16)) + "&hellip;)</td></tr>"
       "<tr><td>FPIR</td><td>the estimated chance that a search of this gallery size returns a "
       "non-matching face at this score or higher: 1 &minus; (1 &minus; FMR(score))<sup>N</sup></td></tr>" +
       std::string(r.ranked_by_cohort
                       ? "<tr><td>order</td><td>by similarity relative to how similar each face is to everyone in the "
                         "gallery, so a face that resembles many people can be listed below a lower score</td></tr>"
                       : "<tr><td>order</td><td>by similarity</td></tr>") +
       "</table>";
  if (const std::string d = DifferentialsText(r.threshold); !d.empty())
    h += "<p class=differentials id=differentials-statement>" + HtmlEscape(d) +
         (calibration ? " <a href=\"#differentials\">The full table</a>." : "") + "</p>";
  h += "<h2>Probe</h2>";
  if (!probe_path.empty() && r.probe.faces.size() > 1) {
    h += "<p>" + std::to_string(r.probe.faces.size()) + " faces in the photo; face " +
         std::to_string(r.probe.searched + 1) +
         " (blue) was searched. Search another with <code>--face N</code>.</p>";
    h += Picture(OverviewDataUri(probe_path, r.probe), "the probe photo with its faces numbered");
    h.insert(h.rfind("<img ") + 4, " class=overview");
  }
  h += "<div class=probe>";
  if (!probe_path.empty() && r.probe.searched >= 0) {
    h += Picture(FaceDataUri(probe_path, r.probe.faces[static_cast<size_t>(r.probe.searched)].box), "probe face");
    h += "<div>face " + std::to_string(r.probe.searched + 1) + " &middot; quality " + Fmt("%.2f", r.probe.quality);
    for (const auto& q : r.probe.quality_reasons) h += " &middot; " + HtmlEscape(q);
    h += "</div><div class=small>" + HtmlEscape(probe_path) + "<br>SHA-256 " + HtmlEscape(r.probe.sha256.substr(0, 16)) +
         "&hellip;</div>";
  } else {
    h += "<div class=missing>search by vector</div>";
  }
  h += "</div><h2>Candidates</h2>";
  if (r.leads.empty()) h += "<p>No candidate at or above the threshold.</p>";
  for (const auto& l : r.leads) {
    const Candidate& c = l.candidate;
    h += std::string("<div class=\"card") + (l.above_threshold ? " isLead" : " below") + "\">";
    h += "<span class=rank>#" + std::to_string(l.rank) + (l.above_threshold ? " lead" : "") + "</span>";
    // The gallery's own thumbnail first: the original file may have moved or be gone.
    const std::string thumb = thumbnail_of ? thumbnail_of(c.face_id) : "";
    std::string pic = thumb.empty() ? "" : FileDataUri(thumb);
    if (pic.empty()) pic = FaceDataUri(c.image.uri, c.face.box);
    h += Picture(pic, "candidate face " + std::to_string(c.face_id));
    h += "<div class=score>" + Fmt("%.4f", c.score) + "</div>";
    h += "<div>FPIR " + Percent(l.fpir) +
         (l.above_threshold ? "" : l.withheld.empty() ? " &middot; below threshold" : " &middot; withheld") + "</div>";
    if (!l.withheld.empty()) h += "<div class=small>withheld: " + HtmlEscape(l.withheld) + "</div>";
    h += "<div>quality " + Fmt("%.2f", c.face.quality);
    for (const auto& q : c.face.quality_reasons) h += " &middot; " + HtmlEscape(q);
    h += "</div>";
    if (!c.subject.empty()) h += "<div>subject: <b>" + HtmlEscape(c.subject) + "</b></div>";
    h += "<div class=small>source <b>" + HtmlEscape(c.source.name) + "</b> (legal basis: " + HtmlEscape(c.source.legal_basis) +
         ")<br>" + HtmlEscape(c.image.uri) + (c.image.captured_at.empty() ? "" : "<br>taken " + HtmlEscape(c.image.captured_at)) +
         "<br>face " + std::to_string(c.face_id) + ", SHA-256 " +
         HtmlEscape(c.image.sha256.substr(0, 16)) + "&hellip;</div></div>";
  }
  h += DifferentialsSection(calibration, r.threshold.threshold);
  h += "</body></html>\n";
  std::ofstream out(path + ".tmp", std::ios::binary);
  out << h;
  out.close();
  if (!out || std::rename((path + ".tmp").c_str(), path.c_str()) != 0) return Status::IOError(path + ": cannot write");
  return Status::OK();
}

}  // namespace lineup::cli
