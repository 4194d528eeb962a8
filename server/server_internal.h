// Private to server/: the server's state and the helpers its handlers share.
#pragma once
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "lineup/audit_log.h"
#include "lineup/calibration.h"
#include "lineup/cases.h"
#include "lineup/disclosures.h"
#include "lineup/evidence.h"
#include "lineup/gallery.h"
#include "lineup/investigations.h"
#include "lineup/models.h"
#include "lineup/network_investigations.h"
#include "lineup/person_investigations.h"
#include "request.h"
#include "server.h"

namespace lineup::server {

using json = nlohmann::json;

// What a handler gets: the request, the response it fills, and who is calling
// (empty name on public routes).
struct Call {
  const httplib::Request& req;
  httplib::Response& res;
  Principal who;
  std::string Param(size_t i) const { return i < req.matches.size() ? req.matches[i].str() : ""; }
};

using Handler = std::function<void(Call&)>;

struct Route {
  RouteInfo info;
  Handler handler;
};

// Per-route request counts and latencies for /metrics.
struct RouteMetrics {
  int64_t requests = 0, errors = 0;
  double seconds = 0;
  std::vector<int64_t> buckets;  // cumulative counts at kLatencyBuckets
};
extern const std::vector<double> kLatencyBuckets;

// An enrolment started over HTTP, run on a thread of its own.
struct EnrollJob {
  int64_t id = 0;
  std::string user, source, dir;
  std::atomic<int64_t> files{0}, done{0}, faces{0}, enrolled{0}, duplicates{0};
  std::atomic<bool> finished{false};
  std::mutex mu;                 // guards problems, error, state
  std::string state = "queued";  // queued, running, done, failed, stopped
  std::string error;
  std::vector<std::pair<std::string, std::string>> problems;
  std::thread thread;
};

// A rebuild of persons started over HTTP (POST /v1/persons/recluster), run on a thread
// of its own, one at a time; GET /v1/persons/recluster/{id} follows it.
struct ReclusterJob {
  int64_t id = 0;
  Principal who;
  PersonsScope scope;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::atomic<bool> finished{false};
  std::mutex mu;                 // guards what follows
  std::string state = "queued";  // queued (waiting for the gallery), running, done, failed
  std::string stage;             // Persons::Recluster's: neighbours, clustering, constraints, storing
  int64_t done = 0, total = 0;   // of the stage
  double seconds = 0;            // from the request to the end, once finished
  std::optional<ReclusterReport> result;
  std::string error;
  std::thread thread;
};

// While alive, the gallery is held by this thread (a background job that waited for it):
// the accountable calls it makes then run without taking it again.
class GalleryHeldByThisThread {
 public:
  GalleryHeldByThisThread();
  ~GalleryHeldByThisThread();
  GalleryHeldByThisThread(const GalleryHeldByThisThread&) = delete;
  GalleryHeldByThisThread& operator=(const GalleryHeldByThisThread&) = delete;
  static bool Now();
};

// A FaceAnalyzer lent out for one request; returned to the pool on destruction.
class AnalyzerPool;
class AnalyzerLease {
 public:
  AnalyzerLease(AnalyzerPool* pool, std::unique_ptr<FaceAnalyzer> a) : pool_(pool), a_(std::move(a)) {}
  AnalyzerLease(AnalyzerLease&&) = default;
  ~AnalyzerLease();
  FaceAnalyzer& operator*() { return *a_; }
  FaceAnalyzer* operator->() { return a_.get(); }

 private:
  AnalyzerPool* pool_;
  std::unique_ptr<FaceAnalyzer> a_;
};

// At most `slots` analysers, made on first use; Acquire waits up to wait_ms for one
// and otherwise reports Unavailable (the caller answers 503).
class AnalyzerPool {
 public:
  AnalyzerPool(AnalyzerOptions options, int slots) : options_(std::move(options)), slots_(slots) {}
  Result<AnalyzerLease> Acquire(int wait_ms);
  void Return(std::unique_ptr<FaceAnalyzer> a);
  int busy() const { return busy_; }

 private:
  AnalyzerOptions options_;
  int slots_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<FaceAnalyzer>> idle_;
  int made_ = 0, busy_ = 0;
};

struct Server::Impl {
  ServerOptions options;
  std::unique_ptr<httplib::Server> http;
  std::thread thread;  // Start()'s
  int bound_port = 0;

