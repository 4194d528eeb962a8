// Tests of what a search may call a lead, and of searches, verifications and detections
// as accountable acts (investigations.h, admission.h): faces a gallery must not admit,
// candidates withheld, probes too poor to decide on, the per-search decision, who may
// search, and the record each act leaves in the audit log and the case.
#include <filesystem>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "lineup/admission.h"
#include "lineup/calibration.h"
#include "lineup/gallery.h"
#include "lineup/investigations.h"
#include "lineup/models.h"
#include "test_util.h"

namespace {

using lineup::AdmissionFailures;
using lineup::AdmissionRules;
using lineup::AnalyzerOptions;
using lineup::AuditLog;
using lineup::Calibration;
using lineup::Cases;
using lineup::Face;
using lineup::FaceAnalyzer;
using lineup::Gallery;
using lineup::Investigations;
using lineup::Principal;
using lineup::Role;
using lineup::SearchRequest;
using lineup::Status;
using lineup_test::TempDir;

TEST(Admission, EachRuleSaysWhy) {
  Face f;
  f.box = {0, 0, 20, 30};
  f.confidence = 0.85f;
  f.quality.score = 0.05f;
  f.certainty = 0.5f;
  auto why = AdmissionFailures(f);
  ASSERT_EQ(why.size(), 4u);
  EXPECT_EQ(why[0], "too small (30 px tall, under 32)");
  EXPECT_NE(why[1].find("uncertain detection (confidence 0.85"), std::string::npos) << why[1];
  EXPECT_NE(why[2].find("unusable quality"), std::string::npos) << why[2];
  EXPECT_NE(why[3].find("not recognisable as a face"), std::string::npos) << why[3];
  f.box.height = 120;
  f.confidence = 0.99f;
  f.quality.score = 0.8f;
  f.certainty = 0.9f;
  EXPECT_TRUE(AdmissionFailures(f).empty());
  f.certainty = -1;  // not measured: that rule does not apply
  EXPECT_TRUE(AdmissionFailures(f).empty());
  lineup::FaceRecord stored;
  stored.box = f.box;
  stored.confidence = 0.99f;
  stored.quality = 0.8f;
  EXPECT_TRUE(AdmissionFailures(stored).empty());
  stored.excluded = "kept flagged";
  ASSERT_EQ(AdmissionFailures(stored).size(), 1u);
  stored.excluded.clear();
  stored.quality = 0.02f;  // a face of a gallery filled before the rules
  EXPECT_EQ(AdmissionFailures(stored).size(), 1u);
}

TEST(SearchThreshold, TargetFpirFollowsTheGallerysSize) {
  Calibration c;
  c.impostor_comparisons = 100000000;
  c.points = {{1e-2, 0.25f}, {1e-3, 0.34f}, {1e-4, 0.42f}, {1e-5, 0.49f}, {1e-6, 0.63f}, {1e-7, 0.70f}};
  auto one = c.ForSearch(0.01, 1);
  ASSERT_TRUE(one.ok());
  EXPECT_NEAR(one->fmr, 0.01, 1e-9);
  EXPECT_NEAR(one->threshold, 0.25f, 1e-5);
  auto k = c.ForSearch(0.01, 1000);
  ASSERT_TRUE(k.ok());
  EXPECT_NEAR(k->fmr, 1.00503e-5, 1e-9);  // 1 - 0.99^(1/1000)
  EXPECT_NEAR(k->fpir, 0.01, 1e-9);
  EXPECT_GT(k->threshold, 0.48f);
  EXPECT_LT(k->threshold, 0.49f);
  EXPECT_FALSE(k->beyond_calibration);
  EXPECT_NE(k->Describe().find("FPIR 1% for a search of 1,000 faces"), std::string::npos) << k->Describe();
  // A gallery so large that FPIR 1% needs a rate below what was measured: the most
  // conservative threshold, and the FPIR it really gives.
  auto huge = c.ForSearch(0.01, 1000000000);
  ASSERT_TRUE(huge.ok());
  EXPECT_TRUE(huge->beyond_calibration);
  EXPECT_FLOAT_EQ(huge->threshold, 0.70f);
  EXPECT_GT(huge->fpir, 0.99);
  EXPECT_NE(huge->Describe().find("most conservative"), std::string::npos) << huge->Describe();
  // An expert's FMR: what it means per search.
  auto expert = c.ForComparison(1e-3, 258);
  ASSERT_TRUE(expert.ok());
  EXPECT_NEAR(expert->fpir, 1 - std::pow(1 - 1e-3, 258), 1e-9);
  EXPECT_EQ(expert->target_fpir, 0);
  EXPECT_FALSE(c.ForSearch(0, 10).ok());
  EXPECT_FALSE(c.ForSearch(1, 10).ok());
  EXPECT_NEAR(c.FpirAt(0.34f, 1000), 1 - std::pow(1 - 1e-3, 1000), 1e-6);
}

// A gallery of real photos: LFW people, and deepface/img54.jpg, whose two blurred
// background boxes fail admission.
class InvestigationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LINEUP_REQUIRE_DATA(lfw_, "lfw/images");
    LINEUP_REQUIRE_DATA(deepface_, "deepface");
    dir_ = tmp_.File("g");
    ASSERT_TRUE(Gallery::Init(dir_).ok());
    auto g = Gallery::Open(dir_, AnalyzerOptions{});
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    gallery_ = std::move(*g);
    lineup::SourceRecord s;
    s.name = "test";
    s.legal_basis = "test photos";
    ASSERT_TRUE(gallery_->catalog().AddSource(&s).ok());
    auto cal = Calibration::ForModel(gallery_->model());
    ASSERT_TRUE(cal.ok()) << cal.status().ToString();
    cal_ = *cal;
    auto a = FaceAnalyzer::Create(gallery_->analyzer_options());
    ASSERT_TRUE(a.ok());
    analyzer_ = std::move(*a);
    const std::string db = dir_ + "/catalog.sqlite";
    auto audit = AuditLog::Open(db);
    auto cases = Cases::Open(db);
    ASSERT_TRUE(audit.ok() && cases.ok());
    audit_ = std::move(*audit);
    cases_ = std::move(*cases);
  }
  std::string Lfw(const std::string& name, int i) {
    char b[16];
    std::snprintf(b, sizeof b, "_%04d.jpg", i);
    return lfw_ + "/" + name + "/" + name + b;
  }
  lineup::EnrollReport Enrol(const std::vector<std::string>& files, bool all_faces, const std::string& subject = "") {
    lineup::EnrollOptions eo;
    eo.source = "test";
    eo.all_faces = all_faces;
    eo.subject = subject;
    auto r = gallery_->Enroll(files, eo);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : lineup::EnrollReport{};
  }
  std::string Bytes(const std::string& path) {
    auto b = lineup_test::ReadBytes(path);
    return std::string(b.begin(), b.end());
  }
  // An LFW photo shrunk and blurred until its face is still found but is past use
  // (quality 0): a far-away, out-of-focus face from a video frame.
  std::string UselessFace() {
    cv::Mat m = cv::imread(Lfw("Aaron_Eckhart", 1)), small;
    cv::resize(m, small, cv::Size(), 0.35, 0.35, cv::INTER_AREA);
    cv::GaussianBlur(small, small, cv::Size(0, 0), 1.2);
    std::vector<uchar> png;
    cv::imencode(".png", small, png);
    return std::string(png.begin(), png.end());
  }
  Principal Analyst(const std::string& name) { return {0, name, Role::kAnalyst, "token", ""}; }

  TempDir tmp_;
  std::string lfw_, deepface_, dir_;
  std::unique_ptr<Gallery> gallery_;
  Calibration cal_;
  std::unique_ptr<FaceAnalyzer> analyzer_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<Cases> cases_;
};

