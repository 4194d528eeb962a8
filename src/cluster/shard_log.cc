// Shard log entries: "LSP1", u32 length of a JSON header (source, image, faces), the
// header, then the faces' vectors as f32 (little-endian, as this machine's floats).
#include "lineup/shard_log.h"

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <set>

#include <nlohmann/json.hpp>

namespace lineup {

using json = nlohmann::json;

int ShardOf(const std::string& sha256, int shards) {
  if (shards <= 1) return 0;
  // The first 15 hex digits of a SHA-256 are uniform; anything else hashes as text.
  uint64_t v = 0;
  size_t used = 0;
  for (char c : sha256) {
    if (used == 15) break;
    int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
    if (d < 0) {
      v = std::hash<std::string>{}(sha256);
      used = 15;
      break;
    }
    v = v * 16 + static_cast<uint64_t>(d);
    ++used;
  }
  return static_cast<int>(v % static_cast<uint64_t>(shards));
}

std::string ShardStreamName(int shard) { return "SHARD_" + std::to_string(shard); }
std::string ShardLogSubject(int shard) { return "lineup.shard." + std::to_string(shard); }

Status EnsureShardLogs(MessageBus& bus, int shards, int replicas) {
  if (shards < 1) return Status::InvalidArgument("a cluster needs at least one shard");
  for (int s = 0; s < shards; ++s) {
    Status st = bus.EnsureStream({ShardStreamName(s), {ShardLogSubject(s)}, replicas, false});
    if (!st.ok()) return st;
  }
  return Status::OK();
}

namespace {

json FaceJson(const FaceRecord& f) {
  json lm = json::array();
  for (const auto& p : f.landmarks) lm.push_back({p.x, p.y});
  return {{"box", {f.box.x, f.box.y, f.box.width, f.box.height}},
          {"landmarks", lm},
          {"confidence", f.confidence},
          {"quality", f.quality},
          {"quality_reasons", f.quality_reasons},
          {"excluded", f.excluded}};
}

Result<FaceRecord> FaceFromJson(const json& j) {
  FaceRecord f;
  const json& b = j.at("box");
  if (!b.is_array() || b.size() != 4) return Status::InvalidArgument("face box is not 4 numbers");
  f.box = cv::Rect2f(b[0].get<float>(), b[1].get<float>(), b[2].get<float>(), b[3].get<float>());
  const json& lm = j.at("landmarks");
  if (!lm.is_array() || lm.size() != f.landmarks.size()) return Status::InvalidArgument("face landmarks are not 5 points");
  for (size_t i = 0; i < f.landmarks.size(); ++i) f.landmarks[i] = {lm[i].at(0).get<float>(), lm[i].at(1).get<float>()};
  f.confidence = j.at("confidence").get<float>();
  f.quality = j.at("quality").get<float>();
  f.quality_reasons = j.at("quality_reasons").get<std::vector<std::string>>();
  f.excluded = j.at("excluded").get<std::string>();
  return f;
}

std::vector<uint8_t> Encode(const ShardPhoto& p) {
  json faces = json::array();
  for (const auto& f : p.faces) faces.push_back(FaceJson(f));
  const std::string head =
      json{{"source",
            {{"name", p.source.name},
             {"description", p.source.description},
             {"legal_basis", p.source.legal_basis},
             {"collected_by", p.source.collected_by},
             {"collected_at", p.source.collected_at},
             {"retention_until", p.source.retention_until},
             {"purposes", p.source.purposes}}},
           {"image",
            {{"sha256", p.image.sha256},
             {"uri", p.image.uri},
             {"bytes", p.image.bytes},
             {"format", p.image.format},
             {"width", p.image.width},
             {"height", p.image.height},
             {"captured_at", p.image.captured_at},
             {"place", p.image.place}}},
           {"faces", faces}}
          .dump();
  const uint32_t n = static_cast<uint32_t>(head.size());
  const size_t vec_bytes = p.vectors.size() * sizeof(float);
  std::vector<uint8_t> out(8 + head.size() + vec_bytes);
  std::memcpy(out.data(), "LSP1", 4);
  std::memcpy(out.data() + 4, &n, 4);
  std::memcpy(out.data() + 8, head.data(), head.size());
  if (vec_bytes) std::memcpy(out.data() + 8 + head.size(), p.vectors.data(), vec_bytes);
  return out;
}

Result<ShardPhoto> Decode(std::span<const uint8_t> b, int dim) {
  if (b.size() < 8 || std::memcmp(b.data(), "LSP1", 4) != 0) return Status::InvalidArgument("not a shard log entry");
  uint32_t n = 0;
  std::memcpy(&n, b.data() + 4, 4);
  if (n > b.size() - 8) return Status::InvalidArgument("entry header runs past its end");
  ShardPhoto p;
  try {
    const json j = json::parse(b.begin() + 8, b.begin() + 8 + n);
    const json& s = j.at("source");
    p.source.name = s.at("name").get<std::string>();
    p.source.description = s.at("description").get<std::string>();
    p.source.legal_basis = s.at("legal_basis").get<std::string>();
    p.source.collected_by = s.at("collected_by").get<std::string>();
    p.source.collected_at = s.at("collected_at").get<std::string>();
    p.source.retention_until = s.at("retention_until").get<std::string>();
    p.source.purposes = s.at("purposes").get<std::vector<std::string>>();
    const json& im = j.at("image");
    p.image.sha256 = im.at("sha256").get<std::string>();
    p.image.uri = im.at("uri").get<std::string>();
    p.image.bytes = im.at("bytes").get<int64_t>();
    p.image.format = im.at("format").get<std::string>();
    p.image.width = im.at("width").get<int>();
    p.image.height = im.at("height").get<int>();
    p.image.captured_at = im.at("captured_at").get<std::string>();
    p.image.place = im.at("place").get<std::string>();
    for (const json& f : j.at("faces")) {
      auto face = FaceFromJson(f);
      if (!face.ok()) return face.status();
      p.faces.push_back(*face);
    }
  } catch (const json::exception& e) {
    return Status::InvalidArgument(std::string("entry header: ") + e.what());
  }
  if (p.source.name.empty() || p.source.legal_basis.empty() || p.image.sha256.empty())
    return Status::InvalidArgument("entry lacks a source, a legal basis or the image's SHA-256");
  const size_t want = p.faces.size() * static_cast<size_t>(dim) * sizeof(float);
  if (b.size() - 8 - n != want)
    return Status::InvalidArgument("entry holds " + std::to_string(b.size() - 8 - n) + " vector bytes, not " +
                                   std::to_string(want));
  p.vectors.resize(p.faces.size() * static_cast<size_t>(dim));
  if (want) std::memcpy(p.vectors.data(), b.data() + 8 + n, want);
  return p;
}

}  // namespace

Result<PublishAck> PublishPhoto(MessageBus& bus, int shards, const ShardPhoto& photo, int dim) {
  if (photo.image.sha256.empty() || photo.source.name.empty() || photo.source.legal_basis.empty())
    return Status::InvalidArgument("a photo needs its SHA-256, a source and its legal basis");
  if (photo.vectors.size() != photo.faces.size() * static_cast<size_t>(dim))
    return Status::InvalidArgument("one vector of the model's dimension per face");
  const int shard = ShardOf(photo.image.sha256, shards);
  return bus.Publish(ShardLogSubject(shard), Encode(photo), photo.image.sha256);
}

struct ShardReplica::Impl {
  MessageBus* bus = nullptr;
  Gallery* gallery = nullptr;
  std::mutex* gallery_mu = nullptr;
  int shard = 0;
  std::string state_path;  // <gallery>/shard_applied: "shard S applied N"
  std::unique_ptr<StreamReader> reader;
  uint64_t applied = 0;  // the last log sequence the gallery holds
  int64_t skipped = 0;

