// The server's machinery: route table, authentication, errors, metrics, lifecycle.
// The endpoints themselves are in handlers.cc.
#include <openssl/evp.h>

#include <cstdio>
#include <deque>
#include <ctime>
#include <filesystem>
#include <regex>
#include <sstream>

#include "server_internal.h"

namespace lineup::server {

const std::vector<double> kLatencyBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

// ---------------------------------------------------------------- helpers

int HttpStatusFor(const Status& s) {
  switch (s.code()) {
    case Status::Code::kOk:
      return 200;
    case Status::Code::kInvalidArgument:
      return 400;
    case Status::Code::kNotFound:
      return 404;
    case Status::Code::kNoFace:
      return 422;
    case Status::Code::kUnauthenticated:
      return 401;
    case Status::Code::kPermissionDenied:
      return 403;
    case Status::Code::kFailedPrecondition:
      return 409;
    case Status::Code::kUnavailable:
      return 503;
    case Status::Code::kCorrupt:
    case Status::Code::kIOError:
    case Status::Code::kInternal:
      return 500;
  }
  return 500;
}

static const char* ErrorSlug(int http) {
  switch (http) {
    case 400:
      return "bad_request";
    case 401:
      return "unauthenticated";
    case 403:
      return "forbidden";
    case 404:
      return "not_found";
    case 405:
      return "method_not_allowed";
    case 408:
      return "request_timeout";
    case 409:
      return "conflict";
    case 413:
      return "payload_too_large";
    case 415:
      return "unsupported_media_type";
    case 422:
      return "no_face";
    case 429:
      return "too_many_requests";
    case 503:
      return "unavailable";
    default:
      return http >= 500 ? "internal" : "error";
  }
}

void SendJson(httplib::Response& res, int code, const json& body) {
  res.status = code;
  // Text from clients may not be valid UTF-8: replaced, never a throw.
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void SendError(httplib::Response& res, const Status& s) {
  const int code = HttpStatusFor(s);
  if (s.code() == Status::Code::kUnavailable) res.set_header("Retry-After", "2");
  // Internal details stay in the server's log, not in the answer.
  const bool hide = code >= 500 && code != 503;
  const std::string msg = hide ? "internal error; see the server log" : s.message();
  if (hide) std::fprintf(stderr, "lineup serve: %s\n", s.ToString().c_str());
  SendJson(res, code, {{"error", {{"code", ErrorSlug(code)}, {"message", msg}}}});
}

// ---------------------------------------------------------------- analysers

AnalyzerLease::~AnalyzerLease() {
  if (pool_ && a_) pool_->Return(std::move(a_));
}

Result<AnalyzerLease> AnalyzerPool::Acquire(int wait_ms) {
  auto undo = [this] {
    std::lock_guard<std::mutex> g(mu_);
    --made_;
    --busy_;
    cv_.notify_one();
  };
  std::unique_lock<std::mutex> lock(mu_);
  if (!cv_.wait_for(lock, std::chrono::milliseconds(wait_ms), [&] { return !idle_.empty() || made_ < slots_; }))
    return Status::Unavailable("the server is busy analysing other photos; try again shortly");
  ++busy_;
  if (!idle_.empty()) {
    auto a = std::move(idle_.back());
    idle_.pop_back();
    return AnalyzerLease(this, std::move(a));
  }
  ++made_;
  lock.unlock();
  Result<std::unique_ptr<FaceAnalyzer>> a = Status::Internal("unset");
  try {
    a = FaceAnalyzer::Create(options_);
  } catch (const std::exception& e) {
    a = Status::Internal(std::string("making an analyser: ") + e.what());
  }
  if (!a.ok()) {
    undo();
    return a.status();
  }
  return AnalyzerLease(this, std::move(*a));
}

void AnalyzerPool::Return(std::unique_ptr<FaceAnalyzer> a) {
  std::lock_guard<std::mutex> g(mu_);
  idle_.push_back(std::move(a));
  --busy_;
  cv_.notify_one();
}

// ---------------------------------------------------------------- connections

// httplib's own pool queues accepted connections without bound. This one holds at most
// `max_queued`; past that the accepting thread waits, so further clients wait in the
// kernel's listen backlog instead of in our memory.
class BoundedThreadPool : public httplib::TaskQueue {
 public:
  BoundedThreadPool(size_t threads, size_t max_queued) : max_queued_(max_queued) {
    for (size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { Work(); });
  }
  ~BoundedThreadPool() override { shutdown(); }

  void enqueue(std::function<void()> fn) override {
    std::unique_lock<std::mutex> lock(mu_);
    room_.wait(lock, [this] { return queue_.size() < max_queued_ || stopping_; });
    // Even while stopping the job runs: it owns (and closes) the connection's socket.
    queue_.push_back(std::move(fn));
    work_.notify_one();
  }

  void shutdown() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_ && workers_.empty()) return;
      stopping_ = true;
    }
    work_.notify_all();
    room_.notify_all();
    for (std::thread& t : workers_)
      if (t.joinable()) t.join();
    workers_.clear();
  }

 private:
  void Work() {
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock<std::mutex> lock(mu_);
        work_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, and nothing left
        fn = std::move(queue_.front());
        queue_.pop_front();
        room_.notify_one();
      }
      fn();
    }
  }

  const size_t max_queued_;
  std::mutex mu_;
  std::condition_variable work_, room_;
  std::deque<std::function<void()>> queue_;
  std::vector<std::thread> workers_;
  bool stopping_ = false;
};

