// VectorIndex: specs, exact and compressed search (re-ranked scores are exact), removal,
// save/load, and hostile index files.
#include "lineup/vector_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <random>
#include <set>
#include <tuple>

#include "test_util.h"

namespace {

using lineup::ExactVectors;
using lineup::IndexHit;
using lineup::Status;
using lineup::VectorIndex;
using lineup_test::TempDir;

constexpr int kDim = 64;

// Clustered unit vectors ("identities" of ten samples each), held in RAM.
struct Data : ExactVectors {
  std::vector<float> v;
  size_t n = 0;
  // With rank < kDim the vectors lie in a random rank-dimensional subspace, as real
  // face vectors nearly do (fr_feature: 99.99% of the variance in 160 of 512).
  explicit Data(size_t count, unsigned seed = 7, int rank = kDim) : n(count) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> g(0.f, 1.f);
    std::vector<float> basis(static_cast<size_t>(rank) * kDim);
    for (auto& b : basis) b = g(rng);
    std::vector<float> centre(static_cast<size_t>(rank)), z(static_cast<size_t>(rank));
    v.resize(n * kDim);
    for (size_t i = 0; i < n; ++i) {
      if (i % 10 == 0)
        for (auto& c : centre) c = g(rng);
      for (int r = 0; r < rank; ++r) z[static_cast<size_t>(r)] = centre[static_cast<size_t>(r)] + 0.6f * g(rng);
      double norm = 0;
      for (int j = 0; j < kDim; ++j) {
        float x = 0;
        if (rank == kDim) {
          x = z[static_cast<size_t>(j)];
        } else {
          for (int r = 0; r < rank; ++r) x += z[static_cast<size_t>(r)] * basis[static_cast<size_t>(r) * kDim + j];
        }
        v[i * kDim + j] = x;
        norm += x * x;
      }
      for (int j = 0; j < kDim; ++j) v[i * kDim + j] /= static_cast<float>(std::sqrt(norm));
    }
  }
  const float* Find(int64_t id) const override {
    return id >= 0 && static_cast<size_t>(id) < n ? &v[static_cast<size_t>(id) * kDim] : nullptr;
  }
  std::vector<int64_t> Ids() const {
    std::vector<int64_t> ids(n);
    for (size_t i = 0; i < n; ++i) ids[i] = static_cast<int64_t>(i);
    return ids;
  }
  float Dot(const float* q, int64_t id) const {
    float s = 0;
    for (int j = 0; j < kDim; ++j) s += q[j] * Find(id)[j];
    return s;
  }
};

std::vector<IndexHit> BruteForce(const Data& d, const float* q, int k, const std::set<int64_t>& skip = {}) {
  std::vector<IndexHit> all;
  for (size_t i = 0; i < d.n; ++i)
    if (!skip.count(static_cast<int64_t>(i))) all.push_back({static_cast<int64_t>(i), d.Dot(q, static_cast<int64_t>(i))});
  std::sort(all.begin(), all.end(), [](const IndexHit& a, const IndexHit& b) { return a.score > b.score; });
  all.resize(std::min<size_t>(all.size(), static_cast<size_t>(k)));
  return all;
}

