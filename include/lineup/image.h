// Image decoding: bytes or a file in, an upright 8-bit BGR picture out.
//
// The format is recognised from the content, never from the file name. Accepted: JPEG,
// PNG, WebP, BMP, TIFF; Netpbm (PBM, PGM, PPM plain and raw, PAM, PFM), as kept by
// collections such as AT&T/ORL; Sun raster; Radiance HDR; JPEG 2000 (JP2 file or bare
// codestream). OpenEXR, DICOM, HEIC, AVIF and JPEG XL are recognised and refused by
// name. The header is read and the declared size checked against
// DecodeOptions::max_pixels before any pixel is decoded, so a small hostile file cannot
// make us allocate gigabytes. Truncated JPEGs, PNGs with a bad CRC and cut-short
// Netpbm, Sun raster, Radiance and JPEG 2000 files are refused rather than decoded into
// half a picture. EXIF orientation is applied; greyscale, alpha, 16-bit and deeper
// pictures come out as 8-bit BGR (alpha dropped, samples scaled from their maximum);
// floating-point ones (PFM, Radiance) take 0 to 1 as the 8-bit range and are clipped
// outside it.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include <opencv2/core.hpp>

#include "lineup/status.h"

namespace lineup {

struct DecodeOptions {
  // Largest width*height accepted, as declared by the header. Default 100 megapixels.
  int64_t max_pixels = 100'000'000;
  // Largest file accepted by ReadImage, in bytes. Default 512 MiB.
  int64_t max_bytes = int64_t{512} << 20;
};

// What the header of an image says, read without decoding pixels.
struct ImageInfo {
  // "jpeg", "png", "webp", "bmp", "tiff", "pbm", "pgm", "ppm", "pam", "pfm",
  // "sunraster", "hdr" (Radiance), "jp2" (JPEG 2000 file) or "j2k" (bare codestream)
  std::string format;
  int width = 0;       // as stored, before EXIF orientation
  int height = 0;
};

struct Image {
  cv::Mat bgr;      // CV_8UC3, upright
  ImageInfo info;   // header facts of the original
  int64_t bytes = 0;
};

// Reads the header only. InvalidArgument for anything that is not one of the
// supported formats, or whose header is damaged or declares an impossible size.
Result<ImageInfo> ProbeImage(std::span<const uint8_t> data);

// Decodes a whole image. InvalidArgument for unsupported, damaged, truncated or
// over-limit input; never aborts. A JPEG whose image data is damaged or cut short is
// refused even where the decoder would fill the lost part with grey (a cut file
// closed with an end marker); the extra read this takes costs about 0.06 ms for an
// LFW photo and 60% of the decoding time for a large, finely compressed one.
Result<Image> DecodeImage(std::span<const uint8_t> data, const DecodeOptions& options = {});

// Reads a file and decodes it. NotFound if the path does not exist; InvalidArgument
// for a directory, an empty file, or any DecodeImage failure; IOError if unreadable.
// Messages start with the path.
Result<Image> ReadImage(const std::string& path, const DecodeOptions& options = {});

// The EXIF capture time (DateTimeOriginal, else DateTime) as "YYYY-MM-DDTHH:MM:SS",
// or "" if the image has none or it is not a valid date. Never fails: EXIF is optional
// and often damaged.
std::string ExifCaptureTime(std::span<const uint8_t> data);
// Where the photo was taken, from its EXIF GPS latitude and longitude, as decimal
// degrees "LAT,LON" (6 decimals, south and west negative), or "" if it has none or they
// are out of range. Never fails.
std::string ExifPlace(std::span<const uint8_t> data);

// Reads a whole file into memory with the same checks (exists, regular, readable,
// not larger than max_bytes).
Result<std::string> ReadFileBytes(const std::string& path, int64_t max_bytes);

}  // namespace lineup
