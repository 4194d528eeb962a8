// Reading what clients send, with a clear error for anything malformed: JSON bodies,
// text fields (length-limited, no NUL bytes), multipart or raw image uploads. Errors are
// InvalidArgument; a message starting "415:" means the Content-Type was wrong (the
// server answers 415 for those).
#pragma once
#include <httplib.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lineup/status.h"

namespace lineup::server {

bool IsJsonRequest(const httplib::Request& req);
// The body as a JSON object: "415:" unless Content-Type is application/json; invalid
// JSON or anything but an object is refused.
Result<nlohmann::json> JsonBody(const httplib::Request& req);
// A text field of a JSON object or a form: refused if required and missing or empty,
// if not a string, if longer than max_len bytes, or if it holds a NUL byte.
Result<std::string> TextField(const nlohmann::json& body, const std::string& key, bool required, size_t max_len = 2000);
Result<std::string> FormField(const httplib::Request& req, const std::string& key, bool required,
                              size_t max_len = 2000);
// A text header that clients send percent-encoded (UTF-8 bytes as %XX, as JavaScript's
// encodeURIComponent writes them), so that any text fits in a header line. cpp-httplib
// decodes every header value as it reads the request (Debian's 0.11: decode_url), so
// the value arrives decoded and is only checked here: "" if absent, refused if longer
// than max_len bytes or if it holds a NUL byte. (tests/server_test.cc pins the decoding.)
Result<std::string> HeaderText(const httplib::Request& req, const std::string& name, size_t max_len = 2000);
// An uploaded image's bytes: multipart field `field`, or the raw body with an image/*
// or application/octet-stream Content-Type. Not decoded here (see image.h).
Result<std::string> ImageUpload(const httplib::Request& req, const std::string& field);
// The file name a multipart upload gave for `field`, reduced to a safe base name
// (letters, digits, ". _ - " and spaces; at most 100 characters), or "".
std::string UploadName(const httplib::Request& req, const std::string& field);
// A client's file name reduced as above.
std::string SafeBaseName(const std::string& name);
// The probe vector of a search by vector: body["vector"], an array of exactly `dim`
// finite numbers, not all zero. A vector as the gallery's model makes them (length in
// [1/weight_limit, weight_limit], EmbeddingModel) is taken as it is; any other is scaled
// to unit length, which for a weighted model is the weight of a typical face.
Result<std::vector<float>> ProbeVector(const nlohmann::json& body, int dim, float weight_limit);

}  // namespace lineup::server
