// lineup serve, over real HTTP on a loopback port, against a gallery of real photos:
// authentication and roles on every route of the route table, the OpenAPI document,
// cases, searches, two-person review, the audit trail, enrolment jobs and hostile
// requests.
#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <regex>
#include <set>
#include <thread>

#include "lineup/accounts.h"
#include "lineup/audit_log.h"
#include "lineup/cases.h"
#include "lineup/gallery.h"
#include "server.h"
#include "server_internal.h"
#include "test_util.h"

namespace fs = std::filesystem;
using json = nlohmann::json;
using lineup::Role;
using lineup_test::TempDir;

namespace {

const char* kPassword = "correct horse battery";

struct World {
  std::unique_ptr<TempDir> tmp;
  std::string gallery, data;
  std::unique_ptr<lineup::server::Server> server;
  lineup::server::ServerOptions options;
  std::map<std::string, std::string> token;  // user -> API token
  int port = 0;
  int64_t faces = 0;  // enrolled by the fixture
};
World* w = nullptr;

class ServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string why;
    const std::string data = lineup_test::DataDir("face_recognition/examples/knn_examples", &why);
    if (data.empty()) return;
    w = new World;
    w->data = data;
    w->tmp = std::make_unique<TempDir>();
    w->gallery = w->tmp->File("g");
    ASSERT_TRUE(lineup::Gallery::Init(w->gallery).ok());
    {
      auto g = lineup::Gallery::Open(w->gallery, {});
      ASSERT_TRUE(g.ok()) << g.status().ToString();
      lineup::SourceRecord s;
      s.name = "knn";
      s.legal_basis = "test fixture (face_recognition examples, MIT)";
      ASSERT_TRUE((*g)->catalog().AddSource(&s).ok());
      auto files = lineup::ListPhotos({data + "/train"});
      ASSERT_TRUE(files.ok());
      lineup::EnrollOptions eo;
      eo.source = "knn";
      auto r = (*g)->Enroll(*files, eo);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      ASSERT_GE(r->faces, 9);  // one per photo; a 12 px pattern in obama.jpg is not admitted
      w->faces = r->faces;
    }
    auto acc = lineup::Accounts::Open(w->gallery + "/catalog.sqlite");
    ASSERT_TRUE(acc.ok()) << acc.status().ToString();
    for (auto [name, role] : {std::pair{"admin", Role::kAdmin}, {"ana", Role::kAnalyst}, {"bob", Role::kAnalyst},
                              {"eve", Role::kEnroller}, {"aud", Role::kAuditor}, {"zoe", Role::kAnalyst}}) {
      ASSERT_TRUE((*acc)->AddUser(name, role, kPassword).ok());
      auto t = (*acc)->CreateToken(name, "test", 1);
      ASSERT_TRUE(t.ok());
      w->token[name] = t->secret;
    }
    ASSERT_TRUE((*acc)->GrantSource("eve", "knn").ok());
    lineup::server::ServerOptions o;
    o.gallery_dir = w->gallery;
    o.port = 0;
    o.max_upload_bytes = 2 << 20;
    o.request_timeout_s = 2;
    o.analysis_slots = 1;
    o.queue_wait_ms = 20000;
    w->options = o;
    StartServer();
  }
  // Starts the server on the fixture's gallery (again, after a restart: a new port).
  static void StartServer() {
    auto srv = lineup::server::Server::Create(w->options);
    ASSERT_TRUE(srv.ok()) << srv.status().ToString();
    w->server = std::move(*srv);
    ASSERT_TRUE(w->server->Start().ok());
    w->port = w->server->port();
  }
  static void RestartServer() {
    w->server.reset();
    StartServer();
  }
  static void TearDownTestSuite() {
    if (w) {
      w->server.reset();
      delete w;
      w = nullptr;
    }
  }
  void SetUp() override {
    if (!w) {
      if (lineup_test::InCi()) FAIL() << "face_recognition photos missing";
      GTEST_SKIP() << "face_recognition photos missing";
    }
  }
  httplib::Client Client() {
    httplib::Client c("127.0.0.1", w->port);
    c.set_read_timeout(60, 0);
    return c;
  }
  httplib::Headers Auth(const std::string& user) { return {{"Authorization", "Bearer " + w->token[user]}}; }
  // A read within a case: the case and the justification (percent-encoded) in headers.
  static std::string PercentEncoded(const std::string& text) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char ch : text) {
      if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
        out += static_cast<char>(ch);
      } else {
        out += '%';
        out += hex[ch >> 4];
        out += hex[ch & 15];
      }
    }
    return out;
  }
  httplib::Headers Scoped(const std::string& user, int64_t case_id, const std::string& justification) {
    httplib::Headers h = Auth(user);
    h.emplace("X-Lineup-Case", std::to_string(case_id));
    h.emplace("X-Lineup-Justification", PercentEncoded(justification));
    return h;
  }
  json Body(const httplib::Result& r) {
    EXPECT_TRUE(r) << "no response";
    if (!r) return json();
    json j = json::parse(r->body, nullptr, false);
    return j;
  }
  std::string Photo(const std::string& rel) {
    auto b = lineup_test::ReadBytes(w->data + "/" + rel);
    return std::string(b.begin(), b.end());
  }
  // Starts an enrolment job as eve and waits for it to end; its last status.
  json EnrolAndWait(const httplib::MultipartFormDataItems& items) {
    auto c = Client();
    auto job = c.Post("/v1/enrollments", Auth("eve"), items);
    EXPECT_EQ(job->status, 202) << job->body;
    if (job->status != 202) return json();
    const std::string status_path = "/v1/enrollments/" + std::to_string(Body(job)["job"].get<int>());
    json st;
    for (int i = 0; i < 600; ++i) {
      st = Body(c.Get(status_path.c_str(), Auth("eve")));
      if (st["state"] != "queued" && st["state"] != "running") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return st;
  }
  // Starts a rebuild of persons (202, a job) and follows it until it ends; its last status.
  json RebuildAndWait(const std::string& user, const json& body) {
    auto c = Client();
    auto job = c.Post("/v1/persons/recluster", Auth(user), body.dump(), "application/json");
    EXPECT_EQ(job->status, 202) << job->body;
    if (job->status != 202) return json();
    json st = Body(job);
    EXPECT_EQ(st["state"], "queued") << st.dump();
    const std::string status_path = st["status"];
    for (int i = 0; i < 1200 && (st["state"] == "queued" || st["state"] == "running"); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      st = Body(c.Get(status_path.c_str(), Auth(user)));
    }
    return st;
  }
  int64_t NewCase(const std::string& user, const std::string& title = "Robbery 2026-114") {
    auto c = Client();
    auto r = c.Post("/v1/cases", Auth(user), json{{"title", title}, {"authority", "warrant W-1"}}.dump(),
                    "application/json");
    EXPECT_EQ(r->status, 201) << r->body;
    return Body(r).value("id", int64_t{0});
  }
  httplib::Result SearchPhoto(const std::string& user, int64_t case_id, const std::string& photo,
                              const std::string& justification = "suspect seen on CCTV") {
    auto c = Client();
    httplib::MultipartFormDataItems items = {{"image", Photo(photo), "probe.jpg", "image/jpeg"},
                                             {"justification", justification, "", ""},
                                             {"top", "5", "", ""}};
    return c.Post(("/v1/cases/" + std::to_string(case_id) + "/searches").c_str(), Auth(user), items);
  }
};

// Sends `request` as it is on a fresh connection and returns everything the server
// answers (a request httplib::Client cannot make: a POST without Content-Length).
std::string RawRequest(int port, const std::string& request) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::send(fd, request.data(), request.size(), 0) == static_cast<ssize_t>(request.size())) {
    char buf[4096];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) out.append(buf, static_cast<size_t>(n));
  }
  if (fd >= 0) ::close(fd);
  return out;
}

// A concrete path for a route: {id}, {face} -> 1, {name} -> ana, {file} -> app.js.
std::string Concrete(const std::string& path) {
  std::string p = std::regex_replace(path, std::regex(R"(\{id\}|\{face\}|\{other\})"), "1");
  p = std::regex_replace(p, std::regex(R"(\{name\})"), "ana");
  return std::regex_replace(p, std::regex(R"(\{file\})"), "app.js");
}

httplib::Result Call(httplib::Client& c, const std::string& method, const std::string& path,
                     const httplib::Headers& h) {
  if (method == "GET") return c.Get(path.c_str(), h);
  if (method == "DELETE") return c.Delete(path.c_str(), h);
  return c.Post(path.c_str(), h, "{}", "application/json");
}

TEST_F(ServerTest, EveryRouteButThePublicOnesNeedsAuthenticationAndTheRightRole) {
  // The only routes anyone may call: health, signing in, and the console's files.
  // The OpenAPI document and "am I signed in?" are public: a client reads the API's shape
  // before it has credentials, and the console asks on every page load without a 401.
  const std::set<std::string> kPublic = {"GET /healthz", "POST /v1/session", "GET /v1/session", "GET /v1/openapi.json",
                                         "GET /", "GET /assets/{file}"};
  auto c = Client();
  std::set<std::string> seen_public;
  ASSERT_GE(w->server->Routes().size(), 30u);
  for (const auto& r : w->server->Routes()) {
    const std::string key = r.method + " " + r.path;
    const std::string path = Concrete(r.path);
    if (r.roles.empty()) {
      seen_public.insert(key);
      continue;
    }
    auto anon = Call(c, r.method, path, {});
    ASSERT_TRUE(anon) << key;
    EXPECT_EQ(anon->status, 401) << key << " without credentials: " << anon->body;
    auto bad = Call(c, r.method, path, {{"Authorization", "Bearer lu_not-a-real-token"}});
    EXPECT_EQ(bad->status, 401) << key << " with a made-up token";
    for (auto [user, role] : {std::pair{"admin", Role::kAdmin}, {"ana", Role::kAnalyst}, {"eve", Role::kEnroller},
                              {"aud", Role::kAuditor}}) {
      const bool allowed = std::find(r.roles.begin(), r.roles.end(), role) != r.roles.end();
      if (allowed) continue;
      auto res = Call(c, r.method, path, Auth(user));
      ASSERT_TRUE(res) << key;
      EXPECT_EQ(res->status, 403) << key << " as " << user << ": " << res->body;
    }
  }
  EXPECT_EQ(seen_public, kPublic);
}

