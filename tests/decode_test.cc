// Image decoding: ProbeImage, DecodeImage, ReadImage and ReadFileBytes (lineup/image.h).
//
// Every hostile input is made here at run time in a scratch folder; nothing binary is
// committed. Real photos come from the shared data folder (see test_util.h).
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <chrono>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "hostile.h"
#include "lineup/image.h"
#include "test_util.h"

namespace {

using lineup::DecodeImage;
using lineup::ProbeImage;
using lineup::ReadImage;
using lineup::Status;
using lineup_test::Bytes;
using lineup_test::Encode;
using lineup_test::HugePng;
using lineup_test::JpegDeclaring;
using lineup_test::Pattern;
using lineup_test::ReadBytes;
using lineup_test::TempDir;
using lineup_test::WithExifOrientation;
using lineup_test::WriteBytes;
using lineup_test::WriteText;

const char* kLfwPhoto = "lfw/images/Aaron_Peirsol/Aaron_Peirsol_0001.jpg";

lineup::Result<lineup::Image> DecodeBytes(const Bytes& b, const lineup::DecodeOptions& o = {}) {
  return DecodeImage(std::span<const uint8_t>(b.data(), b.size()), o);
}

bool Contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }
bool StartsWith(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

class DecodeTest : public ::testing::Test {
 protected:
  // The path of a real LFW photo, or "" after ending the test (skip, or failure in CI).
  std::string RealJpegPath() {
    std::string data;
    [&] { LINEUP_REQUIRE_DATA(data, "lfw/images"); }();
    if (data.empty()) return "";
    return data.substr(0, data.size() - std::string("lfw/images").size()) + kLfwPhoto;
  }
  TempDir tmp_;
};

#define REAL_JPEG_OR_RETURN(var)            \
  std::string var = RealJpegPath();         \
  if (HasFatalFailure() || IsSkipped()) return

// ---------------------------------------------------------------- hostile files

TEST_F(DecodeTest, EmptyFileIsInvalidArgumentStartingWithPath) {
  std::string path = tmp_.File("empty.jpg");
  WriteBytes(path, {});
  auto r = ReadImage(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(StartsWith(r.status().message(), path)) << r.status().message();
  EXPECT_TRUE(Contains(r.status().message(), "empty")) << r.status().message();
  EXPECT_FALSE(ProbeImage({}).ok());
}

TEST_F(DecodeTest, TextFileNamedJpgIsNotAnImage) {
  std::string path = tmp_.File("notes.jpg");
  WriteText(path, "These are my holiday notes.\nNot a picture at all.\n");
  auto r = ReadImage(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(StartsWith(r.status().message(), path)) << r.status().message();
  EXPECT_TRUE(Contains(r.status().message(), "not an image")) << r.status().message();
  EXPECT_TRUE(Contains(r.status().message(), "text")) << r.status().message();
}

TEST_F(DecodeTest, TruncatedRealJpegIsRefused) {
  REAL_JPEG_OR_RETURN(src);
  Bytes full = ReadBytes(src);
  ASSERT_GT(full.size(), 1000u);
  ASSERT_TRUE(DecodeBytes(full).ok());
  Bytes half(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(full.size() / 2));
  std::string path = tmp_.File("half.jpg");
  WriteBytes(path, half);
  auto r = ReadImage(path);
  ASSERT_FALSE(r.ok()) << "half a JPEG decoded into a " << r->bgr.cols << "x" << r->bgr.rows << " picture";
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(StartsWith(r.status().message(), path)) << r.status().message();
  EXPECT_TRUE(Contains(r.status().message(), "truncated")) << r.status().message();
  // Cut a single byte (the end-of-image marker's second half): still refused.
  Bytes minus_one(full.begin(), full.end() - 1);
  EXPECT_FALSE(DecodeBytes(minus_one).ok());
}

TEST_F(DecodeTest, CutJpegClosedWithAnEndMarkerIsRefused) {
  // A file cut short and then given an end-of-image marker passes every structural
  // check; libjpeg decodes it with a warning and paints the missing part grey.
  REAL_JPEG_OR_RETURN(src);
  Bytes full = ReadBytes(src);
  for (double keep : {0.3, 0.5, 0.8, 0.95}) {
    SCOPED_TRACE(keep);
    Bytes cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(full.size() * keep));
    cut.push_back(0xFF);
    cut.push_back(0xD9);
    auto r = DecodeBytes(cut);
    ASSERT_FALSE(r.ok()) << "a cut JPEG decoded into a " << r->bgr.cols << "x" << r->bgr.rows << " picture";
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
    EXPECT_TRUE(Contains(r.status().message(), "damaged JPEG")) << r.status().message();
  }
}

TEST_F(DecodeTest, JpegWithStrayBytesBeforeTheEndMarkerStillDecodes) {
  // Some cameras pad the image data; libjpeg warns ("extraneous bytes before marker")
  // but loses no pixel, so such photos must not be refused.
  REAL_JPEG_OR_RETURN(src);
  Bytes full = ReadBytes(src);
  auto original = DecodeBytes(full);
  ASSERT_TRUE(original.ok());
  ASSERT_GE(full.size(), 2u);
  ASSERT_EQ(full[full.size() - 2], 0xFF);
  Bytes padded(full.begin(), full.end() - 2);
  for (int i = 0; i < 5; ++i) padded.push_back(0x00);
  padded.push_back(0xFF);
  padded.push_back(0xD9);
  auto r = DecodeBytes(padded);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(cv::norm(r->bgr, original->bgr, cv::NORM_INF), 0);
}

TEST_F(DecodeTest, PngWithBrokenCrcIsRefused) {
  ASSERT_TRUE(DecodeBytes(Encode(Pattern(), ".png")).ok());
  Bytes png = lineup_test::PngWithBrokenCrc();
  std::string path = tmp_.File("broken_crc.png");
  WriteBytes(path, png);
  auto r = ReadImage(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(StartsWith(r.status().message(), path)) << r.status().message();
  EXPECT_TRUE(Contains(r.status().message(), "CRC")) << r.status().message();
}

TEST_F(DecodeTest, HugePngHeaderFailsFastMentioningTheLimit) {
  Bytes png = HugePng(60000, 60000);
  auto info = ProbeImage(png);  // the header itself is well-formed
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->format, "png");
  EXPECT_EQ(info->width, 60000);
  EXPECT_EQ(info->height, 60000);

  std::string path = tmp_.File("huge.png");
  WriteBytes(path, png);
  auto t0 = std::chrono::steady_clock::now();
  auto r = ReadImage(path);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(Contains(r.status().message(), "limit")) << r.status().message();
  EXPECT_TRUE(Contains(r.status().message(), "60000x60000")) << r.status().message();
  EXPECT_LT(secs, 1.0) << "refusing a 3.6-gigapixel header should not decode anything";
}

TEST_F(DecodeTest, HugeJpegHeaderFailsFastMentioningTheLimit) {
  Bytes jpeg = JpegDeclaring(60000, 60000);
  auto info = ProbeImage(jpeg);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->width, 60000);
  EXPECT_EQ(info->height, 60000);
  auto t0 = std::chrono::steady_clock::now();
  auto r = DecodeBytes(jpeg);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(Contains(r.status().message(), "limit")) << r.status().message();
  EXPECT_TRUE(Contains(r.status().message(), "JPEG")) << r.status().message();
  EXPECT_LT(secs, 1.0);
}

TEST_F(DecodeTest, MaxPixelsOptionIsHonouredExactly) {
  Bytes png = Encode(Pattern(100, 80), ".png");
  lineup::DecodeOptions o;
  o.max_pixels = 8000;
  EXPECT_TRUE(DecodeBytes(png, o).ok());
  o.max_pixels = 7999;
  auto r = DecodeBytes(png, o);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Contains(r.status().message(), "7999")) << r.status().message();
}

TEST_F(DecodeTest, MaxBytesOptionIsHonoured) {
  std::string path = tmp_.File("pattern.png");
  Bytes png = Encode(Pattern(), ".png");
  WriteBytes(path, png);
  lineup::DecodeOptions o;
  o.max_bytes = static_cast<int64_t>(png.size()) - 1;
  auto r = ReadImage(path, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(Contains(r.status().message(), "limit")) << r.status().message();
  o.max_bytes = static_cast<int64_t>(png.size());
  EXPECT_TRUE(ReadImage(path, o).ok());
}

TEST_F(DecodeTest, MissingPathIsNotFound) {
  std::string path = tmp_.File("no_such_photo.jpg");
  auto r = ReadImage(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kNotFound);
  EXPECT_TRUE(StartsWith(r.status().message(), path)) << r.status().message();
  // A path through a missing folder too.
  auto r2 = ReadImage(tmp_.File("no_dir/photo.jpg"));
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.status().code(), Status::Code::kNotFound);
}

TEST_F(DecodeTest, DirectoryIsInvalidArgument) {
  auto r = ReadImage(tmp_.path());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(StartsWith(r.status().message(), tmp_.path())) << r.status().message();
  EXPECT_TRUE(Contains(r.status().message(), "is a directory")) << r.status().message();
}

