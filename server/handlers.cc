// The endpoints of `lineup serve`: one Register() call per route, each naming the roles
// that may call it (server.h). Searches, verifications and reviews happen inside a case
// the caller belongs to; every action is audited.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "lineup/differentials.h"
#include "lineup/image.h"
#include "server_internal.h"

namespace fs = std::filesystem;

namespace lineup::server {
namespace {

constexpr Role kAdmin = Role::kAdmin, kAnalyst = Role::kAnalyst, kEnroller = Role::kEnroller, kAuditor = Role::kAuditor;
const std::vector<Role> kEveryone = {kAdmin, kAnalyst, kEnroller, kAuditor};

const char* kLeadNotice =
    "Candidates are investigative leads for human review, not identifications. A possible match "
    "counts only after a second analyst confirms it.";

json BoxJson(const cv::Rect2f& b) {
  return {std::lround(b.x), std::lround(b.y), std::lround(b.width), std::lround(b.height)};
}

json FaceSummary(const Face& f, int index) {
  return {{"face", index + 1},
          {"box", BoxJson(f.box)},
          {"confidence", std::round(f.confidence * 1000) / 1000},
          {"quality", std::round(f.quality.score * 1000) / 1000},
          {"quality_reasons", f.quality.reasons}};
}

json SearchJson(const SearchRecord& s) {
  json c = json::array();
  for (const auto& x : s.candidates) c.push_back({{"face_id", x.face_id}, {"score", x.score}});
  // What the analyst saw, in brief, from the search as it was shown.
  const json shown = s.shown.empty() ? json::object() : json::parse(s.shown, nullptr, false);
  const bool have = shown.is_object();
  return {{"id", s.id},
          {"leads", have && shown.contains("leads") ? shown["leads"] : json(nullptr)},
          {"undecided", have && shown.contains("undecided") ? shown["undecided"] : json(nullptr)},
          {"probe_name", have && shown.contains("probe") ? shown["probe"].value("name", "") : ""},
          {"searched_face", have && shown.contains("probe") ? shown["probe"].value("searched_face", 0) : 0},
          {"case_id", s.case_id},
          {"user", s.user},
          {"justification", s.justification},
          {"probe_sha256", s.probe_sha256},
          {"kind", s.kind},
          {"threshold", s.threshold},
          {"gallery_size", s.gallery_size},
          {"low_quality", s.low_quality},
          {"candidates", c},
          {"at", s.at}};
}

json UserJson(const User& u) {
  return {{"id", u.id},
          {"name", u.name},
          {"role", RoleName(u.role)},
          {"disabled", u.disabled},
          {"created_at", u.created_at},
          {"sources", u.sources}};
}

json TokenJson(const TokenInfo& t) {
  return {{"id", t.id},
          {"user", t.user},
          {"label", t.label},
          {"created_at", t.created_at},
          {"expires_at", t.expires_at},
          {"revoked_at", t.revoked_at}};
}

json SourceJson(const SourceRecord& s) {
  return {{"name", s.name},
          {"description", s.description},
          {"legal_basis", s.legal_basis},
          {"collected_by", s.collected_by},
          {"collected_at", s.collected_at},
          {"retention_until", s.retention_until},
          {"created_at", s.created_at}};
}

Result<int64_t> IdParam(const Call& c, size_t i) {
  try {
    return std::stoll(c.Param(i));
  } catch (...) {
    return Status::InvalidArgument("bad id");
  }
}

// A number from a JSON body or a form field, within [lo, hi].
Result<double> NumberField(const httplib::Request& req, const json* body, const std::string& key, double def, double lo,
                           double hi) {
  double v = def;
  if (body) {
    if (body->contains(key)) {
      if (!(*body)[key].is_number()) return Status::InvalidArgument("\"" + key + "\" must be a number");
      v = (*body)[key].get<double>();
    }
  } else {
    auto f = FormField(req, key, false, 32);
    if (!f.ok()) return f.status();
    if (!f->empty()) {
      char* end = nullptr;
      v = std::strtod(f->c_str(), &end);
      if (end == f->c_str() || *end != '\0') return Status::InvalidArgument("\"" + key + "\" must be a number");
    }
  }
  if (!(v >= lo && v <= hi))
    return Status::InvalidArgument("\"" + key + "\" must be between " + json(lo).dump() + " and " + json(hi).dump());
  return v;
}

// The justification of a search whose photo is the raw body: in the X-Lineup-Justification
// header (percent-encoded), as reads within a case take it, never in the URL, which
// proxies, server logs and browser histories keep. The case is the URL's own path; an
// X-Lineup-Case header, if sent, must name the same one.
Result<std::string> RawSearchJustification(const httplib::Request& req, int64_t case_id) {
  auto scope = ReadScope(req);  // refuses ?case= and ?justification=, saying where they go
  if (!scope.ok()) return scope.status();
  if (scope->case_id != 0 && scope->case_id != case_id)
    return Status::InvalidArgument(std::string(kCaseHeader) + " names case " + std::to_string(scope->case_id) +
                                   ", the URL case " + std::to_string(case_id));
  if (scope->justification.empty())
    return Status::InvalidArgument(std::string("a search with the photo as the body needs the ") +
                                   kJustificationHeader + " header (percent-encoded text)");
  return scope->justification;
}

}  // namespace

void Server::Impl::AddRoutes() {
  // ---------------------------------------------------------------- public
  Register("GET", "/healthz", {}, "check that the server is up", [this](Call& c) {
    SendJson(c.res, 200, {{"status", "ok"}, {"faces", faces.load()}});
  });

  Register("POST", "/v1/session", {}, "sign in with a name and password (sets the session cookie)", [this](Call& c) {
    auto body = JsonBody(c.req);
    if (!body.ok()) return SendError(c.res, body.status());
    auto name = TextField(*body, "name", true, 64);
    auto password = TextField(*body, "password", true, 1024);
    if (!name.ok()) return SendError(c.res, name.status());
    if (!password.ok()) return SendError(c.res, password.status());
    if (!ClientMayTryLogin(c.req.remote_addr)) {
      c.res.set_header("Retry-After", "600");
      return SendJson(c.res, 429,
                      {{"error",
                        {{"code", "too_many_requests"},
                         {"message", "too many failed sign-ins from this address; wait 10 minutes"}}}});
    }
    auto s = accounts->Login(*name, *password);
    if (!s.ok()) {
      NoteFailedLogin(c.req.remote_addr);
      // "login:" cannot start a user name, so these records are never mistaken for a
      // user's own; a name that could not be one (perhaps a password typed in the wrong
      // field) is kept only as a short hash.
      const bool plausible =
          !name->empty() && name->size() <= 64 && std::all_of(name->begin(), name->end(), [](char ch) {
            return std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' || ch == '@' || ch == '-';
          });
      (void)Audit(
          {0, "login:" + (plausible ? *name : "sha256-" + Sha256Hex(*name).substr(0, 12)), Role::kAnalyst, "", ""},
          "login_failed", 0, {{"client", c.req.remote_addr}, {"reason", s.status().message()}});
      if (s.status().code() == Status::Code::kUnavailable) {
        c.res.set_header("Retry-After", "60");
        return SendJson(c.res, 429, {{"error", {{"code", "too_many_requests"}, {"message", s.status().message()}}}});
      }
      return SendError(c.res, s.status());
    }
    auto who = accounts->AuthenticateSession(s->id);
    if (!who.ok()) return SendError(c.res, who.status());
    if (Status au = Audit(*who, "login", 0, {{"client", c.req.remote_addr}}); !au.ok()) return SendError(c.res, au);
    std::string cookie = "lineup_session=" + s->id + "; Path=/; HttpOnly; SameSite=Strict";
    if (!options.tls_cert.empty()) cookie += "; Secure";
    c.res.set_header("Set-Cookie", cookie);
    SendJson(c.res, 200,
             {{"user", who->name}, {"role", RoleName(who->role)}, {"csrf", s->csrf}, {"expires_at", s->expires_at}});
  });

  Register("GET", "/v1/session", {},
           "ask whether this browser is signed in (never 401: the console calls it on every page load)",
           [this](Call& c) {
             auto who = Authenticate(c.req);
             if (!who.ok()) return SendJson(c.res, 200, {{"signed_in", false}});
             SendJson(c.res, 200,
                      {{"signed_in", true},
                       {"user", who->name},
                       {"role", RoleName(who->role)},
                       {"via", who->via},
                       {"csrf", who->csrf},
                       {"notice", kLeadNotice}});
           });
  Register("GET", "/v1/openapi.json", {}, "read this API's OpenAPI 3 description",
           [this](Call& c) { SendJson(c.res, 200, OpenApi()); });

  auto serve_file = [this](Call& c, const std::string& rel, const char* type) {
    std::ifstream in(options.web_root + "/" + rel, std::ios::binary);
    if (!in) return SendError(c.res, Status::NotFound("no such console file: " + rel));
    std::stringstream ss;
    ss << in.rdbuf();
    c.res.set_content(ss.str(), type);
  };
  Register("GET", "/", {}, "the web console",
           [serve_file](Call& c) { serve_file(c, "index.html", "text/html; charset=utf-8"); });
  Register("GET", "/assets/{file}", {}, "the web console's scripts, styles and images", [serve_file](Call& c) {
    const std::string f = c.Param(1);
    const std::string ext = f.substr(f.rfind('.') + 1);
    const char* type = ext == "js"    ? "text/javascript; charset=utf-8"
                       : ext == "css" ? "text/css; charset=utf-8"
                       : ext == "svg" ? "image/svg+xml"
                       : ext == "png" ? "image/png"
                                      : "image/x-icon";
    serve_file(c, "assets/" + f, type);
  });

  // ---------------------------------------------------------------- any signed-in user
  Register("GET", "/v1/me", kEveryone, "see who you are signed in as", [](Call& c) {
    SendJson(c.res, 200,
             {{"user", c.who.name},
              {"role", RoleName(c.who.role)},
              {"via", c.who.via},
              {"csrf", c.who.csrf},
              {"notice", kLeadNotice}});
  });
  Register("DELETE", "/v1/session", kEveryone, "sign out", [this](Call& c) {
    const std::string id = SessionIdFromCookie(c.req.get_header_value("Cookie"));
    if (!id.empty()) (void)accounts->Logout(id);
    Audit(c.who, "logout", 0, json::object());
    c.res.set_header("Set-Cookie", "lineup_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    SendJson(c.res, 200, {{"signed_out", true}});
  });
  Register("GET", "/v1/analysts", {kAdmin, kAnalyst}, "list the active analysts (to add one to a case)",
           [this](Call& c) {
             auto list = accounts->Users();
             if (!list.ok()) return SendError(c.res, list.status());
             json out = json::array();
             for (const auto& u : *list)
               if (u.role == Role::kAnalyst && !u.disabled) out.push_back(u.name);
             SendJson(c.res, 200, {{"analysts", out}});
           });
  Register("GET", "/metrics", {kAdmin, kAuditor}, "read Prometheus metrics",
           [this](Call& c) { c.res.set_content(MetricsText(), "text/plain; version=0.0.4"); });
  Register("GET", "/v1/differentials", kEveryone,
           "read how the model's error rates differ between demographic groups (the table behind every decision's "
           "statement)",
           [this](Call& c) {
             std::vector<LabelledThreshold> at;
             if (c.req.has_param("threshold")) {
               char* end = nullptr;
               const std::string v = c.req.get_param_value("threshold");
               const double t = std::strtod(v.c_str(), &end);
               if (v.empty() || *end || !(t >= -1 && t <= 1))
                 return SendError(c.res, Status::InvalidArgument("threshold must be a number between -1 and 1"));
               at.push_back({static_cast<float>(t), "this decision"});
             }
             auto table = DifferentialsTable(calibration, at);
             if (!table.ok()) return SendError(c.res, table.status());
             SendJson(c.res, 200, *table);
           });
  Register("GET", "/v1/gallery", kEveryone, "see the gallery's size, sources and index", [this](Call& c) {
    auto g = LockGallery();
    if (!g.owns_lock()) return SendError(c.res, Busy());
    auto counts = gallery->catalog().Counts();
    auto by_source = gallery->catalog().CountsBySource();
    if (!counts.ok()) return SendError(c.res, counts.status());
    if (!by_source.ok()) return SendError(c.res, by_source.status());
    json sources = json::array();
    for (const auto& sc : *by_source) sources.push_back({{"name", sc.name}, {"faces", sc.faces}, {"images", sc.images}});
    SendJson(c.res, 200,
             {{"faces", gallery->size()},
              {"images", counts->images},
              {"subjects", counts->subjects},
              {"sources", sources},
              {"model", gallery->model().Id()},
              {"index", gallery->IndexSpec()},
              {"index_memory_bytes", gallery->IndexMemoryBytes()}});
  });

  // ---------------------------------------------------------------- analysis helpers
  // Decodes and analyses an uploaded photo (waiting for an analysis slot).
  struct Analysed {
    std::string sha256;
    int width = 0, height = 0;
    std::vector<Face> faces;
    std::vector<Face> set_aside;  // detections too uncertain for the photo to count as having a face
  };
  auto analyse = [this](const std::string& bytes, bool embed) -> Result<Analysed> {
    // The slot is taken before decoding: a decoded 100-megapixel photo is 300 MB.
    auto lease = analyzers->Acquire(options.queue_wait_ms);
    if (!lease.ok()) {
      ++rejected_busy;
      return lease.status();
    }
    DecodeOptions d;
    d.max_pixels = options.max_pixels;
    auto img = DecodeImage(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), d);
    if (!img.ok()) return img.status();
    std::vector<Face> set_aside;
    auto faces = (*lease)->Analyze(img->bgr, embed, &set_aside);
    if (!faces.ok()) return faces.status();
    return Analysed{Sha256Hex(bytes), img->bgr.cols, img->bgr.rows, std::move(*faces), std::move(set_aside)};
  };
  // The face the caller asked for (1-based; 0: the largest usable one).
  auto choose = [this](const Analysed& a, int wanted) -> Result<int> {
    const int n = static_cast<int>(a.faces.size());
    if (n == 0)
      return Status::NoFace("the photo: " + NoFaceMessage(a.set_aside, options.analyzer.photo_min_confidence));
    if (wanted > n)
      return Status::InvalidArgument("the photo has " + std::to_string(n) + " face(s), no face #" +
                                     std::to_string(wanted));
    return wanted > 0 ? wanted - 1 : PickFace(a.faces, {a.width, a.height}, FacePick::kLargest);
  };
  // The case named by the path, if the caller may work in it.
  auto case_for = [this](Call& c, size_t param, bool must_be_open) -> Result<CaseRecord> {
    auto id = IdParam(c, param);
    if (!id.ok()) return id.status();
    auto cs = cases->Get(*id);
    if (!cs.ok()) return cs.status();
    if (c.who.role != Role::kAdmin) {
      auto member = cases->IsMember(*id, c.who.name);
      if (!member.ok()) return member.status();
      if (!*member) return Status::PermissionDenied("you are not a member of case " + std::to_string(*id));
    }
    if (must_be_open && cs->status != "open")
      return Status::FailedPrecondition("case " + std::to_string(*id) + " is closed");
    return *cs;
  };

  Register("POST", "/v1/detect", {kAnalyst, kEnroller}, "find the faces in a photo", [this](Call& c) {
    auto bytes = ImageUpload(c.req, "image");
    if (!bytes.ok()) return SendError(c.res, bytes.status());
    DetectRequest r;
    r.photo.photo = std::move(*bytes);
    auto lease = analyzers->Acquire(options.queue_wait_ms);
    if (!lease.ok()) {
      ++rejected_busy;
      return SendError(c.res, lease.status());
    }
    auto d = investigations->Detect(c.who, r, **lease);
    if (!d.ok()) return SendError(c.res, d.status());
    json faces = json::array();
    for (size_t i = 0; i < d->photo.faces.size(); ++i) faces.push_back(FaceSummary(d->photo.faces[i], static_cast<int>(i)));
    SendJson(c.res, 200,
             {{"image_sha256", d->photo.sha256}, {"width", d->photo.width}, {"height", d->photo.height}, {"faces", faces}});
  });

  // ---------------------------------------------------------------- cases
  Register("GET", "/v1/cases", {kAdmin, kAnalyst}, "list cases (analysts: their own)", [this](Call& c) {
    auto list = cases->List(c.who.role == Role::kAdmin ? "" : c.who.name);
    if (!list.ok()) return SendError(c.res, list.status());
    json out = json::array();
    for (const auto& cs : *list) out.push_back(CaseRecordJson(cs));
    SendJson(c.res, 200, {{"cases", out}});
  });
  Register("POST", "/v1/cases", {kAnalyst}, "open a case", [this](Call& c) {
    auto body = JsonBody(c.req);
    if (!body.ok()) return SendError(c.res, body.status());
    auto title = TextField(*body, "title", true, 500);
    auto authority = TextField(*body, "authority", true, 500);
    if (!title.ok()) return SendError(c.res, title.status());
    if (!authority.ok()) return SendError(c.res, authority.status());
    auto cs = cases->Create(*title, *authority, c.who.name);
    if (!cs.ok()) return SendError(c.res, cs.status());
    if (Status au = Audit(c.who, "case_create", cs->id, {{"title", cs->title}, {"authority", cs->authority}}); !au.ok())
      return SendError(c.res, au);
    SendJson(c.res, 201, CaseRecordJson(*cs));
  });
  Register("GET", "/v1/cases/{id}", {kAdmin, kAnalyst}, "read a case with its searches and reviews",
           [=, this](Call& c) {
             auto cs = case_for(c, 1, false);
             if (!cs.ok()) return SendError(c.res, cs.status());
             auto searches = cases->Searches(cs->id);
             auto reviews = cases->Reviews(cs->id);
             if (!searches.ok()) return SendError(c.res, searches.status());
             if (!reviews.ok()) return SendError(c.res, reviews.status());
             json j = CaseRecordJson(*cs);
             j["searches"] = json::array();
             for (const auto& s : *searches) j["searches"].push_back(SearchJson(s));
             j["reviews"] = json::array();
             for (const auto& r : *reviews) j["reviews"].push_back(ReviewRecordJson(r));
             SendJson(c.res, 200, j);
           });
  Register("POST", "/v1/cases/{id}/close", {kAdmin, kAnalyst}, "close a case", [=, this](Call& c) {
    auto cs = case_for(c, 1, false);
    if (!cs.ok()) return SendError(c.res, cs.status());
    Status s = cases->Close(cs->id, c.who.name);
    if (!s.ok()) return SendError(c.res, s);
    if (Status au = Audit(c.who, "case_close", cs->id, json::object()); !au.ok()) return SendError(c.res, au);
    auto again = cases->Get(cs->id);
    SendJson(c.res, 200, again.ok() ? CaseRecordJson(*again) : json::object());
  });
  Register("POST", "/v1/cases/{id}/members", {kAdmin, kAnalyst}, "add an analyst to a case", [=, this](Call& c) {
    auto cs = case_for(c, 1, true);
    if (!cs.ok()) return SendError(c.res, cs.status());
    auto body = JsonBody(c.req);
    if (!body.ok()) return SendError(c.res, body.status());
    auto user = TextField(*body, "user", true, 64);
    if (!user.ok()) return SendError(c.res, user.status());
    auto u = accounts->FindUser(*user);
    if (!u.ok() || u->role != Role::kAnalyst || u->disabled)
      return SendError(c.res, Status::InvalidArgument("no active analyst named " + *user));
    Status s = cases->AddMember(cs->id, *user);
    if (!s.ok()) return SendError(c.res, s);
    if (Status au = Audit(c.who, "case_member_add", cs->id, {{"user", *user}}); !au.ok()) return SendError(c.res, au);
    SendJson(c.res, 200, {{"case_id", cs->id}, {"member", *user}});
  });

  // ---------------------------------------------------------------- search, verify, review
  Register("POST", "/v1/cases/{id}/searches", {kAnalyst},
           "search the gallery with a photo (multipart) or a vector (JSON) within a case", [this](Call& c) {
             auto case_id = IdParam(c, 1);
             if (!case_id.ok()) return SendError(c.res, case_id.status());
             const bool by_vector = IsJsonRequest(c.req);
             json body;
             if (by_vector) {
               auto b = JsonBody(c.req);
               if (!b.ok()) return SendError(c.res, b.status());
               body = std::move(*b);
             }
             SearchRequest r;
             r.case_id = *case_id;
             auto justification = by_vector                             ? TextField(body, "justification", true, 2000)
                                  : c.req.is_multipart_form_data()      ? FormField(c.req, "justification", true, 2000)
                                                                        : RawSearchJustification(c.req, *case_id);
             if (!justification.ok()) return SendError(c.res, justification.status());
             r.justification = *justification;
             const json* bp = by_vector ? &body : nullptr;
             auto top = NumberField(c.req, bp, "top", 10, 1, 200);
             auto fpir = NumberField(c.req, bp, "fpir", kDefaultSearchFpir, 1e-6, 0.5);
             auto fmr = NumberField(c.req, bp, "fmr", 0, 0, 0.1);
             auto face_n = NumberField(c.req, bp, "face", 0, 0, 10000);
             for (const auto* x : {&top, &fpir, &fmr, &face_n})
               if (!x->ok()) return SendError(c.res, x->status());
             r.top = static_cast<int>(*top);
             r.fpir = *fpir;
             r.fmr = *fmr;
             r.probe.face = static_cast<int>(*face_n);
             for (const char* flag : {"all", "subjects", "keep_probe"}) {
               bool on = false;
               if (by_vector) {
                 if (body.contains(flag) && !body[flag].is_boolean())
                   return SendError(c.res, Status::InvalidArgument(std::string("\"") + flag + "\" must be true or false"));
                 on = body.value(flag, false);
               } else {
                 auto f = FormField(c.req, flag, false, 8);
                 on = f.ok() && !f->empty() && *f != "0" && *f != "false";
               }
               (std::string(flag) == "all" ? r.all : std::string(flag) == "subjects" ? r.by_subject : r.keep_probe_photo) = on;
             }
             std::optional<AnalyzerLease> lease;
             if (by_vector) {
               auto model = TextField(body, "model", false, 200);
               if (!model.ok()) return SendError(c.res, model.status());
               r.probe.vector_model = *model;
               auto pv = ProbeVector(body, gallery->model().dim, gallery->model().weight_limit);
               if (!pv.ok()) return SendError(c.res, pv.status());
               r.probe.vector = std::move(*pv);
             } else {
               auto bytes = ImageUpload(c.req, "image");
               if (!bytes.ok()) return SendError(c.res, bytes.status());
               r.probe.photo = std::move(*bytes);
               r.probe.name = UploadName(c.req, "image");
               // The slot is taken before decoding: a decoded 100-megapixel photo is 300 MB.
               auto l = analyzers->Acquire(options.queue_wait_ms);
               if (!l.ok()) {
                 ++rejected_busy;
                 return SendError(c.res, l.status());
               }
               lease.emplace(std::move(*l));
             }
             auto res = investigations->Search(c.who, r, lease ? &**lease : nullptr);
             if (!res.ok()) return SendError(c.res, res.status());
             ++searches;
             json j = SearchResultJson(*res);
             for (json& cand : j["candidates"])
               cand["thumbnail"] = "/v1/searches/" + std::to_string(res->search_id) + "/faces/" +
                                   std::to_string(cand["face_id"].get<int64_t>()) + "/thumbnail";
             SendJson(c.res, 200, j);
           });

  Register("POST", "/v1/cases/{id}/verify", {kAnalyst}, "compare the faces of two photos within a case",
           [this](Call& c) {
             auto case_id = IdParam(c, 1);
             if (!case_id.ok()) return SendError(c.res, case_id.status());
             VerifyRequest r;
             r.case_id = *case_id;
             auto justification = FormField(c.req, "justification", true, 2000);
             if (!justification.ok()) return SendError(c.res, justification.status());
             r.justification = *justification;
             auto fmr = NumberField(c.req, nullptr, "fmr", kDefaultVerifyFmr, 1e-6, 0.1);
             if (!fmr.ok()) return SendError(c.res, fmr.status());
             r.fmr = *fmr;
             for (auto [probe, field] : {std::pair{&r.a, "image_a"}, std::pair{&r.b, "image_b"}}) {
               auto bytes = ImageUpload(c.req, field);
               if (!bytes.ok()) return SendError(c.res, bytes.status());
               probe->photo = std::move(*bytes);
               probe->name = field;
             }
             auto lease = analyzers->Acquire(options.queue_wait_ms);
             if (!lease.ok()) {
               ++rejected_busy;
               return SendError(c.res, lease.status());
             }
             auto v = investigations->Verify(c.who, r, **lease);
             if (!v.ok()) return SendError(c.res, v.status());
             const Face& fa = v->a.faces[static_cast<size_t>(v->a.searched)];
             const Face& fb = v->b.faces[static_cast<size_t>(v->b.searched)];
             SendJson(c.res, 200,
                      {{"score", v->score},
                       {"fmr", v->fmr_at_score},
                       {"threshold", v->threshold.threshold},
                       {"threshold_fmr", v->threshold.fmr},
                       {"decision", v->decision},
                       {"reason", v->reason},
                       {"above_fmr_1e-3", v->above_fmr_1e3},
                       {"above_fmr_1e-4", v->above_fmr_1e4},
                       {"face_a", FaceSummary(fa, v->a.searched)},
                       {"face_b", FaceSummary(fb, v->b.searched)},
                       {"warnings", v->warnings},
                       {"notice", "A score is evidence for a person to weigh, not an identification."}});
           });

  Register("GET", "/v1/searches/{id}", {kAdmin, kAnalyst},
           "reopen a recorded search as it was shown: probe, decision, candidates with provenance, reviews",
           [this](Call& c) {
             auto id = IdParam(c, 1);
             if (!id.ok()) return SendError(c.res, id.status());
             auto j = investigations->RecordedSearch(c.who, *id);
             if (!j.ok()) return SendError(c.res, j.status());
             SendJson(c.res, 200, *j);
           });

  Register("POST", "/v1/searches/{id}/reviews", {kAnalyst}, "mark a candidate of a search", [this](Call& c) {
    auto id = IdParam(c, 1);
    if (!id.ok()) return SendError(c.res, id.status());
    auto s = cases->GetSearch(*id);
    if (!s.ok()) return SendError(c.res, s.status());
    auto m = cases->IsMember(s->case_id, c.who.name);
    if (!m.ok() || !*m) return SendError(c.res, Status::PermissionDenied("not a member of the search's case"));
    auto body = JsonBody(c.req);
    if (!body.ok()) return SendError(c.res, body.status());
    if (!body->contains("face_id") || !(*body)["face_id"].is_number_integer())
      return SendError(c.res, Status::InvalidArgument("\"face_id\" must be an integer"));
    auto verdict = TextField(*body, "verdict", true, 32);
    auto note = TextField(*body, "note", false, 2000);
    if (!verdict.ok()) return SendError(c.res, verdict.status());
    if (!note.ok()) return SendError(c.res, note.status());
    auto r = cases->Review(*id, (*body)["face_id"].get<int64_t>(), c.who.name, *verdict, *note);
    if (!r.ok()) return SendError(c.res, r.status());
    if (Status au = Audit(c.who, "review", r->case_id,
                          {{"review_id", r->id},
                           {"search_id", r->search_id},
                           {"face_id", r->face_id},
                           {"verdict", r->verdict},
                           {"note", r->note}});
        !au.ok())
      return SendError(c.res, au);
    SendJson(c.res, 201, ReviewRecordJson(*r));
  });

  Register("POST", "/v1/reviews/{id}/confirm", {kAnalyst}, "confirm another analyst's possible match", [this](Call& c) {
    auto id = IdParam(c, 1);
    if (!id.ok()) return SendError(c.res, id.status());
    auto r0 = cases->GetReview(*id);
    if (!r0.ok()) return SendError(c.res, r0.status());
    auto m = cases->IsMember(r0->case_id, c.who.name);
    if (!m.ok() || !*m) return SendError(c.res, Status::PermissionDenied("not a member of the review's case"));
    auto r = cases->Confirm(*id, c.who.name);
    if (!r.ok()) return SendError(c.res, r.status());
    if (Status au = Audit(c.who, "confirm", r->case_id,
                          {{"review_id", r->id}, {"face_id", r->face_id}, {"reviewer", r->analyst}});
        !au.ok())
      return SendError(c.res, au);
    SendJson(c.res, 200, ReviewRecordJson(*r));
  });

  // Face crops are shown only as candidates of a search the caller may see, so the
  // gallery cannot be browsed face by face outside a case.
  Register("GET", "/v1/searches/{id}/faces/{face}/thumbnail", {kAdmin, kAnalyst},
           "see the face crop of one of a search's candidates (JPEG)", [this](Call& c) {
             auto sid = IdParam(c, 1);
             auto fid = IdParam(c, 2);
             if (!sid.ok() || !fid.ok()) return SendError(c.res, Status::InvalidArgument("bad id"));
             auto s = cases->GetSearch(*sid);
             if (!s.ok()) return SendError(c.res, s.status());
             if (c.who.role != Role::kAdmin) {
               auto m = cases->IsMember(s->case_id, c.who.name);
               if (!m.ok() || !*m)
                 return SendError(c.res, Status::PermissionDenied("not a member of the search's case"));
             }
             bool returned = std::any_of(s->candidates.begin(), s->candidates.end(),
                                         [&](const SearchCandidate& x) { return x.face_id == *fid; });
             // A known subject's other faces that the search saw (its subjects list) too.
             if (!returned && !s->shown.empty()) {
               const json shown = json::parse(s->shown, nullptr, false);
               if (shown.is_object() && shown.contains("subjects") && shown["subjects"].is_array())
                 for (const auto& sub : shown["subjects"])
                   if (sub.contains("faces") && sub["faces"].is_array())
                     for (const auto& f : sub["faces"]) returned |= f.is_number_integer() && f.get<int64_t>() == *fid;
             }
             if (!returned)
               return SendError(c.res, Status::NotFound("face " + std::to_string(*fid) +
                                                        " is not a candidate of search " + std::to_string(*sid)));
             std::string path;
             {
               auto g = LockGallery();
               if (!g.owns_lock()) return SendError(c.res, Busy());
               path = gallery->ThumbnailPath(*fid);
             }
             if (path.empty())
               return SendError(c.res,
                                Status::NotFound("face " + std::to_string(*fid) + " has no thumbnail (erased?)"));
             SendFaceCrop(c.res, path);
           });

  // ---------------------------------------------------------------- sources and enrolment
  Register("GET", "/v1/sources", {kAdmin, kEnroller, kAnalyst}, "list the photo sources and their legal basis",
           [this](Call& c) {
             auto g = LockGallery();
             if (!g.owns_lock()) return SendError(c.res, Busy());
             auto list = gallery->catalog().Sources();
             if (!list.ok()) return SendError(c.res, list.status());
             json out = json::array();
             for (const auto& s : *list) out.push_back(SourceJson(s));
             SendJson(c.res, 200, {{"sources", out}});
           });
  Register("GET", "/v1/subjects", {kAdmin, kEnroller, kAnalyst}, "list the known people and their face counts",
           [this](Call& c) {
             auto g = LockGallery();
             if (!g.owns_lock()) return SendError(c.res, Busy());
             auto list = gallery->catalog().Subjects();
             if (!list.ok()) return SendError(c.res, list.status());
             json out = json::array();
             for (const auto& s : *list) out.push_back({{"label", s.label}, {"notes", s.notes}, {"faces", s.faces}});
             SendJson(c.res, 200, {{"subjects", out}});
           });
  Register("POST", "/v1/sources", {kAdmin}, "add a photo source with its legal basis", [this](Call& c) {
    auto body = JsonBody(c.req);
    if (!body.ok()) return SendError(c.res, body.status());
    SourceRecord s;
    for (auto [key, dst, req] : {std::tuple{"name", &s.name, true},
                                 {"description", &s.description, false},
                                 {"legal_basis", &s.legal_basis, true},
                                 {"collected_by", &s.collected_by, false},
                                 {"collected_at", &s.collected_at, false},
                                 {"retention_until", &s.retention_until, false}}) {
      auto v = TextField(*body, key, req, 1000);
      if (!v.ok()) return SendError(c.res, v.status());
      *dst = *v;
    }
    {
      auto g = LockGallery();
      if (!g.owns_lock()) return SendError(c.res, Busy());
      Status st = gallery->catalog().AddSource(&s);
      if (!st.ok()) return SendError(c.res, st);
    }
    if (Status au = Audit(c.who, "source_add", 0, {{"name", s.name}, {"legal_basis", s.legal_basis}}); !au.ok())
      return SendError(c.res, au);
    SendJson(c.res, 201, SourceJson(s));
  });

  Register(
      "POST", "/v1/enrollments", {kAdmin, kEnroller},
      "enrol uploaded photos (multipart: source, files) as a background job", [this](Call& c) {
        if (!c.req.is_multipart_form_data())
          return SendError(c.res,
                           Status::InvalidArgument("415:send multipart/form-data with \"source\" and \"files\""));
        auto source = FormField(c.req, "source", true, 200);
        if (!source.ok()) return SendError(c.res, source.status());
        {
          auto g = LockGallery();
          if (!g.owns_lock()) return SendError(c.res, Busy());
          auto src = gallery->catalog().FindSource(*source);
          if (!src.ok()) return SendError(c.res, src.status());
        }
        if (c.who.role == Role::kEnroller) {
          auto u = accounts->FindUser(c.who.name);
          if (!u.ok()) return SendError(c.res, u.status());
          if (std::find(u->sources.begin(), u->sources.end(), *source) == u->sources.end())
            return SendError(c.res, Status::PermissionDenied("you may not enrol into source " + *source));
        }
        auto range = c.req.files.equal_range("files");
        if (range.first == range.second) return SendError(c.res, Status::InvalidArgument("no \"files\" in the upload"));
        auto job = std::make_unique<EnrollJob>();
        {
          std::lock_guard<std::mutex> g(jobs_mu);
          if (stopping) return SendError(c.res, Status::Unavailable("the server is shutting down"));
          PruneJobs();
          int64_t unfinished = 0;
          for (const auto& [id, jb] : jobs) unfinished += jb->finished ? 0 : 1;
          if (unfinished >= kMaxUnfinishedJobs)
            return SendError(c.res,
                             Status::Unavailable(std::to_string(unfinished) +
                                                 " enrolment jobs are already waiting or running; try again later"));
          job->id = next_job++;
        }
        job->user = c.who.name;
        job->source = *source;
        job->dir = options.gallery_dir + "/uploads/job-" + std::to_string(job->id) + "-" +
                   Sha256Hex(c.who.name + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()))
                       .substr(0, 8);
        std::error_code ec;
        fs::create_directories(job->dir, ec);
        if (ec) return SendError(c.res, Status::IOError("cannot create " + job->dir + ": " + ec.message()));
        // Files are stored under our own numbered names: the client's names are only recorded.
        auto names = std::make_shared<std::map<std::string, std::string>>();
        std::vector<std::string> paths;
        int i = 0;
        for (auto it = range.first; it != range.second; ++it, ++i) {
          char buf[32];
          std::snprintf(buf, sizeof(buf), "/%06d.img", i);
          const std::string p = job->dir + buf;
          std::ofstream out(p, std::ios::binary);
          out.write(it->second.content.data(), static_cast<std::streamsize>(it->second.content.size()));
          if (!out) {
            fs::remove_all(job->dir, ec);
            return SendError(c.res, Status::IOError("cannot store the upload"));
          }
          std::string shown = SafeBaseName(it->second.filename);
          if (shown.empty()) shown = std::string("file-") + std::to_string(i);
          (*names)[p] = shown;
          paths.push_back(p);
        }
        job->files = static_cast<int64_t>(paths.size());
        EnrollJob* j = job.get();
        const int64_t jid = job->id;
        // Recorded before any face is enrolled, so a crash mid-job still leaves a trace.
        Status started = Audit(c.who, "enroll_start", 0, {{"job", jid}, {"source", *source}, {"files", paths.size()}});
        if (!started.ok()) {
          fs::remove_all(job->dir, ec);
          return SendError(c.res, started);
        }
        Principal who = c.who;
        auto body = [this, j, paths, names, who] {
          {
            std::lock_guard<std::mutex> g(j->mu);
            j->state = "running";
          }
          EnrollOptions eo;
          eo.source = j->source;
          eo.uri_of = [names, j](const std::string& p) {
            auto it = names->find(p);
            return "upload:job-" + std::to_string(j->id) + "/" + (it == names->end() ? p : it->second);
          };
          Status failure;
          const size_t chunk = 16;  // release the gallery between chunks so searches go on
          try {
            for (size_t at = 0; at < paths.size() && !stopping; at += chunk) {
              std::vector<std::string> part(paths.begin() + at, paths.begin() + std::min(paths.size(), at + chunk));
              std::lock_guard<std::timed_mutex> g(gallery_mu);
              auto rep = gallery->Enroll(part, eo);
              faces = gallery->size();
              // The new faces join their persons (or wait as pending), under the same hold.
              if (rep.ok())
                if (auto placed = persons->PlaceNewFaces(); !placed.ok())
                  std::fprintf(stderr, "lineup serve: enrolment job %lld: persons not updated: %s\n",
                               static_cast<long long>(j->id), placed.status().message().c_str());
              if (!rep.ok()) {
                failure = rep.status();
                break;
              }
              j->done += rep->files;
              j->faces += rep->faces;
              j->enrolled += rep->enrolled;
              j->duplicates += rep->duplicates;
              std::lock_guard<std::mutex> gj(j->mu);
              for (auto& [p, why] : rep->problems) j->problems.push_back({eo.uri_of(p), why});
            }
          } catch (const std::exception& e) {
            failure = Status::Internal(std::string("enrolment stopped: ") + e.what());
          }
          std::error_code ec2;
          fs::remove_all(j->dir, ec2);
          {
            std::lock_guard<std::mutex> gj(j->mu);
            j->state = !failure.ok() ? "failed" : (j->done < j->files ? "stopped" : "done");
            j->error = failure.ok() ? "" : failure.message();
          }
          (void)Audit(who, "enroll", 0,
                      {{"job", j->id},
                       {"source", j->source},
                       {"files", j->files.load()},
                       {"enrolled", j->enrolled.load()},
                       {"faces", j->faces.load()},
                       {"duplicates", j->duplicates.load()},
                       {"problems", j->problems.size()},
                       {"state", j->state}});
          j->finished = true;
        };
        {
          // The thread is made under the lock that StopJobs takes, so it never sees a
          // job whose thread is not assigned yet.
          std::lock_guard<std::mutex> g(jobs_mu);
          j->thread = std::thread(std::move(body));
          jobs[jid] = std::move(job);
        }
        SendJson(c.res, 202,
                 {{"job", jid}, {"files", paths.size()}, {"status", "/v1/enrollments/" + std::to_string(jid)}});
      });

