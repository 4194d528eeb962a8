// lineup key show, lineup case export, lineup evidence verify: a case handed over as a
// signed bundle, and the check anyone can run on it offline (docs/evidence.md).
#include <filesystem>

#include "cli_record.h"
#include "cli_util.h"
#include "commands.h"
#include "lineup/evidence.h"
#include "lineup/investigations.h"
#include "lineup/signing_key.h"

namespace lineup::cli {

namespace fs = std::filesystem;

const Command kKeyShowCommand = {
    .name = "key show",
    .summary = "the gallery's Ed25519 public key (base64) and its fingerprint (SHA-256 hex), which sign its evidence",
    .usage = {"key show [--gallery DIR] [--json]"},
    .options = {kGalleryOption, kJsonOption},
    .examples = {"lineup key show --gallery lineup-data"},
    .notes = "A gallery made before signing keys existed gets its key here (recorded in the audit log). The secret "
             "half stays in the gallery directory (signing_key.ed25519, mode 0600) and is never printed.",
};
const Command kKeyCommand = {
    .name = "key",
    .summary = "the gallery's signing key (public half)",
    .verbs = {&kKeyShowCommand},
};

const Command kCaseExportCommand = {
    .name = "case export",
    .summary = "a case as a signed evidence bundle: searches, candidates, reviews, audit records, report (HTML, PDF)",
    .usage = {"case export ID --out DIR [--justification TEXT] [--gallery DIR] [--json]"},
    .options = {{"--out", "DIR", "where to write the bundle: a new (or empty) directory"},
                {"--justification", "TEXT", "why it is exported (a court order, a disclosure request): audited"},
                kGalleryOption,
                kJsonOption},
    .examples = {"lineup case export 1 --out case-1-evidence --justification \"disclosure to the defence\" "
                 "--gallery lineup-data"},
    .notes = "Runs beside `lineup serve`. Check the bundle with `lineup evidence verify DIR --key PUBLIC_KEY`.",
};

const Command kEvidenceVerifyCommand = {
    .name = "evidence verify",
    .summary = "check offline that an evidence bundle is as signed: nothing changed, added or removed",
    .usage = {"evidence verify DIR [--key PUBLIC_KEY] [--json]"},
    .options = {{"--key", "PUBLIC_KEY",
                 "the gallery's public key (base64, from `lineup key show`), or a file holding it; without it the "
                 "bundle is checked against the key it names, whose fingerprint you compare"},
                kJsonOption},
    .examples = {"lineup evidence verify case-1-evidence --key \"$(lineup key show --gallery lineup-data | sed -n 2p "
                 "| cut -d' ' -f3)\""},
    .notes = "Exit 0 intact, 1 not intact (the first difference is named: changed, added, missing, bad_signature, "
             "manifest_altered, audit_chain), 2 could not check (no such directory, a malformed key).",
};
const Command kEvidenceCommand = {
    .name = "evidence",
    .summary = "check evidence bundles (lineup case export makes them)",
    .verbs = {&kEvidenceVerifyCommand},
};

namespace {

// --key: the base64 key itself, or a file whose first line is.
Result<std::string> KeyArgument(const std::string& value) {
  std::error_code ec;
  if (fs::is_regular_file(value, ec) && fs::file_size(value, ec) < 4096) {
    FILE* f = std::fopen(value.c_str(), "r");
    if (!f) return Status::IOError(value + ": cannot read the key file");
    char line[256] = {0};
    const bool got = std::fgets(line, sizeof line, f) != nullptr;
    std::fclose(f);
    std::string k = got ? line : "";
    while (!k.empty() && (k.back() == '\n' || k.back() == '\r' || k.back() == ' ')) k.pop_back();
    return k;
  }
  return value;
}

}  // namespace

int CmdKey(int argc, char** argv) {
  auto command = VerbFrom(kKeyCommand, argc, argv);
  if (!command.ok()) return Fail(command.status());
  auto args = ParseArgs(argc, argv, **command);
  if (!args.ok()) return Fail(args.status());
  if (!args->positional.empty()) return Misuse(**command, "key show takes no arguments");
  const std::string dir = GalleryDir(*args);
  if (!fs::exists(fs::path(dir) / "catalog.sqlite"))
    return Fail(Status::NotFound(dir + ": no gallery here (create one with `lineup init`)"));
  auto audit = OpenCliAudit(dir);
  if (!audit.ok()) return Fail(audit.status());
  auto key = SigningKey::LoadOrCreate(dir, audit->get(), CliActor());
  if (!key.ok()) return Fail(key.status());
  if (args->Has("--json")) {
    std::printf("%s\n", nlohmann::json{{"algorithm", "Ed25519"},
                                       {"public_key", key->PublicKeyBase64()},
                                       {"public_key_encoding", "base64"},
                                       {"fingerprint", key->Fingerprint()},
                                       {"fingerprint_of", "SHA-256 of the 32 public key bytes, hex"},
                                       {"created_now", key->created()}}
                            .dump(2)
                            .c_str());
  } else {
    std::printf("algorithm   Ed25519\npublic key  %s\nfingerprint %s\n", key->PublicKeyBase64().c_str(),
                key->Fingerprint().c_str());
    if (key->created()) std::printf("(created now for this gallery, and recorded in its audit log)\n");
  }
  return kExitOk;
}

int CaseExport(const Command& command, const Args& args) {
  if (args.positional.size() != 1) return Misuse(command, "case export takes one case ID");
  char* end = nullptr;
  const long long case_id = std::strtoll(args.positional[0].c_str(), &end, 10);
  if (end == args.positional[0].c_str() || *end || case_id <= 0)
    return Misuse(command, "a case ID is a positive whole number, not \"" + args.positional[0] + "\"");
  if (args.Get("--out").empty()) return Misuse(command, "case export needs --out DIR");
  auto record = OpenCliRecord(args, true);
  if (!record.ok()) return Fail(record.status());
  auto opts = AnalyzerOptionsFrom(args);
  if (!opts.ok()) return Fail(opts.status());
  // Only reads the gallery: an export runs beside `lineup serve`.
  auto g = Gallery::OpenReadOnly(record->gallery_dir, *opts);
  if (!g.ok()) return Fail(g.status());
  auto cal = Calibration::ForModel((*g)->model());
  if (!cal.ok()) return Fail(cal.status());
  CaseEvidence evidence(g->get(), record->cases.get(), record->audit.get(), *cal);
  ExportRequest req;
  req.case_id = case_id;
  req.justification = args.Get("--justification");
  req.out_dir = args.Get("--out");
  auto r = evidence.Export(CliPrincipal(), req);
  if (!r.ok()) return Fail(r.status());
  if (args.Has("--json")) {
    std::printf("%s\n", nlohmann::json{{"bundle", r->dir},
                                       {"case_id", case_id},
                                       {"manifest_sha256", r->manifest_sha256},
                                       {"fingerprint", r->fingerprint},
                                       {"files", r->files},
                                       {"bytes", r->bytes},
                                       {"searches", r->searches},
                                       {"candidates", r->candidates},
                                       {"reviews", r->reviews},
                                       {"audit_records", r->audit_records},
                                       {"audit_head_seq", r->audit_head_seq},
                                       {"audit_head", r->audit_head},
                                       {"audit_seq", r->audit_seq},
                                       {"warnings", r->warnings}}
                            .dump(2)
                            .c_str());
  } else {
    std::printf("case %lld exported to %s: %lld files, %lld bytes\n", case_id, r->dir.c_str(),
                static_cast<long long>(r->files), static_cast<long long>(r->bytes));
    std::printf("  %lld searches, %lld candidates, %lld reviews, %lld audit records (chain head: record %lld)\n",
                static_cast<long long>(r->searches), static_cast<long long>(r->candidates),
                static_cast<long long>(r->reviews), static_cast<long long>(r->audit_records),
                static_cast<long long>(r->audit_head_seq));
    std::printf("  manifest SHA-256 %s (audit record %lld)\n  signed by key %s\n", r->manifest_sha256.c_str(),
                static_cast<long long>(r->audit_seq), r->fingerprint.c_str());
    for (const std::string& w : r->warnings) std::printf("  warning: %s\n", w.c_str());
    std::printf("  report: %s/report.pdf, %s/report.html\n", r->dir.c_str(), r->dir.c_str());
  }
  return kExitOk;
}

int CmdEvidence(int argc, char** argv) {
  auto command = VerbFrom(kEvidenceCommand, argc, argv);
  if (!command.ok()) return Fail(command.status());
  auto args = ParseArgs(argc, argv, **command);
  if (!args.ok()) return Fail(args.status());
  if (args->positional.size() != 1) return Misuse(**command, "evidence verify takes one bundle directory");
  std::string key;
  if (args->Has("--key")) {
    auto k = KeyArgument(args->Get("--key"));
    if (!k.ok()) return Fail(k.status());
    key = *k;
  }
  auto v = VerifyBundle(args->positional[0], key);
  if (!v.ok()) return Fail(v.status());
  if (args->Has("--json")) {
    nlohmann::json j = {{"ok", v->ok},
                        {"bundle", args->positional[0]},
                        {"case_id", v->case_id},
                        {"files", v->files},
                        {"public_key", v->public_key},
                        {"fingerprint", v->fingerprint},
                        {"key_given", v->key_given},
                        {"audit_records", v->audit_records},
                        {"audit_head_seq", v->audit_head_seq},
                        {"audit_head", v->audit_head}};
    j["problem"] = v->ok ? nlohmann::json(nullptr)
                         : nlohmann::json{{"kind", BundleProblemName(v->problem)}, {"path", v->path}, {"message", v->message}};
    std::printf("%s\n", j.dump(2).c_str());
  } else if (v->ok) {
    std::printf("INTACT: %s is the bundle of case %lld as signed: %lld files checked, nothing added or removed, "
                "%lld audit records chained to head record %lld\n",
                args->positional[0].c_str(), static_cast<long long>(v->case_id), static_cast<long long>(v->files),
                static_cast<long long>(v->audit_records), static_cast<long long>(v->audit_head_seq));
    std::printf("signed by key %s%s\n", v->fingerprint.c_str(),
                v->key_given ? " (the key given)"
                             : " (not checked against a key you trust: compare this fingerprint with `lineup key "
                               "show` on the gallery's machine, or pass --key)");
  } else {
    std::printf("NOT INTACT (%s%s%s): %s\n", BundleProblemName(v->problem), v->path.empty() ? "" : ": ",
                v->path.c_str(), v->message.c_str());
  }
  return v->ok ? kExitOk : kExitNo;
}

}  // namespace lineup::cli
