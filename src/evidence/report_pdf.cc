// report.pdf of an evidence bundle (report.h): cairo's PDF surface, text by pango, so
// that any script a name or note is written in is laid out properly; face crops are
// embedded as the JPEG files they are (cairo's mime data), not re-encoded.
#include <cairo-pdf.h>
#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <pango/pangocairo.h>
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "evidence/bundle_files.h"
#include "evidence/report.h"
#include "lineup/differentials.h"

namespace lineup::evidence {

using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr double kPageW = 595.28, kPageH = 841.89;  // A4 in points
constexpr double kMargin = 48, kFooter = 40;

// fontconfig's configuration, loaded once for the process in the first report's thread,
// before pango would load it in a thread of its own. fontconfig 2.14 loses 288 bytes
// while it parses the system's configuration, once: not ours to free, so the sanitizer
// build does not count what is allocated while loading it (every other allocation of the
// reports is checked).
void LoadFontConfiguration() {
  static const bool loaded = [] {
#if defined(__SANITIZE_ADDRESS__)
    __lsan::ScopedDisabler fontconfig_loading;
#endif
    return FcInit() == FcTrue;
  }();
  (void)loaded;
}

std::string Esc(const std::string& s) {
  char* e = g_markup_escape_text(s.c_str(), static_cast<gssize>(s.size()));
  std::string out(e);
  g_free(e);
  return out;
}

// Writes pages top to bottom; starts a new page when the next block does not fit, and
// gives every page the footer with the notice.
class PdfPages {
 public:
  PdfPages(const std::string& path, std::string footer) : footer_(std::move(footer)) {
    surface_ = cairo_pdf_surface_create(path.c_str(), kPageW, kPageH);
    cr_ = cairo_create(surface_);
    // A font map of this report's own rather than pango's default one, which lives for
    // the thread (every server worker that exported would keep one) and whose caches are
    // never freed: this one and everything it cached go with the report.
    LoadFontConfiguration();
    font_map_ = pango_cairo_font_map_new();
    context_ = pango_font_map_create_context(font_map_);
    cairo_pdf_surface_set_metadata(surface_, CAIRO_PDF_METADATA_CREATOR, "Lineup");
    StartPage();
  }
  ~PdfPages() {
    cairo_destroy(cr_);
    cairo_surface_destroy(surface_);
    g_object_unref(context_);
    g_object_unref(font_map_);
  }
  Status Finish() {
    cairo_show_page(cr_);
    cairo_surface_finish(surface_);
    const cairo_status_t st = cairo_surface_status(surface_);
    if (st != CAIRO_STATUS_SUCCESS) return Status::IOError(std::string("cannot write the PDF: ") + cairo_status_to_string(st));
    return Status::OK();
  }
  void SetTitle(const std::string& title) { cairo_pdf_surface_set_metadata(surface_, CAIRO_PDF_METADATA_TITLE, title.c_str()); }

