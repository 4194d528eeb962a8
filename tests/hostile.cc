#include "hostile.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace lineup_test {

namespace {
void PutBe32(Bytes& b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(v >> s));
}

// One PNG chunk with its length and a correct CRC.
void PngChunk(Bytes& out, const char type[4], const Bytes& data) {
  PutBe32(out, static_cast<uint32_t>(data.size()));
  Bytes td(type, type + 4);
  td.insert(td.end(), data.begin(), data.end());
  out.insert(out.end(), td.begin(), td.end());
  PutBe32(out, static_cast<uint32_t>(crc32(0L, td.data(), static_cast<uInt>(td.size()))));
}
uint32_t GetBe32(const Bytes& b, size_t o) {
  return (uint32_t{b[o]} << 24) | (uint32_t{b[o + 1]} << 16) | (uint32_t{b[o + 2]} << 8) | b[o + 3];
}

void SetBe32(Bytes& b, size_t o, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[o + i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}
}  // namespace

Bytes Encode(const cv::Mat& m, const std::string& ext, const std::vector<int>& params) {
  std::vector<uchar> buf;
  bool ok = cv::imencode(ext, m, buf, params);
  EXPECT_TRUE(ok) << "cv::imencode(" << ext << ") failed";
  return ok ? Bytes(buf.begin(), buf.end()) : Bytes{};
}

cv::Mat Pattern(int w, int h) {
  cv::Mat m(h, w, CV_8UC3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      m.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uchar>(x * 255 / w), static_cast<uchar>(y * 255 / h),
                                        static_cast<uchar>((x + y) % 2 ? 200 : 40));
  cv::rectangle(m, cv::Rect(w / 4, h / 4, w / 3, h / 3), cv::Scalar(10, 220, 30), cv::FILLED);
  return m;
}

Bytes HugePng(uint32_t width, uint32_t height) {
  Bytes png = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  Bytes ihdr;
  PutBe32(ihdr, width);
  PutBe32(ihdr, height);
  ihdr.insert(ihdr.end(), {8, 2, 0, 0, 0});  // 8-bit RGB, deflate, no filter, no interlace
  PngChunk(png, "IHDR", ihdr);
  Bytes raw(256, 0);
  uLongf n = compressBound(static_cast<uLong>(raw.size()));
  Bytes z(n);
  EXPECT_EQ(compress(z.data(), &n, raw.data(), static_cast<uLong>(raw.size())), Z_OK);
  z.resize(n);
  PngChunk(png, "IDAT", z);
  PngChunk(png, "IEND", {});
  return png;
}

size_t FindJpegSof(const Bytes& j) {
  for (size_t p = 2; p + 4 <= j.size();) {
    if (j[p] != 0xFF) return 0;
    uint8_t m = j[p + 1];
    if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) return p;
    p += 2 + ((size_t{j[p + 2]} << 8) | j[p + 3]);
  }
  return 0;
}

Bytes JpegDeclaring(uint16_t width, uint16_t height) {
  Bytes j = Encode(Pattern(), ".jpg");
  size_t sof = FindJpegSof(j);
  EXPECT_GT(sof, 0u);
  if (sof == 0) return j;
  j[sof + 5] = static_cast<uint8_t>(height >> 8);
  j[sof + 6] = static_cast<uint8_t>(height);
  j[sof + 7] = static_cast<uint8_t>(width >> 8);
  j[sof + 8] = static_cast<uint8_t>(width);
  return j;
}

size_t FindTag(const Bytes& b, const char* tag) {
  for (size_t i = 0; i + 4 <= b.size(); ++i)
    if (std::memcmp(b.data() + i, tag, 4) == 0) return i;
  return std::string::npos;
}

Bytes PngWithBrokenCrc() {
  Bytes png = Encode(Pattern(), ".png");
  size_t idat = FindTag(png, "IDAT");
  EXPECT_NE(idat, std::string::npos);
  if (idat == std::string::npos || idat < 4) return png;
  uint32_t len = (uint32_t{png[idat - 4]} << 24) | (uint32_t{png[idat - 3]} << 16) | (uint32_t{png[idat - 2]} << 8) |
                 png[idat - 1];
  EXPECT_GT(len, 4u);
  png[idat + 4 + len / 2] ^= 0x5A;  // a byte of compressed data
  return png;
}

