// Tests of evidence bundles (evidence.h, signing_key.h): the gallery's signing key, a
// case exported from a gallery of real photos (searched, reviewed, confirmed), who may
// export, and the verifier: every kind of change to a bundle is found and named, and
// hostile bundles are refused cleanly.
#include <sys/stat.h>
#include <sys/types.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <regex>

#include <nlohmann/json.hpp>

#include "evidence/bundle_files.h"
#include "lineup/calibration.h"
#include "lineup/evidence.h"
#include "lineup/gallery.h"
#include "lineup/html_text.h"
#include "lineup/investigations.h"
#include "lineup/models.h"
#include "lineup/signing_key.h"
#include "test_util.h"

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using lineup::AuditLog;
using lineup::BundleProblemKind;
using lineup::Calibration;
using lineup::CaseEvidence;
using lineup::Cases;
using lineup::ExportRequest;
using lineup::Gallery;
using lineup::Principal;
using lineup::Role;
using lineup::SigningKey;
using lineup::Status;
using lineup::VerifyBundle;
using lineup_test::TempDir;

// 4390258 -> "4,390,258", as the reports write counts.
std::string Thousands(int64_t v) {
  const std::string digits = std::to_string(v);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

int Count(const std::string& text, const std::string& part) {
  int n = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

std::string ReadText(const std::string& path) {
  auto b = lineup_test::ReadBytes(path);
  return std::string(b.begin(), b.end());
}

// ---------------------------------------------------------------- the signing key

TEST(SigningKey, MadeOncePrivateAndRecorded) {
  TempDir t;
  ASSERT_TRUE(Gallery::Init(t.File("g")).ok());
  auto audit = AuditLog::Open(t.File("g/catalog.sqlite"));
  ASSERT_TRUE(audit.ok());
  EXPECT_EQ(SigningKey::Load(t.File("g")).status().code(), Status::Code::kNotFound);
  auto k = SigningKey::LoadOrCreate(t.File("g"), audit->get(), "cli:test");
  ASSERT_TRUE(k.ok()) << k.status().ToString();
  EXPECT_TRUE(k->created());
  struct stat st {};
  ASSERT_EQ(::stat(t.File("g/signing_key.ed25519").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(k->PublicKeyBase64().size(), 44u);
  EXPECT_EQ(k->Fingerprint().size(), 64u);
  // The secret never appears in what the key tells.
  const std::string file = ReadText(t.File("g/signing_key.ed25519"));
  const std::string seed = file.substr(file.find(' ') + 1, 44);
  EXPECT_EQ(k->PublicKeyBase64().find(seed), std::string::npos);
  auto again = SigningKey::LoadOrCreate(t.File("g"), audit->get(), "cli:test");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->created());
  EXPECT_EQ(again->PublicKeyBase64(), k->PublicKeyBase64());
  lineup::AuditFilter f;
  f.action = "signing_key_create";
  auto recs = (*audit)->Records(f);
  ASSERT_TRUE(recs.ok());
  ASSERT_EQ(recs->size(), 1u);
  EXPECT_EQ(json::parse((*recs)[0].details)["fingerprint"], k->Fingerprint());
  EXPECT_EQ(json::parse((*recs)[0].details).dump().find(seed), std::string::npos);

  // Signatures verify with the public half only, and only over the bytes signed.
  auto pub = lineup::ParsePublicKey(k->PublicKeyBase64());
  ASSERT_TRUE(pub.ok());
  const std::string sig = k->Sign("manifest bytes");
  EXPECT_TRUE(lineup::VerifySignature(*pub, "manifest bytes", sig));
  EXPECT_FALSE(lineup::VerifySignature(*pub, "manifest bytez", sig));
  EXPECT_FALSE(lineup::VerifySignature(*pub, "manifest bytes", "AAAA"));
  EXPECT_FALSE(lineup::ParsePublicKey("not a key").ok());
  EXPECT_FALSE(lineup::ParsePublicKey(std::string(44, '!')).ok());

  // A key file others may read is refused, and so is one that is not a key.
  ASSERT_EQ(::chmod(t.File("g/signing_key.ed25519").c_str(), 0644), 0);
  auto open = SigningKey::Load(t.File("g"));
  EXPECT_EQ(open.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(open.status().message().find("chmod 600"), std::string::npos) << open.status().message();
  ASSERT_EQ(::chmod(t.File("g/signing_key.ed25519").c_str(), 0600), 0);
  lineup_test::WriteText(t.File("g/signing_key.ed25519"), "lineup-ed25519-seed-v1 garbage\n");
  ASSERT_EQ(::chmod(t.File("g/signing_key.ed25519").c_str(), 0600), 0);
  EXPECT_EQ(SigningKey::Load(t.File("g")).status().code(), Status::Code::kCorrupt);
}

TEST(BundlePaths, OnlyPlainNamesInsideTheBundle) {
  for (const char* ok : {"case.json", "crops/face-12.jpg", "audit/records.jsonl", "a/b/c.d", "x_y-z.1"})
    EXPECT_TRUE(lineup::evidence::SafeBundlePath(ok)) << ok;
  for (const char* bad : {"", "../x", "a/../../x", "/etc/passwd", "a//b", "a/./b", ".", "..", "a/", "a b", "a\\b",
                          "manifest.json", "manifest.sig", "x\ny", "crops/\x01"})
    EXPECT_FALSE(lineup::evidence::SafeBundlePath(bad)) << bad;
  EXPECT_FALSE(lineup::evidence::SafeBundlePath(std::string(256, 'a')));
}

TEST(BundleVerify, NotADirectoryOrABadKey) {
  TempDir t;
  EXPECT_EQ(VerifyBundle(t.File("none")).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(VerifyBundle(t.path(), "short").status().code(), Status::Code::kInvalidArgument);
  // An empty folder is no bundle: its manifest is missing.
  auto v = VerifyBundle(t.path());
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->ok);
  EXPECT_EQ(v->problem, BundleProblemKind::kMissing);
  EXPECT_EQ(v->path, "manifest.json");
}

// A small bundle made by hand, as the export lays one out (a case with no search and no
// audit record), signed with `key`: it verifies, so each hostile change below is what the
// verifier refuses.
void HandMadeBundle(const std::string& dir, const SigningKey& key) {
  fs::create_directories(dir + "/crops");
  fs::create_directories(dir + "/audit");
  const std::map<std::string, std::string> files = {
      {"case.json", json{{"format", "lineup-evidence-v1"},
                         {"audit", {{"records", 0}, {"head_seq", 0}, {"head_hash", ""}}}}.dump()},
      {"audit/records.jsonl", ""},
      {"audit/chain.tsv", ""},
      {"crops/face-1.jpg", std::string("\xFF\xD8\xFF\xE0 not much of a face", 24)},
      {"README.txt", "hand made\n"}};
  json listed = json::array();
  for (const auto& [name, bytes] : files) {
    lineup_test::WriteText(dir + "/" + name, bytes);
    listed.push_back({{"path", name}, {"sha256", lineup::Sha256Hex(bytes)}, {"size", bytes.size()}});
  }
  const std::string manifest = json{{"format", "lineup-evidence-manifest-v1"},
                                    {"case_id", 1},
                                    {"signing_key", {{"public_key", key.PublicKeyBase64()}}},
                                    {"files", listed}}
                                   .dump(1);
  lineup_test::WriteText(dir + "/manifest.json", manifest);
  lineup_test::WriteText(dir + "/manifest.sig", json{{"algorithm", "Ed25519"},
                                                       {"manifest_sha256", lineup::Sha256Hex(manifest)},
                                                       {"public_key", key.PublicKeyBase64()},
                                                       {"signature", key.Sign(manifest)}}
                                                      .dump());
}

// `lineup evidence verify` on hostile bundles: each a clear refusal naming the item, exit 1
// (2 where there is nothing to check), and never a crash or a hang.
TEST(BundleVerify, HostileBundlesAtTheCommandLine) {
  TempDir t;
  ASSERT_TRUE(Gallery::Init(t.File("g")).ok());
  auto key = SigningKey::LoadOrCreate(t.File("g"), nullptr, "test");
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  const std::string good = t.File("good");
  HandMadeBundle(good, *key);
  auto intact = lineup_test::RunCli({"evidence", "verify", good, "--key", key->PublicKeyBase64()});
  ASSERT_EQ(intact.exit_code, 0) << intact.out << intact.err;

  // Signs `manifest` with the key, so that the manifest's own checks are what refuse it.
  auto resign = [&](const std::string& dir, const std::string& manifest) {
    lineup_test::WriteText(dir + "/manifest.json", manifest);
    lineup_test::WriteText(dir + "/manifest.sig", json{{"algorithm", "Ed25519"},
                                                         {"manifest_sha256", lineup::Sha256Hex(manifest)},
                                                         {"public_key", key->PublicKeyBase64()},
                                                         {"signature", key->Sign(manifest)}}
                                                        .dump());
  };
  auto with_path = [&](const std::string& dir, const std::string& path) {
    json m = json::parse(ReadText(dir + "/manifest.json"));
    m["files"][0]["path"] = path;
    resign(dir, m.dump());
  };
  auto outside_copy = [&](const std::string& from, const std::string& name) {
    const std::string to = t.File("outside-" + name);
    fs::copy(from, to, fs::copy_options::recursive);
    return to;
  };
  std::string garbage = "\x00\xff\xfe{\"algorithm\":";
  garbage.push_back('\0');
  for (int i = 0; i < 500; ++i) garbage.push_back(static_cast<char>((i * 131) & 0xff));
  struct Case {
    std::string name;
    std::function<void(const std::string&)> alter;
    int exit_code;
    std::string said;     // in the line printed: "kind: path"
    std::string because;  // in the message
  };
  const std::vector<Case> cases = {
      {"an empty folder", [](const std::string& d) { fs::remove_all(d); fs::create_directory(d); }, 1,
       "missing: manifest.json", "empty folder"},
      {"a truncated signature",
       [](const std::string& d) { lineup_test::WriteText(d + "/manifest.sig", ReadText(d + "/manifest.sig").substr(0, 40)); }, 1,
       "bad_signature: manifest.sig", "not a Lineup signature"},
      {"a garbage signature", [&](const std::string& d) { lineup_test::WriteText(d + "/manifest.sig", garbage); }, 1,
       "bad_signature: manifest.sig", "not a Lineup signature"},
      {"an empty signature", [](const std::string& d) { lineup_test::WriteText(d + "/manifest.sig", ""); }, 1,
       "bad_signature: manifest.sig", "not a Lineup signature"},
      {"a signature too big to be one",
       [](const std::string& d) { lineup_test::WriteText(d + "/manifest.sig", std::string(1 << 20, '[')); }, 1,
       "bad_signature: manifest.sig", "allowed"},
      {"a manifest that is not JSON", [](const std::string& d) { lineup_test::WriteText(d + "/manifest.json", "{\"files\": [tru"); },
       1, "manifest_altered: manifest.json", "changed after it was signed"},
      {"a manifest that is not JSON, signed", [&](const std::string& d) { resign(d, "{\"files\": [tru"); }, 1,
       "manifest_altered: manifest.json", "not a Lineup evidence manifest"},
      {"an empty manifest, signed", [&](const std::string& d) { resign(d, ""); }, 1, "manifest_altered: manifest.json",
       "not a Lineup evidence manifest"},
      {"../x in the manifest", [&](const std::string& d) { with_path(d, "../x"); }, 1, "manifest_altered: manifest.json",
       "\"../x\""},
      {"a deeper traversal", [&](const std::string& d) { with_path(d, "crops/../../../../etc/passwd"); }, 1,
       "manifest_altered: manifest.json", "crops/../../../../etc/passwd"},
      {"an absolute path", [&](const std::string& d) { with_path(d, "/etc/passwd"); }, 1, "manifest_altered: manifest.json",
       "/etc/passwd"},
      {"a symbolic link added", [](const std::string& d) { fs::create_symlink("/etc", d + "/extra-link"); }, 1,
       "added: extra-link", "symbolic link"},
      {"a symbolic link for a listed file",
       [&](const std::string& d) {
         const std::string copy = outside_copy(d + "/crops/face-1.jpg", "face");
         fs::remove(d + "/crops/face-1.jpg");
         fs::create_symlink(copy, d + "/crops/face-1.jpg");
       },
       1, "changed: crops/face-1.jpg", "symbolic link"},
      {"a symbolic link for a folder, to an identical copy outside",
       [&](const std::string& d) {
         const std::string copy = outside_copy(d + "/crops", "crops");
         fs::remove_all(d + "/crops");
         fs::create_symlink(copy, d + "/crops");
       },
       1, "changed: crops", "symbolic link"},
      {"a symbolic link for the manifest",
       [&](const std::string& d) {
         const std::string copy = outside_copy(d + "/manifest.json", "manifest");
         fs::remove(d + "/manifest.json");
         fs::create_symlink(copy, d + "/manifest.json");
       },
       1, "manifest_altered: manifest.json", "symbolic link"},
      {"a symbolic link for the signature",
       [&](const std::string& d) {
         const std::string copy = outside_copy(d + "/manifest.sig", "sig");
         fs::remove(d + "/manifest.sig");
         fs::create_symlink(copy, d + "/manifest.sig");
       },
       1, "bad_signature: manifest.sig", "symbolic link"},
      {"a link loop for a listed file",
       [](const std::string& d) {
         fs::remove(d + "/README.txt");
         fs::create_symlink("README.txt", d + "/README.txt");
       },
       1, "changed: README.txt", "symbolic link"},
      {"a pipe for a listed file (never opened, so never waited on)",
       [](const std::string& d) {
         fs::remove(d + "/README.txt");
         ASSERT_EQ(::mkfifo((d + "/README.txt").c_str(), 0600), 0);
       },
       1, "changed: README.txt", "a pipe"},
      {"a folder for the manifest",
       [](const std::string& d) {
         fs::remove(d + "/manifest.json");
         fs::create_directory(d + "/manifest.json");
       },
       1, "manifest_altered: manifest.json", "a folder"},
      {"a listed folder gone", [](const std::string& d) { fs::remove_all(d + "/audit"); }, 1, "missing: audit/chain.tsv",
       "audit is missing"},
  };
  int n = 0;
  for (const Case& k : cases) {
    const std::string d = t.File("h" + std::to_string(n++));
    fs::copy(good, d, fs::copy_options::recursive | fs::copy_options::copy_symlinks);
    k.alter(d);
    auto r = lineup_test::RunCli({"evidence", "verify", d});
    EXPECT_EQ(r.signal, 0) << k.name << ": " << r.err;
    EXPECT_EQ(r.exit_code, k.exit_code) << k.name << ": " << r.out << r.err;
    EXPECT_NE(r.out.find("NOT INTACT (" + k.said + ")"), std::string::npos) << k.name << ": " << r.out << r.err;
    EXPECT_NE(r.out.find(k.because), std::string::npos) << k.name << ": " << r.out;
    EXPECT_EQ(r.err.find("Sanitizer"), std::string::npos) << k.name << ": " << r.err;
    // The same with the key given, as JSON.
    auto j = lineup_test::RunCli({"evidence", "verify", d, "--key", key->PublicKeyBase64(), "--json"});
    EXPECT_EQ(j.signal, 0) << k.name << ": " << j.err;
    ASSERT_EQ(j.exit_code, k.exit_code) << k.name << ": " << j.out << j.err;
    const json answer = json::parse(j.out, nullptr, false);
    ASSERT_TRUE(answer.is_object()) << k.name << ": " << j.out;
    EXPECT_FALSE(answer["ok"].get<bool>());
    EXPECT_EQ(answer["problem"]["kind"].get<std::string>() + ": " + answer["problem"]["path"].get<std::string>(), k.said)
        << k.name;
    EXPECT_NE(answer["problem"]["message"].get<std::string>().find(k.because), std::string::npos) << k.name;
  }
  // Nothing to check: a file, or nothing, where the bundle should be (exit 2).
  for (const std::string& where : {good + "/README.txt", t.File("nowhere")}) {
    auto r = lineup_test::RunCli({"evidence", "verify", where});
    EXPECT_EQ(r.exit_code, 2) << where << ": " << r.out << r.err;
    EXPECT_NE((r.out + r.err).find("no such directory"), std::string::npos) << r.out << r.err;
  }
}

// ---------------------------------------------------------------- a case of real photos

class EvidenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LINEUP_REQUIRE_DATA(lfw_, "lfw/images");
    dir_ = tmp_.File("g");
    ASSERT_TRUE(Gallery::Init(dir_).ok());
    auto g = Gallery::Open(dir_, lineup::AnalyzerOptions{});
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    gallery_ = std::move(*g);
    lineup::SourceRecord s;
    s.name = "lfw";
    s.legal_basis = "LFW research licence (test)";
    ASSERT_TRUE(gallery_->catalog().AddSource(&s).ok());
    lineup::EnrollOptions eo;
    eo.source = "lfw";
    eo.subject_from_dir = true;
    auto rep = gallery_->Enroll({Lfw("George_W_Bush", 1), Lfw("George_W_Bush", 2), Lfw("Colin_Powell", 1),
                                 Lfw("Colin_Powell", 2), Lfw("Tony_Blair", 1), Lfw("Tony_Blair", 2)},
                                eo);
    ASSERT_TRUE(rep.ok()) << rep.status().ToString();
    auto cal = Calibration::ForModel(gallery_->model());
    ASSERT_TRUE(cal.ok());
    cal_ = *cal;
    const std::string db = dir_ + "/catalog.sqlite";
    audit_ = std::move(*AuditLog::Open(db));
    cases_ = std::move(*Cases::Open(db));
    auto a = lineup::FaceAnalyzer::Create(gallery_->analyzer_options());
    ASSERT_TRUE(a.ok());
    analyzer_ = std::move(*a);

    // Ana opens a case with Bob, searches for a Bush photo not in the gallery (keeping
    // the probe photo), marks the best candidate a possible match, and Bob confirms it.
    ASSERT_TRUE(audit_->Append("admin", "login", 0, "{}").ok());  // a record before the case's first
    auto c = cases_->Create("Robbery 2027-114", "warrant W-1", "ana");
    ASSERT_TRUE(c.ok());
    case_ = c->id;
    ASSERT_TRUE(cases_->AddMember(case_, "bob").ok());
    ASSERT_TRUE(audit_->Append("ana", "case_create", case_, R"({"title":"Robbery 2027-114"})").ok());
    ASSERT_TRUE(audit_->Append("someone", "login", 0, "{}").ok());  // another record in the chain between
    lineup::Investigations inv(gallery_.get(), cases_.get(), audit_.get(), cal_);
    lineup::SearchRequest req;
    req.case_id = case_;
    req.justification = "suspect in CCTV still, frame 114";
    req.probe.photo = ReadText(Lfw("George_W_Bush", 4));
    req.probe.name = "cctv-114.jpg";
    req.keep_probe_photo = true;
    req.all = true;
    req.top = 4;
    auto r = inv.Search(Analyst("ana"), req, analyzer_.get());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_FALSE(r->leads.empty());
    search_ = r->search_id;
    face_ = r->leads[0].candidate.face_id;
    EXPECT_EQ(r->leads[0].candidate.subject, "George_W_Bush");
    auto rv = cases_->Review(search_, face_, "ana", "possible_match", "same ear shape");
    ASSERT_TRUE(rv.ok());
    ASSERT_TRUE(audit_->Append("ana", "review", case_, json{{"review_id", rv->id}, {"verdict", "possible_match"}}.dump()).ok());
    ASSERT_TRUE(cases_->Confirm(rv->id, "bob").ok());
    ASSERT_TRUE(audit_->Append("bob", "confirm", case_, json{{"review_id", rv->id}}.dump()).ok());
  }
  std::string Lfw(const std::string& name, int i) {
    char b[16];
    std::snprintf(b, sizeof b, "_%04d.jpg", i);
    return lfw_ + "/" + name + "/" + name + b;
  }
  static Principal Analyst(const std::string& name) { return {0, name, Role::kAnalyst, "token", ""}; }
  lineup::Result<lineup::ExportResult> Export(const Principal& who, const std::string& out,
                                              const std::string& why = "disclosure to the defence") {
    CaseEvidence ev(gallery_.get(), cases_.get(), audit_.get(), cal_);
    ExportRequest req;
    req.case_id = case_;
    req.justification = why;
    req.out_dir = out;
    return ev.Export(who, req);
  }
  // A copy of the bundle to alter.
  std::string CopyOf(const std::string& bundle, const std::string& name, int n = -1) {
    const std::string to = tmp_.File(n < 0 ? name : name + std::to_string(n));
    fs::copy(bundle, to, fs::copy_options::recursive);
    return to;
  }
  lineup::BundleVerification Check(const std::string& dir, const std::string& key = "") {
    auto v = VerifyBundle(dir, key);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? *v : lineup::BundleVerification{};
  }
  // Writes `manifest` and signs it with `key`, as an exporter holding that key would.
  static void Resign(const std::string& dir, const std::string& manifest, const SigningKey& key) {
    lineup_test::WriteText(dir + "/manifest.json", manifest);
    lineup_test::WriteText(dir + "/manifest.sig", json{{"algorithm", "Ed25519"},
                                                         {"manifest_sha256", lineup::Sha256Hex(manifest)},
                                                         {"public_key", key.PublicKeyBase64()},
                                                         {"signature", key.Sign(manifest)}}
                                                        .dump());
  }
  // The manifest with `file`'s entry updated to its bytes now.
  static std::string Rehashed(const std::string& dir, const std::string& file) {
    json m = json::parse(ReadText(dir + "/manifest.json"));
    for (json& f : m["files"])
      if (f["path"] == file) {
        const std::string b = ReadText(dir + "/" + file);
        f["sha256"] = lineup::Sha256Hex(b);
        f["size"] = b.size();
      }
    return m.dump(1);
  }

  TempDir tmp_;
  std::string lfw_, dir_;
  std::unique_ptr<Gallery> gallery_;
  Calibration cal_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<Cases> cases_;
  std::unique_ptr<lineup::FaceAnalyzer> analyzer_;
  int64_t case_ = 0, search_ = 0, face_ = 0;
};

TEST_F(EvidenceTest, ExportHoldsTheCaseAndVerifies) {
  const std::string out = tmp_.File("bundle");
  auto r = Export(Analyst("ana"), out);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->searches, 1);
  EXPECT_EQ(r->candidates, 4);
  EXPECT_EQ(r->reviews, 1);
  EXPECT_EQ(r->audit_records, 4);  // case_create, search, review, confirm
  EXPECT_TRUE(r->warnings.empty());
  auto key = SigningKey::Load(dir_);
  ASSERT_TRUE(key.ok());  // made on first need
  EXPECT_EQ(r->fingerprint, key->Fingerprint());

  // The case record: authority, members, the search as shown, crops, reviews, rates.
  const json c = json::parse(ReadText(out + "/case.json"));
  EXPECT_EQ(c["format"], "lineup-evidence-v1");
  EXPECT_EQ(c["case"]["authority"], "warrant W-1");
  EXPECT_EQ(c["case"]["members"], json({"ana", "bob"}));
  ASSERT_EQ(c["searches"].size(), 1u);
  const json& s = c["searches"][0];
  EXPECT_EQ(s["justification"], "suspect in CCTV still, frame 114");
  EXPECT_EQ(s["probe_sha256"], lineup::Sha256Hex(ReadText(Lfw("George_W_Bush", 4))));
  EXPECT_EQ(ReadText(out + "/" + s["probe_photo"].get<std::string>()), ReadText(Lfw("George_W_Bush", 4)));
  EXPECT_GT(fs::file_size(out + "/" + s["probe_crop"].get<std::string>()), 1000u);
  EXPECT_EQ(s["model"], gallery_->model().Id());
  EXPECT_EQ(s["calibration"]["sha256"], cal_.sha256);
  EXPECT_TRUE(s["calibration_same_as_bundle"].get<bool>());
  EXPECT_EQ(lineup::Sha256Hex(ReadText(out + "/calibration/calibration.json")), cal_.sha256);
  EXPECT_GT(s["decision"]["threshold"].get<double>(), 0.3);
  const json& cand = s["candidates"][0];
  EXPECT_EQ(cand["face_id"], face_);
  EXPECT_EQ(cand["source"]["legal_basis"], "LFW research licence (test)");
  EXPECT_EQ(cand["image"]["sha256"], lineup::Sha256Hex(ReadText(Lfw("George_W_Bush", 1))) == cand["image"]["sha256"] ||
                                             lineup::Sha256Hex(ReadText(Lfw("George_W_Bush", 2))) == cand["image"]["sha256"]
                                         ? cand["image"]["sha256"]
                                         : json("not an enrolled Bush photo"));
  EXPECT_TRUE(cand.contains("fpir"));
  EXPECT_EQ(ReadText(out + "/" + cand["crop"].get<std::string>()), ReadText(gallery_->ThumbnailPath(face_)));
  ASSERT_EQ(cand["reviews"].size(), 1u);
  EXPECT_EQ(cand["reviews"][0]["verdict"], "possible_match");
  EXPECT_EQ(cand["reviews"][0]["confirmed_by"], "bob");
  const json& rates = s["error_rates"];
  EXPECT_GT(rates["fmr_per_comparison"].get<double>(), 0);
  EXPECT_LT(rates["fmr_per_comparison"].get<double>(), 0.01);
  EXPECT_GT(rates["fnmr_per_comparison"].get<double>(), 0);
  EXPECT_LT(rates["fnmr_per_comparison"].get<double>(), 0.5);
  EXPECT_TRUE(c["demographic_differentials"].contains("per_group_table"));

  // The audit records carry their chain: the one before the case's first to the head.
  const auto chain = lineup_test::Lines(ReadText(out + "/audit/chain.tsv"));
  const auto records = lineup_test::Lines(ReadText(out + "/audit/records.jsonl"));
  ASSERT_EQ(records.size(), 4u);
  const json first = json::parse(records[0]);
  EXPECT_EQ(chain.front().substr(0, chain.front().find('\t')), std::to_string(first["seq"].get<int64_t>() - 1));
  EXPECT_EQ(c["audit"]["head_seq"], r->audit_head_seq);
  EXPECT_LT(r->audit_head_seq, r->audit_seq);

  // The export's own record names the manifest's SHA-256.
  lineup::AuditFilter f;
  f.action = "case_export";
  auto exp = audit_->Records(f);
  ASSERT_TRUE(exp.ok());
  ASSERT_EQ(exp->size(), 1u);
  EXPECT_EQ((*exp)[0].actor, "ana");
  EXPECT_EQ((*exp)[0].case_id, case_);
  EXPECT_EQ(json::parse((*exp)[0].details)["manifest_sha256"], lineup::Sha256Hex(ReadText(out + "/manifest.json")));

  // Intact, with and without the key.
  auto v = Check(out, key->PublicKeyBase64());
  EXPECT_TRUE(v.ok) << v.message;
  EXPECT_TRUE(v.key_given);
  EXPECT_EQ(v.case_id, case_);
  EXPECT_EQ(v.audit_records, 4);
  EXPECT_TRUE(Check(out).ok);

  // The reports: the notice in the HTML, and on every page of the PDF.
  const std::string html = ReadText(out + "/report.html");
  EXPECT_NE(html.find("leads for human review, not identifications"), std::string::npos);
  EXPECT_NE(html.find("warrant W-1"), std::string::npos);
  EXPECT_NE(html.find("src=\"crops/face-" + std::to_string(face_) + ".jpg\""), std::string::npos);
  // Issue 17: the search's differentials sentence, linked to the per-group table of the
  // calibration, with a row for each LFW group at the calibrated thresholds and the search's.
  ASSERT_GE(cal_.group_curves.size(), 2u) << "the default model's calibration has no group curves";
  const std::string said = s["decision"]["differentials"]["text"];
  EXPECT_NE(html.find(lineup::HtmlEscape(said) + "</span> <a href=\"#differentials\">"), std::string::npos) << html;
  const size_t table = html.find("<h2 id=\"differentials\">");
  ASSERT_NE(table, std::string::npos) << html;
  const std::string section = html.substr(table);
  for (const auto& g : cal_.group_curves) {
    EXPECT_NE(section.find("<tr><td>" + g.group + "</td><td>" + Thousands(g.genuine_comparisons) + "</td><td>" +
                           Thousands(g.impostor_comparisons) + "</td>"),
              std::string::npos)
        << g.group << "'s pairs are not in the table:\n" << section;
    EXPECT_GE(Count(section, "</td><td>" + g.group + "</td>"), 4) << g.group << ": not a row per threshold";
  }
  const json& rows = c["demographic_differentials"]["per_group_table"]["rows"];
  ASSERT_EQ(rows.size(), 4u) << "FMR 1e-3, 1e-4, 1e-5 and the search's threshold";
  EXPECT_EQ(rows[3]["label"], "search " + std::to_string(search_));
  EXPECT_NEAR(rows[3]["threshold"].get<double>(), s["threshold"].get<double>(), 1e-6);
  EXPECT_NE(section.find("(search " + std::to_string(search_) + ")</td><td>"), std::string::npos) << section;
  const std::string pdf = ReadText(out + "/report.pdf");
  ASSERT_EQ(pdf.substr(0, 5), "%PDF-");
  auto text = lineup_test::Run({"/usr/bin/pdftotext", "-layout", out + "/report.pdf", "-"});
  if (text.exit_code == 0) {
    int pages = 1;
    for (char ch : text.out) pages += ch == '\f';
    if (!text.out.empty() && text.out.back() == '\f') --pages;
    int notices = 0;
    for (size_t at = 0; (at = text.out.find("not identifications. Case", at)) != std::string::npos; ++at) ++notices;
    EXPECT_GE(pages, 2);
    EXPECT_EQ(notices, pages) << text.out;
    EXPECT_NE(text.out.find("same ear shape"), std::string::npos);
    // The per-group table, in its own section: a row for each LFW group's pairs, and
    // each group's rates at this search's threshold.
    const size_t section = text.out.find("Demographic differentials\n");
    ASSERT_NE(section, std::string::npos) << text.out;
    const auto lines = lineup_test::Lines(text.out.substr(section));
    for (const auto& g : cal_.group_curves) {
      const std::string counts = Thousands(g.genuine_comparisons) + " ", impostors = Thousands(g.impostor_comparisons);
      EXPECT_TRUE(std::any_of(lines.begin(), lines.end(), [&](const std::string& l) {
        return std::regex_search(l, std::regex("^\\s*" + g.group + "\\s+" + counts + "\\s*" + impostors + "\\s"));
      })) << g.group << " has no row of pairs in the PDF:\n" << text.out.substr(section);
    }
    EXPECT_NE(text.out.find("(search " + std::to_string(search_) + ")"), std::string::npos) << text.out.substr(section);
    EXPECT_NE(text.out.find("1 (best)"), std::string::npos);
    // The search's sentence links to the section.
    EXPECT_NE(pdf.find("/Subtype /Link"), std::string::npos) << "no link in the PDF";
  } else {
    ADD_FAILURE() << "pdftotext (poppler-utils, scripts/setup.sh) is needed to read the report back";
  }
  // The out directory now exists: a second export there is refused.
  EXPECT_EQ(Export(Analyst("ana"), out).status().code(), Status::Code::kInvalidArgument);
}

TEST_F(EvidenceTest, OnlyMembersAndAuditorsExport) {
  // A non-member analyst, an admin and an enroller are refused, and each refusal is recorded.
  for (Principal who : {Analyst("eve"), Principal{0, "root", Role::kAdmin, "session", ""},
                        Principal{0, "enr", Role::kEnroller, "token", ""}}) {
    auto r = Export(who, tmp_.File("x-" + who.name));
    EXPECT_EQ(r.status().code(), Status::Code::kPermissionDenied) << who.name;
    EXPECT_FALSE(fs::exists(tmp_.File("x-" + who.name)));
  }
  lineup::AuditFilter f;
  f.action = "case_export_refused";
  auto refused = audit_->Records(f);
  ASSERT_TRUE(refused.ok());
  ASSERT_EQ(refused->size(), 3u);
  EXPECT_EQ((*refused)[0].actor, "eve");
  EXPECT_EQ((*refused)[0].case_id, case_);
  // Signed-in callers say why; a member and an auditor may.
  EXPECT_EQ(Export(Analyst("bob"), tmp_.File("b0"), "").status().code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(Export(Analyst("bob"), tmp_.File("b1")).ok());
  EXPECT_TRUE(Export(Principal{0, "aud", Role::kAuditor, "session", ""}, tmp_.File("b2")).ok());
  // A closed case is exported too: that is when courts ask.
  ASSERT_TRUE(cases_->Close(case_, "ana").ok());
  EXPECT_TRUE(Export(lineup::LocalPrincipal("op"), tmp_.File("b3"), "").ok());
  EXPECT_EQ(Export(Analyst("ana"), tmp_.File("nodir/b4")).status().code(), Status::Code::kInvalidArgument);
}

TEST_F(EvidenceTest, EveryChangeIsFoundAndNamed) {
  const std::string out = tmp_.File("bundle");
  auto r = Export(Analyst("ana"), out);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const std::string key = SigningKey::Load(dir_)->PublicKeyBase64();
  const json c = json::parse(ReadText(out + "/case.json"));
  const std::string crop = c["searches"][0]["candidates"][0]["crop"];
  const std::string probe = c["searches"][0]["probe_crop"];

  struct Case {
    const char* name;
    std::function<void(const std::string&)> alter;
    BundleProblemKind kind;
    std::string path;
  };
  auto flip = [](const std::string& file, size_t at) {
    auto b = lineup_test::ReadBytes(file);
    b[std::min(at, b.size() - 1)] ^= 0x01;
    lineup_test::WriteBytes(file, b);
  };
  auto replace = [](const std::string& file, const std::string& from, const std::string& to) {
    std::string t = ReadText(file);
    const size_t at = t.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    t.replace(at, from.size(), to);
    lineup_test::WriteText(file, t);
  };
  const std::vector<Case> cases = {
      {"a crop", [&](const std::string& d) { flip(d + "/" + crop, 700); }, BundleProblemKind::kChanged, crop},
      {"the probe's crop", [&](const std::string& d) { fs::remove(d + "/" + probe); }, BundleProblemKind::kMissing, probe},
      {"the HTML report", [&](const std::string& d) { replace(d + "/report.html", "possible match", "match"); },
       BundleProblemKind::kChanged, "report.html"},
      {"the PDF report", [&](const std::string& d) { flip(d + "/report.pdf", 2000); }, BundleProblemKind::kChanged,
       "report.pdf"},
      {"the JSON records", [&](const std::string& d) { replace(d + "/case.json", "warrant W-1", "warrant W-2"); },
       BundleProblemKind::kChanged, "case.json"},
      {"an audit record", [&](const std::string& d) { replace(d + "/audit/records.jsonl", "\"actor\":\"bob\"", "\"actor\":\"ana\""); },
       BundleProblemKind::kChanged, "audit/records.jsonl"},
      {"the manifest", [&](const std::string& d) { replace(d + "/manifest.json", "\"case.json\"", "\"case.jsom\""); },
       BundleProblemKind::kManifestAltered, "manifest.json"},
      {"the signature",
       [&](const std::string& d) {
         json s = json::parse(ReadText(d + "/manifest.sig"));
         std::string sig = s["signature"];
         sig[10] = sig[10] == 'A' ? 'B' : 'A';
         s["signature"] = sig;
         lineup_test::WriteText(d + "/manifest.sig", s.dump());
       },
       BundleProblemKind::kBadSignature, "manifest.sig"},
      {"no signature", [&](const std::string& d) { fs::remove(d + "/manifest.sig"); }, BundleProblemKind::kBadSignature,
       "manifest.sig"},
      {"an added file", [&](const std::string& d) { lineup_test::WriteText(d + "/crops/face-999.jpg", "x"); },
       BundleProblemKind::kAdded, "crops/face-999.jpg"},
      {"an added folder", [&](const std::string& d) { fs::create_directory(d + "/extra"); }, BundleProblemKind::kAdded,
       "extra"},
      {"a removed file", [&](const std::string& d) { fs::remove(d + "/report.html"); }, BundleProblemKind::kMissing,
       "report.html"},
      {"a symlink for a file",
       [&](const std::string& d) {
         fs::remove(d + "/" + crop);
         fs::create_symlink("/etc/hostname", d + "/" + crop);
       },
       BundleProblemKind::kChanged, crop},
      {"the manifest removed", [&](const std::string& d) { fs::remove(d + "/manifest.json"); },
       BundleProblemKind::kMissing, "manifest.json"},
  };
  int n = 0;
  for (const Case& k : cases) {
    const std::string d = CopyOf(out, "t", n++);
    k.alter(d);
    auto v = Check(d, key);
    EXPECT_FALSE(v.ok) << k.name;
    EXPECT_EQ(lineup::BundleProblemName(v.problem), std::string(lineup::BundleProblemName(k.kind))) << k.name << ": " << v.message;
    EXPECT_EQ(v.path, k.path) << k.name << ": " << v.message;
  }

  // Altered, then re-signed by someone else's key: intact by that key, refused by the
  // gallery's.
  TempDir other;
  ASSERT_TRUE(Gallery::Init(other.File("g")).ok());
  auto forger = SigningKey::LoadOrCreate(other.File("g"), nullptr, "x");
  ASSERT_TRUE(forger.ok());
  const std::string forged = CopyOf(out, "forged");
  flip(forged + "/" + crop, 700);
  std::string m = Rehashed(forged, crop);
  json mj = json::parse(m);
  mj["signing_key"]["public_key"] = forger->PublicKeyBase64();
  Resign(forged, mj.dump(1), *forger);
  EXPECT_TRUE(Check(forged).ok);
  EXPECT_NE(Check(forged).fingerprint, SigningKey::Load(dir_)->Fingerprint());
  auto v = Check(forged, key);
  EXPECT_EQ(v.problem, BundleProblemKind::kBadSignature) << v.message;

  // An audit record altered and the bundle re-signed with the gallery's own key (an
  // exporter that lies): the chain inside gives it away, naming the record.
  const std::string lied = CopyOf(out, "lied");
  replace(lied + "/audit/records.jsonl", "\"actor\":\"bob\"", "\"actor\":\"eve\"");
  Resign(lied, Rehashed(lied, "audit/records.jsonl"), *SigningKey::Load(dir_));
  v = Check(lied, key);
  EXPECT_EQ(v.problem, BundleProblemKind::kAuditChain) << v.message;
  EXPECT_EQ(v.path, "audit/records.jsonl");
  EXPECT_NE(v.message.find("was altered"), std::string::npos) << v.message;
  // ... and a chain line dropped between two records.
  const std::string gap = CopyOf(out, "gap");
  auto lines = lineup_test::Lines(ReadText(gap + "/audit/chain.tsv"));
  ASSERT_GE(lines.size(), 3u);
  lines.erase(lines.begin() + 1);
  std::string t;
  for (const auto& l : lines) t += l + "\n";
  lineup_test::WriteText(gap + "/audit/chain.tsv", t);
  Resign(gap, Rehashed(gap, "audit/chain.tsv"), *SigningKey::Load(dir_));
  v = Check(gap, key);
  EXPECT_EQ(v.problem, BundleProblemKind::kAuditChain) << v.message;
  EXPECT_EQ(v.path, "audit/chain.tsv");
}

TEST_F(EvidenceTest, HostileBundlesAreRefusedCleanly) {
  const std::string out = tmp_.File("bundle");
  ASSERT_TRUE(Export(Analyst("ana"), out).ok());
  auto key = SigningKey::Load(dir_);
  ASSERT_TRUE(key.ok());
  const std::string manifest = ReadText(out + "/manifest.json");
  const json m = json::parse(manifest);
  auto with_files = [&](const json& files) {
    json x = m;
    x["files"] = files;
    return x.dump();
  };
  const json one = m["files"][0];
  auto entry = [&](const json& path, const json& size) {
    json e = one;
    e["path"] = path;
    e["size"] = size;
    return e;
  };
  // Each signed by the gallery's own key, so that the parser itself is what refuses them.
  const std::vector<std::pair<std::string, std::string>> hostile = {
      {"truncated", manifest.substr(0, manifest.size() / 2)},
      {"garbage", std::string("\x00\xff{[\"", 5) + std::string(1000, '\x7f')},
      {"not an object", "[1,2,3]"},
      {"no files", json{{"format", "lineup-evidence-manifest-v1"}, {"case_id", 1}}.dump()},
      {"path traversal", with_files({entry("../x", 1)})},
      {"deep traversal", with_files({entry("crops/../../../etc/passwd", 1)})},
      {"absolute path", with_files({entry("/etc/passwd", 1)})},
      {"the signature listed", with_files({entry("manifest.sig", 1)})},
      {"a path that is a number", with_files({entry(7, 1)})},
      {"huge size", with_files({entry("case.json", json::parse("1e30"))})},
      {"size past 2^63", with_files({entry("case.json", json::parse("18446744073709551615"))})},
      {"negative size", with_files({entry("case.json", -5)})},
      {"twice", with_files({one, one})},
      {"no case", [&] {
         json x = m;
         x.erase("case_id");
         return x.dump();
       }()},
  };
  int n = 0;
  for (const auto& [name, text] : hostile) {
    const std::string d = CopyOf(out, "h", n++);
    Resign(d, text, *key);
    auto v = Check(d, key->PublicKeyBase64());
    EXPECT_FALSE(v.ok) << name;
    EXPECT_EQ(v.problem, BundleProblemKind::kManifestAltered) << name << ": " << v.message;
  }
  // A signature file that is garbage, or too big to be one.
  for (const std::string& sig : {std::string("{\"algorithm\":\"Ed25519\""), std::string(100000, '{'),
                                 std::string("{\"algorithm\":\"Ed25519\",\"public_key\":\"../../x\",\"manifest_sha256\":"
                                             "\"00\",\"signature\":\"x\"}")}) {
    const std::string d = CopyOf(out, "s", n++);
    lineup_test::WriteText(d + "/manifest.sig", sig);
    auto v = Check(d);
    EXPECT_EQ(v.problem, BundleProblemKind::kBadSignature) << v.message;
  }
  // A huge file put in place of one listed: found by its size before it is read.
  const std::string d = CopyOf(out, "big");
  {
    std::ofstream f(d + "/case.json", std::ios::binary | std::ios::trunc);
    f.seekp((1ll << 32) - 1);
    f.put('x');
  }
  auto v = Check(d, key->PublicKeyBase64());
  EXPECT_EQ(v.problem, BundleProblemKind::kChanged);
  EXPECT_EQ(v.path, "case.json");
}

TEST_F(EvidenceTest, CommandLine) {
  // lineup init makes the key with the gallery, and key show prints its public half.
  const std::string fresh = tmp_.File("fresh");
  auto init = lineup_test::RunCli({"init", fresh, "--json"});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  struct stat st {};
  ASSERT_EQ(::stat((fresh + "/signing_key.ed25519").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto show = lineup_test::RunCli({"key", "show", "--gallery", fresh, "--json"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  const json k = json::parse(show.out);
  EXPECT_EQ(k["fingerprint"], json::parse(init.out)["signing_key_fingerprint"]);
  const std::string secret = ReadText(fresh + "/signing_key.ed25519");
  EXPECT_EQ(show.out.find(secret.substr(secret.find(' ') + 1, 43)), std::string::npos);

  // This case, exported by a local operator beside the open gallery, then verified.
  gallery_.reset();
  const std::string out = tmp_.File("cli-bundle");
  auto ex = lineup_test::RunCli({"case", "export", std::to_string(case_), "--out", out, "--gallery", dir_, "--json"});
  ASSERT_EQ(ex.exit_code, 0) << ex.err << ex.out;
  EXPECT_EQ(json::parse(ex.out)["searches"], 1);
  auto gk = lineup_test::RunCli({"key", "show", "--gallery", dir_, "--json"});
  const std::string key = json::parse(gk.out)["public_key"];
  auto ok = lineup_test::RunCli({"evidence", "verify", out, "--key", key, "--json"});
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
  EXPECT_TRUE(json::parse(ok.out)["ok"].get<bool>());
  auto text = lineup_test::RunCli({"evidence", "verify", out});
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_NE(text.out.find("INTACT"), std::string::npos) << text.out;
  lineup_test::WriteText(out + "/notes.txt", "added");
  auto bad = lineup_test::RunCli({"evidence", "verify", out, "--key", key, "--json"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(json::parse(bad.out)["problem"]["kind"], "added");
  EXPECT_EQ(json::parse(bad.out)["problem"]["path"], "notes.txt");
  EXPECT_EQ(lineup_test::RunCli({"evidence", "verify", tmp_.File("nothing")}).exit_code, 2);
  EXPECT_EQ(lineup_test::RunCli({"evidence", "verify", out, "--key", "nonsense"}).exit_code, 2);
  EXPECT_EQ(lineup_test::RunCli({"case", "export", "1"}).exit_code, 2);  // no --out
}

}  // namespace
