// Gallery: catalog, vector log, enrolment (idempotent, resumable after kill -9) and search.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "lineup/catalog.h"
#include "lineup/gallery.h"
#include "lineup/models.h"
#include "lineup/vector_log.h"
#include "test_util.h"

namespace {

using lineup::Catalog;
using lineup::Gallery;
using lineup::SourceRecord;
using lineup::Status;
using lineup::VectorLog;
using lineup_test::TempDir;
namespace fs = std::filesystem;

std::vector<float> Vec(int dim, float seed) {
  std::vector<float> v(static_cast<size_t>(dim));
  for (int i = 0; i < dim; ++i) v[static_cast<size_t>(i)] = std::sin(seed * (i + 1));
  return v;
}

TEST(VectorLog, AppendsReopensAndRefusesAnotherModel) {
  TempDir t;
  const std::string p = t.File("v.log");
  {
    auto log = VectorLog::Open(p, "m@1+plain", 4);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    std::vector<int64_t> ids = {1, 2};
    auto a = Vec(4, 1), b = Vec(4, 2);
    a.insert(a.end(), b.begin(), b.end());
    ASSERT_TRUE((*log)->Append(ids, a).ok());
    EXPECT_FALSE((*log)->Append(ids, b).ok()) << "2 ids need 8 floats";
  }
  auto log = VectorLog::Open(p, "m@1+plain", 4);
  ASSERT_TRUE(log.ok());
  EXPECT_EQ((*log)->ids(), (std::vector<int64_t>{1, 2}));
  EXPECT_FLOAT_EQ((*log)->vector(1)[0], Vec(4, 2)[0]);
  ASSERT_NE((*log)->Find(2), nullptr);
  EXPECT_FLOAT_EQ((*log)->Find(2)[3], Vec(4, 2)[3]);
  EXPECT_EQ((*log)->Find(3), nullptr);
  EXPECT_EQ((*log)->recovered_bytes(), 0);
  auto other = VectorLog::Open(p, "other@2+plain", 4);
  EXPECT_FALSE(other.ok());
  EXPECT_EQ(other.status().code(), Status::Code::kInvalidArgument);
}

TEST(VectorLog, TornTailIsCutAndDamagedMiddleIsCorruption) {
  TempDir t;
  const std::string p = t.File("v.log");
  {
    auto log = VectorLog::Open(p, "m", 8);
    ASSERT_TRUE(log.ok());
    for (int64_t id = 1; id <= 3; ++id) ASSERT_TRUE((*log)->Append(std::vector<int64_t>{id}, Vec(8, float(id))).ok());
  }
  const auto full = fs::file_size(p);
  fs::resize_file(p, full - 5);  // a crash in the middle of writing record 3
  {
    auto log = VectorLog::Open(p, "m", 8);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    EXPECT_EQ((*log)->ids(), (std::vector<int64_t>{1, 2}));
    EXPECT_GT((*log)->recovered_bytes(), 0);
    ASSERT_TRUE((*log)->Append(std::vector<int64_t>{4}, Vec(8, 4)).ok());
  }
  {
    auto log = VectorLog::Open(p, "m", 8);
    ASSERT_TRUE(log.ok());
    EXPECT_EQ((*log)->ids(), (std::vector<int64_t>{1, 2, 4}));
  }
  // Flip a byte inside record 1: later records are fine, so this is damage, not a tear.
  {
    std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(32 + 12);  // the header (16 bytes + model id, padded to 16) is 32 bytes here
    f.put('\x55');
  }
  auto log = VectorLog::Open(p, "m", 8);
  EXPECT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), Status::Code::kCorrupt);
}

