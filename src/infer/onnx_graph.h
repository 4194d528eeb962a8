// OnnxGraph: an ONNX model file read into plain values, checked, and resolved for one
// fixed input shape, ready for an inference engine to build its own graph from.
//
// Reading never trusts the file: a truncated or altered protobuf, a tensor whose bytes
// do not match its dimensions, a node naming a value nothing produced, an operator or
// attribute this reader does not know, or shapes that do not fit together each give a
// Status (Corrupt or InvalidArgument) naming the node, never a crash. Resolving runs
// shape inference over the whole graph and folds what is known before any input is
// seen (Constant nodes, Shape -> Gather -> Unsqueeze -> Concat chains that feed a
// Reshape), so an engine sees only tensor operators with static shapes.
//
// The operators read are those of Lineup's three networks (docs/engine.md lists them):
// Conv, Relu, PRelu, Add, Sub, Mul, Div, Exp, Concat, Transpose, Reshape, Flatten,
// Slice, Softmax, Gemm, BatchNormalization, and the shape operators Shape, Gather,
// Unsqueeze and Constant. Anything else is InvalidArgument.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "lineup/status.h"

namespace lineup::infer {

using Dims = std::vector<int64_t>;

// Number of elements of a shape (1 for a scalar).
int64_t ElementCount(const Dims& d);
// "[1,3,112,112]".
std::string DimsText(const Dims& d);

// A constant tensor: float values, or int64 values for shape arithmetic.
struct ConstTensor {
  Dims dims;
  std::vector<float> f;      // FLOAT tensors
  std::vector<int64_t> i;    // INT64 tensors
  bool is_int = false;
};

struct OnnxNode {
  std::string op;    // "Conv", "Relu", ...
  std::string name;  // the node's name, or its first output if it has none
  std::vector<std::string> inputs, outputs;
  std::map<std::string, std::vector<int64_t>> ints;  // INT and INTS attributes
  std::map<std::string, float> floats;               // FLOAT attributes

  int64_t Int(const std::string& key, int64_t fallback) const;
  std::vector<int64_t> Ints(const std::string& key, std::vector<int64_t> fallback = {}) const;
  float Float(const std::string& key, float fallback) const;
};

class OnnxGraph {
 public:
  // Reads a model from the bytes of an .onnx file; `what` names it in errors. The graph
  // must have exactly one float input whose shape is fully given in the file.
  static Result<OnnxGraph> Parse(std::string_view bytes, const std::string& what);

  // The graph's one input and its shape, e.g. "input", [1,3,112,112].
  const std::string& InputName() const { return input_; }
  const Dims& InputDims() const { return input_dims_; }
  // Output names, in the file's order.
  const std::vector<std::string>& OutputNames() const { return outputs_; }

  // The tensor operators, in an order where every input comes before its use. Shape
  // operators and Constant nodes are folded away.
  const std::vector<OnnxNode>& Nodes() const { return nodes_; }
  // The shape of every value (inputs, node outputs, constants).
  const Dims& Shape(const std::string& value) const { return shapes_.at(value); }
  bool HasShape(const std::string& value) const { return shapes_.count(value) > 0; }
  // Initializers and folded constants.
  const ConstTensor* Constant(const std::string& value) const;
  // The file name given to Parse, for messages.
  const std::string& What() const { return what_; }
  // Multiply-adds x 2 of Conv and Gemm per forward pass.
  double Flops() const;

  // InvalidArgument "<what>: node <name> (<op>): <message>".
  Status NodeError(const OnnxNode& n, const std::string& message) const;

 private:
  Status Resolve(std::vector<OnnxNode> raw);
  Status InferNode(OnnxNode& n, bool* folded);

  std::string what_;
  std::string input_;
  Dims input_dims_;
  std::vector<std::string> outputs_;
  std::vector<OnnxNode> nodes_;
  std::map<std::string, ConstTensor> constants_;
  std::map<std::string, Dims> shapes_;
};

}  // namespace lineup::infer