  Register("GET", "/v1/enrollments/{id}", {kAdmin, kEnroller}, "follow an enrolment job", [this](Call& c) {
    auto id = IdParam(c, 1);
    if (!id.ok()) return SendError(c.res, id.status());
    std::lock_guard<std::mutex> g(jobs_mu);
    auto it = jobs.find(*id);
    if (it == jobs.end() || (c.who.role != Role::kAdmin && it->second->user != c.who.name))
      return SendError(c.res, Status::NotFound("no enrolment job " + std::to_string(*id)));
    EnrollJob& j = *it->second;
    std::lock_guard<std::mutex> gj(j.mu);
    json problems = json::array();
    for (const auto& [p, why] : j.problems) problems.push_back({{"file", p}, {"reason", why}});
    SendJson(c.res, 200,
             {{"job", j.id},
              {"state", j.state},
              {"source", j.source},
              {"files", j.files.load()},
              {"done", j.done.load()},
              {"enrolled", j.enrolled.load()},
              {"faces", j.faces.load()},
              {"duplicates", j.duplicates.load()},
              {"problems", problems},
              {"error", j.error}});
  });

  // ---------------------------------------------------------------- erasure and opt-out
  Register("POST", "/v1/erasures", {kAdmin}, "erase a subject, source or image from the gallery", [this](Call& c) {
    auto body = JsonBody(c.req);
    if (!body.ok()) return SendError(c.res, body.status());
    auto kind = TextField(*body, "kind", true, 16);
    auto key = TextField(*body, "key", true, 500);
    auto reason = TextField(*body, "reason", true, 2000);
    for (const auto* r : {&kind, &key, &reason})
      if (!r->ok()) return SendError(c.res, r->status());
    if (*kind != "subject" && *kind != "source" && *kind != "image")
      return SendError(c.res, Status::InvalidArgument("\"kind\" must be subject, source or image"));
    Result<Catalog::ErasePlan> plan = Status::Internal("unset");
    {
      auto g = LockGallery();
      if (!g.owns_lock()) return SendError(c.res, Busy());
      plan = gallery->Erase(*kind, *key, *reason);
      faces = gallery->size();
    }
    if (!plan.ok()) return SendError(c.res, plan.status());
    if (Status au =
            Audit(c.who, "erase", 0, {{"what", plan->what}, {"faces", plan->face_ids.size()}, {"reason", *reason}});
        !au.ok())
      return SendError(c.res, au);
    SendJson(c.res, 200,
             {{"erased", plan->what},
              {"faces", plan->face_ids.size()},
              {"note", "vector bytes leave the disk at the next compaction (lineup compact)"}});
  });