// A prefix recorded by an earlier open is trusted only while its last record is
// unchanged; a version 1 log (unaligned header) is rewritten in the current format.
TEST(VectorLog, TrustedPrefixAndVersionOneMigration) {
  TempDir t;
  const std::string p = t.File("v.log");
  VectorLog::Prefix prefix;
  {
    auto log = VectorLog::Open(p, "m", 8);
    ASSERT_TRUE(log.ok());
    for (int64_t id = 1; id <= 3; ++id) ASSERT_TRUE((*log)->Append(std::vector<int64_t>{id}, Vec(8, float(id))).ok());
    prefix.bytes = (*log)->bytes();
    prefix.last_crc = (*log)->last_crc();
    prefix.ids = (*log)->ids();
    ASSERT_TRUE((*log)->Append(std::vector<int64_t>{7, 9}, [] {
      auto a = Vec(8, 7), b = Vec(8, 9);
      a.insert(a.end(), b.begin(), b.end());
      return a;
    }()).ok());
    EXPECT_FALSE((*log)->Append(std::vector<int64_t>{8}, Vec(8, 8)).ok()) << "ids must increase";
  }
  {
    VectorLog::Prefix copy = prefix;
    auto log = VectorLog::Open(p, "m", 8, &copy);
    ASSERT_TRUE(log.ok());
    EXPECT_TRUE((*log)->used_trusted_prefix());
    EXPECT_EQ((*log)->ids(), (std::vector<int64_t>{1, 2, 3, 7, 9}));
    ASSERT_NE((*log)->Find(9), nullptr);
    EXPECT_FLOAT_EQ((*log)->Find(9)[5], Vec(8, 9)[5]);
  }
  {
    VectorLog::Prefix wrong = prefix;
    wrong.last_crc ^= 1;
    wrong.ids = {100, 200, 300};
    auto log = VectorLog::Open(p, "m", 8, &wrong);
    ASSERT_TRUE(log.ok());
    EXPECT_FALSE((*log)->used_trusted_prefix()) << "a prefix that no longer matches is re-read";
    EXPECT_EQ((*log)->ids(), (std::vector<int64_t>{1, 2, 3, 7, 9}));
  }
  // The same records behind a version 1 header.
  std::string bytes;
  {
    std::ifstream in(p, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::string v1 = "LUVLOG1\n" + bytes.substr(8, 8 + 1) + bytes.substr(32);
  const std::string p1 = t.File("v1.log");
  std::ofstream(p1, std::ios::binary) << v1;
  {
    auto log = VectorLog::Open(p1, "m", 8);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    EXPECT_EQ((*log)->ids(), (std::vector<int64_t>{1, 2, 3, 7, 9}));
    EXPECT_FLOAT_EQ((*log)->Find(2)[1], Vec(8, 2)[1]);
  }
  std::ifstream in(p1, std::ios::binary);
  std::string after(std::istreambuf_iterator<char>(in), {});
  EXPECT_EQ(after, bytes) << "rewritten in the current format";
}

TEST(Catalog, SourcesNeedALegalBasisAndUniqueNames) {
  TempDir t;
  auto cat = Catalog::Open(t.File("c.sqlite"), true);
  ASSERT_TRUE(cat.ok()) << cat.status().ToString();
  SourceRecord s;
  s.name = "case-1";
  EXPECT_FALSE((*cat)->AddSource(&s).ok()) << "no legal basis";
  s.legal_basis = "warrant 2026/17";
  s.description = "it's a \"quoted\"; DROP TABLE sources; --";
  ASSERT_TRUE((*cat)->AddSource(&s).ok());
  EXPECT_GT(s.id, 0);
  EXPECT_FALSE(s.created_at.empty());
  SourceRecord again = s;
  EXPECT_FALSE((*cat)->AddSource(&again).ok()) << "duplicate name";
  auto found = (*cat)->FindSource("case-1");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->description, s.description);
  EXPECT_EQ((*cat)->FindSource("nope").status().code(), Status::Code::kNotFound);
  EXPECT_FALSE(Catalog::Open(t.File("missing.sqlite"), false).ok());
}

// Registers a source with a test legal basis; true on success.
bool AddTestSource(Catalog& catalog, const std::string& name) {
  SourceRecord s;
  s.name = name;
  s.legal_basis = "test data";
  return catalog.AddSource(&s).ok();
}

class GalleryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    data_ = lineup_test::DataDir("face_recognition/examples/knn_examples", &why);
    if (data_.empty()) {
      if (lineup_test::InCi()) FAIL() << why;
      GTEST_SKIP() << why;
    }
  }
  std::string data_;
};

TEST_F(GalleryTest, EnrolIsIdempotentAndSearchFindsTheSamePhotoFirst) {
  TempDir t;
  const std::string dir = t.File("g");
  ASSERT_TRUE(Gallery::Init(dir).ok());
  EXPECT_FALSE(Gallery::Init(dir).ok()) << "a gallery is already there";
  auto g = Gallery::Open(dir, {});
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  ASSERT_TRUE(AddTestSource((*g)->catalog(), "knn"));
  auto files = lineup::ListPhotos({data_});
  ASSERT_TRUE(files.ok());
  lineup::EnrollOptions eo;
  eo.source = "knn";
  eo.workers = 2;
  auto r = (*g)->Enroll(*files, eo);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->files, static_cast<int64_t>(files->size()));
  EXPECT_GE(r->enrolled, 10);
  EXPECT_EQ((*g)->size(), r->faces);
  auto again = (*g)->Enroll(*files, eo);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->enrolled, 0);
  EXPECT_EQ(again->duplicates, r->enrolled + r->duplicates);
  EXPECT_EQ((*g)->size(), r->faces);
  lineup::EnrollOptions bad = eo;
  bad.source = "no-such-source";
  EXPECT_FALSE((*g)->Enroll(*files, bad).ok());

  // Reopened, the same faces are searchable; a face's own vector ranks it first.
  g->reset();
  auto g2 = Gallery::Open(dir, {});
  ASSERT_TRUE(g2.ok());
  EXPECT_EQ((*g2)->size(), r->faces);
  auto analyzer = lineup::FaceAnalyzer::Create({});
  ASSERT_TRUE(analyzer.ok());
  const std::string probe = (*files)[0];
  auto pa = (*analyzer)->AnalyzeFile(probe, true);
  ASSERT_FALSE(pa.faces.empty());
  auto res = (*g2)->Search(pa.faces[0].embedding, 5);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  ASSERT_FALSE(res->front().empty());
  // The same photo: its vector with itself, the square of the face's weight.
  float self = 0;
  for (float v : pa.faces[0].embedding) self += v * v;
  EXPECT_NEAR(res->front()[0].score, self, 1e-3);
  EXPECT_EQ(fs::path(res->front()[0].image.uri).filename(), fs::path(probe).filename());
  EXPECT_EQ(res->front()[0].source.name, "knn");
  EXPECT_EQ(res->front()[0].source.legal_basis, "test data");
  auto obama = (*g2)->catalog().FindImageBySha256(lineup::Sha256Hex(
      lineup_test::ReadBytes(data_ + "/train/obama/obama.jpg").data(),
      lineup_test::ReadBytes(data_ + "/train/obama/obama.jpg").size()));
  ASSERT_TRUE(obama.ok());
  ASSERT_TRUE(obama->has_value());
  EXPECT_EQ((*obama)->captured_at, "2012-12-06T15:46:01") << "EXIF capture time recorded";
  for (size_t i = 1; i < res->front().size(); ++i) EXPECT_LE(res->front()[i].score, res->front()[i - 1].score);
}

