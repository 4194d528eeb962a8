#include "lineup/embedder.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>

#include "lineup/aligner.h"
#include "lineup/inference.h"
#include "lineup/models.h"

namespace lineup {

Result<cv::Mat> Embedder::EmbedFaces(const cv::Mat& photo, std::span<const Face> faces,
                                     std::span<const cv::Mat> aligned) {
  if (!aligned.empty()) {
    if (aligned.size() != faces.size()) return Status::InvalidArgument("one aligned crop per face is needed");
    return Embed(aligned);
  }
  std::vector<cv::Mat> crops;
  crops.reserve(faces.size());
  for (const Face& f : faces) crops.push_back(AlignFace(photo, f.five));
  return Embed(crops);
}

namespace {

const char* kFetchHint = "run `make models` (scripts/fetch_models.sh) to fetch it";
constexpr const char* kFrFeatureVersion = "faceplugin-face-recognition-js@0.0.1";
constexpr const char* kFaceApiVersion = "@vladmandic/face-api@1.7.15";

// Each fr_feature spec and the setting its vectors' model id carries. rgb: the channel
// order the package's JS feeds the network. The network reads BGR better (LFW
// pairsDevTrain AUC 0.99975 against 0.99968, pairs.txt 99.35% against 99.23%:
// docs/accuracy.md), so BGR is the default; RGB vectors keep their old setting names
// ("plain", "flip") so that galleries made with them still open.
// weighted: the unit vector is scaled by the face's weight (see FrFeatureWeight).
struct FrFeatureSetting {
  const char* spec;
  const char* setting;
  bool flip, rgb, weighted;
};
constexpr FrFeatureSetting kFrFeatureSettings[] = {{"fr_feature+weight", "bgr+weight", false, false, true},
                                                   {"fr_feature", "bgr", false, false, false},
                                                   {"fr_feature+flip", "bgr+flip", true, false, false},
                                                   {"fr_feature:rgb", "plain", false, true, false},
                                                   {"fr_feature+flip:rgb", "flip", true, true, false}};

// The length of fr_feature's raw output says how sure the network is of the face: the
// mean of its log over LFW's central faces is 1.21 for faces of quality below 0.5 and
// 1.34 for 0.85 and above, and weak faces' same-person similarities are low. Scaling each
// unit vector by (length / e^mu)^-beta changes the similarity s of two faces by a factor
// exp(-beta (a + b)), a and b their log lengths' offsets from mu: near the thresholds
// (s ~ 0.5) by about -beta/2 (a + b), which evens out how far weak and strong faces'
// scores sit from them. mu is the mean log length of LFW's 13,233 central faces (BGR
// input); beta was chosen on LFW's open-set 1:N protocol, both ways of splitting it
// (docs/accuracy.md, "Face weight").
constexpr double kWeightBeta = 0.12;
constexpr double kWeightLogMean = 1.315;
constexpr float kWeightLimit = 1.25f;  // bounds a weight whatever the network gives

double FrFeatureWeight(double raw_length) {
  if (!(raw_length > 0)) return 1;
  const double w = std::exp(-kWeightBeta * (std::log(raw_length) - kWeightLogMean));
  return std::clamp(w, 1.0 / kWeightLimit, static_cast<double>(kWeightLimit));
}

// ---------------------------------------------------------------------------------------
// fr_feature: the ONNX network of faceplugin-face-recognition-js on 112x112 crops.

class FrFeatureEmbedder final : public Embedder {
 public:
  FrFeatureEmbedder(std::unique_ptr<InferenceNet> net, const FrFeatureSetting& s)
      : net_(std::move(net)), flip_(s.flip), rgb_(s.rgb), weighted_(s.weighted) {
    model_ = {"fr_feature", kFrFeatureVersion, s.setting, 512, s.weighted ? kWeightLimit : 1.0f};
  }

  const EmbeddingModel& Model() const override { return model_; }

  std::vector<float> Certainty() const override { return certainty_; }

