#include "lineup/vector_file.h"

#include <cstdio>
#include <cstring>
#include <fstream>

#include <nlohmann/json.hpp>

#include "lineup/image.h"

namespace lineup {

namespace {
constexpr char kMagic[8] = {'L', 'U', 'V', 'E', 'C', '0', '1', '\n'};
}

Status VectorFile::Write(const std::string& path) const {
  nlohmann::json h;
  h["model"] = model_id;
  h["dim"] = dim;
  h["count"] = records.size();
  h["records"] = nlohmann::json::array();
  for (const auto& r : records) {
    if (static_cast<int>(r.vector.size()) != dim) return Status::InvalidArgument("vector of the wrong dimension");
    h["records"].push_back({{"photo", r.photo}, {"face", r.face},
                            {"box", {r.box.x, r.box.y, r.box.width, r.box.height}},
                            {"quality", r.quality}, {"quality_reasons", r.quality_reasons}});
  }
  std::string header = h.dump();
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return Status::IOError(path + ": cannot write");
    uint32_t n = static_cast<uint32_t>(header.size());
    unsigned char len[4] = {static_cast<unsigned char>(n), static_cast<unsigned char>(n >> 8),
                            static_cast<unsigned char>(n >> 16), static_cast<unsigned char>(n >> 24)};
    out.write(kMagic, 8);
    out.write(reinterpret_cast<const char*>(len), 4);
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    for (const auto& r : records)
      out.write(reinterpret_cast<const char*>(r.vector.data()), static_cast<std::streamsize>(r.vector.size() * 4));
    out.close();
    if (!out) { std::remove(tmp.c_str()); return Status::IOError(path + ": write failed"); }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return Status::IOError(path + ": cannot rename into place");
  return Status::OK();
}

Result<VectorFile> VectorFile::Read(const std::string& path) {
  auto bytes = ReadFileBytes(path, int64_t{4} << 30);
  if (!bytes.ok()) return bytes.status();
  const std::string& b = *bytes;
  auto bad = [&](const std::string& why) { return Status::InvalidArgument(path + ": not a Lineup vector file (" + why + ")"); };
  if (b.size() < 12 || std::memcmp(b.data(), kMagic, 8) != 0) return bad("bad magic");
  const auto* u = reinterpret_cast<const unsigned char*>(b.data());
  uint64_t hlen = uint64_t{u[8]} | uint64_t{u[9]} << 8 | uint64_t{u[10]} << 16 | uint64_t{u[11]} << 24;
  if (hlen > b.size() - 12) return bad("header runs past the end");
  VectorFile f;
  try {
    auto h = nlohmann::json::parse(b.begin() + 12, b.begin() + 12 + static_cast<std::ptrdiff_t>(hlen));
    f.model_id = h.at("model").get<std::string>();
    // Whole numbers only: a JSON 4.5 or 1e300 must not be truncated into something valid.
    if (!h.at("dim").is_number_integer() || !h.at("count").is_number_integer()) return bad("dim and count must be whole numbers");
    if (h.at("dim").get<int64_t>() <= 0 || h.at("dim").get<int64_t>() > 65536) return bad("dimension out of range");
    if (h.at("count").get<int64_t>() < 0) return bad("negative count");
    f.dim = h.at("dim").get<int>();
    uint64_t count = h.at("count").get<uint64_t>();
    const auto& recs = h.at("records");
    if (f.dim <= 0 || f.dim > 65536) return bad("dimension out of range");
    if (!recs.is_array() || recs.size() != count) return bad("record count mismatch");
    if ((b.size() - 12 - hlen) != count * static_cast<uint64_t>(f.dim) * 4) return bad("vector bytes do not match the header");
    const char* data = b.data() + 12 + hlen;
    for (uint64_t i = 0; i < count; ++i) {
      const auto& r = recs[i];
      VectorRecord v;
      v.photo = r.at("photo").get<std::string>();
      if (!r.at("face").is_number_integer()) return bad("face must be a whole number");
      v.face = r.at("face").get<int>();
      auto box = r.at("box").get<std::vector<float>>();
      if (box.size() != 4) return bad("box must have 4 numbers");
      v.box = {box[0], box[1], box[2], box[3]};
      v.quality = r.at("quality").get<float>();
      v.quality_reasons = r.value("quality_reasons", std::vector<std::string>{});
      v.vector.resize(static_cast<size_t>(f.dim));
      std::memcpy(v.vector.data(), data + i * static_cast<uint64_t>(f.dim) * 4, static_cast<size_t>(f.dim) * 4);
      f.records.push_back(std::move(v));
    }
  } catch (const std::exception& e) {
    return bad(std::string("header: ") + e.what());
  }
  return f;
}

}  // namespace lineup
