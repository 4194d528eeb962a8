// The file every VectorIndex saves to: a magic line, a JSON header (spec, dim, size,
// length and CRC-32 of the body) and a body of serialised FAISS indexes. Written to a
// temporary file, synced and renamed into place, so a crash leaves the old file or the
// new one, never a mix.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "lineup/status.h"

namespace lineup {

Status WriteIndexFile(const std::string& path, const std::string& spec, int dim, int64_t size,
                      const std::vector<uint8_t>& body);

uint32_t IndexFileCrc(const uint8_t* data, size_t size);

// The magic line that starts the file.
extern const char kIndexFileMagic[8];

}  // namespace lineup
