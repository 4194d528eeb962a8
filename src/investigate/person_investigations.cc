#include "lineup/person_investigations.h"

#include <cmath>
#include <utility>

#include <nlohmann/json.hpp>

#include "investigate/face_crops.h"
#include "lineup/accountability.h"

namespace lineup {

namespace {

using json = nlohmann::json;

// A page of a list: offset from 0, limit 1 to `max`.
Status CheckPage(int64_t offset, int64_t limit, int64_t max) {
  if (offset < 0) return Status::InvalidArgument("an offset must not be negative");
  if (limit < 1 || limit > max) return Status::InvalidArgument("a limit must be 1 to " + std::to_string(max));
  return Status::OK();
}

template <typename T, typename IdOf>
json Ids(const std::vector<T>& items, IdOf id_of) {
  json ids = json::array();
  for (const T& x : items) ids.push_back(id_of(x));
  return ids;
}

json EventDetails(const PersonEvent& e) {
  json d = json::parse(e.details, nullptr, false);
  return d.is_object() ? d : json::object();
}

}  // namespace

struct PersonInvestigations::Impl {
  Gallery* gallery;
  Accountability accountability;
  PersonInvestigationsOptions options;
  std::unique_ptr<Persons> persons;  // opened on first use, with the gallery held
  FaceCrops crops;

  Status WithGallery(const std::function<Status()>& body) {
    if (!gallery) return Status::FailedPrecondition("no gallery");
    return options.with_gallery ? options.with_gallery(body) : body();
  }
  // With the gallery held.
  Status Ready() {
    if (persons) return Status::OK();
    auto p = Persons::Open(*gallery, options.persons);
    if (!p.ok()) return p.status().WithContext("persons");
    persons = std::move(*p);
    return Status::OK();
  }

  Status AuthoriseRead(const Principal& who, const PersonsScope& scope, const std::string& what) {
    return accountability.Authorise(who, scope.case_id, scope.justification, what, {Role::kAnalyst}, true);
  }
  // Every change needs an open case and a justification, whoever makes it.
  Status AuthoriseChange(const Principal& who, const PersonsScope& scope, const std::string& what) {
    if (Status s = accountability.Authorise(who, scope.case_id, scope.justification, what, {Role::kAnalyst}, true);
        !s.ok())
      return s;
    if (scope.case_id == 0) return Status::InvalidArgument(what + " needs an open case");
    if (scope.justification.empty()) return Status::InvalidArgument(what + " needs a justification");
    return Status::OK();
  }

  // The faces a recorded read showed, for their crops (Unavailable: withhold the read).
  Status Disclose(const Principal& who, int64_t case_id, const json& face_ids, int64_t audit_seq) {
    return crops.Disclose(who, case_id, face_ids.get<std::vector<int64_t>>(), audit_seq);
  }

  // A recorded read of one page of a list (persons, waiting faces): checks the caller
  // and the page, runs `fetch` with the gallery held, and records `action` with the
  // justification, the page and what `shown()` says was returned. The record's seq, or
  // why the read is refused or withheld.
  Result<int64_t> ReadPage(const Principal& who, const PersonsScope& scope, const std::string& what,
                           const std::string& action, int64_t offset, int64_t limit, int64_t max,
                           const std::function<Status()>& fetch, const std::function<json()>& shown) {
    if (Status s = AuthoriseRead(who, scope, what); !s.ok()) return s;
    if (Status s = CheckPage(offset, limit, max); !s.ok()) return s;
    Status st = WithGallery([&]() -> Status {
      if (Status r = Ready(); !r.ok()) return r;
      return fetch();
    });
    if (!st.ok()) return st;
    json details = shown();
    details["justification"] = scope.justification;
    details["offset"] = offset;
    details["limit"] = limit;
    return accountability.Record(who, action, scope.case_id, details);
  }