  Register("POST", "/v1/retention", {kAdmin}, "erase the sources past their retention date now", [this](Call& c) {
    auto r = ApplyRetention(c.who);
    if (!r.ok()) return SendError(c.res, r.status());
    SendJson(c.res, 200, *r);
  });
  Register("POST", "/v1/optouts", {kAdmin}, "record a person's opt-out from a photo of them", [=, this](Call& c) {
    auto reason = FormField(c.req, "reason", true, 2000);
    if (!reason.ok()) return SendError(c.res, reason.status());
    auto bytes = ImageUpload(c.req, "image");
    if (!bytes.ok()) return SendError(c.res, bytes.status());
    auto a = analyse(*bytes, true);
    if (!a.ok()) return SendError(c.res, a.status());
    auto k = choose(*a, 0);
    if (!k.ok()) return SendError(c.res, k.status());
    {
      auto g = LockGallery();
      if (!g.owns_lock()) return SendError(c.res, Busy());
      Status st = gallery->OptOut(a->faces[*k].embedding, *reason);
      if (!st.ok()) return SendError(c.res, st);
    }
    if (Status au = Audit(c.who, "optout", 0, {{"image_sha256", a->sha256}, {"reason", *reason}}); !au.ok())
      return SendError(c.res, au);
    SendJson(c.res, 201, {{"opted_out", true}, {"image_sha256", a->sha256}});
  });