  Result<cv::Mat> Embed(std::span<const cv::Mat> faces) override {
    cv::Mat out(static_cast<int>(faces.size()), model_.dim, CV_32F);
    certainty_.assign(faces.size(), -1.0f);
    try {
      for (size_t i = 0; i < faces.size(); ++i) {
        const cv::Mat& f = faces[i];
        if (f.rows != 112 || f.cols != 112 || f.type() != CV_8UC3)
          return Status::InvalidArgument("embedder needs 112x112 8-bit BGR aligned faces");
        cv::Mat row = out.row(static_cast<int>(i));
        double raw_length = 0;
        auto v = Forward(f, &raw_length);
        if (!v.ok()) return v.status();
        v->copyTo(row);
        certainty_[i] = static_cast<float>(raw_length / std::exp(kWeightLogMean));
        if (flip_) {
          cv::Mat mirrored;
          cv::flip(f, mirrored, 1);
          auto m = Forward(mirrored, nullptr);
          if (!m.ok()) return m.status();
          row += *m;
        }
        double n = cv::norm(row);
        if (n > 0) row /= n;
        if (weighted_) row *= FrFeatureWeight(raw_length);
      }
    } catch (const cv::Exception& e) {
      return Status::Internal(std::string("embedding network failed: ") + e.err);
    }
    return out;
  }

 private:
  // The unit-length output; its length before normalising goes to *raw_length if given.
  Result<cv::Mat> Forward(const cv::Mat& face, double* raw_length) {
    cv::dnn::blobFromImage(face, blob_, 1.0 / 128, cv::Size(112, 112), cv::Scalar::all(127), rgb_, false);
    if (Status s = net_->Run({blob_.ptr<float>(), blob_.total()}); !s.ok()) return s.WithContext("embedding network");
    const auto r = net_->Output(0);
    cv::Mat v = cv::Mat(1, static_cast<int>(r.size()), CV_32F, const_cast<float*>(r.data())).clone();
    double n = cv::norm(v);
    if (raw_length) *raw_length = n;
    if (n > 0) v /= n;
    return v;
  }

