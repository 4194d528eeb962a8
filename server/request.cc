// Reading what clients send: JSON bodies, form fields and uploaded images. Kept apart
// from the rest of the server so that a fuzzer (tests/fuzz/) can drive it directly.
#include "request.h"


#include <cctype>
#include <cmath>

namespace lineup::server {

using json = nlohmann::json;

bool IsJsonRequest(const httplib::Request& req) {
  const std::string ct = req.get_header_value("Content-Type");
  return ct.rfind("application/json", 0) == 0;
}

Result<json> JsonBody(const httplib::Request& req) {
  if (!IsJsonRequest(req)) return Status::InvalidArgument("415:expected Content-Type: application/json");
  json j = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::InvalidArgument("the body is not valid JSON");
  if (!j.is_object()) return Status::InvalidArgument("the body must be a JSON object");
  return j;
}

namespace {
Status CheckText(const std::string& key, const std::string& v, bool required, size_t max_len) {
  if (required && v.empty()) return Status::InvalidArgument("\"" + key + "\" is required");
  if (v.size() > max_len)
    return Status::InvalidArgument("\"" + key + "\" is longer than " + std::to_string(max_len) + " bytes");
  if (v.find('\0') != std::string::npos) return Status::InvalidArgument("\"" + key + "\" contains a NUL byte");
  return Status::OK();
}
}  // namespace

Result<std::string> TextField(const json& body, const std::string& key, bool required, size_t max_len) {
  std::string v;
  if (body.contains(key)) {
    if (!body[key].is_string()) return Status::InvalidArgument("\"" + key + "\" must be a string");
    v = body[key].get<std::string>();
  }
  Status s = CheckText(key, v, required, max_len);
  if (!s.ok()) return s;
  return v;
}

Result<std::string> FormField(const httplib::Request& req, const std::string& key, bool required, size_t max_len) {
  std::string v;
  if (req.is_multipart_form_data()) {
    if (req.has_file(key)) v = req.get_file_value(key).content;
  } else if (req.has_param(key)) {
    v = req.get_param_value(key);
  }
  Status s = CheckText(key, v, required, max_len);
  if (!s.ok()) return s;
  return v;
}

Result<std::string> HeaderText(const httplib::Request& req, const std::string& name, size_t max_len) {
  // The whole value (get_header_value would stop at a NUL byte that %00 decoded to).
  const auto it = req.headers.find(name);
  const std::string v = it == req.headers.end() ? std::string() : it->second;
  if (Status s = CheckText(name, v, false, max_len); !s.ok()) return s;
  return v;
}

Result<std::string> ImageUpload(const httplib::Request& req, const std::string& field) {
  if (req.is_multipart_form_data()) {
    if (!req.has_file(field))
      return Status::InvalidArgument("multipart field \"" + field + "\" (the image) is missing");
    std::string bytes = req.get_file_value(field).content;
    if (bytes.empty()) return Status::InvalidArgument("the image \"" + field + "\" is empty");
    return bytes;
  }
  const std::string ct = req.get_header_value("Content-Type");
  if (ct.rfind("image/", 0) == 0 || ct.rfind("application/octet-stream", 0) == 0) {
    if (req.body.empty()) return Status::InvalidArgument("the image is empty");
    return req.body;
  }
  return Status::InvalidArgument("415:send the image as multipart/form-data (field \"" + field +
                                 "\") or as the body with an image/* Content-Type");
}

std::string UploadName(const httplib::Request& req, const std::string& field) {
  if (!req.is_multipart_form_data() || !req.has_file(field)) return "";
  return SafeBaseName(req.get_file_value(field).filename);
}

std::string SafeBaseName(const std::string& name) {
  std::string b = name.substr(name.find_last_of("/\\") == std::string::npos ? 0 : name.find_last_of("/\\") + 1);
  std::string out;
  for (char ch : b)
    if (std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' || ch == '-' || ch == ' ') out += ch;
  while (!out.empty() && out.front() == '.') out.erase(out.begin());
  if (out.size() > 100) out.resize(100);
  return out;
}

Result<std::vector<float>> ProbeVector(const json& body, int dim, float weight_limit) {
  if (!body.contains("vector") || !body["vector"].is_array())
    return Status::InvalidArgument("\"vector\" must be an array of numbers");
  const json& arr = body["vector"];
  if (static_cast<int64_t>(arr.size()) != dim)
    return Status::InvalidArgument("\"vector\" has " + std::to_string(arr.size()) + " values; the model gives " +
                                   std::to_string(dim));
  std::vector<float> vec;
  vec.reserve(arr.size());
  double norm = 0;
  for (const auto& x : arr) {
    if (!x.is_number()) return Status::InvalidArgument("\"vector\" must hold numbers only");
    const double v = x.get<double>();
    if (!std::isfinite(v) || std::fabs(v) > 1e6)
      return Status::InvalidArgument("\"vector\" holds a value out of range");
    vec.push_back(static_cast<float>(v));
    norm += v * v;
  }
  if (norm <= 1e-12) return Status::InvalidArgument("\"vector\" must not be all zeros");
  const double length = std::sqrt(norm);
  if (weight_limit > 1 && length >= 1 / (weight_limit * 1.0001) && length <= weight_limit * 1.0001) return vec;
  const double inv = 1.0 / length;
  for (float& x : vec) x = static_cast<float>(x * inv);
  return vec;
}

}  // namespace lineup::server
