// The inference engines behind InferenceNet (include/lineup/inference.h), each building
// its own graph from a resolved OnnxGraph. One file per engine.
#pragma once

#include <memory>
#include <string_view>

#include "infer/onnx_graph.h"
#include "lineup/inference.h"

namespace lineup::infer {

// OpenCV's DNN module: reads the file's bytes itself; `graph` gives the input shape and
// output names (opencv_net.cc).
Result<std::unique_ptr<InferenceNet>> BuildOpenCvNet(const OnnxGraph& graph, std::string_view bytes);
// oneDNN primitives (dnnl_net.cc).
Result<std::unique_ptr<InferenceNet>> BuildDnnlNet(const OnnxGraph& graph);

}  // namespace lineup::infer
