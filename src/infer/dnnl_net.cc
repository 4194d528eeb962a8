// The "dnnl" engine: oneDNN primitives (Debian's libdnnl-dev, oneDNN 2.6), one per
// operator, built once and run in order on the calling thread.
//
// Convolutions let oneDNN choose their memory layouts (blocked channels for its
// AVX-512 kernels) and carry what follows them as post-ops: a Relu reading only the
// convolution's output, and a residual Add, done as a "sum" post-op into the other
// operand's memory when nothing reads that operand afterwards (else into a copy). PRelu
// runs as its own primitive on the convolution's layout: as a post-op, oneDNN 2.6 fell
// back to its reference convolution (docs/engine.md). Every other operator works on
// plain row-major memory, reordered to it where a convolution left a blocked layout.
// Shape-only operators (Reshape, Flatten) are views of the same memory. A Gemm becomes
// an inner product, with a BatchNormalization that reads only its output folded into
// its weights.
//
// oneDNN is built with OpenMP here; building and Run limit the calling thread to one
// OpenMP thread for their duration (one pipeline per core) and restore the previous
// setting after.
#include <omp.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>

#include <oneapi/dnnl/dnnl.hpp>

#include "infer/engines.h"

namespace lineup::infer {

namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

memory::dims MDims(const Dims& d) { return memory::dims(d.begin(), d.end()); }

memory::desc Plain(const Dims& d) {
  static const tag kTags[] = {tag::a, tag::a, tag::ab, tag::abc, tag::abcd, tag::abcde};
  if (d.empty()) return memory::desc({1}, dt::f32, tag::a);
  return memory::desc(MDims(d), dt::f32, kTags[d.size()]);
}

class DnnlNet final : public InferenceNet {
 public:
  DnnlNet() : eng_(dnnl::engine::kind::cpu, 0), strm_(eng_) {}

  const std::vector<int64_t>& InputDims() const override { return input_dims_; }
  size_t OutputCount() const override { return outs_.size(); }
  const std::vector<int64_t>& OutputDims(size_t k) const override { return outs_.at(k).dims; }
  std::span<const float> Output(size_t k) const override {
    const Out& o = outs_.at(k);
    return {static_cast<const float*>(o.mem.get_data_handle()), size_t(ElementCount(o.dims))};
  }
  std::string Engine() const override { return "dnnl"; }
  double Flops() const override { return flops_; }

  Status Run(std::span<const float> input) override {
    if (static_cast<int64_t>(input.size()) != ElementCount(input_dims_))
      return Status::InvalidArgument("network input needs " + std::to_string(ElementCount(input_dims_)) + " values");
    std::copy(input.begin(), input.end(), static_cast<float*>(input_mem_.get_data_handle()));
    const int prev = omp_get_max_threads();
    omp_set_num_threads(1);
    Status st = Status::OK();
    try {
      for (auto& s : steps_) s.prim.execute(strm_, s.args);
      strm_.wait();
    } catch (const dnnl::error& e) {
      st = Status::Internal(std::string("oneDNN failed: ") + e.what());
    }
    omp_set_num_threads(prev);
    return st;
  }

  Status Build(const OnnxGraph& g);
  // The implementations oneDNN chose, one line per primitive (for measurements).
  std::string Implementations() const;

 private:
  struct Step {
    dnnl::primitive prim;
    std::unordered_map<int, memory> args;
    std::string impl;
  };
  struct Out {
    std::vector<int64_t> dims;
    memory mem;
  };

