#include "lineup/vector_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>

namespace lineup {

namespace {
constexpr char kMagic[8] = {'L', 'U', 'V', 'L', 'O', 'G', '1', '\n'};

bool WriteAll(int fd, const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

bool ReadAll(int fd, void* data, size_t n) {
  char* p = static_cast<char*>(data);
  while (n > 0) {
    ssize_t r = ::read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}
}  // namespace

struct VectorLog::Impl {
  int fd = -1;
  std::string path, model_id;
  int dim = 0;
  std::vector<int64_t> ids;
  std::vector<float> vectors;
  int64_t recovered = 0;
  ~Impl() {
    if (fd >= 0) ::close(fd);
  }
  size_t RecordBytes() const { return 8 + static_cast<size_t>(dim) * 4 + 4; }
};

VectorLog::VectorLog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
VectorLog::~VectorLog() = default;
int VectorLog::dim() const { return impl_->dim; }
const std::string& VectorLog::model_id() const { return impl_->model_id; }
const std::vector<int64_t>& VectorLog::ids() const { return impl_->ids; }
const std::vector<float>& VectorLog::vectors() const { return impl_->vectors; }
int64_t VectorLog::recovered_bytes() const { return impl_->recovered; }

Result<std::unique_ptr<VectorLog>> VectorLog::Open(const std::string& path, const std::string& model_id, int dim) {
  if (dim <= 0 || dim > 65536) return Status::InvalidArgument("vector dimension out of range");
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (impl->fd < 0) return Status::IOError(path + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(impl->fd, &st) != 0) return Status::IOError(path + ": " + std::strerror(errno));
  if (st.st_size == 0) {
    // A new log: write the header and make it durable.
    uint32_t d = static_cast<uint32_t>(dim), n = static_cast<uint32_t>(model_id.size());
    if (!WriteAll(impl->fd, kMagic, 8) || !WriteAll(impl->fd, &d, 4) || !WriteAll(impl->fd, &n, 4) ||
        !WriteAll(impl->fd, model_id.data(), model_id.size()) || ::fdatasync(impl->fd) != 0)
      return Status::IOError(path + ": cannot write header");
    impl->model_id = model_id;
    impl->dim = dim;
    return std::unique_ptr<VectorLog>(new VectorLog(std::move(impl)));
  }
  char magic[8];
  uint32_t d = 0, n = 0;
  if (!ReadAll(impl->fd, magic, 8) || std::memcmp(magic, kMagic, 8) != 0 || !ReadAll(impl->fd, &d, 4) ||
      !ReadAll(impl->fd, &n, 4) || n > 4096)
    return Status::Corrupt(path + ": not a Lineup vector log");
  std::string id(n, '\0');
  if (!ReadAll(impl->fd, id.data(), n)) return Status::Corrupt(path + ": truncated header");
  if (id != model_id || static_cast<int>(d) != dim)
    return Status::InvalidArgument(path + ": holds vectors of " + id + " (" + std::to_string(d) + " values), not " +
                                   model_id + "; vectors of different models are never mixed");
  impl->model_id = id;
  impl->dim = dim;
  const int64_t header = 16 + static_cast<int64_t>(n);
  const size_t rec = impl->RecordBytes();
  const int64_t body = st.st_size - header;
  const int64_t whole = body / static_cast<int64_t>(rec);
  std::vector<char> buf(rec);
  int64_t good = 0;
  for (int64_t i = 0; i < whole; ++i) {
    if (!ReadAll(impl->fd, buf.data(), rec)) return Status::IOError(path + ": read failed");
    uint32_t want;
    std::memcpy(&want, buf.data() + rec - 4, 4);
    uint32_t got = static_cast<uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(buf.data()), static_cast<uInt>(rec - 4)));
    if (want != got) {
      if (i + 1 < whole) return Status::Corrupt(path + ": record " + std::to_string(i) + " is damaged");
      break;  // a torn last record
    }
    int64_t fid;
    std::memcpy(&fid, buf.data(), 8);
    impl->ids.push_back(fid);
    size_t at = impl->vectors.size();
    impl->vectors.resize(at + static_cast<size_t>(dim));
    std::memcpy(impl->vectors.data() + at, buf.data() + 8, static_cast<size_t>(dim) * 4);
    ++good;
  }
  const int64_t end = header + good * static_cast<int64_t>(rec);
  if (end != st.st_size) {
    impl->recovered = st.st_size - end;
    if (::ftruncate(impl->fd, end) != 0 || ::fdatasync(impl->fd) != 0)
      return Status::IOError(path + ": cannot cut the torn tail");
  }
  if (::lseek(impl->fd, end, SEEK_SET) < 0) return Status::IOError(path + ": seek failed");
  return std::unique_ptr<VectorLog>(new VectorLog(std::move(impl)));
}

Status VectorLog::Append(std::span<const int64_t> ids, std::span<const float> vectors) {
  const size_t d = static_cast<size_t>(impl_->dim);
  if (vectors.size() != ids.size() * d) return Status::InvalidArgument("vector count does not match ids");
  std::vector<char> buf;
  buf.reserve(ids.size() * impl_->RecordBytes());
  for (size_t i = 0; i < ids.size(); ++i) {
    size_t at = buf.size();
    buf.resize(at + impl_->RecordBytes());
    std::memcpy(buf.data() + at, &ids[i], 8);
    std::memcpy(buf.data() + at + 8, vectors.data() + i * d, d * 4);
    uint32_t c = static_cast<uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(buf.data() + at), static_cast<uInt>(8 + d * 4)));
    std::memcpy(buf.data() + at + 8 + d * 4, &c, 4);
  }
  const off_t before = ::lseek(impl_->fd, 0, SEEK_CUR);
  if (!WriteAll(impl_->fd, buf.data(), buf.size()) || ::fdatasync(impl_->fd) != 0) {
    Status e = Status::IOError(impl_->path + ": append failed: " + std::strerror(errno));
    // Leave no partial record behind for the next append to follow.
    if (before >= 0 && ::ftruncate(impl_->fd, before) == 0) ::lseek(impl_->fd, before, SEEK_SET);
    return e;
  }
  impl_->ids.insert(impl_->ids.end(), ids.begin(), ids.end());
  impl_->vectors.insert(impl_->vectors.end(), vectors.begin(), vectors.end());
  return Status::OK();
}

}  // namespace lineup
