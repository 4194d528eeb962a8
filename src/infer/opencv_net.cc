// The "opencv" engine: OpenCV's DNN module runs the ONNX file as it always has.
#include <opencv2/dnn.hpp>

#include "infer/engines.h"

namespace lineup::infer {

namespace {

class OpenCvNet final : public InferenceNet {
 public:
  OpenCvNet(cv::dnn::Net net, const OnnxGraph& g) : net_(std::move(net)), input_(g.InputDims()), names_(g.OutputNames()) {
    for (const auto& name : names_) out_dims_.push_back(g.Shape(name));
    flops_ = g.Flops();
    cv_dims_.assign(input_.begin(), input_.end());
  }

  const std::vector<int64_t>& InputDims() const override { return input_; }
  size_t OutputCount() const override { return names_.size(); }
  const std::vector<int64_t>& OutputDims(size_t k) const override { return out_dims_.at(k); }
  std::string Engine() const override { return "opencv"; }
  double Flops() const override { return flops_; }

  std::span<const float> Output(size_t k) const override {
    const cv::Mat& m = outs_.at(k);
    return {m.ptr<float>(), m.total()};
  }

  Status Run(std::span<const float> input) override {
    if (static_cast<int64_t>(input.size()) != ElementCount(input_))
      return Status::InvalidArgument("network input needs " + std::to_string(ElementCount(input_)) + " values");
    try {
      cv::Mat blob(static_cast<int>(cv_dims_.size()), cv_dims_.data(), CV_32F, const_cast<float*>(input.data()));
      net_.setInput(blob);
      net_.forward(outs_, names_);
      for (size_t k = 0; k < outs_.size(); ++k) {
        if (outs_[k].type() != CV_32F || static_cast<int64_t>(outs_[k].total()) != ElementCount(out_dims_[k]))
          return Status::Internal("OpenCV gave output " + names_[k] + " of an unexpected size");
        if (!outs_[k].isContinuous()) outs_[k] = outs_[k].clone();
      }
    } catch (const cv::Exception& e) {
      return Status::Internal(std::string("OpenCV DNN failed: ") + e.err);
    }
    return Status::OK();
  }

 private:
  cv::dnn::Net net_;
  std::vector<int64_t> input_;
  std::vector<int> cv_dims_;
  std::vector<std::string> names_;
  std::vector<std::vector<int64_t>> out_dims_;
  std::vector<cv::Mat> outs_;
  double flops_ = 0;
};

}  // namespace

Result<std::unique_ptr<InferenceNet>> BuildOpenCvNet(const OnnxGraph& graph, std::string_view bytes) {
  try {
    cv::dnn::Net net = cv::dnn::readNetFromONNX(bytes.data(), bytes.size());
    if (net.empty()) return Status::Corrupt(graph.What() + ": OpenCV could not load it");
    net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
    return std::unique_ptr<InferenceNet>(new OpenCvNet(std::move(net), graph));
  } catch (const cv::Exception& e) {
    return Status::Corrupt(graph.What() + ": OpenCV could not load it (" + e.err + ")");
  }
}

}  // namespace lineup::infer
