// Inference engines (include/lineup/inference.h): hostile ONNX files give a Status,
// never a crash, on every engine; small graphs built here run the same on every engine;
// and on real LFW photos the engines' boxes, landmarks and vectors agree.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <cstdio>
#include <random>

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <opencv2/imgcodecs.hpp>

#include "lineup/analyzer.h"
#include "lineup/inference.h"
#include "lineup/models.h"
#include "test_util.h"

namespace {

using lineup::InferenceNet;

std::string ModelBytes(const std::string& file) {
  std::ifstream in(lineup::DefaultModelDir() + "/" + file, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// A tiny network: input [1,3,8,8] -> Conv 3x3 (4 filters, pad 1) -> Relu -> PRelu ->
// Add (itself) -> Flatten -> Gemm to 5 values, as an ONNX model; `edit` may damage it.
onnx::ModelProto TinyModel() {
  onnx::ModelProto m;
  m.set_ir_version(6);
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(9);
  onnx::GraphProto* g = m.mutable_graph();
  auto add_input = [&](const std::string& name, std::vector<int64_t> dims) {
    auto* in = g->add_input();
    in->set_name(name);
    auto* tt = in->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) tt->mutable_shape()->add_dim()->set_dim_value(d);
  };
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1, 1);
  auto add_init = [&](const std::string& name, std::vector<int64_t> dims) {
    auto* t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    int64_t n = 1;
    for (int64_t d : dims) { t->add_dims(d); n *= d; }
    for (int64_t i = 0; i < n; ++i) t->add_float_data(u(rng));
  };
  auto add_node = [&](const std::string& op_type, std::vector<std::string> ins, const std::string& out) {
    auto* n = g->add_node();
    n->set_op_type(op_type);
    n->set_name(op_type + "_" + out);
    for (auto& s : ins) n->add_input(s);
    n->add_output(out);
    return n;
  };
  add_input("x", {1, 3, 8, 8});
  add_init("w", {4, 3, 3, 3});
  add_init("b", {4});
  add_init("slope", {4, 1, 1});
  add_init("fw", {5, 256});
  add_init("fb", {5});
  auto* conv = add_node("Conv", {"x", "w", "b"}, "c");
  auto* pads = conv->add_attribute();
  pads->set_name("pads");
  pads->set_type(onnx::AttributeProto::INTS);
  for (int k = 0; k < 4; ++k) pads->add_ints(1);
  auto* ks = conv->add_attribute();
  ks->set_name("kernel_shape");
  ks->set_type(onnx::AttributeProto::INTS);
  ks->add_ints(3);
  ks->add_ints(3);
  add_node("Relu", {"c"}, "r");
  add_node("PRelu", {"r", "slope"}, "p");
  add_node("Add", {"p", "c"}, "a");
  add_node("Flatten", {"a"}, "f");
  auto* gemm = add_node("Gemm", {"f", "fw", "fb"}, "y");
  auto* tb = gemm->add_attribute();
  tb->set_name("transB");
  tb->set_type(onnx::AttributeProto::INT);
  tb->set_i(1);
  auto* out = g->add_output();
  out->set_name("y");
  auto* ot = out->mutable_type()->mutable_tensor_type();
  ot->set_elem_type(onnx::TensorProto::FLOAT);
  ot->mutable_shape()->add_dim()->set_dim_value(1);
  ot->mutable_shape()->add_dim()->set_dim_value(5);
  return m;
}

std::string Bytes(const onnx::ModelProto& m) { return m.SerializeAsString(); }

TEST(EngineHostile, EmptyGarbageAndUnknownEngine) {
  for (const auto& engine : lineup::InferenceEngines()) {
    EXPECT_FALSE(InferenceNet::FromBytes(engine, "", "empty.onnx").ok());
    auto r = InferenceNet::FromBytes(engine, "this is not a model at all \x01\x02\xff", "garbage.onnx");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("garbage.onnx"), std::string::npos) << r.status().message();
  }
  auto r = InferenceNet::FromBytes("tensorrt", Bytes(TinyModel()), "tiny.onnx");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), lineup::Status::Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("dnnl"), std::string::npos) << r.status().message();
}

