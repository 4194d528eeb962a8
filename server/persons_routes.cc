// The persons routes of `lineup serve` (/v1/persons...): they parse the request, make
// one accountable call (person_investigations.h: role, case, justification, the act, its
// audit record) and format the answer. Reads take the case and justification in headers
// (X-Lineup-Case: ID, X-Lineup-Justification: percent-encoded TEXT), never in the URL;
// changes in a JSON body ({"case_id": ID, "justification": TEXT, ...}). Face crops, which
// browsers fetch as images without headers, take the case alone: ?case=ID.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "lineup/accountability.h"
#include "server_internal.h"

namespace lineup::server {

void SendFaceCrop(httplib::Response& res, const Result<std::string>& path) {
  if (!path.ok()) return SendError(res, path.status());
  std::ifstream in(path.value(), std::ios::binary);
  std::stringstream ss;
  if (in) ss << in.rdbuf();
  // A crop that cannot be opened or read (a directory in its place reads as nothing) is
  // not sent as an empty JPEG.
  if (!in || in.bad() || ss.str().empty())
    return SendError(res, Status::NotFound("the face crop cannot be read (erased?)"));
  res.set_content(ss.str(), "image/jpeg");
}

void SendCropInCase(const Call& c, size_t face_param,
                    const std::function<Result<std::string>(int64_t case_id, int64_t face_id)>& find) {
  auto face = PathId(c, face_param);
  auto case_id = QueryInt(c.req, "case", 0, 1, 999999999999999999);
  for (const Status& s : {face.status(), case_id.status()})
    if (!s.ok()) return SendError(c.res, s);
  SendFaceCrop(c.res, find(*case_id, *face));
}

Result<int64_t> PathId(const Call& c, size_t i) {
  const std::string s = c.Param(i);
  if (s.empty() || s.size() > 18) return Status::InvalidArgument("bad id");
  return std::stoll(s);  // the route's pattern holds 1 to 18 digits
}

Result<int64_t> QueryInt(const httplib::Request& req, const std::string& key, int64_t def, int64_t lo, int64_t hi) {
  if (!req.has_param(key)) return def;
  const std::string v = req.get_param_value(key);
  if (v.empty() || v.size() > 18 || v.find_first_not_of("0123456789") != std::string::npos)
    return Status::InvalidArgument("\"" + key + "\" must be a whole number");
  const int64_t n = std::stoll(v);
  if (n < lo || n > hi)
    return Status::InvalidArgument("\"" + key + "\" must be " + std::to_string(lo) + " to " + std::to_string(hi));
  return n;
}

Result<PersonsScope> ReadScope(const httplib::Request& req) {
  // Never in the URL, which proxies, server logs and browser histories keep.
  for (const char* key : {"case", "justification"})
    if (req.has_param(key))
      return Status::InvalidArgument(std::string("send the case and the justification in the ") + kCaseHeader +
                                     " and " + kJustificationHeader + " headers, not in the URL (\"" + key + "\")");
  PersonsScope scope;
  const std::string id = req.get_header_value(kCaseHeader);
  if (!id.empty()) {
    if (id.size() > 18 || id.find_first_not_of("0123456789") != std::string::npos || std::stoll(id) < 1)
      return Status::InvalidArgument(std::string(kCaseHeader) + " must be a case number");
    scope.case_id = std::stoll(id);
  }
  // Sent percent-encoded, decoded by the HTTP layer (HeaderText); its length and
  // characters are then checked as every justification's (Accountability).
  auto why = HeaderText(req, kJustificationHeader, 4 * kMaxJustification);
  if (!why.ok()) return why.status();
  scope.justification = *why;
  return scope;
}

namespace {

constexpr Role kAdmin = Role::kAdmin, kAnalyst = Role::kAnalyst;

// A positive whole number from a JSON body.
Result<int64_t> BodyId(const json& body, const std::string& key) {
  if (!body.contains(key)) return Status::InvalidArgument("\"" + key + "\" is required");
  const json& v = body[key];
  if (!v.is_number_integer() || v.get<int64_t>() <= 0)
    return Status::InvalidArgument("\"" + key + "\" must be a positive whole number");
  return v.get<int64_t>();
}

Result<PersonsScope> ChangeScope(const json& body) {
  auto case_id = BodyId(body, "case_id");
  if (!case_id.ok()) return case_id.status();
  auto justification = TextField(body, "justification", true, kMaxJustification);
  if (!justification.ok()) return justification.status();
  return PersonsScope{*case_id, *justification};
}

// A read of one page of a list: its case and justification (headers), ?offset= and
// ?limit= (1 to max_limit).
struct PageRequest {
  PersonsScope scope;
  int64_t offset = 0, limit = 0;
};
Result<PageRequest> ReadPageRequest(const httplib::Request& req, int64_t default_limit, int64_t max_limit) {
  auto scope = ReadScope(req);
  auto offset = QueryInt(req, "offset", 0, 0, 1000000000);
  auto limit = QueryInt(req, "limit", default_limit, 1, max_limit);
  for (const Status& s : {scope.status(), offset.status(), limit.status()})
    if (!s.ok()) return s;
  return PageRequest{*scope, *offset, *limit};
}

// One page of a list as the API answers it: the items under `key`, how many there are
// in all, where the page starts and the audit record of the read.
json PageJson(const char* key, json items, int64_t total, int64_t offset, int64_t audit_seq) {
  return {{key, std::move(items)}, {"total", total}, {"offset", offset}, {"audit_seq", audit_seq}};
}

std::string ThumbnailUrl(int64_t person, int64_t face, int64_t case_id) {
  return "/v1/persons/" + std::to_string(person) + "/faces/" + std::to_string(face) +
         "/thumbnail?case=" + std::to_string(case_id);
}
std::string PendingThumbnailUrl(int64_t face, int64_t case_id) {
  return "/v1/persons/pending/" + std::to_string(face) + "/thumbnail?case=" + std::to_string(case_id);
}

json ViewJson(const PersonView& v, int64_t case_id, bool with_person) {
  json faces = json::array();
  for (const PersonFace& f : v.faces) {
    json j = PersonFaceJson(f);
    j["thumbnail"] = ThumbnailUrl(v.person.id, f.face_id, case_id);
    faces.push_back(std::move(j));
  }
  json out = with_person ? PersonSummaryJson(v.person) : json::object();
  out["face_list"] = faces;
  out["audit_seq"] = v.audit_seq;
  if (with_person)
    out["notice"] = "Persons are groupings made by a machine for human review, not identifications.";
  return out;
}

json ChangeJson(const PersonChange& c) { return {{"event", PersonEventJson(c.event)}, {"audit_seq", c.audit_seq}}; }

std::string ReclusterJobUrl(int64_t id) { return "/v1/persons/recluster/" + std::to_string(id); }

// A rebuild job as GET /v1/persons/recluster/{id} answers it (with j.mu held). Neither
// the case nor the justification: any analyst or admin may follow a rebuild, and the
// audit log keeps who asked for it and why.
json ReclusterJobJson(const ReclusterJob& j) {
  const double elapsed =
      j.finished ? j.seconds : std::chrono::duration<double>(std::chrono::steady_clock::now() - j.started).count();
  return {{"job", j.id},
          {"state", j.state},
          {"stage", j.stage},
          {"done", j.done},
          {"total", j.total},
          {"elapsed_seconds", std::round(elapsed * 10) / 10},
          {"result", j.result ? ReclusterReportJson(*j.result) : json(nullptr)},
          {"error", j.error},
          {"status", ReclusterJobUrl(j.id)}};
}

}  // namespace

void Server::Impl::RunReclusterJob(ReclusterJob* j) {
  // The job was accepted, so it waits for the gallery as long as an enrolment chunk or a
  // search holds it (a request gives up after queue_wait_ms), unless the server stops.
  std::unique_lock<std::timed_mutex> held(gallery_mu, std::defer_lock);
  while (!stopping && !held.try_lock_for(std::chrono::milliseconds(200))) {
  }
  Result<ReclusterReport> r = Status::Unavailable("the server stopped before the rebuild could start");
  if (held.owns_lock()) {
    {
      std::lock_guard<std::mutex> g(j->mu);
      j->state = "running";
    }
    GalleryHeldByThisThread by_this_job;
    try {
      // The same call, checks and audit records as `lineup persons recluster`; its
      // progress is what the command line's bars show.
      r = persons->Recluster(j->who, j->scope, [j](const std::string& stage, int64_t done, int64_t total) {
        std::lock_guard<std::mutex> g(j->mu);
        j->stage = stage;
        j->done = done;
        j->total = total;
      });
    } catch (const std::exception& e) {
      r = Status::Internal(std::string("the rebuild stopped: ") + e.what());
    }
  }
  {
    std::lock_guard<std::mutex> g(j->mu);
    j->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - j->started).count();
    j->state = r.ok() ? "done" : "failed";
    if (r.ok()) j->result = *r;
    else j->error = r.status().message();
  }
  if (!r.ok())
    std::fprintf(stderr, "lineup serve: rebuild of persons (job %lld) failed: %s\n", static_cast<long long>(j->id),
                 r.status().message().c_str());
  j->finished = true;
}

