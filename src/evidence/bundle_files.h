// Private to src/evidence/: the file-level pieces the export and the verifier share, so
// that what one writes is what the other reads: the names a bundle may hold, reading
// and writing whole files, and the manifest's format.
#pragma once

#include <cstdint>
#include <string>

#include "lineup/status.h"

namespace lineup::evidence {

// The manifest's and the case record's format tags.
inline constexpr const char* kManifestFormat = "lineup-evidence-manifest-v1";
inline constexpr const char* kCaseFormat = "lineup-evidence-v1";
inline constexpr const char* kCaseFile = "case.json";
inline constexpr const char* kAuditRecordsFile = "audit/records.jsonl";
inline constexpr const char* kAuditChainFile = "audit/chain.tsv";

// The notice every page of the report carries.
inline constexpr const char* kLeadsNotice =
    "Candidates are investigative leads for human review, not identifications.";

// Limits the verifier holds a bundle to (a bundle Lineup writes stays far below them).
inline constexpr int64_t kMaxManifestBytes = 64ll << 20;
inline constexpr int64_t kMaxSignatureBytes = 64ll << 10;
inline constexpr int64_t kMaxListedFiles = 1000000;
inline constexpr int64_t kMaxFileBytes = 1ll << 40;
// The audit files are read whole to check the chain.
inline constexpr int64_t kMaxAuditBytes = 1ll << 30;

// True for a name a bundle may list: 1-255 bytes of components joined by '/', each made
// of [A-Za-z0-9._-], none empty, "." or "..", not starting with '/'; never the manifest
// or its signature. Every name the export writes passes; "../x", "/etc/passwd",
// "a//b", "a/./b" and names with spaces or control characters do not.
bool SafeBundlePath(const std::string& path);

// The whole file (at most max_bytes: InvalidArgument beyond); NotFound if absent.
Result<std::string> ReadWholeFile(const std::string& path, int64_t max_bytes);
// Writes `bytes` to `path` (created or replaced) and flushes it to the disk.
Status WriteWholeFile(const std::string& path, const std::string& bytes);
// SHA-256 (hex) of a file's bytes, read in blocks, and its size.
Status HashFile(const std::string& path, std::string* sha256, int64_t* size);

// A regular file inside a bundle folder, open for reading, reached without following any
// symbolic link: every folder on the way and the file itself are looked at without
// following links, then opened with O_NOFOLLOW, so that nothing outside the folder is
// ever read through a link in it, and no device or pipe is opened. Movable, not copyable.
class BundleFile {
 public:
  // `rel`: a name inside `dir` ('/'-separated; the caller has checked it with
  // SafeBundlePath, or it is the manifest or its signature). NotFound if it, or a folder
  // on its way, is absent; FailedPrecondition if one is a symbolic link, a folder where a
  // file should be, a file where a folder should be, or not a regular file; IOError if it
  // cannot be opened. On error `*at` is the name at fault: `rel`, or the folder on its
  // way ("crops" for a link in place of crops/).
  static Result<BundleFile> Open(const std::string& dir, const std::string& rel, std::string* at);
  BundleFile(BundleFile&& other) noexcept;
  BundleFile& operator=(BundleFile&& other) noexcept;
  BundleFile(const BundleFile&) = delete;
  BundleFile& operator=(const BundleFile&) = delete;
  ~BundleFile();

  int64_t size() const { return size_; }
  // The whole file; InvalidArgument if it is over max_bytes (nothing is read then).
  Result<std::string> ReadAll(int64_t max_bytes);
  // SHA-256 (hex) of its bytes, read in blocks.
  Result<std::string> Sha256();

 private:
  BundleFile(int fd, int64_t size, std::string name) : fd_(fd), size_(size), name_(std::move(name)) {}
  int fd_ = -1;
  int64_t size_ = 0;
  std::string name_;
};

}  // namespace lineup::evidence