TEST(EngineHostile, TinyModelRunsAlikeOnEveryEngine) {
  const std::string bytes = Bytes(TinyModel());
  std::vector<float> input(3 * 8 * 8);
  for (size_t i = 0; i < input.size(); ++i) input[i] = std::sin(float(i));
  std::vector<float> reference;
  for (const auto& engine : lineup::InferenceEngines()) {
    auto net = InferenceNet::FromBytes(engine, bytes, "tiny.onnx");
    ASSERT_TRUE(net.ok()) << engine << ": " << net.status().ToString();
    EXPECT_EQ((*net)->InputDims(), (std::vector<int64_t>{1, 3, 8, 8}));
    ASSERT_EQ((*net)->OutputCount(), 1u);
    EXPECT_EQ((*net)->OutputDims(0), (std::vector<int64_t>{1, 5}));
    EXPECT_FALSE((*net)->Run(std::span<const float>(input.data(), 10)).ok()) << "a short input is refused";
    ASSERT_TRUE((*net)->Run(input).ok());
    auto out = (*net)->Output(0);
    ASSERT_EQ(out.size(), 5u);
    if (reference.empty()) {
      reference.assign(out.begin(), out.end());
    } else {
      for (size_t k = 0; k < 5; ++k) EXPECT_NEAR(out[k], reference[k], 1e-4f * (1 + std::fabs(reference[k]))) << engine;
    }
  }
}

// Each damage to the tiny model, and the words its error must contain.
struct Damage {
  const char* what;
  void (*edit)(onnx::ModelProto*);
  const char* expect;
};

const Damage kDamages[] = {
    {"weights that do not fit the input",  // [6,2,3,3]: as many values, but 2 input channels
     [](onnx::ModelProto* m) {
       m->mutable_graph()->mutable_initializer(0)->set_dims(0, 6);
       m->mutable_graph()->mutable_initializer(0)->set_dims(1, 2);
     },
     "Conv"},
    {"float data shorter than the dims",
     [](onnx::ModelProto* m) { m->mutable_graph()->mutable_initializer(1)->mutable_float_data()->RemoveLast(); }, "tensor b"},
    {"raw data of the wrong size",
     [](onnx::ModelProto* m) {
       auto* t = m->mutable_graph()->mutable_initializer(1);
       t->clear_float_data();
       t->set_raw_data(std::string(7, '\0'));
     },
     "raw data"},
    {"an operator no engine knows", [](onnx::ModelProto* m) { m->mutable_graph()->mutable_node(1)->set_op_type("LSTM"); },
     "LSTM"},
    {"a value nothing makes", [](onnx::ModelProto* m) { m->mutable_graph()->mutable_node(2)->set_input(0, "nowhere"); },
     "nowhere"},
    {"an input of unknown size",
     [](onnx::ModelProto* m) {
       m->mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(0)->set_dim_param(
           "N");
     },
     "not fixed"},
    {"a Gemm whose matrix does not fit",  // [10,128]: as many values, 128 columns for 256 inputs
     [](onnx::ModelProto* m) {
       m->mutable_graph()->mutable_initializer(3)->set_dims(0, 10);
       m->mutable_graph()->mutable_initializer(3)->set_dims(1, 128);
     },
     "Gemm"},
    {"a negative dimension", [](onnx::ModelProto* m) { m->mutable_graph()->mutable_initializer(2)->set_dims(0, -4); },
     "dimension"},
    {"an unsupported opset", [](onnx::ModelProto* m) { m->mutable_opset_import(0)->set_version(17); }, "opset"},
    {"an output nothing makes", [](onnx::ModelProto* m) { m->mutable_graph()->mutable_output(0)->set_name("z"); }, "z"},
    {"a kernel larger than the input",
     [](onnx::ModelProto* m) {
       auto* in = m->mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape();
       in->mutable_dim(2)->set_dim_value(1);
       in->mutable_dim(3)->set_dim_value(1);
       m->mutable_graph()->mutable_node(0)->mutable_attribute(0)->set_ints(0, 0);
       m->mutable_graph()->mutable_node(0)->mutable_attribute(0)->set_ints(2, 0);
     },
     "kernel"},
};