TEST_F(ServerTest, OpenApiDocumentMatchesTheRealRoutes) {
  auto c = Client();
  auto r = c.Get("/v1/openapi.json", Auth("aud"));
  ASSERT_EQ(r->status, 200);
  json doc = Body(r);
  EXPECT_EQ(doc["openapi"], "3.0.3");
  std::set<std::string> documented, routed;
  for (auto& [path, ops] : doc["paths"].items())
    for (auto& [method, op] : ops.items()) {
      std::string m = method;
      for (char& ch : m) ch = static_cast<char>(std::toupper(ch));
      documented.insert(m + " " + path);
      // Each documented operation is served: never the "no such route" 404.
      auto res = Call(c, m, Concrete(path), {});
      ASSERT_TRUE(res);
      EXPECT_EQ(res->body.find("no such route"), std::string::npos) << m << " " << path;
    }
  for (const auto& rt : w->server->Routes()) routed.insert(rt.method + " " + rt.path);
  EXPECT_EQ(documented, routed);
  // Every operation says what it answers: exactly one success response with content, a
  // JSON one naming an object schema with properties, and every reference resolves.
  const std::set<std::string> not_json = {"GET /", "GET /assets/{file}", "GET /metrics",
                                          "GET /v1/searches/{id}/faces/{face}/thumbnail",
                                          "GET /v1/persons/{id}/faces/{face}/thumbnail",
                                          "GET /v1/persons/pending/{face}/thumbnail",
                                          "GET /v1/network/faces/{face}/thumbnail",
                                          "POST /v1/cases/{id}/export"};  // a ZIP download
  const json& schemas = doc["components"]["schemas"];
  for (auto& [path, ops] : doc["paths"].items())
    for (auto& [method, op] : ops.items()) {
      std::string key = method;
      for (char& ch : key) ch = static_cast<char>(std::toupper(ch));
      key += " " + path;
      int successes = 0;
      for (auto& [code, resp] : op["responses"].items()) {
        if (code[0] != '2') continue;
        ++successes;
        ASSERT_TRUE(resp.contains("content")) << key;
        if (not_json.count(key)) continue;
        ASSERT_TRUE(resp["content"].contains("application/json")) << key;
        const json& schema = resp["content"]["application/json"]["schema"];
        ASSERT_TRUE(schema.contains("$ref")) << key << ": " << schema.dump();
        const std::string name = schema["$ref"].get<std::string>().substr(std::string("#/components/schemas/").size());
        ASSERT_TRUE(schemas.contains(name)) << key << " names " << name;
        EXPECT_EQ(schemas[name]["type"], "object") << name;
        EXPECT_FALSE(schemas[name]["properties"].empty()) << name;
      }
      EXPECT_EQ(successes, 1) << key;
    }
  std::function<void(const json&)> refs = [&](const json& j) {
    if (j.is_object()) {
      if (j.contains("$ref") && j["$ref"].is_string()) {
        const std::string ref = j["$ref"];
        EXPECT_EQ(ref.rfind("#/components/schemas/", 0), 0u) << ref;
        EXPECT_TRUE(schemas.contains(ref.substr(std::string("#/components/schemas/").size()))) << ref;
      }
      for (auto& [k, v] : j.items()) refs(v);
    } else if (j.is_array()) {
      for (const auto& v : j) refs(v);
    }
  };
  refs(doc);
  // Reads within a case take the case and why in headers, never in the query string; face
  // crops (fetched as images) take the case alone.
  for (const char* path : {"/v1/persons", "/v1/persons/pending", "/v1/persons/{id}", "/v1/network/communities",
                           "/v1/network/export"}) {
    std::set<std::string> header, query;
    for (const json& p : doc["paths"][path]["get"]["parameters"])
      (p["in"] == "header" ? header : query).insert(p["name"].get<std::string>());
    EXPECT_EQ(header, (std::set<std::string>{"X-Lineup-Case", "X-Lineup-Justification"})) << path;
    EXPECT_FALSE(query.count("justification") || query.count("case")) << path;
  }
  {
    // A search with the photo as the raw body: why in a header too, never in the query.
    std::set<std::string> header, query;
    for (const json& p : doc["paths"]["/v1/cases/{id}/searches"]["post"]["parameters"])
      (p["in"] == "header" ? header : p["in"] == "query" ? query : header).insert(p["name"].get<std::string>());
    EXPECT_TRUE(header.count("X-Lineup-Justification"));
    EXPECT_FALSE(query.count("justification") || query.count("case"));
    EXPECT_TRUE(doc["paths"]["/v1/cases/{id}/searches"]["post"]["requestBody"]["content"].contains("image/*"));
    // A rebuild is a job: 202 with its status, followed by GET, no case headers.
    EXPECT_TRUE(doc["paths"]["/v1/persons/recluster"]["post"]["responses"].contains("202"));
    EXPECT_TRUE(doc["paths"]["/v1/persons/recluster"]["post"]["responses"].contains("409"));
    EXPECT_FALSE(doc["paths"]["/v1/persons/recluster/{id}"]["get"].contains("parameters") &&
                 doc["paths"]["/v1/persons/recluster/{id}"]["get"]["parameters"].dump().find("X-Lineup-Case") !=
                     std::string::npos);
  }
  for (const auto& p : doc["paths"]["/v1/persons/pending/{face}/thumbnail"]["get"]["parameters"])
    if (p["in"] == "query") {
      EXPECT_EQ(p["name"], "case");
    }
  auto missing = c.Get("/v1/nothing-here", Auth("aud"));
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(Body(missing)["error"]["code"], "not_found");
}

TEST_F(ServerTest, ConsoleSessionNeedsCsrfTokenAndLoginIsThrottled) {
  auto c = Client();
  auto login = c.Post("/v1/session", json{{"name", "ana"}, {"password", kPassword}}.dump(), "application/json");
  ASSERT_EQ(login->status, 200) << login->body;
  const std::string cookie = login->get_header_value("Set-Cookie");
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos);
  const std::string session = cookie.substr(0, cookie.find(';'));
  const std::string csrf = Body(login)["csrf"];
  auto me = c.Get("/v1/me", {{"Cookie", session}});
  ASSERT_EQ(me->status, 200);
  EXPECT_EQ(Body(me)["user"], "ana");
  const std::string body = json{{"title", "t"}, {"authority", "a"}}.dump();
  auto no_csrf = c.Post("/v1/cases", {{"Cookie", session}}, body, "application/json");
  EXPECT_EQ(no_csrf->status, 403) << "a state-changing request without the CSRF token";
  auto with_csrf = c.Post("/v1/cases", {{"Cookie", session}, {"X-CSRF-Token", csrf}}, body, "application/json");
  EXPECT_EQ(with_csrf->status, 201) << with_csrf->body;
  auto out = c.Delete("/v1/session", {{"Cookie", session}, {"X-CSRF-Token", csrf}});
  EXPECT_EQ(out->status, 200);
  EXPECT_EQ(c.Get("/v1/me", {{"Cookie", session}})->status, 401) << "signed out";

  int last = 0;
  for (int i = 0; i < 7; ++i)
    last = c.Post("/v1/session", json{{"name", "bob"}, {"password", "wrong password!"}}.dump(), "application/json")->status;
  EXPECT_EQ(last, 429) << "too many failed sign-ins lock the name";
  auto locked = c.Post("/v1/session", json{{"name", "bob"}, {"password", kPassword}}.dump(), "application/json");
  EXPECT_EQ(locked->status, 429) << "even the right password waits out the lock";
  EXPECT_FALSE(locked->get_header_value("Retry-After").empty());
}

TEST_F(ServerTest, SearchInACaseThenTwoPersonReviewAllAudited) {
  const int64_t case_id = NewCase("ana");
  ASSERT_GT(case_id, 0);
  auto c = Client();
  // bob is not a member yet.
  EXPECT_EQ(SearchPhoto("bob", case_id, "test/obama1.jpg")->status, 403);
  auto add = c.Post(("/v1/cases/" + std::to_string(case_id) + "/members").c_str(), Auth("ana"),
                    json{{"user", "bob"}}.dump(), "application/json");
  ASSERT_EQ(add->status, 200) << add->body;

  EXPECT_EQ(SearchPhoto("ana", case_id, "test/obama1.jpg", "")->status, 400) << "no justification";
  auto r = SearchPhoto("ana", case_id, "test/obama1.jpg");
  ASSERT_EQ(r->status, 200) << r->body;
  json s = Body(r);
  ASSERT_FALSE(s["candidates"].empty());
  EXPECT_EQ(s["gallery_size"], Body(c.Get("/v1/gallery", Auth("ana")))["faces"]) << "the size the search ran against";
  EXPECT_GE(s["gallery_size"].get<int64_t>(), w->faces) << "every face the fixture enrolled";
  const json& top = s["candidates"][0];
  EXPECT_NE(top["image"]["uri"].get<std::string>().find("obama"), std::string::npos) << s.dump(1);
  EXPECT_GT(top["score"].get<double>(), s["threshold"].get<double>());
  EXPECT_LT(top["fpir"].get<double>(), 0.01);
  EXPECT_EQ(top["source"]["name"], "knn");
  EXPECT_NE(s["notice"].get<std::string>().find("not identifications"), std::string::npos);
  auto thumb = c.Get(top["thumbnail"].get<std::string>().c_str(), Auth("ana"));
  EXPECT_EQ(thumb->status, 200);
  EXPECT_EQ(thumb->get_header_value("Content-Type"), "image/jpeg");
  // Crops only as candidates of a search of one's own cases: no browsing by face id.
  const std::string sid = std::to_string(s["search_id"].get<int64_t>());
  EXPECT_EQ(c.Get(("/v1/searches/" + sid + "/faces/999999/thumbnail").c_str(), Auth("ana"))->status, 404);
  EXPECT_EQ(c.Get(top["thumbnail"].get<std::string>().c_str(), Auth("zoe"))->status, 403) << "zoe is in no case";
  // A crop that cannot be read (emptied on disk, or a directory in its place) answers 404
  // with a reason, never an empty JPEG; the persons' and the network's crops are served
  // by the same code (SendFaceCrop).
  {
    const std::string crop =
        (fs::path(w->gallery) / "thumbnails" / (std::to_string(top["face_id"].get<int64_t>()) + ".jpg")).string();
    const auto bytes = lineup_test::ReadBytes(crop);
    ASSERT_FALSE(bytes.empty());
    lineup_test::WriteText(crop, "");
    auto emptied = c.Get(top["thumbnail"].get<std::string>().c_str(), Auth("ana"));
    EXPECT_EQ(emptied->status, 404) << emptied->body;
    EXPECT_EQ(Body(emptied)["error"]["code"], "not_found");
    fs::remove(crop);
    fs::create_directory(crop);
    EXPECT_EQ(c.Get(top["thumbnail"].get<std::string>().c_str(), Auth("ana"))->status, 404);
    fs::remove(crop);
    lineup_test::WriteBytes(crop, bytes);
    EXPECT_EQ(c.Get(top["thumbnail"].get<std::string>().c_str(), Auth("ana"))->status, 200);
  }

  const int64_t search_id = s["search_id"];
  const int64_t face_id = top["face_id"];
  const std::string rv = "/v1/searches/" + std::to_string(search_id) + "/reviews";
  auto bad = c.Post(rv.c_str(), Auth("ana"), json{{"face_id", 999999}, {"verdict", "possible_match"}}.dump(),
                    "application/json");
  EXPECT_EQ(bad->status, 400) << "a face the search did not return";
  auto mark = c.Post(rv.c_str(), Auth("ana"),
                     json{{"face_id", face_id}, {"verdict", "possible_match"}, {"note", "same scar"}}.dump(),
                     "application/json");
  ASSERT_EQ(mark->status, 201) << mark->body;
  const int64_t review_id = Body(mark)["id"];
  EXPECT_FALSE(Body(mark)["confirmed"].get<bool>());
  const std::string confirm = "/v1/reviews/" + std::to_string(review_id) + "/confirm";
  EXPECT_EQ(c.Post(confirm.c_str(), Auth("ana"), "{}", "application/json")->status, 403) << "own review";
  // As `curl -X POST` sends it: no body, no Content-Length.
  const std::string raw = RawRequest(w->port, "POST " + confirm + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
                                     w->token["bob"] + "\r\nConnection: close\r\n\r\n");
  ASSERT_EQ(raw.rfind("HTTP/1.1 200", 0), 0u) << raw;
  EXPECT_NE(raw.find("\"confirmed\":true"), std::string::npos) << raw;

  // Reopened later, the search shows what was shown, with its reviews, without searching again.
  const int64_t searches_before = Body(c.Get("/v1/stats", Auth("aud")))["searches"];
  auto again = c.Get(("/v1/searches/" + std::to_string(search_id)).c_str(), Auth("bob"));
  ASSERT_EQ(again->status, 200) << again->body;
  json shown = Body(again);
  ASSERT_EQ(shown["candidates"].size(), s["candidates"].size());
  for (size_t i = 0; i < s["candidates"].size(); ++i) {
    EXPECT_EQ(shown["candidates"][i]["face_id"], s["candidates"][i]["face_id"]);
    EXPECT_EQ(shown["candidates"][i]["score"], s["candidates"][i]["score"]);
    EXPECT_EQ(shown["candidates"][i]["image"]["uri"], s["candidates"][i]["image"]["uri"]);
    EXPECT_EQ(shown["candidates"][i]["source"]["legal_basis"], s["candidates"][i]["source"]["legal_basis"]);
    EXPECT_EQ(shown["candidates"][i]["thumbnail"], s["candidates"][i]["thumbnail"]);
  }
  EXPECT_EQ(shown["decision"], s["decision"]);
  EXPECT_EQ(shown["justification"], "suspect seen on CCTV");
  EXPECT_EQ(shown["user"], "ana");
  ASSERT_EQ(shown["reviews"].size(), 1u);
  EXPECT_EQ(shown["reviews"][0]["verdict"], "possible_match");
  EXPECT_EQ(shown["reviews"][0]["confirmed_by"], "bob");
  EXPECT_EQ(Body(c.Get("/v1/stats", Auth("aud")))["searches"], searches_before) << "reopening is not searching";
  // The case lists it with what the analyst saw in brief.
  const json listed = Body(c.Get(("/v1/cases/" + std::to_string(case_id)).c_str(), Auth("bob")))["searches"];
  ASSERT_FALSE(listed.empty());
  EXPECT_EQ(listed.back()["id"], search_id);
  EXPECT_EQ(listed.back()["leads"], s["leads"]);
  EXPECT_EQ(listed.back()["undecided"], false);
  EXPECT_EQ(listed.back()["probe_name"], "probe.jpg");
  EXPECT_EQ(c.Get(("/v1/searches/" + std::to_string(search_id)).c_str(), Auth("zoe"))->status, 403);

  // Closed cases take no more searches.
  ASSERT_EQ(c.Post(("/v1/cases/" + std::to_string(case_id) + "/close").c_str(), Auth("ana"), "{}", "application/json")->status,
            200);
  EXPECT_EQ(SearchPhoto("ana", case_id, "test/obama1.jpg")->status, 409);

  // The auditor sees it all, the chain holds, and the auditor cannot search.
  auto log = c.Get(("/v1/audit?case=" + std::to_string(case_id)).c_str(), Auth("aud"));
  ASSERT_EQ(log->status, 200);
  std::multiset<std::string> actions;
  const json records = Body(log)["records"];
  for (const auto& rec : records) actions.insert(rec["action"].get<std::string>());
  for (const char* a : {"case_create", "case_member_add", "search", "review", "confirm", "case_close"})
    EXPECT_EQ(actions.count(a), 1u) << a;
  bool saw_probe_hash = false;
  for (const auto& rec : records)
    if (rec["action"] == "search") {
      EXPECT_EQ(rec["details"]["probe_sha256"].get<std::string>().size(), 64u);
      EXPECT_EQ(rec["details"]["justification"], "suspect seen on CCTV");
      EXPECT_FALSE(rec["details"]["candidates"].empty());
      saw_probe_hash = true;
    }
  EXPECT_TRUE(saw_probe_hash);
  auto verify = c.Get("/v1/audit/verify", Auth("aud"));
  EXPECT_TRUE(Body(verify)["ok"].get<bool>()) << verify->body;
  auto stats = c.Get("/v1/stats", Auth("aud"));
  EXPECT_GE(Body(stats)["searches"].get<int>(), 1);
  EXPECT_EQ(SearchPhoto("aud", case_id, "test/obama1.jpg")->status, 403);
}

