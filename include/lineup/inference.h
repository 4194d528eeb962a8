// InferenceNet: one of Lineup's ONNX networks, run by a chosen inference engine.
//
// Engines are named by factory strings (`--engine` on the command line):
//   "opencv"  OpenCV's DNN module (cv::dnn::readNetFromONNX), Lineup's engine until
//             issue 18
//   others    listed by InferenceEngines(); docs/engine.md says what each is and how
//             it measured
// Every engine reads the same .onnx file, first through Lineup's own ONNX reader
// (src/infer/onnx_graph.h), which checks the file and resolves its shapes; a network
// with an operator or shape an engine cannot run is an InvalidArgument naming the node,
// a damaged file Corrupt, never a crash. The networks take one float input of the
// fixed shape stored in the file (NCHW) and give their outputs in the file's order.
// Each engine runs a network on the calling thread only: Lineup keeps its cores busy
// with one pipeline per core. An InferenceNet is not thread-safe; one per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lineup/status.h"

namespace lineup {

class InferenceNet {
 public:
  virtual ~InferenceNet() = default;

  // Reads models/<file> from model_dir after checking its SHA-256 pin (as LoadModel
  // does) and builds it on `engine`.
  static Result<std::unique_ptr<InferenceNet>> Load(const std::string& engine, const std::string& model_dir,
                                                    const std::string& file);
  // Builds a network from the bytes of an .onnx file, unchecked by any pin (tests,
  // measurements); `what` names it in errors.
  static Result<std::unique_ptr<InferenceNet>> FromBytes(const std::string& engine, std::string_view bytes,
                                                         const std::string& what);

  // The input's shape, NCHW, e.g. {1, 3, 112, 112}.
  virtual const std::vector<int64_t>& InputDims() const = 0;
  // Runs the network on `input` (ElementCount(InputDims()) floats, NCHW).
  // InvalidArgument if the size is wrong; Internal if the engine fails.
  virtual Status Run(std::span<const float> input) = 0;
  // Output k of the last Run, in the ONNX file's layout (row-major over OutputDims(k)).
  virtual std::span<const float> Output(size_t k) const = 0;
  virtual const std::vector<int64_t>& OutputDims(size_t k) const = 0;
  virtual size_t OutputCount() const = 0;
  // The engine's name ("opencv", ...).
  virtual std::string Engine() const = 0;
  // Multiply-adds x 2 per Run, counted over the graph's convolutions and matrix products.
  virtual double Flops() const = 0;
};

// The engines this build has, the default first.
std::vector<std::string> InferenceEngines();
// The engine used when none is named (docs/engine.md says why).
const char* DefaultInferenceEngine();
// OK if `engine` names one of InferenceEngines(), else InvalidArgument listing them.
Status CheckInferenceEngine(const std::string& engine);

}  // namespace lineup