void Server::Impl::AddPersonsRoutes() {
  Register("GET", "/v1/persons", {kAnalyst}, "list the persons within a case, the most doubtful first",
           [this](Call& c) {
             auto page = ReadPageRequest(c.req, 100, kMaxPersonsPerList);
             if (!page.ok()) return SendError(c.res, page.status());
             auto l = persons->List(c.who, page->scope, page->offset, page->limit);
             if (!l.ok()) return SendError(c.res, l.status());
             json arr = json::array();
             for (const PersonSummary& p : l->persons) arr.push_back(PersonSummaryJson(p));
             json out = PageJson("persons", std::move(arr), l->total, l->offset, l->audit_seq);
             out["pending"] = l->pending;
             SendJson(c.res, 200, out);
           });
  Register("GET", "/v1/persons/history", {kAnalyst}, "read the analysts' changes to persons within a case",
           [this](Call& c) {
             auto scope = ReadScope(c.req);
             auto limit = QueryInt(c.req, "limit", 200, 1, 10000);
             for (const Status& s : {scope.status(), limit.status()})
               if (!s.ok()) return SendError(c.res, s);
             auto h = persons->History(c.who, *scope, *limit);
             if (!h.ok()) return SendError(c.res, h.status());
             json arr = json::array();
             for (const PersonEvent& e : *h) arr.push_back(PersonEventJson(e));
             SendJson(c.res, 200, {{"changes", arr}});
           });
  Register("GET", "/v1/persons/pending", {kAnalyst},
           "list the faces waiting for a person, with their photos and their neighbours' vote, within a case",
           [this](Call& c) {
             auto page = ReadPageRequest(c.req, 200, kMaxFacesPerView);
             if (!page.ok()) return SendError(c.res, page.status());
             auto p = persons->Pending(c.who, page->scope, page->offset, page->limit);
             if (!p.ok()) return SendError(c.res, p.status());
             json faces = json::array();
             for (const PendingFace& f : p->faces) {
               json j = PendingFaceJson(f);
               j["thumbnail"] = PendingThumbnailUrl(f.face.face_id, page->scope.case_id);
               faces.push_back(std::move(j));
             }
             json out = PageJson("faces", std::move(faces), p->total, p->offset, p->audit_seq);
             out["notice"] =
                 "These faces wait for a person: their close neighbours disagree, or the person they point to already "
                 "has a face of the same photo or was marked not to be them. Rebuilding persons places them.";
             SendJson(c.res, 200, out);
           });
  Register("GET", "/v1/persons/pending/{face}/thumbnail", {kAnalyst},
           "see the face crop of a waiting face that a recorded view showed you (JPEG)", [this](Call& c) {
             SendCropInCase(c, 1, [&](int64_t id, int64_t face) { return persons->ThumbnailPath(c.who, id, face); });
           });
  // A person with its faces, or its faces alone: one recorded view (persons_show).
  auto show = [this](bool with_person) {
    return [this, with_person](Call& c) {
      auto id = PathId(c, 1);
      auto scope = ReadScope(c.req);
      auto limit = QueryInt(c.req, "limit", 500, 1, kMaxFacesPerView);
      for (const Status& s : {id.status(), scope.status(), limit.status()})
        if (!s.ok()) return SendError(c.res, s);
      auto v = persons->Show(c.who, *scope, *id, *limit);
      if (!v.ok()) return SendError(c.res, v.status());
      SendJson(c.res, 200, ViewJson(*v, scope->case_id, with_person));
    };
  };
  Register("GET", "/v1/persons/{id}", {kAnalyst}, "read a person with its faces within a case", show(true));
  Register("GET", "/v1/persons/{id}/faces", {kAnalyst}, "list a person's faces within a case", show(false));
  Register("GET", "/v1/persons/{id}/faces/{face}/thumbnail", {kAnalyst},
           "see the face crop of a person's face that a recorded view showed you (JPEG)", [this](Call& c) {
             SendCropInCase(c, 2, [&](int64_t id, int64_t face) { return persons->ThumbnailPath(c.who, id, face); });
           });

  // Changes: a JSON body with the case, the justification and what to change.
  auto change = [](auto run) {
    return [run](Call& c) {
      auto body = JsonBody(c.req);
      if (!body.ok()) return SendError(c.res, body.status());
      if (!body->is_object()) return SendError(c.res, Status::InvalidArgument("send a JSON object"));
      auto scope = ChangeScope(*body);
      if (!scope.ok()) return SendError(c.res, scope.status());
      Result<PersonChange> r = run(c, *body, *scope);
      if (!r.ok()) return SendError(c.res, r.status());
      SendJson(c.res, 200, ChangeJson(*r));
    };
  };
  Register("POST", "/v1/persons/{id}/name", {kAnalyst}, "name a person (it becomes a known subject) within a case",
           change([this](Call& c, const json& body, const PersonsScope& scope) -> Result<PersonChange> {
             auto id = PathId(c, 1);
             if (!id.ok()) return id.status();
             auto name = TextField(body, "name", true, 200);
             if (!name.ok()) return name.status();
             return persons->Name(c.who, scope, *id, *name);
           }));
  Register("POST", "/v1/persons/{id}/merge", {kAnalyst}, "merge another person into this one within a case",
           change([this](Call& c, const json& body, const PersonsScope& scope) -> Result<PersonChange> {
             auto id = PathId(c, 1);
             if (!id.ok()) return id.status();
             auto other = BodyId(body, "other");
             if (!other.ok()) return other.status();
             return persons->Merge(c.who, scope, *id, *other);
           }));
  Register("POST", "/v1/persons/{id}/split", {kAnalyst}, "move faces out of a person into a new one within a case",
           change([this](Call& c, const json& body, const PersonsScope& scope) -> Result<PersonChange> {
             auto id = PathId(c, 1);
             if (!id.ok()) return id.status();
             if (!body.contains("faces") || !body["faces"].is_array() || body["faces"].empty())
               return Status::InvalidArgument("\"faces\" must be a list of face ids");
             if (body["faces"].size() > kMaxFacesPerSplit)
               return Status::InvalidArgument("a split moves at most " + std::to_string(kMaxFacesPerSplit) +
                                              " faces at once");
             std::vector<int64_t> faces;
             for (const json& f : body["faces"]) {
               if (!f.is_number_integer() || f.get<int64_t>() <= 0)
                 return Status::InvalidArgument("\"faces\" must hold positive whole numbers");
               faces.push_back(f.get<int64_t>());
             }
             return persons->Split(c.who, scope, *id, faces);
           }));
  Register("POST", "/v1/persons/{id}/mark", {kAnalyst},
           "mark a face as not this person (it stays out through rebuilds) within a case",
           change([this](Call& c, const json& body, const PersonsScope& scope) -> Result<PersonChange> {
             auto id = PathId(c, 1);
             if (!id.ok()) return id.status();
             auto face = BodyId(body, "face");
             if (!face.ok()) return face.status();
             return persons->MarkNot(c.who, scope, *face, *id);
           }));
  Register("POST", "/v1/persons/history/{id}/undo", {kAnalyst}, "take back a change to persons within a case",
           change([this](Call& c, const json&, const PersonsScope& scope) -> Result<PersonChange> {
             auto id = PathId(c, 1);
             if (!id.ok()) return id.status();
             return persons->Undo(c.who, scope, *id);
           }));
  Register("POST", "/v1/persons/recluster", {kAdmin, kAnalyst},
           "start rebuilding every person from the faces, in the background (analysts within a case; admins without)",
           [this](Call& c) {
             auto body = JsonBody(c.req);
             if (!body.ok()) return SendError(c.res, body.status());
             if (!body->is_object()) return SendError(c.res, Status::InvalidArgument("send a JSON object"));
             PersonsScope scope;
             if (body->contains("case_id")) {
               auto id = BodyId(*body, "case_id");
               if (!id.ok()) return SendError(c.res, id.status());
               scope.case_id = *id;
             }
             auto justification = TextField(*body, "justification", true, kMaxJustification);
             if (!justification.ok()) return SendError(c.res, justification.status());
             scope.justification = *justification;
             // Refused now rather than in the job: role, case, justification.
             if (Status s = persons->MayRecluster(c.who, scope); !s.ok()) return SendError(c.res, s);
             auto job = std::make_unique<ReclusterJob>();
             job->who = c.who;
             job->scope = scope;
             ReclusterJob* j = job.get();
             std::lock_guard<std::mutex> g(recluster_mu);
             if (stopping) return SendError(c.res, Status::Unavailable("the server is shutting down"));
             std::vector<int64_t> finished;
             for (const auto& [id, other] : recluster_jobs) {
               if (!other->finished)
                 return SendError(c.res, Status::FailedPrecondition(
                                             "persons are being rebuilt already: job " + std::to_string(id) +
                                             " (follow it at GET " + ReclusterJobUrl(id) + "); start again after it"));
               finished.push_back(id);
             }
             for (size_t i = 0; i + kKeptReclusterJobs <= finished.size(); ++i) {
               auto it = recluster_jobs.find(finished[i]);
               if (it->second->thread.joinable()) it->second->thread.join();  // already returned
               recluster_jobs.erase(it);
             }
             j->id = next_recluster_job++;
             json accepted;
             {
               std::lock_guard<std::mutex> gj(j->mu);
               accepted = ReclusterJobJson(*j);
             }
             // Made under recluster_mu, which StopJobs takes: it never sees a job without its thread.
             j->thread = std::thread([this, j] { RunReclusterJob(j); });
             recluster_jobs[j->id] = std::move(job);
             SendJson(c.res, 202, accepted);
           });
  Register("GET", "/v1/persons/recluster/{id}", {kAdmin, kAnalyst},
           "follow a rebuild of persons: state, stage, counts, seconds, and its result when done", [this](Call& c) {
             auto id = PathId(c, 1);
             if (!id.ok()) return SendError(c.res, id.status());
             std::lock_guard<std::mutex> g(recluster_mu);
             auto it = recluster_jobs.find(*id);
             if (it == recluster_jobs.end())
               return SendError(c.res, Status::NotFound("no rebuild job " + std::to_string(*id)));
             std::lock_guard<std::mutex> gj(it->second->mu);
             SendJson(c.res, 200, ReclusterJobJson(*it->second));
           });
}

}  // namespace lineup::server