// ---------------------------------------------------------------- routes

// "/v1/cases/{id}" -> "/v1/cases/(\d+)"
static std::string PathRegex(const std::string& path) {
  static const std::regex param(R"(\{([a-z_]+)\})");
  std::string out;
  auto begin = std::sregex_iterator(path.begin(), path.end(), param);
  size_t at = 0;
  for (auto it = begin; it != std::sregex_iterator(); ++it) {
    out += path.substr(at, it->position() - at);
    const std::string name = (*it)[1];
    if (name == "id" || name == "face" || name == "other")
      out += R"((\d{1,18}))";
    else if (name == "name")
      out += R"(([A-Za-z0-9._@-]{1,64}))";
    else
      out += R"(([A-Za-z0-9_-]{1,64}\.(?:js|css|svg|png|ico)))";  // {file}: console assets
    at = it->position() + it->length();
  }
  return out + path.substr(at);
}

void Server::Impl::Register(const std::string& method, const std::string& path, std::vector<Role> roles,
                            const std::string& summary, Handler handler) {
  RouteInfo info{method, path, std::move(roles), summary};
  route_infos.push_back(info);
  routes.push_back({std::move(info), std::move(handler)});
}

Result<Principal> Server::Impl::Authenticate(const httplib::Request& req) {
  const std::string auth = req.get_header_value("Authorization");
  if (auth.rfind("Bearer ", 0) == 0) return accounts->AuthenticateToken(auth.substr(7));
  if (!auth.empty()) return Status::Unauthenticated("use \"Authorization: Bearer <token>\"");
  const std::string cookies = req.get_header_value("Cookie");
  const std::string id = SessionIdFromCookie(cookies);
  if (!id.empty()) return accounts->AuthenticateSession(id);
  return Status::Unauthenticated("sign in (POST /v1/session) or send an API token");
}

std::string SessionIdFromCookie(const std::string& header) {
  // "a=1; lineup_session=ID; b=2": split at ';', trim, match the name exactly.
  size_t at = 0;
  while (at <= header.size()) {
    size_t end = header.find(';', at);
    if (end == std::string::npos) end = header.size();
    size_t b = at;
    while (b < end && (header[b] == ' ' || header[b] == '\t')) ++b;
    const std::string item = header.substr(b, end - b);
    static const std::string kName = "lineup_session=";
    if (item.compare(0, kName.size(), kName) == 0) {
      std::string id = item.substr(kName.size());
      while (!id.empty() && (id.back() == ' ' || id.back() == '\t')) id.pop_back();
      const bool ok = !id.empty() && id.size() <= 100 && std::all_of(id.begin(), id.end(), [](char ch) {
        return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-';
      });
      return ok ? id : "";
    }
    at = end + 1;
  }
  return "";
}

namespace {
thread_local bool t_gallery_held = false;
}  // namespace

GalleryHeldByThisThread::GalleryHeldByThisThread() { t_gallery_held = true; }
GalleryHeldByThisThread::~GalleryHeldByThisThread() { t_gallery_held = false; }
bool GalleryHeldByThisThread::Now() { return t_gallery_held; }

