// Tests of persons as accountable acts (person_investigations.h) and of the checks they
// share with search (accountability.h): who may read and change persons, the case and
// justification each act needs, the audit record each leaves with what it returned or
// changed, a change taken back when its record cannot be written, persons kept up to
// date after enrolment (even in a gallery never clustered) and after erasure, and face
// crops only for faces a recorded view showed (also after reopening everything).
#include <sqlite3.h>

#include <filesystem>
#include <map>
#include <set>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "lineup/accountability.h"
#include "lineup/audit_log.h"
#include "lineup/cases.h"
#include "lineup/gallery.h"
#include "lineup/investigations.h"
#include "lineup/network_investigations.h"
#include "lineup/person_investigations.h"
#include "test_util.h"

namespace {

using json = nlohmann::json;
using lineup::AuditLog;
using lineup::AuditRecord;
using lineup::Cases;
using lineup::Gallery;
using lineup::PersonInvestigations;
using lineup::PersonsScope;
using lineup::Principal;
using lineup::Role;
using lineup::Status;
using lineup_test::TempDir;
using Code = lineup::Status::Code;

Principal User(const std::string& name, Role role) {
  Principal p;
  p.name = name;
  p.role = role;
  p.via = "token";
  return p;
}

TEST(Accountability, SameChecksAndMessagesAsSearch) {
  TempDir tmp;
  const std::string dir = tmp.File("g");
  ASSERT_TRUE(Gallery::Init(dir).ok());
  auto cases = Cases::Open(dir + "/catalog.sqlite");
  ASSERT_TRUE(cases.ok());
  auto open = (*cases)->Create("Case", "warrant 1", "ana");
  ASSERT_TRUE(open.ok());
  lineup::Accountability acc(cases->get(), nullptr);
  const Principal ana = User("ana", Role::kAnalyst), bob = User("bob", Role::kAnalyst);
  const Principal eve = User("eve", Role::kEnroller), cli = lineup::LocalPrincipal("tester");
  EXPECT_TRUE(acc.Authorise(ana, open->id, "why", "a search", {Role::kAnalyst}, true).ok());
  auto s = acc.Authorise(eve, open->id, "why", "a search", {Role::kAnalyst}, true);
  EXPECT_EQ(s.code(), Code::kPermissionDenied);
  EXPECT_EQ(s.message(), "a search is not allowed for the enroller role");
  EXPECT_EQ(acc.Authorise(bob, open->id, "why", "a search", {Role::kAnalyst}, true).message(),
            "you are not a member of case " + std::to_string(open->id));
  EXPECT_EQ(acc.Authorise(ana, 0, "why", "a search", {Role::kAnalyst}, true).message(), "a search needs an open case");
  EXPECT_EQ(acc.Authorise(ana, open->id, "", "a search", {Role::kAnalyst}, true).message(),
            "a search needs a justification");
  EXPECT_EQ(acc.Authorise(ana, -1, "why", "a search", {Role::kAnalyst}, true).code(), Code::kInvalidArgument);
  EXPECT_EQ(acc.Authorise(ana, 999, "why", "a search", {Role::kAnalyst}, true).code(), Code::kNotFound);
  EXPECT_EQ(acc.Authorise(ana, open->id, std::string(2001, 'x'), "a search", {Role::kAnalyst}, true).code(),
            Code::kInvalidArgument);
  EXPECT_TRUE(acc.Authorise(cli, 0, "", "a search", {Role::kAnalyst}, true).ok()) << "local operators: no case needed";
  ASSERT_TRUE((*cases)->Close(open->id, "ana").ok());
  EXPECT_EQ(acc.Authorise(ana, open->id, "why", "a search", {Role::kAnalyst}, true).message(),
            "case " + std::to_string(open->id) + " is closed");
  // No audit log: nothing recorded, seq 0.
  auto seq = acc.Record(ana, "search", 0, json::object());
  ASSERT_TRUE(seq.ok());
  EXPECT_EQ(*seq, 0);
}

// A gallery of a few LFW people, three photos each, never clustered: enrolment alone
// places them (PlaceNewFaces), as `lineup enroll` and the server's enrolment do.
class PersonInvestigationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LINEUP_REQUIRE_DATA(lfw_, "lfw/images");
    dir_ = tmp_.File("g");
    ASSERT_TRUE(Gallery::Init(dir_).ok());
    auto g = Gallery::Open(dir_, lineup::AnalyzerOptions{});
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    gallery_ = std::move(*g);
    lineup::SourceRecord s;
    s.name = "test";
    s.legal_basis = "test photos";
    ASSERT_TRUE(gallery_->catalog().AddSource(&s).ok());
    auto cases = Cases::Open(dir_ + "/catalog.sqlite");
    ASSERT_TRUE(cases.ok());
    cases_ = std::move(*cases);
    auto audit = AuditLog::Open(dir_ + "/catalog.sqlite");
    ASSERT_TRUE(audit.ok());
    audit_ = std::move(*audit);
    auto c = cases_->Create("Network 7", "warrant W-7", "ana");
    ASSERT_TRUE(c.ok());
    case_ = c->id;
    persons_ = std::make_unique<PersonInvestigations>(gallery_.get(), cases_.get(), audit_.get());
    std::vector<std::string> files;
    for (const char* p : {"Colin_Powell", "Tony_Blair", "Donald_Rumsfeld"})
      for (int i = 1; i <= 3; ++i) {
        char b[32];
        std::snprintf(b, sizeof b, "_%04d.jpg", i);
        files.push_back(lfw_ + "/" + p + "/" + p + b);
      }
    lineup::EnrollOptions eo;
    eo.source = "test";
    auto r = gallery_->Enroll(files, eo);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    auto placed = persons_->PlaceNewFaces();
    ASSERT_TRUE(placed.ok()) << placed.status().ToString();
    EXPECT_EQ(placed->faces, gallery_->size());
  }
  // The newest audit record (an empty one if there is none).
  AuditRecord Last() {
    auto all = audit_->Records();
    EXPECT_TRUE(all.ok()) << all.status().ToString();
    return all.ok() && !all->empty() ? all->back() : AuditRecord{};
  }
  json LastDetails() { return json::parse(Last().details); }
  PersonsScope InCase() const { return {case_, "tracing the network of case 7"}; }

  TempDir tmp_;
  std::string lfw_, dir_;
  std::unique_ptr<Gallery> gallery_;
  std::unique_ptr<Cases> cases_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<PersonInvestigations> persons_;
  int64_t case_ = 0;
  const Principal ana_ = User("ana", Role::kAnalyst), bob_ = User("bob", Role::kAnalyst);
  const Principal admin_ = User("root", Role::kAdmin), aud_ = User("aud", Role::kAuditor);
  const Principal cli_ = lineup::LocalPrincipal("tester");
};

