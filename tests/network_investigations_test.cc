// Tests of the co-appearance network as accountable acts (network_investigations.h): each
// query needs an analyst in an open case with a justification, is written to the audit
// log with what it returned, and is withheld when that record cannot be written; hostile
// arguments are refused; erasing a photo removes the person and their links from the
// next answer at once; crops only for faces an answer showed. And purpose limitation for
// search: a source that does not allow "search" gives no candidate, and the search says
// how many faces it did not search.
#include <sqlite3.h>

#include <filesystem>
#include <set>

#include <nlohmann/json.hpp>

#include "lineup/audit_log.h"
#include "lineup/calibration.h"
#include "lineup/cases.h"
#include "lineup/gallery.h"
#include "lineup/investigations.h"
#include "lineup/models.h"
#include "lineup/network_investigations.h"
#include "lineup/persons.h"
#include "test_util.h"

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using lineup::AuditRecord;
using lineup::NetworkInvestigations;
using lineup::NetworkScope;
using lineup::Principal;
using lineup::Role;
using lineup_test::TempDir;
using Code = lineup::Status::Code;

Principal User(const std::string& name, Role role) {
  Principal p;
  p.name = name;
  p.role = role;
  p.via = "token";
  return p;
}

// Real group photos in a source that allows the network, and more in one that allows
// search only; persons clustered; one case of analyst ana.
class NetworkInvestigationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LINEUP_REQUIRE_DATA(data_, "groups");
    data_ = fs::path(data_).parent_path().string();
    dir_ = tmp_.File("g");
    ASSERT_TRUE(lineup::Gallery::Init(dir_).ok());
    auto g = lineup::Gallery::Open(dir_, lineup::AnalyzerOptions{});
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    gallery_ = std::move(*g);
    AddSource("net", {"search", "network"});
    AddSource("searchonly", {"search"});
    Enrol({D("groups/face_recognition_two_people.jpg"), D("groups/face_recognition_obama_and_biden.jpg"),
           D("groups/deepface_couple.jpg"), D("groups/face_recognition_kit_with_rose.jpg")},
          "net");
    Enrol({D("groups/dlib_bald_guys.jpg")}, "searchonly");
    auto persons = lineup::Persons::Open(*gallery_);
    ASSERT_TRUE(persons.ok());
    ASSERT_TRUE((*persons)->Recluster().ok());
    auto cases = lineup::Cases::Open(dir_ + "/catalog.sqlite");
    ASSERT_TRUE(cases.ok());
    cases_ = std::move(*cases);
    auto audit = lineup::AuditLog::Open(dir_ + "/catalog.sqlite");
    ASSERT_TRUE(audit.ok());
    audit_ = std::move(*audit);
    auto c = cases_->Create("Network 7", "warrant W-7", "ana");
    ASSERT_TRUE(c.ok());
    case_ = c->id;
    net_ = std::make_unique<NetworkInvestigations>(gallery_.get(), cases_.get(), audit_.get());
    // The pair seen together twice (Obama and Biden): the strongest link there is.
    auto brokers = net_->Brokers(cli_, {}, 1000);
    ASSERT_TRUE(brokers.ok()) << brokers.status().ToString();
    for (const auto& b : brokers->brokers) {
      auto a = net_->Associates(cli_, {}, b.person, 1);
      ASSERT_TRUE(a.ok());
      if (!a->associates.empty() && a->associates[0].shared_photos == 2) {
        a_ = b.person;
        b_ = a->associates[0].person;
      }
    }
    ASSERT_GT(a_, 0) << "two persons who share two photos";
  }
  void AddSource(const std::string& name, std::vector<std::string> purposes) {
    lineup::SourceRecord s;
    s.name = name;
    s.legal_basis = "test photos";
    s.purposes = std::move(purposes);
    ASSERT_TRUE(gallery_->catalog().AddSource(&s).ok());
  }
  void Enrol(const std::vector<std::string>& files, const std::string& source) {
    lineup::EnrollOptions eo;
    eo.source = source;
    auto r = gallery_->Enroll(files, eo);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  std::string D(const std::string& rel) { return data_ + "/" + rel; }
  int64_t Records() {
    auto all = audit_->Records();
    EXPECT_TRUE(all.ok());
    return all.ok() ? static_cast<int64_t>(all->size()) : -1;
  }
  AuditRecord Last() {
    auto all = audit_->Records();
    EXPECT_TRUE(all.ok()) << all.status().ToString();
    return all.ok() && !all->empty() ? all->back() : AuditRecord{};
  }
  json LastDetails() { return json::parse(Last().details); }
  NetworkScope InCase() const { return {case_, "mapping the network of case 7"}; }
  int64_t SearchOnlyFaces() {
    auto counts = gallery_->catalog().CountsBySource();
    for (const auto& c : *counts)
      if (c.name == "searchonly") return c.faces;
    return 0;
  }

  TempDir tmp_;
  std::string data_, dir_;
  std::unique_ptr<lineup::Gallery> gallery_;
  std::unique_ptr<lineup::Cases> cases_;
  std::unique_ptr<lineup::AuditLog> audit_;
  std::unique_ptr<NetworkInvestigations> net_;
  int64_t case_ = 0, a_ = 0, b_ = 0;
  const Principal ana_ = User("ana", Role::kAnalyst), bob_ = User("bob", Role::kAnalyst);
  const Principal admin_ = User("root", Role::kAdmin), eve_ = User("eve", Role::kEnroller);
  const Principal cli_ = lineup::LocalPrincipal("tester");
};