std::unique_lock<std::timed_mutex> Server::Impl::LockGallery() {
  std::unique_lock<std::timed_mutex> g(gallery_mu, std::defer_lock);
  if (!g.try_lock_for(std::chrono::milliseconds(options.queue_wait_ms))) ++rejected_busy;
  return g;
}

Status Server::Impl::Busy() {
  return Status::Unavailable("the gallery is busy (enrolment, erasure or other searches); try again shortly");
}

bool Server::Impl::ClientMayTryLogin(const std::string& client) {
  constexpr size_t kLoginFailuresPerClient = 30;
  constexpr int64_t kLoginWindowSeconds = 600;
  const int64_t now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
  std::lock_guard<std::mutex> g(login_mu);
  auto it = login_failures.find(client);
  if (it == login_failures.end()) return true;
  auto& v = it->second;
  v.erase(std::remove_if(v.begin(), v.end(), [&](int64_t t) { return t < now - kLoginWindowSeconds; }), v.end());
  if (v.empty()) {
    login_failures.erase(it);
    return true;
  }
  return v.size() < kLoginFailuresPerClient;
}

void Server::Impl::NoteFailedLogin(const std::string& client) {
  const int64_t now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
  std::lock_guard<std::mutex> g(login_mu);
  if (login_failures.size() > 100000) login_failures.clear();  // bounded: a flood resets rather than grows
  auto& v = login_failures[client];
  v.push_back(now);
  if (v.size() > 64) v.erase(v.begin());
}

Status Server::Impl::Audit(const Principal& who, const std::string& action, int64_t case_id, const json& details) {
  Result<AuditRecord> r = audit->Append(who.name.empty() ? "anonymous" : who.name, action, case_id,
                                        details.dump(-1, ' ', false, json::error_handler_t::replace));
  if (r.ok()) return Status::OK();
  std::fprintf(stderr, "lineup serve: audit append failed: %s\n", r.status().ToString().c_str());
  return Status::Unavailable("the audit log cannot be written just now (" + r.status().message() +
                             "); a search or comparison is withheld, a change is made but unconfirmed");
}

