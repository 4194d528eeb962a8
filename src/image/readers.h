// The readers decode.cc hands a format to when it does not leave the whole job to
// OpenCV. Private to src/image/.
//
// Each Probe reads only the header and refuses one that is damaged or declares an
// impossible size; it never looks at pixel data, so DecodeImage can apply the pixel
// limit before anything else. Each Decode parses the header again, refuses pixel data
// that is cut short or damaged, and returns an upright CV_8UC3 BGR picture.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include <opencv2/core.hpp>

#include "lineup/image.h"
#include "lineup/status.h"

namespace lineup::image {

using Bytes = std::span<const uint8_t>;

// "damaged PGM (why)": the one shape of message for a file of a known format that is
// not whole or not well-formed.
inline Status Damaged(const std::string& format_name, const std::string& why) {
  return Status::InvalidArgument("damaged " + format_name + " (" + why + ")");
}

// a * b, or false if it does not fit in 64 bits.
inline bool Multiply(uint64_t a, uint64_t b, uint64_t* out) { return !__builtin_mul_overflow(a, b, out); }

// A floating-point sample (PFM, Radiance) on the 8-bit scale: 0 to 1 is the 8-bit
// range and anything outside it is clipped; NaN is black. A photo saved as floats
// comes back as it was; a brighter scene loses its highlights, which no single tone
// mapping would get right for every file anyway.
inline uint8_t FloatTo8(float f) {
  if (!(f > 0)) return 0;
  if (f >= 1) return 255;
  return static_cast<uint8_t>(f * 255 + 0.5f);
}

// Netpbm: PBM, PGM, PPM (P1-P6), PAM (P7) and PFM ("PF", "Pf"). `d` starts with 'P'.
Result<ImageInfo> ProbeNetpbm(Bytes d);
Result<cv::Mat> DecodeNetpbm(Bytes d);

// Sun raster (.ras, .sr). `d` starts with the magic 59 A6 6A 95.
Result<ImageInfo> ProbeSunRaster(Bytes d);
Result<cv::Mat> DecodeSunRaster(Bytes d);

// Radiance RGBE (.hdr, .pic). `d` starts with "#?RADIANCE" or "#?RGBE".
Result<ImageInfo> ProbeRadiance(Bytes d);
Result<cv::Mat> DecodeRadiance(Bytes d);

// JPEG 2000, as a JP2 file or a bare codestream. The pixels are decoded by OpenCV
// (OpenJPEG) once the structure has been checked here.
Result<ImageInfo> ProbeJpeg2000(Bytes d);
Result<cv::Mat> DecodeJpeg2000(Bytes d);

}  // namespace lineup::image
