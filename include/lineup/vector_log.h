// VectorLog: the gallery's identity vectors, as an append-only file of checksummed
// records (face id, vector) behind a header naming the embedding model.
//
// Append makes records durable (fdatasync) before it returns, so the catalog can commit
// the faces afterwards: a crash between the two leaves vectors without catalog rows,
// which the gallery ignores, never catalog rows without vectors. Open checks every
// record it has not been told is good; a torn last record (a crash mid-write) is cut
// off, while a damaged record followed by good ones is reported as corruption.
//
// The vectors stay on disk, memory-mapped: RAM holds only the ids (8 bytes a record),
// and the page cache keeps the vectors that searches re-read. Ids must be appended in
// increasing order (the gallery's face ids are), so Find is a binary search. Not
// thread-safe for writers; a pointer from vector()/Find() is valid until the next Append.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "lineup/status.h"
#include "lineup/vector_index.h"

namespace lineup {

class VectorLog : public ExactVectors {
 public:
  // A prefix of the file already checked (by an earlier Open, recorded in the gallery's
  // index snapshot): its length, the checksum of its last record and its ids. Open
  // trusts it only if the record ending there still has that checksum.
  struct Prefix {
    int64_t bytes = 0;
    uint32_t last_crc = 0;
    std::vector<int64_t> ids;
  };

  // Opens `path`, creating it for `model_id`/`dim` if absent. InvalidArgument if the
  // file holds vectors of another model or dimension. With `trusted`, records inside
  // that prefix are not re-read (moved from, when used).
  static Result<std::unique_ptr<VectorLog>> Open(const std::string& path, const std::string& model_id, int dim,
                                                 Prefix* trusted = nullptr);
  // Opens an existing log for reading only, beside a process that may be appending to
  // it: the records whole when it is opened are read, and a torn or half-written last
  // record is left alone rather than cut off. A missing or empty file reads as an empty
  // log; Append fails with FailedPrecondition.
  static Result<std::unique_ptr<VectorLog>> OpenReadOnly(const std::string& path, const std::string& model_id, int dim,
                                                         Prefix* trusted = nullptr);
  ~VectorLog() override;
  // The model id in the header of the log at `path`, without opening it for writing.
  // NotFound if there is no such file or it is empty; Corrupt if it is not a vector log.
  static Result<std::string> ReadModelId(const std::string& path);

  // Appends one record per id (vectors: ids.size() * dim floats) and syncs. Ids must be
  // greater than every id already in the log (InvalidArgument otherwise).
  Status Append(std::span<const int64_t> ids, std::span<const float> vectors);

  int dim() const;
  const std::string& model_id() const;
  // The id of every record, in file order (ascending).
  const std::vector<int64_t>& ids() const;
  // The vector of record `row` (< ids().size()).
  const float* vector(size_t row) const;
  // The vector of face `id`, or nullptr.
  const float* Find(int64_t id) const override;
  // The file's length and the checksum of its last record: a Prefix for the next Open.
  int64_t bytes() const;
  uint32_t last_crc() const;
  // True if Open used the trusted prefix rather than re-reading it.
  bool used_trusted_prefix() const;
  // Bytes cut from a torn tail when the log was opened (0 if it was clean).
  int64_t recovered_bytes() const;

 private:
  static Result<std::unique_ptr<VectorLog>> OpenImpl(const std::string& path, const std::string& model_id, int dim,
                                                     Prefix* trusted, bool read_only);
  struct Impl;
  explicit VectorLog(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace lineup
