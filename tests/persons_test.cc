// Tests of persons (persons.h) and the graph clustering under them (graph_clustering.h):
// grouping real faces, the constraints every rebuild obeys (two faces of one photo are
// two people; an analyst's "not this person" holds), analysts' changes and their undoing,
// and faces enrolled later joining the right person.
#include <filesystem>
#include <map>
#include <set>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "lineup/gallery.h"
#include "lineup/graph_clustering.h"
#include "lineup/persons.h"
#include "test_util.h"

namespace {

using lineup::ClusterGraph;
using lineup::Gallery;
using lineup::PendingVote;
using lineup::Persons;
using lineup::Status;
using lineup::WeightedGraph;
using lineup_test::TempDir;

TEST(GraphClustering, EveryAlgorithmSeparatesTwoCliques) {
  // Two cliques of four joined by one weak edge.
  WeightedGraph g;
  g.nodes = 8;
  for (int base : {0, 4})
    for (int a = 0; a < 4; ++a)
      for (int b = a + 1; b < 4; ++b) {
        g.edges.push_back({base + a, base + b});
        g.weights.push_back(0.8);
      }
  g.edges.push_back({3, 4});
  g.weights.push_back(0.1);
  for (const char* algo : {"leiden:resolution=0.3", "leiden:modularity", "louvain", "infomap"}) {
    auto c = ClusterGraph(g, algo);
    ASSERT_TRUE(c.ok()) << algo << ": " << c.status().ToString();
    EXPECT_EQ(c->count, 2) << algo;
    EXPECT_EQ(c->label[0], c->label[3]) << algo;
    EXPECT_NE(c->label[3], c->label[4]) << algo;
  }
  auto joined = ClusterGraph(g, "components");
  ASSERT_TRUE(joined.ok());
  EXPECT_EQ(joined->count, 1) << "one edge joins all";
  EXPECT_EQ(ClusterGraph(g, "kmeans").status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(ClusterGraph(g, "leiden:resolution=x").status().code(), Status::Code::kInvalidArgument);
  WeightedGraph bad = g;
  bad.weights[0] = -1;
  EXPECT_EQ(ClusterGraph(bad, "components").status().code(), Status::Code::kInvalidArgument);
  bad = g;
  bad.edges[0] = {0, 99};
  EXPECT_EQ(ClusterGraph(bad, "leiden").status().code(), Status::Code::kInvalidArgument);
  auto empty = ClusterGraph(WeightedGraph{}, "leiden");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->count, 0);
}

// A gallery of a few LFW people, three photos each, plus a photo showing two of one
// person's photos side by side.
class PersonsTest : public ::testing::Test {
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
  }
  std::string Lfw(const std::string& name, int i) {
    char b[32];
    std::snprintf(b, sizeof b, "_%04d.jpg", i);
    return lfw_ + "/" + name + "/" + name + b;
  }
  void Enrol(const std::vector<std::string>& files) {
    lineup::EnrollOptions eo;
    eo.source = "test";
    auto r = gallery_->Enroll(files, eo);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  // The first three LFW photos of each of people_.
  void EnrolPeople() {
    std::vector<std::string> files;
    for (const auto& p : people_)
      for (int i = 1; i <= 3; ++i) files.push_back(Lfw(p, i));
    Enrol(files);
  }
  // Face id -> the photo it came from, for the largest face of each photo (LFW photos
  // show bystanders too, who are not the person the folder is named after).
  std::map<int64_t, std::string> Photos() {
    std::map<int64_t, std::pair<int64_t, float>> largest;  // image -> face, area
    std::map<int64_t, std::string> uri_of;
    auto ids = gallery_->catalog().FaceIds();
    for (int64_t id : *ids) {
      auto f = gallery_->catalog().GetFace(id);
      const float area = f->box.width * f->box.height;
      auto [it, fresh] = largest.emplace(f->image_id, std::make_pair(id, area));
      if (!fresh && area > it->second.second) it->second = {id, area};
      uri_of[f->image_id] = gallery_->catalog().GetImage(f->image_id)->uri;
    }
    std::map<int64_t, std::string> out;
    for (const auto& [image, face] : largest) out[face.first] = uri_of[image];
    return out;
  }
  std::string Who(const std::string& uri) {
    return std::filesystem::path(uri).parent_path().filename().string();
  }
  // A photo of two LFW photos of one person side by side.
  std::string Pair(const std::string& name) {
    cv::Mat a = cv::imread(Lfw(name, 1)), b = cv::imread(Lfw(name, 2)), both;
    cv::hconcat(a, b, both);
    const std::string path = tmp_.File("pair-" + name + ".png");
    EXPECT_TRUE(cv::imwrite(path, both));
    return path;
  }

  TempDir tmp_;
  std::string lfw_, dir_;
  std::unique_ptr<Gallery> gallery_;
  const std::vector<std::string> people_ = {"Colin_Powell", "Tony_Blair", "Donald_Rumsfeld", "Gerhard_Schroeder"};
};

TEST_F(PersonsTest, ReclusterGroupsEachPersonAndKeepsOnePhotosFacesApart) {
  EnrolPeople();
  Enrol({Pair("Colin_Powell")});
  auto persons = Persons::Open(*gallery_);
  ASSERT_TRUE(persons.ok()) << persons.status().ToString();
  auto rep = (*persons)->Recluster();
  ASSERT_TRUE(rep.ok()) << rep.status().ToString();
  EXPECT_GE(rep->kept_apart, 1) << "the two Powell faces of one photo";
  auto photos = Photos();
  std::map<int64_t, std::set<std::string>> who_in;  // person -> people in it
  std::map<std::string, std::set<int64_t>> persons_of;  // LFW person -> persons
  int64_t pair_a = 0, pair_b = 0;
  auto all_faces = gallery_->catalog().FaceIds();
  ASSERT_TRUE(all_faces.ok());
  for (int64_t face : *all_faces) {
    auto p = (*persons)->PersonOf(face);
    ASSERT_TRUE(p.ok());
    ASSERT_GT(*p, 0) << "every face has a person after a rebuild";
    auto f = gallery_->catalog().GetFace(face);
    if (gallery_->catalog().GetImage(f->image_id)->uri.find("pair-") != std::string::npos)
      (pair_a ? pair_b : pair_a) = *p;
  }
  for (const auto& [face, uri] : photos) {
    if (uri.find("pair-") != std::string::npos) continue;
    auto p = (*persons)->PersonOf(face);
    who_in[*p].insert(Who(uri));
    persons_of[Who(uri)].insert(*p);
  }
  for (const auto& [p, who] : who_in) EXPECT_EQ(who.size(), 1u) << "person " << p << " mixes people";
  for (const auto& [name, ps] : persons_of) EXPECT_EQ(ps.size(), 1u) << name << " is split";
  ASSERT_GT(pair_a, 0);
  EXPECT_NE(pair_a, pair_b) << "two faces of one photo are two people";
  auto list = (*persons)->List();
  ASSERT_TRUE(list.ok());
  for (const auto& s : *list) {
    EXPECT_LE(s.weakest_link, 1.0f);
    if (s.faces > 1) {
      EXPECT_GT(s.weakest_link, 0.3f) << s.id;
    }
  }
  // The most doubtful first.
  for (size_t i = 1; i < list->size(); ++i) EXPECT_LE((*list)[i - 1].margin(), (*list)[i].margin());
}

// What a rebuild reports as it goes (the command line's bars, the server's job): each
// stage in order, its counts never going back, each ending complete.
TEST_F(PersonsTest, ReclusterReportsEachStageInOrderToItsEnd) {
  EnrolPeople();
  auto persons = Persons::Open(*gallery_);
  ASSERT_TRUE(persons.ok());
  std::vector<std::string> stages;
  std::map<std::string, std::pair<int64_t, int64_t>> last;  // stage -> done, total
  auto rep = (*persons)->Recluster([&](const std::string& stage, int64_t done, int64_t total) {
    if (stages.empty() || stages.back() != stage) stages.push_back(stage);
    auto it = last.find(stage);
    if (it != last.end()) {
      EXPECT_GE(done, it->second.first) << stage;
      EXPECT_EQ(total, it->second.second) << stage;
    }
    EXPECT_LE(done, total) << stage;
    last[stage] = {done, total};
  });
  ASSERT_TRUE(rep.ok()) << rep.status().ToString();
  EXPECT_EQ(stages, (std::vector<std::string>{"neighbours", "clustering", "constraints", "storing"}));
  for (const auto& [stage, dt] : last) EXPECT_EQ(dt.first, dt.second) << stage << " did not end complete";
  EXPECT_EQ(last["neighbours"].second, rep->faces);
  EXPECT_EQ(last["clustering"].second, 1);
  EXPECT_EQ(last["storing"].second, rep->persons + 1) << "each person written, then their measures";
}

// Why a face waits: a photo of two of one person's photos side by side, placed by Update,
// leaves one face waiting because the person its neighbours vote for already has the
// other face of that photo; its vote says so, with what it has against what it needs.
TEST_F(PersonsTest, PendingVotesSayWhyAFaceWaits) {
  EnrolPeople();
  auto persons = Persons::Open(*gallery_);
  ASSERT_TRUE(persons.ok());
  ASSERT_TRUE((*persons)->Recluster().ok());
  Enrol({Pair("Tony_Blair")});
  auto placed = (*persons)->Update();
  ASSERT_TRUE(placed.ok()) << placed.status().ToString();
  auto pending = (*persons)->PendingFaces();
  ASSERT_TRUE(pending.ok());
  // One face of the pair joins Blair, the other cannot (a bystander could wait too).
  ASSERT_GE(pending->size(), 1u);
  // A placed face too: its neighbours carry it, and nothing keeps it out.
  auto all_faces = gallery_->catalog().FaceIds();
  ASSERT_TRUE(all_faces.ok());
  int64_t placed_face = 0;
  for (int64_t f : *all_faces) {
    auto person = (*persons)->PersonOf(f);
    if (person.ok() && *person > 0) placed_face = f;
  }
  ASSERT_GT(placed_face, 0);
  std::vector<int64_t> ask = *pending;
  ask.push_back(placed_face);
  auto votes = (*persons)->PendingVotes(ask);
  ASSERT_TRUE(votes.ok()) << votes.status().ToString();
  ASSERT_EQ(votes->size(), ask.size());
  const PendingVote* same_photo = nullptr;
  for (size_t i = 0; i < pending->size(); ++i) {
    EXPECT_EQ((*votes)[i].face_id, (*pending)[i]) << "in the order asked";
    if ((*votes)[i].reason == "same photo") same_photo = &(*votes)[i];
  }
  ASSERT_NE(same_photo, nullptr) << "the pair's second face waits because the first is in the person";
  const PendingVote& v = *same_photo;
  EXPECT_GE(v.close_neighbours, 1) << "at least the face of its photo that joined";
  EXPECT_GE(v.leading_share, v.share_needed);
  EXPECT_DOUBLE_EQ(v.share_needed, 0.75);
  EXPECT_GT(v.leading_person, 0);
  EXPECT_LE(v.leading_neighbours, v.close_neighbours);
  EXPECT_EQ(votes->back().face_id, placed_face);
  EXPECT_NE(votes->back().reason, "same photo") << "a face is not kept out by itself";
  EXPECT_TRUE((*persons)->PendingVotes({}).ok());
  // A rebuild places it, in a person of its own or with the other photos' faces.
  ASSERT_TRUE((*persons)->Recluster().ok());
  EXPECT_TRUE((*persons)->PendingFaces()->empty());
}

TEST_F(PersonsTest, AnalystsChangesHoldThroughRebuildsAndCanBeUndone) {
  EnrolPeople();
  auto persons = Persons::Open(*gallery_);
  ASSERT_TRUE(persons.ok());
  ASSERT_TRUE((*persons)->Recluster().ok());
  auto photos = Photos();
  std::map<std::string, std::vector<int64_t>> faces_of;
  for (const auto& [face, uri] : photos) faces_of[Who(uri)].push_back(face);
  const int64_t powell = *(*persons)->PersonOf(faces_of["Colin_Powell"][0]);
  const int64_t blair = *(*persons)->PersonOf(faces_of["Tony_Blair"][0]);
  const int64_t marked = faces_of["Colin_Powell"][2];

  // Name: the person becomes the subject, its faces linked to it.
  auto named = (*persons)->Name(powell, "Colin Powell", "ana");
  ASSERT_TRUE(named.ok()) << named.status().ToString();
  EXPECT_EQ((*persons)->Get(powell)->name, "Colin Powell");
  EXPECT_EQ(*gallery_->catalog().SubjectOfFace(faces_of["Colin_Powell"][1]), "Colin Powell");
  EXPECT_EQ((*persons)->Name(blair, "Colin Powell", "ana").status().code(), Status::Code::kInvalidArgument)
      << "one name, one person";

  // "Not this person" holds through a rebuild.
  auto mark = (*persons)->MarkNot(marked, powell, "ana");
  ASSERT_TRUE(mark.ok()) << mark.status().ToString();
  EXPECT_NE(*(*persons)->PersonOf(marked), powell);
  ASSERT_TRUE((*persons)->Recluster().ok());
  EXPECT_NE(*(*persons)->PersonOf(marked), *(*persons)->PersonOf(faces_of["Colin_Powell"][0]));
  EXPECT_EQ(*(*persons)->PersonOf(faces_of["Colin_Powell"][0]), powell) << "the person keeps its id";
  EXPECT_EQ((*persons)->Get(powell)->name, "Colin Powell") << "and its name";

  // Merge two different people (an analyst's call), then take it back.
  auto merged = (*persons)->Merge(powell, blair, "ana");
  ASSERT_TRUE(merged.ok()) << merged.status().ToString();
  EXPECT_EQ(*(*persons)->PersonOf(faces_of["Tony_Blair"][1]), powell);
  EXPECT_EQ((*persons)->Get(blair).status().code(), Status::Code::kNotFound);
  // The merge holds through a rebuild too.
  ASSERT_TRUE((*persons)->Recluster().ok());
  EXPECT_EQ(*(*persons)->PersonOf(faces_of["Tony_Blair"][1]), *(*persons)->PersonOf(faces_of["Colin_Powell"][0]));
  auto undone = (*persons)->Undo(merged->id, "bob");
  ASSERT_TRUE(undone.ok()) << undone.status().ToString();
  EXPECT_EQ((*persons)->Undo(merged->id, "bob").status().code(), Status::Code::kFailedPrecondition);

  // Split: two of Rumsfeld's faces leave; they stay apart after a rebuild.
  const auto& rums = faces_of["Donald_Rumsfeld"];
  const int64_t r = *(*persons)->PersonOf(rums[0]);
  auto split = (*persons)->Split(r, {rums[1], rums[2]}, "ana");
  ASSERT_TRUE(split.ok()) << split.status().ToString();
  EXPECT_EQ(*(*persons)->PersonOf(rums[1]), *(*persons)->PersonOf(rums[2]));
  EXPECT_NE(*(*persons)->PersonOf(rums[1]), r);
  ASSERT_TRUE((*persons)->Recluster().ok());
  EXPECT_NE(*(*persons)->PersonOf(rums[1]), *(*persons)->PersonOf(rums[0]));
  EXPECT_EQ((*persons)->Split(r, {faces_of["Tony_Blair"][0]}, "ana").status().code(), Status::Code::kInvalidArgument);

  auto history = (*persons)->History();
  ASSERT_TRUE(history.ok());
  EXPECT_GE(history->size(), 5u);
}

TEST_F(PersonsTest, NewFacesJoinTheirPersonAndErasureRemovesThem) {
  EnrolPeople();
  auto persons = Persons::Open(*gallery_);
  ASSERT_TRUE(persons.ok());
  ASSERT_TRUE((*persons)->Recluster().ok());
  const size_t before = (*persons)->List()->size();
  Enrol({Lfw("Colin_Powell", 4), Lfw("Aaron_Peirsol", 1)});
  auto up = (*persons)->Update();
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  EXPECT_EQ(up->faces, 2);
  auto photos = Photos();
  int64_t powell_old = 0, powell_new = 0, peirsol = 0;
  for (const auto& [face, uri] : photos) {
    if (uri.find("Colin_Powell_0001") != std::string::npos) powell_old = *(*persons)->PersonOf(face);
    if (uri.find("Colin_Powell_0004") != std::string::npos) powell_new = *(*persons)->PersonOf(face);
    if (uri.find("Aaron_Peirsol") != std::string::npos) peirsol = *(*persons)->PersonOf(face);
  }
  EXPECT_EQ(powell_new, powell_old) << "a new photo joins its person";
  EXPECT_GT(peirsol, 0) << "someone new is a person of their own";
  EXPECT_GT((*persons)->Get(peirsol)->nearest_other, 0.0f) << "a new person's margin is measured on placement";
  EXPECT_EQ((*persons)->Get(999999).status().code(), Status::Code::kNotFound);
  EXPECT_EQ((*persons)->List()->size(), before + 1);
  // Erasing a source takes its faces out of every person at once.
  ASSERT_TRUE(gallery_->Erase("source", "test", "test over").ok());
  EXPECT_TRUE((*persons)->List()->empty());
}

}  // namespace
