// Server: Lineup's HTTP/1.1 JSON API (/v1) and web console over one gallery.
//
// Every route is declared once, in a table (Routes()) that says who may call it: the
// OpenAPI document, the authentication check and the tests are all made from that
// table, so a route cannot be added without a role. Only /healthz, signing in and the
// console's static files are public. Callers authenticate with a session cookie (the
// console; state-changing requests must echo the session's CSRF token) or an API
// token ("Authorization: Bearer lu_..."). Searches name an open case and a
// justification; every action is written to the audit log (audit_log.h).
//
// Heavy work (decoding and analysing photos, searching) runs on at most `analysis_slots`
// requests at once; a request that cannot get a slot within queue_wait_ms is answered
// 503 with Retry-After rather than queued without bound. Stop() lets running requests
// finish; the gallery stays consistent because every change to it is a transaction.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "lineup/accounts.h"
#include "lineup/analyzer.h"
#include "lineup/status.h"

namespace lineup::server {

struct ServerOptions {
  std::string gallery_dir;
  std::string host = "127.0.0.1";
  int port = 8080;                // 0: any free port (see Server::port())
  std::string tls_cert, tls_key;  // both set: HTTPS
  int64_t max_upload_bytes = 20 << 20;
  int64_t max_pixels = 100'000'000;  // per uploaded image, checked before decoding
  int request_timeout_s = 30;        // reading a request, writing a response
  int threads = 8;                   // connections served at once
  int analysis_slots = 0;            // concurrent photo analyses / searches; 0: one per core
  int queue_wait_ms = 2000;          // wait for a slot this long, then 503
  std::string web_root;              // the console's files; "" : <source tree>/web
  AnalyzerOptions analyzer;
  AccountsOptions accounts;
};

// One row of the route table.
struct RouteInfo {
  std::string method;       // GET, POST, DELETE
  std::string path;         // OpenAPI form: /v1/cases/{id}
  std::vector<Role> roles;  // who may call it; empty: public
  std::string summary;
};

class Server {
 public:
  // Opens the gallery (holding its lock while serving) and the oversight tables.
  static Result<std::unique_ptr<Server>> Create(const ServerOptions& options);
  ~Server();

  // Binds and serves until Stop(); InvalidArgument/IOError if it cannot bind.
  Status Run();
  // Binds (port 0 picks one), then serves on a background thread; returns once listening.
  Status Start();
  void Stop();
  int port() const;
  const std::vector<RouteInfo>& Routes() const;
  // The OpenAPI 3 document (as served at /v1/openapi.json).
  std::string OpenApiJson() const;

 private:
  struct Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace lineup::server