TEST_F(GalleryTest, VectorsWithoutCatalogRowsStayInvisibleAndIdsAreNotReused) {
  TempDir t;
  const std::string dir = t.File("g");
  ASSERT_TRUE(Gallery::Init(dir).ok());
  int dim = 0;
  std::string model;
  {
    auto g = Gallery::Open(dir, {});
    ASSERT_TRUE(g.ok());
    dim = (*g)->model().dim;
    model = (*g)->model().Id();
  }
  {
    // What a crash between the vector append and the catalog commit leaves behind.
    auto log = VectorLog::Open(dir + "/vectors.log", model, dim);
    ASSERT_TRUE(log.ok());
    ASSERT_TRUE((*log)->Append(std::vector<int64_t>{1, 2}, std::vector<float>(static_cast<size_t>(2 * dim), 0.1f)).ok());
  }
  auto g = Gallery::Open(dir, {});
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ((*g)->size(), 0);
  ASSERT_TRUE(AddTestSource((*g)->catalog(), "knn"));
  auto files = lineup::ListPhotos({data_});
  ASSERT_TRUE(files.ok());
  std::vector<std::string> one(files->begin(), files->begin() + 1);
  lineup::EnrollOptions eo;
  eo.source = "knn";
  eo.workers = 1;
  ASSERT_TRUE((*g)->Enroll(one, eo).ok());
  auto ids = (*g)->catalog().FaceIds();
  ASSERT_TRUE(ids.ok());
  ASSERT_FALSE(ids->empty());
  EXPECT_GT(ids->front(), 2) << "ids 1 and 2 belong to orphan vectors and must not be reused";
}


// The vector of the largest usable face in a photo, empty if there is none.
std::vector<float> LargestFaceVector(lineup::FaceAnalyzer& analyzer, const std::string& path) {
  auto p = analyzer.AnalyzeFile(path, true);
  int k = lineup::PickFace(p.faces, {p.width, p.height}, lineup::FacePick::kLargest);
  return k < 0 ? std::vector<float>() : p.faces[static_cast<size_t>(k)].embedding;
}

// Reads every file under `dir` and says whether `needle` occurs in any of them.
bool BytesOccurUnder(const std::string& dir, const std::string& needle) {
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (all.find(needle) != std::string::npos) return true;
  }
  return false;
}

TEST_F(GalleryTest, SubjectsEraseWithCompactionAndOptOut) {
  TempDir t;
  const std::string dir = t.File("g");
  ASSERT_TRUE(Gallery::Init(dir).ok());
  auto g = Gallery::Open(dir, {});
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  ASSERT_TRUE(AddTestSource((*g)->catalog(), "train"));
  auto train = lineup::ListPhotos({data_ + "/train"});
  ASSERT_TRUE(train.ok());
  lineup::EnrollOptions eo;
  eo.source = "train";
  eo.subject_from_dir = true;
  auto r = (*g)->Enroll(*train, eo);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto obama_faces = (*g)->catalog().FacesOfSubject("obama");
  ASSERT_TRUE(obama_faces.ok());
  ASSERT_EQ(obama_faces->size(), 2u) << "one linked face per photo of train/obama/";
  auto subjects = (*g)->catalog().Subjects();
  ASSERT_TRUE(subjects.ok());
  ASSERT_EQ(subjects->size(), 5u) << "one per folder of train/";
  EXPECT_EQ(subjects->at(3).label, "obama");
  EXPECT_EQ(subjects->at(3).faces, 2);
  for (int64_t id : *obama_faces) EXPECT_NE((*g)->ThumbnailPath(id), "") << "every enrolled face has a thumbnail";

  auto analyzer = lineup::FaceAnalyzer::Create({});
  ASSERT_TRUE(analyzer.ok());
  const std::vector<float> pv = LargestFaceVector(**analyzer, data_ + "/test/obama1.jpg");
  ASSERT_FALSE(pv.empty());
  auto before = (*g)->Search(pv, 3);
  ASSERT_TRUE(before.ok());
  ASSERT_FALSE(before->front().empty());
  EXPECT_EQ(before->front()[0].subject, "obama");

  // The bytes of one of Obama's stored vectors, to look for on disk later.
  std::string needle;
  {
    auto log = VectorLog::Open(dir + "/vectors.log", (*g)->model().Id(), (*g)->model().dim);
    ASSERT_TRUE(log.ok());
    for (size_t i = 0; i < (*log)->ids().size(); ++i)
      if ((*log)->ids()[i] == obama_faces->front())
        needle.assign(reinterpret_cast<const char*>((*log)->vector(i)),
                      static_cast<size_t>((*log)->dim()) * 4);
  }
  ASSERT_FALSE(needle.empty());
  ASSERT_TRUE(BytesOccurUnder(dir, needle)) << "the scan must see the vector before compaction";

  auto plan = (*g)->Erase("subject", "obama", "subject's request 2026-11-27");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->face_ids.size(), 2u);
  auto after = (*g)->Search(pv, 10);
  ASSERT_TRUE(after.ok());
  for (const auto& c : after->front()) {
    EXPECT_NE(c.subject, "obama");
    EXPECT_NE(c.face_id, obama_faces->front());
  }
  for (int64_t id : *obama_faces) EXPECT_EQ((*g)->ThumbnailPath(id), "") << "an erased face's thumbnail remains";
  EXPECT_FALSE((*g)->Erase("subject", "obama", "again").ok()) << "nothing left to erase";
  ASSERT_TRUE((*g)->Compact().ok());
  EXPECT_FALSE(BytesOccurUnder(dir, needle)) << "an erased vector survived compaction";
  auto erasures = (*g)->catalog().Erasures();
  ASSERT_TRUE(erasures.ok());
  ASSERT_EQ(erasures->size(), 1u);
  EXPECT_EQ(erasures->front().what, "subject:obama");
  EXPECT_EQ(erasures->front().faces, 2);
  EXPECT_EQ(erasures->front().reason, "subject's request 2026-11-27");

  // Reopened after compaction: the same live faces.
  const int64_t live = (*g)->size();
  g->reset();
  g = Gallery::Open(dir, {});
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ((*g)->size(), live);

  // Opt-out: Biden asks not to be found. His enrolled faces stop being returned and
  // a new photo of him is refused.
  const std::vector<float> bv = LargestFaceVector(**analyzer, data_ + "/train/biden/biden.jpg");
  ASSERT_FALSE(bv.empty());
  auto found = (*g)->Search(bv, 1);
  ASSERT_TRUE(found.ok());
  ASSERT_FALSE(found->front().empty());
  EXPECT_EQ(found->front()[0].subject, "biden");
  ASSERT_TRUE((*g)->OptOut(bv, "request by letter").ok());
  EXPECT_TRUE((*g)->IsOptedOut(bv));
  auto hidden = (*g)->Search(bv, 5);
  ASSERT_TRUE(hidden.ok());
  for (const auto& c : hidden->front()) EXPECT_NE(c.subject, "biden");
  ASSERT_TRUE(AddTestSource((*g)->catalog(), "test"));
  lineup::EnrollOptions eo2;
  eo2.source = "test";
  auto refused = (*g)->Enroll({data_ + "/test/obama_and_biden.jpg"}, eo2);
  ASSERT_TRUE(refused.ok());
  bool reported = false;
  for (const auto& [path, why] : refused->problems) reported |= why.find("opted out") != std::string::npos;
  EXPECT_TRUE(reported) << "Biden's face in obama_and_biden.jpg must be refused and reported";
}