  // A change: checks, runs it and records it with the gallery held; if the record cannot
  // be written, the change is taken back.
  Result<PersonChange> Change(const Principal& who, const PersonsScope& scope, const std::string& what,
                              const std::string& action, const std::function<Result<PersonEvent>(Persons&)>& run) {
    if (Status s = AuthoriseChange(who, scope, what); !s.ok()) return s;
    PersonChange out;
    Status st = WithGallery([&]() -> Status {
      if (Status r = Ready(); !r.ok()) return r;
      auto e = run(*persons);
      if (!e.ok()) return e.status();
      out.event = *e;
      auto seq = accountability.Record(
          who, action, scope.case_id,
          {{"justification", scope.justification}, {"event", e->id}, {"change", EventDetails(*e)}});
      if (!seq.ok()) {
        auto undone = persons->Undo(e->id, who.name);
        if (!undone.ok())
          return Status::Unavailable("the audit log cannot be written, and the " + what + " could not be taken back (" +
                                     undone.status().message() + "): " + seq.status().message());
        return Status::Unavailable("the " + what + " was taken back: " + seq.status().message());
      }
      out.audit_seq = *seq;
      return Status::OK();
    });
    if (!st.ok()) return st;
    return out;
  }
};

PersonInvestigations::PersonInvestigations(Gallery* gallery, Cases* cases, AuditLog* audit,
                                           PersonInvestigationsOptions options)
    : impl_(new Impl{gallery, Accountability(cases, audit), options, nullptr,
                     FaceCrops(gallery, options.disclosures, options.with_gallery)}) {}
PersonInvestigations::~PersonInvestigations() = default;

Result<PersonList> PersonInvestigations::List(const Principal& who, const PersonsScope& scope, int64_t offset,
                                              int64_t limit) {
  Impl& m = *impl_;
  PersonList out;
  out.offset = offset;
  auto seq = m.ReadPage(
      who, scope, "listing persons", "persons_list", offset, limit, kMaxPersonsPerList,
      [&]() -> Status {
        auto all = m.persons->List();
        if (!all.ok()) return all.status();
        auto pending = m.persons->PendingFaces();
        if (!pending.ok()) return pending.status();
        out.total = static_cast<int64_t>(all->size());
        out.pending = static_cast<int64_t>(pending->size());
        for (int64_t i = offset; i < out.total && i < offset + limit; ++i)
          out.persons.push_back(std::move((*all)[static_cast<size_t>(i)]));
        return Status::OK();
      },
      [&]() -> json {
        return {{"total", out.total},
                {"pending", out.pending},
                {"persons", Ids(out.persons, [](const PersonSummary& p) { return p.id; })}};
      });
  if (!seq.ok()) return seq.status();
  out.audit_seq = *seq;
  return out;
}

Result<PersonView> PersonInvestigations::Show(const Principal& who, const PersonsScope& scope, int64_t person_id,
                                              int64_t limit) {
  Impl& m = *impl_;
  if (Status s = m.AuthoriseRead(who, scope, "viewing a person"); !s.ok()) return s;
  if (person_id <= 0) return Status::InvalidArgument("a person id is a positive whole number");
  if (Status s = CheckPage(0, limit, kMaxFacesPerView); !s.ok()) return s;
  PersonView out;
  Status st = m.WithGallery([&]() -> Status {
    if (Status r = m.Ready(); !r.ok()) return r;
    auto p = m.persons->Get(person_id);
    if (!p.ok()) return p.status();
    auto f = m.persons->Faces(person_id);
    if (!f.ok()) return f.status();
    out.person = std::move(*p);
    out.faces = std::move(*f);
    if (static_cast<int64_t>(out.faces.size()) > limit) out.faces.resize(static_cast<size_t>(limit));
    return Status::OK();
  });
  if (!st.ok()) return st;
  const json ids = Ids(out.faces, [](const PersonFace& f) { return f.face_id; });
  auto seq = m.accountability.Record(who, "persons_show", scope.case_id,
                                     {{"justification", scope.justification},
                                      {"person", person_id},
                                      {"name", out.person.name},
                                      {"total_faces", out.person.faces},
                                      {"faces", ids}});
  if (!seq.ok()) return seq.status();
  out.audit_seq = *seq;
  if (Status s = m.Disclose(who, scope.case_id, ids, out.audit_seq); !s.ok()) return s;
  return out;
}

Result<std::vector<PersonEvent>> PersonInvestigations::History(const Principal& who, const PersonsScope& scope,
                                                               int64_t limit) {
  Impl& m = *impl_;
  if (Status s = m.AuthoriseRead(who, scope, "reading the persons' history"); !s.ok()) return s;
  if (limit < 1 || limit > 10000) return Status::InvalidArgument("a limit must be 1 to 10000");
  std::vector<PersonEvent> out;
  Status st = m.WithGallery([&]() -> Status {
    if (Status r = m.Ready(); !r.ok()) return r;
    auto h = m.persons->History(limit);
    if (!h.ok()) return h.status();
    out = std::move(*h);
    return Status::OK();
  });
  if (!st.ok()) return st;
  auto seq = m.accountability.Record(who, "persons_history", scope.case_id,
                                     {{"justification", scope.justification},
                                      {"limit", limit},
                                      {"events", Ids(out, [](const PersonEvent& e) { return e.id; })}});
  if (!seq.ok()) return seq.status();
  return out;
}

Result<PendingList> PersonInvestigations::Pending(const Principal& who, const PersonsScope& scope, int64_t offset,
                                                  int64_t limit) {
  Impl& m = *impl_;
  PendingList out;
  out.offset = offset;
  auto face_ids = [&] { return Ids(out.faces, [](const PendingFace& f) { return f.face.face_id; }); };
  auto seq = m.ReadPage(
      who, scope, "viewing the faces waiting for a person", "persons_pending", offset, limit, kMaxFacesPerView,
      [&]() -> Status {
        auto all = m.persons->PendingFaces();
        if (!all.ok()) return all.status();
        out.total = static_cast<int64_t>(all->size());
        auto faces = m.persons->PendingFaceList(offset, limit);
        if (!faces.ok()) return faces.status();
        std::vector<int64_t> ids;
        for (const PersonFace& f : *faces) ids.push_back(f.face_id);
        auto votes = m.persons->PendingVotes(ids);
        if (!votes.ok()) return votes.status().WithContext("the waiting faces' neighbours");
        for (size_t i = 0; i < faces->size(); ++i)
          out.faces.push_back({std::move((*faces)[i]), std::move((*votes)[i])});
        return Status::OK();
      },
      [&]() -> json { return {{"total", out.total}, {"faces", face_ids()}}; });
  if (!seq.ok()) return seq.status();
  out.audit_seq = *seq;
  if (Status s = m.Disclose(who, scope.case_id, face_ids(), out.audit_seq); !s.ok()) return s;
  return out;
}

Result<PersonChange> PersonInvestigations::Name(const Principal& who, const PersonsScope& scope, int64_t person_id,
                                                const std::string& name) {
  return impl_->Change(who, scope, "naming a person", "person_name",
                       [&](Persons& p) { return p.Name(person_id, name, who.name); });
}

Result<PersonChange> PersonInvestigations::Merge(const Principal& who, const PersonsScope& scope, int64_t a,
                                                 int64_t b) {
  return impl_->Change(who, scope, "merging persons", "person_merge",
                       [&](Persons& p) { return p.Merge(a, b, who.name); });
}

Result<PersonChange> PersonInvestigations::Split(const Principal& who, const PersonsScope& scope, int64_t person_id,
                                                 const std::vector<int64_t>& face_ids) {
  if (face_ids.size() > kMaxFacesPerSplit)
    return Status::InvalidArgument("a split moves at most " + std::to_string(kMaxFacesPerSplit) + " faces at once");
  return impl_->Change(who, scope, "splitting a person", "person_split",
                       [&](Persons& p) { return p.Split(person_id, face_ids, who.name); });
}

Result<PersonChange> PersonInvestigations::MarkNot(const Principal& who, const PersonsScope& scope, int64_t face_id,
                                                   int64_t person_id) {
  return impl_->Change(who, scope, "marking a face", "person_mark",
                       [&](Persons& p) { return p.MarkNot(face_id, person_id, who.name); });
}

Result<PersonChange> PersonInvestigations::Undo(const Principal& who, const PersonsScope& scope, int64_t event_id) {
  Impl& m = *impl_;
  const std::string what = "undoing a change";
  if (Status s = m.AuthoriseChange(who, scope, what); !s.ok()) return s;
  if (event_id <= 0) return Status::InvalidArgument("a change id is a positive whole number");
  PersonChange out;
  Status st = m.WithGallery([&]() -> Status {
    if (Status r = m.Ready(); !r.ok()) return r;
    // What is taken back, found first so that the record can say it (and a change that
    // cannot be undone is refused before anything is recorded).
    auto found = m.persons->Event(event_id);
    if (!found.ok()) return found.status();
    const PersonEvent* target = &*found;
    if (target->undone_by)
      return Status::FailedPrecondition("change " + std::to_string(event_id) + " was undone already");
    if (target->action == "undo") return Status::FailedPrecondition("an undo is not undone; make the change again");
    // An undo cannot be taken back: its record comes first.
    auto seq = m.accountability.Record(who, "person_undo", scope.case_id,
                                       {{"justification", scope.justification},
                                        {"undoes", event_id},
                                        {"action", target->action},
                                        {"by", target->actor},
                                        {"change", EventDetails(*target)}});
    if (!seq.ok()) return seq.status();
    out.audit_seq = *seq;
    auto u = m.persons->Undo(event_id, who.name);
    if (!u.ok()) {
      (void)m.accountability.Record(who, "person_undo_failed", scope.case_id,
                                    {{"undoes", event_id}, {"error", u.status().message()}});
      return u.status();
    }
    out.event = *u;
    return Status::OK();
  });
  if (!st.ok()) return st;
  return out;
}

Status PersonInvestigations::MayRecluster(const Principal& who, const PersonsScope& scope) {
  Impl& m = *impl_;
  const std::string what = "rebuilding persons";
  // Admins hold no cases: they rebuild with a justification alone.
  const bool admin = !IsLocal(who) && who.role == Role::kAdmin;
  if (Status s = m.accountability.Authorise(who, scope.case_id, scope.justification, what,
                                            {Role::kAnalyst, Role::kAdmin}, !admin);
      !s.ok())
    return s;
  if (scope.justification.empty()) return Status::InvalidArgument(what + " needs a justification");
  return Status::OK();
}

Result<ReclusterReport> PersonInvestigations::Recluster(
    const Principal& who, const PersonsScope& scope,
    const std::function<void(const std::string&, int64_t, int64_t)>& progress) {
  Impl& m = *impl_;
  if (Status s = MayRecluster(who, scope); !s.ok()) return s;
  ReclusterReport out;
  Status st = m.WithGallery([&]() -> Status {
    if (Status r = m.Ready(); !r.ok()) return r;
    // A rebuild cannot be taken back: recorded before it starts.
    auto before = m.accountability.Record(who, "persons_recluster", scope.case_id,
                                          {{"justification", scope.justification}, {"faces", m.gallery->size()}});
    if (!before.ok()) return before.status();
    auto r = m.persons->Recluster(progress);
    if (!r.ok()) {
      (void)m.accountability.Record(who, "persons_recluster_failed", scope.case_id, {{"error", r.status().message()}});
      return r.status();
    }
    out = *r;
    auto after = m.accountability.Record(who, "persons_recluster_done", scope.case_id,
                                         {{"faces", out.faces},
                                          {"persons", out.persons},
                                          {"pending", out.pending},
                                          {"singletons", out.singletons},
                                          {"links", out.links},
                                          {"kept_apart", out.kept_apart}});
    if (!after.ok())
      return Status::Unavailable("persons were rebuilt (the start is recorded), but the end could not be: " +
                                 after.status().message());
    return Status::OK();
  });
  if (!st.ok()) return st;
  return out;
}

Result<std::string> PersonInvestigations::ThumbnailPath(const Principal& who, int64_t case_id, int64_t face_id) {
  Impl& m = *impl_;
  return m.crops.Path(m.accountability, who, case_id, face_id, "view its person first");
}

json PersonSummaryJson(const PersonSummary& p) {
  auto r4 = [](double v) { return std::round(v * 1e4) / 1e4; };
  return {{"id", p.id},
          {"name", p.name},
          {"faces", p.faces},
          {"photos", p.photos},
          {"weakest_link", r4(p.weakest_link)},
          {"nearest_other", r4(p.nearest_other)},
          {"margin", r4(p.margin())},
          {"nearest_person", p.nearest_person},
          {"first_seen", p.first_seen},
          {"last_seen", p.last_seen}};
}

json PersonFaceJson(const PersonFace& f) {
  return {{"face_id", f.face_id},
          {"image_id", f.image_id},
          {"image", f.image_uri},
          {"image_sha256", f.image_sha256},
          {"captured_at", f.captured_at},
          {"source", f.source},
          {"box", {std::lround(f.box.x), std::lround(f.box.y), std::lround(f.box.width), std::lround(f.box.height)}},
          {"quality", std::round(f.quality * 1000) / 1000},
          {"placed_by", f.placed_by}};
}

json PersonEventJson(const PersonEvent& e) {
  return {{"id", e.id},
          {"at", e.at},
          {"actor", e.actor},
          {"action", e.action},
          {"details", EventDetails(e)},
          {"undone_by", e.undone_by}};
}

json ReclusterReportJson(const ReclusterReport& r) {
  return {{"faces", r.faces},
          {"persons", r.persons},
          {"pending", r.pending},
          {"singletons", r.singletons},
          {"links", r.links},
          {"kept_apart", r.kept_apart},
          {"seconds_knn", std::round(r.seconds_knn * 1000) / 1000},
          {"seconds_cluster", std::round(r.seconds_cluster * 1000) / 1000}};
}

json PendingFaceJson(const PendingFace& f) {
  json j = PersonFaceJson(f.face);
  const PendingVote& v = f.vote;
  j["vote"] = {{"close_neighbours", v.close_neighbours},
               {"leading_person", v.leading_person},
               {"leading_neighbours", v.leading_neighbours},
               {"leading_share", std::round(v.leading_share * 1000) / 1000},
               {"share_needed", v.share_needed},
               {"reason", v.reason}};
  return j;
}

Result<ReclusterReport> PersonInvestigations::PlaceNewFaces() {
  Impl& m = *impl_;
  if (!m.gallery) return Status::FailedPrecondition("no gallery");
  if (Status r = m.Ready(); !r.ok()) return r;
  return m.persons->Update();
}

}  // namespace lineup
