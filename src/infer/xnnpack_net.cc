// The "xnnpack" engine: XNNPACK's subgraph API (Debian's libxnnpack-dev, a 2022-02
// snapshot). XNNPACK works in NHWC: 4-D values are kept channels-last, convolution
// weights are re-laid from ONNX's [M, C/g, kh, kw] to [M, kh, kw, C/g], and the input
// and 4-D outputs are re-ordered at the edges. A Relu that is the only reader of a
// convolution is fused into it (XNNPACK's output clamp); a BatchNormalization after a
// Gemm is folded into the Gemm's weights. The snapshot has no concatenation, transpose,
// slice or exponential, so graphs that need them are refused (InvalidArgument).
#include <xnnpack.h>

#include <cmath>
#include <limits>
#include <map>
#include <mutex>

#include "infer/engines.h"

namespace lineup::infer {

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

Status XnnInit() {
  static std::once_flag once;
  static xnn_status st = xnn_status_success;
  std::call_once(once, [] { st = xnn_initialize(nullptr); });
  return st == xnn_status_success ? Status::OK() : Status::Internal("XNNPACK cannot run on this CPU");
}

class XnnpackNet final : public InferenceNet {
 public:
  ~XnnpackNet() override {
    if (runtime_) xnn_delete_runtime(runtime_);
    if (subgraph_) xnn_delete_subgraph(subgraph_);
  }

  const std::vector<int64_t>& InputDims() const override { return input_dims_; }
  size_t OutputCount() const override { return outs_.size(); }
  const std::vector<int64_t>& OutputDims(size_t k) const override { return outs_.at(k).dims; }
  std::span<const float> Output(size_t k) const override { return outs_.at(k).nchw; }
  std::string Engine() const override { return "xnnpack"; }
  double Flops() const override { return flops_; }

  Status Run(std::span<const float> input) override {
    if (static_cast<int64_t>(input.size()) != ElementCount(input_dims_))
      return Status::InvalidArgument("network input needs " + std::to_string(ElementCount(input_dims_)) + " values");
    ToNhwc(input.data(), input_dims_, input_nhwc_.data());
    if (xnn_invoke_runtime(runtime_) != xnn_status_success) return Status::Internal("XNNPACK failed to run the network");
    for (auto& o : outs_)
      if (o.dims.size() == 4) FromNhwc(o.nhwc.data(), o.dims, o.nchw.data());
      else std::copy(o.nhwc.begin(), o.nhwc.end(), o.nchw.begin());
    return Status::OK();
  }

  Status Build(const OnnxGraph& g);

 private:
  struct Out {
    std::vector<int64_t> dims;
    std::vector<float> nhwc, nchw;
  };

