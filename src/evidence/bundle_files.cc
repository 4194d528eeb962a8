#include "evidence/bundle_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

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

}  // namespace lineup::evidence