  std::unique_ptr<InferenceNet> net_;
  cv::Mat blob_;  // the network's input, reused
  bool flip_;
  bool rgb_;
  bool weighted_;
  EmbeddingModel model_;
  std::vector<float> certainty_;
};

// ---------------------------------------------------------------------------------------
// TensorFlow.js weights: a manifest (JSON) naming each tensor's shape and encoding, and
// one .bin holding the tensors back to back. A quantised tensor stores q (uint8 or
// uint16, little-endian) per value and decodes as q * scale + min; an unquantised one
// stores float32 values.

struct TfjsTensor {
  std::vector<int> shape;
  std::vector<float> values;
};
using TfjsWeights = std::map<std::string, TfjsTensor>;

// The tensors of `manifest` (its text, read from manifest_path), whose one weights file
// must be named bin_name; `bin` is that file's bytes, read from bin_path.
Result<TfjsWeights> DecodeTfjsWeights(const std::string& manifest_path, const std::string& manifest,
                                      const std::string& bin_name, const std::string& bin_path, const std::string& bin) {
  auto corrupt = [&](const std::string& what) {
    return Status::Corrupt("model file " + manifest_path + ": " + what + "; " + kFetchHint);
  };
  TfjsWeights out;
  size_t offset = 0;
  try {
    const nlohmann::json j = nlohmann::json::parse(manifest);
    if (!j.is_array() || j.size() != 1) return corrupt("expected one weights group");
    const auto& group = j[0];
    const auto& paths = group.at("paths");
    if (paths.size() != 1 || paths[0].get<std::string>() != bin_name)
      return corrupt("expected the one weights file " + bin_name);
    for (const auto& w : group.at("weights")) {
      TfjsTensor t;
      const std::string name = w.at("name").get<std::string>();
      size_t n = 1;
      for (const auto& d : w.at("shape")) {
        const int v = d.get<int>();
        if (v <= 0 || v > (1 << 20)) return corrupt(name + ": bad shape");
        t.shape.push_back(v);
        n *= static_cast<size_t>(v);
        if (n > bin.size()) return corrupt(name + ": more values than " + bin_path + " holds");
      }
      if (w.at("dtype").get<std::string>() != "float32") return corrupt(name + ": dtype is not float32");
      t.values.resize(n);
      if (w.contains("quantization")) {
        const auto& q = w.at("quantization");
        const std::string qtype = q.at("dtype").get<std::string>();
        const size_t bytes = qtype == "uint8" ? 1 : qtype == "uint16" ? 2 : 0;
        if (bytes == 0) return corrupt(name + ": unsupported quantisation " + qtype);
        const double scale = q.at("scale").get<double>(), min = q.at("min").get<double>();
        if (offset + n * bytes > bin.size()) return corrupt(name + ": " + bin_path + " is too short");
        const auto* p = reinterpret_cast<const unsigned char*>(bin.data() + offset);
        for (size_t i = 0; i < n; ++i) {
          const unsigned v = bytes == 1 ? p[i] : static_cast<unsigned>(p[2 * i] | (p[2 * i + 1] << 8));
          t.values[i] = static_cast<float>(v * scale + min);
        }
        offset += n * bytes;
      } else {
        if (offset + n * 4 > bin.size()) return corrupt(name + ": " + bin_path + " is too short");
        std::memcpy(t.values.data(), bin.data() + offset, n * 4);  // little-endian float32, as this host
        offset += n * 4;
      }
      if (!out.emplace(name, std::move(t)).second) return corrupt(name + " appears twice");
    }
  } catch (const std::exception& e) {
    return corrupt(std::string("not a weights manifest (") + e.what() + ")");
  }
  if (offset != bin.size())
    return corrupt(bin_path + " has " + std::to_string(bin.size() - offset) + " bytes the manifest does not describe");
  return out;
}

// ---------------------------------------------------------------------------------------
// faceapi_resnet: dlib's face recognition ResNet (dlib_face_recognition_resnet_model_v1)
// as ported to TensorFlow.js by @vladmandic/face-api (src/faceRecognitionNet), rebuilt
// layer by layer in OpenCV's DNN module:
//   150x150 RGB, (v - mean RGB) / 256
//   conv 7x7/2 (valid) 32 + scale + relu, max pool 3x3/2 (valid)
//   3 residual blocks of 32, a down block to 64 and 3 of 64, a down block to 128 and
//   2 of 128, a down block to 256 and 2 of 256, a last down block of 256
//   global average pool, fully connected 256 -> 128 (no bias)
// A residual block: conv 3x3 + scale + relu, conv 3x3 + scale, + input, relu. A down
// block: conv 3x3/2 (valid) + scale + relu, conv 3x3 + scale, + the input average-pooled
// 2x2/2 (zero channels appended when the width doubles; the conv branch gets a zero
// row and column at the bottom and right where it is one smaller), relu.
// "scale" is dlib's affine layer (the batch norm folded after training): x * w + b.

constexpr int kChipSize = 150;
constexpr double kChipPadding = 0.25;
const char* kFaceApiManifest = "face_recognition_model-weights_manifest.json";
const char* kFaceApiWeights = "face_recognition_model.bin";

class ResNetBuilder {
 public:
  explicit ResNetBuilder(const TfjsWeights& w) : w_(w) { net_.setInputsNames({"data"}); }

