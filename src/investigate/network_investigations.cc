#include "lineup/network_investigations.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <utility>

#include "investigate/face_crops.h"
#include "lineup/accountability.h"
#include "lineup/models.h"

namespace lineup {

const char kNetworkNotice[] =
    "Co-appearances are leads for review, not findings: two faces in one photo do not show that two people know "
    "each other, and each person is a machine's grouping of faces.";

namespace {

using json = nlohmann::json;

// An audit record holds at most this many ids per list (and the list's full length), so
// that a large answer cannot outgrow the record (64 KiB) and be withheld for it; the
// SHA-256 of the whole answer is recorded beside them.
constexpr size_t kMaxAuditedIds = 1000;

const char* const kAlgorithms[] = {"leiden:modularity", "louvain", "infomap"};

void PutList(json& details, const std::string& key, json list) {
  if (list.size() > kMaxAuditedIds) {
    details[key + "_total"] = list.size();
    json kept = json::array();
    for (size_t i = 0; i < kMaxAuditedIds; ++i) kept.push_back(std::move(list[i]));
    list = std::move(kept);
  }
  details[key] = std::move(list);
}

json ImageIds(const std::set<int64_t>& ids) { return json(std::vector<int64_t>(ids.begin(), ids.end())); }

double Round(double v, double scale) { return std::round(v * scale) / scale; }

json PersonJson(const NetworkPerson& p, const ThumbnailUrl& thumbnail) {
  json j = {{"id", p.id},       {"name", CleanUtf8(p.name)}, {"label", CleanUtf8(PersonLabel(p))}, {"faces", p.faces},
            {"photos", p.photos}, {"ties", p.ties}, {"face_id", p.face_id}};
  if (thumbnail && p.face_id > 0) j["thumbnail"] = thumbnail(p.face_id);
  return j;
}

json PhotosJson(const std::vector<SharedPhoto>& photos, const ThumbnailUrl& thumbnail) {
  json arr = json::array();
  for (const SharedPhoto& p : photos) arr.push_back(SharedPhotoJson(p, thumbnail));
  return arr;
}

// What every answer's JSON starts with.
json AnswerJson(const NetworkAnswer& a, const ThumbnailUrl& thumbnail) {
  json people = json::array();
  for (const NetworkPerson& p : a.people) people.push_back(PersonJson(p, thumbnail));
  return {{"notice", kNetworkNotice},
          {"report", NetworkReportJson(a.report)},
          {"people", people},
          {"audit_seq", a.audit_seq}};
}

}  // namespace

std::string PersonLabel(const NetworkPerson& p) {
  return p.name.empty() ? "person " + std::to_string(p.id) : p.name;
}

struct NetworkInvestigations::Impl {
  Gallery* gallery;
  Accountability accountability;
  NetworkInvestigationsOptions options;
  std::unique_ptr<Persons> persons;  // opened on first use, with the gallery held
  FaceCrops crops;

  Status Authorise(const Principal& who, const NetworkScope& scope, const std::string& what) const {
    if (!gallery) return Status::FailedPrecondition("no gallery");
    return accountability.Authorise(who, scope.case_id, scope.justification, what, {Role::kAnalyst}, true);
  }

  // Builds the network from the live catalog and persons, with the gallery held. With
  // `person`, also the gallery's record of that person (NotFound if there is none).
  Result<CoAppearanceNetwork> Build(int64_t person = 0, PersonSummary* summary = nullptr) {
    Result<CoAppearanceNetwork> out = Status::Internal("network not built");
    auto body = [&]() -> Status {
      if (!persons) {
        auto p = Persons::Open(*gallery, options.persons);
        if (!p.ok()) return p.status().WithContext("persons");
        persons = std::move(*p);
      }
      if (person > 0) {
        auto p = persons->Get(person);
        if (!p.ok()) return p.status();
        if (summary) *summary = *p;
      }
      out = CoAppearanceNetwork::Build(*gallery, *persons, options.network);
      return out.ok() ? Status::OK() : out.status();
    };
    Status st = options.with_gallery ? options.with_gallery(body) : body();
    if (!st.ok()) return st;
    return out;
  }