  memory NewMem(const memory::desc& d) { return memory(d, eng_); }
  // The value in layout `want`, reordered into a new memory if it is in another.
  memory As(const std::string& name, const memory::desc& want) {
    memory m = values_.at(name);
    if (m.get_desc() == want) return m;
    memory r = NewMem(want);
    dnnl::reorder::primitive_desc pd(eng_, m.get_desc(), eng_, want);
    steps_.push_back({dnnl::reorder(pd), {{DNNL_ARG_FROM, m}, {DNNL_ARG_TO, r}}, "reorder"});
    return r;
  }
  // The value in plain row-major layout with its ONNX shape.
  memory AsPlain(const OnnxGraph& g, const std::string& name) {
    if (!values_.count(name)) {  // a constant operand
      const ConstTensor& c = *g.Constant(name);
      memory m = NewMem(Plain(c.dims));
      std::copy(c.f.begin(), c.f.end(), static_cast<float*>(m.get_data_handle()));
      values_[name] = m;
      return m;
    }
    return As(name, Plain(g.Shape(name)));
  }
  memory Const(const std::vector<float>& v, const memory::desc& d) {
    memory m = NewMem(d);
    std::copy(v.begin(), v.end(), static_cast<float*>(m.get_data_handle()));
    return m;
  }
  template <class P, class PD>
  void Add(const PD& pd, std::unordered_map<int, memory> args) {
    steps_.push_back({P(pd), std::move(args), pd.impl_info_str()});
  }

  Status Conv(const OnnxGraph& g, size_t i, std::set<size_t>* done);
  // True if node i is the only reader of `value`, which is neither the graph's input
  // nor one of its outputs (so node i may overwrite it).
  bool OnlyReader(const OnnxGraph& g, const std::string& value, size_t i) const {
    auto it = readers_.find(value);
    return it != readers_.end() && it->second == std::vector<size_t>{i} && value != g.InputName() &&
           !graph_outputs_.count(value);
  }
  Status Binary(const OnnxGraph& g, const OnnxNode& n);

  dnnl::engine eng_;
  dnnl::stream strm_;
  std::vector<int64_t> input_dims_;
  memory input_mem_;
  std::vector<Step> steps_;
  std::map<std::string, memory> values_;
  std::map<std::string, std::vector<size_t>> readers_;  // node indices reading each value
  std::set<std::string> graph_outputs_;
  std::vector<Out> outs_;
  double flops_ = 0;
};

std::string DnnlNet::Implementations() const {
  std::string s;
  for (const auto& st : steps_) s += st.impl + "\n";
  return s;
}

// The single node reading `value` if exactly one does and it is not a graph output.
const OnnxNode* SoleReader(const OnnxGraph& g, const std::map<std::string, std::vector<size_t>>& readers,
                           const std::set<std::string>& outputs, const std::string& value, size_t* index) {
  auto it = readers.find(value);
  if (it == readers.end() || it->second.size() != 1 || outputs.count(value)) return nullptr;
  *index = it->second[0];
  return &g.Nodes()[*index];
}

Status DnnlNet::Conv(const OnnxGraph& g, size_t i, std::set<size_t>* done) {
  const OnnxNode& n = g.Nodes()[i];
  const Dims& xd = g.Shape(n.inputs[0]);
  const ConstTensor& w = *g.Constant(n.inputs[1]);
  const int64_t groups = n.Int("group", 1);
  const auto pads = n.Ints("pads"), st = n.Ints("strides"), dl = n.Ints("dilations");
  std::string out = n.outputs[0];
  const Dims& yd = g.Shape(out);

  // What follows the convolution and can ride along as post-ops.
  dnnl::post_ops po;
  memory sum_into;       // the residual operand, if an Add is fused
  size_t j = 0;
  const OnnxNode* r = SoleReader(g, readers_, graph_outputs_, out, &j);
  if (r && r->op == "Add" && g.Shape(r->inputs[0]) == g.Shape(r->inputs[1])) {
    const std::string& other = r->inputs[0] == out ? r->inputs[1] : r->inputs[0];
    if (other != out && values_.count(other)) {
      // In place if the Add is the last reader of the other operand.
      const auto& rd = readers_.at(other);
      bool last = !graph_outputs_.count(other);
      for (size_t k : rd) last = last && (k == j || k < i);
      memory o = values_.at(other);
      if (last) {
        sum_into = o;
      } else {
        sum_into = NewMem(o.get_desc());
        dnnl::reorder::primitive_desc pd(eng_, o.get_desc(), eng_, o.get_desc());
        steps_.push_back({dnnl::reorder(pd), {{DNNL_ARG_FROM, o}, {DNNL_ARG_TO, sum_into}}, "copy"});
      }
      po.append_sum(1.0f);
      done->insert(j);
      out = r->outputs[0];
      r = SoleReader(g, readers_, graph_outputs_, out, &j);
    }
  }
  if (r && r->op == "Relu") {
    po.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    done->insert(j);
    out = r->outputs[0];
  }
  dnnl::primitive_attr attr;
  attr.set_post_ops(po);

  const memory::dims wdims = groups == 1 ? memory::dims{w.dims[0], w.dims[1], w.dims[2], w.dims[3]}
                                         : memory::dims{groups, w.dims[0] / groups, w.dims[1], w.dims[2], w.dims[3]};
  const memory::desc src_any(MDims(xd), dt::f32, tag::any), wei_any(wdims, dt::f32, tag::any);
  const memory::desc dst_md = sum_into ? sum_into.get_desc() : memory::desc(MDims(yd), dt::f32, tag::any);
  const memory::desc bias_md({w.dims[0]}, dt::f32, tag::a);
  dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src_any,
                                    wei_any, bias_md, dst_md, {st[0], st[1]}, {dl[0] - 1, dl[1] - 1},
                                    {pads[0], pads[1]}, {pads[2], pads[3]});
  dnnl::convolution_forward::primitive_desc pd(d, attr, eng_);