TEST_F(InvestigationsTest, JunkIsLeftOutOrKeptFlaggedAndNeverALead) {
  auto r = Enrol({deepface_ + "/img54.jpg"}, false);
  EXPECT_EQ(r.faces, 1);
  ASSERT_EQ(r.left_out.size(), 2u);
  for (const auto& l : r.left_out) {
    EXPECT_NE(l.reason.find("uncertain detection"), std::string::npos) << l.reason;
    EXPECT_GT(l.face, 1);
  }
  // Kept with all_faces: stored with the reason, never a lead even against itself.
  auto f = Enrol({Lfw("Aaron_Eckhart", 1), deepface_ + "/img59.jpg"}, true);
  TempDir t2;
  const std::string flagged_photo = t2.File("img54_again.jpg");
  {
    // The same picture under other bytes, so that it is not skipped as a duplicate.
    cv::Mat m = cv::imread(deepface_ + "/img54.jpg");
    ASSERT_TRUE(cv::imwrite(flagged_photo, m));
  }
  auto k = Enrol({flagged_photo}, true);
  ASSERT_GE(k.flagged, 1);
  int64_t flagged_id = 0;
  auto ids = gallery_->catalog().FaceIds();
  ASSERT_TRUE(ids.ok());
  for (int64_t id : *ids) {
    auto fr = gallery_->catalog().GetFace(id);
    ASSERT_TRUE(fr.ok());
    if (!fr->excluded.empty()) flagged_id = id;
  }
  ASSERT_GT(flagged_id, 0);
  const float* v = gallery_->StoredVector(flagged_id);
  ASSERT_NE(v, nullptr);
  Investigations inv(gallery_.get(), cases_.get(), audit_.get(), cal_);
  SearchRequest req;
  req.probe.vector.assign(v, v + gallery_->model().dim);
  req.all = true;
  auto res = inv.Search(lineup::LocalPrincipal("tester"), req, nullptr);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  bool seen = false;
  for (const auto& l : res->leads) {
    if (l.candidate.face_id != flagged_id) continue;
    seen = true;
    EXPECT_GT(l.candidate.score, res->threshold.threshold);
    EXPECT_FALSE(l.above_threshold);
    EXPECT_NE(l.withheld.find("fails admission"), std::string::npos) << l.withheld;
  }
  EXPECT_TRUE(seen);
  EXPECT_EQ(res->LeadCount(), 0);
}

