#include "lineup/vector_log.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "util/fd_io.h"

namespace lineup {

namespace {
// Version 1 put the first record right after the model id, so vectors could sit at odd
// addresses in the mapping; version 2 pads the header to 16 bytes. Version 1 files are
// rewritten as version 2 when opened.
constexpr char kMagicV1[8] = {'L', 'U', 'V', 'L', 'O', 'G', '1', '\n'};
constexpr char kMagicV2[8] = {'L', 'U', 'V', 'L', 'O', 'G', '2', '\n'};

uint32_t Crc(const char* p, size_t n) {
  return static_cast<uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(p), static_cast<uInt>(n)));
}

std::string Header(const std::string& model_id, int dim) {
  std::string h(kMagicV2, 8);
  const uint32_t d = static_cast<uint32_t>(dim), n = static_cast<uint32_t>(model_id.size());
  h.append(reinterpret_cast<const char*>(&d), 4);
  h.append(reinterpret_cast<const char*>(&n), 4);
  h += model_id;
  h.resize((h.size() + 15) / 16 * 16, '\0');
  return h;
}

// What the header at the start of `fd` says. Corrupt if it is not a vector log.
struct HeaderInfo {
  bool v1 = false;
  uint32_t dim = 0;
  std::string model_id;
};
Result<HeaderInfo> ReadHeader(int fd, const std::string& path) {
  char magic[8];
  HeaderInfo h;
  uint32_t n = 0;
  h.v1 = ReadAll(fd, magic, 8) && std::memcmp(magic, kMagicV1, 8) == 0;
  if ((!h.v1 && std::memcmp(magic, kMagicV2, 8) != 0) || !ReadAll(fd, &h.dim, 4) || !ReadAll(fd, &n, 4) || n > 4096)
    return Status::Corrupt(path + ": not a Lineup vector log");
  h.model_id.resize(n);
  if (!ReadAll(fd, h.model_id.data(), n)) return Status::Corrupt(path + ": truncated header");
  return h;
}
}  // namespace

struct VectorLog::Impl {
  int fd = -1;
  std::string path, model_id;
  int dim = 0;
  int64_t header = 0;  // bytes before the first record
  int64_t size = 0;    // bytes in the file (all whole records)
  uint32_t last_crc = 0;
  std::vector<int64_t> ids;
  bool sorted = true;
  bool used_prefix = false;
  bool read_only = false;
  int64_t recovered = 0;
  const char* map = nullptr;
  size_t map_len = 0;

  ~Impl() {
    if (map) ::munmap(const_cast<char*>(map), map_len);
    if (fd >= 0) ::close(fd);
  }
  size_t RecordBytes() const { return 8 + static_cast<size_t>(dim) * 4 + 4; }

  // Maps at least the whole file, with room to grow so appends rarely remap.
  Status Remap() {
    const size_t need = static_cast<size_t>(size);
    if (map && need <= map_len) return Status::OK();
    if (map) ::munmap(const_cast<char*>(map), map_len);
    map = nullptr;
    const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    size_t len = std::max(need + need / 2, size_t{64} << 20);
    len = (len + page - 1) / page * page;
    void* m = ::mmap(nullptr, len, PROT_READ, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) return Status::IOError(path + ": cannot map (" + std::strerror(errno) + ")");
    map = static_cast<const char*>(m);
    map_len = len;
    return Status::OK();
  }
};

VectorLog::VectorLog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
VectorLog::~VectorLog() = default;
int VectorLog::dim() const { return impl_->dim; }
const std::string& VectorLog::model_id() const { return impl_->model_id; }
const std::vector<int64_t>& VectorLog::ids() const { return impl_->ids; }
int64_t VectorLog::bytes() const { return impl_->size; }
uint32_t VectorLog::last_crc() const { return impl_->last_crc; }
bool VectorLog::used_trusted_prefix() const { return impl_->used_prefix; }
int64_t VectorLog::recovered_bytes() const { return impl_->recovered; }

const float* VectorLog::vector(size_t row) const {
  return reinterpret_cast<const float*>(impl_->map + impl_->header + static_cast<int64_t>(row * impl_->RecordBytes()) + 8);
}

