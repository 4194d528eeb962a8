// Netpbm images: PBM, PGM and PPM in their plain (P1-P3) and raw (P4-P6) forms, PAM
// (P7) and PFM. Face collections such as AT&T/ORL are kept as PGM.
//
// OpenCV 4.6 reads all of these, but not faithfully enough to rely on: it ignores
// maxval for raw samples (a PGM with maxval 1023 comes out almost black, one with
// maxval 15 nearly so), clips plain samples above maxval without a word, reads a
// black-and-white PAM as all black, swaps red and blue in RGB PAMs (it writes its own
// colour PAMs in BGR order) and misplaces the pixels of a PAM with alpha. The
// formats are simple, and refusing a cut-short plain file means reading every sample
// anyway, so they are read here.
//
// A plain file must end with whitespace (or a comment) after its last number, as every
// writer leaves it: one cut inside that number would otherwise pass as whole.
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "image/readers.h"

namespace lineup::image {

namespace {

// A header is a few numbers; no writer we know puts more than a few lines of comment
// before them. Past this, the "header" is garbage or hostile, not a photo.
constexpr size_t kMaxHeaderBytes = size_t{64} << 10;

enum class Raster {
  kPlainBits,  // P1: '0' and '1' characters, 1 = black
  kRawBits,    // P4: 8 pixels a byte, 1 = black, rows padded to whole bytes
  kPlain,      // P2, P3: decimal samples
  kRaw,        // P5, P6, P7: 1 or 2 bytes a sample (big-endian)
  kFloat,      // PFM: 32-bit floats, rows bottom to top
};

struct Layout {
  ImageInfo info;
  std::string name;       // "PGM", for messages
  Raster raster = Raster::kRaw;
  int channels = 1;       // samples per pixel in the file (alpha included)
  uint32_t maxval = 255;
  bool little_endian = false;  // PFM only
  double scale = 1;            // PFM only: its samples are divided by this
  size_t offset = 0;           // first byte of the raster
};

bool IsSpace(uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }
bool IsDigit(uint8_t c) { return c >= '0' && c <= '9'; }

// Reads the header's whitespace-separated tokens, skipping '#' comments, and refuses
// a header that runs off the end of the data or past kMaxHeaderBytes.
class HeaderCursor {
 public:
  HeaderCursor(Bytes d, size_t at, const std::string& name) : d_(d), p_(at), name_(name) {}

  size_t pos() const { return p_; }

  Status SkipSpace() {
    while (true) {
      Status s = Check();
      if (!s.ok()) return s;
      if (IsSpace(d_[p_])) {
        ++p_;
      } else if (d_[p_] == '#') {
        while (d_[p_] != '\n' && d_[p_] != '\r') {
          ++p_;
          s = Check();
          if (!s.ok()) return s;
        }
      } else {
        return Status::OK();
      }
    }
  }

  // A decimal number in [min, max], after whitespace and comments. Unless `last`, it
  // may be followed by a comment; the last one must be followed by exactly one
  // whitespace character, after which the raster starts.
  Result<uint32_t> Number(const char* what, uint32_t min, uint32_t max, bool last) {
    Status s = SkipSpace();
    if (!s.ok()) return s;
    if (d_[p_] == '-' && p_ + 1 < d_.size() && IsDigit(d_[p_ + 1]))
      return Damaged(name_, std::string("negative ") + what);
    if (!IsDigit(d_[p_])) return Damaged(name_, std::string(what) + " is not a number");
    uint64_t v = 0;
    while (p_ < d_.size() && IsDigit(d_[p_])) {
      v = v * 10 + (d_[p_] - '0');
      if (v > 0xFFFFFFFFu) return Damaged(name_, std::string(what) + " out of range");
      ++p_;
    }
    s = Check();
    if (!s.ok()) return s;
    if (last && !IsSpace(d_[p_])) return Damaged(name_, std::string("no whitespace after the ") + what);
    if (!IsSpace(d_[p_]) && d_[p_] != '#') return Damaged(name_, std::string(what) + " is not a number");
    if (v < min || v > max)
      return Damaged(name_, std::string(what) + " " + std::to_string(v) + " out of range " + std::to_string(min) +
                                "-" + std::to_string(max));
    if (last) ++p_;
    return static_cast<uint32_t>(v);
  }

