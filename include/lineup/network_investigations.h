// NetworkInvestigations: the co-appearance network (network.h) as accountable acts, one
// call each, shared by the server, the command line and any later front end.
//
// Asking who appears with whom is looking at the gallery, so each query is held to the
// rule of a search: an analyst works inside an open case they belong to and gives a
// justification; every answer is written to the audit log with what it returned (person
// ids, tie counts, image ids — never photos or vectors) and is withheld (Unavailable) if
// that record cannot be written. Local operators (Principal::via "cli") may query
// without a case or justification, and the record says so, as for search.
//
// Each query builds the network afresh from the live catalog and persons, so an erased
// or opted-out person and their ties are gone from the next answer at once. Every answer
// carries the network's report: how many faces were left out because their source does
// not allow the purpose "network", and the others left out (unplaced, opted out). Every
// answer is a lead for review (kNetworkNotice), never a finding.
//
// Face crops (ThumbnailPath) are served only for faces that a recorded answer showed to
// the same caller in the same case (disclosures.h: the catalog's record, shared with
// persons' answers, so it holds across restarts). The gallery is only touched inside
// options.with_gallery, which makes the object safe to use from many threads.
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
#include "lineup/network.h"
#include "lineup/person_investigations.h"
#include "lineup/status.h"

namespace lineup {

// What every network answer says about itself.
extern const char kNetworkNotice[];

// Limits on what one query may ask for.
inline constexpr int kMaxNetworkTop = 1000;         // associates, brokers
inline constexpr int kMaxNeighbourhoodNodes = 200;  // a drawing
inline constexpr int kMaxNeighbourhoodDepth = 3;

// The case a query belongs to and why it is made (as for persons).
using NetworkScope = PersonsScope;

// What every answer carries: the network's report (what it used and left out), the
// persons the answer names (with names and a representative face, by id), and the seq
// of its audit record.
struct NetworkAnswer {
  NetworkReport report;
  std::vector<NetworkPerson> people;
  int64_t audit_seq = 0;
};

// A person of the gallery who is not in the network (all their faces come from sources
// that do not allow it, or are opted out) has an answer with in_network false and nothing
// else: that is something to know, not an error. An id that is no person is NotFound.
struct AssociatesAnswer : NetworkAnswer {
  bool in_network = true;
  NetworkPerson person;
  std::vector<Associate> associates;
};

struct PathAnswer : NetworkAnswer {
  NetworkPath path;
};

struct CommunitiesAnswer : NetworkAnswer {
  CommunityReport communities;
};

struct BrokersAnswer : NetworkAnswer {
  std::string algorithm;  // the communities brokers are counted against
  std::vector<Broker> brokers;
};

struct NeighbourhoodAnswer : NetworkAnswer {
  bool in_network = true;
  Neighbourhood neighbourhood;
  std::vector<Tie> ties;  // one per edge, with its shared photos (for "what links these two")
};

struct ExportAnswer : NetworkAnswer {
  std::string format;  // "graphml" or "json"
  std::string text;
};

struct NetworkInvestigationsOptions {
  // Runs `body` while holding the gallery; empty: body runs directly.
  std::function<Status(const std::function<Status()>& body)> with_gallery;
  NetworkOptions network;
  PersonsOptions persons;
  // The record of faces shown (as PersonInvestigationsOptions::disclosures).
  Disclosures* disclosures = nullptr;
};

class NetworkInvestigations {
 public:
  // All three must outlive this object; `audit` may be null only in tests of the checks.
  NetworkInvestigations(Gallery* gallery, Cases* cases, AuditLog* audit, NetworkInvestigationsOptions options = {});
  ~NetworkInvestigations();

  // Each: PermissionDenied for a role other than analyst or a case the caller is not a
  // member of; InvalidArgument for a missing case or justification (signed-in callers),
  // ids that are not positive, or limits out of range; NotFound for a person not in the
  // network (or, for Path, two persons no chain joins); Unavailable if the audit record
  // cannot be written (the answer is withheld). Associates and Neighbourhood of a person
  // who is not in the network answer in_network false (see AssociatesAnswer).
  Result<AssociatesAnswer> Associates(const Principal& who, const NetworkScope& scope, int64_t person, int top = 10);
  Result<PathAnswer> Path(const Principal& who, const NetworkScope& scope, int64_t a, int64_t b);
  // algorithm: "" (the options' default, leiden:modularity), "leiden:modularity",
  // "louvain" or "infomap".
  Result<CommunitiesAnswer> Communities(const Principal& who, const NetworkScope& scope,
                                        const std::string& algorithm = "");
  Result<BrokersAnswer> Brokers(const Principal& who, const NetworkScope& scope, int top = 10,
                                const std::string& algorithm = "");
  Result<NeighbourhoodAnswer> Neighbourhood(const Principal& who, const NetworkScope& scope, int64_t person,
                                            int depth = 1, int max_nodes = 30);
  // The whole network as "graphml" or "json" text (network.h's ToGraphML, ToJson).
  Result<ExportAnswer> Export(const Principal& who, const NetworkScope& scope, const std::string& format);

  // The face crop of `face_id` if a recorded answer in `case_id` showed it to `who` (a
  // network answer or a persons' view; PermissionDenied otherwise; NotFound if the face
  // has no crop, e.g. erased since).
  Result<std::string> ThumbnailPath(const Principal& who, int64_t case_id, int64_t face_id);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The JSON the API and `lineup network --json` show (docs/service.md). `thumbnail`, if
// given, turns a face id into a URL added to persons and shared photos (whose JSON is
// network.h's SharedPhotoJson, as in exports).
nlohmann::json NetworkReportJson(const NetworkReport& r);
nlohmann::json AssociatesAnswerJson(const AssociatesAnswer& a, const ThumbnailUrl& thumbnail = {});
nlohmann::json PathAnswerJson(const PathAnswer& a, const ThumbnailUrl& thumbnail = {});
nlohmann::json CommunitiesAnswerJson(const CommunitiesAnswer& a, const ThumbnailUrl& thumbnail = {});
nlohmann::json BrokersAnswerJson(const BrokersAnswer& a, const ThumbnailUrl& thumbnail = {});
nlohmann::json NeighbourhoodAnswerJson(const NeighbourhoodAnswer& a, const ThumbnailUrl& thumbnail = {});

// "person 12" for an unnamed person, else its name.
std::string PersonLabel(const NetworkPerson& p);

}  // namespace lineup