TEST_F(GalleryTest, CliSearchGroupsBySubjectAndWritesAnHtmlReport) {
  TempDir t;
  const std::string g = t.File("g");
  ASSERT_EQ(lineup_test::RunCli({"init", g}).exit_code, 0);
  auto no_basis = lineup_test::RunCli({"source", "add", "train", "--gallery", g});
  EXPECT_EQ(no_basis.exit_code, 2) << "a source without a legal basis is refused";
  ASSERT_EQ(lineup_test::RunCli({"source", "add", "train", "--legal-basis", "test", "--gallery", g}).exit_code, 0);
  auto e = lineup_test::RunCli({"enroll", data_ + "/train", "--source", "train", "--subject-from-dir", "--gallery", g});
  ASSERT_EQ(e.exit_code, 0) << e.err;
  const std::string html = t.File("report.html");
  auto r = lineup_test::RunCli(
      {"search", data_ + "/test/obama1.jpg", "--subjects", "--json", "--html", html, "--gallery", g});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_FALSE(j["subjects"].empty());
  EXPECT_EQ(j["subjects"][0]["subject"], "obama");
  EXPECT_GT(j["subjects"][0]["score"].get<double>(), j["threshold"].get<double>());
  EXPECT_GE(j["subjects"][0]["faces"].size(), 1u);
  EXPECT_GT(j["gallery_size"].get<int>(), 0);
  std::ifstream in(html);
  std::string page((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(page.find("never an identification"), std::string::npos);
  EXPECT_NE(page.find("data:image/jpeg;base64,"), std::string::npos) << "faces are embedded, not linked";
  // Issue 17: the decision carries the model's demographic differentials at its threshold,
  // the same sentence in the JSON and the report, which also holds the full table.
  ASSERT_TRUE(j["decision"]["differentials"].is_object()) << j["decision"].dump();
  const std::string said = j["decision"]["differentials"]["text"];
  EXPECT_EQ(said.rfind("On LFW, at this threshold", 0), 0u) << said;
  EXPECT_NE(page.find("id=differentials-statement"), std::string::npos);
  EXPECT_NE(page.find("<h2 id=differentials>"), std::string::npos);
  EXPECT_NE(page.find("href=\"#differentials\""), std::string::npos);
  // The table itself: each LFW group's pairs, and its rates at the calibrated thresholds
  // and at this decision's, with the ratio to the best group.
  const std::string table = page.substr(page.find("<h2 id=differentials>"));
  for (const char* group : {"female", "male"}) {
    EXPECT_NE(table.find(std::string("<tr><td>") + group + "</td><td>"), std::string::npos) << group << ": no pairs row";
    size_t rows = 0;
    for (size_t at = table.find(std::string("</td><td>") + group + "</td>"); at != std::string::npos;
         at = table.find(std::string("</td><td>") + group + "</td>", at + 1))
      ++rows;
    EXPECT_EQ(rows, 4u) << group << ": a row at FMR 1e-3, 1e-4, 1e-5 and this decision\n" << table;
  }
  EXPECT_NE(table.find(" (this decision)</td>"), std::string::npos) << table;
  EXPECT_NE(table.find("1 (best)"), std::string::npos) << table;
  EXPECT_FALSE(j["decision"]["group_fmr"].empty());
  // Hostile text from the catalog is escaped in the page.
  auto q = lineup_test::RunCli({"source", "add", "<script>alert(1)</script>", "--legal-basis", "<b>x</b>", "--gallery", g});
  ASSERT_EQ(q.exit_code, 0);
  ASSERT_EQ(lineup_test::RunCli({"enroll", data_ + "/test/obama_and_biden.jpg", "--source", "<script>alert(1)</script>",
                                 "--gallery", g}).exit_code, 0);
  ASSERT_EQ(lineup_test::RunCli({"search", data_ + "/test/obama1.jpg", "--all", "--html", html, "--gallery", g}).exit_code, 0);
  std::ifstream in2(html);
  std::string page2((std::istreambuf_iterator<char>(in2)), std::istreambuf_iterator<char>());
  EXPECT_EQ(page2.find("<script>"), std::string::npos);
  EXPECT_NE(page2.find("&lt;script&gt;"), std::string::npos);
}

TEST_F(GalleryTest, GalleryKeepsTheModelItWasFilledWithAfterTheDefaultChanges) {
  // A gallery filled with RGB input (the default until 2026-11-27) opens, enrols and is
  // searched with that model when no embedder is named; naming another one is refused.
  TempDir t;
  const std::string g = t.File("g");
  ASSERT_EQ(lineup_test::RunCli({"init", g}).exit_code, 0);
  ASSERT_EQ(lineup_test::RunCli({"source", "add", "train", "--legal-basis", "test", "--gallery", g}).exit_code, 0);
  const std::string photo = data_ + "/train/obama/obama.jpg";
  auto e = lineup_test::RunCli({"enroll", photo, "--source", "train", "--gallery", g, "--embedder", "fr_feature:rgb"});
  ASSERT_EQ(e.exit_code, 0) << e.err;
  auto info = lineup_test::RunCli({"info", "--json", "--gallery", g});
  ASSERT_EQ(info.exit_code, 0) << info.err;
  EXPECT_NE(info.out.find("fr_feature@faceplugin-face-recognition-js@0.0.1+plain"), std::string::npos) << info.out;
  auto r = lineup_test::RunCli({"search", photo, "--json", "--gallery", g});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_FALSE(j["candidates"].empty());
  EXPECT_NEAR(j["candidates"][0]["score"].get<double>(), 1.0, 1e-3)
      << "the probe was embedded with the gallery's model";
  auto more = lineup_test::RunCli({"enroll", data_ + "/train/biden", "--source", "train", "--gallery", g});
  ASSERT_EQ(more.exit_code, 0) << more.err;
  auto other = lineup_test::RunCli({"search", photo, "--gallery", g, "--embedder", "fr_feature"});
  EXPECT_EQ(other.exit_code, 2);
  EXPECT_NE(other.err.find("never mixed"), std::string::npos) << other.err;
  EXPECT_EQ(lineup::Embedder::SpecFor("no-such-model@1+plain").status().code(), Status::Code::kNotFound);
  for (const char* spec : {"fr_feature", "fr_feature+flip", "fr_feature:rgb", "fr_feature+flip:rgb", "faceapi_resnet",
                           "fr_feature+faceapi", "fr_feature+faceapi:0.55"}) {
    auto emb = lineup::Embedder::Create(spec, lineup::DefaultModelDir());
    ASSERT_TRUE(emb.ok()) << emb.status().ToString();
    auto back = lineup::Embedder::SpecFor((*emb)->Model().Id());
    ASSERT_TRUE(back.ok()) << spec;
    auto again = lineup::Embedder::Create(*back, lineup::DefaultModelDir());
    ASSERT_TRUE(again.ok());
    EXPECT_EQ((*again)->Model().Id(), (*emb)->Model().Id()) << spec;
  }
}

TEST_F(GalleryTest, OneProcessAtATime) {
  TempDir t;
  const std::string dir = t.File("g");
  ASSERT_TRUE(Gallery::Init(dir).ok());
  auto first = Gallery::Open(dir, {});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  // Another process that would change the gallery is refused at once, with a clear
  // message; one that only reads works beside it.
  auto r = lineup_test::RunCli({"compact", "--gallery", dir});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("in use"), std::string::npos) << r.err;
  auto info = lineup_test::RunCli({"info", "--gallery", dir, "--json"});
  EXPECT_EQ(info.exit_code, 0) << info.err;
  first->reset();
  EXPECT_EQ(lineup_test::RunCli({"compact", "--gallery", dir}).exit_code, 0);
}

// Kills `lineup enroll` with SIGKILL at random moments, then lets it finish, and checks
// that catalog, vector log and index agree with an enrolment that was never interrupted.
TEST_F(GalleryTest, KilledEnrolmentResumesWithNothingLostOrDuplicated) {
  TempDir t;
  const std::string clean = t.File("clean"), killed = t.File("killed");
  for (const auto& d : {clean, killed}) {
    ASSERT_EQ(lineup_test::RunCli({"init", d}).exit_code, 0);
    ASSERT_EQ(lineup_test::RunCli({"source", "add", "knn", "--legal-basis", "test", "--gallery", d}).exit_code, 0);
  }
  auto full = lineup_test::RunCli({"enroll", data_, "--source", "knn", "--gallery", clean, "--json"});
  ASSERT_EQ(full.exit_code, 0) << full.err;
  // --json prints JSON lines: progress lines, then the summary last.
  const auto want = nlohmann::json::parse(lineup_test::Lines(full.out).back());

  std::mt19937 rng(20261127);
  std::uniform_int_distribution<int> delay_ms(50, 1500);
  int kills = 0;
  for (int round = 0; round < 6; ++round) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int devnull = ::open("/dev/null", O_WRONLY);
      dup2(devnull, 1);
      dup2(devnull, 2);
      const std::string cli = lineup_test::CliPath();
      execl(cli.c_str(), cli.c_str(), "enroll", data_.c_str(), "--source", "knn", "--gallery", killed.c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
    usleep(static_cast<useconds_t>(delay_ms(rng)) * 1000);
    kills += ::kill(pid, SIGKILL) == 0;
    int status = 0;
    waitpid(pid, &status, 0);
  }
  EXPECT_GT(kills, 0);
  auto finish = lineup_test::RunCli({"enroll", data_, "--source", "knn", "--gallery", killed, "--json"});
  ASSERT_EQ(finish.exit_code, 0) << finish.err;
  const auto got = nlohmann::json::parse(lineup_test::Lines(finish.out).back());
  EXPECT_EQ(got["gallery_size"], want["gallery_size"]);

  auto info_clean = nlohmann::json::parse(lineup_test::RunCli({"info", "--gallery", clean, "--json"}).out);
  auto info_killed = nlohmann::json::parse(lineup_test::RunCli({"info", "--gallery", killed, "--json"}).out);
  EXPECT_EQ(info_killed["faces"], info_clean["faces"]);
  EXPECT_EQ(info_killed["images"], info_clean["images"]);
  // Every catalogued face has exactly one vector, and the index holds exactly those.
  auto g = Gallery::Open(killed, {});
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  auto ids = (*g)->catalog().FaceIds();
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(static_cast<int64_t>(ids->size()), (*g)->size());
}

}  // namespace

