#include "evidence/bundle_files.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <utility>

#include "lineup/models.h"

namespace lineup::evidence {

namespace fs = std::filesystem;

bool SafeBundlePath(const std::string& path) {
  if (path.empty() || path.size() > 255 || path == "manifest.json" || path == "manifest.sig") return false;
  size_t start = 0;
  while (true) {
    const size_t slash = path.find('/', start);
    const std::string part = path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (part.empty() || part == "." || part == "..") return false;
    for (char c : part)
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
            c == '-'))
        return false;
    if (slash == std::string::npos) return true;
    start = slash + 1;
  }
}

Result<std::string> ReadWholeFile(const std::string& path, int64_t max_bytes) {
  std::error_code ec;
  const auto st = fs::symlink_status(path, ec);
  if (ec || !fs::exists(st)) return Status::NotFound(path + ": not there");
  if (!fs::is_regular_file(st)) return Status::InvalidArgument(path + ": not a regular file");
  const auto size = fs::file_size(path, ec);
  if (ec) return Status::IOError(path + ": " + ec.message());
  if (static_cast<int64_t>(size) > max_bytes)
    return Status::InvalidArgument(path + ": " + std::to_string(size) + " bytes, more than the " +
                                   std::to_string(max_bytes) + " allowed");
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError(path + ": cannot open");
  std::string out(static_cast<size_t>(size), '\0');
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  if (in.gcount() != static_cast<std::streamsize>(out.size())) return Status::IOError(path + ": cannot read");
  return out;
}

Status WriteWholeFile(const std::string& path, const std::string& bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IOError(path + ": cannot create: " + std::strerror(errno));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      ::close(fd);
      return Status::IOError(path + ": cannot write: " + std::strerror(errno));
    }
    done += static_cast<size_t>(w);
  }
  const bool synced = ::fsync(fd) == 0;
  if (::close(fd) != 0 || !synced) return Status::IOError(path + ": cannot write: " + std::strerror(errno));
  return Status::OK();
}

Status HashFile(const std::string& path, std::string* sha256, int64_t* size) {
  std::error_code ec;
  const auto n = fs::file_size(path, ec);
  if (ec) return Status::IOError(path + ": " + ec.message());
  auto sum = Sha256File(path);
  if (!sum.ok()) return sum.status();
  *sha256 = *sum;
  *size = static_cast<int64_t>(n);
  return Status::OK();
}

namespace {

// What a name found in a bundle is, in words, for the messages.
std::string KindOf(const struct stat& st) {
  if (S_ISLNK(st.st_mode)) return "a symbolic link";
  if (S_ISDIR(st.st_mode)) return "a folder";
  if (S_ISREG(st.st_mode)) return "a file";
  if (S_ISFIFO(st.st_mode)) return "a pipe";
  if (S_ISSOCK(st.st_mode)) return "a socket";
  return "a device";
}

struct FdCloser {
  int fd = -1;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

Result<BundleFile> BundleFile::Open(const std::string& dir, const std::string& rel, std::string* at) {
  *at = rel;
  FdCloser folder{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (folder.fd < 0) return Status::IOError(dir + ": cannot open the folder: " + std::strerror(errno));
  size_t start = 0;
  while (true) {
    const size_t slash = rel.find('/', start);
    const bool last = slash == std::string::npos;
    const std::string part = rel.substr(start, last ? std::string::npos : slash - start);
    const std::string name = last ? rel : rel.substr(0, slash);
    // Looked at before it is opened: a link is never followed, a device never opened.
    struct stat st {};
    if (::fstatat(folder.fd, part.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      const int e = errno;
      *at = name;
      if (e == ENOENT) return Status::NotFound(name + " is missing");
      return Status::IOError(name + ": cannot look at it: " + std::strerror(e));
    }
    const bool right_kind = last ? S_ISREG(st.st_mode) : S_ISDIR(st.st_mode);
    if (!right_kind) {
      *at = name;
      return Status::FailedPrecondition(name + " is " + KindOf(st) + ", not " + (last ? "a file" : "a folder") +
                                        (S_ISLNK(st.st_mode) ? ": a bundle holds no links, and none is followed" : ""));
    }
    // O_NOFOLLOW and the type checked again on the open file: nothing swapped in between
    // is followed either.
    const int fd = ::openat(folder.fd, part.c_str(),
                            O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | (last ? 0 : O_DIRECTORY));
    if (fd < 0) {
      const int e = errno;
      *at = name;
      if (e == ELOOP) return Status::FailedPrecondition(name + " is a symbolic link: a bundle holds no links");
      return Status::IOError(name + ": cannot open: " + std::strerror(e));
    }
    FdCloser opened{fd};
    if (::fstat(fd, &st) != 0 || (last ? !S_ISREG(st.st_mode) : !S_ISDIR(st.st_mode))) {
      *at = name;
      return Status::FailedPrecondition(name + " changed while it was read");
    }
    if (last) {
      opened.fd = -1;
      return BundleFile(fd, static_cast<int64_t>(st.st_size), rel);
    }
    std::swap(folder.fd, opened.fd);  // the old folder is closed by `opened`
    start = slash + 1;
  }
}

BundleFile::BundleFile(BundleFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), size_(other.size_), name_(std::move(other.name_)) {}

BundleFile& BundleFile::operator=(BundleFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    size_ = other.size_;
    name_ = std::move(other.name_);
  }
  return *this;
}

BundleFile::~BundleFile() {
  if (fd_ >= 0) ::close(fd_);
}

Result<std::string> BundleFile::ReadAll(int64_t max_bytes) {
  if (size_ > max_bytes)
    return Status::InvalidArgument(name_ + " is " + std::to_string(size_) + " bytes, more than the " +
                                   std::to_string(max_bytes) + " allowed");
  std::string out(static_cast<size_t>(size_), '\0');
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status::IOError(name_ + ": cannot read" + (n < 0 ? std::string(": ") + std::strerror(errno) : ""));
    done += static_cast<size_t>(n);
  }
  return out;
}

Result<std::string> BundleFile::Sha256() {
  struct CtxFree {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
  };
  std::unique_ptr<EVP_MD_CTX, CtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) return Status::Internal("cannot start SHA-256");
  std::string block(1 << 20, '\0');
  off_t at = 0;
  while (true) {
    const ssize_t n = ::pread(fd_, block.data(), block.size(), at);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::IOError(name_ + ": cannot read: " + std::strerror(errno));
    if (n == 0) break;
    EVP_DigestUpdate(ctx.get(), block.data(), static_cast<size_t>(n));
    at += n;
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &len);
  static const char* kHex = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) {
    hex += kHex[md[i] >> 4];
    hex += kHex[md[i] & 15];
  }
  return hex;
}

}  // namespace lineup::evidence