  memory src = As(n.inputs[0], pd.src_desc());
  // Weights: from ONNX's plain [M, C/g, kh, kw] into the layout oneDNN chose, once.
  memory wplain = Const(w.f, memory::desc(wdims, dt::f32, groups == 1 ? tag::oihw : tag::goihw));
  memory wei = NewMem(pd.weights_desc());
  dnnl::reorder(wplain, wei).execute(strm_, wplain, wei);
  std::vector<float> bias(size_t(w.dims[0]), 0.0f);
  if (n.inputs.size() > 2 && !n.inputs[2].empty()) bias = g.Constant(n.inputs[2])->f;
  memory b = Const(bias, bias_md);
  memory dst = sum_into ? sum_into : NewMem(pd.dst_desc());
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wei}, {DNNL_ARG_BIAS, b}, {DNNL_ARG_DST, dst}};
  Add<dnnl::convolution_forward>(pd, std::move(args));
  values_[out] = dst;
  return Status::OK();
}

// A 4-D layout with channels innermost and unblocked (NHWC).
bool ChannelsLast(const memory::desc& d) {
  const auto& b = d.data.format_desc.blocking;
  return d.data.ndims == 4 && d.data.format_kind == dnnl_blocked && b.inner_nblks == 0 && b.strides[1] == 1 &&
         b.strides[3] == d.data.dims[1] && b.strides[2] == d.data.dims[1] * d.data.dims[3];
}

dnnl::algorithm Alg(const std::string& op) {
  return op == "Add"   ? dnnl::algorithm::binary_add
         : op == "Sub" ? dnnl::algorithm::binary_sub
         : op == "Mul" ? dnnl::algorithm::binary_mul
                       : dnnl::algorithm::binary_div;
}