namespace {

// Top-5 face ids and scores for each probe.
std::vector<std::vector<std::pair<int64_t, float>>> Top5(Gallery& g, const std::vector<float>& probes) {
  auto r = g.Search(probes, 5);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  std::vector<std::vector<std::pair<int64_t, float>>> out;
  if (!r.ok()) return out;
  for (const auto& q : *r) {
    out.emplace_back();
    for (const auto& c : q) out.back().push_back({c.face_id, c.score});
  }
  return out;
}

}  // namespace

// A compressed index gives the exact index's answers with exact scores, survives
// reopening through its snapshot (and faces enrolled after it), and an erasure whose
// snapshot rewrite never happened (a crash) is still honoured on open. Both kinds: 8-bit
// codes, and 4-bit fast-scan codes with the 8-bit PCA step.
class GalleryIndex : public ::testing::TestWithParam<const char*> {};
INSTANTIATE_TEST_SUITE_P(Compressed, GalleryIndex,
                         ::testing::Values("ivfpq,nlist=8,m=32,nprobe=8,rerank=64",
                                           "ivfpq,pca=64,nlist=8,m=16,bits=4,nprobe=8,refine=128,rerank=64"));

TEST_P(GalleryIndex, CompressedIndexSnapshotTailAndCrashAfterErase) {
  std::string why;
  const std::string lfw = lineup_test::DataDir("lfw/images", &why);
  if (lfw.empty()) {
    if (lineup_test::InCi()) FAIL() << why;
    GTEST_SKIP() << why;
  }
  auto all = lineup::ListPhotos({lfw});
  ASSERT_TRUE(all.ok());
  ASSERT_GT(all->size(), 400u);
  const std::vector<std::string> first(all->begin(), all->begin() + 360), later(all->begin() + 360, all->begin() + 400);
  TempDir t;
  const std::string dir = t.File("g");
  ASSERT_TRUE(Gallery::Init(dir).ok());
  std::vector<float> probes;
  std::vector<std::vector<std::pair<int64_t, float>>> exact;
  const std::string spec = GetParam();
  {
    auto g = Gallery::Open(dir, {});
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    ASSERT_TRUE(AddTestSource((*g)->catalog(), "lfw"));
    lineup::EnrollOptions eo;
    eo.source = "lfw";
    eo.subject_from_dir = true;
    eo.workers = 2;
    auto r = (*g)->Enroll(first, eo);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_GT((*g)->size(), 300);
    EXPECT_EQ((*g)->IndexSpec(), "exact");
    // Probes: the stored vectors of every 40th face.
    auto ids = (*g)->catalog().FaceIds();
    ASSERT_TRUE(ids.ok());
    auto log = VectorLog::Open(dir + "/vectors.log", (*g)->model().Id(), (*g)->model().dim);
    ASSERT_TRUE(log.ok());
    for (size_t i = 0; i < ids->size(); i += 40) {
      const float* v = (*log)->Find((*ids)[i]);
      ASSERT_NE(v, nullptr);
      probes.insert(probes.end(), v, v + (*g)->model().dim);
    }
    exact = Top5(**g, probes);
    ASSERT_TRUE((*g)->Compact(spec).ok());
    EXPECT_EQ((*g)->IndexSpec(), spec);
    EXPECT_GT((*g)->IndexMemoryBytes(), 0);
    auto approx = Top5(**g, probes);
    ASSERT_EQ(approx.size(), exact.size());
    for (size_t q = 0; q < exact.size(); ++q) {
      ASSERT_FALSE(approx[q].empty());
      EXPECT_EQ(approx[q][0].first, exact[q][0].first) << "probe " << q << " finds its own face first";
      for (const auto& [id, score] : approx[q])
        for (const auto& [eid, escore] : exact[q])
          if (id == eid) {
            EXPECT_FLOAT_EQ(score, escore) << "re-ranked scores are exact";
          }
    }
  }
  {
    // Reopened from the snapshot: the same index and answers.
    auto g = Gallery::Open(dir, {});
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    EXPECT_EQ((*g)->IndexSpec(), spec);
    auto again = Top5(**g, probes);
    ASSERT_EQ(again.size(), exact.size());
    for (size_t q = 0; q < exact.size(); ++q) EXPECT_EQ(again[q][0].first, exact[q][0].first);
    // Faces enrolled after the snapshot are replayed from the log at the next open.
    lineup::EnrollOptions eo;
    eo.source = "lfw";
    eo.subject_from_dir = true;
    eo.workers = 2;
    ASSERT_TRUE((*g)->Enroll(later, eo).ok());
  }
  std::string victim;
  int64_t victim_face = 0;
  {
    auto g = Gallery::Open(dir, {});
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    auto counts = (*g)->catalog().Counts();
    ASSERT_TRUE(counts.ok());
    EXPECT_EQ((*g)->size(), counts->faces) << "snapshot plus replayed tail";
    auto last = (*g)->catalog().FaceIds();
    ASSERT_TRUE(last.ok());
    victim_face = last->back();
    auto subj = (*g)->catalog().SubjectOfFace(victim_face);
    ASSERT_TRUE(subj.ok());
    victim = *subj;
    ASSERT_FALSE(victim.empty());
  }
  // Erase, then put the pre-erasure snapshot back, as if the process died between the
  // catalog commit and the snapshot rewrite.
  const fs::path saved = t.File("saved");
  fs::create_directories(saved);
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().rfind("index", 0) == 0 || e.path().filename() == "INDEX")
      fs::copy_file(e.path(), saved / e.path().filename());
  {
    auto g = Gallery::Open(dir, {});
    ASSERT_TRUE(g.ok());
    ASSERT_TRUE((*g)->Erase("subject", victim, "test").ok());
  }
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().rfind("index", 0) == 0 || e.path().filename() == "INDEX") fs::remove(e.path());
  for (const auto& e : fs::directory_iterator(saved)) fs::copy_file(e.path(), fs::path(dir) / e.path().filename());
  {
    auto g = Gallery::Open(dir, {});
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    auto counts = (*g)->catalog().Counts();
    ASSERT_TRUE(counts.ok());
    EXPECT_EQ((*g)->size(), counts->faces) << "the stale snapshot is corrected from the catalog";
    auto log = VectorLog::Open(dir + "/vectors.log", (*g)->model().Id(), (*g)->model().dim);
    ASSERT_TRUE(log.ok());
    const float* v = (*log)->Find(victim_face);
    ASSERT_NE(v, nullptr) << "the vector stays in the log until compaction";
    auto r = (*g)->Search({v, static_cast<size_t>((*g)->model().dim)}, 10);
    ASSERT_TRUE(r.ok());
    for (const auto& c : r->front()) EXPECT_NE(c.subject, victim) << "an erased subject is never returned";
    for (const auto& c : r->front()) EXPECT_NE(c.face_id, victim_face);
  }
}