  // A Gallery is used from one thread at a time. Searches wait for it at most
  // queue_wait_ms (then 503), so a queue of them cannot grow without bound.
  std::timed_mutex gallery_mu;
  std::atomic<int64_t> faces{0};  // the gallery's size, kept for /healthz and /metrics
  // The gallery, waited for at most queue_wait_ms: check owns_lock(), else answer Busy().
  std::unique_lock<std::timed_mutex> LockGallery();
  Status Busy();
  std::unique_ptr<Gallery> gallery;
  Calibration calibration;
  std::unique_ptr<Accounts> accounts;
  std::unique_ptr<Cases> cases;
  std::unique_ptr<AuditLog> audit;
  std::unique_ptr<AnalyzerPool> analyzers;
  // Search, verify and detect as accountable acts (checks, record, audit) on the above.
  std::unique_ptr<Investigations> investigations;
  // The faces persons' and the network's answers showed, whose crops may be served.
  std::unique_ptr<Disclosures> disclosures;
  // Persons as accountable acts (persons_routes.cc), and kept up to date after enrolment.
  std::unique_ptr<PersonInvestigations> persons;
  // The co-appearance network's queries as accountable acts (network_routes.cc).
  std::unique_ptr<NetworkInvestigations> network;
  // Cases exported as signed evidence bundles (evidence_routes.cc).
  std::unique_ptr<CaseEvidence> evidence;

  std::vector<Route> routes;
  std::vector<RouteInfo> route_infos;

  std::mutex metrics_mu;
  std::map<std::string, RouteMetrics> metrics;  // key: "GET /v1/cases/{id}"
  std::atomic<int64_t> searches{0}, rejected_busy{0};

  static constexpr int64_t kMaxUnfinishedJobs = 4;
  static constexpr size_t kKeptJobs = 100;
  void PruneJobs();  // with jobs_mu held
  std::mutex jobs_mu;
  std::map<int64_t, std::unique_ptr<EnrollJob>> jobs;
  int64_t next_job = 1;
  std::atomic<bool> stopping{false};
  // Rebuilds of persons: at most one unfinished, the last kKeptReclusterJobs finished
  // kept for polling (persons_routes.cc).
  static constexpr size_t kKeptReclusterJobs = 20;
  std::mutex recluster_mu;
  std::map<int64_t, std::unique_ptr<ReclusterJob>> recluster_jobs;
  int64_t next_recluster_job = 1;
  void RunReclusterJob(ReclusterJob* job);

  void AddRoutes();  // handlers.cc
  void AddPersonsRoutes();  // persons_routes.cc
  void AddNetworkRoutes();  // network_routes.cc
  void AddEvidenceRoutes();  // evidence_routes.cc
  void Register(const std::string& method, const std::string& path, std::vector<Role> roles, const std::string& summary,
                Handler handler);
  void Install();  // routes into `http`, with authentication, metrics and errors
  Result<Principal> Authenticate(const httplib::Request& req);
  // Appends to the audit log; a failure is logged and returned (Unavailable), and the
  // handlers of searches, verifications and detections then withhold their results.
  Status Audit(const Principal& who, const std::string& action, int64_t case_id, const json& details);
  // Failed sign-ins per client address (besides Accounts' per-name lock): at most
  // kLoginFailuresPerClient in kLoginWindowSeconds.
  std::mutex login_mu;
  std::map<std::string, std::vector<int64_t>> login_failures;
  bool ClientMayTryLogin(const std::string& client);
  void NoteFailedLogin(const std::string& client);
  json OpenApi() const;
  std::string MetricsText();
  void StopJobs();

  // Retention: sources past their retention date are erased when the server starts,
  // every hour while it runs, and on an admin's request (POST /v1/retention).
  std::thread retention_thread;
  std::mutex retention_mu;
  std::condition_variable retention_cv;
  Result<json> ApplyRetention(const Principal& who);
};

// --- helpers shared by the handlers (server.cc) ---
// The session id of a "lineup_session=..." cookie, or "".
std::string SessionIdFromCookie(const std::string& cookie_header);
int HttpStatusFor(const Status& s);
void SendJson(httplib::Response& res, int code, const json& body);
// The route's i-th path parameter as a number (the patterns hold 1 to 18 digits).
Result<int64_t> PathId(const Call& c, size_t i);
// Sends a face crop (JPEG) found by an accountable call, or its error.
void SendFaceCrop(httplib::Response& res, const Result<std::string>& path);
// A crop route of persons or the network: the face from path parameter `face_param`, the
// case from ?case=ID (images are fetched without headers, and a crop needs no
// justification: the answer that showed it was recorded with one), the crop from `find`.
void SendCropInCase(const Call& c, size_t face_param,
                    const std::function<Result<std::string>(int64_t case_id, int64_t face_id)>& find);
// A whole number from the query string, within [lo, hi]; `def` if absent.
Result<int64_t> QueryInt(const httplib::Request& req, const std::string& key, int64_t def, int64_t lo, int64_t hi);
// The case and justification of a read within a case (persons, network), from the
// X-Lineup-Case and X-Lineup-Justification (percent-encoded) headers. Refused in the
// query string, which proxies, server logs and browser histories keep.
inline constexpr const char* kCaseHeader = "X-Lineup-Case";
inline constexpr const char* kJustificationHeader = "X-Lineup-Justification";
Result<PersonsScope> ReadScope(const httplib::Request& req);
void SendError(httplib::Response& res, const Status& s);

}  // namespace lineup::server
