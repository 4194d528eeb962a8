// VerifyBundle: checks an evidence bundle offline (evidence.h). Everything in the bundle
// is outside data until checked: sizes are capped before reading, names are checked
// before any is opened, and nothing is followed out of the bundle's directory.
#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "evidence/bundle_files.h"
#include "lineup/evidence.h"
#include "lineup/models.h"
#include "lineup/signing_key.h"

namespace lineup {

namespace fs = std::filesystem;
using json = nlohmann::json;

const char* BundleProblemName(BundleProblemKind kind) {
  switch (kind) {
    case BundleProblemKind::kNone: return "";
    case BundleProblemKind::kManifestAltered: return "manifest_altered";
    case BundleProblemKind::kBadSignature: return "bad_signature";
    case BundleProblemKind::kMissing: return "missing";
    case BundleProblemKind::kChanged: return "changed";
    case BundleProblemKind::kAdded: return "added";
    case BundleProblemKind::kAuditChain: return "audit_chain";
  }
  return "";
}

namespace {

bool IsHex64(const std::string& s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::string Str(const json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

// A whole number from JSON within [lo, hi], or -1.
int64_t Whole(const json& j, const char* key, int64_t lo, int64_t hi) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_number_integer()) return -1;
  if (j[key].is_number_unsigned()) {
    const uint64_t u = j[key].get<uint64_t>();
    return u > static_cast<uint64_t>(hi) || static_cast<int64_t>(u) < lo ? -1 : static_cast<int64_t>(u);
  }
  const int64_t v = j[key].get<int64_t>();
  return v < lo || v > hi ? -1 : v;
}

struct Listed {
  std::string sha256;
  int64_t size = 0;
};

// The audit records inside the bundle against its chain hashes: every record's hash
// recomputes from its fields, sits in the chain at its seq, and links to the hash before
// it; the chain's seqs run without gaps to the head the case record names.
bool CheckAuditChain(const fs::path& dir, const std::map<std::string, Listed>& listed, BundleVerification* v) {
  auto fail = [&](const std::string& path, const std::string& message) {
    v->problem = BundleProblemKind::kAuditChain;
    v->path = path;
    v->message = message;
    return false;
  };
  for (const char* f : {evidence::kAuditRecordsFile, evidence::kAuditChainFile, evidence::kCaseFile})
    if (!listed.count(f)) return fail(f, std::string("the bundle does not list ") + f);
  auto read = [&](const char* name, int64_t max_bytes) -> Result<std::string> {
    std::string at;
    auto f = evidence::BundleFile::Open(dir.string(), name, &at);
    if (!f.ok()) return f.status();
    return f->ReadAll(max_bytes);
  };
  auto chain_text = read(evidence::kAuditChainFile, evidence::kMaxAuditBytes);
  auto records_text = read(evidence::kAuditRecordsFile, evidence::kMaxAuditBytes);
  auto case_text = read(evidence::kCaseFile, evidence::kMaxManifestBytes);
  if (!chain_text.ok()) return fail(evidence::kAuditChainFile, chain_text.status().message());
  if (!records_text.ok()) return fail(evidence::kAuditRecordsFile, records_text.status().message());
  if (!case_text.ok()) return fail(evidence::kCaseFile, case_text.status().message());

  std::map<int64_t, std::string> chain;
  {
    std::istringstream in(*chain_text);
    std::string line;
    int64_t n = 0, prev = 0;
    while (std::getline(in, line)) {
      ++n;
      const size_t tab = line.find('\t');
      const std::string seq_text = tab == std::string::npos ? "" : line.substr(0, tab);
      const std::string hash = tab == std::string::npos ? "" : line.substr(tab + 1);
      const bool digits = !seq_text.empty() && seq_text.size() <= 18 && seq_text[0] != '0' &&
                          std::all_of(seq_text.begin(), seq_text.end(), [](char c) { return c >= '0' && c <= '9'; });
      if (!digits || !IsHex64(hash))
        return fail(evidence::kAuditChainFile, "line " + std::to_string(n) + " is not \"seq<TAB>hash\"");
      const int64_t seq = std::stoll(seq_text);
      if (prev && seq != prev + 1)
        return fail(evidence::kAuditChainFile, "the chain jumps from record " + std::to_string(prev) + " to " +
                                                   std::to_string(seq) + " (line " + std::to_string(n) + ")");
      chain[seq] = hash;
      prev = seq;
    }
  }
  const json record = json::parse(*case_text, nullptr, false);
  const json audit = record.is_object() && record.contains("audit") ? record["audit"] : json(nullptr);
  const int64_t head_seq = Whole(audit, "head_seq", 0, INT64_MAX);
  const std::string head_hash = Str(audit, "head_hash");
  if (chain.empty()) {
    if (head_seq != 0) return fail(evidence::kAuditChainFile, "the chain is empty but case.json names a head");
  } else if (chain.rbegin()->first != head_seq || chain.rbegin()->second != head_hash) {
    return fail(evidence::kAuditChainFile, "the chain ends at record " + std::to_string(chain.rbegin()->first) +
                                               ", not at the head case.json names (" + std::to_string(head_seq) + ")");
  }
  v->audit_head_seq = head_seq;
  v->audit_head = head_hash;

  std::istringstream in(*records_text);
  std::string line;
  int64_t n = 0, last_seq = 0;
  while (std::getline(in, line)) {
    ++n;
    const json r = json::parse(line, nullptr, false);
    AuditRecord a;
    a.seq = Whole(r, "seq", 1, INT64_MAX);
    a.case_id = Whole(r, "case_id", 0, INT64_MAX);
    for (auto [key, dst] : {std::pair{"at", &a.at}, {"actor", &a.actor}, {"action", &a.action},
                            {"details", &a.details}, {"prev_hash", &a.prev_hash}, {"hash", &a.hash}}) {
      if (!r.is_object() || !r.contains(key) || !r[key].is_string()) {
        a.seq = -1;
        break;
      }
      *dst = r[key].get<std::string>();
    }
    if (a.seq < 1 || a.case_id < 0 || !IsHex64(a.hash) || !IsHex64(a.prev_hash))
      return fail(evidence::kAuditRecordsFile, "line " + std::to_string(n) + " is not an audit record");
    const std::string where = "record " + std::to_string(a.seq);
    if (a.seq <= last_seq) return fail(evidence::kAuditRecordsFile, where + " is out of order");
    last_seq = a.seq;
    if (a.case_id != v->case_id)
      return fail(evidence::kAuditRecordsFile, where + " belongs to case " + std::to_string(a.case_id) + ", not " +
                                                   std::to_string(v->case_id));
    if (AuditLog::ComputeHash(a) != a.hash)
      return fail(evidence::kAuditRecordsFile, where + " was altered: its contents do not match its hash");
    auto at = chain.find(a.seq);
    if (at == chain.end() || at->second != a.hash)
      return fail(evidence::kAuditRecordsFile, where + " is not in the chain at its place (audit/chain.tsv)");
    const std::string expected_prev = a.seq == 1 ? std::string(64, '0')
                                                 : (chain.count(a.seq - 1) ? chain[a.seq - 1] : std::string());
    if (a.prev_hash != expected_prev)
      return fail(evidence::kAuditRecordsFile, where + " does not link to the record before it in the chain");
    ++v->audit_records;
  }
  const int64_t claimed = Whole(audit, "records", 0, INT64_MAX);
  if (claimed != v->audit_records)
    return fail(evidence::kAuditRecordsFile, "case.json says " + std::to_string(claimed) + " audit records, the file holds " +
                                                 std::to_string(v->audit_records));
  return true;
}

}  // namespace

Result<BundleVerification> VerifyBundle(const std::string& dir_name, const std::string& public_key) {
  std::error_code ec;
  const fs::path dir(dir_name);
  if (!fs::is_directory(dir, ec)) return Status::NotFound(dir_name + ": no such directory");
  BundleVerification v;
  if (!public_key.empty()) {
    auto k = ParsePublicKey(public_key);
    if (!k.ok()) return k.status();
    v.key_given = true;
  }
  auto problem = [&](BundleProblemKind kind, const std::string& path, const std::string& message) {
    v.ok = false;
    v.problem = kind;
    v.path = path;
    v.message = message;
    return v;
  };

  // The manifest and its signature, each read within a limit.
  auto read = [&](const char* name, int64_t max_bytes) -> Result<std::string> {
    std::string at;
    auto f = evidence::BundleFile::Open(dir_name, name, &at);
    if (!f.ok()) return f.status();
    return f->ReadAll(max_bytes);
  };
  auto manifest_text = read(kBundleManifest, evidence::kMaxManifestBytes);
  if (!manifest_text.ok()) {
    if (manifest_text.status().code() != Status::Code::kNotFound)
      return problem(BundleProblemKind::kManifestAltered, kBundleManifest, manifest_text.status().message());
    const bool empty = fs::is_empty(dir, ec) && !ec;
    return problem(BundleProblemKind::kMissing, kBundleManifest,
                   empty ? dir_name + " is an empty folder, not an evidence bundle: manifest.json is missing"
                         : "manifest.json is missing");
  }
  auto sig_text = read(kBundleSignature, evidence::kMaxSignatureBytes);
  if (!sig_text.ok())
    return problem(BundleProblemKind::kBadSignature, kBundleSignature,
                   sig_text.status().code() == Status::Code::kNotFound ? "manifest.sig is missing: the bundle is unsigned"
                                                                       : sig_text.status().message());
  const json sig = json::parse(*sig_text, nullptr, false);
  const std::string sig_key = Str(sig, "public_key"), sig_sum = Str(sig, "manifest_sha256"),
                    sig_bytes = Str(sig, "signature");
  if (!sig.is_object() || Str(sig, "algorithm") != "Ed25519" || sig_key.empty() || !IsHex64(sig_sum) ||
      sig_bytes.empty())
    return problem(BundleProblemKind::kBadSignature, kBundleSignature, "manifest.sig is not a Lineup signature");
  auto key = ParsePublicKey(sig_key);
  if (!key.ok()) return problem(BundleProblemKind::kBadSignature, kBundleSignature, "manifest.sig names no valid key");
  v.public_key = sig_key;
  v.fingerprint = KeyFingerprint(*key);
  if (Sha256Hex(*manifest_text) != sig_sum)
    return problem(BundleProblemKind::kManifestAltered, kBundleManifest,
                   "manifest.json was changed after it was signed (its SHA-256 is not the signed one)");
  if (v.key_given && sig_key != public_key)
    return problem(BundleProblemKind::kBadSignature, kBundleSignature,
                   "signed by another key (fingerprint " + v.fingerprint + ") than the one given");
  if (!VerifySignature(*key, *manifest_text, sig_bytes))
    return problem(BundleProblemKind::kBadSignature, kBundleSignature,
                   "the signature does not verify over manifest.json with the key it names");

  // The signed manifest, still read as outside data: a key nobody was told to trust can
  // sign anything.
  const json manifest = json::parse(*manifest_text, nullptr, false);
  auto bad_manifest = [&](const std::string& why) {
    return problem(BundleProblemKind::kManifestAltered, kBundleManifest, why);
  };
  if (!manifest.is_object() || Str(manifest, "format") != evidence::kManifestFormat)
    return bad_manifest("manifest.json is not a Lineup evidence manifest");
  if (!manifest.contains("signing_key") || Str(manifest["signing_key"], "public_key") != sig_key)
    return bad_manifest("manifest.json names another key than its signature");
  v.case_id = Whole(manifest, "case_id", 1, INT64_MAX);
  if (v.case_id < 1) return bad_manifest("manifest.json names no case");
  if (!manifest.contains("files") || !manifest["files"].is_array()) return bad_manifest("manifest.json lists no files");
  const json& files = manifest["files"];
  if (static_cast<int64_t>(files.size()) > evidence::kMaxListedFiles)
    return bad_manifest("manifest.json lists more than " + std::to_string(evidence::kMaxListedFiles) + " files");
  std::map<std::string, Listed> listed;
  std::vector<std::string> order;
  for (const json& f : files) {
    const std::string path = Str(f, "path"), sum = Str(f, "sha256");
    const int64_t size = Whole(f, "size", 0, evidence::kMaxFileBytes);
    if (!evidence::SafeBundlePath(path))
      return bad_manifest("manifest.json lists a name a bundle cannot hold: " + json(path).dump());
    if (!IsHex64(sum) || size < 0) return bad_manifest("manifest.json's entry for " + path + " has no valid SHA-256 and size");
    if (!listed.emplace(path, Listed{sum, size}).second) return bad_manifest("manifest.json lists " + path + " twice");
    order.push_back(path);
  }

  // Every listed file, in the manifest's order.
  for (const std::string& path : order) {
    std::string at;
    auto f = evidence::BundleFile::Open(dir_name, path, &at);
    if (!f.ok()) {
      if (f.status().code() == Status::Code::kNotFound)
        return problem(BundleProblemKind::kMissing, path,
                       path + " is listed but missing" + (at == path ? "" : " (" + f.status().message() + ")"));
      return problem(BundleProblemKind::kChanged, at, f.status().message());
    }
    if (f->size() != listed[path].size)
      return problem(BundleProblemKind::kChanged, path,
                     path + " is " + std::to_string(f->size()) + " bytes; the manifest says " +
                         std::to_string(listed[path].size));
    auto sum = f->Sha256();
    if (!sum.ok()) return problem(BundleProblemKind::kChanged, path, sum.status().message());
    if (*sum != listed[path].sha256) return problem(BundleProblemKind::kChanged, path, path + " was changed (SHA-256 differs)");
    ++v.files;
  }

  // Nothing else: every entry is a listed file, the manifest, its signature, or a folder
  // on the way to a listed file. Entries are named in order, so the first is stable.
  std::set<std::string> folders;
  for (const std::string& path : order)
    for (size_t slash = path.find('/'); slash != std::string::npos; slash = path.find('/', slash + 1))
      folders.insert(path.substr(0, slash));
  std::vector<std::string> extra;
  int64_t seen = 0;
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::none, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (++seen > evidence::kMaxListedFiles + 16) {
      extra.push_back("(more than " + std::to_string(evidence::kMaxListedFiles) + " entries)");
      break;
    }
    const std::string rel = it->path().lexically_relative(dir).generic_string();
    const auto st = it->symlink_status(ec);
    if (ec) break;
    if (fs::is_directory(st) && folders.count(rel)) continue;
    if (fs::is_regular_file(st) && (listed.count(rel) || rel == kBundleManifest || rel == kBundleSignature)) continue;
    extra.push_back(rel);
    if (fs::is_directory(st)) it.disable_recursion_pending();
  }
  if (ec) return problem(BundleProblemKind::kAdded, ".", dir_name + ": cannot list the bundle: " + ec.message());
  if (!extra.empty()) {
    std::sort(extra.begin(), extra.end());
    const auto st = fs::symlink_status(dir / extra.front(), ec);
    const std::string what = ec ? "" : fs::is_symlink(st) ? " (a symbolic link, not followed)"
                                     : fs::is_directory(st) ? " (a folder)"
                                                            : "";
    return problem(BundleProblemKind::kAdded, extra.front(), extra.front() + what + " is not in the manifest (added)");
  }

  if (!CheckAuditChain(dir, listed, &v)) return v;
  v.ok = true;
  return v;
}

}  // namespace lineup
