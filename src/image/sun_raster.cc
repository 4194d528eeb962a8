// Sun raster files (.ras, .sr): the picture format of Sun workstations, in which some
// collections from the 1990s are kept. A 32-byte big-endian header, an optional colour
// map, then rows of 1-, 8-, 24- or 32-bit pixels padded to 16 bits, either stored as
// they are or run-length encoded as one byte stream.
//
// OpenCV 4.6 has a reader for them, but on this machine it gives 8-bit greyscale and
// 1-bit pictures as all black and refuses run-length encoded and RGB-ordered files
// (it tests the file's encoding against the picture's type). So they are read here.
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "image/readers.h"

namespace lineup::image {

namespace {

const char kName[] = "Sun raster";

enum : uint32_t { kOld = 0, kStandard = 1, kByteEncoded = 2, kRgb = 3 };
enum : uint32_t { kNoMap = 0, kEqualRgbMap = 1 };

uint32_t Be32(Bytes d, size_t o) {
  return (uint32_t{d[o]} << 24) | (uint32_t{d[o + 1]} << 16) | (uint32_t{d[o + 2]} << 8) | d[o + 3];
}

struct Header {
  ImageInfo info;
  uint32_t depth = 0;
  uint32_t type = 0;
  size_t colours = 0;   // entries of the colour map, 0 without one
  size_t map = 32;      // offset of the colour map: red, green, blue vectors
  size_t data = 32;     // offset of the pixel data
  size_t row_bytes = 0;
};

Result<Header> ParseHeader(Bytes d) {
  if (d.size() < 32) return Damaged(kName, "truncated header");
  Header h;
  const uint32_t width = Be32(d, 4), height = Be32(d, 8);
  h.depth = Be32(d, 12);
  h.type = Be32(d, 20);
  const uint32_t map_type = Be32(d, 24), map_length = Be32(d, 28);
  if (width == 0 || height == 0) return Damaged(kName, "zero size");
  if (width > 0x7FFFFFFF || height > 0x7FFFFFFF) return Damaged(kName, "size out of range");
  if (h.depth != 1 && h.depth != 8 && h.depth != 24 && h.depth != 32)
    return Status::InvalidArgument("Sun raster of depth " + std::to_string(h.depth) +
                                   " is not accepted: only 1-, 8-, 24- and 32-bit pictures are read");
  if (h.type > kRgb)
    return Status::InvalidArgument("Sun raster of type " + std::to_string(h.type) +
                                   " is not accepted: only plain, run-length encoded and RGB pictures are read");
  if (map_type != kNoMap && map_type != kEqualRgbMap)
    return Status::InvalidArgument("Sun raster with a colour map of type " + std::to_string(map_type) +
                                   " is not accepted: only RGB colour maps are read");
  if (map_length > d.size() - 32) return Damaged(kName, "truncated colour map");
  if (map_type == kEqualRgbMap && h.depth <= 8 && map_length > 0) {
    if (map_length % 3 != 0 || map_length / 3 > (size_t{1} << h.depth))
      return Damaged(kName, "colour map of " + std::to_string(map_length) + " bytes");
    h.colours = map_length / 3;
  }
  h.info = ImageInfo{"sunraster", static_cast<int>(width), static_cast<int>(height)};
  h.data = 32 + map_length;  // a map is skipped where it does not apply (24/32 bits)
  h.row_bytes = (static_cast<size_t>(width) * h.depth + 15) / 16 * 2;
  return h;
}

// The run-length encoding: 0x80 n v is n+1 copies of v, 0x80 0 a single 0x80, any
// other byte itself. Runs may cross rows.
class RunLength {
 public:
  RunLength(Bytes d, size_t at) : d_(d), p_(at) {}