TEST_F(ServerTest, SearchByVectorAndVerify) {
  const int64_t case_id = NewCase("ana");
  auto c = Client();
  const std::string path = "/v1/cases/" + std::to_string(case_id) + "/searches";
  std::vector<float> v(512, 0.f);
  v[3] = 1.f;
  auto r = c.Post(path.c_str(), Auth("ana"), json{{"vector", v}, {"justification", "integration test"}, {"all", true}}.dump(),
                  "application/json");
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(Body(r)["probe"]["kind"], "vector");
  auto wrong = c.Post(path.c_str(), Auth("ana"), json{{"vector", {1, 2, 3}}, {"justification", "x"}}.dump(),
                      "application/json");
  EXPECT_EQ(wrong->status, 400);
  auto nan = c.Post(path.c_str(), Auth("ana"), R"({"vector": "oops", "justification": "x"})", "application/json");
  EXPECT_EQ(nan->status, 400);

  // The default model's vectors carry their face's weight (length 0.8-1.25): such a vector
  // is searched as given; one of any other length is scaled to unit length first.
  auto top_score = [&](float scale) {
    std::vector<float> s = v;
    for (float& x : s) x *= scale;
    auto res = c.Post(path.c_str(), Auth("ana"), json{{"vector", s}, {"justification", "weight"}, {"all", true}}.dump(),
                      "application/json");
    EXPECT_EQ(res->status, 200) << res->body;
    auto b = Body(res);
    return b["candidates"].empty() ? 0.0 : b["candidates"][0]["score"].get<double>();
  };
  const double unit = top_score(1.f);
  ASSERT_NE(unit, 0.0);
  EXPECT_NEAR(top_score(1.1f), 1.1 * unit, 5e-4);
  EXPECT_NEAR(top_score(3.f), unit, 5e-4);

  // A photo as the raw body: the justification in the X-Lineup-Justification header
  // (percent-encoded, as reads take it), the other fields in the query string; the case
  // is the URL's, and an X-Lineup-Case header must name the same one.
  auto raw = c.Post((path + "?top=3").c_str(), Scoped("ana", case_id, "raw upload, 100% of it: «still»"),
                    Photo("test/obama1.jpg"), "image/jpeg");
  ASSERT_EQ(raw->status, 200) << raw->body;
  EXPECT_EQ(Body(raw)["probe"]["kind"], "photo");
  EXPECT_LE(Body(raw)["candidates"].size(), 3u);
  auto raw_rec = c.Get(("/v1/audit?action=search&case=" + std::to_string(case_id)).c_str(), Auth("aud"));
  ASSERT_EQ(raw_rec->status, 200);
  EXPECT_EQ(Body(raw_rec)["records"].back()["details"]["justification"], "raw upload, 100% of it: «still»");
  // Never in the URL: refused with a message that says where it goes, and nothing searched.
  const std::string case_path = "/v1/cases/" + std::to_string(case_id);
  const size_t searches_before = Body(c.Get(case_path.c_str(), Auth("ana")))["searches"].size();
  for (const std::string& query :
       {std::string("?justification=raw%20upload&top=3"), std::string("?case=") + std::to_string(case_id)}) {
    auto in_url = c.Post((path + query).c_str(), Scoped("ana", case_id, "why"), Photo("test/obama1.jpg"), "image/jpeg");
    EXPECT_EQ(in_url->status, 400) << query;
    EXPECT_NE(Body(in_url)["error"]["message"].get<std::string>().find("X-Lineup-Justification"), std::string::npos)
        << in_url->body;
  }
  auto no_why = c.Post(path.c_str(), Auth("ana"), Photo("test/obama1.jpg"), "image/jpeg");
  EXPECT_EQ(no_why->status, 400);
  EXPECT_NE(Body(no_why)["error"]["message"].get<std::string>().find("X-Lineup-Justification header"),
            std::string::npos)
      << no_why->body;
  auto other_case = c.Post(path.c_str(), Scoped("ana", case_id + 1000, "why"), Photo("test/obama1.jpg"), "image/jpeg");
  EXPECT_EQ(other_case->status, 400) << other_case->body;
  httplib::Headers nul = Auth("ana");
  nul.emplace("X-Lineup-Justification", "a%00b");
  EXPECT_EQ(c.Post(path.c_str(), nul, Photo("test/obama1.jpg"), "image/jpeg")->status, 400) << "a NUL byte";
  EXPECT_EQ(Body(c.Get(case_path.c_str(), Auth("ana")))["searches"].size(), searches_before) << "nothing searched";

  httplib::MultipartFormDataItems items = {{"image_a", Photo("test/obama1.jpg"), "a.jpg", "image/jpeg"},
                                           {"image_b", Photo("train/obama/obama.jpg"), "b.jpg", "image/jpeg"},
                                           {"justification", "compare two stills", "", ""}};
  auto v1 = c.Post(("/v1/cases/" + std::to_string(case_id) + "/verify").c_str(), Auth("ana"), items);
  ASSERT_EQ(v1->status, 200) << v1->body;
  EXPECT_TRUE(Body(v1)["above_fmr_1e-3"].get<bool>()) << v1->body;
  EXPECT_EQ(Body(v1)["decision"], "same") << v1->body;
  // A face too far and blurred to judge: "undecided", never "different".
  cv::Mat m = cv::imread(w->data + "/test/obama1.jpg"), small;
  cv::resize(m, small, cv::Size(), 120.0 / m.cols, 120.0 / m.cols, cv::INTER_AREA);
  cv::GaussianBlur(small, small, cv::Size(0, 0), 1.2);
  std::vector<uchar> png;
  cv::imencode(".png", small, png);
  httplib::MultipartFormDataItems poor = {{"image_a", std::string(png.begin(), png.end()), "far.png", "image/png"},
                                          {"image_b", Photo("train/obama/obama.jpg"), "b.jpg", "image/jpeg"},
                                          {"justification", "a far-away still", "", ""}};
  auto v2 = c.Post(("/v1/cases/" + std::to_string(case_id) + "/verify").c_str(), Auth("ana"), poor);
  if (v2->status == 200 && Body(v2)["face_a"]["quality"].get<double>() < 0.01) {
    EXPECT_EQ(Body(v2)["decision"], "undecided") << v2->body;
    EXPECT_NE(Body(v2)["reason"].get<std::string>().find("first face"), std::string::npos) << v2->body;
  } else {
    EXPECT_TRUE(v2->status == 422 || Body(v2)["decision"] != "different" || Body(v2)["face_a"]["quality"] >= 0.01)
        << v2->body;
  }
  // The gallery's sources say images and faces the right way round.
  json g = Body(c.Get("/v1/gallery", Auth("ana")));
  ASSERT_FALSE(g["sources"].empty());
  for (const auto& s : g["sources"])
    if (s["name"] == "knn") {
      EXPECT_EQ(s["faces"], w->faces) << g.dump();
      EXPECT_LE(s["images"].get<int64_t>(), s["faces"].get<int64_t>()) << g.dump();
    }
}

