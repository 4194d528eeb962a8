#include "lineup/embedder.h"

#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>

#include "lineup/models.h"

namespace lineup {

namespace {

class FrFeatureEmbedder final : public Embedder {
 public:
  FrFeatureEmbedder(cv::dnn::Net net, bool flip) : net_(std::move(net)), flip_(flip) {
    model_ = {"fr_feature", "faceplugin-face-recognition-js@0.0.1", flip ? "flip" : "plain", 512};
  }

  const EmbeddingModel& Model() const override { return model_; }

  Result<cv::Mat> Embed(std::span<const cv::Mat> faces) override {
    cv::Mat out(static_cast<int>(faces.size()), model_.dim, CV_32F);
    try {
      for (size_t i = 0; i < faces.size(); ++i) {
        const cv::Mat& f = faces[i];
        if (f.rows != 112 || f.cols != 112 || f.type() != CV_8UC3)
          return Status::InvalidArgument("embedder needs 112x112 8-bit BGR aligned faces");
        cv::Mat row = out.row(static_cast<int>(i));
        Forward(f).copyTo(row);
        if (flip_) {
          cv::Mat mirrored;
          cv::flip(f, mirrored, 1);
          row += Forward(mirrored);
        }
        double n = cv::norm(row);
        if (n > 0) row /= n;
      }
    } catch (const cv::Exception& e) {
      return Status::Internal(std::string("embedding network failed: ") + e.err);
    }
    return out;
  }

 private:
  cv::Mat Forward(const cv::Mat& face) {
    cv::Mat blob = cv::dnn::blobFromImage(face, 1.0 / 128, cv::Size(112, 112), cv::Scalar::all(127), true, false);
    net_.setInput(blob);
    cv::Mat r = net_.forward();
    r = r.reshape(1, 1);
    cv::Mat v;
    r.convertTo(v, CV_32F);
    double n = cv::norm(v);
    if (n > 0) v /= n;
    return v;
  }

  cv::dnn::Net net_;
  bool flip_;
  EmbeddingModel model_;
};

}  // namespace

const char* Embedder::DefaultSpec() { return "fr_feature"; }

Result<std::unique_ptr<Embedder>> Embedder::Create(const std::string& spec, const std::string& model_dir) {
  bool flip;
  if (spec == "fr_feature") flip = false;
  else if (spec == "fr_feature+flip") flip = true;
  else return Status::InvalidArgument("unknown embedder \"" + spec + "\" (known: fr_feature, fr_feature+flip)");
  auto net = LoadModel(model_dir, "fr_feature.onnx");
  if (!net.ok()) return net.status();
  return std::unique_ptr<Embedder>(new FrFeatureEmbedder(std::move(*net), flip));
}

}  // namespace lineup