TEST_F(InvestigationsTest, SearchDecidesPerSearchAndIsRecorded) {
  Enrol({Lfw("Aaron_Eckhart", 1), Lfw("Colin_Powell", 1), Lfw("George_W_Bush", 1)}, false);
  Investigations inv(gallery_.get(), cases_.get(), audit_.get(), cal_);
  // Analysts need an open case they belong to, and a justification.
  SearchRequest req;
  req.probe.photo = Bytes(Lfw("Colin_Powell", 2));
  req.probe.name = "powell2.jpg";
  EXPECT_EQ(inv.Search(Analyst("ana"), req, analyzer_.get()).status().code(), Status::Code::kInvalidArgument);
  auto c = cases_->Create("Case", "warrant 1", "ana");
  ASSERT_TRUE(c.ok());
  req.case_id = c->id;
  EXPECT_EQ(inv.Search(Analyst("ana"), req, analyzer_.get()).status().code(), Status::Code::kInvalidArgument)
      << "no justification";
  req.justification = "not utf-8: \xff\xfe";
  EXPECT_EQ(inv.Search(Analyst("ana"), req, analyzer_.get()).status().code(), Status::Code::kInvalidArgument);
  req.justification = "suspect in CCTV still";
  EXPECT_EQ(inv.Search(Analyst("bob"), req, analyzer_.get()).status().code(), Status::Code::kPermissionDenied);
  EXPECT_EQ(inv.Search({0, "aud", Role::kAuditor, "token", ""}, req, analyzer_.get()).status().code(),
            Status::Code::kPermissionDenied);
  auto before = audit_->Records();
  ASSERT_TRUE(before.ok());
  auto res = inv.Search(Analyst("ana"), req, analyzer_.get());
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  // The decision: FPIR 1% for a gallery of 3 faces.
  EXPECT_EQ(res->gallery_size, 3);
  EXPECT_DOUBLE_EQ(res->threshold.target_fpir, 0.01);
  EXPECT_NEAR(res->threshold.fpir, 0.01, 1e-6);
  ASSERT_EQ(res->LeadCount(), 1);
  EXPECT_EQ(res->leads.front().candidate.image.uri.find("Colin_Powell_0001") != std::string::npos, true);
  // Recorded: the case holds the search as shown, the audit log its record.
  EXPECT_GT(res->search_id, 0);
  auto shown = inv.RecordedSearch(Analyst("ana"), res->search_id);
  ASSERT_TRUE(shown.ok()) << shown.status().ToString();
  EXPECT_EQ((*shown)["candidates"].size(), res->leads.size());
  EXPECT_EQ((*shown)["candidates"][0]["source"]["legal_basis"], "test photos");
  EXPECT_EQ((*shown)["justification"], "suspect in CCTV still");
  EXPECT_TRUE((*shown)["reviews"].empty());
  EXPECT_EQ(inv.RecordedSearch(Analyst("bob"), res->search_id).status().code(), Status::Code::kPermissionDenied);
  auto after = audit_->Records();
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->size(), before->size() + 1);
  EXPECT_EQ(after->back().action, "search");
  EXPECT_EQ(after->back().actor, "ana");
  EXPECT_EQ(after->back().case_id, c->id);
  // A closed case takes no more searches.
  ASSERT_TRUE(cases_->Close(c->id, "ana").ok());
  EXPECT_EQ(inv.Search(Analyst("ana"), req, analyzer_.get()).status().code(), Status::Code::kFailedPrecondition);
  // A local operator may search without a case, and is recorded as cli:<user>.
  SearchRequest local = req;
  local.case_id = 0;
  local.justification.clear();
  auto lr = inv.Search(lineup::LocalPrincipal("tester"), local, analyzer_.get());
  ASSERT_TRUE(lr.ok()) << lr.status().ToString();
  auto last = audit_->Records();
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->back().actor, "cli:tester");
  EXPECT_EQ(last->back().action, "search");
}