// Damaged snapshot files never stop a gallery from opening with the right faces: the
// catalog and the vector log are the truth, and the index is rebuilt from them.
TEST_F(GalleryTest, DamagedIndexSnapshotIsRebuiltFromTheLog) {
  TempDir t;
  const std::string dir = t.File("g");
  ASSERT_TRUE(Gallery::Init(dir).ok());
  int64_t faces = 0;
  std::vector<float> probe;
  int64_t best = 0;
  {
    auto g = Gallery::Open(dir, {});
    ASSERT_TRUE(g.ok());
    ASSERT_TRUE(AddTestSource((*g)->catalog(), "knn"));
    auto files = lineup::ListPhotos({data_});
    ASSERT_TRUE(files.ok());
    lineup::EnrollOptions eo;
    eo.source = "knn";
    ASSERT_TRUE((*g)->Enroll(*files, eo).ok());
    faces = (*g)->size();
    ASSERT_GT(faces, 3);
    auto ids = (*g)->catalog().FaceIds();
    ASSERT_TRUE(ids.ok());
    const float* v = (*g)->StoredVector((*ids)[2]);
    ASSERT_NE(v, nullptr);
    probe.assign(v, v + (*g)->model().dim);
    best = (*ids)[2];
  }
  auto snapshot_file = [&](const std::string& ext) {
    for (const auto& e : fs::directory_iterator(dir))
      if (e.path().extension() == ext) return e.path().string();
    return std::string();
  };
  const std::vector<std::pair<std::string, std::string>> damage = {
      {"INDEX", "{not json"},
      {"INDEX", R"({"generation": 1, "model": "x", "spec": "exact"})"},
      {".ids", "short"},
      {".lux", std::string(100, '\x01')},
  };
  for (const auto& [which, bytes] : damage) {
    const std::string path = which == "INDEX" ? dir + "/INDEX" : snapshot_file(which);
    ASSERT_FALSE(path.empty()) << which;
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
    auto g = Gallery::Open(dir, {});
    ASSERT_TRUE(g.ok()) << which << ": " << g.status().ToString();
    EXPECT_EQ((*g)->size(), faces) << which;
    auto r = (*g)->Search(probe, 1);
    ASSERT_TRUE(r.ok());
    ASSERT_FALSE(r->front().empty());
    EXPECT_EQ(r->front()[0].face_id, best) << which;
  }
  // Rebuilding with a spec that is malformed, or needs more faces than the gallery has
  // to train, is refused before anything changes.
  auto g = Gallery::Open(dir, {});
  ASSERT_TRUE(g.ok());
  EXPECT_EQ((*g)->Compact("bogus").code(), Status::Code::kInvalidArgument);
  EXPECT_EQ((*g)->Compact("ivfpq").code(), Status::Code::kInvalidArgument) << "4096 lists need 4096 faces";
  EXPECT_EQ((*g)->IndexSpec(), "exact");
  EXPECT_EQ((*g)->size(), faces);
}

