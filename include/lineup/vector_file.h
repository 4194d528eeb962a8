// VectorFile: identity vectors on disk with where each came from.
//
// Format (little-endian), documented in docs/formats.md:
//   8 bytes  magic "LUVEC01\n"
//   4 bytes  uint32 header length H
//   H bytes  JSON: {"model": id, "dim": D, "count": N, "records": [{"photo", "face",
//            "box": [x,y,w,h], "quality", "quality_reasons"}...]}
//   N*D      float32 vectors, row after row
// Read rejects anything inconsistent (wrong magic, sizes that do not add up, a header
// that is not such JSON) without trusting its numbers for allocation.
#pragma once

#include <string>
#include <vector>

#include "lineup/face.h"
#include "lineup/status.h"

namespace lineup {

struct VectorRecord {
  std::string photo;
  int face = 0;  // 1-based, as shown to people
  cv::Rect2f box;
  float quality = 0;
  std::vector<std::string> quality_reasons;
  std::vector<float> vector;
};

struct VectorFile {
  std::string model_id;
  int dim = 0;
  std::vector<VectorRecord> records;

  Status Write(const std::string& path) const;  // atomic: written aside, then renamed
  static Result<VectorFile> Read(const std::string& path);
};

}  // namespace lineup