TEST(VectorIndexSpec, BadSpecsAreRefusedWithTheReason) {
  for (const char* bad :
       {"", "nearest", "exact,nprobe=3", "ivfpq,m=7", "ivfpq,nlist=abc", "ivfpq,nlist=0", "ivfpq,nlist",
        "ivfpq,colour=blue", "ivfpq,metric=cosine", "faiss=", "faiss=NoSuchIndex42", "faiss=HNSW8,metric=l2",
        "faiss=HNSW8,metric=manhattan,rerank=10", "ivfpq,m=8,bits=6", "ivfpq,m=8,refine=100",
        "ivfpq,m=8,bits=4,metric=l2", "ivfpq,m=1,bits=4", "ivfpq,m=8,bits=4,refine=10,rerank=100"}) {
    auto r = VectorIndex::Create(bad, kDim);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << bad;
    }
  }
  EXPECT_FALSE(VectorIndex::Create("exact", 0).ok());
  EXPECT_TRUE(VectorIndex::Create("faiss=HNSW8,metric=l2,rerank=10", kDim).ok()) << "distances, re-ranked";
  auto ok = VectorIndex::Create("ivfpq,nlist=16,m=8", kDim);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ((*ok)->spec(), "ivfpq,nlist=16,m=8,nprobe=64,rerank=512") << "the spec is stored complete";
  EXPECT_EQ(VectorIndex::DefaultSpec(1000, 512), "exact");
  EXPECT_NE(VectorIndex::DefaultSpec(10'000'000, 512).find("ivfpq,pca="), std::string::npos);
  EXPECT_EQ(VectorIndex::DefaultSpec(10'000'000, 128).find("pca"), std::string::npos) << "PCA only where measured";
  EXPECT_FALSE(VectorIndex::Create("ivfpq,pca=30,m=8", kDim).ok()) << "m must divide the PCA dimension";
  EXPECT_FALSE(VectorIndex::Create("ivfpq,pca=65,m=5", kDim).ok()) << "PCA cannot add dimensions";
  for (int faces : {1000, 10'000'000})
    for (int dim : {128, 512, 640})
      EXPECT_TRUE(VectorIndex::Create(VectorIndex::DefaultSpec(faces, dim), dim).ok()) << faces << " " << dim;
}

TEST(VectorIndexExact, MatchesBruteForceAndForgetsRemovedIds) {
  Data d(3000);
  auto idx = VectorIndex::Create("exact", kDim);
  ASSERT_TRUE(idx.ok());
  EXPECT_FALSE((*idx)->compressed());
  ASSERT_TRUE((*idx)->Add(d.Ids(), d.v).ok());
  EXPECT_EQ((*idx)->size(), 3000);
  EXPECT_GE((*idx)->MemoryBytes(), 3000 * kDim * 4);
  std::vector<std::vector<IndexHit>> out;
  ASSERT_TRUE((*idx)->Search({d.Find(5), kDim}, 10, nullptr, &out).ok());
  ASSERT_EQ(out.size(), 1u);
  auto truth = BruteForce(d, d.Find(5), 10);
  ASSERT_EQ(out[0].size(), 10u);
  for (size_t i = 0; i < 10; ++i) {
    EXPECT_EQ(out[0][i].id, truth[i].id);
    EXPECT_NEAR(out[0][i].score, truth[i].score, 1e-5);
  }
  std::vector<int64_t> gone = {out[0][0].id, out[0][1].id, 999999};
  ASSERT_TRUE((*idx)->Remove(gone).ok());
  EXPECT_EQ((*idx)->size(), 2998);
  ASSERT_TRUE((*idx)->Search({d.Find(5), kDim}, 10, nullptr, &out).ok());
  for (const auto& h : out[0]) EXPECT_TRUE(h.id != gone[0] && h.id != gone[1]);
  // More asked for than held.
  auto small = VectorIndex::Create("exact", kDim);
  ASSERT_TRUE((*small)->Add(std::vector<int64_t>{4}, {d.Find(4), kDim}).ok());
  ASSERT_TRUE((*small)->Search({d.Find(5), kDim}, 10, nullptr, &out).ok());
  EXPECT_EQ(out[0].size(), 1u);
  EXPECT_FALSE((*small)->Search({d.Find(5), kDim - 1}, 10, nullptr, &out).ok()) << "not whole vectors";
  EXPECT_FALSE((*small)->Search({d.Find(5), kDim}, 0, nullptr, &out).ok()) << "k must be positive";
}