void Server::Impl::Install() {
  // The routes that take a body, for requests that httplib refuses before routing (below).
  auto bodyless = std::make_shared<std::vector<std::tuple<std::string, std::regex, httplib::Server::Handler>>>();
  for (const Route& route : routes) {
    const std::string key = route.info.method + " " + route.info.path;
    auto run = [this, route, key](const httplib::Request& req, httplib::Response& res) {
      const auto t0 = std::chrono::steady_clock::now();
      Call call{req, res, {}};
      bool allowed = true;
      if (!route.info.roles.empty()) {
        Result<Principal> who = Authenticate(req);
        if (!who.ok()) {
          SendError(res, who.status());
          allowed = false;
        } else {
          call.who = *who;
          bool role_ok = false;
          for (Role r : route.info.roles) role_ok |= (r == who->role);
          if (!role_ok) {
            SendError(res, Status::PermissionDenied(std::string("the ") + RoleName(who->role) + " role may not " +
                                                    route.info.summary));
            allowed = false;
          } else if (who->via == "session" && route.info.method != "GET" &&
                     req.get_header_value("X-CSRF-Token") != who->csrf) {
            SendError(res, Status::PermissionDenied("missing or wrong X-CSRF-Token header"));
            allowed = false;
          }
        }
      }
      if (allowed) {
        try {
          route.handler(call);
        } catch (const std::exception& e) {
          SendError(res, Status::Internal(key + ": " + e.what()));
        }
      }
      // "415:" marks media-type errors raised through InvalidArgument.
      if (res.status == 400 && res.body.find("\"415:") != std::string::npos) {
        json j = json::parse(res.body, nullptr, false);
        if (!j.is_discarded() && j.contains("error") && j["error"].contains("message") &&
            j["error"]["message"].is_string() && j["error"]["message"].get<std::string>().rfind("415:", 0) == 0) {
          std::string m = j["error"]["message"].get<std::string>().substr(4);
          SendJson(res, 415, {{"error", {{"code", "unsupported_media_type"}, {"message", m}}}});
        }
      }
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::lock_guard<std::mutex> g(metrics_mu);
      RouteMetrics& m = metrics[key];
      if (m.buckets.empty()) m.buckets.assign(kLatencyBuckets.size(), 0);
      ++m.requests;
      if (res.status >= 400) ++m.errors;
      m.seconds += secs;
      for (size_t i = 0; i < kLatencyBuckets.size(); ++i)
        if (secs <= kLatencyBuckets[i]) ++m.buckets[i];
    };
    const std::string re = PathRegex(route.info.path);
    if (route.info.method != "GET") bodyless->emplace_back(route.info.method, std::regex(re), run);
    if (route.info.method == "GET")
      http->Get(re, run);
    else if (route.info.method == "POST")
      http->Post(re, run);
    else if (route.info.method == "DELETE")
      http->Delete(re, run);
  }
  http->set_error_handler(httplib::Server::HandlerWithResponse([bodyless](const httplib::Request& req,
                                                                           httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    // A POST or DELETE with neither Content-Length nor Transfer-Encoding has an empty body
    // (RFC 9112, 6.3), as `curl -X POST` sends one; httplib calls it malformed without
    // routing it. It is routed here instead, with the empty body it has.
    if (res.status == 400 && !req.has_header("Content-Length") && !req.has_header("Transfer-Encoding")) {
      for (const auto& [method, re, run] : *bodyless) {
        if (method != req.method) continue;
        httplib::Request routed = req;
        if (!std::regex_match(routed.path, routed.matches, re)) continue;
        routed.body.clear();
        res.status = 200;
        run(routed, res);
        return httplib::Server::HandlerResponse::Handled;
      }
      res.status = 404;
    }
    std::string msg = "no such route: " + req.method + " " + req.path;
    if (res.status == 413)
      msg = "the request body is larger than the upload limit";
    else if (res.status == 400)
      msg = "malformed request";
    else if (res.status == 408)
      msg = "the request was not received in time";
    else if (res.status != 404)
      msg = "request failed";
    SendJson(res, res.status, {{"error", {{"code", ErrorSlug(res.status)}, {"message", msg}}}});
    return httplib::Server::HandlerResponse::Handled;
  }));
  http->set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    SendError(res, Status::Internal("unhandled exception"));
  });
  http->set_post_routing_handler([this](const httplib::Request&, httplib::Response& res) {
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("Cache-Control", "no-store");
    res.set_header("Content-Security-Policy", "default-src 'self'; img-src 'self' blob: data:; frame-ancestors 'none'");
    res.set_header("Referrer-Policy", "no-referrer");
    (void)this;
  });
  http->set_payload_max_length(static_cast<size_t>(options.max_upload_bytes));
  http->set_read_timeout(options.request_timeout_s, 0);
  http->set_write_timeout(options.request_timeout_s, 0);
  http->set_keep_alive_timeout(5);
  const int threads = std::max(2, options.threads);
  http->new_task_queue = [threads] {
    return new BoundedThreadPool(static_cast<size_t>(threads), static_cast<size_t>(4 * threads));
  };
}

std::string Server::Impl::MetricsText() {
  std::ostringstream o;
  o << "# HELP lineup_http_requests_total HTTP requests by route and outcome.\n"
       "# TYPE lineup_http_requests_total counter\n";
  std::lock_guard<std::mutex> g(metrics_mu);
  auto label = [](const std::string& key) {
    const size_t sp = key.find(' ');
    return "method=\"" + key.substr(0, sp) + "\",route=\"" + key.substr(sp + 1) + "\"";
  };
  for (const auto& [key, m] : metrics) {
    o << "lineup_http_requests_total{" << label(key) << ",outcome=\"ok\"} " << (m.requests - m.errors) << "\n";
    o << "lineup_http_requests_total{" << label(key) << ",outcome=\"error\"} " << m.errors << "\n";
  }
  o << "# HELP lineup_http_request_seconds Request latency by route.\n"
       "# TYPE lineup_http_request_seconds histogram\n";
  for (const auto& [key, m] : metrics) {
    for (size_t i = 0; i < kLatencyBuckets.size(); ++i)
      o << "lineup_http_request_seconds_bucket{" << label(key) << ",le=\"" << kLatencyBuckets[i] << "\"} "
        << m.buckets[i] << "\n";
    o << "lineup_http_request_seconds_bucket{" << label(key) << ",le=\"+Inf\"} " << m.requests << "\n";
    o << "lineup_http_request_seconds_sum{" << label(key) << "} " << m.seconds << "\n";
    o << "lineup_http_request_seconds_count{" << label(key) << "} " << m.requests << "\n";
  }
  o << "# HELP lineup_gallery_faces Searchable faces in the gallery.\n# TYPE lineup_gallery_faces gauge\n"
    << "lineup_gallery_faces " << faces.load() << "\n";
  o << "# HELP lineup_searches_total Searches run.\n# TYPE lineup_searches_total counter\n"
    << "lineup_searches_total " << searches.load() << "\n";
  o << "# HELP lineup_busy_rejections_total Requests answered 503 because every analysis slot was busy.\n"
       "# TYPE lineup_busy_rejections_total counter\n"
    << "lineup_busy_rejections_total " << rejected_busy.load() << "\n";
  return o.str();
}