TEST_F(NetworkInvestigationsTest, EveryQueryIsAuditedWithWhatItReturned) {
  const int64_t left_out = SearchOnlyFaces();
  ASSERT_GT(left_out, 4);

  auto a = net_->Associates(ana_, InCase(), a_, 5);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_FALSE(a->associates.empty());
  EXPECT_EQ(a->associates[0].person, b_);
  EXPECT_EQ(a->report.faces_left_out_purpose, left_out) << "every answer says what it left out";
  AuditRecord r = Last();
  EXPECT_EQ(r.action, "network_associates");
  EXPECT_EQ(r.actor, "ana");
  EXPECT_EQ(r.case_id, case_);
  EXPECT_EQ(r.seq, a->audit_seq);
  json d = json::parse(r.details);
  EXPECT_EQ(d["justification"], "mapping the network of case 7");
  EXPECT_EQ(d["person"], a_);
  EXPECT_EQ(d["associates"][0][0], b_);
  EXPECT_EQ(d["associates"][0][1], 2) << "the associate and the photos they share";
  EXPECT_EQ(d["images"].size(), 2u) << "the photos behind the links, by id";
  EXPECT_EQ(d["network"]["faces_left_out_purpose"], left_out);
  lineup::AssociatesAnswer unsealed = *a;
  unsealed.audit_seq = 0;  // the answer is hashed before its record has a number
  EXPECT_EQ(d["answer_sha256"], lineup::Sha256Hex(lineup::AssociatesAnswerJson(unsealed).dump()));
  EXPECT_EQ(r.details.find("/groups/"), std::string::npos) << "no photo paths, only ids";

  auto p = net_->Path(ana_, InCase(), a_, b_);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->path.persons, (std::vector<int64_t>{a_, b_}));
  d = LastDetails();
  EXPECT_EQ(Last().action, "network_path");
  EXPECT_EQ(d["persons"], json({a_, b_}));
  EXPECT_EQ(d["links"][0][2], 2);

  auto c = net_->Communities(ana_, InCase());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(Last().action, "network_communities");
  EXPECT_EQ(LastDetails()["communities"].size(), c->communities.communities.size());
  EXPECT_EQ(LastDetails()["algorithm"], "leiden:modularity");

  auto b = net_->Brokers(ana_, InCase(), 3, "louvain");
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(Last().action, "network_brokers");
  EXPECT_EQ(LastDetails()["brokers"].size(), b->brokers.size());
  EXPECT_EQ(LastDetails()["algorithm"], "louvain");

  auto n = net_->Neighbourhood(ana_, InCase(), a_, 2, 10);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(n->neighbourhood.nodes.front().person, a_);
  EXPECT_EQ(n->ties.size(), n->neighbourhood.edges.size()) << "every edge with its photos";
  EXPECT_EQ(Last().action, "network_neighbourhood");
  EXPECT_EQ(LastDetails()["ties"].size(), n->ties.size());

  for (const std::string format : {"graphml", "json"}) {
    auto e = net_->Export(ana_, InCase(), format);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    EXPECT_EQ(Last().action, "network_export");
    EXPECT_EQ(LastDetails()["format"], format);
    EXPECT_EQ(LastDetails()["export_sha256"], lineup::Sha256Hex(e->text)) << "what left, by its hash";
    EXPECT_EQ(LastDetails()["persons"].size(), static_cast<size_t>(e->report.persons));
  }
  auto js = net_->Export(ana_, InCase(), "json");
  EXPECT_EQ(json::parse(js->text)["report"]["faces_left_out_purpose"], left_out);
  // An export writes a shared photo exactly as the answers show it (whole-pixel boxes),
  // the tie's lower person as face_a.
  json answered = lineup::AssociatesAnswerJson(*a)["associates"][0]["photos"];
  if (a_ > b_)
    for (json& ph : answered) {
      std::swap(ph["face_a"], ph["face_b"]);
      std::swap(ph["box_a"], ph["box_b"]);
    }
  size_t compared = 0;
  const json exported = json::parse(js->text);
  for (const json& t : exported["ties"])
    if (t["a"] == std::min(a_, b_) && t["b"] == std::max(a_, b_)) {
      EXPECT_EQ(t["photos"], answered);
      for (const json& ph : t["photos"]) EXPECT_TRUE(ph["box_b"][2].is_number_integer()) << ph.dump();
      compared += t["photos"].size();
    }
  EXPECT_EQ(compared, 2u);

  // A person whose faces are all in the search-only source is a person, not in the network.
  auto persons = lineup::Persons::Open(*gallery_);
  ASSERT_TRUE(persons.ok());
  int64_t outside = 0;
  auto face_ids = gallery_->catalog().FaceIds();
  ASSERT_TRUE(face_ids.ok());
  for (int64_t id : *face_ids) {
    auto f = gallery_->catalog().GetFace(id);
    if (fs::path(gallery_->catalog().GetImage(f->image_id)->uri).filename() == "dlib_bald_guys.jpg") {
      auto p = (*persons)->PersonOf(id);
      if (p.ok() && *p > 0) outside = *p;
    }
  }
  ASSERT_GT(outside, 0);
  auto out = net_->Associates(ana_, InCase(), outside, 5);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_FALSE(out->in_network);
  EXPECT_EQ(LastDetails()["in_network"], false);
  auto hood = net_->Neighbourhood(ana_, InCase(), outside);
  ASSERT_TRUE(hood.ok());
  EXPECT_FALSE(hood->in_network);
  EXPECT_TRUE(hood->neighbourhood.nodes.empty());

  // A local operator may ask without a case; the record says so.
  ASSERT_TRUE(net_->Associates(cli_, {}, a_, 5).ok());
  EXPECT_EQ(Last().actor, "cli:tester");
  EXPECT_EQ(Last().case_id, 0);
}