  // Pango markup in a column `width` wide at x (from the left margin); returns its height.
  double Text(const std::string& markup, double x, double width, double size, bool draw = true, double at_y = -1) {
    pango_cairo_update_context(cr_, context_);
    PangoLayout* layout = pango_layout_new(context_);
    PangoFontDescription* font = pango_font_description_from_string("DejaVu Sans");
    pango_font_description_set_absolute_size(font, size * PANGO_SCALE);
    pango_layout_set_font_description(layout, font);
    pango_layout_set_width(layout, static_cast<int>(width * PANGO_SCALE));
    pango_layout_set_wrap(layout, PANGO_WRAP_WORD_CHAR);
    pango_layout_set_markup(layout, markup.c_str(), -1);
    int w = 0, h = 0;
    pango_layout_get_size(layout, &w, &h);
    if (draw) {
      cairo_move_to(cr_, kMargin + x, at_y >= 0 ? at_y : y_);
      cairo_set_source_rgb(cr_, 0, 0, 0);
      pango_cairo_show_layout(cr_, layout);
    }
    pango_font_description_free(font);
    g_object_unref(layout);
    return static_cast<double>(h) / PANGO_SCALE;
  }
  // A paragraph across the page, then the cursor below it.
  void Para(const std::string& markup, double size = 9.5, double gap = 4) {
    const double h = Text(markup, 0, Width(), size, false);
    Need(h);
    Text(markup, 0, Width(), size);
    y_ += h + gap;
  }
  // `anchor`: a name links (Field's `link`) lead to.
  void Heading(const std::string& text, double size, const std::string& anchor = "") {
    Need(size * 3);
    y_ += size * 0.6;
    if (!anchor.empty()) cairo_tag_begin(cr_, CAIRO_TAG_DEST, ("name='" + anchor + "'").c_str());
    Para("<b>" + Esc(text) + "</b>", size, 2);
    if (!anchor.empty()) cairo_tag_end(cr_, CAIRO_TAG_DEST);
    cairo_set_line_width(cr_, 0.5);
    cairo_move_to(cr_, kMargin, y_);
    cairo_line_to(cr_, kPageW - kMargin, y_);
    cairo_stroke(cr_);
    y_ += 4;
  }
  // Label: value rows. With `link`, the value links to the Heading of that anchor.
  void Field(const std::string& label, const std::string& value_markup, const std::string& link = "") {
    const double lw = 120, h = std::max(Text(value_markup, lw, Width() - lw, 9, false), 11.0);
    Need(h);
    Text("<b>" + Esc(label) + "</b>", 0, lw - 6, 9);
    if (!link.empty()) cairo_tag_begin(cr_, CAIRO_TAG_LINK, ("dest='" + link + "'").c_str());
    Text(value_markup, lw, Width() - lw, 9);
    if (!link.empty()) cairo_tag_end(cr_, CAIRO_TAG_LINK);
    y_ += h + 2;
  }
  // A table across the page: the headings in bold on grey, then the rows, each kept whole
  // on one page; a page that a table continues on repeats its headings. `widths`: each
  // column's share of the page's width.
  void Table(const TextTable& t, const std::vector<double>& widths, double size = 8) {
    constexpr double pad = 2.5;
    auto column_x = [&](size_t i) {
      double x = 0;
      for (size_t k = 0; k < i; ++k) x += widths[k] * Width();
      return x;
    };
    auto cell = [](const std::string& text, bool head) { return head ? "<b>" + Esc(text) + "</b>" : Esc(text); };
    auto height = [&](const std::vector<std::string>& cells, bool head) {
      double h = 0;
      for (size_t i = 0; i < cells.size() && i < widths.size(); ++i)
        h = std::max(h, Text(cell(cells[i], head), column_x(i) + pad, widths[i] * Width() - 2 * pad, size, false));
      return h + 2 * pad;
    };
    auto draw = [&](const std::vector<std::string>& cells, bool head) {
      const double h = height(cells, head);
      if (head) {
        cairo_set_source_rgb(cr_, 0.92, 0.92, 0.92);
        cairo_rectangle(cr_, kMargin, y_, Width(), h);
        cairo_fill(cr_);
      }
      cairo_set_source_rgb(cr_, 0.6, 0.6, 0.6);
      cairo_set_line_width(cr_, 0.4);
      for (size_t i = 0; i < widths.size(); ++i) {
        cairo_rectangle(cr_, kMargin + column_x(i), y_, widths[i] * Width(), h);
        cairo_stroke(cr_);
        if (i < cells.size()) Text(cell(cells[i], head), column_x(i) + pad, widths[i] * Width() - 2 * pad, size, true, y_ + pad);
      }
      y_ += h;
    };
    Need(height(t.columns, true) + (t.rows.empty() ? 0 : height(t.rows.front(), false)));
    draw(t.columns, true);
    for (const auto& row : t.rows) {
      const int page = page_;
      Need(height(row, false));
      if (page_ != page) draw(t.columns, true);
      draw(row, false);
    }
    y_ += 6;
  }
  // A block with an image of `img_h` points on the left and text beside it.
  void ImageBlock(const std::string& image_path, double img_h, const std::string& markup) {
    const double iw = img_h * 0.85, tx = iw + 10;
    const double h = std::max(img_h, Text(markup, tx, Width() - tx, 8.5, false)) + 6;
    Need(h);
    DrawImage(image_path, kMargin, y_, iw, img_h);
    Text(markup, tx, Width() - tx, 8.5);
    y_ += h;
    cairo_set_source_rgb(cr_, 0.75, 0.75, 0.75);
    cairo_set_line_width(cr_, 0.3);
    cairo_move_to(cr_, kMargin, y_ - 3);
    cairo_line_to(cr_, kPageW - kMargin, y_ - 3);
    cairo_stroke(cr_);
  }
  double Width() const { return kPageW - 2 * kMargin; }

