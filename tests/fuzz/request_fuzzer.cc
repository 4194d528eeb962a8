// libFuzzer target for what the server reads from clients: JSON bodies and their text
// fields, probe vectors, form fields, text headers and uploaded images (decoded with a small pixel
// limit). The first byte picks the path; the rest is the hostile input.
#include <cstdint>
#include <string>

#include "lineup/image.h"
#include "request.h"

using lineup::server::FormField;
using lineup::server::HeaderText;
using lineup::server::ImageUpload;
using lineup::server::JsonBody;
using lineup::server::ProbeVector;
using lineup::server::TextField;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const int mode = data[0] % 4;
  const std::string body(reinterpret_cast<const char*>(data + 1), size - 1);
  httplib::Request req;
  switch (mode) {
    case 0: {  // a JSON body: case, review, user, source fields
      req.set_header("Content-Type", "application/json");
      req.body = body;
      auto j = JsonBody(req);
      if (!j.ok()) break;
      for (const char* k : {"title", "authority", "justification", "note", "name", "password", "legal_basis"})
        (void)TextField(*j, k, false, 2000);
      (void)ProbeVector(*j, 8, 1.0f);
      (void)ProbeVector(*j, 512, 1.25f);
      break;
    }
    case 1: {  // a raw image upload
      req.set_header("Content-Type", "image/jpeg");
      req.body = body;
      auto bytes = ImageUpload(req, "image");
      if (!bytes.ok()) break;
      lineup::DecodeOptions o;
      o.max_pixels = 4'000'000;
      (void)lineup::DecodeImage(
          std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size()), o);
      break;
    }
    case 2: {  // a multipart form: fields split at NUL bytes, name then content
      req.set_header("Content-Type", "multipart/form-data; boundary=x");
      size_t at = 0;
      while (at < body.size()) {
        size_t name_end = body.find('\0', at);
        if (name_end == std::string::npos) name_end = body.size();
        size_t value_end = name_end < body.size() ? body.find('\0', name_end + 1) : std::string::npos;
        if (value_end == std::string::npos) value_end = body.size();
        httplib::MultipartFormData f;
        f.name = body.substr(at, name_end - at);
        if (name_end < body.size()) f.content = body.substr(name_end + 1, value_end - name_end - 1);
        f.filename = "../" + f.name;
        req.files.emplace(f.name, f);
        at = value_end + 1;
      }
      for (const char* k : {"justification", "face", "top", "fmr", "reason", "source"}) (void)FormField(req, k, true, 2000);
      auto img = ImageUpload(req, "image");
      if (img.ok()) {
        lineup::DecodeOptions o;
        o.max_pixels = 4'000'000;
        (void)lineup::DecodeImage(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(img->data()), img->size()), o);
      }
      break;
    }
    default: {  // a query-string-like form (as httplib parses it into params)
      req.set_header("Content-Type", "application/x-www-form-urlencoded");
      req.params.emplace("justification", body);
      (void)FormField(req, "justification", true, 2000);
      req.set_header("X-Lineup-Justification", body);  // a read's justification, as a header
      (void)HeaderText(req, "X-Lineup-Justification", 8000);
      (void)ImageUpload(req, "image");  // wrong type: refused
      break;
    }
  }
  return 0;
}
