// lineup detect: every face in each photo, as a table, JSON or annotated pictures.
#include <filesystem>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "cli_record.h"
#include "cli_util.h"
#include "commands.h"
#include "lineup/admission.h"
#include "lineup/image.h"
#include "lineup/investigations.h"

namespace lineup::cli {

namespace {
// Green for usable faces, amber for doubtful, red for poor.
cv::Scalar QualityColour(float q) {
  if (q >= 0.5f) return {60, 190, 60};
  if (q >= 0.2f) return {0, 170, 255};
  return {40, 40, 230};
}

cv::Mat Draw(const cv::Mat& photo, const std::vector<Face>& faces, const std::vector<Face>& set_aside) {
  cv::Mat out = photo.clone();
  const double s = std::max(1.0, std::max(photo.cols, photo.rows) / 900.0);
  const int thick = std::max(1, static_cast<int>(std::lround(2 * s)));
  // Detections set aside (no face in the photo reached the confidence a face needs):
  // thin grey boxes, labelled with their confidence only.
  for (const Face& f : set_aside) {
    cv::rectangle(out, cv::Rect(f.box), {160, 160, 160}, std::max(1, thick / 2), cv::LINE_AA);
    const std::string label = Fmt("set aside %.2f", f.confidence);
    cv::putText(out, label, {static_cast<int>(f.box.x) + 2, static_cast<int>(f.box.y + f.box.height) - 4},
                cv::FONT_HERSHEY_SIMPLEX, 0.4 * s, {200, 200, 200}, std::max(1, thick / 2), cv::LINE_AA);
  }
  for (size_t i = 0; i < faces.size(); ++i) {
    const Face& f = faces[i];
    cv::Scalar c = QualityColour(f.quality.score);
    cv::rectangle(out, cv::Rect(f.box), c, thick, cv::LINE_AA);
    for (const auto& p : f.five) cv::circle(out, p, std::max(2, thick + 1), {255, 255, 0}, cv::FILLED, cv::LINE_AA);
    // Small faces get only their number, so that a crowd stays readable; the table
    // and --json carry the rest.
    const bool compact = f.box.height < 60 * s;
    std::string label = Fmt("#%.0f", double(i + 1));
    if (!compact) {
      label += Fmt(" q%.2f", f.quality.score);
      if (!f.quality.reasons.empty()) label.append(" ").append(Reasons(f.quality));
    }
    double fs = (compact ? 0.35 : 0.45) * s;
    int base = 0;
    cv::Size ts = cv::getTextSize(label, cv::FONT_HERSHEY_SIMPLEX, fs, thick, &base);
    cv::Point org(static_cast<int>(f.box.x), std::max(ts.height + 4, static_cast<int>(f.box.y) - 4));
    cv::rectangle(out, cv::Rect(org.x, org.y - ts.height - 3, ts.width + 4, ts.height + base + 4), c, cv::FILLED);
    cv::putText(out, label, {org.x + 2, org.y}, cv::FONT_HERSHEY_SIMPLEX, fs, {255, 255, 255}, thick, cv::LINE_AA);
  }
  return out;
}
}  // namespace

const Command kDetectCommand = {
    .name = "detect",
    .summary = "every face: box, five landmarks, confidence, quality and its reasons",
    .usage = {"detect PHOTO... [--draw OUT.png|DIR] [--min-face PX] [--min-photo-confidence C] [--json]"},
    .options = {{"--draw", "OUT.png|DIR",
                 "also write the photo with the faces drawn on it (a folder for several photos)"},
                kCaseOption,
                kJustificationOption,
                kGalleryOption,
                kJsonOption},
    .examples = {"lineup detect samples/sample1.jpg",
                 "lineup detect samples/sample1.jpg samples/sample2.jpg --draw out/faces"},
    .notes =
        "Exit code 1 if no photo has a face. With --json, a photo that cannot be read has an\n"
        "\"error\" of its own in the list. \"gallery\" says whether each face would be admitted to a\n"
        "gallery (docs/accuracy.md, \"Junk faces\"). Each photo is recorded in the audit log of the\n"
        "gallery (--gallery, $LINEUP_GALLERY or ./lineup-data if there is one) as cli:<user>.",
    .reads_photos = true,
};

int CmdDetect(int argc, char** argv) {
  auto args = ParseArgs(argc, argv, kDetectCommand);
  if (!args.ok()) return Fail(args.status());
  if (args->positional.empty()) return Misuse(kDetectCommand, "detect needs at least one photo");
  auto opts = AnalyzerOptionsFrom(*args);
  if (!opts.ok()) return Fail(opts.status());
  const std::string draw = args->Get("--draw");
  const bool draw_dir = !draw.empty() && (args->positional.size() > 1 || std::filesystem::is_directory(draw));
  if (draw_dir) std::filesystem::create_directories(draw);
  auto record = OpenCliRecord(*args, false);
  if (!record.ok()) return Fail(record.status());
  auto analyzer = FaceAnalyzer::Create(*opts);
  if (!analyzer.ok()) return Fail(analyzer.status());
  Calibration none;  // detection decides nothing about identity
  InvestigationsOptions io;
  io.decode = opts->decode;
  Investigations inv(nullptr, record->cases.get(), record->audit.get(), none, io);
  const AdmissionRules admission;

  nlohmann::json photos = nlohmann::json::array();
  int code = kExitOk;
  bool any_face = false;
  Table table({"photo", "face", "box (x,y,w,h)", "conf", "quality", "reasons", "gallery"});
  for (const auto& path : args->positional) {
    nlohmann::json pj;
    pj["path"] = path;
    auto bytes = ReadFileBytes(path, opts->decode.max_bytes);
    DetectRequest req;
    req.case_id = record->case_id;
    req.justification = record->justification;
    Result<DetectResult> d = Status::Internal("unset");
    if (bytes.ok()) {
      req.photo.photo = std::move(*bytes);
      req.photo.name = path;
      d = inv.Detect(CliPrincipal(), req, **analyzer);
    }
    const Status problem = bytes.ok() ? d.status() : bytes.status();
    if (!problem.ok()) {
      // A photo that cannot be read is this photo's problem; anything else stops here.
      if (problem.code() != Status::Code::kInvalidArgument && problem.code() != Status::Code::kNotFound &&
          problem.code() != Status::Code::kIOError)
        return Fail(problem);
      pj["error"] = problem.message();
      photos.push_back(pj);
      if (!args->Has("--json")) std::fprintf(stderr, "lineup: %s\n", problem.message().c_str());
      code = kExitBad;
      continue;
    }
    const std::vector<Face>& faces = d->photo.faces;
    pj["width"] = d->photo.width;
    pj["height"] = d->photo.height;
    pj["format"] = d->format;
    pj["image_sha256"] = d->photo.sha256;
    pj["faces"] = nlohmann::json::array();
    for (size_t i = 0; i < faces.size(); ++i) {
      const Face& f = faces[i];
      // Whether the face could enter a gallery; the embedding network's certainty is not
      // measured here (no embedding), so that rule is not applied.
      const std::string left_out = JoinReasons(AdmissionFailures(f, admission));
      nlohmann::json fj = FaceJson(f);
      fj["gallery"] = left_out.empty() ? nlohmann::json("admitted") : nlohmann::json("left out: " + left_out);
      pj["faces"].push_back(fj);
      table.Add({i == 0 ? path : "", Fmt("#%.0f", double(i + 1)), BoxText(f.box), Fmt("%.2f", f.confidence),
                 Fmt("%.2f", f.quality.score), Reasons(f.quality), left_out.empty() ? "admitted" : "left out: " + left_out});
    }
    if (faces.empty())
      table.Add({path, "-", "no face found", "", "",
                 d->set_aside.empty() ? ""
                                      : Fmt("none of %.0f detection(s) reaches ", double(d->set_aside.size())) +
                                            Fmt("%.2f", opts->photo_min_confidence),
                 ""});
    if (!d->set_aside.empty()) {
      pj["set_aside"] = nlohmann::json::array();
      for (const Face& f : d->set_aside) {
        pj["set_aside"].push_back(
            {{"box", BoxJson(f.box)}, {"confidence", std::round(double{f.confidence} * 1000) / 1000}});
        table.Add({"", "set aside", BoxText(f.box), Fmt("%.2f", f.confidence), "", "set aside: not taken for a face", ""});
      }
    }
    any_face |= !faces.empty();
    if (!draw.empty()) {
      std::string out = draw;
      if (draw_dir) out = (std::filesystem::path(draw) / (std::filesystem::path(path).stem().string() + ".png")).string();
      if (!cv::imwrite(out, Draw(d->image, faces, d->set_aside)))
        return Fail(Status::IOError(out + ": cannot write picture"));
      pj["drawing"] = out;
    }
    pj["audit_seq"] = d->audit_seq ? nlohmann::json(d->audit_seq) : nlohmann::json(nullptr);
    photos.push_back(pj);
  }
  if (args->Has("--json")) {
    std::printf("%s\n", nlohmann::json{{"photos", photos}}.dump(2).c_str());
  } else {
    if (any_face || code == kExitOk) table.Print();
    for (const auto& p : photos)
      if (p.contains("drawing")) std::printf("drawing: %s\n", p["drawing"].get<std::string>().c_str());
    if (!record->audit) std::printf("not recorded: no gallery here to keep an audit record (--gallery DIR)\n");
  }
  if (code != kExitOk) return code;
  return any_face ? kExitOk : kExitNo;
}

}  // namespace lineup::cli