TEST_F(GalleryTest, SourcesPastTheirRetentionDateAreErased) {
  TempDir t;
  const std::string dir = t.File("g");
  ASSERT_TRUE(Gallery::Init(dir).ok());
  auto g = Gallery::Open(dir, {});
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  lineup::SourceRecord bad;
  bad.name = "bad-date";
  bad.legal_basis = "test";
  bad.retention_until = "next year";
  EXPECT_FALSE((*g)->catalog().AddSource(&bad).ok()) << "a retention date must be YYYY-MM-DD";
  for (auto [name, until] : {std::pair{"old", "2020-01-31"}, {"current", "2099-12-31"}, {"forever", ""}}) {
    lineup::SourceRecord s;
    s.name = name;
    s.legal_basis = "test";
    s.retention_until = until;
    ASSERT_TRUE((*g)->catalog().AddSource(&s).ok());
  }
  auto files = lineup::ListPhotos({data_ + "/train/obama", data_ + "/train/biden"});
  ASSERT_TRUE(files.ok());
  lineup::EnrollOptions eo;
  eo.source = "old";
  ASSERT_TRUE((*g)->Enroll({(*files)[0]}, eo).ok());
  eo.source = "current";
  ASSERT_TRUE((*g)->Enroll({(*files)[1]}, eo).ok());
  const int64_t before = (*g)->size();
  EXPECT_FALSE((*g)->EraseExpired("27/11/2026").ok());
  auto erased = (*g)->EraseExpired("2026-11-27");
  ASSERT_TRUE(erased.ok()) << erased.status().ToString();
  ASSERT_EQ(erased->size(), 1u);
  EXPECT_EQ(erased->front().what, "source:old");
  EXPECT_EQ((*g)->size(), before - static_cast<int64_t>(erased->front().face_ids.size()));
  auto records = (*g)->catalog().Erasures();
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 1u);
  EXPECT_NE(records->front().reason.find("retention period ended 2020-01-31"), std::string::npos);
  auto again = (*g)->EraseExpired("2026-11-27");
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty()) << "nothing left to expire";
}