  // Returns the net, or Corrupt naming the first tensor that is missing or misshapen.
  Result<cv::dnn::Net> Build(const std::string& manifest_path) {
    int x = 0, c = 32, h = kChipSize;
    x = ConvScale("conv32_down", x, 3, 32, 7, 2, 0, &h);
    x = Relu("conv32_down/relu", x);
    x = Pool("pool", x, "max", 3, 2, &h);
    for (const char* b : {"conv32_1", "conv32_2", "conv32_3"}) x = Residual(b, x, c, h);
    x = ResidualDown("conv64_down", x, c, 64, &h), c = 64;
    for (const char* b : {"conv64_1", "conv64_2", "conv64_3"}) x = Residual(b, x, c, h);
    x = ResidualDown("conv128_down", x, c, 128, &h), c = 128;
    for (const char* b : {"conv128_1", "conv128_2"}) x = Residual(b, x, c, h);
    x = ResidualDown("conv256_down", x, c, 256, &h), c = 256;
    for (const char* b : {"conv256_1", "conv256_2"}) x = Residual(b, x, c, h);
    x = ResidualDown("conv256_down_out", x, c, 256, &h);
    {
      cv::dnn::LayerParams lp;
      lp.set("pool", "ave");
      lp.set("global_pooling", true);
      x = Add("global_avg", "Pooling", lp, {x});
    }
    {
      const cv::Mat fc = Tensor("fc", {256, 128});  // [in, out]
      cv::dnn::LayerParams lp;
      lp.set("num_output", 128);
      lp.set("bias_term", false);
      lp.set("axis", 1);
      lp.blobs.push_back(fc.t());  // OpenCV wants [out, in]
      x = Add("fc", "InnerProduct", lp, {x});
    }
    if (!error_.empty())
      return Status::Corrupt("model file " + manifest_path + ": " + error_ + "; " + kFetchHint);
    if (tensors_used_ != w_.size())
      return Status::Corrupt("model file " + manifest_path + " holds tensors this network does not use; " + kFetchHint);
    net_.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    net_.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
    // One pass on a blank chip sets the net up now, so a graph OpenCV cannot run fails
    // here, at load, rather than on the first face.
    const int shape[] = {1, 3, kChipSize, kChipSize};
    net_.setInput(cv::Mat(4, shape, CV_32F, cv::Scalar(0)));
    if (net_.forward().total() != 128)
      return Status::Corrupt("model file " + manifest_path + ": the network does not give 128 values; " + kFetchHint);
    return net_;
  }

 private:
  // The tensor `name` as a CV_32F matrix of its TF.js shape (rows = first dimension,
  // the rest flattened); records an error and returns zeros if absent or misshapen.
  cv::Mat Tensor(const std::string& name, const std::vector<int>& shape) {
    size_t n = 1;
    for (int d : shape) n *= static_cast<size_t>(d);
    cv::Mat m(shape[0], static_cast<int>(n / static_cast<size_t>(shape[0])), CV_32F, cv::Scalar(0));
    auto it = w_.find(name);
    if (it == w_.end()) {
      if (error_.empty()) error_ = "tensor " + name + " is missing";
      return m;
    }
    if (it->second.shape != shape) {
      if (error_.empty()) error_ = "tensor " + name + " has an unexpected shape";
      return m;
    }
    ++tensors_used_;
    std::memcpy(m.ptr<float>(), it->second.values.data(), n * sizeof(float));
    return m;
  }

  int Add(const std::string& name, const std::string& type, cv::dnn::LayerParams& lp, std::initializer_list<int> inputs) {
    lp.name = name;
    lp.type = type;
    const int id = net_.addLayer(name, type, lp);
    int k = 0;
    for (int in : inputs) net_.connect(in, 0, id, k++);
    return id;
  }

  int Relu(const std::string& name, int x) {
    cv::dnn::LayerParams lp;
    return Add(name, "ReLU", lp, {x});
  }

  // Pooling without padding, rounding the output size down (TF "valid").
  int Pool(const std::string& name, int x, const char* kind, int k, int stride, int* h) {
    cv::dnn::LayerParams lp;
    lp.set("pool", kind);
    lp.set("kernel_size", k);
    lp.set("stride", stride);
    lp.set("pad", 0);
    lp.set("ceil_mode", false);
    *h = (*h - k) / stride + 1;
    return Add(name, "Pooling", lp, {x});
  }

