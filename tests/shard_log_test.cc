// Shard logs on a real NATS JetStream cluster (scripts/cluster.sh, its own ports,
// stopped at the end): photos published once under retries, replicas applying their
// shard's log into galleries that end up identical, a replica stopped half way and
// resuming, a replica that lost its recorded place skipping what it holds, a new
// replica replaying everything, and malformed entries stopping a replica without
// moving it past them.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "lineup/gallery.h"
#include "lineup/message_bus.h"
#include "lineup/shard_log.h"
#include "cluster_env.h"
#include "test_util.h"

namespace {

using lineup::Gallery;
using lineup::MessageBus;
using lineup::ShardPhoto;
using lineup::ShardReplica;
using lineup::Status;
namespace fs = std::filesystem;

lineup_test::ClusterEnv* g_cluster = nullptr;

std::string Sha(int i) {
  char b[65];
  std::snprintf(b, sizeof b, "%016x%048d", static_cast<unsigned>(i) * 2654435761u, i);
  return b;
}

// Photo i: 1-3 faces of unit random vectors.
ShardPhoto Photo(int i, int dim) {
  ShardPhoto p;
  p.source.name = i % 2 ? "seized-phone" : "case-files";
  p.source.legal_basis = "warrant 42";
  p.source.purposes = {"search"};
  p.image.sha256 = Sha(i);
  p.image.uri = "photo-" + std::to_string(i) + ".jpg";
  p.image.bytes = 1000 + i;
  p.image.format = "jpeg";
  p.image.width = 640;
  p.image.height = 480;
  std::mt19937 rng(static_cast<unsigned>(i));
  std::normal_distribution<float> z(0, 1);
  for (int f = 0; f < 1 + i % 3; ++f) {
    lineup::FaceRecord face;
    face.box = cv::Rect2f(10.f + 100 * f, 20, 80, 100);
    face.confidence = 0.99f;
    face.quality = 0.7f;
    for (auto& pt : face.landmarks) pt = {30.f + f, 40.f};
    p.faces.push_back(face);
    std::vector<float> v(static_cast<size_t>(dim));
    double n = 0;
    for (float& x : v) {
      x = z(rng);
      n += double(x) * x;
    }
    for (float& x : v) x = static_cast<float>(x / std::sqrt(n));
    p.vectors.insert(p.vectors.end(), v.begin(), v.end());
  }
  return p;
}

std::unique_ptr<Gallery> OpenGallery(const std::string& dir) {
  if (!fs::exists(dir)) {
    EXPECT_TRUE(Gallery::Init(dir).ok());
  }
  auto g = Gallery::Open(dir, {});
  EXPECT_TRUE(g.ok()) << g.status().ToString();
  return g.ok() ? std::move(*g) : nullptr;
}

int64_t CatchUpAll(ShardReplica& r, uint64_t until) {
  int64_t n = 0;
  for (int round = 0; round < 200 && r.applied() < until; ++round) {
    auto got = r.CatchUp(64, 1000);
    EXPECT_TRUE(got.ok()) << got.status().ToString();
    if (!got.ok()) break;
    n += *got;
  }
  return n;
}

// Every face of `a` is in `b` under the same id, with the same vector and photo.
void ExpectSameFaces(Gallery& a, Gallery& b) {
  ASSERT_EQ(a.size(), b.size());
  const int dim = a.model().dim;
  for (int64_t id = 1; id <= a.size(); ++id) {
    const float* va = a.StoredVector(id);
    const float* vb = b.StoredVector(id);
    ASSERT_TRUE(va && vb) << "face " << id;
    EXPECT_EQ(std::memcmp(va, vb, static_cast<size_t>(dim) * sizeof(float)), 0) << "face " << id;
    auto fa = a.catalog().GetFace(id), fb = b.catalog().GetFace(id);
    ASSERT_TRUE(fa.ok() && fb.ok());
    EXPECT_EQ(a.catalog().GetImage(fa->image_id)->sha256, b.catalog().GetImage(fb->image_id)->sha256) << "face " << id;
  }
}

TEST(ShardLog, ReplicasApplyTheirShardsLogIntoTheSameGallery) {
  if (!g_cluster->up()) GTEST_SKIP() << "nats-server is not installed (scripts/setup.sh installs it)";
  auto bus = MessageBus::Connect(g_cluster->urls(), "shard-log-test");
  ASSERT_TRUE(bus.ok()) << bus.status().ToString();
  MessageBus& b = **bus;
  constexpr int kShards = 2;
  ASSERT_TRUE(lineup::EnsureShardLogs(b, kShards, 3).ok());
  lineup_test::TempDir tmp;
  auto a = OpenGallery(tmp.File("a"));
  const int dim = a->model().dim;

  // 120 photos, 20 of them published twice (a retry after a lost acknowledgement).
  uint64_t last_seq[kShards] = {0, 0};
  int faces_in[kShards] = {0, 0}, photos_in[kShards] = {0, 0};
  for (int i = 0; i < 120; ++i) {
    ShardPhoto p = Photo(i, dim);
    const int s = lineup::ShardOf(p.image.sha256, kShards);
    for (int again = 0; again < (i % 6 == 0 ? 2 : 1); ++again) {
      auto ack = lineup::PublishPhoto(b, kShards, p, dim);
      ASSERT_TRUE(ack.ok()) << ack.status().ToString();
      EXPECT_EQ(ack->duplicate, again == 1);
      last_seq[s] = std::max(last_seq[s], ack->sequence);
    }
    faces_in[s] += static_cast<int>(p.faces.size());
    ++photos_in[s];
  }
  EXPECT_GT(photos_in[0], 30);
  EXPECT_GT(photos_in[1], 30) << "photos spread over the shards";
  EXPECT_EQ(last_seq[0], static_cast<uint64_t>(photos_in[0])) << "one log entry per photo";

  // Replica A of shard 0 applies everything.
  auto ra = ShardReplica::Open(&b, a.get(), 0);
  ASSERT_TRUE(ra.ok()) << ra.status().ToString();
  CatchUpAll(**ra, last_seq[0]);
  EXPECT_EQ(a->size(), faces_in[0]);
  EXPECT_EQ((*ra)->skipped(), 0);

  // Replica B stops half way (its process ends), then resumes where it was.
  {
    auto gb = OpenGallery(tmp.File("b"));
    auto rb = ShardReplica::Open(&b, gb.get(), 0);
    ASSERT_TRUE(rb.ok());
    while ((*rb)->applied() < last_seq[0] / 2) ASSERT_TRUE((*rb)->CatchUp(5, 1000).ok());
  }
  {
    auto gb = OpenGallery(tmp.File("b"));
    auto rb = ShardReplica::Open(&b, gb.get(), 0);
    ASSERT_TRUE(rb.ok());
    EXPECT_GE((*rb)->applied(), last_seq[0] / 2) << "resumed, not restarted";
    CatchUpAll(**rb, last_seq[0]);
    EXPECT_EQ((*rb)->skipped(), 0);
    ExpectSameFaces(*a, *gb);
  }

  // Replica B lost its recorded place (killed after storing 10 photos, before recording
  // them): it meets them again and skips them.
  {
    std::ofstream(tmp.File("b/shard_applied")) << "shard 0 applied " << last_seq[0] - 10 << "\n";
    auto gb = OpenGallery(tmp.File("b"));
    auto rb = ShardReplica::Open(&b, gb.get(), 0);
    ASSERT_TRUE(rb.ok());
    CatchUpAll(**rb, last_seq[0]);
    EXPECT_EQ((*rb)->skipped(), 10);
    ExpectSameFaces(*a, *gb);
  }

  // A new replica replays the whole log; catch-up speed for the record.
  {
    auto gc = OpenGallery(tmp.File("c"));
    auto rc = ShardReplica::Open(&b, gc.get(), 0);
    ASSERT_TRUE(rc.ok());
    auto t0 = std::chrono::steady_clock::now();
    CatchUpAll(**rc, last_seq[0]);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("new replica: %lld faces in %.2f s (%.0f faces/s, up to 64 photos per AddFaces; a small log: not a benchmark)\n",
                static_cast<long long>(gc->size()), s, gc->size() / s);
    ExpectSameFaces(*a, *gc);
  }

  // A gallery of shard 0 is refused as a replica of shard 1.
  auto wrong = ShardReplica::Open(&b, a.get(), 1);
  EXPECT_EQ(wrong.status().code(), Status::Code::kFailedPrecondition);
}

TEST(ShardLog, MalformedEntriesStopAReplicaBeforeThem) {
  if (!g_cluster->up()) GTEST_SKIP() << "nats-server is not installed (scripts/setup.sh installs it)";
  auto bus = MessageBus::Connect(g_cluster->urls(), "shard-log-hostile");
  ASSERT_TRUE(bus.ok());
  MessageBus& b = **bus;
  lineup_test::TempDir tmp;
  // One hostile entry per log (shards 5, 6, ...: streams of their own), a good one after it.
  const std::vector<std::string> hostile = {
      std::string("x"),                                  // not an entry
      std::string("LSP1\xff\xff\xff\x7f{}", 10),         // header longer than the entry
      std::string("LSP1\x02\0\0\0{}", 10),               // header without its fields
      std::string("LSP1\x05\0\0\0[1,2]", 13),            // header not an object
      std::string("LSP1\x05\0\0\0{\"a\":", 13),           // header not JSON
  };
  for (size_t i = 0; i < hostile.size(); ++i) {
    const int shard = 5 + static_cast<int>(i);
    ASSERT_TRUE(b.EnsureStream({lineup::ShardStreamName(shard), {lineup::ShardLogSubject(shard)}, 3, false}).ok());
    ASSERT_TRUE(b.Publish(lineup::ShardLogSubject(shard), std::vector<uint8_t>(hostile[i].begin(), hostile[i].end()), "")
                    .ok());
    auto g = OpenGallery(tmp.File("g" + std::to_string(i)));
    // Another entry after it, which the replica must not reach.
    ASSERT_TRUE(b.Publish(lineup::ShardLogSubject(shard), std::vector<uint8_t>{'L', 'S', 'P', '1', 0, 0, 0, 0}, "").ok());
    auto r = ShardReplica::Open(&b, g.get(), shard);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    for (int attempt = 0; attempt < 2; ++attempt) {
      auto got = (*r)->CatchUp(10, 2000);
      ASSERT_FALSE(got.ok()) << "hostile entry " << i;
      EXPECT_EQ(got.status().code(), Status::Code::kInvalidArgument) << got.status().ToString();
      EXPECT_NE(got.status().message().find("entry 1"), std::string::npos) << got.status().ToString();
      EXPECT_EQ((*r)->applied(), 0u);
    }
    EXPECT_EQ(g->size(), 0);
  }
  // What is not published at all: short vectors, no legal basis, no SHA-256.
  auto g = OpenGallery(tmp.File("p"));
  const int dim = g->model().dim;
  ShardPhoto p = Photo(7, dim);
  EXPECT_EQ(lineup::PublishPhoto(b, 2, p, dim - 1).status().code(), Status::Code::kInvalidArgument);
  ShardPhoto no_basis = p;
  no_basis.source.legal_basis.clear();
  EXPECT_EQ(lineup::PublishPhoto(b, 2, no_basis, dim).status().code(), Status::Code::kInvalidArgument);
  ShardPhoto no_sha = p;
  no_sha.image.sha256.clear();
  EXPECT_EQ(lineup::PublishPhoto(b, 2, no_sha, dim).status().code(), Status::Code::kInvalidArgument);
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  g_cluster = new lineup_test::ClusterEnv(15622);
  ::testing::AddGlobalTestEnvironment(g_cluster);
  return RUN_ALL_TESTS();
}