  // A token of up to `max_len` non-space characters (PFM's scale, PAM's keywords).
  Result<std::string> Word(const char* what, size_t max_len) {
    Status s = SkipSpace();
    if (!s.ok()) return s;
    size_t start = p_;
    while (!IsSpace(d_[p_])) {
      ++p_;
      s = Check();
      if (!s.ok()) return s;
      if (p_ - start > max_len) return Damaged(name_, std::string(what) + " is too long");
    }
    return std::string(reinterpret_cast<const char*>(d_.data() + start), p_ - start);
  }

  // The rest of a PAM header line: spaces, then a newline.
  Status EndOfLine(const char* after) {
    while (true) {
      Status s = Check();
      if (!s.ok()) return s;
      if (d_[p_] == '\n') break;
      if (d_[p_] != ' ' && d_[p_] != '\t') return Damaged(name_, std::string("no newline after ") + after);
      ++p_;
    }
    ++p_;
    return Status::OK();
  }

  // Exactly one whitespace character, after which the raster starts.
  Status EndOfHeader(const char* after) {
    Status s = Check();
    if (!s.ok()) return s;
    if (!IsSpace(d_[p_])) return Damaged(name_, std::string("no whitespace after the ") + after);
    ++p_;
    return Status::OK();
  }

 private:
  Status Check() const {
    if (p_ >= d_.size()) return Damaged(name_, "truncated header");
    if (p_ >= kMaxHeaderBytes)
      return Damaged(name_, "header longer than " + std::to_string(kMaxHeaderBytes) + " bytes");
    return Status::OK();
  }