TEST_F(InvestigationsTest, AProbeTooPoorToDecideGetsNoLeadAndVerifyCannotDecide) {
  Enrol({Lfw("Aaron_Eckhart", 1), Lfw("Colin_Powell", 2), Lfw("Colin_Powell", 1)}, false);
  Investigations inv(gallery_.get(), cases_.get(), audit_.get(), cal_);
  SearchRequest req;
  req.probe.photo = UselessFace();
  req.probe.name = "far-away.png";
  req.all = true;
  auto res = inv.Search(lineup::LocalPrincipal("tester"), req, analyzer_.get());
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_LT(res->probe.quality, 0.01f);
  EXPECT_TRUE(res->undecided);
  EXPECT_EQ(res->LeadCount(), 0);
  for (const auto& l : res->leads)
    if (l.candidate.score >= res->threshold.threshold) {
      EXPECT_EQ(l.withheld, "probe too poor to decide");
    }
  ASSERT_FALSE(res->warnings.empty());
  EXPECT_NE(res->warnings.front().find("TOO POOR TO DECIDE"), std::string::npos) << res->warnings.front();

  lineup::VerifyRequest v;
  v.a.photo = UselessFace();
  v.a.name = "far-away.png";
  v.b.photo = Bytes(Lfw("Colin_Powell", 2));
  v.b.name = "powell2.jpg";
  auto vr = inv.Verify(lineup::LocalPrincipal("tester"), v, *analyzer_);
  ASSERT_TRUE(vr.ok()) << vr.status().ToString();
  EXPECT_EQ(vr->decision, "undecided");
  EXPECT_NE(vr->reason.find("first face"), std::string::npos) << vr->reason;
  // Two good faces are decided.
  v.a.photo = Bytes(Lfw("Colin_Powell", 1));
  auto same = inv.Verify(lineup::LocalPrincipal("tester"), v, *analyzer_);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->decision, "same");
}

TEST_F(InvestigationsTest, ErasedPhotosAreNotBroughtBackUnasked) {
  const std::string photo = Lfw("Colin_Powell", 1);
  auto first = Enrol({photo}, false, "Colin Powell");
  ASSERT_EQ(first.faces, 1);
  EXPECT_EQ(gallery_->Erase("subject", "Colin Powell", "").status().code(), Status::Code::kInvalidArgument)
      << "an erasure needs a reason";
  ASSERT_TRUE(gallery_->Erase("subject", "Colin Powell", "his request of 2026-12-01").ok());
  auto again = Enrol({photo}, false, "Colin Powell");
  EXPECT_EQ(again.faces, 0);
  EXPECT_EQ(again.duplicates, 0) << "it is not 'already in the gallery'";
  EXPECT_EQ(again.erased_before, 1);
  ASSERT_EQ(again.problems.size(), 1u);
  EXPECT_NE(again.problems[0].second.find("erased from the gallery on"), std::string::npos) << again.problems[0].second;
  EXPECT_NE(again.problems[0].second.find("his request"), std::string::npos);
  EXPECT_NE(again.problems[0].second.find("--allow-erased"), std::string::npos);
  lineup::EnrollOptions eo;
  eo.source = "test";
  eo.allow_erased = true;
  auto back = gallery_->Enroll({photo}, eo);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->faces, 1);
  // The same for a photo erased by its hash.
  auto img = gallery_->catalog().FindImageBySha256(lineup::Sha256Hex(Bytes(photo)));
  ASSERT_TRUE(img.ok() && *img);
  ASSERT_TRUE(gallery_->Erase("image", (*img)->sha256, "wrong source").ok());
  auto third = Enrol({photo}, false);
  EXPECT_EQ(third.erased_before, 1);
  EXPECT_EQ(third.faces, 0);
}

TEST_F(InvestigationsTest, ReadOnlyBesideAWriter) {
  Enrol({Lfw("Aaron_Eckhart", 1), Lfw("Colin_Powell", 1)}, false);
  // The writer still holds the gallery.
  auto ro = Gallery::OpenReadOnly(dir_, AnalyzerOptions{});
  ASSERT_TRUE(ro.ok()) << ro.status().ToString();
  EXPECT_EQ((*ro)->size(), 2);
  EXPECT_EQ((*ro)->Enroll({Lfw("George_W_Bush", 1)}, {}).status().code(), Status::Code::kFailedPrecondition);
  EXPECT_EQ((*ro)->Erase("source", "test", "x").status().code(), Status::Code::kFailedPrecondition);
  EXPECT_EQ((*ro)->Compact().code(), Status::Code::kFailedPrecondition);
  // A gallery that was never filled reads as empty.
  const std::string empty = tmp_.File("empty");
  ASSERT_TRUE(Gallery::Init(empty).ok());
  auto e = Gallery::OpenReadOnly(empty, AnalyzerOptions{});
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ((*e)->size(), 0);
  EXPECT_FALSE(std::filesystem::exists(empty + "/vectors.log")) << "reading wrote nothing";
}

}  // namespace
