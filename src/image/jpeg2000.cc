// JPEG 2000, as a JP2 file (.jp2) or a bare codestream (.j2k, .j2c): one of the two
// formats of the face image stored in e-passports and identity cards, so a collection
// may well hold it. OpenCV decodes it with OpenJPEG once the structure is checked here.
//
// The file is walked first: every box must fit in the file, and the codestream's
// tile-parts must chain from the main header to the end marker, each tile present
// with as many parts as it declares. OpenJPEG 2.5 refuses the cut-short files tried
// in the tests too, but in its default (strict) mode only, and with messages on
// stderr; the walk refuses them first, says what is missing, and does not depend on
// how the library was set up.
#include <string>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "image/readers.h"

namespace lineup::image {

namespace {

const char kName[] = "JPEG 2000";

uint32_t Be16(Bytes d, size_t o) { return (uint32_t{d[o]} << 8) | d[o + 1]; }
uint32_t Be32(Bytes d, size_t o) { return (Be16(d, o) << 16) | Be16(d, o + 2); }
uint64_t Be64(Bytes d, size_t o) { return (uint64_t{Be32(d, o)} << 32) | Be32(d, o + 4); }
constexpr uint32_t Tag(const char (&s)[5]) {
  return (uint32_t(uint8_t(s[0])) << 24) | (uint32_t(uint8_t(s[1])) << 16) | (uint32_t(uint8_t(s[2])) << 8) |
         uint32_t(uint8_t(s[3]));
}

enum : uint32_t { kSoc = 0xFF4F, kSiz = 0xFF51, kSot = 0xFF90, kEoc = 0xFFD9 };

struct Layout {
  ImageInfo info;
  int components = 0;
  int precision = 0;    // bits per sample, the same for every component
  size_t tiles = 0;
  Bytes codestream;     // from SOC; as much of it as the data holds
  bool cut = false;     // the codestream's box reaches past the end of the data
};

struct Box {
  uint32_t type = 0;
  size_t content = 0;   // offset of the content
  size_t end = 0;       // offset after the box, as declared
};

// The box at `p`, or an error if its header is cut or makes no sense. A box may
// declare an end past the data; callers decide whether that is allowed.
Result<Box> ReadBox(Bytes d, size_t p) {
  if (d.size() - p < 8) return Damaged(kName, "truncated box header");
  uint64_t length = Be32(d, p);
  Box b;
  b.type = Be32(d, p + 4);
  b.content = p + 8;
  if (length == 1) {
    if (d.size() - p < 16) return Damaged(kName, "truncated box header");
    length = Be64(d, p + 8);
    b.content = p + 16;
  } else if (length == 0) {
    length = d.size() - p;  // the last box runs to the end of the file
  }
  if (length < b.content - p) return Damaged(kName, "box shorter than its header");
  b.end = length > d.size() - p ? d.size() + 1 : p + static_cast<size_t>(length);
  return b;
}

// The codestream's main header, up to the first tile-part: SIZ gives the size and the
// components; each other marker segment only needs to be whole.
Status ParseMainHeader(Layout* l) {
  Bytes c = l->codestream;
  if (c.size() < 4 || Be16(c, 0) != kSoc || Be16(c, 2) != kSiz) return Damaged(kName, "no image header (SIZ)");
  if (c.size() < 6 + 38) return Damaged(kName, "truncated image header");
  const uint32_t lsiz = Be16(c, 4);
  const uint32_t xsiz = Be32(c, 8), ysiz = Be32(c, 12), xo = Be32(c, 16), yo = Be32(c, 20);
  const uint32_t xt = Be32(c, 24), yt = Be32(c, 28), xto = Be32(c, 32), yto = Be32(c, 36);
  const uint32_t csiz = Be16(c, 40);
  // What OpenCV's reader can give as a picture: 1 to 4 unsigned components, full size,
  // 8 to 16 bits, all alike.
  if (csiz > 4)
    return Status::InvalidArgument("JPEG 2000 with " + std::to_string(csiz) +
                                   " components is not accepted: only grey, RGB and either with alpha are read");
  if (csiz == 0 || lsiz != 38 + 3 * csiz) return Damaged(kName, "bad image header");
  if (c.size() < 4 + size_t{lsiz}) return Damaged(kName, "truncated image header");
  if (xsiz <= xo || ysiz <= yo) return Damaged(kName, "zero size");
  if (xt == 0 || yt == 0 || xto > xo || yto > yo || uint64_t{xto} + xt <= xo || uint64_t{yto} + yt <= yo)
    return Damaged(kName, "bad tile grid");
  if (xsiz - xo > 0x7FFFFFFF || ysiz - yo > 0x7FFFFFFF) return Damaged(kName, "size out of range");
  l->info.width = static_cast<int>(xsiz - xo);
  l->info.height = static_cast<int>(ysiz - yo);
  if (xo != 0 || yo != 0)
    return Status::InvalidArgument("JPEG 2000 with an image offset is not accepted: only whole pictures are read");
  for (uint32_t i = 0; i < csiz; ++i) {
    const size_t o = 42 + 3 * i;
    const int precision = (c[o] & 0x7F) + 1;
    if (c[o] & 0x80)
      return Status::InvalidArgument("JPEG 2000 with signed samples is not accepted: photos have unsigned ones");
    if (c[o + 1] != 1 || c[o + 2] != 1)
      return Status::InvalidArgument("JPEG 2000 with subsampled components is not accepted: OpenCV cannot read it");
    if (precision < 8 || precision > 16 || (i > 0 && precision != l->precision))
      return Status::InvalidArgument("JPEG 2000 of " + std::to_string(precision) +
                                     "-bit samples is not accepted: only 8 to 16 bits, the same in every component");
    l->precision = precision;
  }
  l->components = static_cast<int>(csiz);
  const uint64_t tiles = uint64_t{(xsiz - xto + xt - 1) / xt} * ((ysiz - yto + yt - 1) / yt);
  if (tiles > 65535) return Damaged(kName, "more than 65535 tiles");
  l->tiles = static_cast<size_t>(tiles);
  return Status::OK();
}

Result<Layout> Parse(Bytes d) {
  Layout l;
  l.info.format = d.size() >= 2 && d[0] == 0xFF ? "j2k" : "jp2";
  if (l.info.format == "j2k") {
    l.codestream = d;
  } else {
    // JP2: a sequence of boxes; the header box (jp2h) holds the picture's size and
    // colour space, the codestream box (jp2c) the picture.
    bool jp2 = false, have_header = false, have_codestream = false;
    uint32_t width = 0, height = 0, components = 0;
    for (size_t p = 0; p < d.size() && !have_codestream;) {
      auto box = ReadBox(d, p);
      if (!box.ok()) return box.status();
      if (box->type == Tag("jp2c")) {
        have_codestream = true;
        l.cut = box->end > d.size();
        l.codestream = d.subspan(box->content, std::min(box->end, d.size()) - box->content);
        break;
      }
      if (box->end > d.size()) return Damaged(kName, "truncated header box");
      if (box->type == Tag("ftyp")) {
        for (size_t q = box->content; q + 4 <= box->end; q += 4)
          if (q != box->content + 4 && Be32(d, q) == Tag("jp2 ")) jp2 = true;  // brand or compatible
        if (!jp2)
          return Status::InvalidArgument(
              "JPEG 2000 of an extended kind (JPX or JPM) is not accepted: only JP2 files are read");
      } else if (box->type == Tag("jp2h")) {
        for (size_t q = box->content; q < box->end;) {
          auto sub = ReadBox(d.first(box->end), q);
          if (!sub.ok()) return sub.status();
          if (sub->end > box->end) return Damaged(kName, "truncated header box");
          if (sub->type == Tag("ihdr")) {
            if (sub->end - sub->content < 14) return Damaged(kName, "short image header box");
            height = Be32(d, sub->content);
            width = Be32(d, sub->content + 4);
            components = Be16(d, sub->content + 8);
            have_header = true;
          } else if (sub->type == Tag("colr") && sub->end - sub->content >= 7 && d[sub->content] == 1) {
            // Enumerated colour spaces: 16 sRGB, 17 greyscale, 18 sYCC are what
            // OpenCV turns into a picture.
            const uint32_t space = Be32(d, sub->content + 3);
            if (space != 16 && space != 17 && space != 18)
              return Status::InvalidArgument("JPEG 2000 in colour space " + std::to_string(space) +
                                             " is not accepted: only sRGB, greyscale and sYCC are read");
          }
          q = sub->end;
        }
      }
      p = box->end;
    }
    if (!jp2) return Damaged(kName, "no file type box");
    if (!have_header) return Damaged(kName, "no image header box");
    if (!have_codestream) return Damaged(kName, "truncated: no codestream");
    Status s = ParseMainHeader(&l);
    if (!s.ok()) return s;
    if (width != static_cast<uint32_t>(l.info.width) || height != static_cast<uint32_t>(l.info.height) ||
        components != static_cast<uint32_t>(l.components))
      return Damaged(kName, "the file's and the codestream's headers disagree");
    return l;
  }
  Status s = ParseMainHeader(&l);
  if (!s.ok()) return s;
  return l;
}

// Walks the codestream from the main header through every tile-part to the end marker.
Status CheckCodestream(const Layout& l) {
  const Bytes c = l.codestream;
  const char* cut = "truncated: the codestream ends before its end marker";
  size_t p = 2;
  // Main header: marker segments from SIZ up to the first tile-part.
  while (true) {
    if (c.size() - p < 4) return Damaged(kName, cut);
    const uint32_t marker = Be16(c, p);
    if (marker == kSot) break;
    if ((marker >> 8) != 0xFF || marker < 0xFF30) return Damaged(kName, "bad marker in the main header");
    const size_t length = Be16(c, p + 2);
    if (length < 2 || c.size() - p - 2 < length) return Damaged(kName, cut);
    p += 2 + length;
  }
  std::vector<uint32_t> parts(l.tiles, 0), declared(l.tiles, 0);
  while (true) {
    if (c.size() - p < 2) return Damaged(kName, cut);
    const uint32_t marker = Be16(c, p);
    if (marker == kEoc) break;
    if (marker != kSot) return Damaged(kName, "no tile-part where one was due");
    if (c.size() - p < 12) return Damaged(kName, cut);
    if (Be16(c, p + 2) != 10) return Damaged(kName, "bad tile-part header");
    const uint32_t tile = Be16(c, p + 4), length = Be32(c, p + 6), part = c[p + 10], of = c[p + 11];
    if (tile >= l.tiles) return Damaged(kName, "tile-part of a tile that does not exist");
    if (part != parts[tile]) return Damaged(kName, "tile-parts out of order");
    if (of != 0) {
      if (declared[tile] != 0 && declared[tile] != of) return Damaged(kName, "tile-part counts disagree");
      declared[tile] = of;
    }
    ++parts[tile];
    if (length == 0) {
      // The last tile-part may run up to the end marker.
      if (c.size() - p < 14 || Be16(c, c.size() - 2) != kEoc) return Damaged(kName, cut);
      break;
    }
    if (length < 14) return Damaged(kName, "bad tile-part length");
    if (c.size() - p < length) return Damaged(kName, cut);
    p += length;
  }
  for (size_t t = 0; t < l.tiles; ++t) {
    if (parts[t] == 0) return Damaged(kName, "truncated: tile " + std::to_string(t) + " is missing");
    if (declared[t] != 0 && parts[t] != declared[t])
      return Damaged(kName, "truncated: tile " + std::to_string(t) + " has " + std::to_string(parts[t]) + " of " +
                                std::to_string(declared[t]) + " parts");
  }
  if (l.cut) return Damaged(kName, "truncated: the codestream box ends past the end of the file");
  return Status::OK();
}

}  // namespace

Result<ImageInfo> ProbeJpeg2000(Bytes d) {
  auto l = Parse(d);
  if (!l.ok()) return l.status();
  return l->info;
}

Result<cv::Mat> DecodeJpeg2000(Bytes d) {
  auto l = Parse(d);
  if (!l.ok()) return l.status();
  Status s = CheckCodestream(*l);
  if (!s.ok()) return s;
  cv::Mat m;
  try {
    // Grey with alpha is asked for as grey (OpenCV gives no two-channel pictures); the
    // rest as stored, so that deep samples can be scaled from their own maximum rather
    // than shifted.
    const int flags = l->components == 2 ? cv::IMREAD_GRAYSCALE | cv::IMREAD_ANYDEPTH : cv::IMREAD_UNCHANGED;
    cv::Mat buf(1, static_cast<int>(d.size()), CV_8U, const_cast<uint8_t*>(d.data()));
    m = cv::imdecode(buf, flags);
  } catch (const cv::Exception& e) {
    return Damaged(kName, "decoder: " + e.err);
  }
  if (m.empty()) return Damaged(kName, "the decoder could not read it");
  if (m.depth() == CV_16U) {
    m.convertTo(m, CV_8U, 255.0 / ((1 << l->precision) - 1));
  } else if (m.depth() != CV_8U) {
    return Damaged(kName, "the decoder gave an unexpected depth");
  }
  cv::Mat bgr;
  switch (m.channels()) {
    case 1: cv::cvtColor(m, bgr, cv::COLOR_GRAY2BGR); break;
    case 3: bgr = m; break;
    case 4: cv::cvtColor(m, bgr, cv::COLOR_BGRA2BGR); break;
    default: return Damaged(kName, "the decoder gave " + std::to_string(m.channels()) + " channels");
  }
  return bgr;
}

}  // namespace lineup::image
