// Model files: where they live and proof that they are the pinned ones.
//
// Every network Lineup runs is an ONNX file fetched by scripts/fetch_models.sh and
// pinned by SHA-256 in scripts/models.sha256. LoadModel checks the sum before handing
// the file to OpenCV's DNN module, so a missing, truncated or altered model gives a
// clear error naming the file and the command that fetches it, never a crash.
#pragma once

#include <string>
#include <string_view>

#include <opencv2/dnn.hpp>

#include "lineup/status.h"

namespace lineup {

// The folder holding the model files: $LINEUP_MODELS if set, else the models/ folder
// of the source tree this binary was built from.
std::string DefaultModelDir();

// Loads models/<file> (e.g. "fr_detect.onnx") from `dir` after checking its SHA-256
// against the pin. NotFound if absent, Corrupt if the sum differs or OpenCV rejects it.
Result<cv::dnn::Net> LoadModel(const std::string& dir, const std::string& file);

// The bytes of models/<file> in `dir` after checking its SHA-256 against the pin (the
// same errors as LoadModel); for engines that read the file themselves.
Result<std::string> ReadPinnedModel(const std::string& dir, const std::string& file);

// Hex SHA-256 of a file's bytes, or an IOError.
Result<std::string> Sha256File(const std::string& path);
std::string Sha256Hex(const void* data, size_t n);
inline std::string Sha256Hex(std::string_view bytes) { return Sha256Hex(bytes.data(), bytes.size()); }

}  // namespace lineup