TEST_F(ServerTest, HostileRequestsGetClearErrors) {
  const int64_t case_id = NewCase("ana");
  auto c = Client();
  // Malformed and wrongly typed JSON.
  for (const char* body : {"{", "[1,2]", "null", "{\"title\": 5, \"authority\": \"a\"}", "\xff\xfe"}) {
    auto r = c.Post("/v1/cases", Auth("ana"), body, "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << body;
    EXPECT_TRUE(Body(r).contains("error")) << r->body;
  }
  // Wrong content types.
  EXPECT_EQ(c.Post("/v1/cases", Auth("ana"), "title=x", "application/x-www-form-urlencoded")->status, 415);
  EXPECT_EQ(c.Post("/v1/detect", Auth("ana"), "hello", "text/plain")->status, 415);
  // Not an image, and a broken multipart body.
  auto notimg = c.Post("/v1/detect", Auth("ana"), "definitely not a jpeg", "image/jpeg");
  EXPECT_EQ(notimg->status, 400);
  auto broken = c.Post("/v1/detect", Auth("ana"), "--xyz\r\nContent-Disposition: form-data; name=\"image\"\r\n\r\nabc",
                       "multipart/form-data; boundary=xyz");
  ASSERT_TRUE(broken);
  EXPECT_EQ(broken->status, 400);
  // Over the upload limit (2 MB in this test).
  std::string big(3 << 20, 'x');
  auto large = c.Post("/v1/detect", Auth("ana"), big, "image/jpeg");
  ASSERT_TRUE(large);
  EXPECT_EQ(large->status, 413);
  // SQL metacharacters are text like any other.
  const std::string evil = "x'); DROP TABLE users; --\"";
  auto sq = c.Post("/v1/cases", Auth("ana"), json{{"title", evil}, {"authority", evil}}.dump(), "application/json");
  ASSERT_EQ(sq->status, 201);
  EXPECT_EQ(Body(sq)["title"], evil);
  EXPECT_EQ(c.Get("/v1/users", Auth("admin"))->status, 200) << "the users table is still there";
  auto src = c.Post("/v1/sources", Auth("admin"), json{{"name", evil}, {"legal_basis", evil}}.dump(), "application/json");
  EXPECT_EQ(src->status, 201) << src->body;
  // Control characters and bytes that are not UTF-8 in names and justifications.
  auto odd = c.Post("/v1/session", R"({"name": "a\u0001b\u0000", "password": "xxxxxxxxxxxxxxx"})", "application/json");
  EXPECT_EQ(odd->status, 400) << odd->body;
  auto odd2 = c.Post("/v1/session", R"({"name": "a\u0001b", "password": "xxxxxxxxxxxxxxx"})", "application/json");
  EXPECT_EQ(odd2->status, 401) << odd2->body;
  auto bytes = SearchPhoto("ana", case_id, "test/obama1.jpg", "not utf-8: \xff\xfe\xc3");
  EXPECT_EQ(bytes->status, 400) << bytes->body;
  EXPECT_NE(bytes->body.find("UTF-8"), std::string::npos) << bytes->body;
  EXPECT_TRUE(Body(c.Get("/v1/audit/verify", Auth("aud")))["ok"].get<bool>());
  // Path traversal: in the URL and in an uploaded file's name.
  EXPECT_EQ(c.Get("/assets/..%2f..%2fCMakeLists.txt")->status, 404);
  EXPECT_EQ(c.Get("/assets/../../etc/passwd")->status, 404);
  httplib::MultipartFormDataItems items = {{"source", "knn", "", ""},
                                           {"files", Photo("test/alex_lacamoire1.jpg"), "../../../../tmp/evil.jpg", "image/jpeg"}};
  json st = EnrolAndWait(items);
  EXPECT_EQ(st["state"], "done") << st.dump();
  EXPECT_EQ(st["enrolled"], 1) << st.dump();
  EXPECT_FALSE(fs::exists("/tmp/evil.jpg"));
  EXPECT_FALSE(fs::exists(w->gallery + "/uploads/" + std::to_string(st["job"].get<int>())));
  // Enrollers only enrol into sources granted to them.
  httplib::MultipartFormDataItems other = {{"source", evil, "", ""}, {"files", "x", "a.jpg", "image/jpeg"}};
  EXPECT_EQ(c.Post("/v1/enrollments", Auth("eve"), other)->status, 403);
  // Slow client: half a request, then silence; the server drops it and serves others.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(w->port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const char* partial = "POST /v1/cases HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{";
  ASSERT_GT(::send(fd, partial, std::strlen(partial), 0), 0);
  EXPECT_EQ(c.Get("/healthz")->status, 200) << "others are served meanwhile";
  char buf[512];
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const auto t0 = std::chrono::steady_clock::now();
  while (::recv(fd, buf, sizeof buf, 0) > 0) {
  }
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 8.0)
      << "the stalled connection is closed after the request timeout (2 s here)";
  ::close(fd);
  (void)case_id;
}

// Every text field of every JSON route, filled with SQL and markup metacharacters: a
// clear 2xx or 4xx each time, never a 500, and the database and its audit chain intact.
TEST_F(ServerTest, SqlMetacharactersInEveryTextFieldAreJustText) {
  const std::string evil = "'); DROP TABLE users; -- \" <script>x</script> %s \\";
  auto c = Client();
  const int64_t case_id = NewCase("ana", evil);
  ASSERT_GT(case_id, 0);
  const std::string cs = std::to_string(case_id);
  auto search = c.Post(("/v1/cases/" + cs + "/searches").c_str(), Auth("ana"),
                       json{{"vector", std::vector<float>(512, 0.1f)}, {"justification", evil}, {"all", true},
                            {"model", evil}}.dump(), "application/json");
  EXPECT_EQ(search->status, 400) << "a foreign model name is refused: " << search->body;
  search = c.Post(("/v1/cases/" + cs + "/searches").c_str(), Auth("ana"),
                  json{{"vector", std::vector<float>(512, 0.1f)}, {"justification", evil}, {"all", true}}.dump(),
                  "application/json");
  ASSERT_EQ(search->status, 200) << search->body;
  const json sj = Body(search);
  ASSERT_FALSE(sj["candidates"].empty());
  const std::string sid = std::to_string(sj["search_id"].get<int64_t>());
  struct Post {
    const char* user;
    std::string path;
    json body;
  };
  const std::vector<Post> posts = {
      {"ana", "/v1/cases/" + cs + "/members", {{"user", evil}}},
      {"ana", "/v1/searches/" + sid + "/reviews",
       {{"face_id", sj["candidates"][0]["face_id"]}, {"verdict", evil}, {"note", evil}}},
      {"ana", "/v1/searches/" + sid + "/reviews",
       {{"face_id", sj["candidates"][0]["face_id"]}, {"verdict", "inconclusive"}, {"note", evil}}},
      {"admin", "/v1/sources",
       {{"name", evil + "src"}, {"description", evil}, {"legal_basis", evil}, {"collected_by", evil},
        {"collected_at", evil}, {"retention_until", ""}}},
      {"admin", "/v1/users", {{"name", evil}, {"role", "analyst"}, {"password", evil + evil}}},
      {"admin", "/v1/users", {{"name", "mallory"}, {"role", evil}, {"password", evil + evil}}},
      {"admin", "/v1/users/ana/grants", {{"source", evil}}},
      {"admin", "/v1/users/eve/grants", {{"source", evil}}},
      {"admin", "/v1/users/ana/tokens", {{"label", evil}, {"days", 1}}},
      {"admin", "/v1/erasures", {{"kind", "subject"}, {"key", evil}, {"reason", evil}}},
      {"admin", "/v1/erasures", {{"kind", evil}, {"key", evil}, {"reason", evil}}},
      {"ana", "/v1/cases", {{"title", evil}, {"authority", evil}}},
  };
  for (const Post& p : posts) {
    auto r = c.Post(p.path.c_str(), Auth(p.user), p.body.dump(), "application/json");
    ASSERT_TRUE(r) << p.path;
    EXPECT_LT(r->status, 500) << p.path << ": " << r->body;
    EXPECT_TRUE(Body(r).is_object()) << p.path;
  }
  auto sessions = c.Post("/v1/session", json{{"name", evil}, {"password", evil}}.dump(), "application/json");
  EXPECT_EQ(sessions->status, 401) << "the same answer as any wrong name or password";
  for (const char* q : {"/v1/audit?actor=%27%3B%20DROP%20TABLE%20audit_log%3B--", "/v1/audit?since=%27%20OR%201%3D1--",
                        "/v1/audit?case=1%20OR%201%3D1", "/v1/audit?action=%25"}) {
    auto r = c.Get(q, Auth("aud"));
    EXPECT_LT(r->status, 500) << q << ": " << r->body;
  }
  EXPECT_EQ(c.Get("/v1/users", Auth("admin"))->status, 200);
  auto cases = c.Get(("/v1/cases/" + cs).c_str(), Auth("ana"));
  EXPECT_EQ(Body(cases)["title"], evil);
  EXPECT_TRUE(Body(c.Get("/v1/audit/verify", Auth("aud")))["ok"].get<bool>());
}

TEST_F(ServerTest, AdminsManageUsersAndTokensAndMetricsAreServed) {
  auto c = Client();
  auto add = c.Post("/v1/users", Auth("admin"), json{{"name", "carol"}, {"role", "analyst"}, {"password", kPassword}}.dump(),
                    "application/json");
  ASSERT_EQ(add->status, 201) << add->body;
  EXPECT_EQ(c.Post("/v1/users", Auth("admin"), json{{"name", "dave"}, {"role", "king"}, {"password", kPassword}}.dump(),
                   "application/json")->status,
            400);
  auto tok = c.Post("/v1/users/carol/tokens", Auth("admin"), json{{"label", "ci"}, {"days", 1}}.dump(), "application/json");
  ASSERT_EQ(tok->status, 201);
  const std::string secret = Body(tok)["secret"];
  httplib::Headers carol = {{"Authorization", "Bearer " + secret}};
  EXPECT_EQ(c.Get("/v1/me", carol)->status, 200);
  auto list = c.Get("/v1/tokens", Auth("admin"));
  EXPECT_EQ(list->body.find(secret), std::string::npos) << "token secrets are never shown again";
  ASSERT_EQ(c.Delete(("/v1/tokens/" + std::to_string(Body(tok)["id"].get<int>())).c_str(), Auth("admin"))->status, 200);
  EXPECT_EQ(c.Get("/v1/me", carol)->status, 401) << "revoked";
  auto metrics = c.Get("/metrics", Auth("aud"));
  ASSERT_EQ(metrics->status, 200);
  EXPECT_NE(metrics->body.find("lineup_http_requests_total{method=\"GET\",route=\"/v1/me\""), std::string::npos);
  EXPECT_NE(metrics->body.find("lineup_gallery_faces "), std::string::npos);
  // Retention: a source past its date is erased on request (and hourly), and audited.
  auto old = c.Post("/v1/sources", Auth("admin"),
                    json{{"name", "expired-src"}, {"legal_basis", "x"}, {"retention_until", "2020-01-31"}}.dump(),
                    "application/json");
  ASSERT_EQ(old->status, 201) << old->body;
  EXPECT_EQ(c.Post("/v1/sources", Auth("admin"),
                   json{{"name", "bad-date"}, {"legal_basis", "x"}, {"retention_until", "soon"}}.dump(), "application/json")
                ->status,
            400);
  auto ret = c.Post("/v1/retention", Auth("admin"), "{}", "application/json");
  ASSERT_EQ(ret->status, 200) << ret->body;
  ASSERT_EQ(Body(ret)["erased"].size(), 1u) << ret->body;
  EXPECT_EQ(Body(ret)["erased"][0]["erased"], "source:expired-src");
  auto sources = c.Get("/v1/sources", Auth("admin"));
  EXPECT_EQ(sources->body.find("expired-src"), std::string::npos);
  auto health = c.Get("/healthz");
  EXPECT_EQ(health->status, 200);
}