Status DnnlNet::Binary(const OnnxGraph& g, const OnnxNode& n) {
  Dims a = g.Shape(n.inputs[0]), b = g.Shape(n.inputs[1]);
  const Dims& y = g.Shape(n.outputs[0]);
  std::string an = n.inputs[0], bn = n.inputs[1];
  if (a != y) {  // oneDNN broadcasts only its second operand
    if (n.op == "Sub" || n.op == "Div" || b != y) return g.NodeError(n, "only the second operand may be broadcast");
    std::swap(a, b);
    std::swap(an, bn);
  }
  if (b == y && values_.count(an) && values_.count(bn)) {
    // Same shapes: work in the first operand's layout (a convolution's, often).
    memory ma = values_.at(an);
    memory mb = As(bn, ma.get_desc());
    dnnl::binary::desc d(Alg(n.op), ma.get_desc(), mb.get_desc(), ma.get_desc());
    dnnl::binary::primitive_desc pd(d, eng_);
    memory dst = NewMem(ma.get_desc());
    Add<dnnl::binary>(pd, {{DNNL_ARG_SRC_0, ma}, {DNNL_ARG_SRC_1, mb}, {DNNL_ARG_DST, dst}});
    values_[n.outputs[0]] = dst;
    return Status::OK();
  }
  if (values_.count(an) && ElementCount(b) == 1 && g.Constant(bn)) {
    // A scalar constant: any layout of the first operand.
    memory ma = values_.at(an);
    const memory::desc bdesc = Plain(Dims(y.size(), 1));
    memory mb = Const(g.Constant(bn)->f, bdesc);
    dnnl::binary::desc d(Alg(n.op), ma.get_desc(), bdesc, ma.get_desc());
    dnnl::binary::primitive_desc pd(d, eng_);
    memory dst = NewMem(ma.get_desc());
    Add<dnnl::binary>(pd, {{DNNL_ARG_SRC_0, ma}, {DNNL_ARG_SRC_1, mb}, {DNNL_ARG_DST, dst}});
    values_[n.outputs[0]] = dst;
    return Status::OK();
  }
  memory ma = AsPlain(g, an), mb = AsPlain(g, bn);
  Dims bb = b;
  while (bb.size() < y.size()) bb.insert(bb.begin(), 1);
  const memory::desc bdesc = Plain(bb);
  memory mbv(bdesc, eng_, mb.get_data_handle());
  dnnl::binary::desc d(Alg(n.op), ma.get_desc(), bdesc, Plain(y));
  dnnl::binary::primitive_desc pd(d, eng_);
  memory dst = NewMem(Plain(y));
  Add<dnnl::binary>(pd, {{DNNL_ARG_SRC_0, ma}, {DNNL_ARG_SRC_1, mbv}, {DNNL_ARG_DST, dst}});
  values_[n.outputs[0]] = dst;
  return Status::OK();
}