 private:
  void Need(double h) {
    if (y_ + h > kPageH - kMargin - kFooter && y_ > kMargin + 1) {
      cairo_show_page(cr_);
      StartPage();
    }
  }
  void StartPage() {
    ++page_;
    y_ = kMargin;
    // The footer: the notice on every page, with the page number.
    cairo_set_source_rgb(cr_, 1.0, 0.95, 0.77);
    cairo_rectangle(cr_, kMargin, kPageH - kMargin - 14, Width(), 26);
    cairo_fill(cr_);
    Text("<b>" + Esc(footer_) + "</b>  page " + std::to_string(page_), 6, Width() - 12, 8.5, true, kPageH - kMargin - 10);
  }
  // The JPEG at `path` in a w x h box (aspect kept), or an empty frame if it cannot be read.
  void DrawImage(const std::string& path, double x, double y, double w, double h) {
    cairo_set_source_rgb(cr_, 0.4, 0.4, 0.4);
    cairo_set_line_width(cr_, 0.5);
    auto bytes = path.empty() ? Result<std::string>(Status::NotFound("")) : ReadWholeFile(path, 16 << 20);
    cv::Mat bgr;
    if (bytes.ok())
      bgr = cv::imdecode(cv::Mat(1, static_cast<int>(bytes->size()), CV_8U, bytes->data()), cv::IMREAD_COLOR);
    if (bgr.empty()) {
      cairo_rectangle(cr_, x, y, w, h);
      cairo_stroke(cr_);
      Text("<i>no image</i>", x - kMargin + 4, w - 8, 7, true, y + h / 2 - 5);
      return;
    }
    cairo_surface_t* img = cairo_image_surface_create(CAIRO_FORMAT_RGB24, bgr.cols, bgr.rows);
    cairo_surface_flush(img);
    unsigned char* data = cairo_image_surface_get_data(img);
    const int stride = cairo_image_surface_get_stride(img);
    for (int r = 0; r < bgr.rows; ++r) {
      const unsigned char* src = bgr.ptr<unsigned char>(r);
      uint32_t* dst = reinterpret_cast<uint32_t*>(data + r * stride);
      for (int c = 0; c < bgr.cols; ++c)
        dst[c] = (uint32_t{src[3 * c + 2]} << 16) | (uint32_t{src[3 * c + 1]} << 8) | src[3 * c];
    }
    cairo_surface_mark_dirty(img);
    // The PDF embeds the JPEG's own bytes where cairo can (a baseline JPEG).
    if (bytes->size() > 2 && static_cast<unsigned char>((*bytes)[0]) == 0xFF) {
      auto* copy = static_cast<unsigned char*>(std::malloc(bytes->size()));
      if (copy) {
        std::memcpy(copy, bytes->data(), bytes->size());
        cairo_surface_set_mime_data(img, CAIRO_MIME_TYPE_JPEG, copy, bytes->size(), std::free, copy);
      }
    }
    const double s = std::min(w / bgr.cols, h / bgr.rows);
    cairo_save(cr_);
    cairo_translate(cr_, x, y);
    cairo_scale(cr_, s, s);
    cairo_set_source_surface(cr_, img, 0, 0);
    cairo_paint(cr_);
    cairo_restore(cr_);
    cairo_surface_destroy(img);
    cairo_rectangle(cr_, x, y, bgr.cols * s, bgr.rows * s);
    cairo_stroke(cr_);
  }

  std::string footer_;
  cairo_surface_t* surface_ = nullptr;
  cairo_t* cr_ = nullptr;
  PangoFontMap* font_map_ = nullptr;
  PangoContext* context_ = nullptr;
  double y_ = kMargin;
  int page_ = 0;
};

std::string Mono(const std::string& s) { return "<span font_family=\"DejaVu Sans Mono\" size=\"small\">" + Esc(s) + "</span>"; }

}  // namespace

