// InferenceNet's factory: reads and checks the ONNX file once, then hands the resolved
// graph to the named engine.
#include <fstream>
#include <iterator>

#include "infer/engines.h"
#include "lineup/models.h"

namespace lineup {

std::vector<std::string> InferenceEngines() { return {"dnnl", "opencv"}; }

const char* DefaultInferenceEngine() { return "dnnl"; }

Status CheckInferenceEngine(const std::string& engine) {
  std::string known;
  for (const auto& e : InferenceEngines()) {
    if (e == engine) return Status::OK();
    known += (known.empty() ? "" : ", ") + e;
  }
  return Status::InvalidArgument("unknown inference engine \"" + engine + "\" (known: " + known + ")");
}

Result<std::unique_ptr<InferenceNet>> InferenceNet::FromBytes(const std::string& engine, std::string_view bytes,
                                                              const std::string& what) {
  if (Status s = CheckInferenceEngine(engine); !s.ok()) return s;
  auto graph = infer::OnnxGraph::Parse(bytes, what);
  if (!graph.ok()) return graph.status();
  if (engine == "opencv") return infer::BuildOpenCvNet(*graph, bytes);
  return infer::BuildDnnlNet(*graph);
}

Result<std::unique_ptr<InferenceNet>> InferenceNet::Load(const std::string& engine, const std::string& model_dir,
                                                         const std::string& file) {
  if (Status s = CheckInferenceEngine(engine); !s.ok()) return s;
  auto bytes = ReadPinnedModel(model_dir, file);
  if (!bytes.ok()) return bytes.status();
  auto net = FromBytes(engine, *bytes, model_dir + "/" + file);
  if (!net.ok() && net.status().code() == Status::Code::kCorrupt)
    return Status::Corrupt(net.status().message() + "; run `make models` (scripts/fetch_models.sh) to fetch it");
  return net;
}

}  // namespace lineup
