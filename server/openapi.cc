// The OpenAPI 3 document, made from the route table so that it cannot drift from the
// routes the server really has (tests/server_test.cc checks both ways).
#include <regex>

#include "server_internal.h"

namespace lineup::server {
namespace {

json Error() { return {{"$ref", "#/components/schemas/Error"}}; }

// Request bodies of the routes that take one.
json RequestBody(const std::string& key) {
  auto json_body = [](json props, std::vector<std::string> required) {
    return json{
        {"required", true},
        {"content",
         {{"application/json", {{"schema", {{"type", "object"}, {"properties", props}, {"required", required}}}}}}}};
  };
  auto multipart = [](json props, std::vector<std::string> required) {
    return json{
        {"required", true},
        {"content",
         {{"multipart/form-data", {{"schema", {{"type", "object"}, {"properties", props}, {"required", required}}}}}}}};
  };
  const json str = {{"type", "string"}}, num = {{"type", "number"}}, integer = {{"type", "integer"}},
             file = {{"type", "string"}, {"format", "binary"}};
  if (key == "POST /v1/session") return json_body({{"name", str}, {"password", str}}, {"name", "password"});
  if (key == "POST /v1/cases") return json_body({{"title", str}, {"authority", str}}, {"title", "authority"});
  if (key == "POST /v1/cases/{id}/members") return json_body({{"user", str}}, {"user"});
  if (key == "POST /v1/cases/{id}/searches") {
    json b = multipart(
        {{"image", file}, {"justification", str}, {"face", integer}, {"top", integer}, {"fmr", num}, {"all", str}},
        {"image", "justification"});
    b["content"]["application/json"] = {{"schema",
                                         {{"type", "object"},
                                          {"properties",
                                           {{"vector", {{"type", "array"}, {"items", num}}},
                                            {"model", str},
                                            {"justification", str},
                                            {"top", integer},
                                            {"fmr", num},
                                            {"all", {{"type", "boolean"}}}}},
                                          {"required", {"vector", "justification"}}}}};
    return b;
  }
  if (key == "POST /v1/cases/{id}/verify")
    return multipart({{"image_a", file}, {"image_b", file}, {"justification", str}},
                     {"image_a", "image_b", "justification"});
  if (key == "POST /v1/detect") {
    json b = multipart({{"image", file}}, {"image"});
    b["content"]["image/*"] = {{"schema", file}};
    return b;
  }
  if (key == "POST /v1/searches/{id}/reviews")
    return json_body({{"face_id", integer},
                      {"verdict", {{"type", "string"}, {"enum", {"possible_match", "not_a_match", "inconclusive"}}}},
                      {"note", str}},
                     {"face_id", "verdict"});
  if (key == "POST /v1/sources")
    return json_body({{"name", str},
                      {"description", str},
                      {"legal_basis", str},
                      {"collected_by", str},
                      {"collected_at", str},
                      {"retention_until", str}},
                     {"name", "legal_basis"});
  if (key == "POST /v1/enrollments")
    return multipart({{"source", str}, {"files", {{"type", "array"}, {"items", file}}}}, {"source", "files"});
  if (key == "POST /v1/erasures")
    return json_body(
        {{"kind", {{"type", "string"}, {"enum", {"subject", "source", "image"}}}}, {"key", str}, {"reason", str}},
        {"kind", "key", "reason"});
  if (key == "POST /v1/optouts") return multipart({{"image", file}, {"reason", str}}, {"image", "reason"});
  if (key == "POST /v1/users")
    return json_body({{"name", str},
                      {"role", {{"type", "string"}, {"enum", {"admin", "analyst", "enroller", "auditor"}}}},
                      {"password", str}},
                     {"name", "role", "password"});
  if (key == "POST /v1/users/{name}") return json_body({{"role", str}, {"disabled", {{"type", "boolean"}}}}, {});
  if (key == "POST /v1/users/{name}/grants") return json_body({{"source", str}}, {"source"});
  if (key == "POST /v1/users/{name}/tokens") return json_body({{"label", str}, {"days", integer}}, {});
  return nullptr;
}

}  // namespace

json Server::Impl::OpenApi() const {
  json paths = json::object();
  static const std::regex param(R"(\{([a-z_]+)\})");
  for (const RouteInfo& r : route_infos) {
    const std::string key = r.method + " " + r.path;
    json op = {{"summary", r.summary}, {"operationId", key}};
    json roles = json::array();
    for (Role role : r.roles) roles.push_back(RoleName(role));
    op["x-roles"] = roles;
    if (r.roles.empty()) op["security"] = json::array();
    json params = json::array();
    for (auto it = std::sregex_iterator(r.path.begin(), r.path.end(), param); it != std::sregex_iterator(); ++it) {
      const std::string name = (*it)[1];
      params.push_back({{"name", name},
                        {"in", "path"},
                        {"required", true},
                        {"schema", {{"type", name == "id" || name == "face" ? "integer" : "string"}}}});
    }
    if (key == "GET /v1/audit")
      for (const char* q : {"since", "case", "actor", "action", "limit"})
        params.push_back({{"name", q}, {"in", "query"}, {"schema", {{"type", "string"}}}});
    if (key == "GET /v1/audit/verify")
      params.push_back({{"name", "expect_head"}, {"in", "query"}, {"schema", {{"type", "string"}}}});
    if (!params.empty()) op["parameters"] = params;
    json body = RequestBody(key);
    if (!body.is_null()) op["requestBody"] = body;
    json responses = {{"200", {{"description", "OK"}}}};
    if (key == "POST /v1/cases" || key == "POST /v1/sources" || key == "POST /v1/users" ||
        key == "POST /v1/searches/{id}/reviews" || key == "POST /v1/users/{name}/tokens" || key == "POST /v1/optouts")
      responses = {{"201", {{"description", "Created"}}}};
    if (key == "POST /v1/enrollments")
      responses = {{"202", {{"description", "Accepted: the job runs in the background"}}}};
    const json err = {{"content", {{"application/json", {{"schema", Error()}}}}}};
    auto with = [&](const char* code, const char* what) {
      json e = err;
      e["description"] = what;
      responses[code] = e;
    };
    with("400", "bad input");
    if (!r.roles.empty()) {
      with("401", "not signed in");
      with("403", "role, case or CSRF token does not allow it");
    }
    if (r.method == "POST") {
      with("413", "body over the upload limit");
      with("415", "wrong content type");
    }
    with("503", "busy: retry after the Retry-After header's seconds");
    op["responses"] = responses;
    std::string lower = r.method;
    for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    paths[r.path][lower] = op;
  }
  return {{"openapi", "3.0.3"},
          {"info",
           {{"title", "Lineup"},
            {"version", "1"},
            {"description",
             "Face search for accountable investigations. Every candidate is a lead for human review, not an "
             "identification. x-roles lists the roles allowed on each operation."}}},
          {"paths", paths},
          {"security", {{{"session", json::array()}}, {{"token", json::array()}}}},
          {"components",
           {{"securitySchemes",
             {{"session", {{"type", "apiKey"}, {"in", "cookie"}, {"name", "lineup_session"}}},
              {"token", {{"type", "http"}, {"scheme", "bearer"}}}}},
            {"schemas",
             {{"Error",
               {{"type", "object"},
                {"properties",
                 {{"error",
                   {{"type", "object"},
                    {"properties", {{"code", {{"type", "string"}}}, {"message", {{"type", "string"}}}}}}}}}}}}}}}};
}

}  // namespace lineup::server
