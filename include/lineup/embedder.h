// Embedder: turns aligned 112x112 faces into L2-normalised identity vectors whose dot
// product is their similarity.
//
// Vectors from different models, or from the same model with different settings,
// must never be compared: every Embedder names the model, its version and the setting
// (EmbeddingModel::Id), and everything that stores a vector stores that id with it.
// Embed takes a batch but runs one forward pass per face: with OpenCV 4.6 a batch of
// 8 faces measured 14.3 ms per face against 10.3 ms one at a time (1 thread), so
// throughput comes from one pipeline per core instead. Not thread-safe; one per thread.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "lineup/status.h"

namespace lineup {

struct EmbeddingModel {
  std::string name;     // "fr_feature"
  std::string version;  // where the weights come from, e.g. "faceplugin-face-recognition-js@0.0.1"
  std::string setting;  // "plain" or "flip" (averaged with the mirrored face)
  int dim = 0;
  // "name@version+setting": the key under which vectors and calibrations are filed.
  std::string Id() const { return name + "@" + version + "+" + setting; }
};

class Embedder {
 public:
  virtual ~Embedder() = default;

  // One row of dim floats per aligned face (CV_32F, rows L2-normalised).
  virtual Result<cv::Mat> Embed(std::span<const cv::Mat> aligned_faces) = 0;
  virtual const EmbeddingModel& Model() const = 0;

  // Factory: "fr_feature" (default) or "fr_feature+flip". Models come from model_dir.
  static Result<std::unique_ptr<Embedder>> Create(const std::string& spec, const std::string& model_dir);
  // The spec used when none is given, chosen from measurements (docs/accuracy.md).
  static const char* DefaultSpec();
};

}  // namespace lineup