  static void ToNhwc(const float* src, const Dims& d, float* dst) {
    if (d.size() != 4) { std::copy(src, src + ElementCount(d), dst); return; }
    const int64_t n = d[0], c = d[1], hw = d[2] * d[3];
    for (int64_t b = 0; b < n; ++b)
      for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t p = 0; p < hw; ++p) dst[(b * hw + p) * c + ch] = src[(b * c + ch) * hw + p];
  }
  static void FromNhwc(const float* src, const Dims& d, float* dst) {
    const int64_t n = d[0], c = d[1], hw = d[2] * d[3];
    for (int64_t b = 0; b < n; ++b)
      for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t p = 0; p < hw; ++p) dst[(b * c + ch) * hw + p] = src[(b * hw + p) * c + ch];
  }

  // XNNPACK's dims for an ONNX shape: NCHW -> NHWC.
  static std::vector<size_t> XDims(const Dims& d) {
    if (d.size() == 4) return {size_t(d[0]), size_t(d[2]), size_t(d[3]), size_t(d[1])};
    return std::vector<size_t>(d.begin(), d.end());
  }

  Result<uint32_t> Value(const OnnxGraph& g, const std::string& name) {
    auto it = ids_.find(name);
    if (it != ids_.end()) return it->second;
    return Status::InvalidArgument(g.What() + ": value " + name + " is not a tensor the engine holds");
  }
  Result<uint32_t> NewValue(const std::string& name, const Dims& d, uint32_t external = XNN_INVALID_VALUE_ID,
                            uint32_t flags = 0) {
    auto xd = XDims(d);
    uint32_t id = 0;
    if (xnn_define_tensor_value(subgraph_, xnn_datatype_fp32, xd.size(), xd.data(), nullptr, external, flags, &id) !=
        xnn_status_success)
      return Status::Internal("XNNPACK refused value " + name);
    ids_[name] = id;
    return id;
  }
  Result<uint32_t> Static(std::vector<float> data, std::vector<size_t> dims) {
    weights_.push_back(std::move(data));
    uint32_t id = 0;
    if (xnn_define_tensor_value(subgraph_, xnn_datatype_fp32, dims.size(), dims.data(), weights_.back().data(),
                                XNN_INVALID_VALUE_ID, 0, &id) != xnn_status_success)
      return Status::Internal("XNNPACK refused a weight tensor");
    return id;
  }

  xnn_subgraph_t subgraph_ = nullptr;
  xnn_runtime_t runtime_ = nullptr;
  std::vector<int64_t> input_dims_;
  std::vector<float> input_nhwc_;
  std::vector<Out> outs_;
  std::map<std::string, uint32_t> ids_;
  std::vector<std::vector<float>> weights_;  // must outlive the runtime
  double flops_ = 0;
};

