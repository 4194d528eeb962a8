#include <sys/stat.h>
#include <libexif/exif-data.h>
#include <zlib.h>

#include <csetjmp>
#include <cstdio>  // jpeglib.h needs FILE
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>

#include <jpeglib.h>
#include <jerror.h>  // the warning codes (JWRN_*)

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "image/readers.h"
#include "lineup/image.h"

namespace lineup {

namespace {

using image::Bytes;
using image::Damaged;

uint32_t Be16(Bytes d, size_t o) { return (uint32_t{d[o]} << 8) | d[o + 1]; }
uint32_t Be32(Bytes d, size_t o) { return (Be16(d, o) << 16) | Be16(d, o + 2); }
uint32_t Le16(Bytes d, size_t o) { return (uint32_t{d[o + 1]} << 8) | d[o]; }
uint32_t Le32(Bytes d, size_t o) { return (Le16(d, o + 2) << 16) | Le16(d, o); }
uint32_t Le24(Bytes d, size_t o) { return (uint32_t{d[o + 2]} << 16) | (uint32_t{d[o + 1]} << 8) | d[o]; }

bool StartsWith(Bytes d, std::initializer_list<uint8_t> magic, size_t at = 0) {
  if (d.size() < at + magic.size()) return false;
  size_t i = at;
  for (uint8_t m : magic)
    if (d[i++] != m) return false;
  return true;
}

// ImageInfo::format as people write format names: "jpeg" -> "JPEG".
std::string FormatName(const std::string& format) {
  if (format == "webp") return "WebP";
  if (format == "sunraster") return "Sun raster";
  if (format == "hdr") return "Radiance HDR";
  if (format == "jp2" || format == "j2k") return "JPEG 2000";
  std::string s = format;
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// libjpeg reports damaged image data only as warnings, and then fills the rest of the
// picture with grey: a file cut short and closed with an end-of-image marker decodes
// "successfully" with its lower part missing. OpenCV ignores those warnings, so the
// entropy-coded data is read here once and the warnings that mean lost pixels
// refuse the file. Harmless ones (e.g. stray bytes before a marker, which some cameras
// write) are let through.
struct JpegCheck {
  jpeg_error_mgr mgr;
  std::jmp_buf escape;
  char message[JMSG_LENGTH_MAX] = {0};
  bool damaged = false;
};

void JpegCheckError(j_common_ptr c) {
  auto* e = reinterpret_cast<JpegCheck*>(c->err);
  c->err->format_message(c, e->message);
  std::longjmp(e->escape, 1);
}

void JpegCheckMessage(j_common_ptr c, int level) {
  if (level >= 0) return;  // trace messages
  auto* e = reinterpret_cast<JpegCheck*>(c->err);
  const int code = c->err->msg_code;
  if (!e->damaged && (code == JWRN_HIT_MARKER || code == JWRN_JPEG_EOF || code == JWRN_MUST_RESYNC ||
                      code == JWRN_HUFF_BAD_CODE || code == JWRN_NOT_SEQUENTIAL)) {
    e->damaged = true;
    c->err->format_message(c, e->message);
  }
}

// Plain C control flow only between setjmp and longjmp (no objects with destructors).
Status CheckJpegData(Bytes d) {
  jpeg_decompress_struct cinfo;
  JpegCheck check;
  cinfo.err = jpeg_std_error(&check.mgr);
  check.mgr.error_exit = JpegCheckError;
  check.mgr.emit_message = JpegCheckMessage;
  jpeg_create_decompress(&cinfo);
  if (setjmp(check.escape)) {
    jpeg_destroy_decompress(&cinfo);
    return Damaged("JPEG", check.message);
  }
  jpeg_mem_src(&cinfo, d.data(), static_cast<unsigned long>(d.size()));
  jpeg_read_header(&cinfo, TRUE);
  // All the entropy-coded data is read, but pictured at 1/8 scale: each 8x8 block
  // costs only its DC value, so this is far cheaper than the decode that follows.
  cinfo.scale_num = 1;
  cinfo.scale_denom = 8;
  cinfo.dct_method = JDCT_IFAST;
  cinfo.do_fancy_upsampling = FALSE;
  jpeg_start_decompress(&cinfo);
  JSAMPARRAY row = (*cinfo.mem->alloc_sarray)(reinterpret_cast<j_common_ptr>(&cinfo), JPOOL_IMAGE,
                                              cinfo.output_width * cinfo.output_components, 1);
  while (cinfo.output_scanline < cinfo.output_height) jpeg_read_scanlines(&cinfo, row, 1);
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  if (check.damaged) return Damaged("JPEG", check.message);
  return Status::OK();
}

// The whole JPEG decoded by libjpeg in one pass, with the same check of its image data
// as CheckJpegData: until 2026-12-02 the data was read twice, once at 1/8 scale for the
// check and once by OpenCV for the pixels. The pixels are OpenCV's (libjpeg's default
// IDCT and upsampling, colour converted to BGR by libjpeg; engine_test compares them
// with cv::imdecode on every test photo). Four-channel (CMYK, YCCK) files set
// *other_colours and decode nothing: OpenCV converts those itself.
Status DecodeJpegChecked(Bytes d, cv::Mat* bgr, bool* other_colours) {
  jpeg_decompress_struct cinfo;
  JpegCheck check;
  cinfo.err = jpeg_std_error(&check.mgr);
  check.mgr.error_exit = JpegCheckError;
  check.mgr.emit_message = JpegCheckMessage;
  jpeg_create_decompress(&cinfo);
  if (setjmp(check.escape)) {
    jpeg_destroy_decompress(&cinfo);
    return Damaged("JPEG", check.message);
  }
  jpeg_mem_src(&cinfo, d.data(), static_cast<unsigned long>(d.size()));
  jpeg_read_header(&cinfo, TRUE);
  if (cinfo.num_components != 1 && cinfo.num_components != 3) {
    *other_colours = true;
    jpeg_destroy_decompress(&cinfo);
    return Status::OK();
  }
  cinfo.out_color_space = JCS_EXT_BGR;
  jpeg_start_decompress(&cinfo);
  // *bgr lives in the caller's frame, so the jump back here leaves it intact.
  bgr->create(static_cast<int>(cinfo.output_height), static_cast<int>(cinfo.output_width), CV_8UC3);
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = bgr->ptr<uint8_t>(static_cast<int>(cinfo.output_scanline));
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  if (check.damaged) return Damaged("JPEG", check.message);
  return Status::OK();
}

// Turns a decoded photo upright by its EXIF orientation (1-8), as cv::imdecode does.
void ApplyExifOrientation(Bytes d, cv::Mat* bgr) {
  if (d.size() < 4 || d.size() > (size_t{1} << 31)) return;
  ExifData* ed = exif_data_new_from_data(d.data(), static_cast<unsigned int>(d.size()));
  if (!ed) return;
  int orientation = 1;
  if (ExifEntry* e = exif_data_get_entry(ed, EXIF_TAG_ORIENTATION);
      e && e->format == EXIF_FORMAT_SHORT && e->components >= 1 && e->data && e->size >= 2)
    orientation = exif_get_short(e->data, exif_data_get_byte_order(ed));
  exif_data_unref(ed);
  cv::Mat& m = *bgr;
  switch (orientation) {
    case 2: cv::flip(m, m, 1); break;
    case 3: cv::flip(m, m, -1); break;
    case 4: cv::flip(m, m, 0); break;
    case 5: cv::transpose(m, m); break;
    case 6: cv::transpose(m, m); cv::flip(m, m, 1); break;
    case 7: cv::transpose(m, m); cv::flip(m, m, -1); break;
    case 8: cv::transpose(m, m); cv::flip(m, m, 0); break;
    default: break;
  }
}

// JPEG: walk the marker segments up to the first start-of-frame. The image data
// after start-of-scan must end with an end-of-image marker, or the file was cut.
Result<ImageInfo> ProbeJpeg(Bytes d) {
  size_t p = 2;
  ImageInfo info{"jpeg", 0, 0};
  size_t sos = 0;
  while (p + 4 <= d.size()) {
    if (d[p] != 0xFF) return Damaged("JPEG", "bad marker");
    uint8_t m = d[p + 1];
    if (m == 0xFF) { ++p; continue; }  // fill byte
    if (m == 0x01 || (m >= 0xD0 && m <= 0xD7)) { p += 2; continue; }
    uint32_t len = Be16(d, p + 2);
    if (len < 2 || p + 2 + len > d.size()) return Damaged("JPEG", "truncated header");
    bool sof = m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
    if (sof && info.width == 0) {
      if (len < 7) return Damaged("JPEG", "short frame header");
      info.height = static_cast<int>(Be16(d, p + 5));
      info.width = static_cast<int>(Be16(d, p + 7));
    }
    if (m == 0xDA) { sos = p; break; }
    p += 2 + len;
  }
  if (info.width == 0 || info.height == 0) return Damaged("JPEG", "no frame size");
  if (sos == 0) return Damaged("JPEG", "truncated: no image data");
  // Look for the end-of-image marker after the scan; real files may carry a few
  // trailing bytes after it, so search backwards from the end.
  for (size_t i = d.size() - 1; i > sos + 1; --i)
    if (d[i - 1] == 0xFF && d[i] == 0xD9) return info;
  return Damaged("JPEG", "truncated: no end-of-image marker");
}

// PNG: check every chunk's length and CRC up to IEND, so that libpng never sees a
// file it would reject half way (and print to stderr about).
Result<ImageInfo> ProbePng(Bytes d) {
  if (d.size() < 33 || !StartsWith(d, {'I', 'H', 'D', 'R'}, 12)) return Damaged("PNG", "no IHDR");
  ImageInfo info{"png", static_cast<int>(Be32(d, 16)), static_cast<int>(Be32(d, 20))};
  if (Be32(d, 16) > 0x7FFFFFFF || Be32(d, 20) > 0x7FFFFFFF) return Damaged("PNG", "size out of range");
  size_t p = 8;
  while (true) {
    if (p + 12 > d.size()) return Damaged("PNG", "truncated: no IEND chunk");
    uint32_t len = Be32(d, p);
    if (len > d.size() - p - 12) return Damaged("PNG", "truncated chunk");
    uint32_t want = Be32(d, p + 8 + len);
    uint32_t got = static_cast<uint32_t>(crc32(0L, d.data() + p + 4, len + 4));
    if (want != got) return Damaged("PNG", "CRC mismatch in chunk " + std::string(reinterpret_cast<const char*>(d.data() + p + 4), 4));
    if (StartsWith(d, {'I', 'E', 'N', 'D'}, p + 4)) return info;
    p += 12 + len;
  }
}

Result<ImageInfo> ProbeWebp(Bytes d) {
  if (d.size() < 30) return Damaged("WebP", "too short");
  ImageInfo info{"webp", 0, 0};
  if (StartsWith(d, {'V', 'P', '8', ' '}, 12)) {
    if (!StartsWith(d, {0x9D, 0x01, 0x2A}, 23)) return Damaged("WebP", "bad VP8 frame");
    info.width = static_cast<int>(Le16(d, 26) & 0x3FFF);
    info.height = static_cast<int>(Le16(d, 28) & 0x3FFF);
  } else if (StartsWith(d, {'V', 'P', '8', 'L'}, 12)) {
    if (d[20] != 0x2F) return Damaged("WebP", "bad VP8L signature");
    uint32_t bits = Le32(d, 21);
    info.width = static_cast<int>((bits & 0x3FFF) + 1);
    info.height = static_cast<int>(((bits >> 14) & 0x3FFF) + 1);
  } else if (StartsWith(d, {'V', 'P', '8', 'X'}, 12)) {
    info.width = static_cast<int>(Le24(d, 24) + 1);
    info.height = static_cast<int>(Le24(d, 27) + 1);
  } else {
    return Damaged("WebP", "unknown chunk");
  }
  return info;
}

Result<ImageInfo> ProbeBmp(Bytes d) {
  if (d.size() < 30) return Damaged("BMP", "too short");
  uint32_t dib = Le32(d, 14);
  if (dib != 12 && dib != 16 && dib != 40 && dib != 52 && dib != 56 && dib != 64 && dib != 108 && dib != 124)
    return Status::InvalidArgument("not an image (\"BM\" but no bitmap header)");
  if (Le16(d, dib == 12 ? 22 : 26) != 1) return Damaged("BMP", "bad plane count");
  int64_t w, h;
  if (dib == 12) {
    w = Le16(d, 18);
    h = Le16(d, 20);
  } else {
    w = static_cast<int32_t>(Le32(d, 18));
    h = static_cast<int32_t>(Le32(d, 22));
  }
  if (h < 0) h = -h;
  if (w <= 0 || h <= 0 || w > 0x7FFFFFFF || h > 0x7FFFFFFF) return Damaged("BMP", "bad size");
  return ImageInfo{"bmp", static_cast<int>(w), static_cast<int>(h)};
}

Result<ImageInfo> ProbeTiff(Bytes d) {
  bool le = d[0] == 'I';
  auto u16 = [&](size_t o) { return le ? Le16(d, o) : Be16(d, o); };
  auto u32 = [&](size_t o) { return le ? Le32(d, o) : Be32(d, o); };
  if (d.size() < 8) return Damaged("TIFF", "too short");
  size_t ifd = u32(4);
  if (ifd < 8 || ifd + 2 > d.size()) return Damaged("TIFF", "bad directory offset");
  size_t n = u16(ifd);
  if (ifd + 2 + n * 12 > d.size()) return Damaged("TIFF", "truncated directory");
  ImageInfo info{"tiff", 0, 0};
  for (size_t i = 0; i < n; ++i) {
    size_t e = ifd + 2 + i * 12;
    uint32_t tag = u16(e), type = u16(e + 2);
    uint32_t v = type == 3 ? u16(e + 8) : u32(e + 8);
    if (tag == 256) info.width = static_cast<int>(std::min<uint32_t>(v, 0x7FFFFFFF));
    if (tag == 257) info.height = static_cast<int>(std::min<uint32_t>(v, 0x7FFFFFFF));
  }
  if (info.width <= 0 || info.height <= 0) return Damaged("TIFF", "no image size");
  return info;
}

const char* Guess(Bytes d) {
  auto printable = [&] {
    size_t n = std::min<size_t>(d.size(), 512), ok = 0;
    for (size_t i = 0; i < n; ++i) ok += (d[i] >= 0x20 && d[i] < 0x7F) || d[i] == '\n' || d[i] == '\r' || d[i] == '\t';
    return n > 0 && ok == n;
  };
  if (StartsWith(d, {'G', 'I', 'F', '8'})) return "GIF is not supported";
  if (StartsWith(d, {'%', 'P', 'D', 'F'})) return "a PDF document";
  if (printable()) return "text";
  return "unknown format";
}

// Formats recognised by their magic but not accepted, and why; "" for anything else.
std::string Refused(Bytes d) {
  if (StartsWith(d, {0x76, 0x2F, 0x31, 0x01}))
    return "OpenEXR is not accepted: a film-production format whose many compressions cannot be checked for "
           "damage here; convert it to PNG or TIFF";
  if (StartsWith(d, {'D', 'I', 'C', 'M'}, 128))
    return "DICOM is not accepted: a medical imaging format, not a photo; export the picture as PNG";
  // ISO media files (HEIF, AVIF) name their kind in the "ftyp" box; OpenCV 4.6 reads neither.
  if (StartsWith(d, {'f', 't', 'y', 'p'}, 4) && d.size() >= 12) {
    const std::string brand(reinterpret_cast<const char*>(d.data() + 8), 4);
    if (brand == "heic" || brand == "heix" || brand == "hevc" || brand == "hevx" || brand == "mif1" ||
        brand == "msf1")
      return "HEIC is not accepted: this build of OpenCV cannot read it; convert it to JPEG";
    if (brand == "avif" || brand == "avis")
      return "AVIF is not accepted: this build of OpenCV cannot read it; convert it to JPEG or PNG";
  }
  if (StartsWith(d, {0xFF, 0x0A}) || StartsWith(d, {0, 0, 0, 0x0C, 'J', 'X', 'L', ' ', 0x0D, 0x0A, 0x87, 0x0A}))
    return "JPEG XL is not accepted: this build of OpenCV cannot read it; convert it to JPEG or PNG";
  return "";
}

bool IsNetpbm(Bytes d) {
  if (d.size() < 2 || d[0] != 'P') return false;
  const uint8_t kind = d[1];
  if (!((kind >= '1' && kind <= '7') || kind == 'F' || kind == 'f')) return false;
  // Whitespace follows the magic number; a file of nothing more is a cut one.
  return d.size() == 2 || std::isspace(d[2]) || d[2] == '#';
}

// The readers of src/image/ for the formats that are not left to OpenCV whole.
using OwnDecoder = Result<cv::Mat> (*)(Bytes);
OwnDecoder DecoderFor(const std::string& format) {
  if (format == "pbm" || format == "pgm" || format == "ppm" || format == "pam" || format == "pfm")
    return image::DecodeNetpbm;
  if (format == "sunraster") return image::DecodeSunRaster;
  if (format == "hdr") return image::DecodeRadiance;
  if (format == "jp2" || format == "j2k") return image::DecodeJpeg2000;
  return nullptr;
}

}  // namespace

Result<ImageInfo> ProbeImage(std::span<const uint8_t> d) {
  if (d.empty()) return Status::InvalidArgument("empty file");
  Result<ImageInfo> r = Status::InvalidArgument("");
  if (StartsWith(d, {0xFF, 0xD8, 0xFF})) r = ProbeJpeg(d);
  else if (StartsWith(d, {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A})) r = ProbePng(d);
  else if (StartsWith(d, {'R', 'I', 'F', 'F'}) && StartsWith(d, {'W', 'E', 'B', 'P'}, 8)) r = ProbeWebp(d);
  else if (StartsWith(d, {'B', 'M'})) r = ProbeBmp(d);
  else if (StartsWith(d, {'I', 'I', 42, 0}) || StartsWith(d, {'M', 'M', 0, 42})) r = ProbeTiff(d);
  else if (IsNetpbm(d)) r = image::ProbeNetpbm(d);
  else if (StartsWith(d, {0x59, 0xA6, 0x6A, 0x95})) r = image::ProbeSunRaster(d);
  else if (StartsWith(d, {'#', '?', 'R', 'A', 'D', 'I', 'A', 'N', 'C', 'E'}) ||
           StartsWith(d, {'#', '?', 'R', 'G', 'B', 'E'}))
    r = image::ProbeRadiance(d);
  else if (StartsWith(d, {0, 0, 0, 0x0C, 'j', 'P', ' ', ' ', 0x0D, 0x0A, 0x87, 0x0A}) ||
           StartsWith(d, {0xFF, 0x4F, 0xFF, 0x51}))
    r = image::ProbeJpeg2000(d);
  else if (std::string why = Refused(d); !why.empty()) return Status::InvalidArgument(why);
  else return Status::InvalidArgument(std::string("not an image (") + Guess(d) + ")");
  if (r.ok() && (r->width <= 0 || r->height <= 0))
    return Damaged(FormatName(r->format), "zero size");
  return r;
}

Result<Image> DecodeImage(std::span<const uint8_t> data, const DecodeOptions& options) {
  auto info = ProbeImage(data);
  if (!info.ok()) return info.status();
  int64_t pixels = int64_t{info->width} * info->height;
  if (pixels > options.max_pixels)
    return Status::InvalidArgument(FormatName(info->format) + " of " + std::to_string(info->width) + "x" +
                                   std::to_string(info->height) + " exceeds the limit of " +
                                   std::to_string(options.max_pixels) + " pixels");
  Image img;
  img.info = *info;
  img.bytes = static_cast<int64_t>(data.size());
  if (info->format == "jpeg") {
    bool other_colours = false;
    Status st = DecodeJpegChecked(data, &img.bgr, &other_colours);
    if (!st.ok()) return st;
    if (!other_colours) {
      ApplyExifOrientation(data, &img.bgr);
      return img;
    }
    img.bgr.release();
    st = CheckJpegData(data);  // CMYK and YCCK: checked here, decoded by OpenCV below
    if (!st.ok()) return st;
  }
  if (OwnDecoder decode = DecoderFor(info->format)) {
    auto bgr = decode(data);
    if (!bgr.ok()) return bgr.status();
    img.bgr = std::move(*bgr);
    return img;
  }
  try {
    // IMREAD_COLOR applies EXIF orientation and converts grey, alpha and 16-bit to 8-bit BGR.
    cv::Mat buf(1, static_cast<int>(data.size()), CV_8U, const_cast<uint8_t*>(data.data()));
    img.bgr = cv::imdecode(buf, cv::IMREAD_COLOR);
  } catch (const cv::Exception& e) {
    return Damaged(FormatName(info->format), "decoder: " + e.err);
  }
  if (img.bgr.empty() || img.bgr.type() != CV_8UC3)
    return Damaged(FormatName(info->format), "the decoder could not read it");
  return img;
}

std::string ExifCaptureTime(std::span<const uint8_t> data) {
  if (data.size() < 4 || data.size() > (size_t{1} << 31)) return "";
  ExifData* ed = exif_data_new_from_data(data.data(), static_cast<unsigned int>(data.size()));
  if (!ed) return "";
  std::string out;
  for (ExifTag tag : {EXIF_TAG_DATE_TIME_ORIGINAL, EXIF_TAG_DATE_TIME}) {
    ExifEntry* e = exif_data_get_entry(ed, tag);
    if (!e) continue;
    char buf[64] = {0};
    exif_entry_get_value(e, buf, sizeof buf);
    // "YYYY:MM:DD HH:MM:SS", checked digit by digit.
    const char* pat = "dddd:dd:dd dd:dd:dd";
    bool ok = std::strlen(buf) >= 19;
    for (int i = 0; ok && i < 19; ++i)
      ok = pat[i] == 'd' ? (buf[i] >= '0' && buf[i] <= '9') : buf[i] == pat[i];
    if (ok && std::strncmp(buf, "0000", 4) != 0) {
      out.assign(buf, 19);
      out[4] = '-';
      out[7] = '-';
      out[10] = 'T';
      break;
    }
  }
  exif_data_unref(ed);
  return out;
}

namespace {
// Degrees from an EXIF GPS coordinate (three rationals: degrees, minutes, seconds) and
// its reference letter; NaN if malformed.
double GpsDegrees(ExifData* ed, ExifTag value_tag, ExifTag ref_tag, char negative) {
  ExifContent* gps = ed->ifd[EXIF_IFD_GPS];
  if (!gps) return NAN;
  ExifEntry* v = exif_content_get_entry(gps, value_tag);
  ExifEntry* r = exif_content_get_entry(gps, ref_tag);
  if (!v || !r || v->format != EXIF_FORMAT_RATIONAL || v->components != 3 || !v->data ||
      v->size < 3 * exif_format_get_size(EXIF_FORMAT_RATIONAL))
    return NAN;
  const ExifByteOrder order = exif_data_get_byte_order(ed);
  const size_t step = static_cast<size_t>(exif_format_get_size(EXIF_FORMAT_RATIONAL));
  double parts[3];
  for (size_t i = 0; i < 3; ++i) {
    const ExifRational q = exif_get_rational(v->data + i * step, order);
    if (q.denominator == 0) return NAN;
    parts[i] = static_cast<double>(q.numerator) / q.denominator;
  }
  double deg = parts[0] + parts[1] / 60 + parts[2] / 3600;
  if (r->data && r->size >= 1 && r->data[0] == static_cast<unsigned char>(negative)) deg = -deg;
  return deg;
}
}  // namespace

std::string ExifPlace(std::span<const uint8_t> data) {
  if (data.size() < 4 || data.size() > (size_t{1} << 31)) return "";
  ExifData* ed = exif_data_new_from_data(data.data(), static_cast<unsigned int>(data.size()));
  if (!ed) return "";
  const double lat = GpsDegrees(ed, static_cast<ExifTag>(EXIF_TAG_GPS_LATITUDE),
                                static_cast<ExifTag>(EXIF_TAG_GPS_LATITUDE_REF), 'S');
  const double lon = GpsDegrees(ed, static_cast<ExifTag>(EXIF_TAG_GPS_LONGITUDE),
                                static_cast<ExifTag>(EXIF_TAG_GPS_LONGITUDE_REF), 'W');
  exif_data_unref(ed);
  if (!std::isfinite(lat) || !std::isfinite(lon) || std::fabs(lat) > 90 || std::fabs(lon) > 180) return "";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6f,%.6f", lat, lon);
  return buf;
}

Result<std::string> ReadFileBytes(const std::string& path, int64_t max_bytes) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return Status::NotFound(path + ": no such file");
    return Status::IOError(path + ": " + std::strerror(errno));
  }
  if (S_ISDIR(st.st_mode)) return Status::InvalidArgument(path + ": is a directory, not a photo");
  if (!S_ISREG(st.st_mode)) return Status::InvalidArgument(path + ": not a regular file");
  if (st.st_size > max_bytes)
    return Status::InvalidArgument(path + ": file of " + std::to_string(st.st_size) + " bytes exceeds the limit of " +
                                   std::to_string(max_bytes));
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError(path + ": cannot open (" + std::strerror(errno) + ")");
  std::string bytes(static_cast<size_t>(st.st_size), '\0');
  in.read(bytes.data(), st.st_size);
  if (in.gcount() != st.st_size) return Status::IOError(path + ": short read");
  return bytes;
}

Result<Image> ReadImage(const std::string& path, const DecodeOptions& options) {
  auto bytes = ReadFileBytes(path, options.max_bytes);
  if (!bytes.ok()) return bytes.status();
  auto img = DecodeImage({reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size()}, options);
  if (!img.ok()) return img.status().WithContext(path);
  return img;
}

}  // namespace lineup