  // Decodes entry `m` and adds it to the batch (images, vectors), creating its source if
  // needed; a photo the gallery or the batch already holds is skipped.
  Status Prepare(const BusMessage& m, std::vector<Catalog::NewImage>* images, std::vector<float>* vectors,
                 std::set<std::string>* in_batch) {
    const int dim = gallery->model().dim;
    auto p = Decode(m.data, dim);
    if (!p.ok()) return p.status().WithContext(ShardStreamName(shard) + " entry " + std::to_string(m.sequence));
    Catalog& cat = gallery->catalog();
    auto held = cat.FindImageBySha256(p->image.sha256);
    if (!held.ok()) return held.status();
    if (held->has_value() || in_batch->count(p->image.sha256)) {  // applied before a crash lost its place
      ++skipped;
      return Status::OK();
    }
    auto src = cat.FindSource(p->source.name);
    if (!src.ok()) {
      if (src.status().code() != Status::Code::kNotFound) return src.status();
      SourceRecord s = p->source;
      Status added = cat.AddSource(&s);
      if (!added.ok()) return added;
      p->image.source_id = s.id;
    } else {
      p->image.source_id = src->id;
    }
    in_batch->insert(p->image.sha256);
    Catalog::NewImage ni;
    ni.image = std::move(p->image);
    ni.faces = std::move(p->faces);
    images->push_back(std::move(ni));
    vectors->insert(vectors->end(), p->vectors.begin(), p->vectors.end());
    return Status::OK();
  }