  // ---------------------------------------------------------------- users and tokens
  Register("GET", "/v1/users", {kAdmin}, "list users", [this](Call& c) {
    auto list = accounts->Users();
    if (!list.ok()) return SendError(c.res, list.status());
    json out = json::array();
    for (const auto& u : *list) out.push_back(UserJson(u));
    SendJson(c.res, 200, {{"users", out}});
  });
  Register("POST", "/v1/users", {kAdmin}, "create a user", [this](Call& c) {
    auto body = JsonBody(c.req);
    if (!body.ok()) return SendError(c.res, body.status());
    auto name = TextField(*body, "name", true, 64);
    auto role = TextField(*body, "role", true, 16);
    auto password = TextField(*body, "password", true, 1024);
    for (const auto* r : {&name, &role, &password})
      if (!r->ok()) return SendError(c.res, r->status());
    auto parsed = ParseRole(*role);
    if (!parsed.ok()) return SendError(c.res, parsed.status());
    auto u = accounts->AddUser(*name, *parsed, *password);
    if (!u.ok()) return SendError(c.res, u.status());
    if (Status au = Audit(c.who, "user_add", 0, {{"user", u->name}, {"role", RoleName(u->role)}}); !au.ok())
      return SendError(c.res, au);
    SendJson(c.res, 201, UserJson(*u));
  });
  Register("POST", "/v1/users/{name}", {kAdmin}, "change a user's role or disable them", [this](Call& c) {
    const std::string name = c.Param(1);
    auto body = JsonBody(c.req);
    if (!body.ok()) return SendError(c.res, body.status());
    if (body->contains("role")) {
      auto role = TextField(*body, "role", true, 16);
      if (!role.ok()) return SendError(c.res, role.status());
      auto parsed = ParseRole(*role);
      if (!parsed.ok()) return SendError(c.res, parsed.status());
      Status st = accounts->SetRole(name, *parsed);
      if (!st.ok()) return SendError(c.res, st);
      if (Status au = Audit(c.who, "user_role", 0, {{"user", name}, {"role", *role}}); !au.ok())
        return SendError(c.res, au);
    }
    if (body->contains("disabled")) {
      if (!(*body)["disabled"].is_boolean())
        return SendError(c.res, Status::InvalidArgument("\"disabled\" must be true or false"));
      const bool d = (*body)["disabled"].get<bool>();
      Status st = accounts->SetDisabled(name, d);
      if (!st.ok()) return SendError(c.res, st);
      if (Status au = Audit(c.who, d ? "user_disable" : "user_enable", 0, {{"user", name}}); !au.ok())
        return SendError(c.res, au);
    }
    auto u = accounts->FindUser(name);
    if (!u.ok()) return SendError(c.res, u.status());
    SendJson(c.res, 200, UserJson(*u));
  });
  Register("POST", "/v1/users/{name}/grants", {kAdmin}, "let an enroller enrol into a source", [this](Call& c) {
    const std::string name = c.Param(1);
    auto body = JsonBody(c.req);
    if (!body.ok()) return SendError(c.res, body.status());
    auto source = TextField(*body, "source", true, 200);
    if (!source.ok()) return SendError(c.res, source.status());
    Status st = accounts->GrantSource(name, *source);
    if (!st.ok()) return SendError(c.res, st);
    if (Status au = Audit(c.who, "user_grant", 0, {{"user", name}, {"source", *source}}); !au.ok())
      return SendError(c.res, au);
    auto u = accounts->FindUser(name);
    SendJson(c.res, 200, u.ok() ? UserJson(*u) : json::object());
  });
  Register("POST", "/v1/users/{name}/tokens", {kAdmin}, "issue an API token (shown once)", [this](Call& c) {
    const std::string name = c.Param(1);
    auto body = JsonBody(c.req);
    if (!body.ok()) return SendError(c.res, body.status());
    auto label = TextField(*body, "label", false, 200);
    if (!label.ok()) return SendError(c.res, label.status());
    int days = 90;
    if (body->contains("days")) {
      const json& d = (*body)["days"];
      if (!d.is_number_integer() || d.get<int64_t>() < 1 || d.get<int64_t>() > 3650)
        return SendError(c.res, Status::InvalidArgument("\"days\" must be a whole number from 1 to 3650"));
      days = static_cast<int>(d.get<int64_t>());
    }
    auto t = accounts->CreateToken(name, *label, days);
    if (!t.ok()) return SendError(c.res, t.status());
    if (Status au = Audit(c.who, "token_create", 0,
                          {{"user", name}, {"token_id", t->info.id}, {"expires_at", t->info.expires_at}});
        !au.ok())
      return SendError(c.res, au);
    json j = TokenJson(t->info);
    j["secret"] = t->secret;
    SendJson(c.res, 201, j);
  });
  Register("GET", "/v1/tokens", {kAdmin}, "list API tokens", [this](Call& c) {
    auto list = accounts->Tokens();
    if (!list.ok()) return SendError(c.res, list.status());
    json out = json::array();
    for (const auto& t : *list) out.push_back(TokenJson(t));
    SendJson(c.res, 200, {{"tokens", out}});
  });
  Register("DELETE", "/v1/tokens/{id}", {kAdmin}, "revoke an API token", [this](Call& c) {
    auto id = IdParam(c, 1);
    if (!id.ok()) return SendError(c.res, id.status());
    Status st = accounts->RevokeToken(*id);
    if (!st.ok()) return SendError(c.res, st);
    if (Status au = Audit(c.who, "token_revoke", 0, {{"token_id", *id}}); !au.ok()) return SendError(c.res, au);
    SendJson(c.res, 200, {{"revoked", *id}});
  });