TEST_F(DecodeTest, UnreadableFileIsIOError) {
  if (lineup_test::CanReadMode000(tmp_.path()))
    GTEST_SKIP() << "this process can read mode-000 files (running as root?), so no file is unreadable";
  std::string path = tmp_.File("locked.png");
  WriteBytes(path, Encode(Pattern(), ".png"));
  ASSERT_EQ(::chmod(path.c_str(), 0), 0);
  auto r = ReadImage(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kIOError);
  EXPECT_TRUE(StartsWith(r.status().message(), path)) << r.status().message();
}

TEST_F(DecodeTest, OtherNonImagesAreNamed) {
  auto gif = ProbeImage(Bytes{'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0, 0, 0, 0});
  ASSERT_FALSE(gif.ok());
  EXPECT_TRUE(Contains(gif.status().message(), "GIF")) << gif.status().message();
  auto pdf = ProbeImage(Bytes{'%', 'P', 'D', 'F', '-', '1', '.', '4', '\n', 0x80, 0x81});
  ASSERT_FALSE(pdf.ok());
  EXPECT_TRUE(Contains(pdf.status().message(), "PDF")) << pdf.status().message();
  auto junk = ProbeImage(Bytes{0x00, 0x01, 0x02, 0x03, 0xFE});
  ASSERT_FALSE(junk.ok());
  EXPECT_EQ(junk.status().code(), Status::Code::kInvalidArgument);
}

TEST_F(DecodeTest, ZeroSizedHeadersAreRefused) {
  EXPECT_FALSE(ProbeImage(HugePng(0, 10)).ok());
  EXPECT_FALSE(ProbeImage(JpegDeclaring(10, 0)).ok());
  EXPECT_FALSE(DecodeBytes(JpegDeclaring(0, 0)).ok());
}

// ------------------------------------------------------------------- good files

TEST_F(DecodeTest, OneByOnePixelDecodes) {
  cv::Mat px(1, 1, CV_8UC3, cv::Scalar(10, 20, 200));
  for (const char* ext : {".png", ".jpg", ".bmp"}) {
    SCOPED_TRACE(ext);
    auto r = DecodeBytes(Encode(px, ext));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->bgr.cols, 1);
    EXPECT_EQ(r->bgr.rows, 1);
    EXPECT_EQ(r->bgr.type(), CV_8UC3);
  }
  std::string path = tmp_.File("one.png");
  WriteBytes(path, Encode(px, ".png"));
  auto r = ReadImage(path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->bgr.at<cv::Vec3b>(0, 0), cv::Vec3b(10, 20, 200));
}

TEST_F(DecodeTest, RealJpegDecodes) {
  REAL_JPEG_OR_RETURN(src);
  auto r = ReadImage(src);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->info.format, "jpeg");
  EXPECT_EQ(r->info.width, 250);
  EXPECT_EQ(r->info.height, 250);
  EXPECT_EQ(r->bgr.size(), cv::Size(250, 250));
  EXPECT_EQ(r->bgr.type(), CV_8UC3);
  EXPECT_EQ(r->bytes, static_cast<int64_t>(ReadBytes(src).size()));
  // Same pixels as OpenCV's own reader.
  cv::Mat ref = cv::imread(src, cv::IMREAD_COLOR);
  ASSERT_FALSE(ref.empty());
  EXPECT_EQ(cv::norm(ref, r->bgr, cv::NORM_INF), 0);
}

TEST_F(DecodeTest, WebpNamedJpgIsRecognisedByContent) {
  std::string data;
  LINEUP_REQUIRE_DATA(data, "deepface");
  std::string path = data + "/img47.jpg";
  Bytes b = ReadBytes(path);
  auto info = ProbeImage(b);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->format, "webp");
  auto r = ReadImage(path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->info.format, "webp");
  EXPECT_EQ(r->bgr.type(), CV_8UC3);
  EXPECT_EQ(r->bgr.cols, info->width);
  EXPECT_EQ(r->bgr.rows, info->height);
  EXPECT_GT(r->bgr.cols, 50);
}

// Encodes a real photo (or a pattern without the data folder) into each format and
// reads it back from a file named .jpg: the format comes from the content.
TEST_F(DecodeTest, EveryFormatFromARealPhoto) {
  cv::Mat photo;
  std::string why;
  std::string data = lineup_test::DataDir("", &why);
  if (!data.empty()) photo = cv::imread(data + "/" + kLfwPhoto, cv::IMREAD_COLOR);
  if (photo.empty()) photo = Pattern(250, 250);
  struct Case { const char* ext; const char* format; bool lossless; };
  std::vector<Case> cases = {{".jpg", "jpeg", false}, {".png", "png", true}, {".bmp", "bmp", true},
                             {".tiff", "tiff", true}};
  if (cv::haveImageWriter(".webp")) cases.push_back({".webp", "webp", false});
  for (const auto& c : cases) {
    SCOPED_TRACE(c.ext);
    std::string path = tmp_.File(std::string("as_") + (c.ext + 1) + ".jpg");
    WriteBytes(path, Encode(photo, c.ext));
    auto r = ReadImage(path);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->info.format, c.format);
    EXPECT_EQ(r->info.width, photo.cols);
    EXPECT_EQ(r->info.height, photo.rows);
    ASSERT_EQ(r->bgr.size(), photo.size());
    EXPECT_EQ(r->bgr.type(), CV_8UC3);
    if (c.lossless) {
      EXPECT_EQ(cv::norm(photo, r->bgr, cv::NORM_INF), 0);
    } else {
      EXPECT_LT(cv::norm(photo, r->bgr, cv::NORM_L1) / static_cast<double>(photo.total()) / 3, 12.0);
    }
  }
}

