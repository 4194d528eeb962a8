// The evidence routes of `lineup serve`: a case's signed bundle as one ZIP download, and
// the gallery's public key to check it with. The export is one accountable call
// (evidence.h: who may, justification, the bundle, its audit record); the handler only
// parses the request and sends the file.
//
// Why a ZIP made on request, not a stored bundle: what a court or a defence expert needs
// is one file that opens anywhere and holds everything, signed when it was made; keeping
// bundles on the server would multiply copies of face crops and probe photos that would
// then need their own retention. Each download is a fresh export with its own audit
// record (the manifest's SHA-256 there matches the one in the ZIP).
#include <filesystem>

#include "lineup/signing_key.h"
#include "server_internal.h"

namespace lineup::server {

namespace fs = std::filesystem;

namespace {
// A bundle larger than this is exported with `lineup case export` on the gallery's machine.
constexpr int64_t kMaxZipBytes = 512ll << 20;
}  // namespace

void Server::Impl::AddEvidenceRoutes() {
  const std::vector<Role> everyone = {Role::kAdmin, Role::kAnalyst, Role::kEnroller, Role::kAuditor};
  Register("GET", "/v1/signing-key", everyone,
           "read the gallery's Ed25519 public key (base64) and fingerprint, which sign its evidence bundles",
           [this](Call& c) {
             auto key = SigningKey::LoadOrCreate(options.gallery_dir, audit.get(), c.who.name);
             if (!key.ok()) return SendError(c.res, key.status());
             SendJson(c.res, 200,
                      {{"algorithm", "Ed25519"},
                       {"public_key", key->PublicKeyBase64()},
                       {"public_key_encoding", "base64"},
                       {"fingerprint", key->Fingerprint()},
                       {"fingerprint_of", "SHA-256 of the 32 public key bytes, hex"}});
           });

  // Every role reaches the library, which refuses all but the case's members and auditors
  // and records the refusal.
  Register("POST", "/v1/cases/{id}/export", everyone,
           "export a case as a signed evidence bundle (ZIP): members of the case and auditors", [this](Call& c) {
             auto id = PathId(c, 1);
             if (!id.ok()) return SendError(c.res, id.status());
             auto body = JsonBody(c.req);
             if (!body.ok()) return SendError(c.res, body.status());
             auto justification = TextField(*body, "justification", false, 2000);
             if (!justification.ok()) return SendError(c.res, justification.status());
             const std::string name = "case-" + std::to_string(*id) + "-evidence";
             const fs::path work = fs::path(options.gallery_dir) / "exports" /
                                   (name + "-" + Sha256Hex(c.who.name + std::to_string(std::chrono::steady_clock::now()
                                                                                           .time_since_epoch()
                                                                                           .count()))
                                                     .substr(0, 12));
             std::error_code ec;
             fs::create_directories(work.parent_path(), ec);
             if (ec) return SendError(c.res, Status::IOError("cannot make room for the export: " + ec.message()));
             ExportRequest r;
             r.case_id = *id;
             r.justification = *justification;
             r.out_dir = work.string();
             auto done = evidence->Export(c.who, r);
             if (!done.ok()) return SendError(c.res, done.status());
             auto zip = ZipBundle(work.string(), name, kMaxZipBytes);
             fs::remove_all(work, ec);  // the download is the copy handed out
             if (!zip.ok()) return SendError(c.res, zip.status());
             c.res.set_header("Content-Disposition", "attachment; filename=\"" + name + ".zip\"");
             c.res.set_header("X-Lineup-Manifest-SHA256", done->manifest_sha256);
             c.res.set_header("X-Lineup-Key-Fingerprint", done->fingerprint);
             c.res.set_header("X-Lineup-Audit-Seq", std::to_string(done->audit_seq));
             c.res.set_header("Cache-Control", "no-store");
             c.res.set_content(std::move(*zip), "application/zip");
           });
}

}  // namespace lineup::server
