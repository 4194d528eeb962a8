// VectorFile (lineup/vector_file.h): identity vectors on disk.
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "lineup/vector_file.h"
#include "test_util.h"

namespace {

using lineup::Status;
using lineup::VectorFile;
using lineup::VectorRecord;
using lineup_test::ReadBytes;
using lineup_test::TempDir;
using lineup_test::WriteBytes;
using Bytes = std::vector<uint8_t>;

bool Contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

VectorFile Sample() {
  VectorFile f;
  f.model_id = "fr_feature@faceplugin-face-recognition-js@0.0.1+plain";
  f.dim = 4;
  f.records.push_back({"photos/a b.jpg", 1, {10.5f, 20.25f, 100, 130}, 0.75f, {}, {0.5f, -0.5f, 0.5f, -0.5f}});
  f.records.push_back({"/abs/ünïcode.png", 3, {0, 0, 24, 30}, 0.125f, {"small", "blurred"}, {1, 0, 0, 0}});
  return f;
}

// The bytes of a vector file with this header JSON text and these vector bytes,
// and a header length field of `hlen` (default: the header's size).
Bytes Raw(const std::string& header, const Bytes& vectors, int64_t hlen = -1, const char* magic = "LUVEC01\n") {
  Bytes b(magic, magic + 8);
  uint32_t n = hlen < 0 ? static_cast<uint32_t>(header.size()) : static_cast<uint32_t>(hlen);
  for (int s = 0; s < 32; s += 8) b.push_back(static_cast<uint8_t>(n >> s));
  b.insert(b.end(), header.begin(), header.end());
  b.insert(b.end(), vectors.begin(), vectors.end());
  return b;
}

Bytes Floats(size_t n, float v = 0.25f) {
  Bytes b(n * 4);
  for (size_t i = 0; i < n; ++i) std::memcpy(b.data() + i * 4, &v, 4);
  return b;
}

std::string Header(const std::string& model, int dim, int64_t count, int records) {
  nlohmann::json h;
  h["model"] = model;
  h["dim"] = dim;
  h["count"] = count;
  h["records"] = nlohmann::json::array();
  for (int i = 0; i < records; ++i)
    h["records"].push_back({{"photo", "p.jpg"}, {"face", 1}, {"box", {0, 0, 10, 10}}, {"quality", 0.5}});
  return h.dump();
}

class VectorFileTest : public ::testing::Test {
 protected:
  // Writes bytes and expects Read to refuse them with InvalidArgument naming the file.
  void ExpectRefused(const Bytes& bytes, const std::string& why_part = "") {
    std::string path = tmp_.File("hostile.luvec");
    WriteBytes(path, bytes);
    auto r = VectorFile::Read(path);
    ASSERT_FALSE(r.ok()) << "accepted a hostile vector file";
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << r.status().ToString();
    EXPECT_TRUE(Contains(r.status().message(), path)) << r.status().message();
    if (!why_part.empty()) {
      EXPECT_TRUE(Contains(r.status().message(), why_part)) << r.status().message();
    }
  }
  TempDir tmp_;
};

TEST_F(VectorFileTest, WriteReadRoundTrip) {
  VectorFile f = Sample();
  std::string path = tmp_.File("v.luvec");
  ASSERT_TRUE(f.Write(path).ok());
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp")) << "the temporary file was left behind";
  auto r = VectorFile::Read(path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->model_id, f.model_id);
  EXPECT_EQ(r->dim, 4);
  ASSERT_EQ(r->records.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    SCOPED_TRACE(i);
    const VectorRecord &a = f.records[i], &b = r->records[i];
    EXPECT_EQ(b.photo, a.photo);
    EXPECT_EQ(b.face, a.face);
    EXPECT_EQ(b.box, a.box);
    EXPECT_FLOAT_EQ(b.quality, a.quality);
    EXPECT_EQ(b.quality_reasons, a.quality_reasons);
    EXPECT_EQ(b.vector, a.vector);  // bit-exact floats
  }
  // The layout is the documented one: magic, length, JSON header, N*D float32.
  Bytes raw = ReadBytes(path);
  ASSERT_GE(raw.size(), 12u);
  EXPECT_EQ(std::string(raw.begin(), raw.begin() + 8), "LUVEC01\n");
  uint32_t hlen = raw[8] | (raw[9] << 8) | (raw[10] << 16) | (static_cast<uint32_t>(raw[11]) << 24);
  EXPECT_EQ(raw.size(), 12 + hlen + 2 * 4 * 4);
  auto header = nlohmann::json::parse(raw.begin() + 12, raw.begin() + 12 + hlen);
  EXPECT_EQ(header["model"], f.model_id);
  EXPECT_EQ(header["count"], 2);
}

TEST_F(VectorFileTest, RealSizedVectorsRoundTrip) {
  VectorFile f;
  f.model_id = "m";
  f.dim = 512;
  for (int i = 0; i < 50; ++i) {
    VectorRecord r;
    r.photo.append("photo_").append(std::to_string(i)).append(".jpg");
    r.face = 1;
    r.vector.resize(512);
    for (int k = 0; k < 512; ++k) r.vector[static_cast<size_t>(k)] = static_cast<float>((i * 512 + k) % 97) / 97.0f - 0.5f;
    f.records.push_back(std::move(r));
  }
  std::string path = tmp_.File("big.luvec");
  ASSERT_TRUE(f.Write(path).ok());
  auto r = VectorFile::Read(path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->records.size(), 50u);
  for (size_t i = 0; i < 50; ++i) EXPECT_EQ(r->records[i].vector, f.records[i].vector) << i;
}

TEST_F(VectorFileTest, OverwriteReplacesTheOldFile) {
  std::string path = tmp_.File("v.luvec");
  ASSERT_TRUE(Sample().Write(path).ok());
  VectorFile g = Sample();
  g.records.pop_back();
  ASSERT_TRUE(g.Write(path).ok());
  auto r = VectorFile::Read(path);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->records.size(), 1u);
}

