// Investigations: the accountable operations on a gallery — search, verify, detect.
//
// Each call is the whole of an accountable act, in one place that the server, the
// command line and (later) a cluster coordinator share: it checks who is asking (role,
// case membership, an open case, a justification), runs the operation, records it in
// the case and writes the audit record, and only then returns the result. If the audit
// record cannot be written, the result is withheld (Unavailable): an unaccountable
// search never reaches anyone. Front ends only parse requests and format results.
//
// Who may do what: an analyst (signed in to the server) works inside an open case they
// belong to and always gives a justification. A local operator (Principal::via "cli":
// someone at the gallery's own machine, who could read its files anyway) may name a case
// and a justification and is recorded as "cli:<user>" whether or not they do.
//
// Every result is a lead for human review, never an identification. A search's default
// decision is a target FPIR for the gallery's size (SearchThreshold); a candidate is
// shown above the threshold only if it is a face the gallery admits (admission.h) and its
// score reaches the threshold; a probe face below the decision quality floor gets no
// decision at all. Thread-safe as far as its parts are: the gallery is only touched
// inside InvestigationsOptions::with_gallery.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lineup/accounts.h"
#include "lineup/admission.h"
#include "lineup/analyzer.h"
#include "lineup/audit_log.h"
#include "lineup/calibration.h"
#include "lineup/cases.h"
#include "lineup/gallery.h"