TEST(EngineHostile, DamagedModelsGiveAStatusNamingTheProblem) {
  for (const Damage& d : kDamages) {
    onnx::ModelProto m = TinyModel();
    d.edit(&m);
    for (const auto& engine : lineup::InferenceEngines()) {
      auto r = InferenceNet::FromBytes(engine, Bytes(m), "tiny.onnx");
      ASSERT_FALSE(r.ok()) << d.what << " on " << engine;
      EXPECT_NE(r.status().message().find(d.expect), std::string::npos)
          << d.what << " on " << engine << ": " << r.status().message();
    }
  }
}

TEST(EngineHostile, TruncatedAndFlippedModelFiles) {
  const std::string bytes = ModelBytes("fr_landmark.onnx");
  if (bytes.empty()) GTEST_SKIP() << "models/fr_landmark.onnx missing (make models)";
  for (const auto& engine : lineup::InferenceEngines()) {
    for (size_t len : {size_t{1}, size_t{16}, size_t{1000}, bytes.size() / 2, bytes.size() - 1}) {
      auto r = InferenceNet::FromBytes(engine, std::string_view(bytes).substr(0, len), "cut.onnx");
      EXPECT_FALSE(r.ok()) << engine << " accepted the first " << len << " bytes";
    }
  }
  // Flipped bytes in the header region either still parse into a checked graph or fail
  // with a Status; they never crash.
  std::mt19937 rng(3);
  for (int trial = 0; trial < 40; ++trial) {
    std::string b = bytes;
    for (int k = 0; k < 4; ++k) b[rng() % 4096] ^= static_cast<char>(1 + rng() % 255);
    for (const auto& engine : lineup::InferenceEngines()) (void)InferenceNet::FromBytes(engine, b, "flipped.onnx");
  }
}

TEST(EngineHostile, PinnedLoadRefusesAnAlteredFile) {
  lineup_test::TempDir tmp;
  std::string bytes = ModelBytes("fr_landmark.onnx");
  if (bytes.empty()) GTEST_SKIP() << "models/fr_landmark.onnx missing (make models)";
  bytes.resize(bytes.size() / 2);
  lineup_test::WriteText(tmp.File("fr_landmark.onnx"), bytes);
  for (const auto& engine : lineup::InferenceEngines()) {
    auto r = InferenceNet::Load(engine, tmp.path(), "fr_landmark.onnx");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), lineup::Status::Code::kCorrupt) << r.status().ToString();
    EXPECT_NE(r.status().message().find("make models"), std::string::npos);
  }
}

// The three real networks on every engine: same inputs, same outputs to float rounding.
TEST(EngineAgreement, RealNetworksOnEveryEngine) {
  for (const char* file : {"fr_detect.onnx", "fr_landmark.onnx", "fr_feature.onnx"}) {
    std::vector<std::unique_ptr<InferenceNet>> nets;
    for (const auto& engine : lineup::InferenceEngines()) {
      auto n = InferenceNet::Load(engine, lineup::DefaultModelDir(), file);
      ASSERT_TRUE(n.ok()) << engine << " " << file << ": " << n.status().ToString();
      nets.push_back(std::move(*n));
    }
    int64_t count = 1;
    for (int64_t d : nets[0]->InputDims()) count *= d;
    std::vector<float> input(static_cast<size_t>(count));
    for (size_t i = 0; i < input.size(); ++i) input[i] = std::sin(0.01f * float(i)) * 0.9f;
    for (auto& n : nets) ASSERT_TRUE(n->Run(input).ok());
    for (size_t e = 1; e < nets.size(); ++e)
      for (size_t k = 0; k < nets[0]->OutputCount(); ++k) {
        ASSERT_EQ(nets[e]->OutputDims(k), nets[0]->OutputDims(k));
        auto a = nets[0]->Output(k), b = nets[e]->Output(k);
        float worst = 0;
        for (size_t j = 0; j < a.size(); ++j) worst = std::max(worst, std::fabs(a[j] - b[j]) / (1 + std::fabs(a[j])));
        EXPECT_LT(worst, 1e-4f) << file << " output " << k << " on " << nets[e]->Engine();
      }
  }
}

