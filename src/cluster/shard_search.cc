// Shard search over request-reply. Wire format, little-endian as this machine's floats:
//   request  "LSQ1" u32 k, u32 dim, u32 n, then n*dim f32
//   reply    "LSR1" u32 n, then per probe: u32 m, m x (i64 face id, f32 score)
//   error    "LSE1" then the message text
#include "lineup/shard_search.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <future>
#include <mutex>

namespace lineup {

std::string ShardSearchSubject(int shard) { return "lineup.search." + std::to_string(shard); }
std::string ShardQueueGroup(int shard) { return "shard-" + std::to_string(shard); }

namespace {

constexpr uint32_t kMaxK = 10000, kMaxDim = 4096, kMaxProbes = 1024;

void Put(std::vector<uint8_t>* out, const void* p, size_t n) {
  const auto* b = static_cast<const uint8_t*>(p);
  out->insert(out->end(), b, b + n);
}
void PutU32(std::vector<uint8_t>* out, uint32_t v) { Put(out, &v, 4); }

// Reads fixed-size values off a byte span; any read past the end fails the whole parse.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> b) : b_(b) {}
  bool Tag(const char* t) {
    if (b_.size() - at_ < 4 || std::memcmp(b_.data() + at_, t, 4) != 0) return false;
    at_ += 4;
    return true;
  }
  template <typename T>
  bool Get(T* v) {
    if (b_.size() - at_ < sizeof(T)) return false;
    std::memcpy(v, b_.data() + at_, sizeof(T));
    at_ += sizeof(T);
    return true;
  }
  size_t left() const { return b_.size() - at_; }
  const uint8_t* here() const { return b_.data() + at_; }
  void Skip(size_t n) { at_ += n; }

 private:
  std::span<const uint8_t> b_;
  size_t at_ = 0;
};

// Starting from the tag's bytes (not Put into an empty vector: GCC 12 warns falsely).
std::vector<uint8_t> Tagged(const char* tag) { return {uint8_t(tag[0]), uint8_t(tag[1]), uint8_t(tag[2]), uint8_t(tag[3])}; }

std::vector<uint8_t> ErrorReply(const std::string& m) {
  std::vector<uint8_t> out = Tagged("LSE1");
  out.insert(out.end(), m.begin(), m.end());
  return out;
}

}  // namespace

struct ShardServer::Impl {
  Gallery* gallery = nullptr;
  int shard = 0;
  std::mutex own_mu;
  std::mutex* mu = &own_mu;  // held while the gallery is used
  std::atomic<int64_t> searches{0};
  std::unique_ptr<Subscription> sub;

  std::vector<uint8_t> Answer(std::span<const uint8_t> req) {
    Reader r(req);
    uint32_t k = 0, dim = 0, n = 0;
    if (!r.Tag("LSQ1") || !r.Get(&k) || !r.Get(&dim) || !r.Get(&n)) return ErrorReply("malformed search request");
    if (k == 0 || k > kMaxK || n == 0 || n > kMaxProbes || dim == 0 || dim > kMaxDim)
      return ErrorReply("search request out of range (k, probes or dimension)");
    if (r.left() != size_t{n} * dim * sizeof(float)) return ErrorReply("search request: probe data has the wrong size");
    if (static_cast<int>(dim) != gallery->model().dim)
      return ErrorReply("probe dimension " + std::to_string(dim) + " is not this gallery's " +
                        std::to_string(gallery->model().dim));
    std::vector<float> probes(size_t{n} * dim);
    std::memcpy(probes.data(), r.here(), probes.size() * sizeof(float));
    Result<std::vector<std::vector<Candidate>>> found = Status::Internal("not run");
    {
      std::lock_guard<std::mutex> lock(*mu);
      found = gallery->Search(probes, static_cast<int>(k));
    }
    if (!found.ok()) return ErrorReply(found.status().ToString());
    ++searches;
    std::vector<uint8_t> out = Tagged("LSR1");
    PutU32(&out, n);
    for (auto& list : *found) {
      std::sort(list.begin(), list.end(), [](const Candidate& a, const Candidate& b) { return a.score > b.score; });
      if (list.size() > k) list.resize(k);
      PutU32(&out, static_cast<uint32_t>(list.size()));
      for (const Candidate& c : list) {
        Put(&out, &c.face_id, sizeof c.face_id);
        Put(&out, &c.score, sizeof c.score);
      }
    }
    return out;
  }
};