Status WriteReportPdf(const json& r, const std::string& bundle_dir, const std::string& pdf_path,
                      const std::vector<AuditRecord>& audit) {
  const json& c = r["case"];
  const std::string case_id = FieldText(c, "id");
  PdfPages pdf(pdf_path, std::string(kLeadsNotice) + " Case " + case_id + ".");
  pdf.SetTitle("Case " + case_id + " evidence: " + FieldText(c, "title"));
  auto file = [&](const json& rel) { return rel.is_string() ? (fs::path(bundle_dir) / rel.get<std::string>()).string() : ""; };

  pdf.Para("<b>Evidence bundle: case " + Esc(case_id) + ", " + Esc(FieldText(c, "title")) + "</b>", 16, 6);
  pdf.Para("<b>" + Esc(FieldText(r, "notice")) + "</b>", 10, 8);
  pdf.Field("Authority", Esc(FieldText(c, "authority")));
  pdf.Field("Status", Esc(FieldText(c, "status")) + (FieldText(c, "closed_at").empty() ? "" : " (closed by " + Esc(FieldText(c, "closed_by")) +
                                                                                   " at " + Esc(FieldText(c, "closed_at")) + ")"));
  pdf.Field("Opened", Esc(FieldText(c, "created_by")) + " at " + Esc(FieldText(c, "created_at")));
  std::string members;
  for (const json& m : c["members"]) members += (members.empty() ? "" : ", ") + (m.is_string() ? m.get<std::string>() : "");
  pdf.Field("Members", Esc(members));
  const json& ex = r["export"];
  pdf.Field("Exported", Esc(FieldText(ex, "by") + " at " + FieldText(ex, "at") + (FieldText(ex, "justification").empty() ? "" : ": " + FieldText(ex, "justification"))));
  pdf.Field("Signing key", "Ed25519, fingerprint " + Mono(FieldText(r["signing_key"], "fingerprint")) + "\npublic key " +
                               Mono(FieldText(r["signing_key"], "public_key")));
  pdf.Field("Model", Mono(FieldText(r, "model")));
  const json& cal = r["calibration"];
  pdf.Field("Calibration", Esc(FieldText(cal, "file")) + "\nSHA-256 " + Mono(FieldText(cal, "sha256")) + "\nmeasured on " + Esc(FieldText(cal, "dataset")));
  pdf.Para("Every file of this bundle is listed with its SHA-256 in manifest.json, signed in manifest.sig. "
           "<tt>lineup evidence verify FOLDER --key PUBLIC_KEY</tt> checks that nothing was changed, added or removed.",
           9, 6);

  for (const json& s : r["searches"]) {
    pdf.Heading("Search " + FieldText(s, "id") + ": " + FieldText(s, "at") + " by " + FieldText(s, "user"), 12);
    pdf.Field("Justification", Esc(FieldText(s, "justification")));
    const json& p = s["probe"];
    std::string probe = Esc(FieldText(s, "kind")) + (FieldText(p, "name").empty() ? "" : " " + Esc(FieldText(p, "name"))) +
                        (p.is_object() && p.contains("searched_face") ? ", face " + FieldText(p, "searched_face") : "") +
                        (p.is_object() && p.contains("quality") ? ", quality " + FieldText(p, "quality") : "") +
                        "\nSHA-256 " + Mono(FieldText(s, "probe_sha256"));
    if (s["probe_photo"].is_string()) probe += "\nprobe photo kept: " + Esc(FieldText(s, "probe_photo"));
    const json& d = s["decision"];
    char thr[32];
    std::snprintf(thr, sizeof thr, "threshold %.4f", FieldNumber(s, "threshold"));
    probe += "\n<b>Decision:</b> " + Esc(d.is_object() ? FieldText(d, "text") : std::string(thr));
    const json& sc = s["calibration"];
    probe += "\nModel " + Mono(FieldText(s, "model")) + "\nCalibration " + Esc(FieldText(sc, "file")) + " SHA-256 " + Mono(FieldText(sc, "sha256"));
    if (!s.value("calibration_same_as_bundle", false)) probe += "\n<b>not the calibration in this bundle</b>";
    pdf.ImageBlock(file(s["probe_crop"]), 90, "<b>Probe (the searched face)</b>\n" + probe);
    const json& e = s["error_rates"];
    std::string rates = "false match rate per comparison " + Percent(FieldNumber(e, "fmr_per_comparison")) +
                        "; false non-match rate " + Percent(FieldNumber(e, "fnmr_per_comparison")) +
                        "; FPIR of a search of " + FieldText(e, "gallery_size") + " faces " + Percent(FieldNumber(e, "fpir_for_gallery_size"));
    if (d.is_object() && d.contains("group_fpir") && d["group_fpir"].is_object() && !d["group_fpir"].empty()) {
      rates += "\nFPIR by group of the probe (measured searches):";
      for (const auto& [g, f] : d["group_fpir"].items())
        rates += " " + Esc(g) + " " + Percent(f.is_number() ? f.get<double>() : std::nan(""));
    }
    rates += "\n<small>measured on " + Esc(FieldText(e, "measured_on")) + "</small>";
    pdf.Field("Error rates", rates);
    const std::string said = d.is_object() && d.contains("differentials") ? FieldText(d["differentials"], "text") : "";
    if (!said.empty())
      pdf.Field("Demographic differentials",
                Esc(said) + " <span foreground=\"#1a4f9c\"><u>Each group's rates: the section Demographic "
                            "differentials.</u></span>",
                "differentials");
    for (const json& w : s["warnings"]) pdf.Field("Warning", Esc(w.is_string() ? w.get<std::string>() : w.dump()));
    if (s["candidates"].empty()) pdf.Para("<i>No candidate was shown.</i>");
    for (const json& cand : s["candidates"]) {
      char head[160];
      std::snprintf(head, sizeof head, "<b>Candidate %s</b>: face %s, score %.4f, FPIR %s, ", FieldText(cand, "rank").c_str(),
                    FieldText(cand, "face_id").c_str(), FieldNumber(cand, "score"), cand.contains("fpir") ? Percent(FieldNumber(cand, "fpir")).c_str() : "-");
      std::string t = head;
      if (cand.contains("withheld") && cand["withheld"].is_string()) t += "withheld: " + Esc(FieldText(cand, "withheld"));
      else t += cand.value("above_threshold", false) ? "<b>lead</b>" : "below threshold";
      if (cand.contains("source")) {
        t += "\nSource " + Esc(FieldText(cand["source"], "name")) + "; legal basis: " + Esc(FieldText(cand["source"], "legal_basis"));
        if (cand.contains("image"))
          t += "\nPhoto " + Esc(FieldText(cand["image"], "uri")) + "\nSHA-256 " + Mono(FieldText(cand["image"], "sha256"));
        if (!FieldText(cand, "subject").empty()) t += "\nEnrolled as " + Esc(FieldText(cand, "subject"));
      } else {
        t += "\n" + Esc(FieldText(cand, "provenance_note"));
      }
      if (!FieldText(cand, "crop_note").empty()) t += "\n" + Esc(FieldText(cand, "crop_note"));
      bool reviewed = false;
      for (const json& x : cand["reviews"]) {
        reviewed = true;
        t += "\n<b>Review:</b> " + Esc(VerdictText(FieldText(x, "verdict"))) + " by " + Esc(FieldText(x, "analyst")) + " (" + Esc(FieldText(x, "at")) + ")";
        if (!FieldText(x, "note").empty()) t += ": " + Esc(FieldText(x, "note"));
        if (x.value("confirmed", false)) t += "; confirmed by " + Esc(FieldText(x, "confirmed_by")) + " (" + Esc(FieldText(x, "confirmed_at")) + ")";
      }
      if (!reviewed) t += "\nNot reviewed.";
      pdf.ImageBlock(file(cand["crop"]), 80, t);
    }
  }

  const json& dd = r["demographic_differentials"];
  pdf.Heading("Demographic differentials", 12, "differentials");
  pdf.Para(Esc(FieldText(dd, "note")));
  if (dd.is_object() && dd.contains("per_group_table") && !dd["per_group_table"].is_null()) {
    auto table = DifferentialsForReaders(dd["per_group_table"]);
    if (table.ok()) {
      pdf.Para(Esc(table->about), 8.5);
      pdf.Table(table->pairs, {0.16, 0.22, 0.32, 0.30});
      pdf.Table(table->rates, {0.27, 0.1, 0.17, 0.17, 0.11, 0.18});
      pdf.Para(Esc(table->intervals), 8.5);
      pdf.Para(Esc(table->source), 7.5);
    } else {
      pdf.Para("The table in case.json cannot be shown: " + Esc(table.status().message()));
    }
  }

  const json& a = r["audit"];
  pdf.Heading("Audit records of the case (" + FieldText(a, "records") + ")", 12);
  pdf.Para("Each record's hash covers its fields and the hash of the record before it in the gallery's whole log (" +
           Esc(FieldText(a, "chain_file")) + " lists them from record " + FieldText(a, "chain_from_seq") + "). The log's head at export "
           "time was record " + FieldText(a, "head_seq") + ", " + Mono(FieldText(a, "head_hash")) + ".");
  for (const AuditRecord& rec : audit)
    pdf.Para(Mono(std::to_string(rec.seq) + "  " + rec.at + "  " + rec.actor + "  " + rec.action + "  " +
                  rec.hash.substr(0, 16) + "…"),
             8, 1);
  return pdf.Finish();
}

}  // namespace lineup::evidence