// The whole pipeline on 36 LFW photos (every 367th), once per engine: the same faces,
// boxes within 0.5 px, landmarks within 0.5 px, vectors at cosine >= 0.9999.
TEST(EngineAgreement, LfwPhotosGiveTheSameFaces) {
  std::string lfw;
  LINEUP_REQUIRE_DATA(lfw, "lfw/images");
  std::vector<std::string> paths;
  for (const auto& e : std::filesystem::recursive_directory_iterator(lfw))
    if (e.path().extension() == ".jpg") paths.push_back(e.path().string());
  std::sort(paths.begin(), paths.end());
  std::vector<std::string> sample;
  for (size_t i = 0; i < paths.size() && sample.size() < 36; i += 367) sample.push_back(paths[i]);
  ASSERT_EQ(sample.size(), 36u);

  std::vector<std::vector<std::vector<lineup::Face>>> by_engine;
  for (const auto& engine : lineup::InferenceEngines()) {
    lineup::AnalyzerOptions o;
    o.engine = engine;
    auto a = lineup::FaceAnalyzer::Create(o);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    std::vector<std::vector<lineup::Face>> faces;
    for (const auto& p : sample) {
      auto r = (*a)->AnalyzeFile(p, true);
      ASSERT_TRUE(r.status.ok()) << p << ": " << r.status.ToString();
      faces.push_back(std::move(r.faces));
    }
    by_engine.push_back(std::move(faces));
  }
  double worst_cos = 1, worst_box = 0, worst_point = 0;
  size_t faces_seen = 0;
  for (size_t e = 1; e < by_engine.size(); ++e)
    for (size_t i = 0; i < sample.size(); ++i) {
      const auto& fa = by_engine[0][i];
      const auto& fb = by_engine[e][i];
      ASSERT_EQ(fa.size(), fb.size()) << sample[i];
      for (size_t k = 0; k < fa.size(); ++k) {
        ++faces_seen;
        worst_box = std::max({worst_box, double(std::fabs(fa[k].box.x - fb[k].box.x)),
                              double(std::fabs(fa[k].box.y - fb[k].box.y)),
                              double(std::fabs(fa[k].box.width - fb[k].box.width)),
                              double(std::fabs(fa[k].box.height - fb[k].box.height))});
        ASSERT_EQ(fa[k].landmarks68.size(), fb[k].landmarks68.size());
        for (size_t j = 0; j < fa[k].landmarks68.size(); ++j)
          worst_point = std::max(worst_point, double(cv::norm(fa[k].landmarks68[j] - fb[k].landmarks68[j])));
        ASSERT_EQ(fa[k].embedding.size(), fb[k].embedding.size());
        double dot = 0, na = 0, nb = 0;
        for (size_t j = 0; j < fa[k].embedding.size(); ++j) {
          dot += double(fa[k].embedding[j]) * fb[k].embedding[j];
          na += double(fa[k].embedding[j]) * fa[k].embedding[j];
          nb += double(fb[k].embedding[j]) * fb[k].embedding[j];
        }
        const double c = dot / std::max(1e-12, std::sqrt(na * nb));
        worst_cos = std::min(worst_cos, c);
      }
    }
  std::printf("%zu faces: largest box difference %.4f px, landmark %.4f px, lowest cosine %.8f\n", faces_seen,
              worst_box, worst_point, worst_cos);
  EXPECT_GE(faces_seen, 36u);
  EXPECT_LT(worst_box, 0.5) << "largest box difference, px";
  EXPECT_LT(worst_point, 0.5) << "largest landmark difference, px";
  EXPECT_GE(worst_cos, 0.9999) << "lowest cosine between the engines' vectors";
}

}  // namespace