TEST_F(ServerTest, CommandLineSearchesAServedGalleryThroughTheApi) {
  const int64_t case_id = NewCase("ana", "CLI case");
  const std::string url = "http://127.0.0.1:" + std::to_string(w->port);
  const std::string probe = w->data + "/test/obama1.jpg";
  // Beside the running server, local commands that only read work, and a local search is
  // audited as cli:<user> like any other.
  auto local = lineup_test::RunCli({"search", probe, "--gallery", w->gallery, "--json"});
  EXPECT_EQ(local.exit_code, 0) << local.err;
  json lj = json::parse(local.out, nullptr, false);
  ASSERT_FALSE(lj.is_discarded()) << local.out;
  EXPECT_FALSE(lj["candidates"].empty());
  auto info = lineup_test::RunCli({"info", "--gallery", w->gallery, "--json"});
  EXPECT_EQ(info.exit_code, 0) << info.err;
  EXPECT_GE(json::parse(info.out, nullptr, false).value("faces", int64_t{0}), w->faces);
  {
    auto c = Client();
    json recs = Body(c.Get("/v1/audit?action=search", Auth("aud")))["records"];
    bool cli_search = false;
    for (const auto& r : recs)
      cli_search |= r["actor"].get<std::string>().rfind("cli:", 0) == 0 && r["details"]["probe_sha256"] == lj["probe"]["image_sha256"];
    EXPECT_TRUE(cli_search) << recs.dump();
  }
  auto remote = lineup_test::RunCli({"search", probe, "--server", url, "--token", w->token["ana"], "--case",
                                     std::to_string(case_id), "--justification", "CLI lead check", "--json"});
  ASSERT_EQ(remote.exit_code, 0) << remote.err;
  json j = json::parse(remote.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << remote.out;
  EXPECT_EQ(j["case_id"], case_id);
  ASSERT_FALSE(j["candidates"].empty());
  auto no_case = lineup_test::RunCli({"search", probe, "--server", url, "--token", w->token["ana"], "--case", "999",
                                      "--justification", "x"});
  EXPECT_EQ(no_case.exit_code, 2);
  EXPECT_NE(no_case.err.find("404"), std::string::npos) << no_case.err;
  auto auditor = lineup_test::RunCli({"search", probe, "--server", url, "--token", w->token["aud"], "--case",
                                      std::to_string(case_id), "--justification", "x"});
  EXPECT_NE(auditor.err.find("403"), std::string::npos) << auditor.err;
}

// More clients than connection threads plus queue: the accepting thread waits for room
// (bounded queue), and every client is still served.
TEST_F(ServerTest, ManyConcurrentClientsAreAllServed) {
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 64; ++i)
    clients.emplace_back([&] {
      httplib::Client c("127.0.0.1", w->port);
      c.set_read_timeout(60, 0);
      c.set_keep_alive(false);
      for (int k = 0; k < 5; ++k) {
        auto r = c.Get("/healthz");
        (r && r->status == 200 ? ok : failed)++;
      }
    });
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), 320);
  EXPECT_EQ(failed.load(), 0);
}

// Netpbm photos (collections such as AT&T/ORL hold greyscale PGMs) are enrolled and
// searched like any other: nothing on the upload path looks at file names or at the
// type a client declares.
TEST_F(ServerTest, NetpbmUploadsAreEnrolledAndSearched) {
  cv::Mat photo = cv::imread(w->data + "/test/obama1.jpg", cv::IMREAD_COLOR);
  ASSERT_FALSE(photo.empty());
  cv::resize(photo, photo, cv::Size(), 0.4, 0.4, cv::INTER_AREA);  // under the 2 MiB upload limit
  cv::Mat grey;
  cv::cvtColor(photo, grey, cv::COLOR_BGR2GRAY);
  std::vector<uchar> ppm, pgm;
  ASSERT_TRUE(cv::imencode(".ppm", photo, ppm));
  ASSERT_TRUE(cv::imencode(".pgm", grey, pgm));
  auto c = Client();
  httplib::MultipartFormDataItems items = {
      {"source", "knn", "", ""},
      {"files", std::string(ppm.begin(), ppm.end()), "obama.ppm", "image/x-portable-pixmap"},
      {"files", std::string(pgm.begin(), pgm.end()), "obama.pgm", "image/x-portable-graymap"}};
  json st = EnrolAndWait(items);
  EXPECT_EQ(st["state"], "done") << st.dump();
  EXPECT_EQ(st["enrolled"], 2) << st.dump();
  EXPECT_TRUE(st["problems"].empty()) << st.dump();

  // The grey PGM as a probe, sent both ways ImageUpload takes an image.
  const int64_t case_id = NewCase("ana", "PGM probe");
  ASSERT_GT(case_id, 0);
  const std::string searches = "/v1/cases/" + std::to_string(case_id) + "/searches";
  httplib::MultipartFormDataItems probe = {{"image", std::string(pgm.begin(), pgm.end()), "probe.pgm", ""},
                                           {"justification", "ORL-style probe", "", ""}};
  auto r = c.Post(searches.c_str(), Auth("ana"), probe);
  ASSERT_EQ(r->status, 200) << r->body;
  json s = Body(r);
  ASSERT_FALSE(s["candidates"].empty());
  EXPECT_NE(s["candidates"][0]["image"]["uri"].get<std::string>().find("obama"), std::string::npos) << s.dump(1);
  EXPECT_GT(s["candidates"][0]["score"].get<double>(), s["threshold"].get<double>());
  httplib::Headers why = Auth("ana");
  why.emplace("X-Lineup-Justification", "raw%20PGM%20body");
  auto raw = c.Post(searches.c_str(), why, std::string(pgm.begin(), pgm.end()), "image/x-portable-graymap");
  ASSERT_EQ(raw->status, 200) << raw->body;
  EXPECT_EQ(Body(raw)["candidates"][0]["image"]["uri"], s["candidates"][0]["image"]["uri"]);
}

