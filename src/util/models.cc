#include "lineup/models.h"

#include <openssl/evp.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>

#include "model_sums.h"  // generated from scripts/models.sha256

namespace lineup {

namespace {
const char* kFetchHint = "run `make models` (scripts/fetch_models.sh) to fetch it";

std::string Hex(const unsigned char* d, unsigned n) {
  static const char* k = "0123456789abcdef";
  std::string s;
  for (unsigned i = 0; i < n; ++i) { s += k[d[i] >> 4]; s += k[d[i] & 15]; }
  return s;
}

struct MdCtxFree { void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); } };
}  // namespace

std::string DefaultModelDir() {
  if (const char* env = std::getenv("LINEUP_MODELS"); env && *env) return env;
  return LINEUP_SOURCE_DIR "/models";
}

std::string Sha256Hex(const void* data, size_t n) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(data, n, md, &len, EVP_sha256(), nullptr);
  return Hex(md, len);
}

Result<std::string> Sha256File(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(path + ": cannot open");
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  std::vector<char> buf(1 << 16);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<size_t>(in.gcount()));
  }
  if (in.bad()) return Status::IOError(path + ": read failed");
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &len);
  return Hex(md, len);
}

Result<std::string> ReadPinnedModel(const std::string& dir, const std::string& file) {
  const std::string path = dir + "/" + file;
  const char* want = nullptr;
  for (const auto& pin : kModelSums)
    if (file == pin.file) want = pin.sha256;
  if (!want) return Status::InvalidArgument("model " + file + " is not pinned in scripts/models.sha256");
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("model file " + path + " is missing; " + kFetchHint);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return Status::IOError("model file " + path + ": read failed");
  const std::string got = Sha256Hex(bytes.data(), bytes.size());
  if (got != want)
    return Status::Corrupt("model file " + path + " is corrupt (SHA-256 " + got.substr(0, 12) + "… is not the pinned " +
                           std::string(want).substr(0, 12) + "…); " + kFetchHint);
  return bytes;
}

Result<cv::dnn::Net> LoadModel(const std::string& dir, const std::string& file) {
  std::string path = dir + "/" + file;
  const char* want = nullptr;
  for (const auto& pin : kModelSums)
    if (file == pin.file) want = pin.sha256;
  if (!want) return Status::InvalidArgument("model " + file + " is not pinned in scripts/models.sha256");
  auto got = Sha256File(path);
  if (!got.ok()) return Status::NotFound("model file " + path + " is missing; " + kFetchHint);
  if (*got != want)
    return Status::Corrupt("model file " + path + " is corrupt (SHA-256 " + got->substr(0, 12) +
                           "… is not the pinned " + std::string(want).substr(0, 12) + "…); " + kFetchHint);
  try {
    cv::dnn::Net net = cv::dnn::readNetFromONNX(path);
    if (net.empty()) return Status::Corrupt("model file " + path + " could not be loaded; " + kFetchHint);
    net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
    return net;
  } catch (const cv::Exception& e) {
    return Status::Corrupt("model file " + path + " could not be loaded (" + e.err + "); " + kFetchHint);
  }
}

}  // namespace lineup