ShardServer::ShardServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ShardServer::~ShardServer() { impl_->sub.reset(); }
int64_t ShardServer::searches() const { return impl_->searches.load(); }

Result<std::unique_ptr<ShardServer>> ShardServer::Start(MessageBus* bus, Gallery* gallery, int shard,
                                                      std::mutex* gallery_mu) {
  if (!bus || !gallery || shard < 0) return Status::InvalidArgument("ShardServer needs a bus, a gallery and a shard >= 0");
  auto impl = std::make_unique<Impl>();
  impl->gallery = gallery;
  impl->shard = shard;
  if (gallery_mu) impl->mu = gallery_mu;
  Impl* self = impl.get();
  auto sub = bus->Serve(ShardSearchSubject(shard), ShardQueueGroup(shard),
                        [self](std::span<const uint8_t> req) { return self->Answer(req); });
  if (!sub.ok()) return sub.status();
  impl->sub = std::move(*sub);
  Status flushed = bus->Flush(5000);  // registered with the server before Start returns
  if (!flushed.ok()) return flushed;
  return std::unique_ptr<ShardServer>(new ShardServer(std::move(impl)));
}

Result<ShardSearchResult> SearchShards(MessageBus& bus, int shards, std::span<const float> probes, int dim, int k,
                                       int deadline_ms) {
  if (shards < 1 || dim < 1 || k < 1 || deadline_ms < 1 || probes.empty() || probes.size() % static_cast<size_t>(dim))
    return Status::InvalidArgument("SearchShards: bad shards, dim, k, deadline or probe size");
  const uint32_t n = static_cast<uint32_t>(probes.size() / static_cast<size_t>(dim));
  if (n > kMaxProbes || static_cast<uint32_t>(k) > kMaxK || static_cast<uint32_t>(dim) > kMaxDim)
    return Status::InvalidArgument("SearchShards: too many probes, too large k or dimension");
  std::vector<uint8_t> req = Tagged("LSQ1");
  PutU32(&req, static_cast<uint32_t>(k));
  PutU32(&req, static_cast<uint32_t>(dim));
  PutU32(&req, n);
  Put(&req, probes.data(), probes.size() * sizeof(float));

  std::vector<std::future<Result<std::vector<uint8_t>>>> answers;
  for (int s = 0; s < shards; ++s)
    answers.push_back(std::async(std::launch::async, [&bus, &req, s, deadline_ms] {
      return bus.Request(ShardSearchSubject(s), req, deadline_ms);
    }));

  ShardSearchResult out;
  out.hits.resize(n);
  for (int s = 0; s < shards; ++s) {
    Result<std::vector<uint8_t>> a = answers[static_cast<size_t>(s)].get();
    auto missing = [&](std::string why) { out.missing.push_back({s, std::move(why)}); };
    if (!a.ok()) {
      missing(a.status().code() == Status::Code::kUnavailable
                  ? "no answer within " + std::to_string(deadline_ms) + " ms"
                  : a.status().ToString());
      continue;
    }
    Reader r(*a);
    if (r.Tag("LSE1")) {
      missing("shard error: " + std::string(reinterpret_cast<const char*>(r.here()), r.left()));
      continue;
    }
    uint32_t got_n = 0;
    if (!r.Tag("LSR1") || !r.Get(&got_n) || got_n != n) {
      missing("malformed answer");
      continue;
    }
    std::vector<std::vector<ShardHit>> mine(n);
    bool ok = true;
    for (uint32_t p = 0; p < n && ok; ++p) {
      uint32_t m = 0;
      ok = r.Get(&m) && m <= static_cast<uint32_t>(k);
      for (uint32_t i = 0; i < m && ok; ++i) {
        ShardHit h;
        h.shard = s;
        ok = r.Get(&h.face_id) && r.Get(&h.score);
        mine[p].push_back(h);
      }
    }
    if (!ok || r.left() != 0) {
      missing("malformed answer");
      continue;
    }
    for (uint32_t p = 0; p < n; ++p) out.hits[p].insert(out.hits[p].end(), mine[p].begin(), mine[p].end());
  }
  for (auto& list : out.hits) {
    std::sort(list.begin(), list.end(), [](const ShardHit& a, const ShardHit& b) {
      return a.score != b.score ? a.score > b.score : (a.shard != b.shard ? a.shard < b.shard : a.face_id < b.face_id);
    });
    if (list.size() > static_cast<size_t>(k)) list.resize(static_cast<size_t>(k));
  }
  return out;
}

}  // namespace lineup