// The plain inverted file on all dimensions, and the ones made after PCA (the gallery's
// default for 512-d vectors; by inner product or by distance), on data that lies in 24 of
// the 64 dimensions.
class VectorIndexCompressed : public ::testing::TestWithParam<std::pair<const char*, int>> {};
INSTANTIATE_TEST_SUITE_P(
    Specs, VectorIndexCompressed,
    ::testing::Values(std::pair{"ivfpq,nlist=64,m=16,nprobe=16,rerank=200", kDim},
                      std::pair{"ivfpq,pca=32,nlist=64,m=8,nprobe=16,rerank=200", 24},
                      std::pair{"ivfpq,pca=32,nlist=64,m=8,nprobe=16,rerank=200,metric=l2", 24},
                      std::pair{"ivfpq,nlist=64,m=32,bits=4,nprobe=16,rerank=200", kDim},
                      std::pair{"ivfpq,pca=32,nlist=64,m=16,bits=4,nprobe=16,refine=1000,rerank=200", 24}));

TEST_P(VectorIndexCompressed, ReRankedScoresAreExactAndRecallIsHigh) {
  Data d(20000, 7, GetParam().second);
  auto idx = VectorIndex::Create(GetParam().first, kDim);
  ASSERT_TRUE(idx.ok()) << idx.status().ToString();
  EXPECT_EQ((*idx)->spec(), GetParam().first) << "the spec is stored as given when complete";
  EXPECT_TRUE((*idx)->compressed());
  EXPECT_FALSE((*idx)->is_trained());
  EXPECT_FALSE((*idx)->Add(std::vector<int64_t>{1}, {d.Find(1), kDim}).ok()) << "must be trained first";
  EXPECT_FALSE((*idx)->Train({d.v.data(), 10 * kDim}).ok()) << "too few training vectors";
  ASSERT_TRUE((*idx)->Train({d.v.data(), 8000 * kDim}).ok());
  ASSERT_TRUE((*idx)->Add(d.Ids(), d.v).ok());
  EXPECT_LT((*idx)->MemoryBytes(), 20000 * kDim * 4 / 4) << "compressed: well under the exact vectors' size";
  std::vector<std::vector<IndexHit>> out;
  EXPECT_FALSE((*idx)->Search({d.Find(3), kDim}, 10, nullptr, &out).ok()) << "re-ranking needs the exact vectors";
  double hit = 0;
  const int queries = 50;
  std::vector<float> qs;
  for (int q = 0; q < queries; ++q) qs.insert(qs.end(), d.Find(q * 397), d.Find(q * 397) + kDim);
  ASSERT_TRUE((*idx)->Search(qs, 10, &d, &out).ok());
  ASSERT_EQ(out.size(), static_cast<size_t>(queries));
  for (int q = 0; q < queries; ++q) {
    auto truth = BruteForce(d, &qs[static_cast<size_t>(q) * kDim], 10);
    for (const auto& h : out[static_cast<size_t>(q)]) {
      EXPECT_NEAR(h.score, d.Dot(&qs[static_cast<size_t>(q) * kDim], h.id), 1e-5) << "scores are exact";
      for (const auto& t : truth) hit += t.id == h.id;
    }
    EXPECT_EQ(out[static_cast<size_t>(q)][0].id, q * 397) << "a vector finds itself first";
  }
  EXPECT_GE(hit / (queries * 10), 0.9) << "recall@10 against exact search";

  // Removed ids are never returned; save and load give the same answers.
  std::vector<int64_t> gone;
  for (const auto& h : out[0]) gone.push_back(h.id);
  ASSERT_TRUE((*idx)->Remove(gone).ok());
  EXPECT_EQ((*idx)->size(), 20000 - 10);
  TempDir t;
  ASSERT_TRUE((*idx)->Save(t.File("i.lux")).ok());
  auto back = VectorIndex::Load(t.File("i.lux"), kDim);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ((*back)->spec(), (*idx)->spec());
  EXPECT_EQ((*back)->size(), (*idx)->size());
  std::vector<std::vector<IndexHit>> a, b;
  ASSERT_TRUE((*idx)->Search(qs, 10, &d, &a).ok());
  ASSERT_TRUE((*back)->Search(qs, 10, &d, &b).ok());
  for (size_t q = 0; q < a.size(); ++q) {
    ASSERT_EQ(a[q].size(), b[q].size());
    for (size_t i = 0; i < a[q].size(); ++i) EXPECT_EQ(a[q][i].id, b[q][i].id);
  }
  for (const auto& h : a[0]) EXPECT_EQ(std::count(gone.begin(), gone.end(), h.id), 0);
  // Loading with the wrong dimension is refused.
  EXPECT_EQ(VectorIndex::Load(t.File("i.lux"), kDim * 2).status().code(), Status::Code::kCorrupt);
}