// Persons over the API: an admin rebuilds them without a case; analysts read and change
// them inside their own open case with a justification, every act audited; face crops
// only for faces a recorded view showed; hostile input gets 400s, not 500s.
TEST_F(ServerTest, PersonsWithinACaseAllAudited) {
  auto c = Client();
  auto post = [&](const std::string& user, const std::string& path, const json& body) {
    return c.Post(path.c_str(), Auth(user), body.dump(), "application/json");
  };
  const json rebuilt = RebuildAndWait("admin", {{"justification", "first grouping of the gallery"}});
  ASSERT_EQ(rebuilt["state"], "done") << rebuilt.dump();
  EXPECT_GE(rebuilt["result"]["faces"].get<int64_t>(), w->faces);
  EXPECT_EQ(post("admin", "/v1/persons/recluster", json::object())->status, 400) << "no justification";
  EXPECT_EQ(post("ana", "/v1/persons/recluster", {{"justification", "x"}})->status, 400) << "analysts: in a case";

  const int64_t case_id = NewCase("ana", "Network 7");
  auto in_case = [&](const std::string& user) { return Scoped(user, case_id, "tracing network 7"); };
  // Reads: a case and a justification, in headers, from a member analyst.
  auto headers = [&](const std::string& id, const std::string& why) {
    httplib::Headers h = Auth("ana");
    if (!id.empty()) h.emplace("X-Lineup-Case", id);
    if (!why.empty()) h.emplace("X-Lineup-Justification", why);
    return h;
  };
  const std::string id = std::to_string(case_id);
  EXPECT_EQ(c.Get("/v1/persons", Auth("ana"))->status, 400);
  EXPECT_EQ(c.Get("/v1/persons", headers("", "why"))->status, 400) << "no case";
  EXPECT_EQ(c.Get("/v1/persons", headers(id, ""))->status, 400) << "no justification";
  EXPECT_EQ(c.Get("/v1/persons", in_case("bob"))->status, 403) << "not a member";
  EXPECT_EQ(c.Get("/v1/persons", in_case("admin"))->status, 403);
  for (const char* bad : {"abc", "-1", "1e3", "99999999999999999999999", "0", "7x"})
    EXPECT_EQ(c.Get("/v1/persons", headers(bad, "why"))->status, 400) << "case " << bad;
  EXPECT_EQ(c.Get("/v1/persons", headers(id, "a%00nul"))->status, 400) << "a NUL byte";
  EXPECT_EQ(c.Get("/v1/persons", headers(id, "%C3%28"))->status, 400) << "not UTF-8";
  EXPECT_EQ(c.Get("/v1/persons", headers(id, std::string(2001, 'x')))->status, 400) << "over 2000 characters";
  // Never in the URL, which proxies, logs and browser histories keep: the query form is
  // refused, with or without the headers, and the answer says where they go.
  for (const std::string& url : std::vector<std::string>{"/v1/persons?case=" + id + "&justification=why",
                                                         "/v1/persons?justification=why", "/v1/persons?case=" + id})
    for (const auto& h : {Auth("ana"), in_case("ana")}) {
      auto in_url = c.Get(url.c_str(), h);
      EXPECT_EQ(in_url->status, 400) << url;
      EXPECT_NE(Body(in_url)["error"]["message"].get<std::string>().find("X-Lineup-Justification"), std::string::npos);
    }
  // Any text arrives as written (percent-encoded UTF-8): accents, quotes, a per cent
  // sign, a line break.
  const std::string why_utf8 = "Zeuge sagt: \u201eM\u00fcller\u201c & 50% \u2013 Akte 7\nzweite Zeile";
  auto utf8 = c.Get("/v1/persons", Scoped("ana", case_id, why_utf8));
  ASSERT_EQ(utf8->status, 200) << utf8->body;
  {
    auto recs = c.Get(("/v1/audit?action=persons_list&case=" + id).c_str(), Auth("aud"));
    EXPECT_EQ(Body(recs)["records"].back()["details"]["justification"], why_utf8);
  }
  for (const char* bad : {"&limit=0", "&limit=100000", "&limit=x", "&offset=-5", "&limit=1.5"})
    EXPECT_EQ(c.Get(("/v1/persons?" + std::string(bad + 1)).c_str(), in_case("ana"))->status, 400) << bad;
  auto list = c.Get("/v1/persons", in_case("ana"));
  ASSERT_EQ(list->status, 200) << list->body;
  json lj = Body(list);
  ASSERT_GE(lj["persons"].size(), 2u) << lj.dump();
  for (size_t i = 1; i < lj["persons"].size(); ++i)
    EXPECT_LE(lj["persons"][i - 1]["margin"].get<double>(), lj["persons"][i]["margin"].get<double>());
  int64_t a = 0, b = 0;
  for (const auto& p : lj["persons"]) {
    if (p["faces"].get<int64_t>() >= 2 && a == 0) a = p["id"];
    else if (b == 0) b = p["id"];
  }
  ASSERT_GT(a, 0) << "a person of two faces: " << lj.dump();
  ASSERT_GT(b, 0);
  const std::string pa = "/v1/persons/" + std::to_string(a);

  auto view = c.Get(pa.c_str(), in_case("ana"));
  ASSERT_EQ(view->status, 200) << view->body;
  json vj = Body(view);
  ASSERT_EQ(vj["face_list"].size(), vj["faces"].get<size_t>());
  const int64_t face = vj["face_list"][0]["face_id"];
  auto crop = c.Get(vj["face_list"][0]["thumbnail"].get<std::string>().c_str(), Auth("ana"));
  ASSERT_EQ(crop->status, 200) << crop->body;
  EXPECT_EQ(crop->get_header_value("Content-Type"), "image/jpeg");
  EXPECT_EQ(c.Get((pa + "/faces").c_str(), in_case("ana"))->status, 200);
  EXPECT_EQ(c.Get("/v1/persons/987654321", in_case("ana"))->status, 404);
  EXPECT_EQ(c.Get(("/v1/persons/1/faces/999999/thumbnail?case=" + std::to_string(case_id)).c_str(), Auth("ana"))->status,
            403)
      << "a face no view showed";
  auto add = c.Post(("/v1/cases/" + std::to_string(case_id) + "/members").c_str(), Auth("ana"),
                    json{{"user", "bob"}}.dump(), "application/json");
  ASSERT_EQ(add->status, 200) << add->body;
  EXPECT_EQ(c.Get(vj["face_list"][0]["thumbnail"].get<std::string>().c_str(), Auth("bob"))->status, 403)
      << "bob was not shown it";

  // Faces waiting for a person: a photo showing the same face twice is enrolled; one copy
  // at least cannot join the person the other joins (two faces of one photo are two
  // people) and waits, listed with its photo and a crop within the case.
  {
    cv::Mat one = cv::imread(w->data + "/test/obama1.jpg", cv::IMREAD_COLOR), twice;
    ASSERT_FALSE(one.empty());
    cv::hconcat(one, one, twice);
    std::vector<uchar> jpeg;
    ASSERT_TRUE(cv::imencode(".jpg", twice, jpeg));
    httplib::MultipartFormDataItems items = {{"source", "knn", "", ""},
                                             {"files", std::string(jpeg.begin(), jpeg.end()), "twice.jpg", "image/jpeg"}};
    const json st = EnrolAndWait(items);
    ASSERT_EQ(st["state"], "done") << st.dump();
  }
  EXPECT_EQ(c.Get("/v1/persons/pending", headers("", "why"))->status, 400) << "no case";
  EXPECT_EQ(c.Get("/v1/persons/pending", headers(id, ""))->status, 400) << "no justification";
  EXPECT_EQ(c.Get(("/v1/persons/pending?case=" + id + "&justification=x").c_str(), Auth("ana"))->status, 400);
  EXPECT_EQ(c.Get("/v1/persons/pending", in_case("zoe"))->status, 403) << "not a member";
  for (const char* bad : {"&limit=0", "&limit=2001", "&offset=-1", "&offset=x"})
    EXPECT_EQ(c.Get(("/v1/persons/pending?" + std::string(bad + 1)).c_str(), in_case("ana"))->status, 400) << bad;
  auto pending = c.Get("/v1/persons/pending", in_case("ana"));
  ASSERT_EQ(pending->status, 200) << pending->body;
  json pj = Body(pending);
  ASSERT_GE(pj["total"].get<int64_t>(), 1) << pj.dump();
  ASSERT_EQ(pj["faces"].size(), pj["total"].get<size_t>());
  EXPECT_FALSE(pj["notice"].get<std::string>().empty());
  EXPECT_GT(pj["audit_seq"].get<int64_t>(), 0);
  const json& waiting = pj["faces"][0];
  EXPECT_EQ(waiting["placed_by"], "pending");
  // Why it waits: its copy and the gallery's photos of him are its close neighbours, in
  // one person that already holds a face of this photo.
  EXPECT_EQ(waiting["vote"]["reason"], "same photo") << waiting.dump();
  EXPECT_GE(waiting["vote"]["close_neighbours"].get<int64_t>(), 2) << waiting.dump();
  EXPECT_GE(waiting["vote"]["leading_share"].get<double>(), 0.75) << waiting.dump();
  EXPECT_EQ(waiting["vote"]["share_needed"], 0.75);
  EXPECT_EQ(waiting["source"], "knn");
  EXPECT_EQ(waiting["image_sha256"].get<std::string>().size(), 64u);
  EXPECT_EQ(waiting["box"].size(), 4u);
  const std::string waiting_crop = waiting["thumbnail"];
  EXPECT_EQ(waiting_crop, "/v1/persons/pending/" + std::to_string(waiting["face_id"].get<int64_t>()) +
                              "/thumbnail?case=" + std::to_string(case_id));
  auto wcrop = c.Get(waiting_crop.c_str(), Auth("ana"));
  ASSERT_EQ(wcrop->status, 200) << wcrop->body;
  EXPECT_EQ(wcrop->get_header_value("Content-Type"), "image/jpeg");
  EXPECT_EQ(c.Get(waiting_crop.c_str(), Auth("bob"))->status, 403) << "bob was not shown it";
  EXPECT_EQ(c.Get(("/v1/persons/pending/987654/thumbnail?case=" + std::to_string(case_id)).c_str(), Auth("ana"))
                ->status,
            403)
      << "a face no view showed";
  EXPECT_EQ(Body(c.Get("/v1/persons", in_case("ana")))["pending"], pj["total"]);
  auto pend_rec = c.Get(("/v1/audit?action=persons_pending&case=" + std::to_string(case_id)).c_str(), Auth("aud"));
  ASSERT_EQ(pend_rec->status, 200);
  ASSERT_FALSE(Body(pend_rec)["records"].empty());
  EXPECT_EQ(Body(pend_rec)["records"].back()["details"]["faces"][0], waiting["face_id"]);

  // Changes: hostile bodies first.
  const json scope = {{"case_id", case_id}, {"justification", "statement S-2"}};
  auto with = [&](json extra) {
    json j = scope;
    for (auto& [k, v] : extra.items()) j[k] = v;
    return j;
  };
  EXPECT_EQ(post("ana", pa + "/name", {{"name", "Jane Roe"}})->status, 400) << "no case";
  EXPECT_EQ(post("ana", pa + "/name", {{"case_id", case_id}, {"name", "Jane Roe"}})->status, 400) << "no justification";
  EXPECT_EQ(post("ana", pa + "/name", with({{"case_id", "1"}, {"name", "X"}}))->status, 400);
  EXPECT_EQ(post("ana", pa + "/name", with({{"case_id", -4}, {"name", "X"}}))->status, 400);
  EXPECT_EQ(post("ana", pa + "/name", with({{"name", 7}}))->status, 400);
  EXPECT_EQ(post("ana", pa + "/name", with({{"name", std::string(5000, 'x')}}))->status, 400);
  EXPECT_EQ(post("ana", pa + "/name", with({{"name", "two\nlines"}}))->status, 400);
  EXPECT_EQ(post("ana", pa + "/merge", with({{"other", "x"}}))->status, 400);
  EXPECT_EQ(post("ana", pa + "/merge", with({{"other", 1.5}}))->status, 400);
  EXPECT_EQ(post("ana", pa + "/merge", with({{"other", a}}))->status, 400) << "with itself";
  EXPECT_EQ(post("ana", pa + "/merge", with({{"other", 987654321}}))->status, 404);
  EXPECT_EQ(post("ana", pa + "/split", with({{"faces", json::array()}}))->status, 400);
  EXPECT_EQ(post("ana", pa + "/split", with({{"faces", "1,2"}}))->status, 400);
  EXPECT_EQ(post("ana", pa + "/split", with({{"faces", {1, "two"}}}))->status, 400);
  EXPECT_EQ(post("ana", pa + "/split", with({{"faces", std::vector<int64_t>(200000, 1)}}))->status, 400) << "huge list";
  EXPECT_EQ(post("ana", pa + "/split", with({{"faces", {987654321}}}))->status, 400) << "not its face";
  EXPECT_EQ(post("ana", pa + "/mark", with({{"face", nullptr}}))->status, 400);
  EXPECT_EQ(c.Post((pa + "/name").c_str(), Auth("ana"), "[1,2]", "application/json")->status, 400);
  EXPECT_EQ(c.Post((pa + "/name").c_str(), Auth("ana"), "{not json", "application/json")->status, 400);
  EXPECT_EQ(post("aud", pa + "/name", with({{"name", "X"}}))->status, 403);
  EXPECT_EQ(post("zoe", pa + "/name", with({{"name", "X"}}))->status, 403) << "not a member";

  auto named = post("ana", pa + "/name", with({{"name", "Jane Roe"}}));
  ASSERT_EQ(named->status, 200) << named->body;
  EXPECT_EQ(Body(named)["event"]["action"], "name");
  auto split = post("bob", pa + "/split", with({{"faces", {face}}}));
  ASSERT_EQ(split->status, 200) << split->body;
  const int64_t split_event = Body(split)["event"]["id"];
  auto undo = post("ana", "/v1/persons/history/" + std::to_string(split_event) + "/undo", scope);
  ASSERT_EQ(undo->status, 200) << undo->body;
  EXPECT_EQ(post("ana", "/v1/persons/history/" + std::to_string(split_event) + "/undo", scope)->status, 409);
  EXPECT_EQ(post("ana", "/v1/persons/history/987654/undo", scope)->status, 404);
  auto hist = c.Get("/v1/persons/history", in_case("ana"));
  ASSERT_EQ(hist->status, 200) << hist->body;
  EXPECT_GE(Body(hist)["changes"].size(), 3u);

  // Every act is in the audit log, in the case, with its justification.
  for (const char* action : {"persons_list", "persons_show", "persons_history", "person_name", "person_split",
                             "person_undo"}) {
    auto recs = c.Get((std::string("/v1/audit?action=") + action + "&case=" + std::to_string(case_id)).c_str(),
                      Auth("aud"));
    ASSERT_EQ(recs->status, 200);
    EXPECT_FALSE(Body(recs)["records"].empty()) << action;
  }
  auto rn = c.Get("/v1/audit?action=person_name", Auth("aud"));
  json rec = Body(rn)["records"].back();
  EXPECT_EQ(rec["actor"], "ana");
  EXPECT_EQ(rec["details"]["justification"], "statement S-2");
  EXPECT_EQ(rec["details"]["change"]["name"], "Jane Roe");
  auto rr = c.Get("/v1/audit?action=persons_recluster", Auth("aud"));
  EXPECT_EQ(Body(rr)["records"].back()["actor"], "admin");
  // What a view showed is the catalog's record: after a restart the crop is still served,
  // to ana only, in this case only.
  RestartServer();
  {
    auto c2 = Client();
    auto again = c2.Get(vj["face_list"][0]["thumbnail"].get<std::string>().c_str(), Auth("ana"));
    ASSERT_EQ(again->status, 200) << again->body;
    EXPECT_EQ(again->body, crop->body);
    EXPECT_EQ(c2.Get(vj["face_list"][0]["thumbnail"].get<std::string>().c_str(), Auth("bob"))->status, 403);
    const int64_t other_case = NewCase("ana", "Another case");
    EXPECT_EQ(c2.Get(("/v1/persons/" + std::to_string(a) + "/faces/" + std::to_string(face) +
                      "/thumbnail?case=" + std::to_string(other_case))
                         .c_str(),
                     Auth("ana"))
                  ->status,
              403)
        << "shown in another case";
  }
}