TEST_F(PersonInvestigationsTest, EnrolmentAloneGroupsFacesAndEveryReadIsRecorded) {
  auto list = persons_->List(ana_, InCase());
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  EXPECT_GE(list->total, 3) << "three people";
  int64_t faces = 0;
  for (const auto& p : list->persons) faces += p.faces;
  EXPECT_EQ(faces + list->pending, gallery_->size()) << "every face is in a person or pending";
  for (size_t i = 1; i < list->persons.size(); ++i)
    EXPECT_LE(list->persons[i - 1].margin(), list->persons[i].margin()) << "the most doubtful first";
  AuditRecord r = Last();
  EXPECT_EQ(r.action, "persons_list");
  EXPECT_EQ(r.actor, "ana");
  EXPECT_EQ(r.case_id, case_);
  json d = json::parse(r.details);
  EXPECT_EQ(d["justification"], "tracing the network of case 7");
  EXPECT_EQ(d["persons"].size(), list->persons.size());
  EXPECT_EQ(list->audit_seq, r.seq);

  const int64_t id = list->persons.front().id;
  auto view = persons_->Show(ana_, InCase(), id);
  ASSERT_TRUE(view.ok()) << view.status().ToString();
  EXPECT_EQ(static_cast<int64_t>(view->faces.size()), view->person.faces);
  EXPECT_EQ(Last().action, "persons_show");
  EXPECT_EQ(LastDetails()["faces"].size(), view->faces.size());
  EXPECT_EQ(LastDetails()["person"], id);
  for (const auto& f : view->faces) {
    EXPECT_FALSE(f.image_uri.empty());
    EXPECT_EQ(f.source, "test");
  }
  // A shown face's crop is served to the one it was shown to, in that case only.
  const int64_t face = view->faces.front().face_id;
  auto crop = persons_->ThumbnailPath(ana_, case_, face);
  ASSERT_TRUE(crop.ok()) << crop.status().ToString();
  EXPECT_TRUE(std::filesystem::exists(*crop));
  ASSERT_TRUE(cases_->AddMember(case_, "bob").ok());
  EXPECT_EQ(persons_->ThumbnailPath(bob_, case_, face).status().code(), Code::kPermissionDenied)
      << "bob was not shown it";
  EXPECT_EQ(persons_->ThumbnailPath(ana_, case_, face + 100000).status().code(), Code::kPermissionDenied);

  EXPECT_TRUE(persons_->History(ana_, InCase()).ok());
  EXPECT_EQ(Last().action, "persons_history");
  // Local operators may read without a case; the record says who and that there was none.
  ASSERT_TRUE(persons_->List(cli_, {}).ok());
  EXPECT_EQ(Last().actor, "cli:tester");
  EXPECT_EQ(Last().case_id, 0);
}

