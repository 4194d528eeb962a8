// VectorLog: the gallery's identity vectors, as an append-only file of checksummed
// records (face id, vector) behind a header naming the embedding model.
//
// Append makes records durable (fdatasync) before it returns, so the catalog can commit
// the faces afterwards: a crash between the two leaves vectors without catalog rows,
// which the gallery ignores, never catalog rows without vectors. Open replays the file;
// a torn last record (a crash mid-write) is cut off, while a damaged record followed by
// good ones is reported as corruption. Not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "lineup/status.h"

namespace lineup {

class VectorLog {
 public:
  // Opens `path`, creating it for `model_id`/`dim` if absent. InvalidArgument if the
  // file holds vectors of another model or dimension.
  static Result<std::unique_ptr<VectorLog>> Open(const std::string& path, const std::string& model_id, int dim);
  ~VectorLog();

  // Appends one record per id (vectors: ids.size() * dim floats) and syncs.
  Status Append(std::span<const int64_t> ids, std::span<const float> vectors);

  int dim() const;
  const std::string& model_id() const;
  // Every record read at Open or appended since, in file order.
  const std::vector<int64_t>& ids() const;
  const std::vector<float>& vectors() const;  // ids().size() * dim() floats
  // Bytes cut from a torn tail when the log was opened (0 if it was clean).
  int64_t recovered_bytes() const;

 private:
  struct Impl;
  explicit VectorLog(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace lineup