Bytes WithExifOrientation(const Bytes& jpeg, uint16_t orientation) {
  const Bytes app1 = {0xFF, 0xE1, 0x00, 34,                            // APP1, length 34
                      'E', 'x', 'i', 'f', 0, 0,                        // EXIF identifier
                      'M', 'M', 0x00, 0x2A, 0x00, 0x00, 0x00, 0x08,    // TIFF header, IFD0 at 8
                      0x00, 0x01,                                      // one entry
                      0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01,  // tag 0x112, SHORT, count 1
                      static_cast<uint8_t>(orientation >> 8), static_cast<uint8_t>(orientation), 0x00, 0x00,
                      0x00, 0x00, 0x00, 0x00};  // no next IFD
  Bytes out;
  out.reserve(jpeg.size() + app1.size());
  for (size_t i = 0; i < jpeg.size(); ++i) {
    out.push_back(jpeg[i]);
    if (i == 1) out.insert(out.end(), app1.begin(), app1.end());  // after the SOI marker
  }
  return out;
}

Bytes TextThen(const std::string& text, const Bytes& body) {
  Bytes b(text.begin(), text.end());
  b.insert(b.end(), body.begin(), body.end());
  return b;
}

Bytes Cut(const Bytes& b, size_t n) {
  return Bytes(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(std::min(n, b.size())));
}

Bytes SunRaster(uint32_t width, uint32_t height, uint32_t depth, uint32_t type, const Bytes& data,
                const Bytes& rgb_map) {
  Bytes b;
  for (uint32_t v : {0x59A66A95u, width, height, depth, static_cast<uint32_t>(data.size()), type,
                     rgb_map.empty() ? 0u : 1u, static_cast<uint32_t>(rgb_map.size())})
    PutBe32(b, v);
  b.insert(b.end(), rgb_map.begin(), rgb_map.end());
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

Bytes SunRasterRle(const Bytes& raw) {
  Bytes out;
  for (size_t i = 0; i < raw.size();) {
    size_t run = 1;
    while (i + run < raw.size() && raw[i + run] == raw[i] && run < 256) ++run;
    if (run >= 3 || raw[i] == 0x80) {
      if (run == 1) {
        out.insert(out.end(), {0x80, 0x00});
      } else {
        out.insert(out.end(), {0x80, static_cast<uint8_t>(run - 1), raw[i]});
      }
      i += run;
    } else {
      out.push_back(raw[i++]);
    }
  }
  return out;
}

Bytes FlatRadiance(const cv::Mat& bgr) {
  Bytes b = TextThen("#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y " + std::to_string(bgr.rows) + " +X " +
                     std::to_string(bgr.cols) + "\n");
  for (int y = 0; y < bgr.rows; ++y)
    for (int x = 0; x < bgr.cols; ++x) {
      const cv::Vec3b p = bgr.at<cv::Vec3b>(y, x);
      const double r = p[2] / 255.0, g = p[1] / 255.0, bl = p[0] / 255.0;
      const double top = std::max({r, g, bl});
      if (top < 1e-32) {
        b.insert(b.end(), {0, 0, 0, 0});
        continue;
      }
      int e = 0;
      const double scale = std::frexp(top, &e) * 256.0 / top;
      b.insert(b.end(), {static_cast<uint8_t>(r * scale), static_cast<uint8_t>(g * scale),
                         static_cast<uint8_t>(bl * scale), static_cast<uint8_t>(e + 128)});
    }
  return b;
}

Bytes Jp2Codestream(const Bytes& jp2) {
  for (size_t p = 0; p + 8 <= jp2.size();) {
    const uint32_t length = GetBe32(jp2, p);
    const size_t end = length == 0 ? jp2.size() : std::min<size_t>(jp2.size(), p + length);
    if (std::memcmp(jp2.data() + p + 4, "jp2c", 4) == 0)
      return Bytes(jp2.begin() + static_cast<std::ptrdiff_t>(p + 8), jp2.begin() + static_cast<std::ptrdiff_t>(end));
    if (length < 8) break;
    p = end;
  }
  return {};
}

Bytes Jp2Declaring(uint32_t width, uint32_t height) {
  Bytes j = Encode(Pattern(), ".jp2");
  const size_t ihdr = FindTag(j, "ihdr");
  const size_t soc = Jp2Codestream(j).empty() ? std::string::npos : j.size() - Jp2Codestream(j).size();
  EXPECT_NE(ihdr, std::string::npos);
  EXPECT_NE(soc, std::string::npos);
  if (ihdr == std::string::npos || soc == std::string::npos) return j;
  SetBe32(j, ihdr + 4, height);
  SetBe32(j, ihdr + 8, width);
  // SOC, SIZ, Lsiz and Rsiz come before Xsiz and Ysiz; the image offset is 0. The one
  // tile grows with the picture.
  SetBe32(j, soc + 8, width);
  SetBe32(j, soc + 12, height);
  SetBe32(j, soc + 24, width);
  SetBe32(j, soc + 28, height);
  return j;
}

}  // namespace lineup_test