TEST_F(DecodeTest, GreyscalePngComesOutBgr) {
  cv::Mat grey(30, 40, CV_8UC1);
  for (int y = 0; y < grey.rows; ++y)
    for (int x = 0; x < grey.cols; ++x) grey.at<uchar>(y, x) = static_cast<uchar>(x * 6);
  auto r = DecodeBytes(Encode(grey, ".png"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->bgr.type(), CV_8UC3);
  ASSERT_EQ(r->bgr.size(), grey.size());
  EXPECT_EQ(r->bgr.at<cv::Vec3b>(5, 10), cv::Vec3b(60, 60, 60));
}

TEST_F(DecodeTest, SixteenBitPngComesOut8BitBgr) {
  cv::Mat deep(20, 30, CV_16UC3, cv::Scalar(200 * 257, 100 * 257, 50 * 257));
  auto r = DecodeBytes(Encode(deep, ".png"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->bgr.type(), CV_8UC3);
  ASSERT_EQ(r->bgr.size(), deep.size());
  cv::Vec3b px = r->bgr.at<cv::Vec3b>(10, 10);
  EXPECT_NEAR(px[0], 200, 1);
  EXPECT_NEAR(px[1], 100, 1);
  EXPECT_NEAR(px[2], 50, 1);

  cv::Mat deep_grey(20, 30, CV_16UC1, cv::Scalar(120 * 257));
  auto g = DecodeBytes(Encode(deep_grey, ".png"));
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  ASSERT_EQ(g->bgr.type(), CV_8UC3);
  EXPECT_NEAR(g->bgr.at<cv::Vec3b>(3, 3)[1], 120, 1);
}

TEST_F(DecodeTest, RgbaPngComesOutBgrWithColoursKept) {
  cv::Mat rgba(24, 32, CV_8UC4, cv::Scalar(30, 60, 90, 255));
  rgba(cv::Rect(0, 0, 16, 24)).setTo(cv::Scalar(200, 150, 100, 40));  // half see-through
  auto r = DecodeBytes(Encode(rgba, ".png"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->bgr.type(), CV_8UC3);
  ASSERT_EQ(r->bgr.size(), rgba.size());
  EXPECT_EQ(r->bgr.at<cv::Vec3b>(5, 20), cv::Vec3b(30, 60, 90));
  EXPECT_EQ(r->bgr.at<cv::Vec3b>(5, 5), cv::Vec3b(200, 150, 100));
}

TEST_F(DecodeTest, ExifOrientation6RotatesClockwise) {
  // 64 wide, 32 tall: green, with a red block in the top-left corner.
  cv::Mat m(32, 64, CV_8UC3, cv::Scalar(0, 200, 0));
  m(cv::Rect(0, 0, 16, 16)).setTo(cv::Scalar(0, 0, 255));
  Bytes plain = Encode(m, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 95});
  Bytes rotated = WithExifOrientation(plain, 6);

  auto p = DecodeBytes(plain);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->bgr.size(), cv::Size(64, 32));

  std::string path = tmp_.File("exif6.jpg");
  WriteBytes(path, rotated);
  auto r = ReadImage(path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  // The header facts are as stored; the picture is upright.
  EXPECT_EQ(r->info.width, 64);
  EXPECT_EQ(r->info.height, 32);
  ASSERT_EQ(r->bgr.size(), cv::Size(32, 64)) << "EXIF orientation 6 was not applied";
  // Orientation 6 means "rotate 90 degrees clockwise to view": top-left goes to top-right.
  cv::Vec3b top_right = r->bgr.at<cv::Vec3b>(8, 32 - 8), top_left = r->bgr.at<cv::Vec3b>(8, 8);
  EXPECT_GT(top_right[2], 180);
  EXPECT_LT(top_right[1], 80);
  EXPECT_GT(top_left[1], 150);
  EXPECT_LT(top_left[2], 80);

  // Orientation 1 (normal) changes nothing.
  auto same = DecodeBytes(WithExifOrientation(plain, 1));
  ASSERT_TRUE(same.ok()) << same.status().ToString();
  EXPECT_EQ(same->bgr.size(), cv::Size(64, 32));
}

// -------------------------------------- Netpbm, Sun raster, Radiance HDR, JPEG 2000

// The LFW photo, or a pattern of the same size without the data folder.
cv::Mat RealPhoto() {
  std::string why, data = lineup_test::DataDir("", &why);
  cv::Mat photo;
  if (!data.empty()) photo = cv::imread(data + "/" + kLfwPhoto, cv::IMREAD_COLOR);
  return photo.empty() ? Pattern(250, 250) : photo;
}

cv::Mat Convert(const cv::Mat& m, int code) {
  cv::Mat out;
  cv::cvtColor(m, out, code);
  return out;
}

// A picture as 0..1 floats, as HDR and PFM writers take it.
cv::Mat AsFloat(const cv::Mat& m) {
  cv::Mat f;
  m.convertTo(f, CV_32F, 1 / 255.0);
  return f;
}

double MeanAbsDiff(const cv::Mat& a, const cv::Mat& b) {
  return cv::norm(a, b, cv::NORM_L1) / static_cast<double>(a.total() * a.channels());
}

// Each Netpbm kind, made by OpenCV's writer from a real photo and read back from a file
// named .jpg: same size, same pixels.
TEST_F(DecodeTest, NetpbmFromARealPhoto) {
  const cv::Mat photo = RealPhoto();
  const cv::Mat grey = Convert(photo, cv::COLOR_BGR2GRAY);
  cv::Mat bw = grey > 128;  // 0 or 255
  struct Case { const char* name; cv::Mat in; const char* ext; std::vector<int> params; const char* magic;
                const char* format; cv::Mat want; };
  const std::vector<int> plain = {cv::IMWRITE_PXM_BINARY, 0};
  // OpenCV writes colour PAM in BGR order; the standard's order is RGB.
  const std::vector<Case> cases = {
      {"ppm", photo, ".ppm", {}, "P6", "ppm", photo},
      {"pgm", grey, ".pgm", {}, "P5", "pgm", grey},
      {"pbm", bw, ".pbm", {}, "P4", "pbm", bw},
      {"plain_ppm", photo, ".ppm", plain, "P3", "ppm", photo},
      {"plain_pgm", grey, ".pgm", plain, "P2", "pgm", grey},
      {"plain_pbm", bw, ".pbm", plain, "P1", "pbm", bw},
      {"pam_rgb", Convert(photo, cv::COLOR_BGR2RGB), ".pam", {}, "P7", "pam", photo},
      {"pam_grey", grey, ".pam", {}, "P7", "pam", grey},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Bytes b = Encode(c.in, c.ext, c.params);
    ASSERT_GE(b.size(), 2u);
    ASSERT_EQ(std::string(b.begin(), b.begin() + 2), c.magic);
    std::string path = tmp_.File(std::string(c.name) + ".jpg");
    WriteBytes(path, b);
    auto r = ReadImage(path);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->info.format, c.format);
    EXPECT_EQ(r->info.width, photo.cols);
    EXPECT_EQ(r->info.height, photo.rows);
    ASSERT_EQ(r->bgr.type(), CV_8UC3);
    ASSERT_EQ(r->bgr.size(), photo.size());
    cv::Mat want = c.want.channels() == 1 ? Convert(c.want, cv::COLOR_GRAY2BGR) : c.want;
    EXPECT_EQ(cv::norm(want, r->bgr, cv::NORM_INF), 0);
  }
}

TEST_F(DecodeTest, SixteenBitNetpbmComesOut8Bit) {
  // OpenCV writes 16-bit PGM and PPM with maxval 65535, samples big-endian.
  const cv::Mat grey = Convert(RealPhoto(), cv::COLOR_BGR2GRAY);
  cv::Mat deep;
  grey.convertTo(deep, CV_16U, 257);  // 8-bit v is 16-bit v*257 exactly
  Bytes pgm = Encode(deep, ".pgm");
  ASSERT_EQ(std::string(pgm.begin(), pgm.begin() + 2), "P5");
  auto r = DecodeBytes(pgm);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->info.format, "pgm");
  EXPECT_EQ(cv::norm(Convert(grey, cv::COLOR_GRAY2BGR), r->bgr, cv::NORM_INF), 0);

  cv::Mat deep_colour(20, 30, CV_16UC3, cv::Scalar(200 * 257, 100 * 257, 50 * 257));
  auto c = DecodeBytes(Encode(deep_colour, ".ppm"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->bgr.at<cv::Vec3b>(10, 10), cv::Vec3b(200, 100, 50));

  // Samples are scaled from their own maxval, not cut to their high byte: a 10-bit
  // PGM (maxval 1023) is not almost black.
  auto ten = DecodeBytes(lineup_test::TextThen("P5\n3 1\n1023\n", {0x03, 0xFF, 0x02, 0x00, 0x00, 0x00}));
  ASSERT_TRUE(ten.ok()) << ten.status().ToString();
  EXPECT_EQ(ten->bgr.at<cv::Vec3b>(0, 0), cv::Vec3b(255, 255, 255));
  EXPECT_EQ(ten->bgr.at<cv::Vec3b>(0, 1), cv::Vec3b(128, 128, 128));  // 512 * 255 / 1023 = 127.6
  EXPECT_EQ(ten->bgr.at<cv::Vec3b>(0, 2), cv::Vec3b(0, 0, 0));
  auto plain = DecodeBytes(lineup_test::TextThen("P2\n2 1\n1023\n1023 512\n"));
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(plain->bgr.at<cv::Vec3b>(0, 0)[0], 255);
  EXPECT_EQ(plain->bgr.at<cv::Vec3b>(0, 1)[0], 128);
}

TEST_F(DecodeTest, NetpbmMaxvalBelow255IsScaled) {
  auto r = DecodeBytes(lineup_test::TextThen("P5 3 1 15\n", {0, 7, 15}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->bgr.at<cv::Vec3b>(0, 0)[1], 0);
  EXPECT_EQ(r->bgr.at<cv::Vec3b>(0, 1)[1], 119);  // 7 * 255 / 15
  EXPECT_EQ(r->bgr.at<cv::Vec3b>(0, 2)[1], 255);
  auto above = DecodeBytes(lineup_test::TextThen("P5 3 1 15\n", {0, 16, 15}));
  ASSERT_FALSE(above.ok());
  EXPECT_TRUE(Contains(above.status().message(), "above maxval")) << above.status().message();
}

TEST_F(DecodeTest, NetpbmHeaderCommentsAndWhitespace) {
  // Comments may stand between any two header fields, end with CR or LF, and hold
  // digits; fields may be split by any whitespace.
  const std::string header = "P6\n# written by a 1994 scanner\n#2 2 255\n2\t# width\r1\n\n# maxval next\n255\n";
  auto r = DecodeBytes(lineup_test::TextThen(header, {10, 20, 30, 40, 50, 60}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->info.width, 2);
  EXPECT_EQ(r->info.height, 1);
  EXPECT_EQ(r->bgr.at<cv::Vec3b>(0, 0), cv::Vec3b(30, 20, 10));
  EXPECT_EQ(r->bgr.at<cv::Vec3b>(0, 1), cv::Vec3b(60, 50, 40));
  // The single whitespace after maxval is the last header byte: a raster starting with
  // '#' or a space is pixel data, not a comment.
  auto hash = DecodeBytes(lineup_test::TextThen("P5 2 1 255\n# "));
  ASSERT_TRUE(hash.ok()) << hash.status().ToString();
  EXPECT_EQ(hash->bgr.at<cv::Vec3b>(0, 0)[0], '#');
  EXPECT_EQ(hash->bgr.at<cv::Vec3b>(0, 1)[0], ' ');
  // Plain rasters may carry comments too, and plain PBM digits need no spaces.
  auto p2 = DecodeBytes(lineup_test::TextThen("P2\n3 1 255\n0 # first\n128\n255\n"));
  ASSERT_TRUE(p2.ok()) << p2.status().ToString();
  EXPECT_EQ(p2->bgr.at<cv::Vec3b>(0, 1)[0], 128);
  auto p1 = DecodeBytes(lineup_test::TextThen("P1\n4 2\n0110\n1 0 0 1\n"));
  ASSERT_TRUE(p1.ok()) << p1.status().ToString();
  EXPECT_EQ(p1->bgr.at<cv::Vec3b>(0, 0)[0], 255);  // 0 is white
  EXPECT_EQ(p1->bgr.at<cv::Vec3b>(0, 1)[0], 0);    // 1 is black
  EXPECT_EQ(p1->bgr.at<cv::Vec3b>(1, 3)[0], 0);
  auto p3 = DecodeBytes(lineup_test::TextThen("P3 1 1 255 1 2 3\n"));
  ASSERT_TRUE(p3.ok()) << p3.status().ToString();
  EXPECT_EQ(p3->bgr.at<cv::Vec3b>(0, 0), cv::Vec3b(3, 2, 1));
}

TEST_F(DecodeTest, PamKinds) {
  auto pam = [](const std::string& fields, const Bytes& body) {
    return DecodeBytes(lineup_test::TextThen("P7\n" + fields + "ENDHDR\n", body));
  };
  auto rgba = pam("WIDTH 2\nHEIGHT 1\nDEPTH 4\nMAXVAL 255\nTUPLTYPE RGB_ALPHA\n", {1, 2, 3, 4, 5, 6, 7, 8});
  ASSERT_TRUE(rgba.ok()) << rgba.status().ToString();
  EXPECT_EQ(rgba->info.format, "pam");
  EXPECT_EQ(rgba->bgr.at<cv::Vec3b>(0, 0), cv::Vec3b(3, 2, 1));  // alpha dropped, as for PNG
  EXPECT_EQ(rgba->bgr.at<cv::Vec3b>(0, 1), cv::Vec3b(7, 6, 5));
  auto grey_alpha =
      pam("# a comment line\nWIDTH 2\nHEIGHT 1\nDEPTH 2\nMAXVAL 255\nTUPLTYPE GRAYSCALE_ALPHA\n", {9, 0, 90, 255});
  ASSERT_TRUE(grey_alpha.ok()) << grey_alpha.status().ToString();
  EXPECT_EQ(grey_alpha->bgr.at<cv::Vec3b>(0, 1), cv::Vec3b(90, 90, 90));
  auto bw = pam("WIDTH 2\nHEIGHT 1\nDEPTH 1\nMAXVAL 1\nTUPLTYPE BLACKANDWHITE\n", {1, 0});
  ASSERT_TRUE(bw.ok()) << bw.status().ToString();
  EXPECT_EQ(bw->bgr.at<cv::Vec3b>(0, 0), cv::Vec3b(255, 255, 255));  // in PAM, 1 is white
  EXPECT_EQ(bw->bgr.at<cv::Vec3b>(0, 1), cv::Vec3b(0, 0, 0));
  auto deep = pam("WIDTH 1\nHEIGHT 1\nDEPTH 3\nMAXVAL 65535\nTUPLTYPE RGB\n", {0xFF, 0xFF, 0x80, 0x00, 0, 0});
  ASSERT_TRUE(deep.ok()) << deep.status().ToString();
  EXPECT_EQ(deep->bgr.at<cv::Vec3b>(0, 0), cv::Vec3b(0, 128, 255));

  auto cmyk = pam("WIDTH 1\nHEIGHT 1\nDEPTH 4\nMAXVAL 255\nTUPLTYPE CMYK\n", {1, 2, 3, 4});
  ASSERT_FALSE(cmyk.ok());
  EXPECT_TRUE(StartsWith(cmyk.status().message(), "PAM of tuple type CMYK is not accepted")) << cmyk.status().message();
  auto five = pam("WIDTH 1\nHEIGHT 1\nDEPTH 5\nMAXVAL 255\n", {1, 2, 3, 4, 5});
  ASSERT_FALSE(five.ok());
  EXPECT_TRUE(Contains(five.status().message(), "depth 5")) << five.status().message();
  for (const char* bad : {"WIDTH 1\nHEIGHT 1\nMAXVAL 255\n",                                 // no DEPTH
                          "WIDTH 1\nWIDTH 1\nHEIGHT 1\nDEPTH 1\nMAXVAL 255\n",                // WIDTH twice
                          "WIDTH 1\nHEIGHT 1\nDEPTH 1\nMAXVAL 255\nSIZE 3\n",                 // unknown line
                          "WIDTH 1\nHEIGHT 1\nDEPTH 3\nMAXVAL 255\nTUPLTYPE GRAYSCALE\n",     // type and depth
                          "WIDTH 0\nHEIGHT 1\nDEPTH 1\nMAXVAL 255\n"}) {
    SCOPED_TRACE(bad);
    auto r = pam(bad, {1, 2, 3});
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(StartsWith(r.status().message(), "damaged PAM")) << r.status().message();
  }
  // No ENDHDR: the header never ends.
  auto endless = DecodeBytes(lineup_test::TextThen("P7\nWIDTH 1\nHEIGHT 1\nDEPTH 1\nMAXVAL 255\n"));
  ASSERT_FALSE(endless.ok());
  EXPECT_TRUE(Contains(endless.status().message(), "truncated header")) << endless.status().message();
}

TEST_F(DecodeTest, PfmFromARealPhoto) {
  const cv::Mat photo = RealPhoto();
  for (bool grey : {false, true}) {
    SCOPED_TRACE(grey ? "Pf (grey)" : "PF (colour)");
    cv::Mat in = grey ? Convert(photo, cv::COLOR_BGR2GRAY) : photo;
    std::string path = tmp_.File(grey ? "grey_pfm.jpg" : "pfm.jpg");
    WriteBytes(path, Encode(AsFloat(in), ".pfm"));
    auto r = ReadImage(path);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->info.format, "pfm");
    ASSERT_EQ(r->bgr.size(), photo.size());
    // v/255 as a float, times 255 and rounded, is v again: rows (stored bottom up) and
    // channels (stored RGB) are where they belong.
    EXPECT_EQ(cv::norm(grey ? Convert(in, cv::COLOR_GRAY2BGR) : in, r->bgr, cv::NORM_INF), 0);
  }
  // Big-endian (positive scale), out-of-range values clipped, NaN black.
  const Bytes samples = {0x40, 0x00, 0x00, 0x00,   // 2.0
                         0xBF, 0x80, 0x00, 0x00,   // -1.0
                         0x7F, 0xC0, 0x00, 0x00,   // NaN
                         0x3F, 0x00, 0x00, 0x00};  // 0.5
  auto r = DecodeBytes(lineup_test::TextThen("Pf\n2 2\n1.0\n", samples));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->bgr.at<cv::Vec3b>(1, 0)[0], 255);  // the first stored row is the bottom one
  EXPECT_EQ(r->bgr.at<cv::Vec3b>(1, 1)[0], 0);
  EXPECT_EQ(r->bgr.at<cv::Vec3b>(0, 0)[0], 0);
  EXPECT_EQ(r->bgr.at<cv::Vec3b>(0, 1)[0], 128);
  // As OpenCV reads it, the samples are divided by the scale's size.
  auto scaled = DecodeBytes(lineup_test::TextThen("Pf\n1 1\n4\n", {0x40, 0x00, 0x00, 0x00}));
  ASSERT_TRUE(scaled.ok()) << scaled.status().ToString();
  EXPECT_EQ(scaled->bgr.at<cv::Vec3b>(0, 0)[0], 128);
  for (const char* bad : {"PF\n1 1\n0\n", "PF\n1 1\nnan\n", "PF\n1 1\n-1x\n"}) {
    SCOPED_TRACE(bad);
    auto b = DecodeBytes(lineup_test::TextThen(bad, Bytes(12, 0)));
    ASSERT_FALSE(b.ok());
    EXPECT_TRUE(Contains(b.status().message(), "scale")) << b.status().message();
  }
}

TEST_F(DecodeTest, SunRasterFromARealPhoto) {
  const cv::Mat photo = RealPhoto();
  const cv::Mat grey = Convert(photo, cv::COLOR_BGR2GRAY);
  // OpenCV's writer: 24-bit BGR and 8-bit grey, plain. (OpenCV 4.6 itself reads the
  // grey one back as black.)
  for (const cv::Mat& in : {photo, grey}) {
    SCOPED_TRACE(in.channels());
    std::string path = tmp_.File(in.channels() == 3 ? "colour_ras.jpg" : "grey_ras.jpg");
    WriteBytes(path, Encode(in, ".ras"));
    auto r = ReadImage(path);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->info.format, "sunraster");
    ASSERT_EQ(r->bgr.size(), photo.size());
    EXPECT_EQ(cv::norm(in.channels() == 3 ? in : Convert(in, cv::COLOR_GRAY2BGR), r->bgr, cv::NORM_INF), 0);
  }
  // Rows padded to 16 bits, in every layout the format has: run-length encoded, RGB
  // order (type 3), 32-bit with a pad byte, a colour map, 1-bit.
  const cv::Mat odd = photo(cv::Rect(0, 0, 101, 60)).clone();
  Bytes bgr_rows, rgb_rows, xbgr_rows, grey_rows;
  for (int y = 0; y < odd.rows; ++y) {
    for (int x = 0; x < odd.cols; ++x) {
      const cv::Vec3b p = odd.at<cv::Vec3b>(y, x);
      bgr_rows.insert(bgr_rows.end(), {p[0], p[1], p[2]});
      rgb_rows.insert(rgb_rows.end(), {p[2], p[1], p[0]});
      xbgr_rows.insert(xbgr_rows.end(), {0, p[0], p[1], p[2]});
      grey_rows.push_back(static_cast<uint8_t>(x + y));
    }
    bgr_rows.push_back(0);  // 303 bytes a row, padded to 304
    rgb_rows.push_back(0);
    grey_rows.push_back(0);
  }
  struct Case { const char* name; Bytes file; cv::Mat want; };
  cv::Mat ramp(odd.size(), CV_8UC3);
  cv::Mat mapped(odd.size(), CV_8UC3);
  Bytes map(3 * 256);
  for (int i = 0; i < 256; ++i) {
    map[i] = static_cast<uint8_t>(i);            // red
    map[256 + i] = static_cast<uint8_t>(255 - i);  // green
    map[512 + i] = 7;                            // blue
  }
  for (int y = 0; y < odd.rows; ++y)
    for (int x = 0; x < odd.cols; ++x) {
      const auto v = static_cast<uint8_t>(x + y);
      ramp.at<cv::Vec3b>(y, x) = cv::Vec3b(v, v, v);
      mapped.at<cv::Vec3b>(y, x) = cv::Vec3b(7, static_cast<uint8_t>(255 - v), v);
    }
  const std::vector<Case> cases = {
      {"rle_24", lineup_test::SunRaster(101, 60, 24, 2, lineup_test::SunRasterRle(bgr_rows)), odd},
      {"rgb_24", lineup_test::SunRaster(101, 60, 24, 3, rgb_rows), odd},
      {"xbgr_32", lineup_test::SunRaster(101, 60, 32, 1, xbgr_rows), odd},
      {"rle_8", lineup_test::SunRaster(101, 60, 8, 2, lineup_test::SunRasterRle(grey_rows)), ramp},
      {"map_8", lineup_test::SunRaster(101, 60, 8, 1, grey_rows, map), mapped},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = DecodeBytes(c.file);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->info.width, 101);
    EXPECT_EQ(r->info.height, 60);
    EXPECT_EQ(cv::norm(c.want, r->bgr, cv::NORM_INF), 0);
  }
  // 1 bit: set is black; 10 pixels take 2 bytes a row.
  auto mono = DecodeBytes(lineup_test::SunRaster(10, 1, 1, 1, {0xC0, 0x40}));
  ASSERT_TRUE(mono.ok()) << mono.status().ToString();
  EXPECT_EQ(mono->bgr.at<cv::Vec3b>(0, 0)[0], 0);
  EXPECT_EQ(mono->bgr.at<cv::Vec3b>(0, 2)[0], 255);
  EXPECT_EQ(mono->bgr.at<cv::Vec3b>(0, 9)[0], 0);
}