Status DnnlNet::Build(const OnnxGraph& g) {
  input_dims_ = g.InputDims();
  flops_ = g.Flops();
  input_mem_ = NewMem(Plain(input_dims_));
  values_[g.InputName()] = input_mem_;
  for (const auto& o : g.OutputNames()) graph_outputs_.insert(o);
  const auto& nodes = g.Nodes();
  for (size_t i = 0; i < nodes.size(); ++i)
    for (const auto& in : nodes[i].inputs) readers_[in].push_back(i);
  std::set<size_t> done;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (done.count(i)) continue;
    const OnnxNode& n = nodes[i];
    const std::string& out = n.outputs[0];
    const Dims& yd = g.Shape(out);
    if (n.op == "Conv") {
      if (Status s = Conv(g, i, &done); !s.ok()) return s;
    } else if (n.op == "Relu" || n.op == "Exp") {
      memory x = values_.at(n.inputs[0]);
      dnnl::eltwise_forward::desc d(dnnl::prop_kind::forward_inference,
                                    n.op == "Relu" ? dnnl::algorithm::eltwise_relu : dnnl::algorithm::eltwise_exp,
                                    x.get_desc(), 0.0f, 0.0f);
      dnnl::eltwise_forward::primitive_desc pd(d, eng_);
      memory y = NewMem(x.get_desc());
      Add<dnnl::eltwise_forward>(pd, {{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, y}});
      values_[out] = y;
    } else if (n.op == "PRelu") {
      memory x = values_.at(n.inputs[0]);
      Dims sd = g.Constant(n.inputs[1])->dims;
      while (sd.size() < yd.size()) sd.insert(sd.begin(), 1);
      memory s = Const(g.Constant(n.inputs[1])->f, Plain(sd));
      dnnl::prelu_forward::desc d(dnnl::prop_kind::forward_inference, x.get_desc(), Plain(sd));
      dnnl::prelu_forward::primitive_desc pd(d, eng_);
      // In place when nothing else reads the input: the activations stay in cache.
      memory y = OnlyReader(g, n.inputs[0], i) ? x : NewMem(x.get_desc());
      Add<dnnl::prelu_forward>(pd, {{DNNL_ARG_SRC, x}, {DNNL_ARG_WEIGHTS, s}, {DNNL_ARG_DST, y}});
      values_[out] = y;
    } else if (n.op == "Add" || n.op == "Sub" || n.op == "Mul" || n.op == "Div") {
      if (Status s = Binary(g, n); !s.ok()) return s;
    } else if (n.op == "Reshape") {
      memory x = AsPlain(g, n.inputs[0]);
      values_[out] = memory(Plain(yd), eng_, x.get_data_handle());
    } else if (n.op == "Concat") {
      // In channels-last layout if every input is held so (convolutions' outputs, in
      // the RFB block), else in plain layout.
      bool same = true;
      for (const auto& in : n.inputs) same = same && values_.count(in) && ChannelsLast(values_.at(in).get_desc());
      std::vector<memory::desc> srcs;
      std::unordered_map<int, memory> args;
      for (size_t k = 0; k < n.inputs.size(); ++k) {
        memory m = same ? values_.at(n.inputs[k]) : AsPlain(g, n.inputs[k]);
        srcs.push_back(m.get_desc());
        args[DNNL_ARG_MULTIPLE_SRC + int(k)] = m;
      }
      const memory::desc ymd = same ? memory::desc(MDims(yd), dt::f32, tag::nhwc) : Plain(yd);
      dnnl::concat::primitive_desc pd(ymd, int(n.Int("axis", 0)), srcs, eng_);
      memory y = NewMem(ymd);
      args[DNNL_ARG_DST] = y;
      Add<dnnl::concat>(pd, std::move(args));
      values_[out] = y;
    } else if (n.op == "Transpose") {
      memory x = values_.count(n.inputs[0]) ? values_.at(n.inputs[0]) : AsPlain(g, n.inputs[0]);
      const auto perm = n.Ints("perm");
      std::vector<int> inverse(perm.size());
      for (size_t k = 0; k < perm.size(); ++k) inverse[size_t(perm[k])] = int(k);
      const memory::desc vd = x.get_desc().permute_axes(inverse);
      memory view(vd, eng_, x.get_data_handle());
      if (vd == Plain(yd)) {  // e.g. NCHW -> NHWC of a tensor held channels-last: no copy
        values_[out] = view;
        continue;
      }
      memory y = NewMem(Plain(yd));
      dnnl::reorder::primitive_desc pd(eng_, view.get_desc(), eng_, y.get_desc());
      steps_.push_back({dnnl::reorder(pd), {{DNNL_ARG_FROM, view}, {DNNL_ARG_TO, y}}, "transpose"});
      values_[out] = y;
    } else if (n.op == "Slice") {
      memory x = AsPlain(g, n.inputs[0]);
      const auto starts = n.Ints("starts");
      memory::desc sub = x.get_desc().submemory_desc(MDims(yd), MDims(starts));
      memory view(sub, eng_, x.get_data_handle());
      memory y = NewMem(Plain(yd));
      dnnl::reorder::primitive_desc pd(eng_, sub, eng_, y.get_desc());
      steps_.push_back({dnnl::reorder(pd), {{DNNL_ARG_FROM, view}, {DNNL_ARG_TO, y}}, "slice"});
      values_[out] = y;
    } else if (n.op == "Softmax") {
      memory x = AsPlain(g, n.inputs[0]);
      dnnl::softmax_forward::desc d(dnnl::prop_kind::forward_inference, x.get_desc(), int(n.Int("axis", 1)));
      dnnl::softmax_forward::primitive_desc pd(d, eng_);
      memory y = NewMem(x.get_desc());
      Add<dnnl::softmax_forward>(pd, {{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, y}});
      values_[out] = y;
    } else if (n.op == "Gemm") {
      memory x = AsPlain(g, n.inputs[0]);
      const ConstTensor& w = *g.Constant(n.inputs[1]);
      const bool tb = n.Int("transB", 0) != 0;
      const int64_t k = tb ? w.dims[1] : w.dims[0], m = tb ? w.dims[0] : w.dims[1];
      const float alpha = n.Float("alpha", 1), beta = n.Float("beta", 1);
      std::vector<float> wt(size_t(m * k)), bias(size_t(m), 0.0f);
      for (int64_t o = 0; o < m; ++o)
        for (int64_t c = 0; c < k; ++c) wt[size_t(o * k + c)] = alpha * (tb ? w.f[size_t(o * k + c)] : w.f[size_t(c * m + o)]);
      if (n.inputs.size() > 2)
        for (int64_t o = 0; o < m; ++o) bias[size_t(o)] = beta * g.Constant(n.inputs[2])->f[size_t(o)];
      size_t j = 0;
      const OnnxNode* bn = SoleReader(g, readers_, graph_outputs_, out, &j);
      std::string target = out;
      if (bn && bn->op == "BatchNormalization") {  // fold it into the product
        const auto& sc = g.Constant(bn->inputs[1])->f;
        const auto& sh = g.Constant(bn->inputs[2])->f;
        const auto& mean = g.Constant(bn->inputs[3])->f;
        const auto& var = g.Constant(bn->inputs[4])->f;
        const float eps = bn->Float("epsilon", 1e-5f);
        for (int64_t o = 0; o < m; ++o) {
          const float f = sc[size_t(o)] / std::sqrt(var[size_t(o)] + eps);
          for (int64_t c = 0; c < k; ++c) wt[size_t(o * k + c)] *= f;
          bias[size_t(o)] = (bias[size_t(o)] - mean[size_t(o)]) * f + sh[size_t(o)];
        }
        done.insert(j);
        target = bn->outputs[0];
      }
      const memory::desc wd({m, k}, dt::f32, tag::ab), bd({m}, dt::f32, tag::a);
      dnnl::inner_product_forward::desc d(dnnl::prop_kind::forward_inference, x.get_desc(), wd, bd, Plain(g.Shape(target)));
      dnnl::inner_product_forward::primitive_desc pd(d, eng_);
      memory y = NewMem(Plain(g.Shape(target)));
      Add<dnnl::inner_product_forward>(pd, {{DNNL_ARG_SRC, x}, {DNNL_ARG_WEIGHTS, Const(wt, wd)}, {DNNL_ARG_BIAS, Const(bias, bd)}, {DNNL_ARG_DST, y}});
      values_[target] = y;
    } else {
      return g.NodeError(n, "the dnnl engine does not run this operator");
    }
  }
  for (const auto& name : g.OutputNames()) {
    Out o;
    o.dims = g.Shape(name);
    o.mem = NewMem(Plain(o.dims));
    memory v = values_.at(name);
    dnnl::reorder::primitive_desc pd(eng_, v.get_desc(), eng_, o.mem.get_desc());
    steps_.push_back({dnnl::reorder(pd), {{DNNL_ARG_FROM, v}, {DNNL_ARG_TO, o.mem}}, "output"});
    outs_.push_back(std::move(o));
  }
  strm_.wait();
  return Status::OK();
}

}  // namespace

Result<std::unique_ptr<InferenceNet>> BuildDnnlNet(const OnnxGraph& graph) {
  // oneDNN sizes a primitive's work split for the OpenMP threads it sees when the
  // primitive is made, and asks for that many threads at every run whatever the caller's
  // setting then: made for two threads, every run woke a second thread and waited for
  // it (a fifth of a pipeline's CPU time went to the kernel and libgomp). So primitives
  // are made for one thread, as they run.
  const int prev = omp_get_max_threads();
  omp_set_num_threads(1);
  struct Restore {
    int n;
    ~Restore() { omp_set_num_threads(n); }
  } restore{prev};
  try {
    auto net = std::make_unique<DnnlNet>();
    if (Status s = net->Build(graph); !s.ok()) return s;
    if (std::getenv("LINEUP_DNNL_VERBOSE")) std::fprintf(stderr, "%s", net->Implementations().c_str());
    return std::unique_ptr<InferenceNet>(std::move(net));
  } catch (const dnnl::error& e) {
    return Status::InvalidArgument(graph.What() + ": oneDNN cannot build it (" + e.what() + ")");
  }
}

}  // namespace lineup::infer