  // prefix/conv (filters [k, k, cin, cout] + bias) then prefix/scale (weights, biases).
  int ConvScale(const std::string& prefix, int x, int cin, int cout, int k, int stride, int pad, int* h) {
    const cv::Mat f = Tensor(prefix + "/conv/filters", {k, k, cin, cout});
    const cv::Mat bias = Tensor(prefix + "/conv/bias", {cout});
    const cv::Mat sw = Tensor(prefix + "/scale/weights", {cout});
    const cv::Mat sb = Tensor(prefix + "/scale/biases", {cout});
    // TF.js filters are [h, w, in, out]; OpenCV's are [out, in, h, w].
    const int sizes[] = {cout, cin, k, k};
    cv::Mat w(4, sizes, CV_32F);
    const float* src = f.ptr<float>();
    float* dst = w.ptr<float>();
    const size_t kk = static_cast<size_t>(k), ci = static_cast<size_t>(cin), co = static_cast<size_t>(cout);
    for (size_t y = 0; y < kk; ++y)
      for (size_t xx = 0; xx < kk; ++xx)
        for (size_t i = 0; i < ci; ++i)
          for (size_t o = 0; o < co; ++o) dst[((o * ci + i) * kk + y) * kk + xx] = src[((y * kk + xx) * ci + i) * co + o];
    cv::dnn::LayerParams conv;
    conv.set("num_output", cout);
    conv.set("kernel_size", k);
    conv.set("stride", stride);
    conv.set("pad", pad);
    conv.set("bias_term", true);
    conv.blobs = {w, bias.reshape(1, 1).clone()};
    const int c = Add(prefix + "/conv", "Convolution", conv, {x});
    *h = (*h + 2 * pad - k) / stride + 1;
    cv::dnn::LayerParams scale;
    scale.set("bias_term", true);
    scale.set("axis", 1);
    scale.blobs = {sw.reshape(1, 1).clone(), sb.reshape(1, 1).clone()};
    return Add(prefix + "/scale", "Scale", scale, {c});
  }

  int Sum(const std::string& name, int a, int b) {
    cv::dnn::LayerParams lp;
    lp.set("operation", "sum");
    return Add(name, "Eltwise", lp, {a, b});
  }

  // Zero padding of an NCHW blob: `after` values appended to each of C, H, W.
  int PadZeros(const std::string& name, int x, int c_after, int hw_after) {
    const int pads[] = {0, 0, 0, c_after, 0, hw_after, 0, hw_after};
    cv::dnn::LayerParams lp;
    lp.set("paddings", cv::dnn::DictValue::arrayInt(pads, 8));
    lp.set("value", 0);
    return Add(name, "Padding", lp, {x});
  }

  int Residual(const std::string& p, int x, int c, int h) {
    int a = Relu(p + "/conv1/relu", ConvScale(p + "/conv1", x, c, c, 3, 1, 1, &h));
    a = ConvScale(p + "/conv2", a, c, c, 3, 1, 1, &h);
    return Relu(p + "/relu", Sum(p + "/sum", x, a));
  }

  int ResidualDown(const std::string& p, int x, int cin, int cout, int* h) {
    int hc = *h, hp = *h;
    int a = Relu(p + "/conv1/relu", ConvScale(p + "/conv1", x, cin, cout, 3, 2, 0, &hc));
    a = ConvScale(p + "/conv2", a, cout, cout, 3, 1, 1, &hc);
    int pooled = Pool(p + "/pool", x, "ave", 2, 2, &hp);
    if (hc < hp) a = PadZeros(p + "/pad_hw", a, 0, hp - hc);
    if (cout > cin) pooled = PadZeros(p + "/pad_c", pooled, cout - cin, 0);
    *h = hp;
    return Relu(p + "/relu", Sum(p + "/sum", pooled, a));
  }

  const TfjsWeights& w_;
  cv::dnn::Net net_;
  std::string error_;
  size_t tensors_used_ = 0;
};

class FaceApiResNetEmbedder final : public Embedder {
 public:
  explicit FaceApiResNetEmbedder(cv::dnn::Net net) : net_(std::move(net)) {
    model_ = {"faceapi_resnet", kFaceApiVersion, "plain", 128};
  }

  const EmbeddingModel& Model() const override { return model_; }

  Result<cv::Mat> EmbedFaces(const cv::Mat& photo, std::span<const Face> faces, std::span<const cv::Mat>) override {
    std::vector<cv::Mat> chips;
    chips.reserve(faces.size());
    for (size_t i = 0; i < faces.size(); ++i) {
      if (faces[i].landmarks68.size() != 68)
        return Status::InvalidArgument("faceapi_resnet aligns faces with their 68 landmarks; face " + std::to_string(i) +
                                       " has " + std::to_string(faces[i].landmarks68.size()));
      chips.push_back(AlignDlibChip(photo, faces[i].landmarks68, kChipSize, kChipPadding));
    }
    return Embed(chips);
  }