TEST_F(DecodeTest, RadianceHdrFromARealPhoto) {
  const cv::Mat photo = RealPhoto();
  // OpenCV's writer run-length encodes every scanline; the flat one is made here.
  for (bool flat : {false, true}) {
    SCOPED_TRACE(flat ? "flat" : "run-length encoded");
    std::string path = tmp_.File(flat ? "flat_hdr.jpg" : "hdr.jpg");
    WriteBytes(path, flat ? lineup_test::FlatRadiance(photo) : Encode(AsFloat(photo), ".hdr"));
    auto r = ReadImage(path);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->info.format, "hdr");
    ASSERT_EQ(r->bgr.size(), photo.size());
    // RGBE keeps 8 bits of mantissa for the brightest channel of each pixel, fewer for
    // the others: within a level or two of the photo.
    EXPECT_LE(cv::norm(photo, r->bgr, cv::NORM_INF), 2);
    EXPECT_LT(MeanAbsDiff(photo, r->bgr), 0.5);
  }
  // Brighter than 1 is clipped (the 8-bit range is 0 to 1).
  auto bright = DecodeBytes(Encode(cv::Mat(10, 12, CV_32FC3, cv::Scalar(4.0, 1.5, 0)), ".hdr"));
  ASSERT_TRUE(bright.ok()) << bright.status().ToString();
  const cv::Vec3b px = bright->bgr.at<cv::Vec3b>(5, 5);
  EXPECT_EQ(px[0], 255);
  EXPECT_EQ(px[1], 255);
  // A zero mantissa stands for the lowest step of its pixel's scale, as Radiance reads
  // it: 0.5/32 here, 4 of 255.
  EXPECT_LE(px[2], 4);
  // Other header lines (the commands that made it, EXPOSURE) change nothing.
  Bytes plain = Encode(AsFloat(Pattern(16, 8)), ".hdr");
  std::string text(plain.begin(), plain.end());
  text.insert(text.find('\n') + 1, "# made by hand\nEXPOSURE=2.0\npfilt -x /2 -y /2 " + std::string(300, 'x') + "\n");
  auto more = DecodeBytes(Bytes(text.begin(), text.end()));
  ASSERT_TRUE(more.ok()) << more.status().ToString();
  EXPECT_EQ(cv::norm(more->bgr, DecodeBytes(plain)->bgr, cv::NORM_INF), 0);
}