TEST(VectorIndexFile, HostileFilesAreRefusedNotCrashedOn) {
  Data d(2000);
  auto idx = VectorIndex::Create("ivfpq,nlist=8,m=8,nprobe=8,rerank=50", kDim);
  ASSERT_TRUE((*idx)->Train(d.v).ok());
  ASSERT_TRUE((*idx)->Add(d.Ids(), d.v).ok());
  TempDir t;
  ASSERT_TRUE((*idx)->Save(t.File("good.lux")).ok());
  std::string good;
  {
    std::ifstream in(t.File("good.lux"), std::ios::binary);
    good.assign(std::istreambuf_iterator<char>(in), {});
  }
  ASSERT_GT(good.size(), 1000u);
  auto write = [&](const std::string& name, const std::string& bytes) {
    std::ofstream(t.File(name), std::ios::binary) << bytes;
    return t.File(name);
  };
  std::vector<std::pair<std::string, std::string>> cases = {
      {"empty", ""},
      {"magic only", good.substr(0, 8)},
      {"truncated", good.substr(0, good.size() / 2)},
      {"one byte short", good.substr(0, good.size() - 1)},
      {"trailing junk", good + "junk"},
      {"not an index", std::string(4096, 'x')},
  };
  std::string flipped = good;
  flipped[flipped.size() - 100] ^= 0x5a;
  cases.push_back({"bit flip in the body", flipped});
  std::string huge_header = good;
  huge_header[8] = '\xff';
  huge_header[9] = '\xff';
  huge_header[10] = '\xff';
  huge_header[11] = '\x7f';
  cases.push_back({"header length past the end", huge_header});
  std::string bad_json = good;
  bad_json[12] = '[';
  cases.push_back({"header not JSON", bad_json});
  for (const auto& [what, bytes] : cases) {
    auto r = VectorIndex::Load(write("bad.lux", bytes), kDim);
    EXPECT_FALSE(r.ok()) << what;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Status::Code::kCorrupt) << what << ": " << r.status().ToString();
    }
  }
  EXPECT_EQ(VectorIndex::Load(t.File("missing.lux"), kDim).status().code(), Status::Code::kIOError);
}