  Bytes d_;
  size_t p_;
  const std::string& name_;
};

constexpr uint32_t kMaxSide = 0x7FFFFFFF;  // cv::Mat sizes are ints

// PAM's header: "KEYWORD value" lines up to ENDHDR.
Status ParsePam(Bytes d, Layout* l) {
  HeaderCursor c(d, 2, l->name);
  Status s = c.EndOfHeader("magic number");
  if (!s.ok()) return s;
  int64_t width = -1, height = -1, depth = -1, maxval = -1;
  std::string tupltype;
  while (true) {
    auto key = c.Word("keyword", 16);
    if (!key.ok()) return key.status();
    if (*key == "ENDHDR") {
      s = c.EndOfLine("ENDHDR");
      if (!s.ok()) return s;
      break;
    }
    if (*key == "TUPLTYPE") {
      auto t = c.Word("TUPLTYPE", 64);
      if (!t.ok()) return t.status();
      // The standard joins the values of several TUPLTYPE lines with a space.
      tupltype += (tupltype.empty() ? "" : " ") + *t;
      continue;
    }
    int64_t* field = *key == "WIDTH" ? &width : *key == "HEIGHT" ? &height : *key == "DEPTH" ? &depth
                   : *key == "MAXVAL" ? &maxval : nullptr;
    if (!field) return Damaged(l->name, "unknown header line " + *key);
    if (*field >= 0) return Damaged(l->name, *key + " given twice");
    const bool is_maxval = field == &maxval;
    auto v = c.Number(key->c_str(), is_maxval ? 1 : 0, is_maxval ? 65535 : kMaxSide, false);
    if (!v.ok()) return v.status();
    *field = *v;
  }
  if (width < 0 || height < 0 || depth < 0 || maxval < 0)
    return Damaged(l->name, "header lacks WIDTH, HEIGHT, DEPTH or MAXVAL");
  if (width == 0 || height == 0) return Damaged(l->name, "zero size");
  if (depth < 1 || depth > 4)
    return Status::InvalidArgument("PAM of depth " + std::to_string(depth) +
                                   " is not accepted: only grey, RGB and either with alpha (depth 1-4) are photos");
  struct Tuple { const char* name; int64_t depth; };
  static const Tuple kTuples[] = {{"BLACKANDWHITE", 1}, {"GRAYSCALE", 1}, {"RGB", 3},
                                  {"BLACKANDWHITE_ALPHA", 2}, {"GRAYSCALE_ALPHA", 2}, {"RGB_ALPHA", 4}};
  if (!tupltype.empty()) {
    const Tuple* known = nullptr;
    for (const auto& t : kTuples)
      if (tupltype == t.name) known = &t;
    if (!known)
      return Status::InvalidArgument("PAM of tuple type " + tupltype +
                                     " is not accepted: only grey, RGB and either with alpha are photos");
    if (known->depth != depth)
      return Damaged(l->name, "TUPLTYPE " + tupltype + " with DEPTH " + std::to_string(depth));
  }
  l->info.width = static_cast<int>(width);
  l->info.height = static_cast<int>(height);
  l->channels = static_cast<int>(depth);
  l->maxval = static_cast<uint32_t>(maxval);
  l->raster = Raster::kRaw;
  l->offset = c.pos();
  return Status::OK();
}

Status ParsePfm(Bytes d, Layout* l) {
  HeaderCursor c(d, 2, l->name);
  auto w = c.Number("width", 1, kMaxSide, false);
  if (!w.ok()) return w.status();
  auto h = c.Number("height", 1, kMaxSide, false);
  if (!h.ok()) return h.status();
  auto scale = c.Word("scale", 32);
  if (!scale.ok()) return scale.status();
  char* end = nullptr;
  const double v = std::strtod(scale->c_str(), &end);
  if (scale->empty() || end != scale->c_str() + scale->size() || !std::isfinite(v) || v == 0)
    return Damaged(l->name, "scale \"" + *scale + "\" is not a non-zero number");
  Status s = c.EndOfHeader("scale");
  if (!s.ok()) return s;
  l->info.width = static_cast<int>(*w);
  l->info.height = static_cast<int>(*h);
  l->little_endian = v < 0;
  l->scale = std::fabs(v);
  l->raster = Raster::kFloat;
  l->offset = c.pos();
  return Status::OK();
}

Result<Layout> ParseHeader(Bytes d) {
  Layout l;
  const uint8_t kind = d.size() >= 2 ? d[1] : 0;
  switch (kind) {
    case '1': case '4': l.info.format = "pbm"; l.name = "PBM"; break;
    case '2': case '5': l.info.format = "pgm"; l.name = "PGM"; break;
    case '3': case '6': l.info.format = "ppm"; l.name = "PPM"; break;
    case '7': l.info.format = "pam"; l.name = "PAM"; break;
    case 'F': case 'f': l.info.format = "pfm"; l.name = "PFM"; break;
    default: return Status::InvalidArgument("not an image (unknown format)");
  }
  if (kind == '7') {
    Status s = ParsePam(d, &l);
    if (!s.ok()) return s;
    return l;
  }
  if (kind == 'F' || kind == 'f') {
    l.channels = kind == 'F' ? 3 : 1;
    Status s = ParsePfm(d, &l);
    if (!s.ok()) return s;
    return l;
  }
  const bool bits = kind == '1' || kind == '4';
  const bool plain = kind <= '3';
  l.channels = (kind == '3' || kind == '6') ? 3 : 1;
  l.raster = bits ? (plain ? Raster::kPlainBits : Raster::kRawBits) : (plain ? Raster::kPlain : Raster::kRaw);
  HeaderCursor c(d, 2, l.name);
  auto w = c.Number("width", 1, kMaxSide, false);
  if (!w.ok()) return w.status();
  auto h = c.Number("height", 1, kMaxSide, bits);
  if (!h.ok()) return h.status();
  if (!bits) {
    auto m = c.Number("maxval", 1, 65535, true);
    if (!m.ok()) return m.status();
    l.maxval = *m;
  } else {
    l.maxval = 1;
  }
  l.info.width = static_cast<int>(*w);
  l.info.height = static_cast<int>(*h);
  l.offset = c.pos();
  return l;
}

// Bytes of raster a raw or float file needs, or 0 if that does not fit in 64 bits.
uint64_t RasterBytes(const Layout& l) {
  uint64_t row = 0, total = 0;
  const uint64_t w = static_cast<uint64_t>(l.info.width);
  if (l.raster == Raster::kRawBits) {
    row = (w + 7) / 8;
  } else {
    const uint64_t sample = l.raster == Raster::kFloat ? 4 : l.maxval > 255 ? 2 : 1;
    if (!Multiply(w, sample * static_cast<uint64_t>(l.channels), &row)) return 0;
  }
  if (!Multiply(row, static_cast<uint64_t>(l.info.height), &total)) return 0;
  return total;
}

// Writes one pixel of `channels` 8-bit samples as BGR; alpha is dropped, as OpenCV
// does for the formats it reads whole.
inline void PutPixel(uint8_t* o, const uint8_t* v, int channels) {
  if (channels <= 2) {
    o[0] = o[1] = o[2] = v[0];
  } else {
    o[0] = v[2];
    o[1] = v[1];
    o[2] = v[0];
  }
}

// Maxval to 255, rounded: what a sample of `maxval` levels is on the 8-bit scale.
std::vector<uint8_t> ScaleTable(uint32_t maxval) {
  std::vector<uint8_t> t(maxval + 1);
  for (uint32_t v = 0; v <= maxval; ++v) t[v] = static_cast<uint8_t>((v * 255 + maxval / 2) / maxval);
  return t;
}

Status TruncatedRaster(const Layout& l, uint64_t have, uint64_t need, const char* unit) {
  return Damaged(l.name, "truncated: " + std::to_string(have) + " of " + std::to_string(need) + " " + unit +
                             " of pixel data");
}

Result<cv::Mat> ReadRaw(Bytes d, const Layout& l) {
  const uint64_t need = RasterBytes(l);
  const uint64_t have = d.size() - l.offset;
  if (need == 0) return Damaged(l.name, "size out of range");
  if (have < need) return TruncatedRaster(l, have, need, "bytes");
  const uint8_t* s = d.data() + l.offset;
  cv::Mat out(l.info.height, l.info.width, CV_8UC3);
  if (l.raster == Raster::kRawBits) {
    const size_t row = (static_cast<size_t>(l.info.width) + 7) / 8;
    for (int y = 0; y < out.rows; ++y, s += row) {
      uint8_t* o = out.ptr<uint8_t>(y);
      for (int x = 0; x < out.cols; ++x, o += 3) o[0] = o[1] = o[2] = (s[x >> 3] & (0x80 >> (x & 7))) ? 0 : 255;
    }
    return out;
  }
  const std::vector<uint8_t> scale = ScaleTable(l.maxval);
  const bool wide = l.maxval > 255;
  const int n = l.channels;
  uint8_t px[4];
  for (int y = 0; y < out.rows; ++y) {
    uint8_t* o = out.ptr<uint8_t>(y);
    for (int x = 0; x < out.cols; ++x, o += 3) {
      for (int k = 0; k < n; ++k) {
        uint32_t v = wide ? (uint32_t{s[0]} << 8) | s[1] : s[0];
        s += wide ? 2 : 1;
        if (v > l.maxval)
          return Damaged(l.name, "sample " + std::to_string(v) + " above maxval " + std::to_string(l.maxval));
        px[k] = scale[v];
      }
      PutPixel(o, px, n);
    }
  }
  return out;
}

Result<cv::Mat> ReadPlain(Bytes d, const Layout& l) {
  const uint64_t samples = uint64_t(l.info.width) * uint64_t(l.info.height) * uint64_t(l.channels);
  // Each sample takes at least one character, and numbers a separator between them:
  // a file too short to hold them all is refused before anything is allocated.
  const uint64_t least = l.raster == Raster::kPlainBits ? samples : samples * 2 - 1;
  const uint64_t have = d.size() - l.offset;
  if (have < least) return TruncatedRaster(l, have, least, "bytes at least");
  const std::vector<uint8_t> scale = ScaleTable(l.maxval);
  const int n = l.channels;
  size_t p = l.offset;
  uint64_t got = 0;
  // The next sample: whitespace and comments may come before it.
  auto next = [&](uint32_t* v) -> Status {
    while (p < d.size() && (IsSpace(d[p]) || d[p] == '#')) {
      if (d[p] == '#') {
        while (p < d.size() && d[p] != '\n' && d[p] != '\r') ++p;
      } else {
        ++p;
      }
    }
    if (p >= d.size()) return TruncatedRaster(l, got, samples, "samples");
    if (l.raster == Raster::kPlainBits) {
      // Plain PBM digits need no space between them.
      if (d[p] != '0' && d[p] != '1') return Damaged(l.name, "a pixel is neither 0 nor 1");
      *v = d[p++] == '1' ? 0 : 1;  // 1 is black: stored as level 0 of 1
    } else {
      if (!IsDigit(d[p])) return Damaged(l.name, "a sample is not a number");
      uint32_t x = 0;
      while (p < d.size() && IsDigit(d[p])) {
        if (x <= l.maxval) x = x * 10 + (d[p] - '0');
        ++p;
      }
      if (p >= d.size()) return Damaged(l.name, "truncated: the file ends inside a sample");
      if (!IsSpace(d[p]) && d[p] != '#') return Damaged(l.name, "a sample is not a number");
      if (x > l.maxval) return Damaged(l.name, "a sample is above maxval " + std::to_string(l.maxval));
      *v = x;
    }
    ++got;
    return Status::OK();
  };
  cv::Mat out(l.info.height, l.info.width, CV_8UC3);
  uint8_t px[4];
  for (int y = 0; y < out.rows; ++y) {
    uint8_t* o = out.ptr<uint8_t>(y);
    for (int x = 0; x < out.cols; ++x, o += 3) {
      for (int k = 0; k < n; ++k) {
        uint32_t v = 0;
        Status s = next(&v);
        if (!s.ok()) return s;
        px[k] = scale[v];
      }
      PutPixel(o, px, n);
    }
  }
  return out;
}

Result<cv::Mat> ReadFloat(Bytes d, const Layout& l) {
  const uint64_t need = RasterBytes(l);
  const uint64_t have = d.size() - l.offset;
  if (need == 0) return Damaged(l.name, "size out of range");
  if (have < need) return TruncatedRaster(l, have, need, "bytes");
  const uint8_t* s = d.data() + l.offset;
  const int n = l.channels;
  // As OpenCV reads PFM: the samples divided by the header's scale.
  const float inv_scale = static_cast<float>(1 / l.scale);
  cv::Mat out(l.info.height, l.info.width, CV_8UC3);
  uint8_t px[3];
  for (int y = out.rows - 1; y >= 0; --y) {  // the file's first row is the bottom one
    uint8_t* o = out.ptr<uint8_t>(y);
    for (int x = 0; x < out.cols; ++x, o += 3) {
      for (int k = 0; k < n; ++k, s += 4) {
        const uint32_t bits = l.little_endian
                                  ? (uint32_t{s[3]} << 24) | (uint32_t{s[2]} << 16) | (uint32_t{s[1]} << 8) | s[0]
                                  : (uint32_t{s[0]} << 24) | (uint32_t{s[1]} << 16) | (uint32_t{s[2]} << 8) | s[3];
        float f;
        std::memcpy(&f, &bits, 4);
        px[k] = FloatTo8(f * inv_scale);
      }
      PutPixel(o, px, n);
    }
  }
  return out;
}

}  // namespace

Result<ImageInfo> ProbeNetpbm(Bytes d) {
  auto l = ParseHeader(d);
  if (!l.ok()) return l.status();
  return l->info;
}

Result<cv::Mat> DecodeNetpbm(Bytes d) {
  auto l = ParseHeader(d);
  if (!l.ok()) return l.status();
  // DecodeImage has applied the pixel limit; this only keeps the sums below in range.
  if (uint64_t(l->info.width) * uint64_t(l->info.height) > (uint64_t{1} << 40))
    return Damaged(l->name, "size out of range");
  switch (l->raster) {
    case Raster::kPlainBits:
    case Raster::kPlain:
      return ReadPlain(d, *l);
    case Raster::kRawBits:
    case Raster::kRaw:
      return ReadRaw(d, *l);
    case Raster::kFloat:
      return ReadFloat(d, *l);
  }
  return Status::Internal("unknown Netpbm raster");
}

}  // namespace lineup::image