  // The record every answer ends with: the scope, the query, what it returned, what the
  // network left out, and the SHA-256 of the answer's JSON (compact, as *AnswerJson makes
  // it without thumbnails, with audit_seq 0: the record's number is not known yet).
  // Fills `answer.audit_seq`, or Unavailable (withhold it).
  Status Record(const Principal& who, const NetworkScope& scope, const std::string& action, json details,
                const json& shown_json, NetworkAnswer& answer) {
    details["justification"] = scope.justification;
    details["network"] = {{"persons", answer.report.persons},
                          {"ties", answer.report.ties},
                          {"faces", answer.report.faces},
                          {"faces_left_out_purpose", answer.report.faces_left_out_purpose},
                          {"faces_unplaced", answer.report.faces_unplaced},
                          {"faces_opted_out", answer.report.faces_opted_out}};
    details["answer_sha256"] = Sha256Hex(shown_json.dump());
    auto seq = accountability.Record(who, action, scope.case_id, details);
    if (!seq.ok()) return seq.status();
    answer.audit_seq = *seq;
    return Status::OK();
  }

  // The faces a recorded answer showed, for their crops (Unavailable: withhold it).
  Status Disclose(const Principal& who, const NetworkScope& scope, const std::set<int64_t>& faces,
                  const NetworkAnswer& answer) {
    return crops.Disclose(who, scope.case_id, std::vector<int64_t>(faces.begin(), faces.end()), answer.audit_seq);
  }
};

namespace {

// The persons an answer names, in the order given (each once).
std::vector<NetworkPerson> PeopleOf(const CoAppearanceNetwork& net, const std::vector<int64_t>& ids) {
  std::vector<NetworkPerson> out;
  std::set<int64_t> seen;
  for (int64_t id : ids) {
    if (!seen.insert(id).second) continue;
    auto p = net.Person(id);
    if (p.ok()) out.push_back(*p);
  }
  return out;
}

// The faces an answer shows: the people's representative faces and both faces of every
// shared photo.
std::set<int64_t> FacesOf(const NetworkAnswer& a, const std::vector<const std::vector<SharedPhoto>*>& photos) {
  std::set<int64_t> out;
  for (const NetworkPerson& p : a.people)
    if (p.face_id > 0) out.insert(p.face_id);
  for (const auto* list : photos)
    for (const SharedPhoto& p : *list) out.insert({p.face_a, p.face_b});
  return out;
}

Status CheckTop(int top, const std::string& what) {
  if (top < 1 || top > kMaxNetworkTop)
    return Status::InvalidArgument(what + ": top must be 1 to " + std::to_string(kMaxNetworkTop));
  return Status::OK();
}
Status CheckPerson(int64_t id) {
  if (id <= 0) return Status::InvalidArgument("a person id is a positive whole number");
  return Status::OK();
}
Status CheckAlgorithm(const std::string& algorithm) {
  if (algorithm.empty() || std::find(std::begin(kAlgorithms), std::end(kAlgorithms), algorithm) != std::end(kAlgorithms))
    return Status::OK();
  return Status::InvalidArgument("unknown community algorithm (leiden:modularity, louvain, infomap)");
}

}  // namespace

NetworkInvestigations::NetworkInvestigations(Gallery* gallery, Cases* cases, AuditLog* audit,
                                             NetworkInvestigationsOptions options)
    : impl_(new Impl{gallery, Accountability(cases, audit), options, nullptr,
                     FaceCrops(gallery, options.disclosures, options.with_gallery)}) {}
NetworkInvestigations::~NetworkInvestigations() = default;

Result<AssociatesAnswer> NetworkInvestigations::Associates(const Principal& who, const NetworkScope& scope,
                                                           int64_t person, int top) {
  Impl& m = *impl_;
  if (Status s = m.Authorise(who, scope, "a network query"); !s.ok()) return s;
  if (Status s = CheckPerson(person); !s.ok()) return s;
  if (Status s = CheckTop(top, "associates"); !s.ok()) return s;
  PersonSummary summary;
  auto net = m.Build(person, &summary);
  if (!net.ok()) return net.status();
  AssociatesAnswer out;
  out.report = net->report();
  auto me = net->Person(person);
  if (me.ok()) {
    out.person = *me;
    auto list = net->Associates(person, top);
    if (!list.ok()) return list.status();
    out.associates = std::move(*list);
  } else {
    out.in_network = false;
    out.person.id = person;
    out.person.name = summary.name;
  }
  std::vector<int64_t> ids{person};
  json returned = json::array();
  std::set<int64_t> images;
  for (const Associate& a : out.associates) {
    ids.push_back(a.person);
    returned.push_back({a.person, a.shared_photos});
    for (const SharedPhoto& p : a.photos) images.insert(p.image_id);
  }
  out.people = PeopleOf(*net, ids);
  json details = {{"person", person}, {"top", top}, {"in_network", out.in_network}};
  PutList(details, "associates", std::move(returned));
  PutList(details, "images", ImageIds(images));
  if (Status s = m.Record(who, scope, "network_associates", std::move(details), AssociatesAnswerJson(out), out);
      !s.ok())
    return s;
  std::vector<const std::vector<SharedPhoto>*> photos;
  for (const Associate& a : out.associates) photos.push_back(&a.photos);
  if (Status s = m.Disclose(who, scope, FacesOf(out, photos), out); !s.ok()) return s;
  return out;
}

Result<PathAnswer> NetworkInvestigations::Path(const Principal& who, const NetworkScope& scope, int64_t a,
                                               int64_t b) {
  Impl& m = *impl_;
  if (Status s = m.Authorise(who, scope, "a network query"); !s.ok()) return s;
  if (Status s = CheckPerson(a); !s.ok()) return s;
  if (Status s = CheckPerson(b); !s.ok()) return s;
  auto net = m.Build();
  if (!net.ok()) return net.status();
  PathAnswer out;
  out.report = net->report();
  auto path = net->Path(a, b);
  if (!path.ok()) {
    // "Not connected" is an answer too, and is recorded as one.
    if (path.status().code() == Status::Code::kNotFound && net->Person(a).ok() && net->Person(b).ok()) {
      out.people = PeopleOf(*net, {a, b});
      if (Status s = m.Record(who, scope, "network_path", {{"a", a}, {"b", b}, {"connected", false}},
                              PathAnswerJson(out), out);
          !s.ok())
        return s;
    }
    return path.status();
  }
  out.path = std::move(*path);
  out.people = PeopleOf(*net, out.path.persons);
  json links = json::array();
  std::set<int64_t> images;
  for (const PathLink& l : out.path.links) {
    links.push_back({l.from, l.to, static_cast<int64_t>(l.photos.size())});
    for (const SharedPhoto& p : l.photos) images.insert(p.image_id);
  }
  json details = {{"a", a}, {"b", b}, {"connected", true}, {"persons", out.path.persons}};
  PutList(details, "links", std::move(links));
  PutList(details, "images", ImageIds(images));
  if (Status s = m.Record(who, scope, "network_path", std::move(details), PathAnswerJson(out), out); !s.ok()) return s;
  std::vector<const std::vector<SharedPhoto>*> photos;
  for (const PathLink& l : out.path.links) photos.push_back(&l.photos);
  if (Status s = m.Disclose(who, scope, FacesOf(out, photos), out); !s.ok()) return s;
  return out;
}

Result<CommunitiesAnswer> NetworkInvestigations::Communities(const Principal& who, const NetworkScope& scope,
                                                             const std::string& algorithm) {
  Impl& m = *impl_;
  if (Status s = m.Authorise(who, scope, "a network query"); !s.ok()) return s;
  if (Status s = CheckAlgorithm(algorithm); !s.ok()) return s;
  auto net = m.Build();
  if (!net.ok()) return net.status();
  CommunitiesAnswer out;
  out.report = net->report();
  auto c = net->Communities(algorithm);
  if (!c.ok()) return c.status();
  out.communities = std::move(*c);
  std::vector<int64_t> ids;
  json groups = json::array();
  for (const Community& g : out.communities.communities) {
    ids.insert(ids.end(), g.members.begin(), g.members.end());
    groups.push_back(g.members);
  }
  out.people = PeopleOf(*net, ids);
  json details = {{"algorithm", out.communities.algorithm}, {"isolated", out.communities.isolated}};
  PutList(details, "communities", std::move(groups));
  if (Status s = m.Record(who, scope, "network_communities", std::move(details), CommunitiesAnswerJson(out), out);
      !s.ok())
    return s;
  if (Status s = m.Disclose(who, scope, FacesOf(out, {}), out); !s.ok()) return s;
  return out;
}

Result<BrokersAnswer> NetworkInvestigations::Brokers(const Principal& who, const NetworkScope& scope, int top,
                                                     const std::string& algorithm) {
  Impl& m = *impl_;
  if (Status s = m.Authorise(who, scope, "a network query"); !s.ok()) return s;
  if (Status s = CheckTop(top, "brokers"); !s.ok()) return s;
  if (Status s = CheckAlgorithm(algorithm); !s.ok()) return s;
  auto net = m.Build();
  if (!net.ok()) return net.status();
  BrokersAnswer out;
  out.report = net->report();
  out.algorithm = algorithm.empty() ? m.options.network.communities : algorithm;
  auto b = net->Brokers(top, algorithm);
  if (!b.ok()) return b.status();
  out.brokers = std::move(*b);
  std::vector<int64_t> ids;
  json returned = json::array();
  for (const Broker& k : out.brokers) {
    ids.push_back(k.person);
    returned.push_back({k.person, Round(k.betweenness, 1e3), k.communities});
  }
  out.people = PeopleOf(*net, ids);
  json details = {{"top", top}, {"algorithm", out.algorithm}};
  PutList(details, "brokers", std::move(returned));
  if (Status s = m.Record(who, scope, "network_brokers", std::move(details), BrokersAnswerJson(out), out); !s.ok())
    return s;
  if (Status s = m.Disclose(who, scope, FacesOf(out, {}), out); !s.ok()) return s;
  return out;
}

Result<NeighbourhoodAnswer> NetworkInvestigations::Neighbourhood(const Principal& who, const NetworkScope& scope,
                                                                 int64_t person, int depth, int max_nodes) {
  Impl& m = *impl_;
  if (Status s = m.Authorise(who, scope, "a network query"); !s.ok()) return s;
  if (Status s = CheckPerson(person); !s.ok()) return s;
  if (depth < 1 || depth > kMaxNeighbourhoodDepth)
    return Status::InvalidArgument("depth must be 1 to " + std::to_string(kMaxNeighbourhoodDepth));
  if (max_nodes < 1 || max_nodes > kMaxNeighbourhoodNodes)
    return Status::InvalidArgument("a neighbourhood shows 1 to " + std::to_string(kMaxNeighbourhoodNodes) + " persons");
  auto net = m.Build(person);
  if (!net.ok()) return net.status();
  NeighbourhoodAnswer out;
  out.report = net->report();
  auto n = net->NeighbourhoodOf(person, depth, max_nodes);
  if (n.ok()) out.neighbourhood = std::move(*n);
  else out.in_network = false;
  std::vector<int64_t> ids;
  for (const NeighbourhoodNode& node : out.neighbourhood.nodes) ids.push_back(node.person);
  out.people = PeopleOf(*net, ids);
  // The ties behind the edges, each with its photos.
  std::set<std::pair<int64_t, int64_t>> edges;
  for (const NeighbourhoodEdge& e : out.neighbourhood.edges) edges.insert({std::min(e.a, e.b), std::max(e.a, e.b)});
  json returned = json::array();
  std::set<int64_t> images;
  for (const Tie& t : net->ties())
    if (edges.count({t.a, t.b})) {
      out.ties.push_back(t);
      returned.push_back({t.a, t.b, t.weight()});
      for (const SharedPhoto& p : t.photos) images.insert(p.image_id);
    }
  json details = {
      {"person", person}, {"depth", depth}, {"max_nodes", max_nodes}, {"in_network", out.in_network}, {"persons", ids}};
  PutList(details, "ties", std::move(returned));
  PutList(details, "images", ImageIds(images));
  if (Status s = m.Record(who, scope, "network_neighbourhood", std::move(details), NeighbourhoodAnswerJson(out), out);
      !s.ok())
    return s;
  std::vector<const std::vector<SharedPhoto>*> photos;
  for (const Tie& t : out.ties) photos.push_back(&t.photos);
  if (Status s = m.Disclose(who, scope, FacesOf(out, photos), out); !s.ok()) return s;
  return out;
}

Result<ExportAnswer> NetworkInvestigations::Export(const Principal& who, const NetworkScope& scope,
                                                   const std::string& format) {
  Impl& m = *impl_;
  if (Status s = m.Authorise(who, scope, "a network export"); !s.ok()) return s;
  if (format != "graphml" && format != "json")
    return Status::InvalidArgument("an export is \"graphml\" or \"json\"");
  auto net = m.Build();
  if (!net.ok()) return net.status();
  ExportAnswer out;
  out.report = net->report();
  out.format = format;
  out.text = format == "graphml" ? net->ToGraphML() : net->ToJson().dump(2) + "\n";
  std::set<int64_t> images;
  json persons = json::array();
  for (const NetworkPerson& p : net->persons()) persons.push_back(p.id);
  for (const Tie& t : net->ties())
    for (const SharedPhoto& p : t.photos) images.insert(p.image_id);
  json details = {{"format", format}, {"bytes", out.text.size()}};
  PutList(details, "persons", std::move(persons));
  PutList(details, "images", ImageIds(images));
  // The export's own bytes are what left: their SHA-256 (Record adds the answer's too).
  details["export_sha256"] = Sha256Hex(out.text);
  if (Status s = m.Record(who, scope, "network_export", std::move(details), json(out.format), out); !s.ok()) return s;
  return out;
}

Result<std::string> NetworkInvestigations::ThumbnailPath(const Principal& who, int64_t case_id, int64_t face_id) {
  Impl& m = *impl_;
  return m.crops.Path(m.accountability, who, case_id, face_id, "ask the network first");
}

// ------------------------------------------------------------------------------ JSON

json NetworkReportJson(const NetworkReport& r) {
  return {{"persons", r.persons},
          {"ties", r.ties},
          {"faces", r.faces},
          {"photos", r.photos},
          {"group_photos", r.group_photos},
          {"faces_left_out_purpose", r.faces_left_out_purpose},
          {"photos_left_out_purpose", r.photos_left_out_purpose},
          {"faces_unplaced", r.faces_unplaced},
          {"faces_opted_out", r.faces_opted_out}};
}

json AssociatesAnswerJson(const AssociatesAnswer& a, const ThumbnailUrl& thumbnail) {
  json out = AnswerJson(a, thumbnail);
  out["in_network"] = a.in_network;
  out["person"] = PersonJson(a.person, thumbnail);
  json list = json::array();
  for (const Associate& x : a.associates)
    list.push_back({{"person", x.person},
                    {"name", CleanUtf8(x.name)},
                    {"shared_photos", x.shared_photos},
                    {"score", Round(x.score, 1e4)},
                    {"photos", PhotosJson(x.photos, thumbnail)}});
  out["associates"] = list;
  return out;
}

json PathAnswerJson(const PathAnswer& a, const ThumbnailUrl& thumbnail) {
  json out = AnswerJson(a, thumbnail);
  out["connected"] = !a.path.persons.empty();
  out["persons"] = a.path.persons;
  json links = json::array();
  for (const PathLink& l : a.path.links)
    links.push_back({{"from", l.from},
                     {"to", l.to},
                     {"shared_photos", l.photos.size()},
                     {"photos", PhotosJson(l.photos, thumbnail)}});
  out["links"] = links;
  return out;
}

json CommunitiesAnswerJson(const CommunitiesAnswer& a, const ThumbnailUrl& thumbnail) {
  json out = AnswerJson(a, thumbnail);
  const CommunityReport& c = a.communities;
  out["algorithm"] = c.algorithm;
  out["quality"] = Round(c.quality, 1e4);
  out["isolated"] = c.isolated;
  json list = json::array();
  for (const Community& g : c.communities)
    list.push_back({{"id", g.id},
                    {"members", g.members},
                    {"internal_ties", g.internal_ties},
                    {"internal_photos", g.internal_photos}});
  out["communities"] = list;
  return out;
}

json BrokersAnswerJson(const BrokersAnswer& a, const ThumbnailUrl& thumbnail) {
  json out = AnswerJson(a, thumbnail);
  out["algorithm"] = a.algorithm;
  json list = json::array();
  for (const Broker& b : a.brokers)
    list.push_back({{"person", b.person},
                    {"name", CleanUtf8(b.name)},
                    {"score", Round(b.score, 1e3)},
                    {"betweenness", Round(b.betweenness, 1e3)},
                    {"closure", Round(b.closure, 1e3)},
                    {"communities", b.communities},
                    {"ties", b.ties}});
  out["brokers"] = list;
  return out;
}

json NeighbourhoodAnswerJson(const NeighbourhoodAnswer& a, const ThumbnailUrl& thumbnail) {
  json out = AnswerJson(a, thumbnail);
  json nodes = json::array(), edges = json::array();
  for (const NeighbourhoodNode& n : a.neighbourhood.nodes) {
    json j = {{"person", n.person},
              {"name", CleanUtf8(n.name)},
              {"label", n.name.empty() ? "person " + std::to_string(n.person) : CleanUtf8(n.name)},
              {"depth", n.depth},
              {"photos", n.photos},
              {"face_id", n.face_id}};
    if (thumbnail && n.face_id > 0) j["thumbnail"] = thumbnail(n.face_id);
    nodes.push_back(std::move(j));
  }
  for (const Tie& t : a.ties)
    edges.push_back({{"a", t.a}, {"b", t.b}, {"weight", t.weight()}, {"photos", PhotosJson(t.photos, thumbnail)}});
  out["in_network"] = a.in_network;
  out["centre"] = a.neighbourhood.nodes.empty() ? 0 : a.neighbourhood.nodes.front().person;
  out["nodes"] = nodes;
  out["edges"] = edges;
  out["truncated"] = a.neighbourhood.truncated;
  return out;
}

}  // namespace lineup
