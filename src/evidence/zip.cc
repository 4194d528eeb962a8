// ZipBundle: a bundle as one ZIP archive, for a download (libarchive).
#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <filesystem>
#include <memory>

#include "evidence/bundle_files.h"
#include "lineup/evidence.h"

namespace lineup {

namespace fs = std::filesystem;

namespace {
la_ssize_t AppendTo(struct archive*, void* out, const void* buf, size_t n) {
  static_cast<std::string*>(out)->append(static_cast<const char*>(buf), n);
  return static_cast<la_ssize_t>(n);
}
std::string Why(struct archive* a) {
  const char* e = archive_error_string(a);
  return e ? e : "unknown error";
}
struct ArchiveFree {
  void operator()(struct archive* a) const { archive_write_free(a); }
};
struct EntryFree {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};
}  // namespace

Result<std::string> ZipBundle(const std::string& dir, const std::string& top, int64_t max_bytes) {
  if (!evidence::SafeBundlePath(top) || top.find('/') != std::string::npos)
    return Status::InvalidArgument("a bundle's folder name is one plain name, not " + top);
  std::error_code ec;
  std::vector<std::pair<std::string, int64_t>> files;
  int64_t total = 0;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file() || it->is_symlink()) continue;
    const int64_t size = static_cast<int64_t>(it->file_size());
    total += size;
    if (total > max_bytes)
      return Status::InvalidArgument("the bundle is more than " + std::to_string(max_bytes >> 20) +
                                     " MiB: export it with `lineup case export` on the gallery's machine");
    files.emplace_back(it->path().lexically_relative(dir).generic_string(), size);
  }
  if (ec) return Status::IOError(dir + ": cannot list the bundle: " + ec.message());
  std::sort(files.begin(), files.end());

  std::string out;
  std::unique_ptr<struct archive, ArchiveFree> a(archive_write_new());
  if (!a || archive_write_set_format_zip(a.get()) != ARCHIVE_OK ||
      archive_write_open(a.get(), &out, nullptr, AppendTo, nullptr) != ARCHIVE_OK)
    return Status::Internal("cannot start a ZIP archive");
  for (const auto& [rel, size] : files) {
    auto bytes = evidence::ReadWholeFile((fs::path(dir) / rel).string(), max_bytes);
    if (!bytes.ok()) return bytes.status();
    std::unique_ptr<archive_entry, EntryFree> e(archive_entry_new());
    const std::string name = top + "/" + rel;
    archive_entry_set_pathname(e.get(), name.c_str());
    archive_entry_set_size(e.get(), static_cast<la_int64_t>(bytes->size()));
    archive_entry_set_filetype(e.get(), AE_IFREG);
    archive_entry_set_perm(e.get(), 0644);
    if (archive_write_header(a.get(), e.get()) != ARCHIVE_OK ||
        archive_write_data(a.get(), bytes->data(), bytes->size()) != static_cast<la_ssize_t>(bytes->size()))
      return Status::Internal(std::string("cannot write ") + name + " into the ZIP archive: " + Why(a.get()));
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK)
    return Status::Internal(std::string("cannot finish the ZIP archive: ") + Why(a.get()));
  return out;
}

}  // namespace lineup