TEST_F(VectorFileTest, WriteRefusesVectorsOfTheWrongDimension) {
  VectorFile f = Sample();
  f.records[1].vector.push_back(1.0f);
  std::string path = tmp_.File("bad.luvec");
  Status s = f.Write(path);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST_F(VectorFileTest, WriteToMissingFolderIsIOError) {
  Status s = Sample().Write(tmp_.File("no/such/dir/v.luvec"));
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kIOError);
}

TEST_F(VectorFileTest, ReadMissingFileIsNotFound) {
  auto r = VectorFile::Read(tmp_.File("absent.luvec"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kNotFound);
}

TEST_F(VectorFileTest, EmptyAndShortFiles) {
  ExpectRefused({}, "magic");
  ExpectRefused({'L', 'U', 'V'}, "magic");
  ExpectRefused({'L', 'U', 'V', 'E', 'C', '0', '1', '\n', 0, 0}, "magic");
}

TEST_F(VectorFileTest, BadMagic) {
  ExpectRefused(Raw(Header("m", 4, 1, 1), Floats(4), -1, "LUVEC02\n"), "magic");
  ExpectRefused(Raw(Header("m", 4, 1, 1), Floats(4), -1, "\x89PNG\r\n\x1a\n"), "magic");
}

TEST_F(VectorFileTest, HeaderLengthPastTheEnd) {
  std::string h = Header("m", 4, 1, 1);
  ExpectRefused(Raw(h, Floats(4), static_cast<int64_t>(h.size()) + 17), "past the end");
  ExpectRefused(Raw(h, Floats(4), 0xFFFFFFFFLL), "past the end");
}

TEST_F(VectorFileTest, JsonGarbage) {
  ExpectRefused(Raw("{\"model\": \"m\", \"dim\": 4, \"cou", Floats(4)));
  ExpectRefused(Raw("not json at all", Floats(4)));
  ExpectRefused(Raw("[1,2,3]", Floats(4)));
  ExpectRefused(Raw("", Floats(4)));
  ExpectRefused(Raw(R"({"model": 5, "dim": 4, "count": 1, "records": [{}]})", Floats(4)));
  ExpectRefused(Raw(R"({"model": "m", "dim": "four", "count": 1, "records": []})", Floats(4)));
  // A record lacking fields, or with a box of three numbers.
  ExpectRefused(Raw(R"({"model": "m", "dim": 4, "count": 1, "records": [{"photo": "p"}]})", Floats(4)));
  ExpectRefused(Raw(R"({"model": "m", "dim": 4, "count": 1, "records": [{"photo": "p", "face": 1, "box": [1, 2, 3], "quality": 0.5}]})",
                    Floats(4)),
                "box");
}

TEST_F(VectorFileTest, CountMismatch) {
  ExpectRefused(Raw(Header("m", 4, 2, 1), Floats(8)), "count");
  ExpectRefused(Raw(Header("m", 4, 0, 1), Floats(4)), "count");
  ExpectRefused(Raw(Header("m", 4, -1, 1), Floats(4)));
  ExpectRefused(Raw(R"({"model": "m", "dim": 4, "count": 1, "records": {"photo": "p"}})", Floats(4)));
}

TEST_F(VectorFileTest, ByteCountMismatch) {
  ExpectRefused(Raw(Header("m", 4, 2, 2), Floats(7)), "bytes");
  ExpectRefused(Raw(Header("m", 4, 2, 2), Floats(9)), "bytes");
  Bytes extra_byte = Raw(Header("m", 4, 1, 1), Floats(4));
  extra_byte.push_back(0);
  ExpectRefused(extra_byte, "bytes");
}

TEST_F(VectorFileTest, HugeOrNonsenseDimension) {
  // These must be refused from the header's numbers alone, without allocating for them.
  ExpectRefused(Raw(Header("m", 1 << 30, 1, 1), Floats(4)), "dimension");
  ExpectRefused(Raw(Header("m", 2147483647, 1, 1), Floats(4)), "dimension");
  ExpectRefused(Raw(Header("m", 0, 1, 1), {}), "dimension");
  ExpectRefused(Raw(Header("m", -4, 1, 1), Floats(4)), "dimension");
  // A count whose byte total would overflow 64 bits does not wrap round to the file size.
  ExpectRefused(Raw(R"({"model": "m", "dim": 4, "count": 4611686018427387904, "records": []})", {}));
}

TEST_F(VectorFileTest, NonIntegerHeaderNumbersAreRefused) {
  // "dim" and "count" are whole numbers; a float there is not "such JSON". (Casting
  // 1e300 to an integer is undefined behaviour, and in practice turns a count of 1e300
  // into 0, which matches an empty record list.)
  const std::string rec = R"([{"photo": "p", "face": 1, "box": [0, 0, 1, 1], "quality": 0.5}])";
  const std::vector<std::pair<std::string, size_t>> cases = {
      {R"({"model": "m", "dim": 4, "count": 1e300, "records": []})", 0},
      {R"({"model": "m", "dim": 1e300, "count": 1, "records": )" + rec + "}", 4},
      {R"({"model": "m", "dim": 4.5, "count": 1, "records": )" + rec + "}", 4},
      {R"({"model": "m", "dim": 4, "count": 1.5, "records": )" + rec + "}", 4}};
  for (const auto& [header, floats] : cases) {
    SCOPED_TRACE(header);
    ExpectRefused(Raw(header, Floats(floats)));
  }
}

TEST_F(VectorFileTest, FuzzedFilesAreRefusedOrReadNeverCrash) {
  std::string path = tmp_.File("v.luvec");
  ASSERT_TRUE(Sample().Write(path).ok());
  Bytes good = ReadBytes(path);
  uint32_t state = 12345;
  auto rnd = [&] { return state = state * 1664525u + 1013904223u; };
  for (int it = 0; it < 300; ++it) {
    Bytes b = good;
    if (it % 3 == 0) b.resize(rnd() % (b.size() + 1));
    int flips = 1 + static_cast<int>(rnd() % 4);
    for (int k = 0; k < flips && !b.empty(); ++k) b[rnd() % b.size()] ^= static_cast<uint8_t>(1u << (rnd() % 8));
    std::string p = tmp_.File("fuzz.luvec");
    WriteBytes(p, b);
    auto r = VectorFile::Read(p);
    if (r.ok()) {
      for (const auto& rec : r->records) ASSERT_EQ(static_cast<int>(rec.vector.size()), r->dim) << "iteration " << it;
    }
  }
}

}  // namespace