namespace lineup {

// The default decision of a search: at most this share of searches for someone who is
// not in the gallery may return any candidate above the threshold.
inline constexpr double kDefaultSearchFpir = 0.01;
// The default decision of a verification (one comparison).
inline constexpr double kDefaultVerifyFmr = 1e-3;

// A principal at the gallery's own machine: actor "cli:<user>".
Principal LocalPrincipal(const std::string& unix_user);
// The name of the user running this process ($USER, else the uid).
std::string CurrentUnixUser();

struct InvestigationsOptions {
  // Runs `body` while holding the gallery (a Gallery is used from one thread at a time);
  // returns Unavailable if the gallery is busy beyond the caller's patience. Empty: body
  // runs directly (a single-threaded caller such as the command line).
  std::function<Status(const std::function<Status()>& body)> with_gallery;
  DecodeOptions decode;  // limits for probe photos
  AdmissionRules admission;
};

// Where a request's probe comes from: the bytes of a photo (decoded and analysed here)
// or a vector of the gallery's model.
struct Probe {
  std::string photo;       // encoded image bytes, or empty
  std::string name;        // a file path or an upload's name, for people and records
  std::vector<float> vector;
  std::string vector_model;  // the vector's model id; "" = the gallery's
  int face = 0;              // which face of the photo (1-based); 0: the largest usable
};

// The face a probe photo gave, as reported back (no vector).
struct ProbeReport {
  std::string kind;  // "photo" or "vector"
  std::string name;
  std::string sha256;       // of the photo's bytes
  int width = 0, height = 0;
  std::vector<Face> faces;  // every face found, largest first (embeddings removed)
  int searched = -1;        // index into faces of the one used
  float quality = 1;        // of the face used (1 for a vector)
  float certainty = -1;     // the network's certainty that it is a face (Face::certainty)
  std::vector<std::string> quality_reasons;
};

struct SearchRequest {
  int64_t case_id = 0;  // 0: none (local operators only)
  std::string justification;
  Probe probe;
  int top = 10;
  double fpir = kDefaultSearchFpir;  // the decision: a target FPIR for this gallery's size
  double fmr = 0;                    // > 0: an expert's per-comparison FMR instead
  bool all = false;                  // also return candidates that are not leads
  bool by_subject = false;           // also group known subjects (looks deeper)
  // A search in a case keeps the searched face's crop for the case's evidence export
  // (evidence.h); with this, the probe photo itself too.
  bool keep_probe_photo = false;
};

// One candidate as shown.
struct Lead {
  int rank = 0;  // in the gallery's order (1 = best)
  Candidate candidate;
  double fpir = 0;  // of a candidate scoring this much in a search of this gallery
  // At or above the threshold and shown as a lead (never when `withheld` is set).
  bool above_threshold = false;
  // Why a candidate that scores above the threshold is not a lead: the gallery face
  // fails the admission rules, or the probe is below the decision quality floor.
  std::string withheld;
};

// A known subject among the candidates, scored by their best face.
struct SubjectLead {
  std::string subject;
  size_t best = 0;                 // index into SearchResult::leads
  std::vector<int64_t> face_ids;   // every face of the subject among the candidates
  bool above_threshold = false;
};

struct SearchResult {
  int64_t search_id = 0;  // the case's record (0 without a case)
  int64_t case_id = 0;
  std::string justification;
  ProbeReport probe;
  SearchThreshold threshold;
  int64_t gallery_size = 0;
  bool ranked_by_cohort = false;
  std::string model;             // the gallery's model id
  std::string calibration;       // the calibration file's name
  std::string calibration_sha256;
  // No candidate can be called a lead: the probe is below the decision quality floor.
  bool undecided = false;
  // The case keeps the probe photo itself (SearchRequest::keep_probe_photo, for its
  // evidence export), not only the searched face's crop.
  bool probe_photo_kept = false;
  std::vector<Lead> leads;       // what is shown: leads, then (with `all`) the rest
  std::vector<SubjectLead> subjects;  // with by_subject
  std::vector<std::string> warnings;
  int64_t audit_seq = 0;
  int LeadCount() const;
};

struct VerifyRequest {
  int64_t case_id = 0;
  std::string justification;
  Probe a, b;
  double fmr = kDefaultVerifyFmr;
};

struct VerifyResult {
  ProbeReport a, b;
  double score = 0;
  double fmr_at_score = 0;  // the FMR of a comparison scoring this much
  SearchThreshold threshold;  // at the request's FMR
  // "same" (at or above the threshold), "different", or "undecided" (a face is below
  // the decision quality floor: no decision either way).
  std::string decision;
  std::string reason;  // for "undecided": which face and why
  bool above_fmr_1e3 = false, above_fmr_1e4 = false;
  std::vector<std::string> warnings;
  int64_t audit_seq = 0;
};

struct DetectRequest {
  int64_t case_id = 0;
  std::string justification;
  Probe photo;
};

struct DetectResult {
  ProbeReport photo;
  cv::Mat image;  // the decoded photo, upright (for drawing)
  std::string format;
  std::vector<Face> set_aside;  // detections too uncertain for the photo to have a face
  int64_t audit_seq = 0;
};

class Investigations {
 public:
  // All four must outlive this object. `audit` receives every record; `cases` the
  // searches made in a case. gallery may be null for an instance that only verifies
  // and detects (the command line without a gallery); then `audit` may be null too,
  // and nothing is recorded.
  Investigations(Gallery* gallery, Cases* cases, AuditLog* audit, const Calibration& calibration,
                 InvestigationsOptions options = {});
  ~Investigations();

  // Searches the gallery (see the file comment for who may). `analyzer` analyses a
  // probe photo (may be null for a vector). PermissionDenied / InvalidArgument /
  // FailedPrecondition for the checks, NoFace for a photo without a usable face,
  // Unavailable if the gallery is busy or the audit log cannot be written.
  Result<SearchResult> Search(const Principal& who, const SearchRequest& request, FaceAnalyzer* analyzer);
  Result<VerifyResult> Verify(const Principal& who, const VerifyRequest& request, FaceAnalyzer& analyzer);
  Result<DetectResult> Detect(const Principal& who, const DetectRequest& request, FaceAnalyzer& analyzer);

  // A recorded search as it was shown (the case's copy), if `who` may see it.
  Result<nlohmann::json> RecordedSearch(const Principal& who, int64_t search_id);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The JSON a search is shown and stored as (the API's search response; docs/service.md).
nlohmann::json SearchResultJson(const SearchResult& result);
// A search's decision as JSON: threshold, FMR, target and stated FPIR (per group where
// measured), the basis ("fpir" or "fmr") and the sentence for people.
nlohmann::json SearchThresholdJson(const SearchThreshold& t);

}  // namespace lineup