Status XnnpackNet::Build(const OnnxGraph& g) {
  if (Status s = XnnInit(); !s.ok()) return s;
  input_dims_ = g.InputDims();
  flops_ = g.Flops();
  const auto& outputs = g.OutputNames();
  const uint32_t n_ext = static_cast<uint32_t>(1 + outputs.size());
  if (xnn_create_subgraph(n_ext, 0, &subgraph_) != xnn_status_success) return Status::Internal("XNNPACK: no subgraph");
  input_nhwc_.resize(static_cast<size_t>(ElementCount(input_dims_)));
  if (auto r = NewValue(g.InputName(), input_dims_, 0, XNN_VALUE_FLAG_EXTERNAL_INPUT); !r.ok()) return r.status();
  std::map<std::string, uint32_t> external;
  for (size_t k = 0; k < outputs.size(); ++k) external[outputs[k]] = static_cast<uint32_t>(k + 1);

  std::map<std::string, int> readers;
  for (const auto& n : g.Nodes())
    for (const auto& in : n.inputs) ++readers[in];
  for (const auto& o : outputs) ++readers[o];

  auto output_value = [&](const std::string& name) -> Result<uint32_t> {
    auto it = external.find(name);
    if (it == external.end()) return NewValue(name, g.Shape(name));
    return NewValue(name, g.Shape(name), it->second, XNN_VALUE_FLAG_EXTERNAL_OUTPUT);
  };

  const auto& nodes = g.Nodes();
  for (size_t i = 0; i < nodes.size(); ++i) {
    const OnnxNode& n = nodes[i];
    // A Relu reading only this node's output (and nothing else reading it) is fused.
    const OnnxNode* next = i + 1 < nodes.size() ? &nodes[i + 1] : nullptr;
    const bool fuse_relu = next && next->op == "Relu" && next->inputs[0] == n.outputs[0] &&
                           readers[n.outputs[0]] == 1 && !external.count(n.outputs[0]) &&
                           (n.op == "Conv" || n.op == "Add" || n.op == "Gemm");
    const std::string out_name = fuse_relu ? next->outputs[0] : n.outputs[0];
    const float lo = fuse_relu ? 0.0f : -kInf;
    if (n.op == "Conv") {
      auto x = Value(g, n.inputs[0]);
      if (!x.ok()) return x.status();
      const ConstTensor& w = *g.Constant(n.inputs[1]);
      const int64_t m = w.dims[0], cg = w.dims[1], kh = w.dims[2], kw = w.dims[3];
      const int64_t groups = n.Int("group", 1);
      std::vector<float> wt(w.f.size());
      for (int64_t o = 0; o < m; ++o)
        for (int64_t c = 0; c < cg; ++c)
          for (int64_t y = 0; y < kh; ++y)
            for (int64_t xx = 0; xx < kw; ++xx) wt[((o * kh + y) * kw + xx) * cg + c] = w.f[((o * cg + c) * kh + y) * kw + xx];
      auto wid = Static(std::move(wt), {size_t(m), size_t(kh), size_t(kw), size_t(cg)});
      if (!wid.ok()) return wid.status();
      std::vector<float> bias(size_t(m), 0.0f);
      if (n.inputs.size() > 2 && !n.inputs[2].empty()) bias = g.Constant(n.inputs[2])->f;
      auto bid = Static(std::move(bias), {size_t(m)});
      if (!bid.ok()) return bid.status();
      auto y = output_value(out_name);
      if (!y.ok()) return y.status();
      const auto pads = n.Ints("pads"), st = n.Ints("strides"), dl = n.Ints("dilations");
      if (xnn_define_convolution_2d(subgraph_, uint32_t(pads[0]), uint32_t(pads[3]), uint32_t(pads[2]), uint32_t(pads[1]),
                                    uint32_t(kh), uint32_t(kw), uint32_t(st[0]), uint32_t(st[1]), uint32_t(dl[0]),
                                    uint32_t(dl[1]), uint32_t(groups), size_t(cg), size_t(m / groups), lo, kInf, *x, *wid,
                                    *bid, *y, 0) != xnn_status_success)
        return g.NodeError(n, "XNNPACK refused this convolution");
    } else if (n.op == "Relu") {
      auto x = Value(g, n.inputs[0]);
      if (!x.ok()) return x.status();
      auto y = output_value(out_name);
      if (!y.ok()) return y.status();
      if (xnn_define_clamp(subgraph_, 0.0f, kInf, *x, *y, 0) != xnn_status_success) return g.NodeError(n, "XNNPACK refused it");
    } else if (n.op == "PRelu") {
      auto x = Value(g, n.inputs[0]);
      if (!x.ok()) return x.status();
      const Dims& xd = g.Shape(n.inputs[0]);
      const ConstTensor& s = *g.Constant(n.inputs[1]);
      if (xd.size() != 4 || ElementCount(s.dims) != xd[1]) return g.NodeError(n, "only one slope per channel is supported");
      auto sid = Static(s.f, {size_t(xd[1])});
      if (!sid.ok()) return sid.status();
      auto y = output_value(out_name);
      if (!y.ok()) return y.status();
      if (xnn_define_prelu(subgraph_, *x, *sid, *y, 0) != xnn_status_success) return g.NodeError(n, "XNNPACK refused it");
    } else if (n.op == "Add") {
      if (g.Shape(n.inputs[0]) != g.Shape(n.inputs[1])) return g.NodeError(n, "only same-shape additions are supported");
      auto a = Value(g, n.inputs[0]);
      auto b = Value(g, n.inputs[1]);
      if (!a.ok()) return a.status();
      if (!b.ok()) return b.status();
      auto y = output_value(out_name);
      if (!y.ok()) return y.status();
      if (xnn_define_add2(subgraph_, lo, kInf, *a, *b, *y, 0) != xnn_status_success) return g.NodeError(n, "XNNPACK refused it");
    } else if (n.op == "Reshape") {
      const Dims& xd = g.Shape(n.inputs[0]);
      if (xd.size() == 4 && (xd[2] != 1 || xd[3] != 1))
        return g.NodeError(n, "reshaping a channels-last tensor with spatial extent is not supported");
      auto x = Value(g, n.inputs[0]);
      if (!x.ok()) return x.status();
      auto y = output_value(out_name);
      if (!y.ok()) return y.status();
      auto yd = XDims(g.Shape(out_name));
      if (xnn_define_static_reshape(subgraph_, yd.size(), yd.data(), *x, *y, 0) != xnn_status_success)
        return g.NodeError(n, "XNNPACK refused it");
    } else if (n.op == "Gemm") {
      auto x = Value(g, n.inputs[0]);
      if (!x.ok()) return x.status();
      const ConstTensor& w = *g.Constant(n.inputs[1]);
      const bool tb = n.Int("transB", 0) != 0;
      const int64_t k = tb ? w.dims[1] : w.dims[0], m = tb ? w.dims[0] : w.dims[1];
      const float alpha = n.Float("alpha", 1), beta = n.Float("beta", 1);
      std::vector<float> wt(size_t(m * k)), bias(size_t(m), 0.0f);
      for (int64_t o = 0; o < m; ++o)
        for (int64_t c = 0; c < k; ++c) wt[size_t(o * k + c)] = alpha * (tb ? w.f[size_t(o * k + c)] : w.f[size_t(c * m + o)]);
      if (n.inputs.size() > 2) {
        const ConstTensor& c = *g.Constant(n.inputs[2]);
        for (int64_t o = 0; o < m; ++o) bias[size_t(o)] = beta * c.f[size_t(o)];
      }
      std::string target = out_name;
      // A BatchNormalization reading only this product is folded into its weights.
      if (!fuse_relu && next && next->op == "BatchNormalization" && next->inputs[0] == n.outputs[0] &&
          readers[n.outputs[0]] == 1 && !external.count(n.outputs[0])) {
        const auto& sc = g.Constant(next->inputs[1])->f;
        const auto& bb = g.Constant(next->inputs[2])->f;
        const auto& mean = g.Constant(next->inputs[3])->f;
        const auto& var = g.Constant(next->inputs[4])->f;
        const float eps = next->Float("epsilon", 1e-5f);
        for (int64_t o = 0; o < m; ++o) {
          const float f = sc[size_t(o)] / std::sqrt(var[size_t(o)] + eps);
          for (int64_t c = 0; c < k; ++c) wt[size_t(o * k + c)] *= f;
          bias[size_t(o)] = (bias[size_t(o)] - mean[size_t(o)]) * f + bb[size_t(o)];
        }
        target = next->outputs[0];
        ++i;  // the BatchNormalization is done
      }
      auto wid = Static(std::move(wt), {size_t(m), size_t(k)});
      auto bid = Static(std::move(bias), {size_t(m)});
      if (!wid.ok()) return wid.status();
      if (!bid.ok()) return bid.status();
      auto y = output_value(target);
      if (!y.ok()) return y.status();
      if (xnn_define_fully_connected(subgraph_, lo, kInf, *x, *wid, *bid, *y, 0) != xnn_status_success)
        return g.NodeError(n, "XNNPACK refused it");
    } else {
      return g.NodeError(n, "the xnnpack engine does not run this operator");
    }
    if (fuse_relu) ++i;
  }
  for (const auto& name : outputs) {
    Out o;
    o.dims = g.Shape(name);
    o.nhwc.resize(size_t(ElementCount(o.dims)));
    o.nchw.resize(o.nhwc.size());
    outs_.push_back(std::move(o));
  }
  if (xnn_create_runtime_v2(subgraph_, nullptr, 0, &runtime_) != xnn_status_success)
    return Status::Internal(g.What() + ": XNNPACK could not build a runtime for it");
  std::vector<xnn_external_value> ext{{0, input_nhwc_.data()}};
  for (size_t k = 0; k < outs_.size(); ++k) ext.push_back({uint32_t(k + 1), outs_[k].nhwc.data()});
  if (xnn_setup_runtime(runtime_, ext.size(), ext.data()) != xnn_status_success)
    return Status::Internal(g.What() + ": XNNPACK could not set up the runtime");
  return Status::OK();
}

}  // namespace

Result<std::unique_ptr<InferenceNet>> BuildXnnpackNet(const OnnxGraph& graph) {
  auto net = std::make_unique<XnnpackNet>();
  if (Status s = net->Build(graph); !s.ok()) return s;
  return std::unique_ptr<InferenceNet>(std::move(net));
}

}  // namespace lineup::infer
