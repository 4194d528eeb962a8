// PersonInvestigations: the persons of a gallery (persons.h) as accountable acts, one call
// each, shared by the server, the command line and any later front end.
//
// Looking at persons is looking at the gallery's faces grouped by who they are, so it is
// held to the same rule as a search: an analyst works inside an open case they belong to,
// gives a justification, and every list, view, history and pending-faces read is written
// to the audit log with what it returned (person and face ids, never vectors); if the record cannot be
// written the result is withheld (Unavailable). Every change — name, merge, split, mark,
// undo — needs an open case and a justification from everyone, local operators included,
// and is recorded with what changed. A change whose record cannot be written is taken
// back at once (Persons::Undo, which leaves an "undo" event in the persons' history) and
// answers Unavailable. An undo cannot itself be taken back, so its record is written
// before it runs. Rebuilding all persons (Recluster) is for analysts in a case and for
// admins (who hold no cases), with a justification; it is recorded before it starts and
// again with its counts when it ends.
//
// Local operators (Principal::via "cli") may read without a case or justification; the
// record says so, as for search. Face crops of persons are served (ThumbnailPath) only
// for faces that a recorded view showed to the same caller in the same case (the record
// of faces shown is the catalog's, disclosures.h, so it holds across restarts), so the
// gallery cannot be browsed face by face outside an audited view.
//
// The gallery is only touched inside options.with_gallery (as Investigations does), which
// makes the object safe to use from many threads.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lineup/accounts.h"
#include "lineup/audit_log.h"
#include "lineup/cases.h"
#include "lineup/disclosures.h"
#include "lineup/gallery.h"
#include "lineup/persons.h"
#include "lineup/status.h"

namespace lineup {

// Limits on what one call may ask for.
inline constexpr int64_t kMaxPersonsPerList = 1000;
inline constexpr int64_t kMaxFacesPerView = 2000;
inline constexpr size_t kMaxFacesPerSplit = 1000;

// The case an act belongs to and why it is done.
struct PersonsScope {
  int64_t case_id = 0;  // 0: none (local operators' reads and admins' rebuilds only)
  std::string justification;
};

struct PersonList {
  std::vector<PersonSummary> persons;  // the most doubtful (smallest margin) first
  int64_t total = 0;                   // persons in all
  int64_t pending = 0;                 // faces waiting for a person
  int64_t offset = 0;
  int64_t audit_seq = 0;
};

struct PersonView {
  PersonSummary person;
  std::vector<PersonFace> faces;  // by capture time; at most the view's limit
  int64_t audit_seq = 0;
};

// The faces waiting for a person (persons.h: their nearest faces disagree, or the person
// they point to already has a face of the same photo), to review before a rebuild.
struct PendingFace {
  PersonFace face;   // placed_by "pending"
  PendingVote vote;  // how its close neighbours vote now, and what joining needs
};
struct PendingList {
  std::vector<PendingFace> faces;  // by face id
  int64_t total = 0;              // faces waiting in all
  int64_t offset = 0;
  int64_t audit_seq = 0;
};

struct PersonChange {
  PersonEvent event;   // the persons' own record of the change (Undo takes it back)
  int64_t audit_seq = 0;
};

struct PersonInvestigationsOptions {
  // Runs `body` while holding the gallery; empty: body runs directly.
  std::function<Status(const std::function<Status()>& body)> with_gallery;
  PersonsOptions persons;
  // The record of faces shown, shared with other front ends' objects (it must outlive
  // this one); null: opened from the gallery's catalog on first use.
  Disclosures* disclosures = nullptr;
};

class PersonInvestigations {
 public:
  // All three must outlive this object; `audit` may be null only in tests of the checks.
  PersonInvestigations(Gallery* gallery, Cases* cases, AuditLog* audit, PersonInvestigationsOptions options = {});
  ~PersonInvestigations();

  // Reads. InvalidArgument for limits out of range; NotFound for an unknown person.
  Result<PersonList> List(const Principal& who, const PersonsScope& scope, int64_t offset = 0, int64_t limit = 100);
  Result<PersonView> Show(const Principal& who, const PersonsScope& scope, int64_t person_id, int64_t limit = 500);
  Result<std::vector<PersonEvent>> History(const Principal& who, const PersonsScope& scope, int64_t limit = 200);
  // The faces waiting for a person, with their photos and their neighbours' vote (a
  // search of the index per face shown; recorded as persons_pending with the face ids
  // shown, whose crops ThumbnailPath then serves). InvalidArgument for limits out of
  // range (limit 1 to kMaxFacesPerView).
  Result<PendingList> Pending(const Principal& who, const PersonsScope& scope, int64_t offset = 0,
                              int64_t limit = 200);

  // Changes (persons.h says what each does and when it is refused).
  Result<PersonChange> Name(const Principal& who, const PersonsScope& scope, int64_t person_id, const std::string& name);
  Result<PersonChange> Merge(const Principal& who, const PersonsScope& scope, int64_t a, int64_t b);
  Result<PersonChange> Split(const Principal& who, const PersonsScope& scope, int64_t person_id,
                             const std::vector<int64_t>& face_ids);
  Result<PersonChange> MarkNot(const Principal& who, const PersonsScope& scope, int64_t face_id, int64_t person_id);
  Result<PersonChange> Undo(const Principal& who, const PersonsScope& scope, int64_t event_id);
  // `progress` as Persons::Recluster's (stage, done, total), called on this thread.
  Result<ReclusterReport> Recluster(const Principal& who, const PersonsScope& scope,
                                    const std::function<void(const std::string&, int64_t, int64_t)>& progress = {});
  // What Recluster would refuse before it starts (role, case, justification), without
  // touching the gallery or the audit log: for a front end that runs the rebuild later
  // (the server's background job) and answers the request now.
  Status MayRecluster(const Principal& who, const PersonsScope& scope);

  // The face crop of `face_id` if a recorded answer in `case_id` showed it to `who` — a
  // view of its person, or of the faces waiting for one, or a network answer
  // (PermissionDenied otherwise; NotFound if the face has no crop, e.g. erased since).
  Result<std::string> ThumbnailPath(const Principal& who, int64_t case_id, int64_t face_id);

  // Places the faces enrolled since the last call (Persons::Update): what enrolment calls
  // after each batch, with the gallery already held. Not an analyst's act; the
  // enrolment's own record covers it.
  Result<ReclusterReport> PlaceNewFaces();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The JSON the API and `lineup persons --json` show (docs/service.md): a person with its
// sureness (weakest_link, nearest_other, margin, nearest_person), a face with its photo's
// provenance and box [x, y, w, h], a change, and a rebuild's counts.
nlohmann::json PersonSummaryJson(const PersonSummary& p);
nlohmann::json PersonFaceJson(const PersonFace& f);
nlohmann::json PersonEventJson(const PersonEvent& e);
nlohmann::json ReclusterReportJson(const ReclusterReport& r);
// A waiting face: PersonFaceJson with "vote" (close_neighbours, leading_person,
// leading_neighbours, leading_share, share_needed, reason).
nlohmann::json PendingFaceJson(const PendingFace& f);

}  // namespace lineup