const float* VectorLog::Find(int64_t id) const {
  const auto& ids = impl_->ids;
  if (impl_->sorted) {
    auto it = std::lower_bound(ids.begin(), ids.end(), id);
    if (it == ids.end() || *it != id) return nullptr;
    return vector(static_cast<size_t>(it - ids.begin()));
  }
  auto it = std::find(ids.begin(), ids.end(), id);
  return it == ids.end() ? nullptr : vector(static_cast<size_t>(it - ids.begin()));
}

Result<std::unique_ptr<VectorLog>> VectorLog::OpenReadOnly(const std::string& path, const std::string& model_id, int dim,
                                                           Prefix* trusted) {
  return OpenImpl(path, model_id, dim, trusted, true);
}

Result<std::unique_ptr<VectorLog>> VectorLog::Open(const std::string& path, const std::string& model_id, int dim,
                                                   Prefix* trusted) {
  return OpenImpl(path, model_id, dim, trusted, false);
}

Result<std::unique_ptr<VectorLog>> VectorLog::OpenImpl(const std::string& path, const std::string& model_id, int dim,
                                                       Prefix* trusted, bool read_only) {
  if (dim <= 0 || dim > 65536) return Status::InvalidArgument("vector dimension out of range");
  if (model_id.size() > 4096) return Status::InvalidArgument("model id too long");
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->read_only = read_only;
  impl->fd = read_only ? ::open(path.c_str(), O_RDONLY | O_CLOEXEC) : ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (impl->fd < 0 && read_only && errno == ENOENT) {
    // Nothing written yet: an empty log (no writer has opened the gallery since `init`).
    impl->dim = dim;
    impl->model_id = model_id;
    return std::unique_ptr<VectorLog>(new VectorLog(std::move(impl)));
  }
  if (impl->fd < 0) return Status::IOError(path + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(impl->fd, &st) != 0) return Status::IOError(path + ": " + std::strerror(errno));
  impl->dim = dim;
  impl->model_id = model_id;
  if (st.st_size == 0 && read_only) {
    impl->dim = dim;
    impl->model_id = model_id;
    return std::unique_ptr<VectorLog>(new VectorLog(std::move(impl)));
  }
  if (st.st_size == 0) {
    // A new log: write the header and make it durable.
    const std::string h = Header(model_id, dim);
    if (!WriteAll(impl->fd, h.data(), h.size()) || ::fdatasync(impl->fd) != 0)
      return Status::IOError(path + ": cannot write header");
    impl->header = impl->size = static_cast<int64_t>(h.size());
    Status m = impl->Remap();
    if (!m.ok()) return m;
    return std::unique_ptr<VectorLog>(new VectorLog(std::move(impl)));
  }
  auto head = ReadHeader(impl->fd, path);
  if (!head.ok()) return head.status();
  const bool v1 = head->v1;
  if (head->model_id != model_id || static_cast<int>(head->dim) != dim)
    return Status::InvalidArgument(path + ": holds vectors of " + head->model_id + " (" + std::to_string(head->dim) +
                                   " values), not " + model_id + "; vectors of different models are never mixed");
  impl->header = v1 ? 16 + static_cast<int64_t>(model_id.size()) : static_cast<int64_t>(Header(model_id, dim).size());
  if (st.st_size < impl->header) return Status::Corrupt(path + ": truncated header");
  const int64_t rec = static_cast<int64_t>(impl->RecordBytes());
  impl->size = st.st_size;
  Status m = impl->Remap();
  if (!m.ok()) return m;
  const char* base = impl->map;

  // The trusted prefix, if its last record is still what the caller saw.
  int64_t start = impl->header;
  if (trusted && !v1 && trusted->bytes > impl->header && trusted->bytes <= st.st_size &&
      (trusted->bytes - impl->header) % rec == 0 &&
      static_cast<int64_t>(trusted->ids.size()) == (trusted->bytes - impl->header) / rec) {
    uint32_t c;
    std::memcpy(&c, base + trusted->bytes - 4, 4);
    if (c == trusted->last_crc && Crc(base + trusted->bytes - rec, static_cast<size_t>(rec - 4)) == c) {
      impl->ids = std::move(trusted->ids);
      impl->last_crc = c;
      impl->used_prefix = true;
      start = trusted->bytes;
    }
  }
  const int64_t whole = (st.st_size - start) / rec;
  int64_t good = 0;
  for (int64_t i = 0; i < whole; ++i) {
    const char* r = base + start + i * rec;
    uint32_t want;
    std::memcpy(&want, r + rec - 4, 4);
    if (want != Crc(r, static_cast<size_t>(rec - 4))) {
      if (i + 1 < whole) return Status::Corrupt(path + ": record " + std::to_string(impl->ids.size()) + " is damaged");
      break;  // a torn last record
    }
    int64_t fid;
    std::memcpy(&fid, r, 8);
    if (!impl->ids.empty() && fid <= impl->ids.back()) impl->sorted = false;
    impl->ids.push_back(fid);
    impl->last_crc = want;
    ++good;
  }
  const int64_t end = start + good * rec;
  if (read_only) {
    // A writer may be in the middle of appending: what is whole now is what we see.
    impl->size = end;
    return std::unique_ptr<VectorLog>(new VectorLog(std::move(impl)));
  }
  if (end != st.st_size) {
    impl->recovered = st.st_size - end;
    if (::ftruncate(impl->fd, end) != 0 || ::fdatasync(impl->fd) != 0)
      return Status::IOError(path + ": cannot cut the torn tail");
    impl->size = end;
  }
  if (::lseek(impl->fd, end, SEEK_SET) < 0) return Status::IOError(path + ": seek failed");
  if (!v1) return std::unique_ptr<VectorLog>(new VectorLog(std::move(impl)));

  // Migrate a version 1 log: the same records behind an aligned header, swapped in
  // atomically.
  const std::string tmp = path + ".v2";
  const int out = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0) return Status::IOError(tmp + ": " + std::strerror(errno));
  const std::string h = Header(model_id, dim);
  bool ok = WriteAll(out, h.data(), h.size()) && WriteAll(out, base + impl->header, static_cast<size_t>(end - impl->header)) &&
            ::fdatasync(out) == 0;
  ok = ::close(out) == 0 && ok;
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return Status::IOError(path + ": cannot rewrite in the current format");
  }
  impl.reset();
  return Open(path, model_id, dim, nullptr);
}