TEST_F(GalleryTest, SourceExpireCommandErasesAndAudits) {
  TempDir t;
  const std::string g = t.File("g");
  ASSERT_EQ(lineup_test::RunCli({"init", g}).exit_code, 0);
  ASSERT_EQ(lineup_test::RunCli({"source", "add", "old", "--legal-basis", "test", "--retention-until", "2021-06-30",
                                 "--gallery", g})
                .exit_code,
            0);
  EXPECT_EQ(lineup_test::RunCli({"source", "add", "x", "--legal-basis", "t", "--retention-until", "30/06/2021",
                                 "--gallery", g})
                .exit_code,
            2);
  ASSERT_EQ(lineup_test::RunCli({"enroll", data_ + "/train/biden", "--source", "old", "--gallery", g}).exit_code, 0);
  auto early = lineup_test::RunCli({"source", "expire", "--today", "2021-06-30", "--gallery", g});
  ASSERT_EQ(early.exit_code, 0) << early.err;
  EXPECT_NE(early.out.find("no source is past"), std::string::npos) << early.out;
  auto r = lineup_test::RunCli({"source", "expire", "--today", "2021-07-01", "--gallery", g, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  ASSERT_EQ(j["erased"].size(), 1u);
  EXPECT_EQ(j["erased"][0]["erased"], "source:old");
  auto audit = lineup_test::RunCli({"audit", "export", "--action", "erase", "--gallery", g});
  EXPECT_NE(audit.out.find("source:old"), std::string::npos) << audit.out;
  auto info = lineup_test::RunCli({"info", "--json", "--gallery", g});
  EXPECT_EQ(nlohmann::json::parse(info.out)["faces"], 0);
}

TEST_F(GalleryTest, FaceIdsAreNeverReusedAfterErasureAndCompaction) {
  TempDir t;
  const std::string dir = t.File("g");
  ASSERT_TRUE(Gallery::Init(dir).ok());
  int64_t erased_max = 0;
  {
    auto g = Gallery::Open(dir, {});
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    ASSERT_TRUE(AddTestSource((*g)->catalog(), "keep"));
    ASSERT_TRUE(AddTestSource((*g)->catalog(), "drop"));
    auto biden = lineup::ListPhotos({data_ + "/train/biden"});
    auto obama = lineup::ListPhotos({data_ + "/train/obama"});
    ASSERT_TRUE(biden.ok() && obama.ok());
    lineup::EnrollOptions eo;
    eo.source = "keep";
    ASSERT_TRUE((*g)->Enroll({biden->front()}, eo).ok());
    eo.source = "drop";
    ASSERT_TRUE((*g)->Enroll(*obama, eo).ok());
    auto plan = (*g)->Erase("source", "drop", "test");
    ASSERT_TRUE(plan.ok());
    ASSERT_FALSE(plan->face_ids.empty());
    erased_max = *std::max_element(plan->face_ids.begin(), plan->face_ids.end());
    ASSERT_TRUE((*g)->Compact().ok());
  }
  auto g = Gallery::Open(dir, {});
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  auto max_id = (*g)->catalog().MaxFaceId();
  ASSERT_TRUE(max_id.ok());
  EXPECT_EQ(*max_id, erased_max) << "the high-water mark outlives the erased faces";
  auto more = lineup::ListPhotos({data_ + "/train/kit_harington"});
  ASSERT_TRUE(more.ok());
  lineup::EnrollOptions eo;
  eo.source = "keep";
  ASSERT_TRUE((*g)->Enroll({more->front()}, eo).ok());
  auto ids = (*g)->catalog().FaceIds();
  ASSERT_TRUE(ids.ok());
  EXPECT_GT(ids->back(), erased_max) << "a new face got the id of an erased one";
}