// The record of faces shown is the catalog's: a crop shown in a case is still served after
// the gallery and everything on it are opened again (a server restart), and still only
// to whom it was shown, in that case.
TEST_F(PersonInvestigationsTest, CropsShownInACaseAreServedAfterReopeningOnlyToWhomTheyWereShown) {
  auto list = persons_->List(ana_, InCase());
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_GE(list->persons.size(), 2u);
  auto view = persons_->Show(ana_, InCase(), list->persons[0].id);
  ASSERT_TRUE(view.ok()) << view.status().ToString();
  const int64_t shown = view->faces.front().face_id;
  ASSERT_TRUE(persons_->ThumbnailPath(ana_, case_, shown).ok());
  // A face of another person, never shown.
  std::unique_ptr<lineup::Persons> direct = std::move(*lineup::Persons::Open(*gallery_));
  auto others = direct->Faces(list->persons[1].id);
  ASSERT_TRUE(others.ok() && !others->empty());
  const int64_t never = others->front().face_id;
  direct.reset();
  ASSERT_TRUE(cases_->AddMember(case_, "bob").ok());
  auto other_case = cases_->Create("Another", "warrant W-9", "ana");
  ASSERT_TRUE(other_case.ok());

  // Everything closed and opened again.
  persons_.reset();
  audit_.reset();
  cases_.reset();
  gallery_.reset();
  auto g = Gallery::Open(dir_, lineup::AnalyzerOptions{});
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  gallery_ = std::move(*g);
  cases_ = std::move(*Cases::Open(dir_ + "/catalog.sqlite"));
  audit_ = std::move(*AuditLog::Open(dir_ + "/catalog.sqlite"));
  persons_ = std::make_unique<PersonInvestigations>(gallery_.get(), cases_.get(), audit_.get());

  auto crop = persons_->ThumbnailPath(ana_, case_, shown);
  ASSERT_TRUE(crop.ok()) << crop.status().ToString();
  EXPECT_TRUE(std::filesystem::exists(*crop));
  EXPECT_EQ(persons_->ThumbnailPath(bob_, case_, shown).status().code(), Code::kPermissionDenied)
      << "bob is in the case, but was not shown it";
  EXPECT_EQ(persons_->ThumbnailPath(ana_, other_case->id, shown).status().code(), Code::kPermissionDenied)
      << "shown in another case";
  EXPECT_EQ(persons_->ThumbnailPath(ana_, case_, never).status().code(), Code::kPermissionDenied)
      << "a face never shown";
  // The network's answers ask the same record: the face was shown in this case.
  lineup::NetworkInvestigations network(gallery_.get(), cases_.get(), audit_.get());
  EXPECT_TRUE(network.ThumbnailPath(ana_, case_, shown).ok());
  EXPECT_EQ(network.ThumbnailPath(ana_, case_, never).status().code(), Code::kPermissionDenied);
  // A closed case serves no crop at all.
  ASSERT_TRUE(cases_->Close(case_, "ana").ok());
  EXPECT_EQ(persons_->ThumbnailPath(ana_, case_, shown).status().code(), Code::kFailedPrecondition);
}

