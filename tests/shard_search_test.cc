// Shard search on a real NATS JetStream cluster (scripts/cluster.sh, its own ports,
// stopped at the end) over the faces of real LFW photos: three shard galleries, two
// replicas each, against one gallery holding every face. The same top 50 (faces and
// scores) for every probe; one replica of a shard gone: still complete; both replicas
// of a shard gone: the answer comes in time and names the missing shard; malformed
// requests are answered with an error.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "lineup/analyzer.h"
#include "lineup/gallery.h"
#include "lineup/message_bus.h"
#include "lineup/shard_search.h"
#include "cluster_env.h"
#include "test_util.h"

namespace {

using lineup::Gallery;
using lineup::MessageBus;
using lineup::ShardServer;
using lineup::Status;
namespace fs = std::filesystem;

constexpr int kShards = 3;

lineup_test::ClusterEnv* g_cluster = nullptr;

// One face's vector and a key naming it the same way in every gallery.
struct RealFace {
  std::string key;
  std::vector<float> vec;
};

std::vector<RealFace> EmbedLfw(const std::string& images, size_t photos) {
  std::vector<std::string> paths;
  for (const auto& person : fs::directory_iterator(images))
    for (const auto& f : fs::directory_iterator(person.path())) paths.push_back(f.path().string());
  std::sort(paths.begin(), paths.end());
  paths.resize(std::min(paths.size(), photos));
  auto analyzer = lineup::FaceAnalyzer::Create({});
  EXPECT_TRUE(analyzer.ok()) << analyzer.status().ToString();
  std::vector<RealFace> out;
  for (const auto& p : paths) {
    auto a = (*analyzer)->AnalyzeFile(p, true);
    for (size_t i = 0; i < a.faces.size(); ++i)
      out.push_back({fs::path(p).filename().string() + "#" + std::to_string(i), a.faces[i].embedding});
  }
  return out;
}

// A gallery at `dir` holding `faces`; each face's image "sha256" is its key's hash-like
// name so that every gallery can say which face a hit is.
std::unique_ptr<Gallery> MakeGallery(const std::string& dir, const std::vector<const RealFace*>& faces) {
  EXPECT_TRUE(Gallery::Init(dir).ok());
  auto g = Gallery::Open(dir, {});
  EXPECT_TRUE(g.ok()) << g.status().ToString();
  lineup::SourceRecord src;
  src.name = "lfw";
  src.legal_basis = "test data";
  EXPECT_TRUE((*g)->catalog().AddSource(&src).ok());
  std::vector<lineup::Catalog::NewImage> images(faces.size());
  std::vector<float> vecs;
  for (size_t i = 0; i < faces.size(); ++i) {
    auto& im = images[i];
    im.image.sha256 = std::string(64 - std::min<size_t>(64, faces[i]->key.size()), '0') + faces[i]->key;
    im.image.uri = "lfw://" + faces[i]->key;
    im.image.format = "jpeg";
    im.image.width = im.image.height = 250;
    im.image.source_id = src.id;
    lineup::FaceRecord f;
    f.box = cv::Rect2f(70, 60, 110, 130);
    f.confidence = 0.99f;
    f.quality = 0.8f;
    im.faces.push_back(f);
    vecs.insert(vecs.end(), faces[i]->vec.begin(), faces[i]->vec.end());
  }
  Status s = (*g)->AddFaces(images, vecs);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return std::move(*g);
}

std::string KeyOf(Gallery& g, int64_t face_id) {
  auto f = g.catalog().GetFace(face_id);
  if (!f.ok()) return "?";
  auto im = g.catalog().GetImage(f->image_id);
  return im.ok() ? im->uri.substr(6) : "?";
}

TEST(ShardSearch, ShardsAnswerAsOneGalleryAndSayWhatIsMissing) {
  if (!g_cluster->up()) GTEST_SKIP() << "nats-server is not installed (scripts/setup.sh installs it)";
  std::string lfw;
  LINEUP_REQUIRE_DATA(lfw, "lfw/images");
  const std::vector<RealFace> faces = EmbedLfw(lfw, 120);
  ASSERT_GE(faces.size(), 100u);
  const int dim = static_cast<int>(faces[0].vec.size());

  lineup_test::TempDir tmp;
  std::vector<const RealFace*> all, part[kShards];
  for (size_t i = 0; i < faces.size(); ++i) {
    all.push_back(&faces[i]);
    part[i % kShards].push_back(&faces[i]);
  }
  auto single = MakeGallery(tmp.File("single"), all);
  std::unique_ptr<Gallery> primary[kShards], replica[kShards];
  for (int s = 0; s < kShards; ++s) {
    // Two replicas of a shard: two galleries of the same faces, as on two nodes.
    primary[s] = MakeGallery(tmp.File("shard" + std::to_string(s) + "a"), part[s]);
    replica[s] = MakeGallery(tmp.File("shard" + std::to_string(s) + "b"), part[s]);
  }

  // Each replica on its own connection, as on its own node.
  std::vector<std::unique_ptr<MessageBus>> buses;
  std::unique_ptr<ShardServer> server_a[kShards], server_b[kShards];
  for (int s = 0; s < kShards; ++s) {
    for (auto* slot : {&server_a[s], &server_b[s]}) {
      auto bus = MessageBus::Connect(g_cluster->urls(), "shard-" + std::to_string(s));
      ASSERT_TRUE(bus.ok()) << bus.status().ToString();
      auto srv = ShardServer::Start(bus->get(), slot == &server_a[s] ? primary[s].get() : replica[s].get(), s);
      ASSERT_TRUE(srv.ok()) << srv.status().ToString();
      *slot = std::move(*srv);
      buses.push_back(std::move(*bus));
    }
  }
  auto coordinator = MessageBus::Connect(g_cluster->urls(), "coordinator");
  ASSERT_TRUE(coordinator.ok());

  auto shard_key = [&](const lineup::ShardHit& h) { return KeyOf(*primary[h.shard], h.face_id); };
  // Every face as a probe: the top 50 of the shards, merged, is the single gallery's.
  for (size_t p = 0; p < faces.size(); ++p) {
    auto want = single->Search(faces[p].vec, 50);
    ASSERT_TRUE(want.ok());
    auto got = lineup::SearchShards(**coordinator, kShards, faces[p].vec, dim, 50, 2000);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ASSERT_TRUE(got->missing.empty()) << got->missing[0].reason;
    auto w = want->front();
    std::sort(w.begin(), w.end(), [](auto& a, auto& b) { return a.score > b.score; });
    const auto& g = got->hits.front();
    ASSERT_EQ(g.size(), w.size()) << faces[p].key;
    // Scores rank by rank; faces too, except for ties at the 50th place's score.
    const float last = w.back().score;
    std::map<std::string, float> got_by_key;
    for (const auto& h : g) got_by_key[shard_key(h)] = h.score;
    for (size_t i = 0; i < w.size(); ++i) {
      EXPECT_NEAR(g[i].score, w[i].score, 1e-5f) << faces[p].key << " rank " << i;
      if (w[i].score <= last + 1e-5f) continue;
      auto it = got_by_key.find(KeyOf(*single, w[i].face_id));
      ASSERT_NE(it, got_by_key.end()) << faces[p].key << ": the shards lost " << KeyOf(*single, w[i].face_id);
      EXPECT_NEAR(it->second, w[i].score, 1e-5f);
    }
  }

  // One replica of shard 1 gone: its twin answers, nothing is missing.
  const int64_t before = server_b[1]->searches();
  server_a[1].reset();
  for (int i = 0; i < 10; ++i) {
    auto got = lineup::SearchShards(**coordinator, kShards, faces[static_cast<size_t>(i)].vec, dim, 10, 2000);
    ASSERT_TRUE(got.ok());
    EXPECT_TRUE(got->missing.empty());
  }
  EXPECT_EQ(server_b[1]->searches(), before + 10);

  // Both replicas of shard 2 gone: the answer comes by the deadline and names shard 2.
  server_a[2].reset();
  server_b[2].reset();
  auto t0 = std::chrono::steady_clock::now();
  auto partial = lineup::SearchShards(**coordinator, kShards, faces[0].vec, dim, 10, 300);
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(partial.ok());
  ASSERT_EQ(partial->missing.size(), 1u);
  EXPECT_EQ(partial->missing[0].shard, 2);
  EXPECT_LT(ms, 1500) << "waited past the deadline";
  for (const auto& h : partial->hits.front()) EXPECT_NE(h.shard, 2);
  EXPECT_FALSE(partial->hits.front().empty());

  // Hostile requests get an error answer, not a crash; a wrong dimension is a shard error.
  for (const std::string& bad : {std::string(""), std::string("LSQ1"), std::string("LSQ1\xff\xff\xff\xff", 8),
                                std::string("garbage that is long enough to parse")}) {
    auto r = (*coordinator)->Request(lineup::ShardSearchSubject(0), std::vector<uint8_t>(bad.begin(), bad.end()), 2000);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(std::string(r->begin(), r->begin() + 4), "LSE1");
  }
  std::vector<float> short_probe(16, 0.25f);
  auto wrong_dim = lineup::SearchShards(**coordinator, 2, short_probe, 16, 5, 2000);
  ASSERT_TRUE(wrong_dim.ok());
  EXPECT_EQ(wrong_dim->missing.size(), 2u);
  EXPECT_NE(wrong_dim->missing[0].reason.find("dimension"), std::string::npos) << wrong_dim->missing[0].reason;
  EXPECT_EQ(lineup::SearchShards(**coordinator, 0, faces[0].vec, dim, 5, 100).status().code(),
            Status::Code::kInvalidArgument);
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  g_cluster = new lineup_test::ClusterEnv(15522);
  ::testing::AddGlobalTestEnvironment(g_cluster);
  return RUN_ALL_TESTS();
}