  // ---------------------------------------------------------------- audit
  Register("GET", "/v1/audit", {kAuditor, kAdmin}, "read the audit log", [this](Call& c) {
    AuditFilter f;
    f.since = c.req.get_param_value("since");
    f.actor = c.req.get_param_value("actor");
    f.action = c.req.get_param_value("action");
    try {
      if (c.req.has_param("case")) f.case_id = std::stoll(c.req.get_param_value("case"));
      f.limit = c.req.has_param("limit") ? std::stoll(c.req.get_param_value("limit")) : 200;
    } catch (...) {
      return SendError(c.res, Status::InvalidArgument("case and limit must be numbers"));
    }
    if (f.limit < 1 || f.limit > 10000) return SendError(c.res, Status::InvalidArgument("limit must be 1..10000"));
    auto recs = audit->Records(f);
    if (!recs.ok()) return SendError(c.res, recs.status());
    json out = json::array();
    for (const auto& r : *recs) {
      json d = json::parse(r.details, nullptr, false);
      out.push_back({{"seq", r.seq},
                     {"at", r.at},
                     {"actor", r.actor},
                     {"action", r.action},
                     {"case_id", r.case_id},
                     {"details", d.is_discarded() ? json(r.details) : d},
                     {"prev_hash", r.prev_hash},
                     {"hash", r.hash}});
    }
    SendJson(c.res, 200, {{"records", out}});
  });
  Register("GET", "/v1/audit/verify", {kAuditor, kAdmin}, "check the audit log's hash chain", [this](Call& c) {
    auto v = audit->Verify(c.req.get_param_value("expect_head"));
    if (!v.ok()) return SendError(c.res, v.status());
    SendJson(c.res, 200,
             {{"ok", v->ok},
              {"records", v->records},
              {"first_bad_seq", v->first_bad_seq},
              {"problem", v->problem},
              {"head", v->head}});
  });
  Register("GET", "/v1/stats", {kAuditor, kAdmin}, "read search and review statistics", [this](Call& c) {
    auto s = cases->Stats();
    if (!s.ok()) return SendError(c.res, s.status());
    json per_user = json::array(), per_case = json::array();
    for (const auto& u : s->searches_per_user) per_user.push_back({{"user", u.user}, {"searches", u.searches}});
    for (const auto& k : s->searches_per_case)
      per_case.push_back({{"case_id", k.case_id}, {"title", k.title}, {"searches", k.searches}});
    SendJson(c.res, 200,
             {{"searches", s->searches},
              {"searches_per_user", per_user},
              {"searches_per_case", per_case},
              {"low_quality_share", s->low_quality_share},
              {"above_threshold_share", s->above_threshold_share},
              {"reviews",
               {{"possible_match", s->reviews_possible},
                {"not_a_match", s->reviews_not},
                {"inconclusive", s->reviews_inconclusive},
                {"confirmed", s->reviews_confirmed}}}});
  });
}

void Server::Impl::StopJobs() {
  stopping = true;
  // Whoever calls first takes the threads; a second caller finds none to join.
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> g(jobs_mu);
    for (auto& [id, j] : jobs)
      if (j->thread.joinable()) threads.push_back(std::move(j->thread));
  }
  {
    // A rebuild of persons cannot be stopped midway: one that runs is waited for, one
    // that waits for the gallery gives up (RunReclusterJob).
    std::lock_guard<std::mutex> g(recluster_mu);
    for (auto& [id, j] : recluster_jobs)
      if (j->thread.joinable()) threads.push_back(std::move(j->thread));
  }
  for (std::thread& t : threads) t.join();
}

void Server::Impl::PruneJobs() {
  // Finished jobs stay visible for an hour's worth of polling, at most kKeptJobs of them.
  std::vector<int64_t> finished;
  for (const auto& [id, j] : jobs)
    if (j->finished) finished.push_back(id);
  for (size_t i = 0; i + kKeptJobs < finished.size(); ++i) {
    auto it = jobs.find(finished[i]);
    if (it->second->thread.joinable()) it->second->thread.join();  // already returned
    jobs.erase(it);
  }
}

}  // namespace lineup::server