// Rebuilding persons is a job: the POST answers 202 at once with the job queued, GET
// follows it (state, stage, counts, seconds) to its result, a second rebuild while one is
// unfinished is refused (409) naming it, and the audit log keeps who, the case, the
// justification and the counts. An enrolment holds the gallery meanwhile, so the job
// really waits for it (queued) instead of failing as a request would.
TEST_F(ServerTest, RebuildIsAJobOneAtATimeFollowedToItsResult) {
  auto c = Client();
  ASSERT_EQ(c.Post("/v1/sources", Auth("admin"), json{{"name", "hold"}, {"legal_basis", "test: held gallery"}}.dump(),
                   "application/json")
                ->status,
            201);
  // Twelve different photos (one chunk): their analysis holds the gallery for seconds.
  httplib::MultipartFormDataItems items = {{"source", "hold", "", ""}};
  cv::Mat one = cv::imread(w->data + "/test/obama1.jpg", cv::IMREAD_COLOR);
  ASSERT_FALSE(one.empty());
  for (int i = 0; i < 12; ++i) {
    std::vector<uchar> jpeg;
    ASSERT_TRUE(cv::imencode(".jpg", one + cv::Scalar(i, i, i), jpeg, {cv::IMWRITE_JPEG_QUALITY, 70}));
    items.push_back({"files", std::string(jpeg.begin(), jpeg.end()), "v" + std::to_string(i) + ".jpg", "image/jpeg"});
  }
  auto enrol = c.Post("/v1/enrollments", Auth("admin"), items);
  ASSERT_EQ(enrol->status, 202) << enrol->body;
  const std::string enrol_path = "/v1/enrollments/" + std::to_string(Body(enrol)["job"].get<int>());
  for (int i = 0; i < 200 && Body(c.Get(enrol_path.c_str(), Auth("admin")))["state"] == "queued"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // inside the chunk now

  const int64_t case_id = NewCase("ana", "Rebuild as a job");
  const std::string why = "place the faces waiting after the seizure";
  auto started = c.Post("/v1/persons/recluster", Auth("ana"), json{{"case_id", case_id}, {"justification", why}}.dump(),
                        "application/json");
  ASSERT_EQ(started->status, 202) << started->body;
  json st = Body(started);
  EXPECT_EQ(st["state"], "queued");
  EXPECT_EQ(st["stage"], "");
  EXPECT_TRUE(st["result"].is_null());
  const int64_t job = st["job"];
  EXPECT_EQ(st["status"], "/v1/persons/recluster/" + std::to_string(job));
  EXPECT_FALSE(st.contains("justification") || st.contains("case_id")) << "the audit log keeps those";

  // One at a time: refused while it is unfinished, naming it; nothing else recorded.
  auto second = c.Post("/v1/persons/recluster", Auth("admin"), json{{"justification", "again"}}.dump(),
                       "application/json");
  ASSERT_EQ(second->status, 409) << second->body;
  const std::string msg = Body(second)["error"]["message"];
  EXPECT_NE(msg.find("job " + std::to_string(job)), std::string::npos) << msg;
  EXPECT_NE(msg.find("/v1/persons/recluster/" + std::to_string(job)), std::string::npos) << msg;
  auto following = c.Get(st["status"].get<std::string>().c_str(), Auth("bob"));
  ASSERT_EQ(following->status, 200) << "any analyst may follow a rebuild";
  EXPECT_NE(Body(following)["state"], "done") << "the enrolment holds the gallery: " << following->body;
  EXPECT_EQ(c.Get("/v1/persons/recluster/987654", Auth("ana"))->status, 404);
  EXPECT_EQ(c.Get("/v1/persons/recluster/x", Auth("ana"))->status, 404);
  EXPECT_EQ(c.Get(st["status"].get<std::string>().c_str(), Auth("eve"))->status, 403);

  // Followed to its end: the last stage complete, the time, the counts.
  std::set<std::string> states = {"queued"};
  for (int i = 0; i < 2400 && (st["state"] == "queued" || st["state"] == "running"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    st = Body(c.Get(st["status"].get<std::string>().c_str(), Auth("ana")));
    states.insert(st["state"].get<std::string>());
    if (st["state"] == "running") {
      EXPECT_LE(st["done"].get<int64_t>(), st["total"].get<int64_t>()) << st.dump();
    }
  }
  ASSERT_EQ(st["state"], "done") << st.dump();
  EXPECT_EQ(st["stage"], "storing");
  EXPECT_EQ(st["done"], st["total"]);
  EXPECT_GT(st["total"].get<int64_t>(), 0);
  EXPECT_GT(st["elapsed_seconds"].get<double>(), 0.2) << "it waited for the enrolment's chunk";
  EXPECT_EQ(st["error"], "");
  const json result = st["result"];
  EXPECT_GE(result["faces"].get<int64_t>(), w->faces);
  EXPECT_GE(result["persons"].get<int64_t>(), 1);
  // It stays: polling again gives the same.
  EXPECT_EQ(Body(c.Get(st["status"].get<std::string>().c_str(), Auth("admin")))["result"], result);

  auto start_rec = c.Get(("/v1/audit?action=persons_recluster&case=" + std::to_string(case_id)).c_str(), Auth("aud"));
  ASSERT_EQ(Body(start_rec)["records"].size(), 1u) << start_rec->body;
  const json rec = Body(start_rec)["records"][0];
  EXPECT_EQ(rec["actor"], "ana");
  EXPECT_EQ(rec["details"]["justification"], why);
  auto done_rec = c.Get(("/v1/audit?action=persons_recluster_done&case=" + std::to_string(case_id)).c_str(),
                        Auth("aud"));
  ASSERT_EQ(Body(done_rec)["records"].size(), 1u) << done_rec->body;
  for (const char* count : {"faces", "persons", "pending", "singletons", "links", "kept_apart"})
    EXPECT_EQ(Body(done_rec)["records"][0]["details"][count], result[count]) << count;

  // Once it is done, another may start.
  for (int i = 0; i < 600 && Body(c.Get(enrol_path.c_str(), Auth("admin")))["state"] == "running"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_EQ(c.Post("/v1/erasures", Auth("admin"),
                   json{{"kind", "source"}, {"key", "hold"}, {"reason", "end of the rebuild test"}}.dump(),
                   "application/json")
                ->status,
            200);
  const json again = RebuildAndWait("admin", {{"justification", "after the test source was erased"}});
  ASSERT_EQ(again["state"], "done") << again.dump();
  EXPECT_GT(again["job"].get<int64_t>(), job);
  EXPECT_LT(again["result"]["faces"].get<int64_t>(), result["faces"].get<int64_t>())
      << "the held photos' faces are gone";
}

// The network over the API: every query within a member's open case with a
// justification, audited; hostile ids, limits and algorithms get 400s (or 404 for a
// person that is not there), never 500s. The fixture's source allows search only, so the
// network is empty and says so: every face left out by purpose.
TEST_F(ServerTest, NetworkQueriesWithinACaseAllAuditedAndHostileInputRefused) {
  auto c = Client();
  const int64_t case_id = NewCase("ana", "Network 8");
  auto in_case = [&](const std::string& user) { return Scoped(user, case_id, "mapping network 8"); };
  ASSERT_EQ(RebuildAndWait("admin", {{"justification", "group"}})["state"], "done");
  auto list = c.Get("/v1/persons", in_case("ana"));
  ASSERT_EQ(list->status, 200);
  const int64_t person = Body(list)["persons"][0]["id"];
  const std::string pp = "/v1/network/persons/" + std::to_string(person);

  auto a = c.Get((pp + "/associates").c_str(), in_case("ana"));
  ASSERT_EQ(a->status, 200) << a->body;
  json aj = Body(a);
  EXPECT_EQ(aj["in_network"], false);
  EXPECT_GE(aj["report"]["faces_left_out_purpose"].get<int64_t>(), w->faces);
  EXPECT_FALSE(aj["notice"].get<std::string>().empty());
  EXPECT_GT(aj["audit_seq"].get<int64_t>(), 0);
  EXPECT_EQ(c.Get((pp + "/neighbourhood").c_str(), in_case("ana"))->status, 200);
  auto cm = c.Get("/v1/network/communities", in_case("ana"));
  ASSERT_EQ(cm->status, 200) << cm->body;
  EXPECT_TRUE(Body(cm)["communities"].empty());
  EXPECT_EQ(c.Get("/v1/network/brokers?top=5&algorithm=louvain", in_case("ana"))->status, 200);
  auto ex = c.Get("/v1/network/export", in_case("ana"));
  ASSERT_EQ(ex->status, 200) << ex->body;
  EXPECT_EQ(ex->get_header_value("Content-Type"), "application/graphml+xml");
  EXPECT_NE(ex->body.find("<graphml"), std::string::npos);
  auto exj = c.Get("/v1/network/export?format=json", in_case("ana"));
  ASSERT_EQ(exj->status, 200);
  EXPECT_TRUE(json::parse(exj->body).contains("ties"));

  // Who and why.
  httplib::Headers no_case = Auth("ana"), no_why = Auth("ana");
  no_case.emplace("X-Lineup-Justification", "why");
  no_why.emplace("X-Lineup-Case", std::to_string(case_id));
  EXPECT_EQ(c.Get((pp + "/associates").c_str(), no_case)->status, 400) << "no case";
  EXPECT_EQ(c.Get((pp + "/associates").c_str(), no_why)->status, 400) << "no justification";
  for (const std::string& url :
       std::vector<std::string>{pp + "/associates?case=" + std::to_string(case_id) + "&justification=why",
                                "/v1/network/export?justification=why", "/v1/network/communities?case=1"})
    EXPECT_EQ(c.Get(url.c_str(), in_case("ana"))->status, 400) << url << ": never in the URL";
  EXPECT_EQ(c.Get((pp + "/associates").c_str(), in_case("bob"))->status, 403) << "not a member";
  EXPECT_EQ(c.Get("/v1/network/communities", in_case("admin"))->status, 403);
  EXPECT_EQ(c.Get("/v1/network/export", in_case("aud"))->status, 403);
  // Hostile input.
  for (const char* bad : {"&top=0", "&top=1001", "&top=99999999999999999999", "&top=-1", "&top=1.5", "&top=x"})
    EXPECT_EQ(c.Get((pp + "/associates?" + std::string(bad + 1)).c_str(), in_case("ana"))->status, 400) << bad;
  for (const char* bad : {"&depth=0", "&depth=4", "&max_nodes=0", "&max_nodes=201", "&max_nodes=abc"})
    EXPECT_EQ(c.Get((pp + "/neighbourhood?" + std::string(bad + 1)).c_str(), in_case("ana"))->status, 400) << bad;
  for (const char* bad : {"&algorithm=components", "&algorithm=leiden", "&algorithm=%27%3B%20DROP%20TABLE",
                          "&algorithm=%00", "&top=100000"})
    EXPECT_EQ(c.Get(("/v1/network/brokers?" + std::string(bad + 1)).c_str(), in_case("ana"))->status, 400) << bad;
  EXPECT_EQ(c.Get("/v1/network/communities?algorithm=infomap%3Atrials%3D1000000", in_case("ana"))->status, 400);
  for (const char* bad : {"&format=xml", "&format=", "&format=..%2F..%2Fetc%2Fpasswd"})
    EXPECT_EQ(c.Get(("/v1/network/export?" + std::string(bad + 1)).c_str(), in_case("ana"))->status, 400) << bad;
  EXPECT_EQ(c.Get("/v1/network/persons/987654321/associates", in_case("ana"))->status, 404);
  EXPECT_EQ(c.Get("/v1/network/persons/0/associates", in_case("ana"))->status, 400);
  EXPECT_EQ(c.Get("/v1/network/persons/999999999999999999/neighbourhood", in_case("ana"))->status, 404);
  EXPECT_EQ(c.Get("/v1/network/persons/abc/associates", in_case("ana"))->status, 404) << "no such route";
  EXPECT_EQ(c.Get((pp + "/path/987654321").c_str(), in_case("ana"))->status, 404);
  EXPECT_EQ(c.Get((pp + "/path/" + std::to_string(person)).c_str(), in_case("ana"))->status, 404)
      << "not in the network";
  EXPECT_EQ(c.Get(("/v1/network/faces/1/thumbnail?case=" + std::to_string(case_id)).c_str(), Auth("ana"))->status, 403)
      << "a face no answer showed";
  EXPECT_EQ(c.Get("/v1/network/faces/1/thumbnail?case=abc", Auth("ana"))->status, 400);

  for (const char* action : {"network_associates", "network_neighbourhood", "network_communities", "network_brokers",
                             "network_export"}) {
    auto recs = c.Get((std::string("/v1/audit?action=") + action + "&case=" + std::to_string(case_id)).c_str(),
                      Auth("aud"));
    ASSERT_EQ(recs->status, 200);
    ASSERT_FALSE(Body(recs)["records"].empty()) << action;
    EXPECT_EQ(Body(recs)["records"].back()["details"]["justification"], "mapping network 8") << action;
  }
}

TEST(SessionCookie, OnlyTheExactNameCounts) {
  using lineup::server::SessionIdFromCookie;
  EXPECT_EQ(SessionIdFromCookie("lineup_session=abc_-1"), "abc_-1");
  EXPECT_EQ(SessionIdFromCookie("a=1; lineup_session=xyz; b=2"), "xyz");
  EXPECT_EQ(SessionIdFromCookie("xlineup_session=junk; lineup_session=real"), "real");
  EXPECT_EQ(SessionIdFromCookie("xlineup_session=junk"), "");
  EXPECT_EQ(SessionIdFromCookie("lineup_session=bad;id"), "bad");
  EXPECT_EQ(SessionIdFromCookie("lineup_session=b@d"), "");
  EXPECT_EQ(SessionIdFromCookie(std::string(10000, ';')), "");
}

TEST(AnalyzerPool, RefusesInsteadOfQueueingWithoutBound) {
  lineup::server::AnalyzerPool pool({}, 1);
  auto first = pool.Acquire(1000);
  if (!first.ok()) GTEST_SKIP() << first.status().ToString();  // no models
  auto second = pool.Acquire(50);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), lineup::Status::Code::kUnavailable);
}

}  // namespace

