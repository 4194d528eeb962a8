// Evidence: a case handed to a court, a defence expert or an oversight body as a
// self-contained bundle that anyone can check offline.
//
// CaseEvidence::Export is the whole of an accountable act, shared by `lineup case export`
// and POST /v1/cases/{id}/export: it checks who asks (a member of the case, an auditor,
// or a local operator; anyone else is refused, and the refusal is audited), writes the
// bundle into a fresh directory, signs its manifest with the gallery's Ed25519 key
// (signing_key.h), and records the export in the audit log with the manifest's SHA-256
// before it returns. An export whose audit record cannot be written is removed.
//
// A bundle (docs/evidence.md) holds the case, its members and authority; every search
// as it was shown (justification, probe SHA-256 and crop, the probe photo where the case
// kept it, threshold and decision, model and calibration, every candidate with score,
// FPIR, provenance and face crop); every review and confirmation; the case's audit
// records with the chain's hashes from the case's first record to the head at export
// time; the model's measured error rates at each threshold used; a report for people
// (report.html, report.pdf: every page says candidates are leads, not identifications);
// and manifest.json (every file with its SHA-256 and size) with its detached signature
// manifest.sig.
//
// VerifyBundle checks a bundle offline: the signature, then every file against the
// manifest, then that nothing was added, then the audit records' chain, and names the
// first difference. It reads hostile input safely: a bundle is never trusted further
// than it has been checked. Both are safe to call from many threads.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lineup/accounts.h"
#include "lineup/audit_log.h"
#include "lineup/calibration.h"
#include "lineup/cases.h"
#include "lineup/gallery.h"
#include "lineup/status.h"

namespace lineup {

inline constexpr const char* kBundleManifest = "manifest.json";
inline constexpr const char* kBundleSignature = "manifest.sig";

struct ExportRequest {
  int64_t case_id = 0;
  // Why the case is exported (a court order, a disclosure request). Needed from signed-in
  // callers; optional for local operators.
  std::string justification;
  // The bundle's directory: must not exist yet, or be empty. Its parent must exist.
  std::string out_dir;
};

struct ExportResult {
  std::string dir;
  std::string manifest_sha256;  // of manifest.json's bytes, as recorded in the audit log
  std::string fingerprint;      // of the key that signed it
  int64_t files = 0;            // listed in the manifest
  int64_t bytes = 0;            // their total size
  int64_t searches = 0, candidates = 0, reviews = 0, audit_records = 0;
  std::string audit_head;       // the chain's head the bundle was cut at
  int64_t audit_head_seq = 0;
  int64_t audit_seq = 0;        // the export's own audit record (after the head)
  std::vector<std::string> warnings;  // e.g. a candidate's crop gone (erased since)
};

class CaseEvidence {
 public:
  // Runs `body` while holding the gallery; empty: body runs directly.
  using WithGallery = std::function<Status(const std::function<Status()>& body)>;

  // All must outlive this object. `gallery` gives the candidates' crops, `calibration` the
  // error rates (the gallery model's), the key is the gallery's (made on first need).
  CaseEvidence(Gallery* gallery, Cases* cases, AuditLog* audit, const Calibration& calibration,
               WithGallery with_gallery = {});

  // PermissionDenied (and an audited refusal, action case_export_refused) unless `who` is
  // a member of the case, an auditor or local; NotFound for an unknown case;
  // InvalidArgument for a missing or bad justification or an unusable out_dir;
  // Unavailable if the export cannot be recorded (nothing is left behind then).
  Result<ExportResult> Export(const Principal& who, const ExportRequest& request);

 private:
  Gallery* gallery_;
  Cases* cases_;
  AuditLog* audit_;
  const Calibration& calibration_;
  WithGallery with_gallery_;
};

// What is wrong with a bundle, first thing found.
enum class BundleProblemKind {
  kNone,
  kManifestAltered,  // manifest.json changed after signing, or unreadable / not a manifest
  kBadSignature,     // manifest.sig missing, unreadable, not by the key, or not matching
  kMissing,          // a listed file is not there
  kChanged,          // a listed file's bytes or size differ (or it is not a regular file)
  kAdded,            // a file (or anything else) is there that the manifest does not list
  kAuditChain,       // the audit records or chain hashes inside are not one intact chain
};
// "manifest_altered", "bad_signature", "missing", "changed", "added", "audit_chain", "".
const char* BundleProblemName(BundleProblemKind kind);

struct BundleVerification {
  bool ok = false;
  BundleProblemKind problem = BundleProblemKind::kNone;
  std::string path;     // the file the problem is in (relative to the bundle), if any
  std::string message;  // for people: what is wrong there
  // From the (signed) manifest, once its signature checked out.
  int64_t case_id = 0;
  std::string public_key, fingerprint;  // of the key that signed it
  bool key_given = false;               // checked against a key the verifier supplied
  int64_t files = 0;
  int64_t audit_records = 0;
  std::string audit_head;
  int64_t audit_head_seq = 0;
};

// Checks the bundle in `dir` (see the file comment). With `public_key` (base64, as
// `lineup key show` prints it) the signature must be by that key; without it, by the key
// the manifest names (then only as trustworthy as the fingerprint the reader compares).
// NotFound / InvalidArgument only when `dir` is not a directory or the key is malformed;
// any problem of the bundle itself is a verification with ok false.
Result<BundleVerification> VerifyBundle(const std::string& dir, const std::string& public_key = "");

// The bundle in `dir` as one ZIP archive (libarchive), its files under `top` (a folder
// name); for handing a bundle over in one download. InvalidArgument if it is bigger than
// max_bytes in all.
Result<std::string> ZipBundle(const std::string& dir, const std::string& top, int64_t max_bytes);

}  // namespace lineup
