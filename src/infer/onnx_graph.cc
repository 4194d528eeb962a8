#include "infer/onnx_graph.h"

#include <algorithm>
#include <climits>
#include <cstring>
#include <set>

#include <onnx/onnx_pb.h>

namespace lineup::infer {

namespace {

// No tensor of Lineup's networks comes near this; a larger count in a file is damage.
constexpr int64_t kMaxElements = int64_t{1} << 28;

// Opsets whose semantics this reader implements (attribute forms of Slice and
// Unsqueeze; Softmax only over the last axis, where its meaning did not change).
constexpr int64_t kMinOpset = 7, kMaxOpset = 12;

const std::set<std::string> kTensorOps = {"Conv",    "Relu",  "PRelu",   "Add",      "Sub",
                                          "Mul",     "Div",   "Exp",     "Concat",   "Transpose",
                                          "Reshape", "Flatten", "Slice", "Softmax",  "Gemm",
                                          "BatchNormalization"};
const std::set<std::string> kShapeOps = {"Constant", "Shape", "Gather", "Unsqueeze"};

Result<ConstTensor> ReadTensor(const onnx::TensorProto& t, const std::string& where) {
  auto bad = [&](const std::string& m) { return Status::Corrupt(where + ": tensor " + t.name() + ": " + m); };
  if (t.data_location() == onnx::TensorProto::EXTERNAL) return bad("external data is not supported");
  ConstTensor c;
  for (int64_t d : t.dims()) {
    if (d < 0 || d > kMaxElements) return bad("bad dimension " + std::to_string(d));
    c.dims.push_back(d);
  }
  const int64_t n = ElementCount(c.dims);
  if (n > kMaxElements) return bad("too many elements");
  const std::string& raw = t.raw_data();
  if (t.data_type() == onnx::TensorProto::FLOAT) {
    c.f.resize(static_cast<size_t>(n));
    if (!raw.empty()) {
      if (raw.size() != static_cast<size_t>(n) * 4) return bad("raw data holds " + std::to_string(raw.size()) + " bytes, dims need " + std::to_string(n * 4));
      std::memcpy(c.f.data(), raw.data(), raw.size());  // little-endian, as this host
    } else {
      if (t.float_data_size() != n) return bad("holds " + std::to_string(t.float_data_size()) + " values, dims need " + std::to_string(n));
      std::copy(t.float_data().begin(), t.float_data().end(), c.f.begin());
    }
  } else if (t.data_type() == onnx::TensorProto::INT64) {
    c.is_int = true;
    c.i.resize(static_cast<size_t>(n));
    if (!raw.empty()) {
      if (raw.size() != static_cast<size_t>(n) * 8) return bad("raw data size does not match its dims");
      std::memcpy(c.i.data(), raw.data(), raw.size());
    } else {
      if (t.int64_data_size() != n) return bad("value count does not match its dims");
      std::copy(t.int64_data().begin(), t.int64_data().end(), c.i.begin());
    }
  } else {
    return Status::InvalidArgument(where + ": tensor " + t.name() + ": data type " + std::to_string(t.data_type()) +
                                   " is not supported (float and int64 only)");
  }
  return c;
}

// Numpy-style broadcast of two shapes, or false.
bool Broadcast(const Dims& a, const Dims& b, Dims* out) {
  const size_t r = std::max(a.size(), b.size());
  out->assign(r, 1);
  for (size_t k = 0; k < r; ++k) {
    int64_t x = k < r - a.size() ? 1 : a[k - (r - a.size())];
    int64_t y = k < r - b.size() ? 1 : b[k - (r - b.size())];
    if (x != y && x != 1 && y != 1) return false;
    (*out)[k] = std::max(x, y);
  }
  return true;
}

int64_t NormAxis(int64_t axis, size_t rank) { return axis < 0 ? axis + static_cast<int64_t>(rank) : axis; }

}  // namespace

int64_t ElementCount(const Dims& d) {
  int64_t n = 1;
  for (int64_t x : d) {
    if (x < 0 || (x > 0 && n > kMaxElements / x)) return kMaxElements + 1;
    n *= x;
  }
  return n;
}

std::string DimsText(const Dims& d) {
  std::string s = "[";
  for (size_t i = 0; i < d.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(d[i]);
  }
  s += ']';
  return s;
}

int64_t OnnxNode::Int(const std::string& key, int64_t fallback) const {
  auto it = ints.find(key);
  return it == ints.end() || it->second.size() != 1 ? fallback : it->second[0];
}

std::vector<int64_t> OnnxNode::Ints(const std::string& key, std::vector<int64_t> fallback) const {
  auto it = ints.find(key);
  return it == ints.end() ? fallback : it->second;
}

float OnnxNode::Float(const std::string& key, float fallback) const {
  auto it = floats.find(key);
  return it == floats.end() ? fallback : it->second;
}

const ConstTensor* OnnxGraph::Constant(const std::string& value) const {
  auto it = constants_.find(value);
  return it == constants_.end() ? nullptr : &it->second;
}

Status OnnxGraph::NodeError(const OnnxNode& n, const std::string& message) const {
  return Status::InvalidArgument(what_ + ": node " + n.name + " (" + n.op + "): " + message);
}

double OnnxGraph::Flops() const {
  double f = 0;
  for (const OnnxNode& n : nodes_) {
    if (n.op == "Conv") {
      const Dims& w = shapes_.at(n.inputs[1]);
      f += 2.0 * ElementCount(shapes_.at(n.outputs[0])) * w[1] * w[2] * w[3];
    } else if (n.op == "Gemm") {
      const Dims& o = shapes_.at(n.outputs[0]);
      const Dims& a = shapes_.at(n.inputs[0]);
      f += 2.0 * o[0] * o[1] * a[1];
    }
  }
  return f;
}

Result<OnnxGraph> OnnxGraph::Parse(std::string_view bytes, const std::string& what) {
  if (bytes.size() > static_cast<size_t>(INT_MAX)) return Status::Corrupt(what + ": file too large for a model");
  onnx::ModelProto model;
  if (!model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return Status::Corrupt(what + ": not a readable ONNX model (protobuf parse failed)");
  if (!model.has_graph()) return Status::Corrupt(what + ": the model has no graph");
  int64_t opset = -1;
  for (const auto& o : model.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") opset = o.version();
  if (opset < kMinOpset || opset > kMaxOpset)
    return Status::InvalidArgument(what + ": ONNX opset " + std::to_string(opset) + " is not supported (" +
                                   std::to_string(kMinOpset) + " to " + std::to_string(kMaxOpset) + ")");
  const onnx::GraphProto& g = model.graph();
  OnnxGraph out;
  out.what_ = what;
  for (const auto& init : g.initializer()) {
    auto t = ReadTensor(init, what);
    if (!t.ok()) return t.status();
    if (init.name().empty()) return Status::Corrupt(what + ": an initializer has no name");
    out.shapes_[init.name()] = t->dims;
    out.constants_[init.name()] = std::move(*t);
  }
  for (const auto& in : g.input()) {
    if (out.constants_.count(in.name())) continue;
    if (!out.input_.empty()) return Status::InvalidArgument(what + ": more than one graph input");
    out.input_ = in.name();
    const auto& tt = in.type().tensor_type();
    if (tt.elem_type() != onnx::TensorProto::FLOAT) return Status::InvalidArgument(what + ": the input is not float");
    for (const auto& d : tt.shape().dim()) {
      if (!d.has_dim_value() || d.dim_value() <= 0 || d.dim_value() > 65536)
        return Status::InvalidArgument(what + ": the input's shape is not fixed in the file");
      out.input_dims_.push_back(d.dim_value());
    }
    if (out.input_dims_.empty()) return Status::InvalidArgument(what + ": the input has no shape");
  }
  if (out.input_.empty()) return Status::InvalidArgument(what + ": the graph has no input");
  out.shapes_[out.input_] = out.input_dims_;
  for (const auto& o : g.output()) out.outputs_.push_back(o.name());
  if (out.outputs_.empty()) return Status::InvalidArgument(what + ": the graph has no output");

  std::vector<OnnxNode> raw;
  for (const auto& np : g.node()) {
    OnnxNode n;
    n.op = np.op_type();
    n.name = !np.name().empty() ? np.name() : np.output_size() > 0 ? np.output(0) : "?";
    if (!np.domain().empty() && np.domain() != "ai.onnx")
      return Status::InvalidArgument(what + ": node " + n.name + ": operator domain " + np.domain() + " is not supported");
    if (!kTensorOps.count(n.op) && !kShapeOps.count(n.op))
      return Status::InvalidArgument(what + ": node " + n.name + ": operator " + n.op + " is not supported");
    for (const auto& s : np.input()) n.inputs.push_back(s);
    for (const auto& s : np.output()) n.outputs.push_back(s);
    for (const auto& a : np.attribute()) {
      switch (a.type()) {
        case onnx::AttributeProto::INT: n.ints[a.name()] = {a.i()}; break;
        case onnx::AttributeProto::INTS: n.ints[a.name()].assign(a.ints().begin(), a.ints().end()); break;
        case onnx::AttributeProto::FLOAT: n.floats[a.name()] = a.f(); break;
        case onnx::AttributeProto::TENSOR: {
          if (n.op != "Constant" || a.name() != "value")
            return Status::InvalidArgument(what + ": node " + n.name + ": tensor attribute " + a.name() + " is not supported");
          auto t = ReadTensor(a.t(), what + ": node " + n.name);
          if (!t.ok()) return t.status();
          if (n.outputs.size() != 1) return Status::Corrupt(what + ": node " + n.name + ": a Constant has one output");
          out.constants_[n.outputs[0]] = std::move(*t);
          break;
        }
        case onnx::AttributeProto::STRING:
          // auto_pad is the one string attribute these operators have; only its default is read.
          if (a.name() == "auto_pad" && (a.s() == "NOTSET" || a.s().empty())) break;
          return Status::InvalidArgument(what + ": node " + n.name + ": attribute " + a.name() + "=" + a.s() +
                                         " is not supported");
        default:
          return Status::InvalidArgument(what + ": node " + n.name + ": attribute " + a.name() + " has an unsupported type");
      }
    }
    if (n.op == "Constant" && !out.constants_.count(n.outputs.empty() ? "" : n.outputs[0]))
      return Status::Corrupt(what + ": node " + n.name + ": a Constant without a value");
    raw.push_back(std::move(n));
  }
  Status s = out.Resolve(std::move(raw));
  if (!s.ok()) return s;
  return out;
}

Status OnnxGraph::Resolve(std::vector<OnnxNode> raw) {
  for (OnnxNode& n : raw) {
    if (n.outputs.empty()) return NodeError(n, "has no output");
    for (const std::string& in : n.inputs)
      if (!in.empty() && !shapes_.count(in) && !constants_.count(in))
        return NodeError(n, "reads " + in + ", which nothing before it makes");
    for (const std::string& o : n.outputs)
      if (shapes_.count(o)) return NodeError(n, "makes " + o + " a second time");
    bool folded = false;
    Status s = InferNode(n, &folded);
    if (!s.ok()) return s;
    if (!folded) nodes_.push_back(std::move(n));
  }
  for (const std::string& o : outputs_) {
    if (!shapes_.count(o)) return Status::InvalidArgument(what_ + ": output " + o + " is made by no node");
    if (constants_.count(o)) return Status::InvalidArgument(what_ + ": output " + o + " is a constant");
  }
  return Status::OK();
}

Status OnnxGraph::InferNode(OnnxNode& n, bool* folded) {
  auto in_dims = [&](size_t k) -> const Dims& { return shapes_.at(n.inputs[k]); };
  auto need_inputs = [&](size_t lo, size_t hi) {
    return n.inputs.size() >= lo && n.inputs.size() <= hi ? Status::OK()
                                                         : NodeError(n, "has " + std::to_string(n.inputs.size()) + " inputs");
  };
  auto constant = [&](size_t k) -> const ConstTensor* { return k < n.inputs.size() ? Constant(n.inputs[k]) : nullptr; };
  const std::string& out = n.outputs[0];
  if (n.outputs.size() != 1) return NodeError(n, "has more than one output (training-mode outputs are not supported)");

  if (n.op == "Constant") {
    shapes_[out] = constants_.at(out).dims;
    *folded = true;
    return Status::OK();
  }
  for (size_t k = 0; k < n.inputs.size(); ++k)
    if (!n.inputs[k].empty() && !shapes_.count(n.inputs[k])) shapes_[n.inputs[k]] = Constant(n.inputs[k])->dims;

  if (n.op == "Shape") {
    if (Status s = need_inputs(1, 1); !s.ok()) return s;
    ConstTensor c;
    c.is_int = true;
    c.i = in_dims(0);
    c.dims = {static_cast<int64_t>(c.i.size())};
    shapes_[out] = c.dims;
    constants_[out] = std::move(c);
    *folded = true;
    return Status::OK();
  }
  if (n.op == "Gather" || n.op == "Unsqueeze") {
    const ConstTensor* x = constant(0);
    if (!x || !x->is_int) return NodeError(n, "only shape arithmetic on constants is supported");
    ConstTensor c;
    c.is_int = true;
    if (n.op == "Gather") {
      if (Status s = need_inputs(2, 2); !s.ok()) return s;
      const ConstTensor* idx = constant(1);
      if (!idx || !idx->is_int || x->dims.size() != 1 || n.Int("axis", 0) != 0)
        return NodeError(n, "only a constant index into a 1-D constant is supported");
      for (int64_t k : idx->i) {
        if (k < 0) k += x->dims[0];
        if (k < 0 || k >= x->dims[0]) return NodeError(n, "index out of range");
        c.i.push_back(x->i[static_cast<size_t>(k)]);
      }
      c.dims = idx->dims;
    } else {
      c.i = x->i;
      c.dims = x->dims;
      std::vector<int64_t> axes = n.Ints("axes");
      if (axes.empty()) return NodeError(n, "needs its axes attribute");
      std::sort(axes.begin(), axes.end());
      for (int64_t a : axes) {
        a = NormAxis(a, c.dims.size() + 1);
        if (a < 0 || a > static_cast<int64_t>(c.dims.size())) return NodeError(n, "axis out of range");
        c.dims.insert(c.dims.begin() + a, 1);
      }
    }
    shapes_[out] = c.dims;
    constants_[out] = std::move(c);
    *folded = true;
    return Status::OK();
  }
  if (n.op == "Concat") {
    if (n.inputs.empty()) return NodeError(n, "has no input");
    bool all_int = true;
    for (size_t k = 0; k < n.inputs.size(); ++k) all_int = all_int && constant(k) && constant(k)->is_int;
    if (all_int) {  // shape arithmetic
      ConstTensor c;
      c.is_int = true;
      for (size_t k = 0; k < n.inputs.size(); ++k) {
        if (constant(k)->dims.size() != 1) return NodeError(n, "only 1-D integer constants are joined");
        c.i.insert(c.i.end(), constant(k)->i.begin(), constant(k)->i.end());
      }
      c.dims = {static_cast<int64_t>(c.i.size())};
      shapes_[out] = c.dims;
      constants_[out] = std::move(c);
      *folded = true;
      return Status::OK();
    }
    const Dims& first = in_dims(0);
    const int64_t axis = NormAxis(n.Int("axis", 0), first.size());
    if (axis < 0 || axis >= static_cast<int64_t>(first.size())) return NodeError(n, "axis out of range");
    Dims o = first;
    for (size_t k = 1; k < n.inputs.size(); ++k) {
      const Dims& d = in_dims(k);
      if (d.size() != first.size()) return NodeError(n, "inputs of different ranks");
      for (size_t j = 0; j < d.size(); ++j)
        if (static_cast<int64_t>(j) != axis && d[j] != first[j])
          return NodeError(n, "inputs " + DimsText(first) + " and " + DimsText(d) + " do not fit together");
      o[axis] += d[axis];
    }
    n.ints["axis"] = {axis};
    shapes_[out] = o;
    return Status::OK();
  }
  for (size_t k = 0; k < n.inputs.size(); ++k)
    if (constant(k) && constant(k)->is_int && !(n.op == "Reshape" && k == 1))
      return NodeError(n, "integer tensors are only supported in shape arithmetic");

  if (n.op == "Reshape") {
    if (Status s = need_inputs(2, 2); !s.ok()) return s;
    const ConstTensor* target = constant(1);
    if (!target || !target->is_int) return NodeError(n, "the target shape must be known before the input is seen");
    const Dims& x = in_dims(0);
    Dims o;
    int64_t known = 1, infer_at = -1;
    for (size_t k = 0; k < target->i.size(); ++k) {
      int64_t v = target->i[k];
      if (v == 0) {
        if (k >= x.size()) return NodeError(n, "0 in the target shape beyond the input's rank");
        v = x[k];
      }
      if (v == -1) {
        if (infer_at >= 0) return NodeError(n, "more than one -1 in the target shape");
        infer_at = static_cast<int64_t>(k);
        v = 1;
      } else if (v <= 0) {
        return NodeError(n, "bad target dimension " + std::to_string(v));
      } else {
        known *= v;
      }
      o.push_back(v);
    }
    const int64_t count = ElementCount(x);
    if (infer_at >= 0) {
      if (known <= 0 || count % known != 0) return NodeError(n, "cannot reshape " + DimsText(x));
      o[static_cast<size_t>(infer_at)] = count / known;
    }
    if (ElementCount(o) != count) return NodeError(n, "cannot reshape " + DimsText(x) + " to " + DimsText(o));
    n.inputs.resize(1);
    shapes_[out] = o;
    return Status::OK();
  }
  if (n.op == "Flatten") {
    if (Status s = need_inputs(1, 1); !s.ok()) return s;
    const Dims& x = in_dims(0);
    const int64_t axis = NormAxis(n.Int("axis", 1), x.size());
    if (axis < 0 || axis > static_cast<int64_t>(x.size())) return NodeError(n, "axis out of range");
    int64_t a = 1, b = 1;
    for (size_t k = 0; k < x.size(); ++k) (static_cast<int64_t>(k) < axis ? a : b) *= x[k];
    n.op = "Reshape";
    shapes_[out] = {a, b};
    return Status::OK();
  }
  if (constant(0)) return NodeError(n, "a constant first input is not supported");
  const Dims& x = in_dims(0);

  if (n.op == "Conv") {
    if (Status s = need_inputs(2, 3); !s.ok()) return s;
    const ConstTensor* w = constant(1);
    const ConstTensor* b = n.inputs.size() > 2 && !n.inputs[2].empty() ? constant(2) : nullptr;
    if (!w || w->is_int) return NodeError(n, "the weights must be a float constant");
    if (n.inputs.size() > 2 && !n.inputs[2].empty() && !b) return NodeError(n, "the bias must be a constant");
    if (x.size() != 4 || w->dims.size() != 4) return NodeError(n, "only 2-D convolutions of NCHW tensors are supported");
    const int64_t g = n.Int("group", 1);
    const int64_t m = w->dims[0], kh = w->dims[2], kw = w->dims[3];
    if (g <= 0 || x[1] % g != 0 || m % g != 0 || w->dims[1] * g != x[1])
      return NodeError(n, "weights " + DimsText(w->dims) + " do not fit input " + DimsText(x) + " in " + std::to_string(g) + " groups");
    if (b && (b->dims.size() != 1 || b->dims[0] != m)) return NodeError(n, "bias shape " + DimsText(b->dims));
    const auto ks = n.Ints("kernel_shape", {kh, kw});
    const auto st = n.Ints("strides", {1, 1}), dl = n.Ints("dilations", {1, 1}), pd = n.Ints("pads", {0, 0, 0, 0});
    if (ks != Dims{kh, kw} || st.size() != 2 || dl.size() != 2 || pd.size() != 4)
      return NodeError(n, "kernel_shape, strides, dilations or pads do not fit a 2-D convolution");
    for (int64_t v : st) if (v < 1 || v > 64) return NodeError(n, "bad stride");
    for (int64_t v : dl) if (v < 1 || v > 64) return NodeError(n, "bad dilation");
    for (int64_t v : pd) if (v < 0 || v > 64) return NodeError(n, "bad padding");
    const int64_t oh = (x[2] + pd[0] + pd[2] - (dl[0] * (kh - 1) + 1)) / st[0] + 1;
    const int64_t ow = (x[3] + pd[1] + pd[3] - (dl[1] * (kw - 1) + 1)) / st[1] + 1;
    if (oh <= 0 || ow <= 0) return NodeError(n, "the kernel is larger than the padded input " + DimsText(x));
    n.ints["group"] = {g};
    n.ints["strides"] = st;
    n.ints["dilations"] = dl;
    n.ints["pads"] = pd;
    shapes_[out] = {x[0], m, oh, ow};
    return Status::OK();
  }
  if (n.op == "Relu" || n.op == "Exp") {
    if (Status s = need_inputs(1, 1); !s.ok()) return s;
    shapes_[out] = x;
    return Status::OK();
  }
  if (n.op == "PRelu") {
    if (Status s = need_inputs(2, 2); !s.ok()) return s;
    const ConstTensor* slope = constant(1);
    if (!slope) return NodeError(n, "the slope must be a constant");
    Dims o;
    if (!Broadcast(x, slope->dims, &o) || o != x) return NodeError(n, "slope " + DimsText(slope->dims) + " does not fit " + DimsText(x));
    shapes_[out] = x;
    return Status::OK();
  }
  if (n.op == "Add" || n.op == "Sub" || n.op == "Mul" || n.op == "Div") {
    if (Status s = need_inputs(2, 2); !s.ok()) return s;
    Dims o;
    if (!Broadcast(x, in_dims(1), &o))
      return NodeError(n, DimsText(x) + " and " + DimsText(in_dims(1)) + " do not broadcast");
    if (ElementCount(o) > kMaxElements) return NodeError(n, "too large");
    shapes_[out] = o;
    return Status::OK();
  }
  if (n.op == "Transpose") {
    if (Status s = need_inputs(1, 1); !s.ok()) return s;
    std::vector<int64_t> perm = n.Ints("perm");
    if (perm.empty())
      for (int64_t k = static_cast<int64_t>(x.size()) - 1; k >= 0; --k) perm.push_back(k);
    if (perm.size() != x.size()) return NodeError(n, "perm does not fit the input's rank");
    std::vector<bool> seen(x.size(), false);
    Dims o;
    for (int64_t p : perm) {
      if (p < 0 || p >= static_cast<int64_t>(x.size()) || seen[p]) return NodeError(n, "perm is not a permutation");
      seen[p] = true;
      o.push_back(x[p]);
    }
    n.ints["perm"] = perm;
    shapes_[out] = o;
    return Status::OK();
  }
  if (n.op == "Slice") {
    if (Status s = need_inputs(1, 1); !s.ok()) return NodeError(n, "only the attribute form (opset < 10) is supported");
    const auto starts = n.Ints("starts"), ends = n.Ints("ends");
    std::vector<int64_t> axes = n.Ints("axes");
    if (axes.empty())
      for (size_t k = 0; k < starts.size(); ++k) axes.push_back(static_cast<int64_t>(k));
    if (starts.size() != ends.size() || axes.size() != starts.size() || starts.empty())
      return NodeError(n, "starts, ends and axes do not match");
    Dims o = x;
    std::vector<int64_t> b(x.size(), 0), e(x.begin(), x.end());
    for (size_t k = 0; k < axes.size(); ++k) {
      const int64_t a = NormAxis(axes[k], x.size());
      if (a < 0 || a >= static_cast<int64_t>(x.size())) return NodeError(n, "axis out of range");
      int64_t s0 = starts[k] < 0 ? starts[k] + x[a] : starts[k];
      int64_t e0 = ends[k] < 0 ? ends[k] + x[a] : ends[k];
      s0 = std::clamp<int64_t>(s0, 0, x[a]);
      e0 = std::clamp<int64_t>(e0, 0, x[a]);
      if (e0 <= s0) return NodeError(n, "an empty slice");
      b[a] = s0;
      e[a] = e0;
      o[a] = e0 - s0;
    }
    n.ints["starts"] = b;  // resolved: one start and end per axis of the input
    n.ints["ends"] = e;
    n.ints.erase("axes");
    shapes_[out] = o;
    return Status::OK();
  }
  if (n.op == "Softmax") {
    if (Status s = need_inputs(1, 1); !s.ok()) return s;
    const int64_t axis = NormAxis(n.Int("axis", 1), x.size());
    if (axis != static_cast<int64_t>(x.size()) - 1) return NodeError(n, "only a softmax over the last axis is supported");
    n.ints["axis"] = {axis};
    shapes_[out] = x;
    return Status::OK();
  }
  if (n.op == "Gemm") {
    if (Status s = need_inputs(2, 3); !s.ok()) return s;
    const ConstTensor* w = constant(1);
    const ConstTensor* c = n.inputs.size() > 2 ? constant(2) : nullptr;
    if (!w || (n.inputs.size() > 2 && !c)) return NodeError(n, "B and C must be constants");
    if (n.Int("transA", 0) != 0) return NodeError(n, "transA is not supported");
    if (x.size() != 2 || w->dims.size() != 2) return NodeError(n, "A and B must be matrices");
    const bool tb = n.Int("transB", 0) != 0;
    const int64_t k = tb ? w->dims[1] : w->dims[0], m = tb ? w->dims[0] : w->dims[1];
    if (k != x[1]) return NodeError(n, "B " + DimsText(w->dims) + " does not fit A " + DimsText(x));
    if (c && !(ElementCount(c->dims) == m && (c->dims == Dims{m} || c->dims == Dims{1, m})))
      return NodeError(n, "only a C of one value per output column is supported");
    shapes_[out] = {x[0], m};
    return Status::OK();
  }
  if (n.op == "BatchNormalization") {
    if (Status s = need_inputs(5, 5); !s.ok()) return s;
    if (x.size() < 2) return NodeError(n, "needs a channel axis");
    for (size_t k = 1; k < 5; ++k)
      if (!constant(k) || constant(k)->dims != Dims{x[1]}) return NodeError(n, "scale, bias, mean and variance must be constants of one value per channel");
    shapes_[out] = x;
    return Status::OK();
  }
  return NodeError(n, "operator not supported");
}

}  // namespace lineup::infer