TEST_F(NetworkInvestigationsTest, RefusedWithoutCaseJustificationOrMembershipAndNothingShown) {
  const int64_t before = Records();
  EXPECT_EQ(net_->Associates(ana_, {0, "why"}, a_, 5).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(net_->Associates(ana_, {case_, ""}, a_, 5).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(net_->Associates(bob_, InCase(), a_, 5).status().code(), Code::kPermissionDenied);
  EXPECT_EQ(net_->Communities(admin_, InCase()).status().code(), Code::kPermissionDenied);
  EXPECT_EQ(net_->Brokers(eve_, InCase(), 5).status().code(), Code::kPermissionDenied);
  EXPECT_EQ(net_->Export(ana_, {0, "why"}, "graphml").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(net_->Path(ana_, {999, "why"}, a_, b_).status().code(), Code::kNotFound);
  EXPECT_EQ(net_->Neighbourhood(ana_, {-1, "why"}, a_).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Records(), before) << "a refused query records and shows nothing";
  ASSERT_TRUE(cases_->Close(case_, "ana").ok());
  EXPECT_EQ(net_->Associates(ana_, InCase(), a_, 5).status().code(), Code::kFailedPrecondition);
}

TEST_F(NetworkInvestigationsTest, HostileArgumentsAreRefused) {
  for (int64_t bad : {int64_t{0}, int64_t{-1}, INT64_MIN}) {
    EXPECT_EQ(net_->Associates(ana_, InCase(), bad, 5).status().code(), Code::kInvalidArgument) << bad;
    EXPECT_EQ(net_->Path(ana_, InCase(), a_, bad).status().code(), Code::kInvalidArgument) << bad;
    EXPECT_EQ(net_->Neighbourhood(ana_, InCase(), bad).status().code(), Code::kInvalidArgument) << bad;
  }
  EXPECT_EQ(net_->Associates(ana_, InCase(), INT64_MAX, 5).status().code(), Code::kNotFound);
  EXPECT_EQ(net_->Path(ana_, InCase(), a_, 987654321).status().code(), Code::kNotFound);
  EXPECT_EQ(net_->Neighbourhood(ana_, InCase(), 987654321).status().code(), Code::kNotFound);
  for (int top : {0, -5, lineup::kMaxNetworkTop + 1, INT32_MAX}) {
    EXPECT_EQ(net_->Associates(ana_, InCase(), a_, top).status().code(), Code::kInvalidArgument) << top;
    EXPECT_EQ(net_->Brokers(ana_, InCase(), top).status().code(), Code::kInvalidArgument) << top;
  }
  for (const std::string algorithm : {"leiden", "components", "louvain:resolution=1e308", "'; DROP TABLE", "\xff"})
    EXPECT_EQ(net_->Communities(ana_, InCase(), algorithm).status().code(), Code::kInvalidArgument) << algorithm;
  EXPECT_EQ(net_->Neighbourhood(ana_, InCase(), a_, 0, 10).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(net_->Neighbourhood(ana_, InCase(), a_, 4, 10).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(net_->Neighbourhood(ana_, InCase(), a_, 1, lineup::kMaxNeighbourhoodNodes + 1).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(net_->Export(ana_, InCase(), "../../etc/passwd").status().code(), Code::kInvalidArgument);
  // The biggest allowed still works.
  EXPECT_TRUE(net_->Associates(ana_, InCase(), a_, lineup::kMaxNetworkTop).ok());
  EXPECT_TRUE(net_->Brokers(ana_, InCase(), lineup::kMaxNetworkTop).ok());
}

TEST_F(NetworkInvestigationsTest, ErasingAPhotoRemovesThePersonAndTheirLinksFromTheNextAnswer) {
  auto before = net_->Associates(ana_, InCase(), a_, 100);
  ASSERT_TRUE(before.ok());
  // Erase every photo of b: b and all of b's links leave at once.
  std::set<std::string> photos;
  auto n = net_->Neighbourhood(ana_, InCase(), b_, 1, 100);
  ASSERT_TRUE(n.ok());
  for (const auto& t : n->ties)
    for (const auto& p : t.photos) photos.insert(p.sha256);
  ASSERT_EQ(photos.size(), 2u);
  for (const std::string& sha : photos) ASSERT_TRUE(gallery_->Erase("image", sha, "test").ok());
  auto after = net_->Associates(ana_, InCase(), a_, 100);
  if (after.ok()) {
    for (const auto& x : after->associates) EXPECT_NE(x.person, b_);
  } else {
    EXPECT_EQ(after.status().code(), Code::kNotFound) << "a_ had no other photo";
  }
  auto gone = net_->Associates(ana_, InCase(), b_, 5);
  EXPECT_TRUE(gone.status().code() == Code::kNotFound || (gone.ok() && !gone->in_network && gone->associates.empty()))
      << "b's faces are all erased";
  EXPECT_EQ(net_->Path(ana_, InCase(), a_, b_).status().code(), Code::kNotFound);
  auto c = net_->Communities(ana_, InCase());
  ASSERT_TRUE(c.ok());
  for (const auto& g : c->communities.communities)
    for (int64_t m : g.members) EXPECT_NE(m, b_);
  auto e = net_->Export(ana_, InCase(), "json");
  ASSERT_TRUE(e.ok());
  for (const auto& t : json::parse(e->text)["ties"])
    for (const auto& p : t["photos"]) EXPECT_EQ(photos.count(p["sha256"].get<std::string>()), 0u);
}

TEST_F(NetworkInvestigationsTest, WithheldWhenTheAuditRecordCannotBeWritten) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ + "/catalog.sqlite").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "DROP TABLE audit_log", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  EXPECT_EQ(net_->Associates(ana_, InCase(), a_, 5).status().code(), Code::kUnavailable);
  EXPECT_EQ(net_->Path(ana_, InCase(), a_, b_).status().code(), Code::kUnavailable);
  EXPECT_EQ(net_->Communities(ana_, InCase()).status().code(), Code::kUnavailable);
  EXPECT_EQ(net_->Brokers(ana_, InCase(), 5).status().code(), Code::kUnavailable);
  EXPECT_EQ(net_->Neighbourhood(ana_, InCase(), a_).status().code(), Code::kUnavailable);
  EXPECT_EQ(net_->Export(ana_, InCase(), "graphml").status().code(), Code::kUnavailable);
  EXPECT_EQ(net_->Associates(cli_, {}, a_, 5).status().code(), Code::kUnavailable) << "local operators too";
  // Nothing was shown, so no crop either.
  EXPECT_EQ(net_->ThumbnailPath(ana_, case_, 1).status().code(), Code::kPermissionDenied);
}

TEST_F(NetworkInvestigationsTest, CropsOnlyForFacesAnAnswerShowedInThatCase) {
  auto n = net_->Neighbourhood(ana_, InCase(), a_, 1, 10);
  ASSERT_TRUE(n.ok());
  const int64_t face = n->neighbourhood.nodes.front().face_id;
  const int64_t shared = n->ties.front().photos.front().face_b;
  EXPECT_TRUE(net_->ThumbnailPath(ana_, case_, face).ok());
  EXPECT_TRUE(net_->ThumbnailPath(ana_, case_, shared).ok()) << "the faces of a link's photos too";
  auto other = cases_->Create("Other", "warrant W-8", "ana");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(net_->ThumbnailPath(ana_, other->id, face).status().code(), Code::kPermissionDenied);
  EXPECT_EQ(net_->ThumbnailPath(bob_, case_, face).status().code(), Code::kPermissionDenied);
  // A face of the search-only source was never in an answer.
  auto ids = gallery_->catalog().FaceIds();
  for (int64_t id : *ids) {
    auto f = gallery_->catalog().GetFace(id);
    auto img = gallery_->catalog().GetImage(f->image_id);
    if (fs::path(img->uri).filename() == "dlib_bald_guys.jpg") {
      EXPECT_EQ(net_->ThumbnailPath(ana_, case_, id).status().code(), Code::kPermissionDenied);
    }
  }
  // The record is the catalog's: a new object (a restarted server) serves the same crops.
  net_ = std::make_unique<NetworkInvestigations>(gallery_.get(), cases_.get(), audit_.get());
  EXPECT_TRUE(net_->ThumbnailPath(ana_, case_, shared).ok());
  EXPECT_EQ(net_->ThumbnailPath(bob_, case_, shared).status().code(), Code::kPermissionDenied);
}

// Purpose limitation for search: the faces of a source whose legal basis allows only the
// network are never candidates, however close, and the search says how many it skipped.
TEST_F(NetworkInvestigationsTest, SearchSkipsSourcesThatDoNotAllowSearchAndSaysHowMany) {
  AddSource("netonly", {"network"});
  Enrol({D("face_recognition/examples/obama.jpg"), D("face_recognition/examples/biden.jpg")}, "netonly");
  int64_t netonly_faces = 0, probe_face = 0;
  auto counts = gallery_->catalog().CountsBySource();
  for (const auto& c : *counts)
    if (c.name == "netonly") netonly_faces = c.faces;
  ASSERT_EQ(netonly_faces, 2);
  auto ids = gallery_->catalog().FaceIds();
  for (int64_t id : *ids) {
    auto f = gallery_->catalog().GetFace(id);
    if (fs::path(gallery_->catalog().GetImage(f->image_id)->uri).filename() == "obama.jpg") probe_face = id;
  }
  ASSERT_GT(probe_face, 0);
  const float* v = gallery_->StoredVector(probe_face);
  ASSERT_NE(v, nullptr);
  auto cal = lineup::Calibration::ForModel(gallery_->model());
  ASSERT_TRUE(cal.ok()) << cal.status().ToString();
  lineup::Investigations inv(gallery_.get(), cases_.get(), audit_.get(), *cal);
  lineup::SearchRequest req;
  req.probe.vector.assign(v, v + gallery_->model().dim);
  req.top = 50;
  req.all = true;
  auto res = inv.Search(cli_, req, nullptr);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  ASSERT_FALSE(res->leads.empty());
  bool obama_in_group_photo = false;
  for (const auto& l : res->leads) {
    EXPECT_NE(l.candidate.source.name, "netonly") << "face " << l.candidate.face_id;
    EXPECT_NE(l.candidate.face_id, probe_face);
    obama_in_group_photo |= l.above_threshold;
  }
  EXPECT_TRUE(obama_in_group_photo) << "Obama's faces of searchable sources are still found";
  bool warned = false;
  for (const std::string& w : res->warnings)
    warned |= w.find("2 face(s) were not searched") != std::string::npos && w.find("netonly") != std::string::npos;
  EXPECT_TRUE(warned) << "the search says how many faces it did not search, and why";
  EXPECT_EQ(LastDetails()["not_searched_purpose"], 2);
  // Allowing search brings them back.
  ASSERT_TRUE(gallery_->catalog().SetSourcePurposes("netonly", {"search", "network"}).ok());
  auto again = inv.Search(cli_, req, nullptr);
  ASSERT_TRUE(again.ok());
  ASSERT_FALSE(again->leads.empty());
  EXPECT_EQ(again->leads.front().candidate.face_id, probe_face);
  for (const std::string& w : again->warnings) EXPECT_EQ(w.find("not searched"), std::string::npos) << w;
}

}  // namespace
