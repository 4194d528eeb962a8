// Embedder: turns faces into identity vectors whose dot product is their similarity.
// Vectors are unit length, except those of a weighted model (the default): unit length
// times the face's weight, which lies in [1/weight_limit, weight_limit].
//
// Vectors from different models, or from the same model with different settings,
// must never be compared: every Embedder names the model, its version and the setting
// (EmbeddingModel::Id), and everything that stores a vector stores that id with it.
// Each model aligns faces the way it was trained: EmbedFaces takes the photo and the
// faces' landmarks, so a model can make its own crop (fr_feature uses the 112x112
// five-point crop of AlignFace, faceapi_resnet dlib's 150x150 chip of AlignDlibChip).
// Embedding takes a batch but runs one forward pass per face: with OpenCV 4.6 a batch
// of 8 faces measured 14.3 ms per face against 10.3 ms one at a time (1 thread), so
// throughput comes from one pipeline per core instead. Not thread-safe; one per thread.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "lineup/face.h"
#include "lineup/status.h"

namespace lineup {

struct EmbeddingModel {
  std::string name;     // "fr_feature"
  std::string version;  // where the weights come from, e.g. "faceplugin-face-recognition-js@0.0.1"
  // "bgr+weight" (weighted, see Create), "bgr", "bgr+flip" (averaged with the mirrored face), "plain" and "flip" (fed
  // RGB); fusions name their parts' settings and weight
  std::string setting;
  int dim = 0;
  // 1: every vector is unit length. Above 1: each is a unit vector times a weight in
  // [1 / weight_limit, weight_limit] (fr_feature+weight).
  float weight_limit = 1;
  // "name@version+setting": the key under which vectors and calibrations are filed.
  std::string Id() const { return name + "@" + version + "+" + setting; }
};

class Embedder {
 public:
  virtual ~Embedder() = default;

  // One row of dim floats per face of `photo` (8-bit BGR), CV_32F, rows unit length (or,
  // for a weighted model, unit length times the face's weight).
  // Each face must carry its 68 landmarks and five points (as FaceAnalyzer fills them).
  // `aligned` is either empty or, for each face, AlignFace(photo, faces[i].five): the
  // crop the caller already made, passed so that models using it need not make it again.
  // InvalidArgument if a face lacks what the model aligns with. The default makes the
  // 112x112 crops if not given and calls Embed.
  virtual Result<cv::Mat> EmbedFaces(const cv::Mat& photo, std::span<const Face> faces,
                                     std::span<const cv::Mat> aligned);

  // One row per face already aligned the model's way (8-bit BGR): 112x112 AlignFace
  // crops for fr_feature, 150x150 AlignDlibChip chips for faceapi_resnet. A fusion of
  // models with different alignments has no single crop and returns InvalidArgument:
  // use EmbedFaces.
  virtual Result<cv::Mat> Embed(std::span<const cv::Mat> aligned_faces) = 0;
  virtual const EmbeddingModel& Model() const = 0;
  // For each face of the last Embed or EmbedFaces call, how sure the network was that it
  // saw a face (Face::certainty); empty if the model gives no such measure.
  virtual std::vector<float> Certainty() const { return {}; }

  // Factory. Models come from model_dir; a missing or altered model file is NotFound /
  // Corrupt, naming the file and `make models`.
  //   "fr_feature+weight"   (default) 512 values, faceplugin-face-recognition-js, fed BGR,
  //                         each unit vector scaled by a weight in [0.8, 1.25] from the
  //                         length of the network's raw output (embedder.cc: FrFeatureWeight)
  //   "fr_feature"          the same without the weight: unit vectors (the default until
  //                         2026-11-28, setting "bgr")
  //   "fr_feature+flip"     the same averaged with the mirrored face
  //   "fr_feature:rgb", "fr_feature+flip:rgb"  fed RGB as the package's JS does (settings
  //                         "plain" and "flip": vectors made before 2026-11-27)
  //   "faceapi_resnet"      128 values, the dlib ResNet of @vladmandic/face-api
  //   "fr_feature+faceapi"  both (fr_feature fed RGB, as measured), fused: the similarity is w * cosine(fr_feature) +
  //                         (1 - w) * cosine(faceapi_resnet), w = kDefaultFusionWeight;
  //   "fr_feature+faceapi:W" the same with weight W in (0, 1), at most two decimals.
  // fr_feature runs on the inference engine `engine` (include/lineup/inference.h; empty:
  // DefaultInferenceEngine()); faceapi_resnet, built layer by layer from TensorFlow.js
  // weights, always runs on OpenCV's DNN module. The engine does not change a model's
  // id: the engines' vectors agree to cosine 0.9999 (docs/engine.md).
  static Result<std::unique_ptr<Embedder>> Create(const std::string& spec, const std::string& model_dir,
                                                  const std::string& engine = "");
  // The spec used when none is given, chosen from measurements (docs/accuracy.md).
  static const char* DefaultSpec();
  // The spec whose embedder makes vectors of `model_id` (EmbeddingModel::Id), without
  // loading any model: how a gallery filled by an earlier default keeps its own model.
  // NotFound for an id no spec makes.
  static Result<std::string> SpecFor(const std::string& model_id);
  // w of "fr_feature+faceapi", chosen on LFW's pairsDevTrain.txt (docs/accuracy.md).
  static constexpr double kDefaultFusionWeight = 0.25;
};

}  // namespace lineup