TEST_F(DecodeTest, Jpeg2000FromARealPhoto) {
  const cv::Mat photo = RealPhoto();
  Bytes jp2 = Encode(photo, ".jp2");
  std::string path = tmp_.File("jp2.jpg");
  WriteBytes(path, jp2);
  auto r = ReadImage(path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->info.format, "jp2");
  EXPECT_EQ(r->info.width, photo.cols);
  EXPECT_EQ(r->info.height, photo.rows);
  ASSERT_EQ(r->bgr.size(), photo.size());
  // OpenCV writes lossy JPEG 2000 (4:1): close to the photo, and exactly what OpenCV decodes.
  EXPECT_LT(MeanAbsDiff(photo, r->bgr), 3.0);
  cv::Mat ref = cv::imdecode(jp2, cv::IMREAD_COLOR);
  EXPECT_EQ(cv::norm(ref, r->bgr, cv::NORM_INF), 0);

  // The bare codestream (.j2k) gives the same picture.
  Bytes j2k = lineup_test::Jp2Codestream(jp2);
  auto bare = DecodeBytes(j2k);
  ASSERT_TRUE(bare.ok()) << bare.status().ToString();
  EXPECT_EQ(bare->info.format, "j2k");
  EXPECT_EQ(cv::norm(r->bgr, bare->bgr, cv::NORM_INF), 0);

  // Grey, and 16-bit samples scaled from their maximum.
  const cv::Mat grey = Convert(photo, cv::COLOR_BGR2GRAY);
  auto g = DecodeBytes(Encode(grey, ".jp2"));
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_LT(MeanAbsDiff(Convert(grey, cv::COLOR_GRAY2BGR), g->bgr), 3.0);
  cv::Mat deep(32, 40, CV_16UC3, cv::Scalar(200 * 257, 100 * 257, 50 * 257));
  auto d = DecodeBytes(Encode(deep, ".jp2"));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  cv::Vec3b px = d->bgr.at<cv::Vec3b>(16, 20);
  EXPECT_NEAR(px[0], 200, 1);
  EXPECT_NEAR(px[1], 100, 1);
  EXPECT_NEAR(px[2], 50, 1);
}

