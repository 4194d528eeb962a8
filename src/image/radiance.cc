// Radiance RGBE pictures (.hdr, .pic), the usual file of high-dynamic-range photos: a
// text header, a resolution line, then scanlines of 4-byte pixels (a shared exponent
// and three mantissas), each scanline either stored flat or run-length encoded.
//
// OpenCV 4.6 reads them only from a file: imdecode would first write every uploaded
// picture to a temporary file. Refusing a cut-short file before allocating anything
// means walking every scanline anyway, so they are read here.
//
// Pixel values are taken as stored (an EXPOSURE line is not undone, as OpenCV does not)
// and brought to 8 bits by FloatTo8: 0 to 1 is the whole 8-bit range, brighter is
// clipped.
#include <cmath>
#include <string>
#include <vector>

#include "image/readers.h"

namespace lineup::image {

namespace {

const char kName[] = "Radiance HDR";

// Radiance headers carry the command lines that made the picture, so they can be
// longer than other formats' headers, but never this long.
constexpr size_t kMaxHeaderBytes = size_t{64} << 10;

struct Header {
  ImageInfo info;
  size_t data = 0;  // the first scanline
};

bool StartsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// A resolution line: two of "-Y rows", "+X columns" and the like, the first for the
// major axis. *standard is whether it is "-Y height +X width" (rows top to bottom,
// pixels left to right): the other seven orders are legal, but nothing we know writes
// them.
bool ParseResolution(const std::string& line, uint32_t* height, uint32_t* width, bool* standard) {
  size_t p = 0;
  auto spaces = [&] {
    const size_t start = p;
    while (p < line.size() && line[p] == ' ') ++p;
    return p > start;
  };
  auto axis = [&](std::string* name, uint32_t* v) {
    if (line.size() - p < 2 || (line[p] != '+' && line[p] != '-') || (line[p + 1] != 'X' && line[p + 1] != 'Y'))
      return false;
    *name = line.substr(p, 2);
    p += 2;
    if (!spaces()) return false;
    const size_t start = p;
    uint64_t x = 0;
    while (p < line.size() && line[p] >= '0' && line[p] <= '9' && x <= 0x7FFFFFFF) x = x * 10 + (line[p++] - '0');
    if (p == start || x > 0x7FFFFFFF) return false;
    *v = static_cast<uint32_t>(x);
    return true;
  };
  std::string first, second;
  if (!axis(&first, height) || !spaces() || !axis(&second, width)) return false;
  spaces();
  if (p != line.size() || first[1] == second[1]) return false;
  *standard = first == "-Y" && second == "+X";
  return true;
}

Result<Header> ParseHeader(Bytes d) {
  size_t p = 0;
  // One header line without its newline; an error if the data or the size limit ends
  // first.
  auto next_line = [&](std::string* line) -> Status {
    const size_t start = p;
    while (true) {
      if (p >= d.size()) return Damaged(kName, "truncated header");
      if (p >= kMaxHeaderBytes)
        return Damaged(kName, "header longer than " + std::to_string(kMaxHeaderBytes) + " bytes");
      if (d[p] == '\n') break;
      ++p;
    }
    line->assign(reinterpret_cast<const char*>(d.data() + start), p - start);
    ++p;
    return Status::OK();
  };
  std::string line;
  Status s = next_line(&line);  // "#?RADIANCE": the program that wrote it
  if (!s.ok()) return s;
  while (true) {
    s = next_line(&line);
    if (!s.ok()) return s;
    if (line.empty()) break;
    if (StartsWith(line, "FORMAT=")) {
      const std::string format = line.substr(7);
      if (format == "32-bit_rle_xyze")
        return Status::InvalidArgument(
            "Radiance HDR in XYZE colours is not accepted: only RGBE pictures are read");
      if (format != "32-bit_rle_rgbe") return Damaged(kName, "unknown FORMAT " + format);
    }
    // Other lines (EXPOSURE, GAMMA, the commands that made the picture) change nothing here.
  }
  s = next_line(&line);
  if (!s.ok()) return s;
  uint32_t width = 0, height = 0;
  bool standard = false;
  if (!ParseResolution(line, &height, &width, &standard)) return Damaged(kName, "no resolution line");
  if (!standard)
    return Status::InvalidArgument("Radiance HDR with orientation \"" + line +
                                   "\" is not accepted: only top-down pictures (-Y rows +X columns) are read");
  if (width == 0 || height == 0) return Damaged(kName, "zero size");
  return Header{ImageInfo{"hdr", static_cast<int>(width), static_cast<int>(height)}, p};
}

// Reads one scanline at `p` into `rgbe` (4 * width bytes: the R, G, B and E planes one
// after the other), or only walks it if `rgbe` is null.
Status Scanline(Bytes d, size_t* p, size_t width, uint8_t* rgbe) {
  const size_t left = d.size() - *p;
  const uint8_t* s = d.data() + *p;
  const bool encoded = width >= 8 && width <= 0x7FFF && left >= 4 && s[0] == 2 && s[1] == 2 && !(s[2] & 0x80);
  if (!encoded) {
    if (left < 4 * width) return Damaged(kName, "truncated: a scanline is cut short");
    if (rgbe) {
      for (size_t x = 0; x < width; ++x)
        for (size_t c = 0; c < 4; ++c) rgbe[c * width + x] = s[4 * x + c];
    }
    *p += 4 * width;
    return Status::OK();
  }
  if (((size_t{s[2]} << 8) | s[3]) != width) return Damaged(kName, "a scanline of the wrong width");
  size_t q = *p + 4;
  for (size_t c = 0; c < 4; ++c) {
    size_t x = 0;
    while (x < width) {
      if (q >= d.size()) return Damaged(kName, "truncated: a scanline is cut short");
      const uint8_t count = d[q++];
      if (count > 128) {  // a run of one value
        const size_t n = count - 128;
        if (n > width - x) return Damaged(kName, "a run overflows its scanline");
        if (q >= d.size()) return Damaged(kName, "truncated: a scanline is cut short");
        if (rgbe)
          for (size_t k = 0; k < n; ++k) rgbe[c * width + x + k] = d[q];
        ++q;
        x += n;
      } else {  // `count` values as they are
        if (count == 0 || count > width - x) return Damaged(kName, "bad scanline data");
        if (d.size() - q < count) return Damaged(kName, "truncated: a scanline is cut short");
        if (rgbe)
          for (size_t k = 0; k < count; ++k) rgbe[c * width + x + k] = d[q + k];
        q += count;
        x += count;
      }
    }
  }
  *p = q;
  return Status::OK();
}

}  // namespace

Result<ImageInfo> ProbeRadiance(Bytes d) {
  auto h = ParseHeader(d);
  if (!h.ok()) return h.status();
  return h->info;
}

Result<cv::Mat> DecodeRadiance(Bytes d) {
  auto h = ParseHeader(d);
  if (!h.ok()) return h.status();
  const size_t width = static_cast<size_t>(h->info.width);
  // Every scanline is walked before the picture is allocated, so a small file that
  // declares a large picture costs no memory.
  size_t p = h->data;
  for (int y = 0; y < h->info.height; ++y) {
    Status s = Scanline(d, &p, width, nullptr);
    if (!s.ok()) return s;
  }
  // A pixel is (mantissa + 0.5) * 2^(exponent - 136), an exponent of 0 being black.
  float unit[256];
  unit[0] = 0;
  for (int e = 1; e < 256; ++e) unit[e] = std::ldexp(1.0f, e - 136);
  std::vector<uint8_t> rgbe(4 * width);
  cv::Mat out(h->info.height, h->info.width, CV_8UC3);
  p = h->data;
  for (int y = 0; y < out.rows; ++y) {
    Status s = Scanline(d, &p, width, rgbe.data());
    if (!s.ok()) return s;
    uint8_t* o = out.ptr<uint8_t>(y);
    for (size_t x = 0; x < width; ++x, o += 3) {
      const uint8_t e = rgbe[3 * width + x];
      if (e == 0) {
        o[0] = o[1] = o[2] = 0;
        continue;
      }
      o[0] = FloatTo8((rgbe[2 * width + x] + 0.5f) * unit[e]);
      o[1] = FloatTo8((rgbe[width + x] + 0.5f) * unit[e]);
      o[2] = FloatTo8((rgbe[x] + 0.5f) * unit[e]);
    }
  }
  return out;
}

}  // namespace lineup::image