  // Decodes up to `n` bytes into `out` (or only counts them if out is null); returns
  // how many there were before the data ended.
  size_t Fill(uint8_t* out, size_t n) {
    size_t i = 0;
    while (i < n) {
      if (run_ > 0) {
        const size_t k = std::min(run_, n - i);
        if (out) std::memset(out + i, value_, k);
        i += k;
        run_ -= k;
        continue;
      }
      if (p_ >= d_.size()) break;
      const uint8_t b = d_[p_++];
      if (b != 0x80) {
        if (out) out[i] = b;
        ++i;
        continue;
      }
      if (p_ >= d_.size()) break;
      const uint8_t count = d_[p_++];
      if (count == 0) {
        if (out) out[i] = 0x80;
        ++i;
        continue;
      }
      if (p_ >= d_.size()) break;
      value_ = d_[p_++];
      run_ = size_t{count} + 1;
    }
    return i;
  }

 private:
  Bytes d_;
  size_t p_;
  uint8_t value_ = 0;
  size_t run_ = 0;
};

}  // namespace

Result<ImageInfo> ProbeSunRaster(Bytes d) {
  auto h = ParseHeader(d);
  if (!h.ok()) return h.status();
  return h->info;
}

Result<cv::Mat> DecodeSunRaster(Bytes d) {
  auto hr = ParseHeader(d);
  if (!hr.ok()) return hr.status();
  const Header& h = *hr;
  uint64_t need = 0;
  if (!Multiply(h.row_bytes, static_cast<uint64_t>(h.info.height), &need)) return Damaged(kName, "size out of range");
  const bool encoded = h.type == kByteEncoded;
  // Whether the data holds every row is settled before the picture is allocated; for
  // encoded data that takes one pass that only counts.
  const uint64_t have = encoded ? RunLength(d, h.data).Fill(nullptr, need) : d.size() - h.data;
  if (have < need)
    return Damaged(kName, "truncated: " + std::to_string(have) + " of " + std::to_string(need) +
                              " bytes of pixel data");
  uint8_t map[256][3] = {};  // BGR
  for (size_t i = 0; i < h.colours; ++i) {
    map[i][2] = d[h.map + i];
    map[i][1] = d[h.map + h.colours + i];
    map[i][0] = d[h.map + 2 * h.colours + i];
  }
  RunLength rle(d, h.data);
  const uint8_t* plain = d.data() + h.data;
  std::vector<uint8_t> row(h.row_bytes);
  // Type 3 stores red first; the others, as the frame buffer did, blue first.
  const bool rgb = h.type == kRgb;
  cv::Mat out(h.info.height, h.info.width, CV_8UC3);
  for (int y = 0; y < out.rows; ++y) {
    const uint8_t* s;
    if (encoded) {
      rle.Fill(row.data(), row.size());
      s = row.data();
    } else {
      s = plain;
      plain += h.row_bytes;
    }
    uint8_t* o = out.ptr<uint8_t>(y);
    for (int x = 0; x < out.cols; ++x, o += 3) {
      switch (h.depth) {
        case 1:
        case 8: {
          const uint32_t v = h.depth == 1 ? (s[x >> 3] >> (7 - (x & 7))) & 1 : s[x];
          if (h.colours > 0) {
            if (v >= h.colours) return Damaged(kName, "a pixel's colour is not in the colour map");
            std::memcpy(o, map[v], 3);
          } else {
            // Without a map, 1-bit pixels are black where set (as on Sun's monochrome
            // screens) and 8-bit ones are grey levels.
            o[0] = o[1] = o[2] = static_cast<uint8_t>(h.depth == 1 ? (v ? 0 : 255) : v);
          }
          break;
        }
        case 24:
        case 32: {
          const uint8_t* p = s + (h.depth == 24 ? 3 * x : 4 * x + 1);  // 32 bits: a pad byte first
          o[0] = p[rgb ? 2 : 0];
          o[1] = p[1];
          o[2] = p[rgb ? 0 : 2];
          break;
        }
      }
    }
  }
  return out;
}

}  // namespace lineup::image