  Result<cv::Mat> Embed(std::span<const cv::Mat> chips) override {
    cv::Mat out(static_cast<int>(chips.size()), model_.dim, CV_32F);
    try {
      for (size_t i = 0; i < chips.size(); ++i) {
        const cv::Mat& f = chips[i];
        if (f.rows != kChipSize || f.cols != kChipSize || f.type() != CV_8UC3)
          return Status::InvalidArgument("faceapi_resnet needs 150x150 8-bit BGR face chips (AlignDlibChip)");
        // dlib's input layer: RGB minus the mean colour, divided by 256 (face-api's JS
        // divides by 255; the weights were trained in dlib).
        cv::Mat blob = cv::dnn::blobFromImage(f, 1.0 / 256, cv::Size(kChipSize, kChipSize),
                                              cv::Scalar(122.782, 117.001, 104.298), true, false);
        net_.setInput(blob);
        cv::Mat r = net_.forward().reshape(1, 1);
        cv::Mat row = out.row(static_cast<int>(i));
        r.convertTo(row, CV_32F);
        const double n = cv::norm(row);
        if (n > 0) row /= n;
      }
    } catch (const cv::Exception& e) {
      return Status::Internal(std::string("embedding network failed: ") + e.err);
    }
    return out;
  }

 private:
  cv::dnn::Net net_;
  EmbeddingModel model_;
};

Result<cv::dnn::Net> LoadFaceApiResNet(const std::string& dir) {
  auto manifest = ReadPinnedModel(dir, kFaceApiManifest);
  if (!manifest.ok()) return manifest.status();
  auto bin = ReadPinnedModel(dir, kFaceApiWeights);
  if (!bin.ok()) return bin.status();
  const std::string manifest_path = dir + "/" + kFaceApiManifest;
  auto weights = DecodeTfjsWeights(manifest_path, *manifest, kFaceApiWeights, dir + "/" + kFaceApiWeights, *bin);
  if (!weights.ok()) return weights.status();
  try {
    return ResNetBuilder(*weights).Build(manifest_path);
  } catch (const cv::Exception& e) {
    return Status::Corrupt("model file " + manifest_path + ": the network could not be built (" + e.err + "); " +
                           kFetchHint);
  }
}

// ---------------------------------------------------------------------------------------
// Fusion: [sqrt(w) a, sqrt(1 - w) b] for unit vectors a and b is a unit vector, and the
// dot product of two such is w * (a . a') + (1 - w) * (b . b'): the weighted sum of the
// two models' cosines.

class FusedEmbedder final : public Embedder {
 public:
  FusedEmbedder(std::unique_ptr<Embedder> a, std::unique_ptr<Embedder> b, double w, const std::string& w_text)
      : a_(std::move(a)),
        b_(std::move(b)),
        wa_(static_cast<float>(std::sqrt(w))),
        wb_(static_cast<float>(std::sqrt(1 - w))) {
    const EmbeddingModel &ma = a_->Model(), &mb = b_->Model();
    model_ = {ma.name + "+" + mb.name, ma.version + "," + mb.version, ma.setting + "," + mb.setting + ",w" + w_text,
              ma.dim + mb.dim};
  }

  const EmbeddingModel& Model() const override { return model_; }

  Result<cv::Mat> Embed(std::span<const cv::Mat>) override {
    return Status::InvalidArgument(model_.name + " fuses models with different alignments: use EmbedFaces");
  }
  std::vector<float> Certainty() const override { return a_->Certainty(); }

  Result<cv::Mat> EmbedFaces(const cv::Mat& photo, std::span<const Face> faces,
                             std::span<const cv::Mat> aligned) override {
    auto va = a_->EmbedFaces(photo, faces, aligned);
    if (!va.ok()) return va.status();
    auto vb = b_->EmbedFaces(photo, faces, aligned);
    if (!vb.ok()) return vb.status();
    const int da = a_->Model().dim;
    cv::Mat out(static_cast<int>(faces.size()), model_.dim, CV_32F);
    for (int i = 0; i < out.rows; ++i) {
      cv::Mat row = out.row(i);
      cv::Mat left = row.colRange(0, da), right = row.colRange(da, model_.dim);
      va->row(i).convertTo(left, CV_32F, wa_);
      vb->row(i).convertTo(right, CV_32F, wb_);
      const double n = cv::norm(row);
      if (n > 0) row /= n;
    }
    return out;
  }

