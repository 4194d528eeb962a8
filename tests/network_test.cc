// Tests of the co-appearance network (network.h), purpose limitation (catalog.h's
// purposes) and the planted network it is measured on (planted_network.h): ties and their
// evidence, associates, paths, communities, brokers and neighbourhoods on a small planted
// set; GraphML and JSON with hostile names; the purposes list parser with hostile input
// and its schema migration; and, on real photos, ties from group photos, faces left out
// by purpose, erasure and opt-out removing ties at once, and a small planted evaluation.
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <opencv2/imgcodecs.hpp>

#include "lineup/catalog.h"
#include "lineup/detector.h"
#include "lineup/gallery.h"
#include "lineup/models.h"
#include "lineup/network.h"
#include "lineup/persons.h"
#include "lineup/planted_network.h"
#include "test_util.h"

namespace {

using lineup::Broker;
using lineup::CoAppearanceNetwork;
using lineup::NetworkOptions;
using lineup::PersonFace;
using lineup::Status;
using lineup_test::TempDir;
namespace fs = std::filesystem;

// A face of person `person` in photo `image`.
CoAppearanceNetwork::FaceOf F(int64_t person, int64_t image, const std::string& name = "") {
  static int64_t next_face = 0;
  CoAppearanceNetwork::FaceOf f;
  f.person = person;
  f.person_name = name;
  f.face.face_id = ++next_face;
  f.face.image_id = image;
  f.face.image_uri = "/photos/" + std::to_string(image) + ".jpg";
  f.face.image_sha256 = "sha-" + std::to_string(image);
  f.face.captured_at = "2026-01-" + std::string(image < 10 ? "0" : "") + std::to_string(image % 28 + 1);
  f.face.source = "src";
  f.face.box = cv::Rect2f(static_cast<float>(person * 10), 5, 40, 50);
  f.face.quality = 0.5f;
  return f;
}

// Two groups, {1,2,3,4} and {5,6,7,8}, each photographed together often, and one photo
// of 4 with 5 and 6 (4 is the bridge); person 9 only has a solo photo.
std::vector<CoAppearanceNetwork::FaceOf> SmallPlanted() {
  std::vector<CoAppearanceNetwork::FaceOf> f;
  int64_t image = 1;
  for (int64_t base : {1, 5}) {
    for (int rep = 0; rep < 3; ++rep) {
      for (int64_t a = base; a < base + 4; ++a) f.push_back(F(a, image));
      ++image;
    }
    f.push_back(F(base, image));
    f.push_back(F(base + 1, image));
    ++image;
  }
  f.push_back(F(4, 50));
  f.push_back(F(5, 50));
  f.push_back(F(6, 50));
  f.push_back(F(9, 60));
  return f;
}

TEST(NetworkPure, TiesCarryTheirPhotosAndBothFaces) {
  auto net = CoAppearanceNetwork::FromFaces(SmallPlanted());
  EXPECT_EQ(net.report().persons, 9);
  EXPECT_EQ(net.report().photos, 10);
  EXPECT_EQ(net.report().group_photos, 9);
  // Within each group: 6 pairs; (base, base+1) 4 photos, the others 3; across: 4-5, 4-6.
  EXPECT_EQ(net.report().ties, 6 + 6 + 2 + 1 - 1);  // 5-6 already tied within the group
  auto p = net.Person(1);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->photos, 4);
  EXPECT_EQ(p->ties, 3);
  EXPECT_EQ(net.Person(9)->ties, 0);
  EXPECT_EQ(net.Person(77).status().code(), Status::Code::kNotFound);
  bool found = false;
  for (const auto& t : net.ties()) {
    EXPECT_LT(t.a, t.b);
    if (t.a == 1 && t.b == 2) {
      found = true;
      ASSERT_EQ(t.weight(), 4);
      for (const auto& ph : t.photos) {
        EXPECT_EQ(ph.sha256, "sha-" + std::to_string(ph.image_id));
        EXPECT_EQ(ph.box_a.x, 10);  // person 1's face
        EXPECT_EQ(ph.box_b.x, 20);
        EXPECT_NE(ph.face_a, ph.face_b);
        EXPECT_EQ(ph.source, "src");
      }
      EXPECT_EQ(t.photos.back().persons_in_photo, 2);
      EXPECT_EQ(t.photos.front().persons_in_photo, 4);
    }
  }
  EXPECT_TRUE(found);
}