TEST_F(PersonInvestigationsTest, AViewWhoseFacesCannotBeRecordedIsWithheld) {
  auto list = persons_->List(ana_, InCase());
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ + "/catalog.sqlite").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "DROP TABLE IF EXISTS face_disclosures; "
                             "INSERT OR REPLACE INTO oversight_schema (component, version) VALUES ('disclosures', 1)",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto view = persons_->Show(ana_, InCase(), list->persons.front().id);
  EXPECT_EQ(view.status().code(), Code::kUnavailable) << view.status().ToString();
  EXPECT_TRUE(persons_->Show(cli_, {}, list->persons.front().id).ok()) << "local operators are shown no crops";
}

// The same face twice in one photo: one copy joins its person, the other cannot (two
// faces of one photo are two people) and waits. The faces waiting are listed with their
// photos, recorded, their crops served; a rebuild places them.
TEST_F(PersonInvestigationsTest, FacesWaitingForAPersonAreListedRecordedAndTheirCropsServed) {
  const cv::Mat face = cv::imread(lfw_ + "/Colin_Powell/Colin_Powell_0004.jpg");
  ASSERT_FALSE(face.empty());
  cv::Mat twice;
  cv::hconcat(face, face, twice);
  const std::string photo = tmp_.File("twice.jpg");
  ASSERT_TRUE(cv::imwrite(photo, twice));
  lineup::EnrollOptions eo;
  eo.source = "test";
  auto enrolled = gallery_->Enroll({photo}, eo);
  ASSERT_TRUE(enrolled.ok()) << enrolled.status().ToString();
  ASSERT_EQ(enrolled->faces, 2);
  auto placed = persons_->PlaceNewFaces();
  ASSERT_TRUE(placed.ok()) << placed.status().ToString();
  ASSERT_GE(placed->pending, 1) << "at least the second copy waits";
  const int64_t waiting_faces = placed->pending;  // with any face of the fixture that waits too

  const int64_t before = Last().seq;
  EXPECT_EQ(persons_->Pending(ana_, {case_, ""}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(persons_->Pending(ana_, {0, "why"}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(persons_->Pending(bob_, InCase()).status().code(), Code::kPermissionDenied) << "not a member";
  EXPECT_EQ(persons_->Pending(aud_, InCase()).status().code(), Code::kPermissionDenied);
  EXPECT_EQ(persons_->Pending(ana_, InCase(), -1).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(persons_->Pending(ana_, InCase(), 0, 0).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(persons_->Pending(ana_, InCase(), 0, 1000000).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Last().seq, before) << "nothing refused is recorded";

  auto pending = persons_->Pending(ana_, InCase());
  ASSERT_TRUE(pending.ok()) << pending.status().ToString();
  EXPECT_EQ(pending->total, waiting_faces);
  ASSERT_EQ(static_cast<int64_t>(pending->faces.size()), waiting_faces);
  json ids = json::array();
  const lineup::PendingFace* copy = nullptr;
  int copies = 0;
  for (const auto& [f, vote] : pending->faces) {
    ids.push_back(f.face_id);
    if (f.image_uri == photo) copy = &pending->faces[ids.size() - 1], ++copies;
    EXPECT_EQ(f.source, "test");
    EXPECT_EQ(f.placed_by, "pending");
    EXPECT_EQ(f.image_sha256.size(), 64u);
    EXPECT_GT(f.box.width, 20);
    EXPECT_EQ(vote.face_id, f.face_id) << "each face with its own vote";
  }
  ASSERT_NE(copy, nullptr) << "a copy of the doubled photo waits";
  const lineup::PersonFace& waiting = copy->face;
  // Why: when one copy was placed, its twin in the person the other's close neighbours
  // vote for keeps the other out.
  if (copies == 1) {
    EXPECT_EQ(copy->vote.reason, "same photo");
    EXPECT_GE(copy->vote.close_neighbours, 1);
    EXPECT_GE(copy->vote.leading_share, copy->vote.share_needed);
  }
  AuditRecord r = Last();
  EXPECT_EQ(r.action, "persons_pending");
  EXPECT_EQ(r.case_id, case_);
  EXPECT_EQ(r.seq, pending->audit_seq);
  json d = json::parse(r.details);
  EXPECT_EQ(d["faces"], ids);
  EXPECT_EQ(d["total"], waiting_faces);
  EXPECT_EQ(d["justification"], "tracing the network of case 7");
  auto list = persons_->List(ana_, InCase());
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->pending, pending->total) << "the list counts the same faces";
  // Past the end: nothing shown, the total still said.
  auto past = persons_->Pending(ana_, InCase(), waiting_faces, 10);
  ASSERT_TRUE(past.ok());
  EXPECT_TRUE(past->faces.empty());
  EXPECT_EQ(past->total, waiting_faces);

  auto crop = persons_->ThumbnailPath(ana_, case_, waiting.face_id);
  ASSERT_TRUE(crop.ok()) << crop.status().ToString();
  EXPECT_TRUE(std::filesystem::exists(*crop));
  ASSERT_TRUE(cases_->AddMember(case_, "bob").ok());
  EXPECT_EQ(persons_->ThumbnailPath(bob_, case_, waiting.face_id).status().code(), Code::kPermissionDenied);

  // A rebuild places every face: two faces of one photo become two persons.
  ASSERT_TRUE(persons_->Recluster(ana_, InCase()).ok());
  auto after = persons_->Pending(ana_, InCase());
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->total, 0);
  EXPECT_TRUE(after->faces.empty());
}

TEST_F(PersonInvestigationsTest, ReadsAreRefusedWithoutCaseJustificationOrRole) {
  const int64_t before = Last().seq;
  EXPECT_EQ(persons_->List(ana_, {0, "why"}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(persons_->List(ana_, {case_, ""}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(persons_->List(bob_, InCase()).status().code(), Code::kPermissionDenied) << "not a member";
  EXPECT_EQ(persons_->List(admin_, InCase()).status().code(), Code::kPermissionDenied);
  EXPECT_EQ(persons_->List(aud_, InCase()).status().code(), Code::kPermissionDenied);
  EXPECT_EQ(persons_->List(ana_, InCase(), -1, 10).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(persons_->List(ana_, InCase(), 0, 0).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(persons_->List(ana_, InCase(), 0, 1000000).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(persons_->Show(ana_, InCase(), 0).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(persons_->Show(ana_, InCase(), 987654321).status().code(), Code::kNotFound);
  EXPECT_EQ(persons_->Show(ana_, {case_ + 50, "why"}, 1).status().code(), Code::kNotFound);
  EXPECT_EQ(Last().seq, before) << "nothing refused is recorded as done";
  ASSERT_TRUE(cases_->Close(case_, "ana").ok());
  EXPECT_EQ(persons_->List(ana_, InCase()).status().code(), Code::kFailedPrecondition) << "closed case";
}

TEST_F(PersonInvestigationsTest, EveryChangeNeedsCaseAndJustificationAndIsRecorded) {
  auto list = persons_->List(ana_, InCase());
  ASSERT_TRUE(list.ok());
  ASSERT_GE(list->persons.size(), 2u);
  const int64_t a = list->persons[0].id, b = list->persons[1].id;
  // Refused: no case (even for a local operator), no justification, wrong role, not a member.
  EXPECT_EQ(persons_->Name(cli_, {0, "why"}, a, "Jane Roe").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(persons_->Name(cli_, {case_, ""}, a, "Jane Roe").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(persons_->Merge(ana_, {case_, ""}, a, b).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(persons_->Merge(admin_, InCase(), a, b).status().code(), Code::kPermissionDenied);
  EXPECT_EQ(persons_->Merge(aud_, InCase(), a, b).status().code(), Code::kPermissionDenied);
  EXPECT_EQ(persons_->Merge(bob_, InCase(), a, b).status().code(), Code::kPermissionDenied);
  EXPECT_EQ(persons_->Split(ana_, InCase(), a, std::vector<int64_t>(5000, 1)).status().code(), Code::kInvalidArgument);

  auto named = persons_->Name(ana_, InCase(), a, "Jane Roe");
  ASSERT_TRUE(named.ok()) << named.status().ToString();
  AuditRecord r = Last();
  EXPECT_EQ(r.action, "person_name");
  EXPECT_EQ(r.case_id, case_);
  EXPECT_EQ(json::parse(r.details)["change"]["name"], "Jane Roe");
  EXPECT_EQ(json::parse(r.details)["event"], named->event.id);
  EXPECT_EQ(named->audit_seq, r.seq);

  auto merged = persons_->Merge(ana_, InCase(), a, b);
  ASSERT_TRUE(merged.ok()) << merged.status().ToString();
  EXPECT_EQ(Last().action, "person_merge");
  EXPECT_EQ(LastDetails()["change"]["from"], b);

  auto view = persons_->Show(ana_, InCase(), a);
  ASSERT_TRUE(view.ok());
  ASSERT_GE(view->faces.size(), 2u);
  const int64_t f0 = view->faces[0].face_id, f1 = view->faces[1].face_id;
  auto split = persons_->Split(ana_, InCase(), a, {f0});
  ASSERT_TRUE(split.ok()) << split.status().ToString();
  EXPECT_EQ(Last().action, "person_split");
  EXPECT_EQ(LastDetails()["change"]["faces"], json::array({f0}));

  auto mark = persons_->MarkNot(ana_, InCase(), f1, a);
  ASSERT_TRUE(mark.ok()) << mark.status().ToString();
  EXPECT_EQ(Last().action, "person_mark");

  // Undo: recorded (before it runs) with what it takes back.
  auto undo = persons_->Undo(ana_, InCase(), mark->event.id);
  ASSERT_TRUE(undo.ok()) << undo.status().ToString();
  EXPECT_EQ(Last().action, "person_undo");
  EXPECT_EQ(LastDetails()["undoes"], mark->event.id);
  EXPECT_EQ(LastDetails()["action"], "mark");
  const int64_t seq = Last().seq;
  EXPECT_EQ(persons_->Undo(ana_, InCase(), mark->event.id).status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(persons_->Undo(ana_, InCase(), 99999).status().code(), Code::kNotFound);
  EXPECT_EQ(persons_->Undo(ana_, InCase(), undo->event.id).status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(Last().seq, seq) << "refused undos are not recorded";

  // Rebuild: analysts in a case, admins without one; others not at all.
  EXPECT_EQ(persons_->Recluster(ana_, {0, "why"}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(persons_->Recluster(admin_, {0, ""}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(persons_->Recluster(aud_, {0, "why"}).status().code(), Code::kPermissionDenied);
  auto rebuilt = persons_->Recluster(admin_, {0, "after a large enrolment"});
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status().ToString();
  EXPECT_EQ(rebuilt->faces, gallery_->size());
  auto all = audit_->Records();
  ASSERT_TRUE(all.ok());
  ASSERT_GE(all->size(), 2u);
  EXPECT_EQ((*all)[all->size() - 2].action, "persons_recluster");
  EXPECT_EQ(all->back().action, "persons_recluster_done");
  EXPECT_TRUE(persons_->Recluster(ana_, InCase()).ok());
  // The name survived the rebuilds (on whichever person holds most of its faces).
  auto again = persons_->List(ana_, InCase());
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  int named_persons = 0;
  for (const auto& p : again->persons) named_persons += p.name == "Jane Roe";
  EXPECT_EQ(named_persons, 1);
}

TEST_F(PersonInvestigationsTest, AChangeWhoseRecordCannotBeWrittenIsTakenBack) {
  auto list = persons_->List(ana_, InCase());
  ASSERT_TRUE(list.ok());
  ASSERT_GE(list->persons.size(), 2u);
  const int64_t a = list->persons[0].id, b = list->persons[1].id;
  const int64_t faces_a = list->persons[0].faces;
  // A change made while the log still works, to undo after it breaks.
  ASSERT_GE(list->persons.size(), 3u);
  auto earlier = persons_->Name(ana_, InCase(), list->persons[2].id, "Earlier");
  ASSERT_TRUE(earlier.ok()) << earlier.status().ToString();
  // Break the audit log: its table is gone (as if the disk were full or the file damaged).
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ + "/catalog.sqlite").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "DROP TABLE audit_log", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);

  auto merged = persons_->Merge(ana_, InCase(), a, b);
  ASSERT_FALSE(merged.ok());
  EXPECT_EQ(merged.status().code(), Code::kUnavailable);
  EXPECT_NE(merged.status().message().find("taken back"), std::string::npos) << merged.status().message();
  // Nothing changed where anyone can see it: both persons as before.
  auto cli_list = persons_->List(cli_, {});
  EXPECT_EQ(cli_list.status().code(), Code::kUnavailable) << "reads are withheld too";
  std::unique_ptr<lineup::Persons> direct = std::move(*lineup::Persons::Open(*gallery_));
  auto pa = direct->Get(a), pb = direct->Get(b);
  ASSERT_TRUE(pa.ok());
  ASSERT_TRUE(pb.ok()) << "the merged-in person is back";
  EXPECT_EQ(pa->faces, faces_a);
  EXPECT_EQ(persons_->Name(ana_, InCase(), a, "X").status().code(), Code::kUnavailable);
  EXPECT_EQ(direct->Get(a)->name, "");
  EXPECT_EQ(persons_->Undo(ana_, InCase(), earlier->event.id).status().code(), Code::kUnavailable)
      << "an undo is recorded before it runs";
  auto still = direct->History();
  ASSERT_TRUE(still.ok());
  for (const auto& e : *still) {
    if (e.id == earlier->event.id) {
      EXPECT_EQ(e.undone_by, 0) << "the undo did not run";
    }
  }
  EXPECT_EQ(persons_->Recluster(admin_, {0, "why"}).status().code(), Code::kUnavailable);
}

TEST_F(PersonInvestigationsTest, ErasureTakesFacesOutOfPersonsAtOnce) {
  auto before = persons_->List(ana_, InCase());
  ASSERT_TRUE(before.ok());
  const int64_t total = before->total;
  auto view = persons_->Show(ana_, InCase(), before->persons.front().id);
  ASSERT_TRUE(view.ok());
  const std::string sha = view->faces.front().image_sha256;
  auto plan = gallery_->Erase("image", sha, "opt-out request");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  auto after = persons_->List(ana_, InCase());
  ASSERT_TRUE(after.ok());
  std::set<int64_t> erased(plan->face_ids.begin(), plan->face_ids.end());
  for (const auto& p : after->persons) {
    auto v = persons_->Show(ana_, InCase(), p.id);
    ASSERT_TRUE(v.ok());
    for (const auto& f : v->faces) EXPECT_FALSE(erased.count(f.face_id)) << "face " << f.face_id << " was erased";
  }
  EXPECT_LE(after->total, total);
  // Its crop is gone too, even though the view showed it.
  EXPECT_FALSE(persons_->ThumbnailPath(ana_, case_, view->faces.front().face_id).ok());
  ASSERT_TRUE(gallery_->Erase("source", "test", "end of test").ok());
  auto none = persons_->List(ana_, InCase());
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->total, 0);
}

}  // namespace