namespace {

// HTTPS with a self-signed certificate, the Secure cookie flag, and Stop() while a
// request is running: the request still gets its answer.
TEST(ServerStandalone, TlsSecureCookieAndStopLetsRunningRequestsFinish) {
  std::string why;
  const std::string data = lineup_test::DataDir("face_recognition/examples/knn_examples", &why);
  if (data.empty()) {
    if (lineup_test::InCi()) FAIL() << why;
    GTEST_SKIP() << why;
  }
  TempDir t;
  const std::string cert = t.File("cert.pem"), key = t.File("key.pem");
  auto gen = lineup_test::Run({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                               "-out", cert, "-days", "1", "-subj", "/CN=localhost"});
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  const std::string g = t.File("g");
  ASSERT_TRUE(lineup::Gallery::Init(g).ok());
  int64_t case_id = 0;
  std::string token;
  {
    auto acc = lineup::Accounts::Open(g + "/catalog.sqlite");
    ASSERT_TRUE(acc.ok());
    ASSERT_TRUE((*acc)->AddUser("ana", Role::kAnalyst, kPassword).ok());
    auto tok = (*acc)->CreateToken("ana", "t", 1);
    ASSERT_TRUE(tok.ok());
    token = tok->secret;
    auto cases = lineup::Cases::Open(g + "/catalog.sqlite");
    ASSERT_TRUE(cases.ok());
    auto c = (*cases)->Create("tls case", "ref", "ana");
    ASSERT_TRUE(c.ok());
    case_id = c->id;
  }
  lineup::server::ServerOptions o;
  o.gallery_dir = g;
  o.port = 0;
  o.tls_cert = cert;
  o.tls_key = t.File("missing.pem");
  EXPECT_FALSE(lineup::server::Server::Create(o).ok()) << "a missing key is refused";
  o.tls_key = key;
  auto srv = lineup::server::Server::Create(o);
  ASSERT_TRUE(srv.ok()) << srv.status().ToString();
  ASSERT_TRUE((*srv)->Start().ok());
  httplib::SSLClient c("127.0.0.1", (*srv)->port());
  c.enable_server_certificate_verification(false);
  c.set_read_timeout(60, 0);
  auto login = c.Post("/v1/session", json{{"name", "ana"}, {"password", kPassword}}.dump(), "application/json");
  ASSERT_TRUE(login);
  ASSERT_EQ(login->status, 200);
  EXPECT_NE(login->get_header_value("Set-Cookie").find("; Secure"), std::string::npos);
  httplib::Client plain("127.0.0.1", (*srv)->port());
  auto p = plain.Get("/healthz");
  EXPECT_TRUE(!p || p->status != 200) << "no plain HTTP on a TLS port";

  // A photo search is running when Stop() is called: it is answered, then the server ends.
  auto bytes = lineup_test::ReadBytes(data + "/test/obama1.jpg");
  httplib::Result answer{nullptr, httplib::Error::Unknown};
  std::thread client([&] {
    httplib::SSLClient c2("127.0.0.1", (*srv)->port());
    c2.enable_server_certificate_verification(false);
    c2.set_read_timeout(60, 0);
    httplib::MultipartFormDataItems items = {{"image", std::string(bytes.begin(), bytes.end()), "p.jpg", "image/jpeg"},
                                             {"justification", "stop test", "", ""}};
    answer = c2.Post(("/v1/cases/" + std::to_string(case_id) + "/searches").c_str(),
                     {{"Authorization", "Bearer " + token}}, items);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  (*srv)->Stop();
  client.join();
  ASSERT_TRUE(answer) << "the running request was answered";
  EXPECT_EQ(answer->status, 200) << answer->body;
  auto after = c.Get("/healthz");
  EXPECT_FALSE(after) << "stopped";
}

// The console asks "am I signed in?" on every page load: an answer, never a 401. Analysts
// are offered by name when a case gets a member.
TEST_F(ServerTest, SessionQuestionAndAnalystList) {
  auto c = Client();
  auto anon = c.Get("/v1/session");
  ASSERT_EQ(anon->status, 200) << anon->body;
  EXPECT_EQ(Body(anon)["signed_in"], false);
  auto known = c.Get("/v1/session", Auth("ana"));
  ASSERT_EQ(known->status, 200);
  EXPECT_EQ(Body(known)["signed_in"], true);
  EXPECT_EQ(Body(known)["user"], "ana");
  auto list = c.Get("/v1/analysts", Auth("ana"));
  ASSERT_EQ(list->status, 200) << list->body;
  std::set<std::string> names;
  const json analysts = Body(list)["analysts"];
  for (const auto& n : analysts) names.insert(n.get<std::string>());
  // The fixture's analysts (other tests may add more); never an enroller, auditor or admin.
  for (const char* a : {"ana", "bob", "zoe"}) EXPECT_EQ(names.count(a), 1u) << list->body;
  for (const char* other : {"eve", "aud", "admin"}) EXPECT_EQ(names.count(other), 0u) << list->body;
  EXPECT_EQ(c.Get("/v1/analysts", Auth("eve"))->status, 403);
  EXPECT_EQ(c.Get("/v1/openapi.json")->status, 200) << "readable before signing in";
}

// --min-face reaches the server: no face shorter is found in an upload.
TEST(ServerMinFace, UploadsHonourTheFloor) {
  std::string why;
  const std::string data = lineup_test::DataDir("groups", &why);
  if (data.empty()) GTEST_SKIP() << why;
  TempDir t;
  const std::string g = t.File("g");
  ASSERT_TRUE(lineup::Gallery::Init(g).ok());
  auto acc = lineup::Accounts::Open(g + "/catalog.sqlite");
  ASSERT_TRUE(acc.ok());
  ASSERT_TRUE((*acc)->AddUser("ana", Role::kAnalyst, kPassword).ok());
  auto tok = (*acc)->CreateToken("ana", "t", 1);
  ASSERT_TRUE(tok.ok());
  lineup::server::ServerOptions o;
  o.gallery_dir = g;
  o.port = 0;
  o.analyzer.detector_options.min_face = 60;
  auto srv = lineup::server::Server::Create(o);
  ASSERT_TRUE(srv.ok()) << srv.status().ToString();
  ASSERT_TRUE((*srv)->Start().ok());
  httplib::Client c("127.0.0.1", (*srv)->port());
  c.set_read_timeout(60, 0);
  auto bytes = lineup_test::ReadBytes(data + "/retinaface_img3.jpg");
  httplib::MultipartFormDataItems items = {{"image", std::string(bytes.begin(), bytes.end()), "crowd.jpg", "image/jpeg"}};
  auto r = c.Post("/v1/detect", {{"Authorization", "Bearer " + tok->secret}}, items);
  ASSERT_EQ(r->status, 200) << r->body;
  json j = json::parse(r->body);
  for (const auto& f : j["faces"]) EXPECT_GE(f["box"][3].get<double>(), 59.5) << f.dump();
  (*srv)->Stop();
}

}  // namespace

namespace {
TEST_F(ServerTest, EvidenceExportAsZipForMembersAndAuditorsOnly) {
  auto c = Client();
  const int64_t case_id = NewCase("ana", "Evidence export");
  auto s = SearchPhoto("ana", case_id, "test/obama1.jpg");
  ASSERT_EQ(s->status, 200) << s->body;
  const std::string path = "/v1/cases/" + std::to_string(case_id) + "/export";
  const std::string body = json{{"justification", "disclosure to the defence"}}.dump();
  // A member gets the ZIP: the bundle's files under case-N-evidence/, the manifest's
  // SHA-256 in a header and in the export's audit record.
  auto zip = c.Post(path.c_str(), Auth("ana"), body, "application/json");
  ASSERT_EQ(zip->status, 200) << zip->body;
  EXPECT_EQ(zip->get_header_value("Content-Type"), "application/zip");
  EXPECT_EQ(zip->body.substr(0, 2), "PK");
  const std::string top = "case-" + std::to_string(case_id) + "-evidence/";
  for (const char* f : {"manifest.json", "manifest.sig", "case.json", "report.pdf", "report.html", "audit/chain.tsv"})
    EXPECT_NE(zip->body.find(top + f), std::string::npos) << f;
  const std::string sha = zip->get_header_value("X-Lineup-Manifest-SHA256");
  EXPECT_EQ(sha.size(), 64u);
  auto key = Body(c.Get("/v1/signing-key", Auth("aud")));
  EXPECT_EQ(key["fingerprint"], zip->get_header_value("X-Lineup-Key-Fingerprint"));
  EXPECT_EQ(key["public_key"].get<std::string>().size(), 44u);
  // The temporary bundle is gone from the gallery's directory.
  EXPECT_TRUE(std::filesystem::is_empty(w->gallery + "/exports"));
  // An auditor may; an analyst outside the case, an admin and an enroller may not, and
  // their refusals are recorded. A member must say why.
  EXPECT_EQ(c.Post(path.c_str(), Auth("aud"), body, "application/json")->status, 200);
  for (const char* who : {"zoe", "admin", "eve"})
    EXPECT_EQ(c.Post(path.c_str(), Auth(who), body, "application/json")->status, 403) << who;
  EXPECT_EQ(c.Post(path.c_str(), Auth("ana"), "{}", "application/json")->status, 400);
  EXPECT_EQ(c.Post("/v1/cases/999999/export", Auth("ana"), body, "application/json")->status, 404);
  auto recs = Body(c.Get(("/v1/audit?case=" + std::to_string(case_id)).c_str(), Auth("aud")));
  int exports = 0, refused = 0;
  bool named = false;
  for (const auto& r : recs["records"]) {
    exports += r["action"] == "case_export";
    refused += r["action"] == "case_export_refused";
    named |= r["action"] == "case_export" && r["details"]["manifest_sha256"] == sha && r["actor"] == "ana";
  }
  EXPECT_EQ(exports, 2);
  EXPECT_EQ(refused, 3);
  EXPECT_TRUE(named);
}
}  // namespace