TEST(NetworkPure, AssociatesRankedWithPhotosOrientedToTheQueriedPerson) {
  auto net = CoAppearanceNetwork::FromFaces(SmallPlanted());
  auto a = net.Associates(2, 10);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_EQ(a->size(), 3u);
  EXPECT_EQ((*a)[0].person, 1) << "four shared photos, one of them of the two alone";
  EXPECT_EQ((*a)[0].shared_photos, 4);
  for (const auto& ph : (*a)[0].photos) EXPECT_EQ(ph.box_a.x, 20) << "face_a is the queried person's";
  EXPECT_GT((*a)[0].score, (*a)[1].score);
  auto top1 = net.Associates(2, 1);
  ASSERT_EQ(top1->size(), 1u);
  EXPECT_EQ(net.Associates(2, 0).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(net.Associates(99, 5).status().code(), Status::Code::kNotFound);
  auto none = net.Associates(9, 5);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  // Batch: one list per person, in order.
  const std::vector<int64_t> who = {1, 5, 9};
  auto batch = net.Associates(who, 2);
  ASSERT_TRUE(batch.ok());
  ASSERT_EQ(batch->size(), 3u);
  EXPECT_EQ((*batch)[1][0].person, 6);
  NetworkOptions bad;
  bad.associate_score = "popularity";
  EXPECT_EQ(CoAppearanceNetwork::FromFaces(SmallPlanted(), bad).Associates(1, 5).status().code(),
            Status::Code::kInvalidArgument);
}

TEST(NetworkPure, HubScoreDoesNotFavourSomeoneWhoIsEverywhere) {
  // Person 1 shares two photos with 2 (who is in no other photo) and two with 0, who is in
  // 40 photos with everybody else.
  std::vector<CoAppearanceNetwork::FaceOf> f;
  for (int64_t img : {1, 2}) f.push_back(F(1, img)), f.push_back(F(2, img));
  for (int64_t img : {3, 4}) f.push_back(F(1, img)), f.push_back(F(0, img));
  for (int64_t img = 10; img < 50; ++img) f.push_back(F(0, img)), f.push_back(F(100 + img, img));
  NetworkOptions count;
  count.associate_score = "count";
  auto by_count = CoAppearanceNetwork::FromFaces(f, count).Associates(1, 2);
  ASSERT_TRUE(by_count.ok());
  EXPECT_EQ((*by_count)[0].person, 0) << "a plain count ties them; the lower id wins";
  for (const char* score : {"hub", "cosine"}) {
    NetworkOptions o;
    o.associate_score = score;
    auto a = CoAppearanceNetwork::FromFaces(f, o).Associates(1, 2);
    ASSERT_TRUE(a.ok());
    EXPECT_EQ((*a)[0].person, 2) << score;
  }
}

TEST(NetworkPure, PathTakesFewestLinksThenStrongestAndShowsEveryLinksPhotos) {
  auto net = CoAppearanceNetwork::FromFaces(SmallPlanted());
  auto p = net.Path(1, 8);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_EQ(p->persons.size(), 4u);  // 1 - 4 - (5 or 6) - 8
  EXPECT_EQ(p->persons[1], 4);
  EXPECT_EQ(p->persons[2], 5) << "5 and 6 are both one link from 4; equal strength, lower id";
  ASSERT_EQ(p->links.size(), 3u);
  for (const auto& l : p->links) {
    EXPECT_FALSE(l.photos.empty());
    for (const auto& ph : l.photos) EXPECT_EQ(ph.box_a.x, static_cast<float>(l.from * 10));
  }
  EXPECT_EQ(p->links[1].photos.size(), 1u);
  EXPECT_EQ(p->links[1].photos[0].image_id, 50);
  auto self = net.Path(3, 3);
  ASSERT_TRUE(self.ok());
  EXPECT_EQ(self->persons.size(), 1u);
  EXPECT_TRUE(self->links.empty());
  EXPECT_EQ(net.Path(1, 9).status().code(), Status::Code::kNotFound) << "9 has no tie";
  EXPECT_EQ(net.Path(1, 99).status().code(), Status::Code::kNotFound);
}

// A bridge's contact on the far side carries as many chains as the bridge itself; what
// tells them apart is that the bridge's associates do not appear with each other.
TEST(NetworkPure, BrokersRankTheBridgeAboveItsContact) {
  // Group {1,2,3} (all in one photo, twice), group {5..9} (all in one photo, twice);
  // 4 appears with 1 and 2, and (in another photo) with 5 alone.
  std::vector<CoAppearanceNetwork::FaceOf> f;
  int64_t image = 1;
  for (int rep = 0; rep < 2; ++rep) {
    for (int64_t a = 1; a <= 3; ++a) f.push_back(F(a, image));
    ++image;
    for (int64_t a = 5; a <= 9; ++a) f.push_back(F(a, image));
    ++image;
  }
  for (int64_t a : {1, 2, 4}) f.push_back(F(a, 70));
  for (int64_t a : {4, 5}) f.push_back(F(a, 71));
  auto net = CoAppearanceNetwork::FromFaces(f);
  auto b = net.Brokers(2);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  ASSERT_EQ(b->size(), 2u);
  // Chains through 5: {1,2,3,4} x {6,7,8,9} = 16; through 4: {1,2,3} x {5..9} = 15.
  const Broker& bridge = (*b)[0].person == 4 ? (*b)[0] : (*b)[1];
  const Broker& contact = (*b)[0].person == 5 ? (*b)[0] : (*b)[1];
  EXPECT_EQ((*b)[0].person, 4) << "the bridge first";
  EXPECT_EQ(contact.person, 5);
  EXPECT_GT(contact.betweenness, bridge.betweenness) << "by betweenness alone the contact would lead";
  EXPECT_NEAR(bridge.closure, 1.0 / 3, 1e-9);  // 1-2 together; 1-5, 2-5 not
  EXPECT_NEAR(contact.closure, 0.6, 1e-9);     // 6 of 10 pairs of {4,6,7,8,9}
}

TEST(NetworkPure, CommunitiesAndBrokersFindTheGroupsAndTheBridge) {
  auto net = CoAppearanceNetwork::FromFaces(SmallPlanted());
  for (const char* algo : {"leiden:modularity", "louvain"}) {
    auto c = net.Communities(algo);
    ASSERT_TRUE(c.ok()) << algo << ": " << c.status().ToString();
    ASSERT_EQ(c->communities.size(), 2u) << algo;
    EXPECT_EQ(c->communities[0].members, (std::vector<int64_t>{1, 2, 3, 4})) << algo;
    EXPECT_EQ(c->communities[1].members, (std::vector<int64_t>{5, 6, 7, 8})) << algo;
    EXPECT_EQ(c->isolated, 1) << "person 9";
    EXPECT_EQ(c->communities[0].internal_ties, 6);
    EXPECT_GT(c->quality, 0.3);
    auto again = net.Communities(algo);
    EXPECT_EQ(again->label, c->label) << "deterministic";
  }
  EXPECT_EQ(net.Communities("kmeans").status().code(), Status::Code::kInvalidArgument);
  auto b = net.Brokers(3);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  ASSERT_EQ(b->size(), 3u);
  EXPECT_EQ((*b)[0].person, 4) << "the bridge";
  EXPECT_EQ((*b)[0].communities, 2);
  EXPECT_GT((*b)[0].betweenness, (*b)[2].betweenness);
  for (const auto& k : *b) {
    EXPECT_GE(k.closure, 0);
    EXPECT_LE(k.closure, 1);
    EXPECT_NEAR(k.score, k.betweenness * (1 - k.closure), 1e-9);
  }
  EXPECT_EQ(net.Brokers(0).status().code(), Status::Code::kInvalidArgument);
  // An empty network has no communities and no brokers, without failing.
  auto empty = CoAppearanceNetwork::FromFaces({});
  EXPECT_TRUE(empty.Communities().ok());
  EXPECT_TRUE(empty.Brokers(5)->empty());
}

TEST(NetworkPure, NeighbourhoodKeepsTheStrongestWithinItsLimits) {
  auto net = CoAppearanceNetwork::FromFaces(SmallPlanted());
  auto n = net.NeighbourhoodOf(1, 1, 10);
  ASSERT_TRUE(n.ok());
  ASSERT_EQ(n->nodes.size(), 4u);
  EXPECT_EQ(n->nodes[0].person, 1);
  EXPECT_EQ(n->nodes[1].person, 2) << "strongest tie first";
  EXPECT_EQ(n->edges.size(), 6u) << "every tie among the four";
  EXPECT_FALSE(n->truncated);
  auto deep = net.NeighbourhoodOf(1, 3, 100);
  EXPECT_EQ(deep->nodes.size(), 8u);
  EXPECT_EQ(deep->nodes.back().depth, 3);
  auto cut = net.NeighbourhoodOf(1, 3, 5);
  EXPECT_EQ(cut->nodes.size(), 5u);
  EXPECT_TRUE(cut->truncated);
  EXPECT_EQ(net.NeighbourhoodOf(1, 0, 5).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(net.NeighbourhoodOf(1, 4, 5).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(net.NeighbourhoodOf(1, 1, 0).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(net.NeighbourhoodOf(42, 1, 5).status().code(), Status::Code::kNotFound);
}

TEST(NetworkPure, XmlEscapeReplacesWhatXmlCannotHold) {
  using lineup::XmlEscape;
  EXPECT_EQ(XmlEscape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
  EXPECT_EQ(XmlEscape("tab\tnl\ncr\r"), "tab&#9;nl&#10;cr&#13;");
  EXPECT_EQ(XmlEscape(std::string("x\0y", 3)), "x\xEF\xBF\xBDy");
  EXPECT_EQ(XmlEscape("\x01\x1f"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(XmlEscape("caf\xC3\xA9"), "caf\xC3\xA9") << "valid UTF-8 kept";
  EXPECT_EQ(XmlEscape("\xC3"), "\xEF\xBF\xBD") << "truncated sequence";
  EXPECT_EQ(XmlEscape("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD") << "overlong";
  EXPECT_EQ(XmlEscape("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD") << "surrogate";
  EXPECT_EQ(XmlEscape("\xEF\xBF\xBF"), "\xEF\xBF\xBD") << "U+FFFF";
  EXPECT_EQ(XmlEscape("\xF4\x90\x80\x80").substr(0, 3), "\xEF\xBF\xBD") << "past U+10FFFF";
  EXPECT_EQ(XmlEscape("]]>"), "]]&gt;");
}

// Names and paths no export may trip over.
const std::vector<std::string> kHostile = {
    "O'Brien \"the <boss>\" & co",
    std::string("nul\0inside", 10),
    "\x01\x02\x03\x1b[31mred\x7f",
    "line\nbreak\r\ttab",
    "bad utf8 \xff\xfe \xC3 \xED\xA0\x80",
    "]]></data></node><node id=\"evil\"/>",
    "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>&e;",
    std::string(5000, '<'),
};

std::vector<CoAppearanceNetwork::FaceOf> HostileFaces() {
  std::vector<CoAppearanceNetwork::FaceOf> f;
  for (size_t i = 0; i < kHostile.size(); ++i) {
    for (int64_t img : {int64_t(100 + i), int64_t(200)}) {
      auto x = F(static_cast<int64_t>(i + 1), img, kHostile[i]);
      x.face.image_uri = kHostile[(i + 1) % kHostile.size()];
      x.face.source = kHostile[(i + 2) % kHostile.size()];
      x.face.image_sha256 = kHostile[(i + 3) % kHostile.size()];
      f.push_back(x);
    }
    f.push_back(F(static_cast<int64_t>(i + 1), static_cast<int64_t>(300 + i), kHostile[i]));
    f.push_back(F(static_cast<int64_t>((i + 1) % kHostile.size() + 1), static_cast<int64_t>(300 + i),
                  kHostile[(i + 1) % kHostile.size()]));
  }
  return f;
}

TEST(NetworkPure, GraphMLWithHostileNamesIsValidXml) {
  auto net = CoAppearanceNetwork::FromFaces(HostileFaces());
  ASSERT_GT(net.ties().size(), 5u);
  TempDir tmp;
  const std::string path = tmp.File("net.graphml");
  lineup_test::WriteText(path, net.ToGraphML());
  // A real parser: xmllint if present, and Python's XML parser, which also reads back
  // the names so that escaping is shown to be faithful.
  const std::string script = tmp.File("check.py");
  lineup_test::WriteText(script,
                         "import sys, xml.etree.ElementTree as ET\n"
                         "ns = {'g': 'http://graphml.graphdrawing.org/xmlns'}\n"
                         "root = ET.parse(sys.argv[1]).getroot()\n"
                         "nodes = root.findall('.//g:node', ns)\n"
                         "edges = root.findall('.//g:edge', ns)\n"
                         "print(len(nodes), len(edges))\n"
                         "for n in nodes:\n"
                         "    print(n.get('id') + '=' + ascii(n.find(\"g:data[@key='name']\", ns).text or ''))\n");
  auto py = lineup_test::Run({"/usr/bin/env", "python3", script, path});
  ASSERT_EQ(py.exit_code, 0) << py.err;
  auto lines = lineup_test::Lines(py.out);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines[0], std::to_string(net.persons().size()) + " " + std::to_string(net.ties().size()));
  const std::string joined = py.out;
  EXPECT_NE(joined.find("p1='O\\'Brien \"the <boss>\" & co'"), std::string::npos) << joined.substr(0, 400);
  EXPECT_NE(joined.find("p4='line\\nbreak\\r\\ttab'"), std::string::npos) << "newline, CR, tab kept";
  EXPECT_NE(joined.find("p2='nul\\ufffdinside'"), std::string::npos) << "NUL replaced";
  EXPECT_EQ(lines.size(), net.persons().size() + 1) << "no injected node";
  if (fs::exists("/usr/bin/xmllint")) {
    auto lint = lineup_test::Run({"/usr/bin/xmllint", "--noout", "--nonet", path});
    EXPECT_EQ(lint.exit_code, 0) << lint.err;
  }
  // JSON: always writable, and parses back.
  const std::string json = net.ToJson().dump();
  auto back = nlohmann::json::parse(json);
  EXPECT_EQ(back["persons"].size(), net.persons().size());
  EXPECT_EQ(back["ties"].size(), net.ties().size());
  EXPECT_EQ(back["persons"][0]["name"], kHostile[0]);
}

TEST(Purposes, ParserTakesOnlyKnownNamesWhateverItIsGiven) {
  using lineup::ParsePurposes;
  EXPECT_EQ(*ParsePurposes("search"), (std::vector<std::string>{"search"}));
  EXPECT_EQ(*ParsePurposes("network,search"), (std::vector<std::string>{"search", "network"}));
  EXPECT_EQ(*ParsePurposes(" network , network ,,search "), (std::vector<std::string>{"search", "network"}));
  for (const std::string& bad :
       {std::string(""), std::string(","), std::string(" , "), std::string("SEARCH"), std::string("search;network"),
        std::string("search,net"), std::string("search\0,network", 15), std::string("network\n"),
        std::string("search,\xff\xfe"), std::string(100000, ','), std::string(100000, 'x'),
        std::string("search,network,'; DROP TABLE sources; --")}) {
    auto r = ParsePurposes(bad);
    EXPECT_FALSE(r.ok()) << "accepted \"" << bad.substr(0, 30) << "\"";
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
      EXPECT_LT(r.status().message().size(), 200u) << "the message quotes a bounded, printable part";
    }
  }
  EXPECT_EQ(lineup::JoinPurposes({"search", "network"}), "search,network");
  lineup::SourceRecord s;
  EXPECT_TRUE(s.Allows("search"));
  EXPECT_FALSE(s.Allows("network")) << "a new source allows searching only unless told";
}

int64_t SqlExec(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open(db_path.c_str(), &db) != SQLITE_OK) return -1;
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  if (err) ADD_FAILURE() << err;
  sqlite3_free(err);
  sqlite3_close(db);
  return rc;
}

TEST(Purposes, CatalogMigratesOldSourcesToSearchOnlyAndChangesThem) {
  TempDir tmp;
  const std::string path = tmp.File("catalog.sqlite");
  {
    auto cat = lineup::Catalog::Open(path, true);
    ASSERT_TRUE(cat.ok());
    lineup::SourceRecord s;
    s.name = "old";
    s.legal_basis = "x";
    ASSERT_TRUE((*cat)->AddSource(&s).ok());
  }
  // Back to the schema before purposes (version 4; version 6 added the photos' place).
  ASSERT_EQ(SqlExec(path, "ALTER TABLE sources DROP COLUMN purposes; ALTER TABLE images DROP COLUMN place; "
                          "DELETE FROM schema_version WHERE version >= 5;"),
            SQLITE_OK);
  auto cat = lineup::Catalog::Open(path, false);
  ASSERT_TRUE(cat.ok()) << cat.status().ToString();
  auto old = (*cat)->FindSource("old");
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(old->purposes, (std::vector<std::string>{"search"})) << "existing sources: search only";
  lineup::SourceRecord n;
  n.name = "net";
  n.legal_basis = "y";
  n.purposes = {"network", "search"};
  ASSERT_TRUE((*cat)->AddSource(&n).ok());
  EXPECT_EQ(n.purposes, (std::vector<std::string>{"search", "network"})) << "read back in canonical order";
  n.name = "bad";
  n.purposes = {"surveillance"};
  EXPECT_EQ((*cat)->AddSource(&n).code(), Status::Code::kInvalidArgument);
  n.purposes = {};
  EXPECT_EQ((*cat)->AddSource(&n).code(), Status::Code::kInvalidArgument);
  ASSERT_TRUE((*cat)->SetSourcePurposes("old", {"network"}).ok());
  EXPECT_EQ((*cat)->FindSource("old")->purposes, (std::vector<std::string>{"network"}));
  EXPECT_EQ((*cat)->SetSourcePurposes("nope", {"search"}).code(), Status::Code::kNotFound);
  EXPECT_EQ((*cat)->SetSourcePurposes("old", {"search", "x"}).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ((*cat)->FindSource("old")->purposes, (std::vector<std::string>{"network"})) << "unchanged by a refusal";
  // A damaged stored list allows only the names it really holds (never more).
  cat->reset();
  ASSERT_EQ(SqlExec(path, "UPDATE sources SET purposes = 'networkx,search ,network' WHERE name = 'old';"
                          "UPDATE sources SET purposes = '' WHERE name = 'net';"),
            SQLITE_OK);
  auto again = lineup::Catalog::Open(path, false);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->FindSource("old")->purposes, (std::vector<std::string>{"network"}));
  EXPECT_TRUE((*again)->FindSource("net")->purposes.empty());
}

// ---------------------------------------------------------------------------------------
// On real photos.

class NetworkGallery : public ::testing::Test {
 protected:
  void SetUp() override {
    LINEUP_REQUIRE_DATA(data_, "groups");
    dir_ = tmp_.File("g");
    ASSERT_TRUE(lineup::Gallery::Init(dir_).ok());
    auto g = lineup::Gallery::Open(dir_, lineup::AnalyzerOptions{});
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    gallery_ = std::move(*g);
    data_ = fs::path(data_).parent_path().string();
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
  lineup::CoAppearanceNetwork Build() {
    auto persons = lineup::Persons::Open(*gallery_);
    EXPECT_TRUE(persons.ok()) << persons.status().ToString();
    auto rep = (*persons)->Recluster();
    EXPECT_TRUE(rep.ok()) << rep.status().ToString();
    auto net = CoAppearanceNetwork::Build(*gallery_, **persons);
    EXPECT_TRUE(net.ok()) << net.status().ToString();
    return std::move(*net);
  }
  // Live faces per image uri's file name.
  std::map<std::string, int64_t> FacesPerPhoto() {
    std::map<std::string, int64_t> out;
    auto ids = gallery_->catalog().FaceIds();
    EXPECT_TRUE(ids.ok());
    for (int64_t id : *ids) {
      auto f = gallery_->catalog().GetFace(id);
      if (!f->excluded.empty()) continue;
      ++out[fs::path(gallery_->catalog().GetImage(f->image_id)->uri).filename().string()];
    }
    return out;
  }
  std::string D(const std::string& rel) { return data_ + "/" + rel; }

  TempDir tmp_;
  std::string data_, dir_;
  std::unique_ptr<lineup::Gallery> gallery_;
};

TEST_F(NetworkGallery, RealGroupPhotosTieEveryPairOfTheirPersons) {
  AddSource("groups", {"search", "network"});
  Enrol({D("groups/face_recognition_two_people.jpg"), D("groups/face_recognition_obama_and_biden.jpg"),
         D("groups/deepface_couple.jpg"), D("groups/face_recognition_kit_with_rose.jpg"),
         D("groups/dlib_bald_guys.jpg"), D("deepface/selfie-many-people.jpg"),
         D("face_recognition/examples/obama.jpg"), D("face_recognition/examples/biden.jpg")},
        "groups");
  auto net = Build();
  auto faces = FacesPerPhoto();
  // Every face of a photo is a different person, so a photo of n faces gives n(n-1)/2 ties.
  int64_t group_photos = 0;
  for (const auto& [name, n] : faces) {
    if (n < 2) continue;
    ++group_photos;
    int64_t pairs = 0;
    for (const auto& t : net.ties())
      for (const auto& p : t.photos)
        if (fs::path(p.uri).filename().string() == name) ++pairs;
    EXPECT_EQ(pairs, n * (n - 1) / 2) << name << " with " << n << " faces";
  }
  EXPECT_GE(group_photos, 5);
  EXPECT_EQ(net.report().group_photos, group_photos);
  EXPECT_EQ(net.report().faces_left_out_purpose, 0);
  // Obama and Biden appear together in two photos (and each alone): one tie of weight 2.
  int64_t obama_biden = 0;
  for (const auto& t : net.ties()) {
    std::set<std::string> names;
    for (const auto& p : t.photos) names.insert(fs::path(p.uri).filename().string());
    if (names.count("face_recognition_two_people.jpg") && names.count("face_recognition_obama_and_biden.jpg"))
      obama_biden = t.weight();
  }
  EXPECT_EQ(obama_biden, 2) << "the same two persons in both photos";
  // Exports of a real network parse.
  EXPECT_FALSE(net.ToGraphML().empty());
  EXPECT_EQ(nlohmann::json::parse(net.ToJson().dump())["ties"].size(), net.ties().size());
}

TEST_F(NetworkGallery, OnlySourcesAllowingNetworkCountAndTheRestIsReported) {
  AddSource("net", {"search", "network"});
  AddSource("searchonly", {"search"});
  Enrol({D("groups/face_recognition_two_people.jpg"), D("groups/deepface_couple.jpg")}, "net");
  Enrol({D("groups/face_recognition_obama_and_biden.jpg"), D("groups/face_recognition_kit_with_rose.jpg"),
         D("groups/dlib_bald_guys.jpg")},
        "searchonly");
  auto counts = gallery_->catalog().CountsBySource();
  int64_t left_faces = 0, left_images = 0, net_faces = 0;
  for (const auto& c : *counts) {
    if (c.name == "searchonly") left_faces = c.faces, left_images = c.images;
    else net_faces = c.faces;
  }
  ASSERT_GT(left_faces, 4);
  auto net = Build();
  EXPECT_EQ(net.report().faces_left_out_purpose, left_faces);
  EXPECT_EQ(net.report().photos_left_out_purpose, left_images);
  EXPECT_EQ(net.report().faces + net.report().faces_unplaced, net_faces);
  for (const auto& t : net.ties())
    for (const auto& p : t.photos) EXPECT_EQ(p.source, "net");
  // Allowing it brings them in at the next build.
  ASSERT_TRUE(gallery_->catalog().SetSourcePurposes("searchonly", {"search", "network"}).ok());
  auto wider = Build();
  EXPECT_EQ(wider.report().faces_left_out_purpose, 0);
  EXPECT_GT(wider.report().ties, net.report().ties);
  NetworkOptions bad;
  bad.purpose = "marketing";
  auto persons = lineup::Persons::Open(*gallery_);
  EXPECT_EQ(CoAppearanceNetwork::Build(*gallery_, **persons, bad).status().code(), Status::Code::kInvalidArgument);
}

TEST_F(NetworkGallery, ErasureAndOptOutRemoveThePersonAndTheirTiesAtOnce) {
  AddSource("net", {"network"});
  Enrol({D("groups/face_recognition_two_people.jpg"), D("groups/face_recognition_obama_and_biden.jpg"),
         D("groups/deepface_couple.jpg"), D("groups/face_recognition_kit_with_rose.jpg")},
        "net");
  auto before = Build();
  ASSERT_GE(before.report().ties, 4);
  // Erase one photo: its ties' evidence goes, and a tie it alone made goes with it.
  std::string couple_sha;
  for (const auto& t : before.ties())
    for (const auto& p : t.photos)
      if (fs::path(p.uri).filename() == "deepface_couple.jpg") couple_sha = p.sha256;
  ASSERT_FALSE(couple_sha.empty());
  ASSERT_TRUE(gallery_->Erase("image", couple_sha, "test").ok());
  auto after = Build();
  for (const auto& t : after.ties())
    for (const auto& p : t.photos) EXPECT_NE(p.sha256, couple_sha);
  EXPECT_LT(after.report().ties, before.report().ties);
  // Opt out whoever is in kit_with_rose's first face: that person and their ties leave.
  int64_t face = 0;
  for (const auto& t : after.ties())
    for (const auto& p : t.photos)
      if (fs::path(p.uri).filename() == "face_recognition_kit_with_rose.jpg") face = p.face_a;
  ASSERT_GT(face, 0);
  const float* v = gallery_->StoredVector(face);
  ASSERT_NE(v, nullptr);
  std::vector<float> vec(v, v + gallery_->model().dim);
  ASSERT_TRUE(gallery_->OptOut(vec, "test").ok());
  auto opted = Build();
  EXPECT_GE(opted.report().faces_opted_out, 1);
  for (const auto& t : opted.ties())
    for (const auto& p : t.photos) EXPECT_TRUE(p.face_a != face && p.face_b != face);
  EXPECT_LT(opted.report().ties, after.report().ties);
}

TEST(PlantedNetwork, SameSeedSamePlanAndPhotos) {
  std::string lfw;
  LINEUP_REQUIRE_DATA(lfw, "lfw/images");
  lfw = fs::path(lfw).parent_path().string();
  lineup::PlantedNetworkOptions o;
  o.groups = 4;
  o.bridges = 1;
  auto a = lineup::PlanNetwork(lfw, o);
  auto b = lineup::PlanNetwork(lfw, o);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_EQ(a->photos.size(), b->photos.size());
  for (size_t i = 0; i < a->photos.size(); ++i) {
    ASSERT_EQ(a->photos[i].faces.size(), b->photos[i].faces.size());
    for (size_t k = 0; k < a->photos[i].faces.size(); ++k)
      EXPECT_EQ(a->photos[i].faces[k].lfw_photo, b->photos[i].faces[k].lfw_photo);
  }
  // Every member of a group is in `appearances` group photos; one face per person a photo.
  std::map<int, int> seen;
  for (const auto& p : a->photos) {
    std::set<int> in;
    for (const auto& f : p.faces) EXPECT_TRUE(in.insert(f.person).second) << p.file;
    if (p.kind == "group")
      for (const auto& f : p.faces) ++seen[f.person];
  }
  for (const auto& p : a->persons) EXPECT_GE(seen[p.id], o.appearances) << p.lfw_name;
  TempDir tmp;
  ASSERT_TRUE(lineup::RenderPlantedPhotos(&*a, tmp.File("a"), "").ok());
  ASSERT_TRUE(lineup::RenderPlantedPhotos(&*b, tmp.File("b"), "").ok());
  for (const auto& p : a->photos)
    EXPECT_EQ(lineup_test::ReadBytes(tmp.File("a/" + p.file)), lineup_test::ReadBytes(tmp.File("b/" + p.file)))
        << p.file;
  o.seed = 2;
  auto c = lineup::PlanNetwork(lfw, o);
  EXPECT_NE(c->persons[0].lfw_name + c->persons[1].lfw_name, a->persons[0].lfw_name + a->persons[1].lfw_name);
  o.bridges = 3;  // needs 6 groups
  EXPECT_EQ(lineup::PlanNetwork(lfw, o).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(lineup::PlanNetwork(tmp.path(), {}).status().code(), Status::Code::kNotFound);
}

// Seed 2's planted network once gave a false bridge: in two group photos the detector
// boxed only the lower half of a face (nose to chin), more confidently at a fine pyramid
// level than the whole face at the coarse one, and the two half-face vectors became one
// "person" seen in two groups. Every planted face of those photos is boxed whole.
TEST(PlantedNetwork, GroupPhotoFacesAreBoxedWholeNotInPart) {
  std::string lfw;
  LINEUP_REQUIRE_DATA(lfw, "lfw/images");
  lfw = fs::path(lfw).parent_path().string();
  lineup::PlantedNetworkOptions o;
  o.seed = 2;
  auto plan = lineup::PlanNetwork(lfw, o);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  const std::set<std::string> wanted = {"g037_08.jpg", "g057_05.jpg"};
  // Each photo is drawn from its own random stream, so emptying the others (cheap to
  // draw) leaves these two as `lineup eval network --seed 2` makes them.
  for (auto& p : plan->photos)
    if (!wanted.count(p.file)) p.faces.clear();
  TempDir tmp;
  ASSERT_TRUE(lineup::RenderPlantedPhotos(&*plan, tmp.File("photos"), fs::path(lfw).parent_path().string() + "/groups").ok());
  auto detector = lineup::FaceDetector::Create("pyramid", lineup::DefaultModelDir());
  ASSERT_TRUE(detector.ok()) << detector.status().ToString();
  int checked = 0;
  for (const auto& p : plan->photos) {
    if (!wanted.count(p.file)) continue;
    cv::Mat photo = cv::imread(tmp.File("photos/" + p.file), cv::IMREAD_COLOR);
    auto found = (*detector)->Detect(photo);
    ASSERT_TRUE(found.ok()) << found.status().ToString();
    for (const auto& f : p.faces) {
      float best = 0;
      for (const auto& d : *found) {
        float inter = (d.box & f.box).area();
        best = std::max(best, inter / (d.box.area() + f.box.area() - inter));
      }
      EXPECT_GE(best, 0.5f) << p.file << ": " << plan->persons[static_cast<size_t>(f.person)].lfw_name
                            << "'s face is not boxed whole";
      ++checked;
    }
  }
  EXPECT_EQ(checked, 8);
}

TEST(NetworkPure, AgreementMeasures) {
  using lineup::AdjustedRandIndex;
  using lineup::NormalizedMutualInformation;
  const std::vector<int64_t> a = {0, 0, 0, 1, 1, 1}, renamed = {7, 7, 7, 3, 3, 3}, mixed = {0, 1, 0, 1, 0, 1};
  EXPECT_DOUBLE_EQ(NormalizedMutualInformation(a, renamed), 1);
  EXPECT_DOUBLE_EQ(AdjustedRandIndex(a, renamed), 1);
  EXPECT_LT(NormalizedMutualInformation(a, mixed), 0.1);
  EXPECT_LT(AdjustedRandIndex(a, mixed), 0.1);
  // Known value: sklearn's adjusted_rand_score([0,0,1,1],[0,0,1,2]) = 0.5714...
  EXPECT_NEAR(AdjustedRandIndex({0, 0, 1, 1}, {0, 0, 1, 2}), 0.571428, 1e-5);
  EXPECT_NEAR(NormalizedMutualInformation({0, 0, 1, 1}, {0, 0, 1, 2}), 0.8, 1e-5);
}

TEST(PlantedNetwork, SmallEvaluationMeetsTheTargets) {
  std::string lfw;
  LINEUP_REQUIRE_DATA(lfw, "lfw/images");
  lfw = fs::path(lfw).parent_path().string();
  TempDir tmp;
  lineup::PlantedEvaluationOptions o;
  o.plant.groups = 8;
  o.plant.bridges = 2;
  o.lfw_root = lfw;
  o.groups_dir = fs::path(lfw).parent_path().string() + "/groups";
  o.work_dir = tmp.File("work");
  auto r = lineup::EvaluatePlantedNetwork(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_GE(r->faces_matched, r->planted_faces * 95 / 100) << "faces found on the planted ones";
  EXPECT_GE(r->nmi, 0.9);
  EXPECT_GE(r->associates_precision_at_5, 0.95);
  EXPECT_EQ(r->bridges_found, r->bridges_planted);
  EXPECT_EQ(r->bridges_planted, 2);
  EXPECT_TRUE(fs::exists(o.work_dir + "/truth.tsv"));
}

}  // namespace