// Cut-short files of every new format, at several points in the pixel data, and the
// header itself cut: all refused, none decoded into a partly blank picture.
TEST_F(DecodeTest, CutShortFilesOfTheNewFormatsAreRefused) {
  const cv::Mat photo = RealPhoto();
  const cv::Mat grey = Convert(photo, cv::COLOR_BGR2GRAY);
  const std::vector<int> plain = {cv::IMWRITE_PXM_BINARY, 0};
  struct Case { const char* name; Bytes file; };
  std::vector<Case> cases = {
      {"pgm", Encode(grey, ".pgm")},
      {"ppm", Encode(photo, ".ppm")},
      {"pbm", Encode(grey > 128, ".pbm")},
      {"plain pgm", Encode(grey, ".pgm", plain)},
      {"plain ppm", Encode(photo, ".ppm", plain)},
      {"plain pbm", Encode(grey > 128, ".pbm", plain)},
      {"pam", Encode(photo, ".pam")},
      {"pfm", Encode(AsFloat(photo), ".pfm")},
      {"sun raster", Encode(photo, ".ras")},
      {"hdr", Encode(AsFloat(photo), ".hdr")},
      {"flat hdr", lineup_test::FlatRadiance(photo)},
      {"jp2", Encode(photo, ".jp2")},
      {"j2k", lineup_test::Jp2Codestream(Encode(photo, ".jp2"))},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto whole = DecodeBytes(c.file);
    ASSERT_TRUE(whole.ok()) << whole.status().ToString();
    const size_t n = c.file.size();
    for (size_t keep : {size_t{20}, n / 10, n / 2, n * 9 / 10, n - 2, n - 1}) {
      SCOPED_TRACE(keep);
      // Plain Netpbm files end with whitespace. A cut that takes only some of it may
      // pass, but only as the whole picture.
      bool only_space = true;
      for (size_t i = keep; i < n; ++i) only_space = only_space && std::isspace(c.file[i]);
      auto r = DecodeBytes(lineup_test::Cut(c.file, keep));
      if (only_space && r.ok()) {
        EXPECT_EQ(cv::norm(whole->bgr, r->bgr, cv::NORM_INF), 0);
        continue;
      }
      ASSERT_FALSE(r.ok()) << "a cut file decoded into a " << r->bgr.cols << "x" << r->bgr.rows << " picture";
      EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
      EXPECT_TRUE(Contains(r.status().message(), "truncated")) << r.status().message();
    }
  }
  // A cut JPEG 2000 codestream closed with an end marker, as for JPEG: the tile-part
  // lengths say what is missing.
  Bytes jp2 = Encode(photo, ".jp2");
  for (double keep : {0.5, 0.9}) {
    Bytes cut = lineup_test::Cut(jp2, static_cast<size_t>(jp2.size() * keep));
    cut.insert(cut.end(), {0xFF, 0xD9});
    auto r = DecodeBytes(cut);
    ASSERT_FALSE(r.ok()) << "a cut JPEG 2000 decoded into a " << r->bgr.cols << "x" << r->bgr.rows << " picture";
    EXPECT_TRUE(StartsWith(r.status().message(), "damaged JPEG 2000")) << r.status().message();
  }
  // A run-length encoded Sun raster whose runs stop short.
  Bytes rle = lineup_test::SunRaster(64, 64, 8, 2, {0x80, 0xFF, 7, 0x80, 0xFF, 9});
  auto r = DecodeBytes(rle);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Contains(r.status().message(), "truncated: 512 of 4096 bytes")) << r.status().message();
}