  // Durable before it returns: written aside, synced, renamed over the old one.
  Status SaveApplied() {
    const std::string tmp = state_path + ".tmp";
    std::FILE* f = std::fopen(tmp.c_str(), "w");
    if (!f) return Status::IOError(tmp + ": cannot write");
    std::fprintf(f, "shard %d applied %llu\n", shard, static_cast<unsigned long long>(applied));
    bool ok = std::fflush(f) == 0 && ::fsync(fileno(f)) == 0;
    ok = std::fclose(f) == 0 && ok;
    if (!ok || std::rename(tmp.c_str(), state_path.c_str()) != 0) return Status::IOError(state_path + ": cannot write");
    return Status::OK();
  }

  Status LoadApplied() {
    std::FILE* f = std::fopen(state_path.c_str(), "r");
    if (!f) return Status::OK();  // a new replica: from the start
    int s = -1;
    unsigned long long n = 0;
    int got = std::fscanf(f, "shard %d applied %llu", &s, &n);
    std::fclose(f);
    if (got != 2) return Status::Corrupt(state_path + ": not \"shard S applied N\"");
    if (s != shard)
      return Status::FailedPrecondition(gallery->dir() + " is a replica of shard " + std::to_string(s) + ", not " +
                                        std::to_string(shard));
    applied = n;
    return Status::OK();
  }

  Status Reopen() {
    reader.reset();
    auto r = bus->Replay(ShardStreamName(shard), ShardLogSubject(shard), applied + 1);
    if (!r.ok()) return r.status();
    reader = std::move(*r);
    return Status::OK();
  }
};

ShardReplica::ShardReplica(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ShardReplica::~ShardReplica() = default;
uint64_t ShardReplica::applied() const { return impl_->applied; }
int64_t ShardReplica::skipped() const { return impl_->skipped; }

Result<std::unique_ptr<ShardReplica>> ShardReplica::Open(MessageBus* bus, Gallery* gallery, int shard,
                                                        std::mutex* gallery_mu) {
  if (!bus || !gallery || shard < 0) return Status::InvalidArgument("ShardReplica needs a bus, a gallery and a shard");
  auto impl = std::make_unique<Impl>();
  impl->bus = bus;
  impl->gallery = gallery;
  impl->gallery_mu = gallery_mu;
  impl->shard = shard;
  impl->state_path = gallery->dir() + "/shard_applied";
  Status st = impl->LoadApplied();
  if (st.ok()) st = impl->Reopen();
  if (!st.ok()) return st;
  return std::unique_ptr<ShardReplica>(new ShardReplica(std::move(impl)));
}

Result<int64_t> ShardReplica::CatchUp(int max, int wait_ms) {
  Impl& d = *impl_;
  if (!d.reader) {  // the last fetch failed: start again where the gallery is
    Status st = d.Reopen();
    if (!st.ok()) return st;
  }
  auto got = d.reader->Fetch(max, wait_ms);
  if (!got.ok()) {
    d.reader.reset();
    return got.status();
  }
  std::unique_lock<std::mutex> hold;
  if (d.gallery_mu) hold = std::unique_lock<std::mutex>(*d.gallery_mu);
  // The fetched entries in order, as one AddFaces (durable), then the place recorded.
  std::vector<Catalog::NewImage> images;
  std::vector<float> vectors;
  std::set<std::string> in_batch;
  uint64_t last = d.applied;
  int64_t taken = 0;
  Status failed;
  for (const BusMessage& m : *got) {
    if (m.sequence <= last) continue;  // already held
    if (m.sequence != last + 1) {      // a delivery was lost: replay from the gap
      d.reader.reset();
      break;
    }
    failed = d.Prepare(m, &images, &vectors, &in_batch);
    if (!failed.ok()) {
      d.reader.reset();  // met again from here on the next call
      break;
    }
    last = m.sequence;
    ++taken;
  }
  if (!images.empty()) {
    Status added = d.gallery->AddFaces(images, vectors);
    if (!added.ok()) {
      d.reader.reset();
      return added;
    }
  }
  if (taken > 0) {
    d.applied = last;
    Status saved = d.SaveApplied();
    if (!saved.ok()) return saved;
  }
  if (!failed.ok()) return failed;
  return taken;
}

}  // namespace lineup
