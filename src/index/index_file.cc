#include "index/index_file.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "util/fd_io.h"

namespace lineup {

const char kIndexFileMagic[8] = {'L', 'U', 'I', 'D', 'X', '0', '1', '\n'};

uint32_t IndexFileCrc(const uint8_t* data, size_t size) {
  uLong c = crc32(0L, Z_NULL, 0);
  size_t at = 0;
  while (at < size) {
    const size_t n = std::min<size_t>(size - at, size_t{1} << 30);
    c = crc32(c, data + at, static_cast<uInt>(n));
    at += n;
  }
  return static_cast<uint32_t>(c);
}

Status WriteIndexFile(const std::string& path, const std::string& spec, int dim, int64_t size,
                      const std::vector<uint8_t>& body) {
  const nlohmann::json head{
      {"spec", spec}, {"dim", dim}, {"size", size}, {"faiss_bytes", body.size()}, {"crc32", IndexFileCrc(body.data(), body.size())}};
  const std::string h = head.dump();
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IOError(tmp + ": " + std::strerror(errno));
  const uint32_t hl = static_cast<uint32_t>(h.size());
  bool ok = WriteAll(fd, kIndexFileMagic, 8) && WriteAll(fd, &hl, 4) && WriteAll(fd, h.data(), h.size()) &&
            WriteAll(fd, body.data(), body.size()) && ::fsync(fd) == 0;
  ok = (::close(fd) == 0) && ok;
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return Status::IOError(path + ": cannot write the index (" + std::strerror(errno) + ")");
  }
  return Status::OK();
}

}  // namespace lineup