// The fast-scan index (bits=4) with every list scanned and every face kept is exact
// search; removal keeps its two code stores in step (Load checks), also across re-adds.
TEST(VectorIndexFastScan, ScanningEverythingIsExactSearchAndRemovalKeepsTheCodeStoresInStep) {
  Data d(3000, 11, 24);
  auto idx = VectorIndex::Create("ivfpq,pca=32,nlist=16,m=16,bits=4,nprobe=16,refine=3000,rerank=3000", kDim);
  ASSERT_TRUE(idx.ok()) << idx.status().ToString();
  ASSERT_TRUE((*idx)->Train(d.v).ok());
  ASSERT_TRUE((*idx)->Add(d.Ids(), d.v).ok());
  EXPECT_EQ((*idx)->size(), 3000);
  std::vector<float> qs;
  for (int q = 0; q < 20; ++q) qs.insert(qs.end(), d.Find(q * 131), d.Find(q * 131) + kDim);
  std::set<int64_t> gone;
  TempDir t;
  for (int round = 0; round < 3; ++round) {
    std::vector<std::vector<IndexHit>> out;
    ASSERT_TRUE((*idx)->Search(qs, 10, &d, &out).ok());
    for (size_t q = 0; q < out.size(); ++q) {
      auto truth = BruteForce(d, &qs[q * kDim], 10, gone);
      ASSERT_EQ(out[q].size(), truth.size());
      for (size_t i = 0; i < truth.size(); ++i) EXPECT_EQ(out[q][i].id, truth[i].id) << "round " << round;
    }
    // Remove a tenth (every list loses faces from its middle and its end), save, reload.
    std::vector<int64_t> batch;
    for (int64_t i = round; i < 3000; i += 10)
      if (gone.insert(i).second) batch.push_back(i);
    ASSERT_TRUE((*idx)->Remove(batch).ok());
    EXPECT_EQ((*idx)->size(), 3000 - static_cast<int64_t>(gone.size()));
    ASSERT_TRUE((*idx)->Save(t.File("f.lux")).ok());
    auto back = VectorIndex::Load(t.File("f.lux"), kDim);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    idx = std::move(back);
    if (round == 1) {  // and some come back
      std::vector<int64_t> again(batch.begin(), batch.begin() + 50);
      std::vector<float> vs;
      for (int64_t id : again) {
        vs.insert(vs.end(), d.Find(id), d.Find(id) + kDim);
        gone.erase(id);
      }
      ASSERT_TRUE((*idx)->Add(again, vs).ok());
    }
  }
  // Everything removed: searches find nothing.
  ASSERT_TRUE((*idx)->Remove(d.Ids()).ok());
  EXPECT_EQ((*idx)->size(), 0);
  std::vector<std::vector<IndexHit>> out;
  ASSERT_TRUE((*idx)->Search(qs, 10, &d, &out).ok());
  for (const auto& o : out) EXPECT_TRUE(o.empty());
}

// A file whose header names a fast-scan index its body does not hold is refused.
TEST(VectorIndexFastScan, MismatchedFilesAreRefused) {
  Data d(2000, 5, 24);
  TempDir t;
  auto save = [&](const char* spec, const std::string& name) {
    auto idx = VectorIndex::Create(spec, kDim);
    EXPECT_TRUE((*idx)->Train(d.v).ok());
    EXPECT_TRUE((*idx)->Add(d.Ids(), d.v).ok());
    EXPECT_TRUE((*idx)->Save(t.File(name)).ok());
    std::ifstream in(t.File(name), std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  // The file with its header's spec replaced (the checksum covers the body only).
  auto respec = [&](const std::string& file, const std::string& from, const std::string& to) {
    uint32_t hl = 0;
    std::memcpy(&hl, file.data() + 8, 4);
    std::string head = file.substr(12, hl);
    const size_t at = head.find(from);
    EXPECT_NE(at, std::string::npos);
    head.replace(at, from.size(), to);
    const uint32_t nl = static_cast<uint32_t>(head.size());
    std::string out =
        file.substr(0, 8) + std::string(reinterpret_cast<const char*>(&nl), 4) + head + file.substr(12 + hl);
    std::ofstream(t.File("bad.lux"), std::ios::binary) << out;
    return VectorIndex::Load(t.File("bad.lux"), kDim);
  };
  const std::string plain = save("ivfpq,pca=32,nlist=8,m=8,nprobe=8,rerank=50", "plain.lux");
  const std::string fast = save("ivfpq,pca=32,nlist=8,m=8,bits=4,nprobe=8,rerank=50", "fast.lux");
  const std::string both = save("ivfpq,pca=32,nlist=8,m=8,bits=4,nprobe=8,refine=100,rerank=50", "both.lux");
  ASSERT_TRUE(VectorIndex::Load(t.File("both.lux"), kDim).ok());
  for (const auto& [file, from, to] : {std::tuple{plain, "m=8,", "m=8,bits=4,"},
                                       {fast, "bits=4,", "bits=4,refine=100,"},
                                       {fast, "m=8,", "m=4,"},
                                       {both, "nlist=8,", "nlist=16,"}}) {
    auto r = respec(file, from, to);
    EXPECT_FALSE(r.ok()) << from << " -> " << to;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Status::Code::kCorrupt) << r.status().ToString();
    }
  }
}

}  // namespace