// ---------------------------------------------------------------- retention

Result<json> Server::Impl::ApplyRetention(const Principal& who) {
  const std::time_t now = options.accounts.now ? static_cast<std::time_t>(options.accounts.now()) : std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char today[16];
  std::strftime(today, sizeof today, "%Y-%m-%d", &tm);
  Result<std::vector<Catalog::ErasePlan>> erased = Status::Internal("unset");
  {
    std::lock_guard<std::timed_mutex> g(gallery_mu);
    erased = gallery->EraseExpired(today);
    faces = gallery->size();
  }
  if (!erased.ok()) return erased.status();
  json out = json::array();
  for (const auto& plan : *erased) {
    out.push_back({{"erased", plan.what}, {"faces", plan.face_ids.size()}, {"images", plan.images}});
    Audit(who, "erase", 0,
          {{"what", plan.what}, {"faces", plan.face_ids.size()}, {"reason", "retention period ended"}});
  }
  return json{{"today", today}, {"erased", out}};
}

// ---------------------------------------------------------------- lifecycle

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() { Stop(); }

Result<std::unique_ptr<Server>> Server::Create(const ServerOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  if (impl->options.web_root.empty()) impl->options.web_root = std::string(LINEUP_SERVER_SOURCE_DIR) + "/web";
  if ((options.tls_cert.empty()) != (options.tls_key.empty()))
    return Status::InvalidArgument("--tls-cert and --tls-key go together");
  auto g = Gallery::Open(options.gallery_dir, options.analyzer);
  if (!g.ok()) return g.status();
  impl->gallery = std::move(*g);
  impl->faces = impl->gallery->size();
  {
    // Uploads of enrolment jobs that a crash interrupted: enrolling them again is the
    // client's call (same files, same SHA-256, nothing duplicated), so they go.
    std::error_code ec;
    std::filesystem::remove_all(std::filesystem::path(options.gallery_dir) / "uploads", ec);
  }
  auto cal = Calibration::ForModel(impl->gallery->model());
  if (!cal.ok()) return cal.status();
  impl->calibration = std::move(*cal);
  const std::string db = options.gallery_dir + "/catalog.sqlite";
  auto acc = Accounts::Open(db, options.accounts);
  if (!acc.ok()) return acc.status();
  impl->accounts = std::move(*acc);
  auto cs = Cases::Open(db, options.accounts.now);
  if (!cs.ok()) return cs.status();
  impl->cases = std::move(*cs);
  auto al = AuditLog::Open(db, options.accounts.now);
  if (!al.ok()) return al.status();
  impl->audit = std::move(*al);
  auto shown = Disclosures::Open(db);
  if (!shown.ok()) return shown.status();
  impl->disclosures = std::move(*shown);
  int slots = options.analysis_slots > 0 ? options.analysis_slots
                                         : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  // Probes are embedded with the gallery's own model, which may be an earlier default.
  AnalyzerOptions probe_options = options.analyzer;
  probe_options.embedder = impl->gallery->analyzer_options().embedder;
  impl->analyzers = std::make_unique<AnalyzerPool>(probe_options, slots);
  InvestigationsOptions io;
  io.decode.max_pixels = options.max_pixels;
  Impl* self = impl.get();
  auto with_gallery = [self](const std::function<Status()>& body) -> Status {
    if (GalleryHeldByThisThread::Now()) return body();
    auto g = self->LockGallery();
    if (!g.owns_lock()) return self->Busy();
    return body();
  };
  io.with_gallery = with_gallery;
  impl->investigations = std::make_unique<Investigations>(impl->gallery.get(), impl->cases.get(), impl->audit.get(),
                                                          impl->calibration, std::move(io));
  PersonInvestigationsOptions po;
  po.with_gallery = with_gallery;
  po.disclosures = impl->disclosures.get();
  impl->persons = std::make_unique<PersonInvestigations>(impl->gallery.get(), impl->cases.get(), impl->audit.get(),
                                                         std::move(po));
  NetworkInvestigationsOptions no;
  no.with_gallery = with_gallery;
  no.disclosures = impl->disclosures.get();
  impl->network = std::make_unique<NetworkInvestigations>(impl->gallery.get(), impl->cases.get(), impl->audit.get(),
                                                          std::move(no));
  impl->evidence = std::make_unique<CaseEvidence>(impl->gallery.get(), impl->cases.get(), impl->audit.get(),
                                                  impl->calibration, with_gallery);
  if (!options.tls_cert.empty()) {
    auto ssl = std::make_unique<httplib::SSLServer>(options.tls_cert.c_str(), options.tls_key.c_str());
    if (!ssl->is_valid())
      return Status::InvalidArgument("cannot use the TLS certificate or key (" + options.tls_cert + ", " +
                                     options.tls_key + ")");
    impl->http = std::move(ssl);
  } else {
    impl->http = std::make_unique<httplib::Server>();
  }
  impl->AddRoutes();
  impl->AddPersonsRoutes();
  impl->AddNetworkRoutes();
  impl->AddEvidenceRoutes();
  impl->Install();
  Impl* raw = impl.get();
  impl->retention_thread = std::thread([raw] {
    const Principal system{0, "system:retention", Role::kAdmin, "", ""};
    std::unique_lock<std::mutex> lock(raw->retention_mu);
    do {
      lock.unlock();
      auto r = raw->ApplyRetention(system);
      if (!r.ok()) std::fprintf(stderr, "lineup serve: retention: %s\n", r.status().ToString().c_str());
      lock.lock();
    } while (!raw->retention_cv.wait_for(lock, std::chrono::hours(1), [raw] { return raw->stopping.load(); }));
  });
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Status Server::Start() {
  Impl& s = *impl_;
  if (s.options.port == 0) {
    s.bound_port = s.http->bind_to_any_port(s.options.host);
    if (s.bound_port <= 0) return Status::IOError("cannot listen on " + s.options.host);
  } else {
    if (!s.http->bind_to_port(s.options.host, s.options.port))
      return Status::IOError("cannot listen on " + s.options.host + ":" + std::to_string(s.options.port) +
                             " (in use, or not an address of this machine)");
    s.bound_port = s.options.port;
  }
  s.thread = std::thread([this] { impl_->http->listen_after_bind(); });
  // Stop() is a no-op until the server is running, so Start returns only once it is.
  for (int i = 0; i < 500 && !s.http->is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return Status::OK();
}

Status Server::Run() {
  Impl& s = *impl_;
  if (!s.http->bind_to_port(s.options.host, s.options.port))
    return Status::IOError("cannot listen on " + s.options.host + ":" + std::to_string(s.options.port) +
                           " (in use, or not an address of this machine)");
  s.bound_port = s.options.port;
  if (s.stopping) return Status::OK();  // a signal came before we listened
  s.http->listen_after_bind();          // returns after Stop()
  s.StopJobs();
  return Status::OK();
}

void Server::Stop() {
  if (!impl_) return;
  {
    std::lock_guard<std::mutex> g(impl_->retention_mu);
    impl_->stopping = true;
  }
  impl_->retention_cv.notify_all();
  if (impl_->retention_thread.joinable() && impl_->retention_thread.get_id() != std::this_thread::get_id())
    impl_->retention_thread.join();
  if (impl_->http) impl_->http->stop();
  if (impl_->thread.joinable() && impl_->thread.get_id() != std::this_thread::get_id()) impl_->thread.join();
  impl_->StopJobs();
}

int Server::port() const { return impl_->bound_port; }
const std::vector<RouteInfo>& Server::Routes() const { return impl_->route_infos; }
std::string Server::OpenApiJson() const { return impl_->OpenApi().dump(2); }

}  // namespace lineup::server