 private:
  std::unique_ptr<Embedder> a_, b_;
  float wa_, wb_;
  EmbeddingModel model_;
};

// "0.6" or "0.55" -> w in (0, 1) and its two-decimal text; false if not that.
bool ParseFusionWeight(const std::string& s, double* w, std::string* text) {
  if (s.empty() || s.size() > 6) return false;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !(v > 0 && v < 1)) return false;
  const double hundredths = std::round(v * 100);
  if (std::abs(v * 100 - hundredths) > 1e-6) return false;
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.2f", hundredths / 100);
  *w = hundredths / 100;
  *text = buf;
  return true;
}

}  // namespace

const char* Embedder::DefaultSpec() { return "fr_feature+weight"; }

Result<std::string> Embedder::SpecFor(const std::string& model_id) {
  // The ids are EmbeddingModel::Id() of what Create makes for each spec.
  for (const auto& s : kFrFeatureSettings)
    if (model_id == std::string("fr_feature@") + kFrFeatureVersion + "+" + s.setting) return std::string(s.spec);
  if (model_id == std::string("faceapi_resnet@") + kFaceApiVersion + "+plain") return std::string("faceapi_resnet");
  const std::string fused =
      std::string("fr_feature+faceapi_resnet@") + kFrFeatureVersion + "," + kFaceApiVersion + "+plain,plain,w";
  double w = 0;
  std::string w_text;
  if (model_id.starts_with(fused) && ParseFusionWeight(model_id.substr(fused.size()), &w, &w_text) &&
      fused + w_text == model_id)
    return "fr_feature+faceapi:" + w_text;
  return Status::NotFound("no embedder of this version of Lineup makes vectors of " + model_id);
}

Result<std::unique_ptr<Embedder>> Embedder::Create(const std::string& spec, const std::string& model_dir,
                                                  const std::string& engine) {
  const std::string kKnown =
      "known: fr_feature+weight, fr_feature, fr_feature+flip, fr_feature:rgb, fr_feature+flip:rgb, faceapi_resnet, "
      "fr_feature+faceapi[:W]";
  for (const auto& s : kFrFeatureSettings) {
    if (spec != s.spec) continue;
    auto net = InferenceNet::Load(engine.empty() ? DefaultInferenceEngine() : engine, model_dir, "fr_feature.onnx");
    if (!net.ok()) return net.status();
    if ((*net)->InputDims() != std::vector<int64_t>{1, 3, 112, 112} || (*net)->OutputCount() != 1 ||
        (*net)->OutputDims(0) != std::vector<int64_t>{1, 512})
      return Status::Corrupt(model_dir + "/fr_feature.onnx does not have the embedding network's input and output");
    return std::unique_ptr<Embedder>(new FrFeatureEmbedder(std::move(*net), s));
  }
  if (spec == "faceapi_resnet") {
    auto net = LoadFaceApiResNet(model_dir);
    if (!net.ok()) return net.status();
    return std::unique_ptr<Embedder>(new FaceApiResNetEmbedder(std::move(*net)));
  }
  const std::string kFused = "fr_feature+faceapi";
  if (spec.rfind(kFused, 0) == 0) {
    double w = 0;
    std::string w_text;
    if (spec.size() == kFused.size()) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "%.2f", kDefaultFusionWeight);
      w = kDefaultFusionWeight;
      w_text = buf;
    } else if (spec[kFused.size()] != ':' || !ParseFusionWeight(spec.substr(kFused.size() + 1), &w, &w_text)) {
      return Status::InvalidArgument("embedder \"" + spec +
                                     "\": the weight W of fr_feature+faceapi:W must be in (0, 1), at most two decimals");
    }
    // The fusion was measured and calibrated with RGB input (docs/accuracy.md).
    auto a = Create("fr_feature:rgb", model_dir, engine);
    if (!a.ok()) return a.status();
    auto b = Create("faceapi_resnet", model_dir);
    if (!b.ok()) return b.status();
    return std::unique_ptr<Embedder>(new FusedEmbedder(std::move(*a), std::move(*b), w, w_text));
  }
  return Status::InvalidArgument("unknown embedder \"" + spec + "\" (" + kKnown + ")");
}

}  // namespace lineup