// Headers declaring far more pixels than the file holds are refused by the pixel
// limit, before anything is read or allocated.
TEST_F(DecodeTest, HugeDeclaredSizesAreRefusedByThePixelLimit) {
  const Bytes ten(10, 0x55);
  struct Case { const char* name; Bytes file; const char* format; };
  const std::vector<Case> cases = {
      {"pgm", lineup_test::TextThen("P5 100000 100000 255\n", ten), "PGM"},
      {"plain ppm", lineup_test::TextThen("P3 100000 100000 255\n1 2 3\n"), "PPM"},
      {"pbm", lineup_test::TextThen("P4 100000 100000\n", ten), "PBM"},
      {"pam", lineup_test::TextThen("P7\nWIDTH 100000\nHEIGHT 100000\nDEPTH 3\nMAXVAL 255\nENDHDR\n", ten), "PAM"},
      {"pfm", lineup_test::TextThen("PF\n100000 100000\n-1\n", ten), "PFM"},
      {"int overflow", lineup_test::TextThen("P5 2147483647 2147483647 65535\n", ten), "PGM"},
      {"sun raster", lineup_test::SunRaster(100000, 100000, 24, 1, ten), "Sun raster"},
      {"hdr", lineup_test::TextThen("#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 100000 +X 100000\n", ten),
       "Radiance HDR"},
      {"jp2", lineup_test::Jp2Declaring(100000, 100000), "JPEG 2000"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto info = ProbeImage(c.file);
    ASSERT_TRUE(info.ok()) << info.status().ToString();
    EXPECT_GE(int64_t{info->width} * info->height, int64_t{10'000'000'000});
    auto t0 = std::chrono::steady_clock::now();
    auto r = DecodeBytes(c.file);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(StartsWith(r.status().message(), std::string(c.format) + " of ")) << r.status().message();
    EXPECT_TRUE(Contains(r.status().message(), "limit")) << r.status().message();
    EXPECT_LT(secs, 0.5);
  }
  // Within the limit, the same short files are refused as cut short, still before the
  // picture is allocated.
  lineup::DecodeOptions o;
  o.max_pixels = int64_t{1} << 40;
  auto big = DecodeBytes(lineup_test::TextThen("P5 100000 100000 255\n", ten), o);
  ASSERT_FALSE(big.ok());
  EXPECT_TRUE(Contains(big.status().message(), "truncated: 10 of 10000000000 bytes")) << big.status().message();
  auto rle = DecodeBytes(lineup_test::SunRaster(100000, 100000, 8, 2, {0x80, 0xFF, 1}), o);
  ASSERT_FALSE(rle.ok());
  EXPECT_TRUE(Contains(rle.status().message(), "truncated")) << rle.status().message();
}

TEST_F(DecodeTest, BadNetpbmHeadersAreRefused) {
  struct Case { const char* header; const char* why; };
  const std::vector<Case> cases = {
      {"P5 100 100 0\n", "maxval 0 out of range 1-65535"},
      {"P5 100 100 70000\n", "maxval 70000 out of range 1-65535"},
      {"P2 100 100 70000\n", "maxval 70000"},
      {"P5 abc 100 255\n", "width is not a number"},
      {"P5 100 12x 255\n", "height is not a number"},
      {"P5 -3 100 255\n", "negative width"},
      {"P5 0 100 255\n", "width 0 out of range"},
      {"P6 100 0 255\n", "height 0 out of range"},
      {"P5 4294967296 2 255\n", "width out of range"},
      {"P5 99999999999999999999 2 255\n", "width out of range"},
      {"P5 2147483648 2 255\n", "width 2147483648 out of range"},
      {"P5 2 2 255", "truncated header"},           // no newline after maxval, nothing after it
      {"P5 2 2 255\x01\x02\x03\x04", "no whitespace after the maxval"},
      {"P4 8 1\x01", "no whitespace after the height"},
      {"P5", "truncated header"},                   // nothing after the magic number
      {"P5\n", "truncated header"},
      {"P1", "truncated header"},
      {"PF\n", "truncated header"},
      {"P7\n", "truncated header"},
      {"P5 2 2", "truncated header"},
      {"P5 2 2 # a comment that never ends", "truncated header"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.header);
    Bytes b = lineup_test::TextThen(c.header);
    auto r = DecodeBytes(b);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
    EXPECT_TRUE(StartsWith(r.status().message(), "damaged P")) << r.status().message();
    EXPECT_TRUE(Contains(r.status().message(), c.why)) << r.status().message();
    EXPECT_FALSE(ProbeImage(b).ok());
  }
  // Plain rasters: a sample above maxval, a non-number, too few samples, a cut number.
  for (const char* bad : {"P2 2 1 100\n5 101\n", "P2 2 1 255\n5 x\n", "P2 2 2 255\n1 2 3\n", "P3 1 1 255\n1 2 3",
                          "P1 3 1\n012\n"}) {
    SCOPED_TRACE(bad);
    auto r = DecodeBytes(lineup_test::TextThen(bad));
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(StartsWith(r.status().message(), "damaged P")) << r.status().message();
  }
}

TEST_F(DecodeTest, TenMegabyteCommentHeaderIsRefusedFast) {
  std::string header = "P5\n#";
  header.append(10 << 20, 'x');
  header += "\n2 2 255\n";
  Bytes b = lineup_test::TextThen(header, {1, 2, 3, 4});
  auto t0 = std::chrono::steady_clock::now();
  auto r = DecodeBytes(b);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Contains(r.status().message(), "header longer than 65536 bytes")) << r.status().message();
  EXPECT_LT(secs, 0.5);
  // A long comment of a few kilobytes is fine.
  auto fine = DecodeBytes(lineup_test::TextThen("P5\n#" + std::string(4000, 'x') + "\n2 2 255\n", {1, 2, 3, 4}));
  EXPECT_TRUE(fine.ok()) << fine.status().ToString();
}

TEST_F(DecodeTest, BadSunRasterHeadersAreRefused) {
  auto depth = DecodeBytes(lineup_test::SunRaster(4, 4, 16, 1, Bytes(32, 0)));
  ASSERT_FALSE(depth.ok());
  EXPECT_TRUE(StartsWith(depth.status().message(), "Sun raster of depth 16 is not accepted"))
      << depth.status().message();
  auto zero = DecodeBytes(lineup_test::SunRaster(0, 4, 8, 1, Bytes(32, 0)));
  ASSERT_FALSE(zero.ok());
  EXPECT_TRUE(Contains(zero.status().message(), "zero size")) << zero.status().message();
  Bytes two_colours = {255, 0, 255, 0, 255, 0};  // red, green and blue vectors of 2 entries
  auto index = DecodeBytes(lineup_test::SunRaster(2, 1, 8, 1, {1, 2}, two_colours));
  ASSERT_FALSE(index.ok());
  EXPECT_TRUE(Contains(index.status().message(), "colour map")) << index.status().message();
  auto header = DecodeBytes(lineup_test::Cut(lineup_test::SunRaster(2, 1, 8, 1, {1, 2}), 20));
  ASSERT_FALSE(header.ok());
  EXPECT_TRUE(Contains(header.status().message(), "truncated header")) << header.status().message();
}

TEST_F(DecodeTest, BadRadianceHeadersAreRefused) {
  auto xyz = DecodeBytes(lineup_test::TextThen("#?RADIANCE\nFORMAT=32-bit_rle_xyze\n\n-Y 1 +X 1\n", {1, 1, 1, 128}));
  ASSERT_FALSE(xyz.ok());
  EXPECT_TRUE(StartsWith(xyz.status().message(), "Radiance HDR in XYZE colours is not accepted"))
      << xyz.status().message();
  auto flipped =
      DecodeBytes(lineup_test::TextThen("#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n+Y 1 +X 1\n", {1, 1, 1, 128}));
  ASSERT_FALSE(flipped.ok());
  EXPECT_TRUE(Contains(flipped.status().message(), "orientation")) << flipped.status().message();
  for (const char* bad : {"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n",  // the header never ends
                          "#?RADIANCE\n\n-Y 0 +X 1\n", "#?RGBE\n\n-Y x +X 1\n"}) {
    SCOPED_TRACE(bad);
    auto r = DecodeBytes(lineup_test::TextThen(bad, {1, 1, 1, 128}));
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(StartsWith(r.status().message(), "damaged Radiance HDR")) << r.status().message();
  }
}

// A header box cut short; a codestream with five components.
TEST_F(DecodeTest, BadJpeg2000HeadersAreRefused) {
  Bytes jp2 = Encode(Pattern(), ".jp2");
  auto cut = ProbeImage(lineup_test::Cut(jp2, 40));
  ASSERT_FALSE(cut.ok());
  EXPECT_TRUE(StartsWith(cut.status().message(), "damaged JPEG 2000")) << cut.status().message();
  Bytes j2k = lineup_test::Jp2Codestream(jp2);
  ASSERT_GT(j2k.size(), 44u);
  j2k[5] = 38 + 3 * 5;  // Lsiz
  j2k[41] = 5;          // Csiz
  auto five = ProbeImage(j2k);
  ASSERT_FALSE(five.ok());
  EXPECT_TRUE(StartsWith(five.status().message(), "JPEG 2000 with 5 components is not accepted"))
      << five.status().message();
}

// Formats recognised by their magic bytes that are not accepted say so by name.
TEST_F(DecodeTest, RecognisedButRefusedFormatsSayWhy) {
  Bytes exr;
  if (cv::haveImageWriter(".exr")) exr = Encode(AsFloat(Pattern()), ".exr");
  if (exr.empty()) exr = {0x76, 0x2F, 0x31, 0x01, 2, 0, 0, 0};
  Bytes dicom(128, 0);
  dicom.insert(dicom.end(), {'D', 'I', 'C', 'M', 2, 0, 0, 0});
  Bytes heic = {0, 0, 0, 24, 'f', 't', 'y', 'p', 'h', 'e', 'i', 'c', 0, 0, 0, 0,
                'm', 'i', 'f', '1', 'h', 'e', 'i', 'c'};
  Bytes avif = {0, 0, 0, 20, 'f', 't', 'y', 'p', 'a', 'v', 'i', 'f', 0, 0, 0, 0, 'm', 'i', 'f', '1'};
  Bytes jxl = {0xFF, 0x0A, 0xFA, 0x7F, 0x01, 0x90, 0x08};
  struct Case { const char* name; Bytes file; const char* start; };
  for (const auto& c : {Case{"exr", exr, "OpenEXR is not accepted: "}, Case{"dicom", dicom, "DICOM is not accepted: "},
                        Case{"heic", heic, "HEIC is not accepted: "}, Case{"avif", avif, "AVIF is not accepted: "},
                        Case{"jxl", jxl, "JPEG XL is not accepted: "}}) {
    SCOPED_TRACE(c.name);
    std::string path = tmp_.File(std::string(c.name) + ".jpg");
    WriteBytes(path, c.file);
    auto r = ReadImage(path);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
    EXPECT_TRUE(StartsWith(r.status().message(), path + ": " + c.start)) << r.status().message();
  }
  // Text that starts like a Netpbm magic number but is not one.
  auto text = ProbeImage(lineup_test::TextThen("P5ychology notes\n"));
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.status().message(), "not an image (text)");
}

// ------------------------------------------------------------------------ fuzz

// Random damage to real files: DecodeImage may accept or refuse, but must never
// crash, hang or hand back something that is not a CV_8UC3 picture.
void FuzzDecode(const Bytes& base, int iterations, uint32_t seed, int* accepted) {
  std::mt19937 rng(seed);
  for (int it = 0; it < iterations; ++it) {
    Bytes b = base;
    int mode = static_cast<int>(rng() % 3);
    if (mode != 1) {  // truncate
      b.resize(rng() % (b.size() + 1));
    }
    if (mode != 0 && !b.empty()) {  // flip bytes, mostly near the start where headers are
      int flips = 1 + static_cast<int>(rng() % 8);
      for (int k = 0; k < flips; ++k) {
        size_t at = (rng() % 2) ? rng() % std::min<size_t>(b.size(), 512) : rng() % b.size();
        b[at] ^= static_cast<uint8_t>(1 + rng() % 255);
      }
    }
    lineup::DecodeOptions o;
    o.max_pixels = 4'000'000;
    auto r = DecodeBytes(b, o);
    if (r.ok()) {
      ++*accepted;
      ASSERT_EQ(r->bgr.type(), CV_8UC3) << "iteration " << it;
      ASSERT_FALSE(r->bgr.empty()) << "iteration " << it;
      ASSERT_LE(int64_t{r->bgr.cols} * r->bgr.rows, o.max_pixels) << "iteration " << it;
    } else {
      ASSERT_FALSE(r.status().message().empty()) << "iteration " << it;
    }
  }
}

TEST_F(DecodeTest, FuzzedJpegAndPngNeverCrash) {
  cv::Mat photo;
  Bytes jpeg;
  std::string why, data = lineup_test::DataDir("", &why);
  if (!data.empty()) {
    jpeg = ReadBytes(data + "/" + kLfwPhoto);
    photo = cv::imread(data + "/" + kLfwPhoto, cv::IMREAD_COLOR);
  }
  if (photo.empty()) {
    photo = Pattern(120, 90);
    jpeg = Encode(photo, ".jpg");
  }
  cv::Mat small;
  cv::resize(photo, small, cv::Size(), 0.5, 0.5, cv::INTER_AREA);
  Bytes png = Encode(small, ".png");
  int accepted = 0;
  FuzzDecode(jpeg, 300, 20240601u, &accepted);
  FuzzDecode(png, 300, 20240602u, &accepted);
  RecordProperty("accepted", accepted);
}

TEST_F(DecodeTest, FuzzedNewFormatsNeverCrash) {
  cv::Mat m = Pattern(48, 40);
  cv::Mat grey = Convert(m, cv::COLOR_BGR2GRAY);
  int accepted = 0;
  uint32_t seed = 100;
  const std::vector<int> plain = {cv::IMWRITE_PXM_BINARY, 0};
  std::vector<Bytes> files = {
      Encode(grey, ".pgm"),
      Encode(m, ".ppm"),
      Encode(grey, ".pgm", plain),
      Encode(m, ".ppm", plain),
      Encode(grey > 100, ".pbm"),
      Encode(m, ".pam"),
      Encode(AsFloat(m), ".pfm"),
      Encode(m, ".ras"),
      Encode(AsFloat(m), ".hdr"),
      Encode(m, ".jp2"),
      lineup_test::Jp2Codestream(Encode(m, ".jp2")),
  };
  Bytes rows(48 * 40, 0);
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<uint8_t>(i / 7 % 3 == 0 ? 0x80 : i / 50);
  files.push_back(lineup_test::SunRaster(48, 40, 8, 2, lineup_test::SunRasterRle(rows)));
  for (const Bytes& b : files) FuzzDecode(b, 150, seed++, &accepted);
  RecordProperty("accepted", accepted);
}

TEST_F(DecodeTest, FuzzedBmpTiffWebpNeverCrash) {
  cv::Mat m = Pattern(48, 40);
  int accepted = 0;
  FuzzDecode(Encode(m, ".bmp"), 150, 7u, &accepted);
  FuzzDecode(Encode(m, ".tiff"), 150, 8u, &accepted);
  if (cv::haveImageWriter(".webp")) FuzzDecode(Encode(m, ".webp"), 150, 9u, &accepted);
}

// Short buffers behind each format's magic bytes exercise the hand-written header
// parsers at every length (ASan catches any read past the end).
TEST_F(DecodeTest, ShortHeadersBehindEveryMagicNeverCrash) {
  const std::vector<Bytes> magics = {
      {0xFF, 0xD8, 0xFF},
      {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 'I', 'H', 'D', 'R'},
      {'R', 'I', 'F', 'F', 0, 0, 0, 0, 'W', 'E', 'B', 'P', 'V', 'P', '8', ' '},
      {'R', 'I', 'F', 'F', 0, 0, 0, 0, 'W', 'E', 'B', 'P', 'V', 'P', '8', 'L'},
      {'R', 'I', 'F', 'F', 0, 0, 0, 0, 'W', 'E', 'B', 'P', 'V', 'P', '8', 'X'},
      {'B', 'M'},
      {'I', 'I', 42, 0},
      {'M', 'M', 0, 42},
      {'P', '1', '\n'}, {'P', '2', ' '}, {'P', '3', '\n'}, {'P', '4', '\n'}, {'P', '5', '\n'}, {'P', '6', '\n'},
      {'P', '7', '\n'}, {'P', 'F', '\n'}, {'P', 'f', '\n'},
      {0x59, 0xA6, 0x6A, 0x95},
      {'#', '?', 'R', 'A', 'D', 'I', 'A', 'N', 'C', 'E', '\n'},
      {0, 0, 0, 0x0C, 'j', 'P', ' ', ' ', 0x0D, 0x0A, 0x87, 0x0A},
      {0xFF, 0x4F, 0xFF, 0x51},
  };
  std::mt19937 rng(99);
  for (const auto& magic : magics) {
    for (size_t extra = 0; extra <= 48; ++extra) {
      for (int rep = 0; rep < 20; ++rep) {
        Bytes b = magic;
        for (size_t k = 0; k < extra; ++k) b.push_back(static_cast<uint8_t>(rep == 0 ? 0 : rng()));
        // Exact-length heap copy so that an over-read is caught by ASan.
        std::unique_ptr<uint8_t[]> exact(new uint8_t[b.size()]);
        std::memcpy(exact.get(), b.data(), b.size());
        auto probe = ProbeImage(std::span<const uint8_t>(exact.get(), b.size()));
        lineup::DecodeOptions o;
        o.max_pixels = 1'000'000;
        auto r = DecodeImage(std::span<const uint8_t>(exact.get(), b.size()), o);
        if (r.ok()) {
          EXPECT_EQ(r->bgr.type(), CV_8UC3);
        }
        if (!probe.ok()) {
          EXPECT_FALSE(r.ok());
        }
      }
    }
  }
}

}  // namespace