Result<std::string> VectorLog::ReadModelId(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound(path + ": no such file");
    return Status::IOError(path + ": " + std::strerror(errno));
  }
  struct stat st {};
  const bool empty = ::fstat(fd, &st) == 0 && st.st_size == 0;
  auto head = empty ? Result<HeaderInfo>(Status::NotFound(path + ": empty")) : ReadHeader(fd, path);
  ::close(fd);
  if (!head.ok()) return head.status();
  return head->model_id;
}

Status VectorLog::Append(std::span<const int64_t> ids, std::span<const float> vectors) {
  if (impl_->read_only) return Status::FailedPrecondition(impl_->path + ": opened read-only");
  const size_t d = static_cast<size_t>(impl_->dim);
  if (vectors.size() != ids.size() * d) return Status::InvalidArgument("vector count does not match ids");
  for (size_t i = 0; i < ids.size(); ++i)
    if ((i > 0 && ids[i] <= ids[i - 1]) || (i == 0 && !impl_->ids.empty() && ids[0] <= impl_->ids.back()))
      return Status::InvalidArgument("vector log ids must increase");
  if (ids.empty()) return Status::OK();
  std::vector<char> buf;
  buf.reserve(ids.size() * impl_->RecordBytes());
  uint32_t c = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    size_t at = buf.size();
    buf.resize(at + impl_->RecordBytes());
    std::memcpy(buf.data() + at, &ids[i], 8);
    std::memcpy(buf.data() + at + 8, vectors.data() + i * d, d * 4);
    c = Crc(buf.data() + at, 8 + d * 4);
    std::memcpy(buf.data() + at + 8 + d * 4, &c, 4);
  }
  const off_t before = static_cast<off_t>(impl_->size);
  if (!WriteAll(impl_->fd, buf.data(), buf.size()) || ::fdatasync(impl_->fd) != 0) {
    Status e = Status::IOError(impl_->path + ": append failed: " + std::strerror(errno));
    // Leave no partial record behind for the next append to follow.
    if (::ftruncate(impl_->fd, before) == 0) ::lseek(impl_->fd, before, SEEK_SET);
    return e;
  }
  impl_->size += static_cast<int64_t>(buf.size());
  impl_->last_crc = c;
  impl_->ids.insert(impl_->ids.end(), ids.begin(), ids.end());
  return impl_->Remap();
}

}  // namespace lineup
