// Hostile and unusual image files, made at run time (no binary fixtures are committed).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace lineup_test {

using Bytes = std::vector<uint8_t>;

// cv::imencode into bytes ("ext" like ".png"); an empty vector if the codec refused.
Bytes Encode(const cv::Mat& m, const std::string& ext, const std::vector<int>& params = {});
// A w x h picture with gradients and a block, so codecs have real work.
cv::Mat Pattern(int w = 64, int h = 48);

// A well-formed PNG (every CRC right) whose IHDR declares width x height RGB pixels,
// with only a few bytes of image data.
Bytes HugePng(uint32_t width, uint32_t height);
// A real JPEG whose frame header is rewritten to declare width x height.
Bytes JpegDeclaring(uint16_t width, uint16_t height);
// A small real PNG with one byte of its IDAT data flipped (the chunk CRC no longer matches).
Bytes PngWithBrokenCrc();
// A JPEG with a minimal EXIF APP1 segment (big-endian TIFF, one IFD entry:
// Orientation = `orientation`) inserted right after the start-of-image marker.
Bytes WithExifOrientation(const Bytes& jpeg, uint16_t orientation);

// The bytes of a string (a Netpbm or Radiance header), then `body`.
Bytes TextThen(const std::string& text, const Bytes& body = {});
// The first `n` bytes of `b` (all of it if shorter).
Bytes Cut(const Bytes& b, size_t n);

// A Sun raster file: the 32-byte header, `rgb_map` (red, green and blue vectors; empty
// for none) and `data` as given. `type` 1 is plain, 2 run-length encoded, 3 RGB order.
Bytes SunRaster(uint32_t width, uint32_t height, uint32_t depth, uint32_t type, const Bytes& data,
                const Bytes& rgb_map = {});
// Sun raster's run-length encoding of `raw`, as its writers make it (runs of 3 or more,
// and every 0x80 escaped).
Bytes SunRasterRle(const Bytes& raw);
// A Radiance RGBE file of `bgr` (8-bit, taken as 0..1) with every scanline stored
// flat, as writers do for narrow pictures and some for all (OpenCV 4.6 always encodes).
Bytes FlatRadiance(const cv::Mat& bgr);
// The codestream inside a JP2 file (its jp2c box), or empty if there is none.
Bytes Jp2Codestream(const Bytes& jp2);
// A real JP2 file whose codestream (SIZ) and header box (ihdr) declare width x height.
Bytes Jp2Declaring(uint32_t width, uint32_t height);

// Offset of the first JPEG start-of-frame marker, or 0.
size_t FindJpegSof(const Bytes& jpeg);
// Offset of a 4-byte tag in bytes, or std::string::npos.
size_t FindTag(const Bytes& b, const char* tag);

}  // namespace lineup_test