TEST(ExifCaptureTime, RealPhotoAndHostileBytes) {
  std::string dir;
  LINEUP_REQUIRE_DATA(dir, "face_recognition/examples/knn_examples/train/obama");
  auto bytes = lineup_test::ReadBytes(dir + "/obama.jpg");
  EXPECT_EQ(lineup::ExifCaptureTime(bytes), "2012-12-06T15:46:01");
  EXPECT_EQ(lineup::ExifCaptureTime({}), "");
  // Damaged EXIF must never crash or invent a date with non-digits in it.
  std::mt19937 rng(7);
  for (int i = 0; i < 300; ++i) {
    auto b = bytes;
    b.resize(std::min<size_t>(b.size(), 4096));
    for (int k = 0; k < 8; ++k) b[rng() % b.size()] = static_cast<uint8_t>(rng());
    const std::string t = lineup::ExifCaptureTime(b);
    if (!t.empty()) {
      ASSERT_EQ(t.size(), 19u);
      for (size_t k : {0u, 1u, 2u, 3u, 5u, 6u, 8u, 9u, 11u, 12u, 14u, 15u, 17u, 18u}) ASSERT_TRUE(isdigit(t[k])) << t;
    }
  }
}

namespace {
// An EXIF block ("Exif\0\0" and a little-endian TIFF) holding only a GPS position:
// latitude d m s with its reference, and the same for longitude.
std::vector<uint8_t> ExifWithGps(char lat_ref, const uint32_t lat[6], char lon_ref, const uint32_t lon[6]) {
  std::vector<uint8_t> t = {'I', 'I', 42, 0, 8, 0, 0, 0};
  auto u16 = [&](uint16_t v) { t.push_back(v & 0xff), t.push_back(v >> 8); };
  auto u32 = [&](uint32_t v) {
    for (int i = 0; i < 4; ++i) t.push_back(static_cast<uint8_t>(v >> (8 * i)));
  };
  // IFD0 at 8: one entry, the GPS IFD's offset (8 + 2 + 12 + 4 = 26).
  u16(1);
  u16(0x8825), u16(4), u32(1), u32(26);
  u32(0);
  // GPS IFD at 26: four entries; the rationals follow at 26 + 2 + 48 + 4 = 80 and 104.
  u16(4);
  u16(1), u16(2), u32(2), t.push_back(static_cast<uint8_t>(lat_ref)), t.push_back(0), t.push_back(0), t.push_back(0);
  u16(2), u16(5), u32(3), u32(80);
  u16(3), u16(2), u32(2), t.push_back(static_cast<uint8_t>(lon_ref)), t.push_back(0), t.push_back(0), t.push_back(0);
  u16(4), u16(5), u32(3), u32(104);
  u32(0);
  for (int i = 0; i < 6; ++i) u32(lat[i]);
  for (int i = 0; i < 6; ++i) u32(lon[i]);
  std::vector<uint8_t> out = {'E', 'x', 'i', 'f', 0, 0};
  out.insert(out.end(), t.begin(), t.end());
  return out;
}
}  // namespace

TEST(ExifPlace, GpsPositionAndHostileBytes) {
  const uint32_t lat[6] = {51, 1, 30, 1, 1530, 100};  // 51° 30' 15.30"
  const uint32_t lon[6] = {0, 1, 7, 1, 3960, 100};    // 0° 7' 39.60"
  EXPECT_EQ(lineup::ExifPlace(ExifWithGps('N', lat, 'W', lon)), "51.504250,-0.127667");
  EXPECT_EQ(lineup::ExifPlace(ExifWithGps('S', lat, 'E', lon)), "-51.504250,0.127667");
  const uint32_t zero_den[6] = {51, 0, 30, 1, 1530, 100};
  EXPECT_EQ(lineup::ExifPlace(ExifWithGps('N', zero_den, 'W', lon)), "") << "a zero denominator";
  const uint32_t too_far[6] = {200, 1, 0, 1, 0, 1};
  EXPECT_EQ(lineup::ExifPlace(ExifWithGps('N', too_far, 'W', lon)), "") << "latitude over 90";
  EXPECT_EQ(lineup::ExifPlace({}), "");
  std::string dir;
  LINEUP_REQUIRE_DATA(dir, "face_recognition/examples/knn_examples/train/obama");
  EXPECT_EQ(lineup::ExifPlace(lineup_test::ReadBytes(dir + "/obama.jpg")), "") << "a photo without GPS";
  auto good = ExifWithGps('N', lat, 'W', lon);
  std::mt19937 rng(11);
  for (int i = 0; i < 500; ++i) {
    auto b = good;
    for (int k = 0; k < 4; ++k) b[6 + rng() % (b.size() - 6)] = static_cast<uint8_t>(rng());
    const std::string p = lineup::ExifPlace(b);
    if (!p.empty()) {
      double la = 0, lo = 0;
      ASSERT_EQ(std::sscanf(p.c_str(), "%lf,%lf", &la, &lo), 2) << p;
      ASSERT_LE(std::fabs(la), 90) << p;
      ASSERT_LE(std::fabs(lo), 180) << p;
    }
  }
}

namespace {

// DecodeImage decodes a JPEG in one pass with libjpeg (checking its data as it goes);
// the pixels must be exactly cv::imdecode's, EXIF orientation included, on every JPEG
// of the real-photo folders and a sample of LFW.
TEST(DecodeJpegOnce, SamePixelsAsOpenCv) {
  std::string data;
  LINEUP_REQUIRE_DATA(data, "lfw/images");
  data = std::filesystem::path(data).parent_path().parent_path().string();
  std::vector<std::string> paths;
  for (const char* sub : {"deepface", "face_recognition", "groups", "detection"}) {
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(data + "/" + sub, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); ++it) {
      std::string ext = it->path().extension().string();
      for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (ext == ".jpg" || ext == ".jpeg") paths.push_back(it->path().string());
    }
  }
  std::vector<std::string> lfw;
  for (const auto& e : std::filesystem::recursive_directory_iterator(data + "/lfw/images"))
    if (e.path().extension() == ".jpg") lfw.push_back(e.path().string());
  std::sort(lfw.begin(), lfw.end());
  for (size_t i = 0; i < lfw.size(); i += 97) paths.push_back(lfw[i]);
  int compared = 0;
  for (const auto& p : paths) {
    auto bytes = lineup::ReadFileBytes(p, int64_t{256} << 20);
    ASSERT_TRUE(bytes.ok()) << p;
    std::vector<uint8_t> b(bytes->begin(), bytes->end());
    auto ours = DecodeImage(b);
    if (!ours.ok() || ours->info.format != "jpeg") continue;  // not a JPEG inside, or refused as before
    cv::Mat theirs = cv::imdecode(b, cv::IMREAD_COLOR);
    ASSERT_FALSE(theirs.empty()) << p;
    ASSERT_EQ(ours->bgr.size(), theirs.size()) << p;
    EXPECT_EQ(cv::norm(ours->bgr, theirs, cv::NORM_INF), 0) << p;
    ++compared;
  }
  EXPECT_GE(compared, 150) << "JPEGs compared";
}

}  // namespace
