#include "lineup/persons.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <numeric>
#include <set>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "lineup/calibration.h"
#include "lineup/graph_clustering.h"
#include "oversight/sqlite_db.h"

namespace lineup {

namespace {

using json = nlohmann::json;
using oversight::Stmt;

// Version 1. Later versions append statements; never edit old ones. Faces and subjects
// are the catalog's; erasing a face removes its place and its links (cascades).
const std::vector<const char*> kMigrations = {
    R"sql(
CREATE TABLE IF NOT EXISTS persons (
  id INTEGER PRIMARY KEY,
  subject_id INTEGER REFERENCES subjects(id) ON DELETE SET NULL,
  weakest_link REAL NOT NULL DEFAULT 1,
  nearest_other REAL NOT NULL DEFAULT 0,
  nearest_person INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS face_persons (
  face_id INTEGER PRIMARY KEY REFERENCES faces(id) ON DELETE CASCADE,
  person_id INTEGER NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
  placed_by TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS face_persons_person ON face_persons(person_id);
CREATE TABLE IF NOT EXISTS person_pending (
  face_id INTEGER PRIMARY KEY REFERENCES faces(id) ON DELETE CASCADE);
CREATE TABLE IF NOT EXISTS person_links (
  id INTEGER PRIMARY KEY,
  face_a INTEGER NOT NULL REFERENCES faces(id) ON DELETE CASCADE,
  face_b INTEGER NOT NULL REFERENCES faces(id) ON DELETE CASCADE,
  same INTEGER NOT NULL,
  event_id INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS person_links_a ON person_links(face_a);
CREATE INDEX IF NOT EXISTS person_links_b ON person_links(face_b);
CREATE TABLE IF NOT EXISTS person_events (
  id INTEGER PRIMARY KEY,
  at TEXT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  details TEXT NOT NULL,
  before TEXT NOT NULL,
  undone_by INTEGER NOT NULL DEFAULT 0);
)sql",
};

// At most this many faces of a person stand for it in an analyst's "not this person" or
// split, as links that later rebuilds obey.
constexpr size_t kRepresentatives = 16;

struct GroupFace {
  int64_t id = 0, image = 0;
  std::string subject;  // "" if not linked to a subject
};

// Union-find over indices.
struct Groups {
  std::vector<size_t> parent;
  explicit Groups(size_t n) : parent(n) { std::iota(parent.begin(), parent.end(), size_t{0}); }
  size_t Find(size_t x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
  }
  void Join(size_t a, size_t b) {
    a = Find(a), b = Find(b);
    if (a != b) parent[std::max(a, b)] = std::min(a, b);
  }
};

}  // namespace

struct Persons::Impl {
  Gallery& gallery;
  PersonsOptions options;
  std::unique_ptr<SqliteDb> db;
  float link_threshold = 0;
  std::function<int64_t()> now = oversight::ClockOr({});

  sqlite3* h() const { return db->db(); }
  std::string Now() const { return oversight::IsoTime(now()); }

  // The faces that can be grouped: live, and not kept flagged by --all-faces (those
  // failed admission: patterns, hands — not people).
  Result<std::vector<GroupFace>> GroupableFaces(const std::string& where = "") {
    Stmt q(h(), ("SELECT f.id, f.image_id, COALESCE(s.label, '') FROM faces f LEFT JOIN face_subjects fs ON "
                 "fs.face_id = f.id LEFT JOIN subjects s ON s.id = fs.subject_id WHERE f.excluded = '' " +
                 where + " ORDER BY f.id")
                    .c_str());
    std::vector<GroupFace> out;
    int rc;
    while ((rc = q.Step()) == SQLITE_ROW) out.push_back({q.Int(0), q.Int(1), q.Text(2)});
    if (rc != SQLITE_DONE) return db->Error("cannot read faces");
    // A face linked to two subjects keeps the first (by id order of the join).
    out.erase(std::unique(out.begin(), out.end(), [](const GroupFace& a, const GroupFace& b) { return a.id == b.id; }),
              out.end());
    return out;
  }

  Result<std::map<int64_t, int64_t>> Placement() {
    Stmt q(h(), "SELECT face_id, person_id FROM face_persons");
    std::map<int64_t, int64_t> out;
    int rc;
    while ((rc = q.Step()) == SQLITE_ROW) out[q.Int(0)] = q.Int(1);
    if (rc != SQLITE_DONE) return db->Error("cannot read persons");
    return out;
  }

  struct Link {
    int64_t a, b;
    bool same;
  };
  Result<std::vector<Link>> Links() {
    Stmt q(h(), "SELECT l.face_a, l.face_b, l.same FROM person_links l JOIN person_events e ON e.id = l.event_id "
                "WHERE e.undone_by = 0 ORDER BY l.id");
    std::vector<Link> out;
    int rc;
    while ((rc = q.Step()) == SQLITE_ROW) out.push_back({q.Int(0), q.Int(1), q.Int(2) != 0});
    if (rc != SQLITE_DONE) return db->Error("cannot read person links");
    return out;
  }

  // Face id -> the faces an analyst's "not the same" keeps it apart from.
  Result<std::map<int64_t, std::set<int64_t>>> Apart() {
    auto links = Links();
    if (!links.ok()) return links.status();
    std::map<int64_t, std::set<int64_t>> apart;
    for (const auto& l : *links)
      if (!l.same) apart[l.a].insert(l.b), apart[l.b].insert(l.a);
    return apart;
  }

  // How a face's close neighbours vote for persons, the rule that places a new face
  // (Update) and that PendingVotes reports: each neighbour at or above the link
  // threshold that is in a person (person_of: 0 if none) gives it its similarity.
  struct Ballot {
    int64_t voters = 0;  // close neighbours in a person
    double total = 0;    // their similarities
    int64_t best = 0;    // the person with the most weight (0: none)
    double best_weight = 0;
    int64_t best_voters = 0;
  };
  Ballot Vote(const std::vector<IndexHit>& nn, const std::function<int64_t(int64_t)>& person_of) const {
    Ballot b;
    std::map<int64_t, std::pair<double, int64_t>> per_person;  // weight, voters
    for (const IndexHit& hit : nn) {
      if (hit.score < link_threshold) continue;
      const int64_t p = person_of(hit.id);
      if (p == 0) continue;
      auto& [w, voters] = per_person[p];
      w += hit.score;
      ++voters;
      b.total += hit.score;
      ++b.voters;
    }
    for (const auto& [p, wv] : per_person)
      if (wv.first > b.best_weight) b.best = p, b.best_weight = wv.first, b.best_voters = wv.second;
    return b;
  }
  // Whether the leading person holds enough of the weight for the face to join it.
  bool Carries(const Ballot& b) const { return b.best > 0 && b.best_weight >= options.join_share * b.total; }

  Result<int64_t> SubjectId(const std::string& label, bool create) {
    if (create) {
      Stmt add(h(), "INSERT OR IGNORE INTO subjects (label) VALUES (?)");
      add.Bind(1, label);
      if (add.Step() != SQLITE_DONE) return db->Error("cannot add subject " + label);
    }
    Stmt q(h(), "SELECT id FROM subjects WHERE label = ?");
    q.Bind(1, label);
    const int rc = q.Step();
    if (rc == SQLITE_ROW) return q.Int(0);
    if (rc == SQLITE_DONE) return int64_t{0};
    return db->Error("cannot read subjects");
  }

  Result<int64_t> NewPerson(int64_t subject_id = 0) {
    Stmt q(h(), "INSERT INTO persons (subject_id, created_at) VALUES (?, ?)");
    if (subject_id > 0) q.Bind(1, subject_id);  // unbound: NULL, an unnamed person
    q.Bind(2, Now());
    if (q.Step() != SQLITE_DONE) return db->Error("cannot add a person");
    return sqlite3_last_insert_rowid(h());
  }

  Status Place(int64_t face, int64_t person, const std::string& by) {
    Stmt q(h(), "INSERT OR REPLACE INTO face_persons (face_id, person_id, placed_by) VALUES (?, ?, ?)");
    q.Bind(1, face).Bind(2, person).Bind(3, by);
    if (q.Step() != SQLITE_DONE) return db->Error("cannot place a face");
    Stmt p(h(), "DELETE FROM person_pending WHERE face_id = ?");
    p.Bind(1, face);
    if (p.Step() != SQLITE_DONE) return db->Error("cannot place a face");
    return Status::OK();
  }

  Status DropEmptyPersons() {
    return db->Run("DELETE FROM persons WHERE id NOT IN (SELECT DISTINCT person_id FROM face_persons)",
                   "cannot drop empty persons");
  }

  Result<std::vector<int64_t>> FacesOf(int64_t person) {
    Stmt q(h(), "SELECT face_id FROM face_persons WHERE person_id = ? ORDER BY face_id");
    q.Bind(1, person);
    std::vector<int64_t> out;
    int rc;
    while ((rc = q.Step()) == SQLITE_ROW) out.push_back(q.Int(0));
    if (rc != SQLITE_DONE) return db->Error("cannot read a person's faces");
    return out;
  }

  Status RequirePerson(int64_t person) {
    Stmt q(h(), "SELECT 1 FROM persons p WHERE p.id = ? AND EXISTS (SELECT 1 FROM face_persons f WHERE f.person_id = p.id)");
    q.Bind(1, person);
    const int rc = q.Step();
    if (rc == SQLITE_DONE) return Status::NotFound("no person " + std::to_string(person));
    if (rc != SQLITE_ROW) return db->Error("cannot read persons");
    return Status::OK();
  }

  Result<std::string> NameOf(int64_t person) {
    Stmt q(h(), "SELECT COALESCE(s.label, '') FROM persons p LEFT JOIN subjects s ON s.id = p.subject_id WHERE p.id = ?");
    q.Bind(1, person);
    const int rc = q.Step();
    if (rc == SQLITE_ROW) return q.Text(0);
    if (rc == SQLITE_DONE) return Status::NotFound("no person " + std::to_string(person));
    return db->Error("cannot read persons");
  }

  Result<int64_t> AddEvent(const std::string& actor, const std::string& action, const json& details, const json& before) {
    Stmt q(h(), "INSERT INTO person_events (at, actor, action, details, before) VALUES (?, ?, ?, ?, ?)");
    q.Bind(1, Now()).Bind(2, actor).Bind(3, action).Bind(4, details.dump()).Bind(5, before.dump());
    if (q.Step() != SQLITE_DONE) return db->Error("cannot record the change");
    return sqlite3_last_insert_rowid(h());
  }

  Status AddLink(int64_t a, int64_t b, bool same, int64_t event) {
    Stmt q(h(), "INSERT INTO person_links (face_a, face_b, same, event_id) VALUES (?, ?, ?, ?)");
    q.Bind(1, a).Bind(2, b).Bind(3, same ? 1 : 0).Bind(4, event);
    if (q.Step() != SQLITE_DONE) return db->Error("cannot record a link");
    return Status::OK();
  }

  Result<PersonEvent> GetEvent(int64_t id) {
    Stmt q(h(), "SELECT id, at, actor, action, details, undone_by FROM person_events WHERE id = ?");
    q.Bind(1, id);
    const int rc = q.Step();
    if (rc == SQLITE_DONE) return Status::NotFound("no change " + std::to_string(id));
    if (rc != SQLITE_ROW) return db->Error("cannot read changes");
    return PersonEvent{q.Int(0), q.Text(1), q.Text(2), q.Text(3), q.Text(4), q.Int(5)};
  }

  // Where each of `faces` is now: the "before" an event keeps to be undone.
  Result<json> Snapshot(const std::vector<int64_t>& faces) {
    json j = json::array();
    for (int64_t f : faces) {
      Stmt q(h(), "SELECT person_id, placed_by FROM face_persons WHERE face_id = ?");
      q.Bind(1, f);
      const int rc = q.Step();
      if (rc == SQLITE_ROW) j.push_back({f, q.Int(0), q.Text(1)});
      else if (rc == SQLITE_DONE) j.push_back({f, 0, ""});
      else return db->Error("cannot read persons");
    }
    return j;
  }

  // Faces that leave a named person stop being that subject's faces (they are someone
  // else); what was unlinked is kept for undo.
  Result<json> UnlinkSubject(int64_t person, const std::vector<int64_t>& faces) {
    json out = {{"subject", ""}, {"faces", json::array()}};
    auto name = NameOf(person);
    if (!name.ok()) return name.status();
    if (name->empty()) return out;
    out["subject"] = *name;
    for (int64_t f : faces) {
      Stmt q(h(), "DELETE FROM face_subjects WHERE face_id = ? AND subject_id = (SELECT subject_id FROM persons WHERE id = ?)");
      q.Bind(1, f).Bind(2, person);
      if (q.Step() != SQLITE_DONE) return db->Error("cannot unlink a face from its subject");
      if (sqlite3_changes(h()) > 0) out["faces"].push_back(f);
    }
    return out;
  }

  // The person's strongest faces' ids, to stand for it in links.
  Result<std::vector<int64_t>> Representatives(int64_t person) {
    auto faces = FacesOf(person);
    if (!faces.ok()) return faces.status();
    if (faces->size() > kRepresentatives) faces->resize(kRepresentatives);
    return *faces;
  }

  // Persons with their counts and measures: all (only = 0) or one (only > 0).
  Result<std::vector<PersonSummary>> Summaries(int64_t only);

  // Rebuilds the per-person measures of doubt from the faces' neighbours.
  Status Measure(const std::vector<GroupFace>& faces, const std::vector<std::vector<IndexHit>>& nn,
                 const std::vector<int64_t>& person_of) {
    std::unordered_map<int64_t, size_t> at;
    for (size_t i = 0; i < faces.size(); ++i) at[faces[i].id] = i;
    struct Doubt {
      float weakest = 1, nearest = 0;
      int64_t nearest_person = 0;
      int64_t size = 0;
    };
    std::map<int64_t, Doubt> doubt;
    // The tree of each person's strongest links (Kruskal, heaviest first): its lightest
    // edge is the weakest link; a person whose faces its links do not all join (held by
    // an analyst's merge, say) has weakest link 0.
    struct Edge {
      float w;
      size_t a, b;
    };
    std::vector<Edge> inside;
    for (size_t i = 0; i < faces.size(); ++i) {
      Doubt& d = doubt[person_of[i]];
      ++d.size;
      for (const IndexHit& hit : nn[i]) {
        auto it = at.find(hit.id);
        if (it == at.end()) continue;
        if (person_of[it->second] == person_of[i]) {
          if (i < it->second) inside.push_back({hit.score, i, it->second});
        } else if (hit.score > d.nearest) {
          d.nearest = hit.score;
          d.nearest_person = person_of[it->second];
        }
      }
    }
    std::sort(inside.begin(), inside.end(), [](const Edge& x, const Edge& y) { return x.w > y.w; });
    Groups g(faces.size());
    std::map<int64_t, int64_t> joined;  // person -> tree edges taken
    for (const Edge& e : inside) {
      if (g.Find(e.a) == g.Find(e.b)) continue;
      g.Join(e.a, e.b);
      Doubt& d = doubt[person_of[e.a]];
      d.weakest = std::min(d.weakest, e.w);
      ++joined[person_of[e.a]];
    }
    for (auto& [p, d] : doubt)
      if (d.size > 1 && joined[p] < d.size - 1) d.weakest = 0;
    Stmt q(h(), "UPDATE persons SET weakest_link = ?, nearest_other = ?, nearest_person = ? WHERE id = ?");
    for (const auto& [p, d] : doubt) {
      q.Reset();
      q.Bind(1, static_cast<double>(d.weakest)).Bind(2, static_cast<double>(d.nearest)).Bind(3, d.nearest_person).Bind(4, p);
      if (q.Step() != SQLITE_DONE) return db->Error("cannot store a person's measures");
    }
    return Status::OK();
  }
};

Persons::Persons(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Persons::~Persons() = default;

Result<std::unique_ptr<Persons>> Persons::Open(Gallery& gallery, PersonsOptions options) {
  if (options.k < 1 || options.k > 1000) return Status::InvalidArgument("persons: k must be 1 to 1000");
  if (!(options.join_share > 0 && options.join_share <= 1))
    return Status::InvalidArgument("persons: join_share must be in (0, 1]");
  auto db = oversight::OpenCatalog((std::filesystem::path(gallery.dir()) / "catalog.sqlite").string());
  if (!db.ok()) return db.status();
  Status s = oversight::Migrate(**db, "persons", kMigrations);
  if (!s.ok()) return s;
  auto cal = Calibration::ForModel(gallery.model());
  if (!cal.ok()) return cal.status();
  auto t = cal->ThresholdFor(options.link_fmr);
  if (!t.ok()) return t.status();
  // The algorithm's name is checked now, not at the first rebuild.
  if (auto probe = ClusterGraph(WeightedGraph{}, options.algorithm == "default" ? kDefaultPersonsAlgorithm : options.algorithm);
      !probe.ok())
    return probe.status();
  auto impl = std::unique_ptr<Impl>(new Impl{gallery, std::move(options), std::move(*db), *t});
  return std::unique_ptr<Persons>(new Persons(std::move(impl)));
}

Result<ReclusterReport> Persons::Recluster(const std::function<void(const std::string&, int64_t, int64_t)>& progress) {
  Impl& m = *impl_;
  ReclusterReport rep;
  auto faces = m.GroupableFaces();
  if (!faces.ok()) return faces.status();
  const size_t n = faces->size();
  rep.faces = static_cast<int64_t>(n);
  std::vector<int64_t> ids;
  for (const GroupFace& f : *faces) ids.push_back(f.id);
  std::unordered_map<int64_t, size_t> at;
  for (size_t i = 0; i < n; ++i) at[ids[i]] = i;

  // 1. Every face's nearest neighbours, from the gallery's own index.
  const auto t0 = std::chrono::steady_clock::now();
  auto found = m.gallery.Neighbours(ids, m.options.k, [&](int64_t done, int64_t total) {
    if (progress) progress("neighbours", done, total);
  });
  if (!found.ok()) return found.status();
  std::vector<std::vector<IndexHit>> nn = std::move(*found);
  const auto t1 = std::chrono::steady_clock::now();
  rep.seconds_knn = std::chrono::duration<double>(t1 - t0).count();

  // 2. The graph of links at or above the threshold, and its groups.
  WeightedGraph graph;
  graph.nodes = static_cast<int64_t>(n);
  struct Link {
    size_t a, b;
    float w;
  };
  std::vector<Link> found_links;
  for (size_t i = 0; i < n; ++i)
    for (const IndexHit& hit : nn[i]) {
      if (hit.score < m.link_threshold) continue;
      auto it = at.find(hit.id);
      if (it == at.end()) continue;  // a flagged face
      const auto key = std::minmax(i, it->second);
      found_links.push_back({key.first, key.second, hit.score});
    }
  // Each link once (found from both ends, or from one), with its best score.
  std::sort(found_links.begin(), found_links.end(), [](const Link& x, const Link& y) {
    return x.a != y.a ? x.a < y.a : x.b != y.b ? x.b < y.b : x.w > y.w;
  });
  for (size_t e = 0; e < found_links.size(); ++e) {
    if (e > 0 && found_links[e].a == found_links[e - 1].a && found_links[e].b == found_links[e - 1].b) continue;
    graph.edges.push_back({static_cast<int64_t>(found_links[e].a), static_cast<int64_t>(found_links[e].b)});
    graph.weights.push_back(found_links[e].w);
  }
  std::vector<Link>().swap(found_links);
  rep.links = static_cast<int64_t>(graph.edges.size());
  // The stages after the neighbours, for a caller that shows progress (the command
  // line's bars, the server's rebuild job); counts every kTick items, and at each end.
  constexpr size_t kTick = 1024;
  auto report = [&](const char* stage, size_t done, size_t total) {
    if (progress && (done % kTick == 0 || done == total))
      progress(stage, static_cast<int64_t>(done), static_cast<int64_t>(total));
  };
  report("clustering", 0, 1);  // one library call, no counts of its own
  auto clusters = ClusterGraph(graph, m.options.algorithm == "default" ? kDefaultPersonsAlgorithm : m.options.algorithm);
  if (!clusters.ok()) return clusters.status();
  report("clustering", 1, 1);
  std::vector<int64_t> label = clusters->label;

  // 3. Analysts' "same person" links and subjects join groups.
  auto links = m.Links();
  if (!links.ok()) return links.status();
  Groups joined(static_cast<size_t>(clusters->count));
  std::map<std::string, size_t> subject_group;
  for (size_t i = 0; i < n; ++i) {
    const GroupFace& f = (*faces)[i];
    if (f.subject.empty()) continue;
    auto [it, fresh] = subject_group.emplace(f.subject, static_cast<size_t>(label[i]));
    if (!fresh) joined.Join(it->second, static_cast<size_t>(label[i]));
  }
  for (const auto& l : *links) {
    if (!l.same) continue;
    auto a = at.find(l.a), b = at.find(l.b);
    if (a != at.end() && b != at.end())
      joined.Join(static_cast<size_t>(label[a->second]), static_cast<size_t>(label[b->second]));
  }
  for (auto& l : label) l = static_cast<int64_t>(joined.Find(static_cast<size_t>(l)));

  // 4. What keeps faces apart: one photo, two subjects, an analyst's "not the same". A
  // group that breaks one is split: its faces, strongest-attached first, each join the
  // first part they link to without a conflict, or start a part of their own.
  std::map<int64_t, std::set<int64_t>> apart;  // face id -> face ids it may not share a person with
  for (const auto& l : *links)
    if (!l.same) apart[l.a].insert(l.b), apart[l.b].insert(l.a);
  auto conflict = [&](size_t i, size_t j) {
    const GroupFace &a = (*faces)[i], &b = (*faces)[j];
    if (a.image == b.image) return true;
    if (!a.subject.empty() && !b.subject.empty() && a.subject != b.subject) return true;
    auto it = apart.find(a.id);
    return it != apart.end() && it->second.count(b.id);
  };
  std::map<int64_t, std::vector<size_t>> members;
  for (size_t i = 0; i < n; ++i) members[label[i]].push_back(i);
  std::vector<std::vector<std::pair<size_t, double>>> adj(n);
  for (size_t e = 0; e < graph.edges.size(); ++e) {
    const size_t a = static_cast<size_t>(graph.edges[e].first), b = static_cast<size_t>(graph.edges[e].second);
    adj[a].push_back({b, graph.weights[e]});
    adj[b].push_back({a, graph.weights[e]});
  }
  // An analyst's "same person" holds a face to its part as a strong link would.
  for (const auto& l : *links) {
    if (!l.same) continue;
    auto a = at.find(l.a), b = at.find(l.b);
    if (a == at.end() || b == at.end()) continue;
    adj[a->second].push_back({b->second, 1.0});
    adj[b->second].push_back({a->second, 1.0});
  }
  int64_t next_label = static_cast<int64_t>(n) + 1;
  size_t checked = 0;
  for (auto& [g, mem] : members) {
    report("constraints", checked++, members.size());
    if (mem.size() < 2) continue;
    bool broken = false;
    // Only groups with a conflict are touched; faces of one image are the common case.
    std::map<int64_t, int> per_image;
    for (size_t i : mem) broken |= ++per_image[(*faces)[i].image] > 1;
    if (!broken)
      for (size_t x = 0; x < mem.size() && !broken; ++x) {
        const GroupFace& f = (*faces)[mem[x]];
        if (f.subject.empty() && !apart.count(f.id)) continue;
        for (size_t y = x + 1; y < mem.size() && !broken; ++y) broken |= conflict(mem[x], mem[y]);
      }
    if (!broken) continue;
    std::set<size_t> in(mem.begin(), mem.end());
    std::vector<std::pair<double, size_t>> order;
    for (size_t i : mem) {
      double w = 0;
      for (const auto& [j, wt] : adj[i])
        if (in.count(j)) w += wt;
      order.push_back({-w, i});
    }
    std::sort(order.begin(), order.end());
    std::vector<std::vector<size_t>> parts;
    for (const auto& [negw, i] : order) {
      int best = -1;
      double best_w = 0;
      for (size_t p = 0; p < parts.size(); ++p) {
        bool ok = true;
        double w = 0;
        for (size_t j : parts[p]) {
          if (conflict(i, j)) { ok = false; break; }
        }
        if (!ok) continue;
        std::set<size_t> part(parts[p].begin(), parts[p].end());
        for (const auto& [j, wt] : adj[i])
          if (part.count(j)) w += wt;
        // Subjects and analysts' joins hold a face to its part without a graph link.
        if (w == 0 && !(*faces)[i].subject.empty())
          for (size_t j : parts[p]) w += (*faces)[j].subject == (*faces)[i].subject ? 1 : 0;
        if (w > best_w) best = static_cast<int>(p), best_w = w;
      }
      if (best < 0) {
        parts.push_back({i});
        if (parts.size() > 1) ++rep.kept_apart;
      } else {
        parts[static_cast<size_t>(best)].push_back(i);
      }
    }
    for (size_t p = 1; p < parts.size(); ++p) {
      for (size_t i : parts[p]) label[i] = next_label;
      ++next_label;
    }
  }

  report("constraints", members.size(), members.size());

  // 5. Ids that last: each new group takes the id of the old person most of its faces
  // were in (the subject's person first), one group per old person.
  auto before = m.Placement();
  if (!before.ok()) return before.status();
  std::map<int64_t, std::vector<size_t>> groups;
  for (size_t i = 0; i < n; ++i) groups[label[i]].push_back(i);
  struct Claim {
    int64_t overlap, group, person;
  };
  std::vector<Claim> claims;
  for (const auto& [g, mem] : groups) {
    std::map<int64_t, int64_t> count;
    for (size_t i : mem) {
      auto it = before->find(ids[i]);
      if (it != before->end()) ++count[it->second];
    }
    for (const auto& [p, c] : count) claims.push_back({c, g, p});
  }
  std::sort(claims.begin(), claims.end(), [](const Claim& a, const Claim& b) {
    return a.overlap != b.overlap ? a.overlap > b.overlap : a.person < b.person;
  });
  std::map<int64_t, int64_t> person_of_group;
  std::set<int64_t> taken;
  for (const Claim& c : claims)
    if (!person_of_group.count(c.group) && !taken.count(c.person)) {
      person_of_group[c.group] = c.person;
      taken.insert(c.person);
    }
  const auto t2 = std::chrono::steady_clock::now();
  rep.seconds_cluster = std::chrono::duration<double>(t2 - t1).count();

  // 6. Written in one transaction: the old placement goes, the new one comes.
  std::vector<int64_t> person_of(n, 0);
  Status s = m.db->InTransaction([&]() -> Status {
    if (Status r = m.db->Run("DELETE FROM face_persons", "cannot clear persons"); !r.ok()) return r;
    if (Status r = m.db->Run("DELETE FROM person_pending", "cannot clear pending faces"); !r.ok()) return r;
    Stmt insert(m.h(), "INSERT INTO face_persons (face_id, person_id, placed_by) VALUES (?, ?, ?)");
    size_t stored = 0;
    for (const auto& [g, mem] : groups) {
      report("storing", stored++, groups.size() + 1);  // + 1: the measures of doubt
      int64_t pid = 0;
      auto it = person_of_group.find(g);
      // The subject of the group's faces names it.
      std::string subject;
      std::map<std::string, int64_t> votes;
      for (size_t i : mem)
        if (!(*faces)[i].subject.empty() && ++votes[(*faces)[i].subject] > votes[subject]) subject = (*faces)[i].subject;
      int64_t subject_id = 0;
      if (!subject.empty()) {
        auto sid = m.SubjectId(subject, false);
        if (!sid.ok()) return sid.status();
        subject_id = *sid;
      }
      if (it != person_of_group.end()) {
        pid = it->second;
        if (subject_id > 0) {
          // The name moves with its faces: off any other person first.
          Stmt clear(m.h(), "UPDATE persons SET subject_id = NULL WHERE subject_id = ? AND id != ?");
          clear.Bind(1, subject_id).Bind(2, pid);
          if (clear.Step() != SQLITE_DONE) return m.db->Error("cannot name a person");
          Stmt name(m.h(), "UPDATE persons SET subject_id = ? WHERE id = ?");
          name.Bind(1, subject_id).Bind(2, pid);
          if (name.Step() != SQLITE_DONE) return m.db->Error("cannot name a person");
        }
      } else {
        if (subject_id > 0) {
          Stmt clear(m.h(), "UPDATE persons SET subject_id = NULL WHERE subject_id = ?");
          clear.Bind(1, subject_id);
          if (clear.Step() != SQLITE_DONE) return m.db->Error("cannot name a person");
        }
        auto made = m.NewPerson(subject_id);
        if (!made.ok()) return made.status();
        pid = *made;
      }
      for (size_t i : mem) {
        person_of[i] = pid;
        insert.Reset();
        insert.Bind(1, ids[i]).Bind(2, pid).Bind(3, !(*faces)[i].subject.empty() ? std::string("subject") : "clustering");
        if (insert.Step() != SQLITE_DONE) return m.db->Error("cannot place a face");
      }
    }
    if (Status r = m.DropEmptyPersons(); !r.ok()) return r;
    Status measured = m.Measure(*faces, nn, person_of);
    if (measured.ok()) report("storing", groups.size() + 1, groups.size() + 1);
    return measured;
  });
  if (!s.ok()) return s;
  rep.persons = static_cast<int64_t>(groups.size());
  for (const auto& [g, mem] : groups) rep.singletons += mem.size() == 1;
  return rep;
}

Result<ReclusterReport> Persons::Update() {
  Impl& m = *impl_;
  ReclusterReport rep;
  auto fresh = m.GroupableFaces("AND f.id NOT IN (SELECT face_id FROM face_persons)");
  if (!fresh.ok()) return fresh.status();
  rep.faces = static_cast<int64_t>(fresh->size());
  if (fresh->empty()) return rep;
  std::vector<int64_t> ids;
  for (const GroupFace& f : *fresh) ids.push_back(f.id);
  const auto t0 = std::chrono::steady_clock::now();
  auto nn = m.gallery.Neighbours(ids, m.options.k);
  if (!nn.ok()) return nn.status();
  rep.seconds_knn = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  auto placed = m.Placement();
  if (!placed.ok()) return placed.status();
  auto kept_apart = m.Apart();
  if (!kept_apart.ok()) return kept_apart.status();
  std::map<int64_t, std::set<int64_t>>& apart = *kept_apart;
  // Who is in which photo, and each person's subject, to keep the constraints.
  std::map<int64_t, std::set<int64_t>> images_of;  // person -> images
  std::map<int64_t, int64_t> image_of;
  {
    Stmt q(m.h(), "SELECT fp.person_id, f.image_id, f.id FROM face_persons fp JOIN faces f ON f.id = fp.face_id");
    while (q.Step() == SQLITE_ROW) {
      images_of[q.Int(0)].insert(q.Int(1));
      image_of[q.Int(2)] = q.Int(1);
    }
  }
  const auto t1 = std::chrono::steady_clock::now();
  Status s = m.db->InTransaction([&]() -> Status {
    for (size_t i = 0; i < fresh->size(); ++i) {
      const GroupFace& f = (*fresh)[i];
      // A subject's face goes to the subject's person (made if there is none yet).
      if (!f.subject.empty()) {
        auto sid = m.SubjectId(f.subject, false);
        if (!sid.ok()) return sid.status();
        Stmt q(m.h(), "SELECT id FROM persons WHERE subject_id = ?");
        q.Bind(1, *sid);
        int64_t pid = 0;
        if (q.Step() == SQLITE_ROW) pid = q.Int(0);
        if (pid == 0) {
          auto made = m.NewPerson(*sid);
          if (!made.ok()) return made.status();
          pid = *made;
        }
        if (Status r = m.Place(f.id, pid, "subject"); !r.ok()) return r;
        (*placed)[f.id] = pid;
        images_of[pid].insert(f.image);
        continue;
      }
      const Impl::Ballot ballot = m.Vote((*nn)[i], [&](int64_t face) {
        auto it = placed->find(face);
        return it == placed->end() ? int64_t{0} : it->second;
      });
      const int64_t best = ballot.best;
      bool allowed = best > 0 && !images_of[best].count(f.image);
      if (allowed && apart.count(f.id)) {
        for (int64_t other : apart[f.id]) {
          auto it = placed->find(other);
          if (it != placed->end() && it->second == best) allowed = false;
        }
      }
      // The face's closest other person bounds its person's margin.
      auto raise_nearest = [&](int64_t person) -> Status {
        float nearest = 0;
        int64_t nearest_person = 0;
        for (const IndexHit& hit : (*nn)[i]) {
          auto it = placed->find(hit.id);
          if (it != placed->end() && it->second != person && hit.score > nearest)
            nearest = hit.score, nearest_person = it->second;
        }
        if (nearest_person == 0) return Status::OK();
        Stmt u(m.h(), "UPDATE persons SET nearest_other = ?, nearest_person = ? WHERE id = ? AND nearest_other < ?");
        u.Bind(1, static_cast<double>(nearest)).Bind(2, nearest_person).Bind(3, person).Bind(4, static_cast<double>(nearest));
        if (u.Step() != SQLITE_DONE) return m.db->Error("cannot update a person");
        return Status::OK();
      };
      if (ballot.voters == 0) {
        // Nobody near: a person of its own.
        auto made = m.NewPerson();
        if (!made.ok()) return made.status();
        if (Status r = m.Place(f.id, *made, "clustering"); !r.ok()) return r;
        (*placed)[f.id] = *made;
        images_of[*made].insert(f.image);
        ++rep.singletons;
        if (Status r = raise_nearest(*made); !r.ok()) return r;
      } else if (allowed && m.Carries(ballot)) {
        if (Status r = m.Place(f.id, best, "clustering"); !r.ok()) return r;
        (*placed)[f.id] = best;
        images_of[best].insert(f.image);
        // Its strongest link into the person bounds the person's weakest link.
        float strongest = 0;
        for (const IndexHit& hit : (*nn)[i]) {
          auto it = placed->find(hit.id);
          if (it != placed->end() && it->second == best && it->first != f.id) strongest = std::max(strongest, hit.score);
        }
        Stmt u(m.h(), "UPDATE persons SET weakest_link = MIN(weakest_link, ?) WHERE id = ?");
        u.Bind(1, static_cast<double>(strongest)).Bind(2, best);
        if (u.Step() != SQLITE_DONE) return m.db->Error("cannot update a person");
        if (Status r = raise_nearest(best); !r.ok()) return r;
      } else {
        // Its neighbours disagree, or it cannot join the one they point to: it waits.
        Stmt q(m.h(), "INSERT OR IGNORE INTO person_pending (face_id) VALUES (?)");
        q.Bind(1, f.id);
        if (q.Step() != SQLITE_DONE) return m.db->Error("cannot mark a face pending");
        ++rep.pending;
      }
    }
    return Status::OK();
  });
  if (!s.ok()) return s;
  rep.seconds_cluster = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  return rep;
}

Result<std::vector<PersonSummary>> Persons::List() { return impl_->Summaries(0); }

Result<std::vector<PersonSummary>> Persons::Impl::Summaries(int64_t only) {
  Impl& m = *this;
  Stmt q(m.h(),
         (std::string("SELECT p.id, COALESCE(s.label, ''), COUNT(fp.face_id), COUNT(DISTINCT f.image_id), "
                      "p.weakest_link, p.nearest_other, p.nearest_person, COALESCE(MIN(NULLIF(i.captured_at, '')), ''), "
                      "COALESCE(MAX(NULLIF(i.captured_at, '')), '') FROM persons p JOIN face_persons fp ON "
                      "fp.person_id = p.id JOIN faces f ON f.id = fp.face_id JOIN images i ON i.id = f.image_id "
                      "LEFT JOIN subjects s ON s.id = p.subject_id ") +
          (only > 0 ? "WHERE p.id = ? " : "") + "GROUP BY p.id")
             .c_str());
  if (only > 0) q.Bind(1, only);
  std::vector<PersonSummary> out;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) {
    PersonSummary p;
    p.id = q.Int(0);
    p.name = q.Text(1);
    p.faces = q.Int(2);
    p.photos = q.Int(3);
    p.weakest_link = static_cast<float>(q.Real(4));
    p.nearest_other = static_cast<float>(q.Real(5));
    p.nearest_person = q.Int(6);
    p.first_seen = q.Text(7);
    p.last_seen = q.Text(8);
    out.push_back(std::move(p));
  }
  if (rc != SQLITE_DONE) return m.db->Error("cannot list persons");
  std::stable_sort(out.begin(), out.end(), [](const PersonSummary& a, const PersonSummary& b) {
    return a.margin() != b.margin() ? a.margin() < b.margin() : a.id < b.id;
  });
  return out;
}

Result<PersonSummary> Persons::Get(int64_t person_id) {
  auto one = impl_->Summaries(person_id > 0 ? person_id : -1);
  if (!one.ok()) return one.status();
  if (person_id <= 0 || one->empty()) return Status::NotFound("no person " + std::to_string(person_id));
  return one->front();
}

namespace {

// The columns every list of faces with their photos reads (ReadFaces).
constexpr const char* kFaceColumns =
    "SELECT f.id, f.image_id, i.uri, i.sha256, i.captured_at, src.name, f.x, f.y, f.w, f.h, f.quality, %s, i.place "
    "FROM faces f JOIN images i ON i.id = f.image_id JOIN sources src ON src.id = i.source_id ";

std::string FaceQuery(const std::string& placed_by, const std::string& rest) {
  std::string cols = kFaceColumns;
  cols.replace(cols.find("%s"), 2, placed_by);
  return cols + rest;
}

Status ReadFaces(oversight::Stmt& q, const SqliteDb& db, const std::string& what, std::vector<PersonFace>* out) {
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) {
    PersonFace f;
    f.face_id = q.Int(0);
    f.image_id = q.Int(1);
    f.image_uri = q.Text(2);
    f.image_sha256 = q.Text(3);
    f.captured_at = q.Text(4);
    f.source = q.Text(5);
    f.box = cv::Rect2f(static_cast<float>(q.Real(6)), static_cast<float>(q.Real(7)), static_cast<float>(q.Real(8)),
                       static_cast<float>(q.Real(9)));
    f.quality = static_cast<float>(q.Real(10));
    f.placed_by = q.Text(11);
    f.place = q.Text(12);
    out->push_back(std::move(f));
  }
  if (rc != SQLITE_DONE) return db.Error(what);
  return Status::OK();
}

}  // namespace

Result<std::vector<PersonFace>> Persons::Faces(int64_t person_id) {
  Impl& m = *impl_;
  if (Status s = m.RequirePerson(person_id); !s.ok()) return s;
  Stmt q(m.h(), FaceQuery("fp.placed_by", "JOIN face_persons fp ON fp.face_id = f.id WHERE fp.person_id = ? "
                                          "ORDER BY i.captured_at, f.id")
                    .c_str());
  q.Bind(1, person_id);
  std::vector<PersonFace> out;
  if (Status s = ReadFaces(q, *m.db, "cannot read a person's faces", &out); !s.ok()) return s;
  return out;
}

Result<int64_t> Persons::PersonOf(int64_t face_id) {
  Impl& m = *impl_;
  Stmt q(m.h(), "SELECT COALESCE((SELECT person_id FROM face_persons WHERE face_id = f.id), 0) FROM faces f WHERE f.id = ?");
  q.Bind(1, face_id);
  const int rc = q.Step();
  if (rc == SQLITE_ROW) return q.Int(0);
  if (rc == SQLITE_DONE) return Status::NotFound("no face " + std::to_string(face_id));
  return m.db->Error("cannot read persons");
}

Result<std::vector<std::pair<int64_t, int64_t>>> Persons::Placements() {
  Impl& m = *impl_;
  Stmt q(m.h(), "SELECT face_id, person_id FROM face_persons ORDER BY face_id");
  std::vector<std::pair<int64_t, int64_t>> out;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) out.push_back({q.Int(0), q.Int(1)});
  if (rc != SQLITE_DONE) return m.db->Error("cannot read persons");
  return out;
}

Result<std::vector<int64_t>> Persons::PendingFaces() {
  Impl& m = *impl_;
  Stmt q(m.h(), "SELECT face_id FROM person_pending ORDER BY face_id");
  std::vector<int64_t> out;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) out.push_back(q.Int(0));
  if (rc != SQLITE_DONE) return m.db->Error("cannot read pending faces");
  return out;
}

Result<std::vector<PersonFace>> Persons::PendingFaceList(int64_t offset, int64_t limit) {
  Impl& m = *impl_;
  if (offset < 0 || limit < 0) return Status::InvalidArgument("pending faces: offset and limit must not be negative");
  Stmt q(m.h(), FaceQuery("'pending'", "JOIN person_pending pp ON pp.face_id = f.id ORDER BY f.id LIMIT ? OFFSET ?")
                    .c_str());
  q.Bind(1, limit).Bind(2, offset);
  std::vector<PersonFace> out;
  if (Status s = ReadFaces(q, *m.db, "cannot read pending faces", &out); !s.ok()) return s;
  return out;
}

Result<std::vector<PendingVote>> Persons::PendingVotes(const std::vector<int64_t>& face_ids) {
  Impl& m = *impl_;
  std::vector<PendingVote> out;
  if (face_ids.empty()) return out;
  auto nn = m.gallery.Neighbours(face_ids, m.options.k);
  if (!nn.ok()) return nn.status();
  auto apart = m.Apart();
  if (!apart.ok()) return apart.status();
  // Point reads of the neighbours' persons: a page of waiting faces touches a few
  // thousand faces, not the whole placement.
  Stmt person_q(m.h(), "SELECT person_id FROM face_persons WHERE face_id = ?");
  std::unordered_map<int64_t, int64_t> person_cache;
  Status read_error;
  auto person_of = [&](int64_t face) -> int64_t {
    auto [it, fresh] = person_cache.emplace(face, 0);
    if (!fresh) return it->second;
    person_q.Reset();
    person_q.Bind(1, face);
    const int rc = person_q.Step();
    if (rc == SQLITE_ROW) it->second = person_q.Int(0);
    else if (rc != SQLITE_DONE) read_error = m.db->Error("cannot read persons");
    return it->second;
  };
  // Another face of its photo in the person (?1 person, ?2 face).
  Stmt same_photo(m.h(), "SELECT 1 FROM face_persons fp JOIN faces f ON f.id = fp.face_id WHERE fp.person_id = ?1 "
                         "AND f.image_id = (SELECT image_id FROM faces WHERE id = ?2) AND f.id != ?2 LIMIT 1");
  for (size_t i = 0; i < face_ids.size(); ++i) {
    const Impl::Ballot b = m.Vote((*nn)[i], person_of);
    if (!read_error.ok()) return read_error;
    PendingVote v;
    v.face_id = face_ids[i];
    v.close_neighbours = b.voters;
    v.leading_person = b.best;
    v.leading_neighbours = b.best_voters;
    v.leading_share = b.total > 0 ? b.best_weight / b.total : 0;
    v.share_needed = m.options.join_share;
    bool marked = false;
    if (auto it = apart->find(v.face_id); it != apart->end())
      for (int64_t other : it->second) marked |= b.best > 0 && person_of(other) == b.best;
    if (!read_error.ok()) return read_error;
    same_photo.Reset();
    same_photo.Bind(1, b.best).Bind(2, v.face_id);
    const int rc = same_photo.Step();
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return m.db->Error("cannot read persons");
    v.reason = b.voters == 0        ? "no close neighbour"
               : !m.Carries(b)      ? "neighbours disagree"
               : rc == SQLITE_ROW   ? "same photo"
               : marked             ? "marked not this person"
                                    : "can join now";
    out.push_back(std::move(v));
  }
  return out;
}

Result<PersonEvent> Persons::Name(int64_t person_id, const std::string& name, const std::string& actor) {
  Impl& m = *impl_;
  if (Status s = oversight::CheckText("a person's name", name, 200, false, true); !s.ok()) return s;
  int64_t event = 0;
  Status s = m.db->InTransaction([&]() -> Status {
    if (Status r = m.RequirePerson(person_id); !r.ok()) return r;
    auto old = m.NameOf(person_id);
    if (!old.ok()) return old.status();
    auto existing = m.SubjectId(name, false);
    if (!existing.ok()) return existing.status();
    if (*existing > 0) {
      Stmt q(m.h(), "SELECT id FROM persons WHERE subject_id = ? AND id != ? AND id IN (SELECT person_id FROM face_persons)");
      q.Bind(1, *existing).Bind(2, person_id);
      if (q.Step() == SQLITE_ROW)
        return Status::InvalidArgument("person " + std::to_string(q.Int(0)) + " is already called \"" + name +
                                       "\": merge the two instead");
    }
    auto sid = m.SubjectId(name, true);
    if (!sid.ok()) return sid.status();
    auto faces = m.FacesOf(person_id);
    if (!faces.ok()) return faces.status();
    // Which faces get the subject link now (those without one), to take back on undo.
    json linked = json::array();
    for (int64_t f : *faces) {
      Stmt q(m.h(), "SELECT 1 FROM face_subjects WHERE face_id = ?");
      q.Bind(1, f);
      if (q.Step() == SQLITE_ROW) continue;
      Stmt add(m.h(), "INSERT INTO face_subjects (face_id, subject_id) VALUES (?, ?)");
      add.Bind(1, f).Bind(2, *sid);
      if (add.Step() != SQLITE_DONE) return m.db->Error("cannot link a face to its subject");
      linked.push_back(f);
    }
    Stmt up(m.h(), "UPDATE persons SET subject_id = ? WHERE id = ?");
    up.Bind(1, *sid).Bind(2, person_id);
    if (up.Step() != SQLITE_DONE) return m.db->Error("cannot name a person");
    auto e = m.AddEvent(actor, "name", {{"person", person_id}, {"name", name}, {"previous_name", *old}},
                        {{"previous_name", *old}, {"linked_faces", linked}});
    if (!e.ok()) return e.status();
    event = *e;
    return Status::OK();
  });
  if (!s.ok()) return s;
  return m.GetEvent(event);
}

Result<PersonEvent> Persons::Merge(int64_t a, int64_t b, const std::string& actor) {
  Impl& m = *impl_;
  if (a == b) return Status::InvalidArgument("a person cannot be merged with itself");
  int64_t event = 0;
  Status s = m.db->InTransaction([&]() -> Status {
    for (int64_t p : {a, b})
      if (Status r = m.RequirePerson(p); !r.ok()) return r;
    auto na = m.NameOf(a), nb = m.NameOf(b);
    if (!na.ok()) return na.status();
    if (!nb.ok()) return nb.status();
    if (!na->empty() && !nb->empty() && *na != *nb)
      return Status::FailedPrecondition("person " + std::to_string(a) + " is \"" + *na + "\" and person " +
                                        std::to_string(b) + " is \"" + *nb + "\": two named people are not merged");
    auto fa = m.FacesOf(a), fb = m.FacesOf(b);
    if (!fa.ok()) return fa.status();
    if (!fb.ok()) return fb.status();
    // One photo never shows one person twice; an analyst's "not this person" holds.
    {
      Stmt q(m.h(),
             "SELECT COUNT(*) FROM face_persons x JOIN faces fx ON fx.id = x.face_id JOIN face_persons y JOIN faces fy "
             "ON fy.id = y.face_id WHERE x.person_id = ? AND y.person_id = ? AND fx.image_id = fy.image_id");
      q.Bind(1, a).Bind(2, b);
      if (q.Step() == SQLITE_ROW && q.Int(0) > 0)
        return Status::FailedPrecondition("persons " + std::to_string(a) + " and " + std::to_string(b) +
                                          " appear together in a photo: they are two people");
      Stmt l(m.h(),
             "SELECT COUNT(*) FROM person_links l JOIN person_events e ON e.id = l.event_id JOIN face_persons x ON "
             "x.face_id = l.face_a JOIN face_persons y ON y.face_id = l.face_b WHERE e.undone_by = 0 AND l.same = 0 "
             "AND ((x.person_id = ?1 AND y.person_id = ?2) OR (x.person_id = ?2 AND y.person_id = ?1))");
      l.Bind(1, a).Bind(2, b);
      if (l.Step() == SQLITE_ROW && l.Int(0) > 0)
        return Status::FailedPrecondition("an analyst marked a face of one as not the other: undo that first");
    }
    auto before = m.Snapshot(*fb);
    if (!before.ok()) return before.status();
    auto e = m.AddEvent(actor, "merge", {{"into", a}, {"from", b}, {"faces", fb->size()}},
                        {{"faces", *before}, {"name_a", *na}, {"name_b", *nb}});
    if (!e.ok()) return e.status();
    event = *e;
    for (int64_t f : *fb)
      if (Status r = m.Place(f, a, actor); !r.ok()) return r;
    if (Status r = m.AddLink(fa->front(), fb->front(), true, event); !r.ok()) return r;
    if (na->empty() && !nb->empty()) {
      Stmt mv(m.h(), "UPDATE persons SET subject_id = (SELECT subject_id FROM persons WHERE id = ?) WHERE id = ?");
      mv.Bind(1, b).Bind(2, a);
      if (mv.Step() != SQLITE_DONE) return m.db->Error("cannot carry the name over");
    }
    Stmt w(m.h(), "UPDATE persons SET weakest_link = 0 WHERE id = ?");  // held by an analyst, not by links
    w.Bind(1, a);
    if (w.Step() != SQLITE_DONE) return m.db->Error("cannot update a person");
    return m.DropEmptyPersons();
  });
  if (!s.ok()) return s;
  return m.GetEvent(event);
}

Result<PersonEvent> Persons::Split(int64_t person_id, const std::vector<int64_t>& face_ids, const std::string& actor) {
  Impl& m = *impl_;
  if (face_ids.empty()) return Status::InvalidArgument("split needs at least one face to move out");
  int64_t event = 0;
  Status s = m.db->InTransaction([&]() -> Status {
    if (Status r = m.RequirePerson(person_id); !r.ok()) return r;
    auto faces = m.FacesOf(person_id);
    if (!faces.ok()) return faces.status();
    std::set<int64_t> all(faces->begin(), faces->end()), moving(face_ids.begin(), face_ids.end());
    for (int64_t f : moving)
      if (!all.count(f))
        return Status::InvalidArgument("face " + std::to_string(f) + " is not person " + std::to_string(person_id));
    if (moving.size() == all.size())
      return Status::InvalidArgument("that is every face of person " + std::to_string(person_id) + ": nothing to split");
    auto before = m.Snapshot(std::vector<int64_t>(moving.begin(), moving.end()));
    if (!before.ok()) return before.status();
    auto unlinked = m.UnlinkSubject(person_id, std::vector<int64_t>(moving.begin(), moving.end()));
    if (!unlinked.ok()) return unlinked.status();
    auto made = m.NewPerson();
    if (!made.ok()) return made.status();
    auto e = m.AddEvent(actor, "split", {{"person", person_id}, {"new_person", *made}, {"faces", moving}},
                        {{"faces", *before}, {"unlinked", *unlinked}});
    if (!e.ok()) return e.status();
    event = *e;
    for (int64_t f : moving)
      if (Status r = m.Place(f, *made, actor); !r.ok()) return r;
    // Later rebuilds keep the two apart, and the moved faces together.
    std::vector<int64_t> stay;
    for (int64_t f : *faces)
      if (!moving.count(f) && stay.size() < kRepresentatives) stay.push_back(f);
    size_t k = 0;
    for (int64_t f : moving) {
      if (k++ >= kRepresentatives) break;
      for (int64_t g : stay)
        if (Status r = m.AddLink(f, g, false, event); !r.ok()) return r;
      if (f != *moving.begin())
        if (Status r = m.AddLink(*moving.begin(), f, true, event); !r.ok()) return r;
    }
    return Status::OK();
  });
  if (!s.ok()) return s;
  return m.GetEvent(event);
}

Result<PersonEvent> Persons::MarkNot(int64_t face_id, int64_t person_id, const std::string& actor) {
  Impl& m = *impl_;
  int64_t event = 0;
  Status s = m.db->InTransaction([&]() -> Status {
    if (Status r = m.RequirePerson(person_id); !r.ok()) return r;
    auto faces = m.FacesOf(person_id);
    if (!faces.ok()) return faces.status();
    const bool inside = std::find(faces->begin(), faces->end(), face_id) != faces->end();
    auto before = m.Snapshot({face_id});
    if (!before.ok()) return before.status();
    int64_t new_person = 0;
    if (inside) {
      if (faces->size() == 1) return Status::InvalidArgument("face " + std::to_string(face_id) + " is all of person " +
                                                             std::to_string(person_id));
      auto made = m.NewPerson();
      if (!made.ok()) return made.status();
      new_person = *made;
    }
    auto unlinked = m.UnlinkSubject(person_id, {face_id});
    if (!unlinked.ok()) return unlinked.status();
    auto e = m.AddEvent(actor, "mark", {{"face", face_id}, {"not_person", person_id}, {"new_person", new_person}},
                        {{"faces", *before}, {"unlinked", *unlinked}});
    if (!e.ok()) return e.status();
    event = *e;
    if (inside)
      if (Status r = m.Place(face_id, new_person, actor); !r.ok()) return r;
    size_t k = 0;
    for (int64_t g : *faces) {
      if (g == face_id) continue;
      if (k++ >= kRepresentatives) break;
      if (Status r = m.AddLink(face_id, g, false, event); !r.ok()) return r;
    }
    return Status::OK();
  });
  if (!s.ok()) return s;
  return m.GetEvent(event);
}

Result<PersonEvent> Persons::Undo(int64_t event_id, const std::string& actor) {
  Impl& m = *impl_;
  int64_t undo = 0;
  Status s = m.db->InTransaction([&]() -> Status {
    auto e = m.GetEvent(event_id);
    if (!e.ok()) return e.status();
    if (e->undone_by) return Status::FailedPrecondition("change " + std::to_string(event_id) + " was undone already");
    if (e->action == "undo") return Status::FailedPrecondition("an undo is not undone; make the change again");
    Stmt bq(m.h(), "SELECT before FROM person_events WHERE id = ?");
    bq.Bind(1, event_id);
    if (bq.Step() != SQLITE_ROW) return m.db->Error("cannot read the change");
    const json before = json::parse(bq.Text(0), nullptr, false);
    const json details = json::parse(e->details, nullptr, false);
    if (!before.is_object() || !details.is_object()) return Status::Corrupt("a recorded change is damaged");
    // Later changes touching the same faces must go first.
    if (before.contains("faces"))
      for (const auto& f : before["faces"]) {
        Stmt later(m.h(),
                   "SELECT e.id FROM person_events e WHERE e.id > ? AND e.undone_by = 0 AND e.action != 'undo' AND "
                   "EXISTS (SELECT 1 FROM json_each(e.before, '$.faces') j WHERE json_extract(j.value, '$[0]') = ?)");
        later.Bind(1, event_id).Bind(2, f[0].get<int64_t>());
        if (later.Step() == SQLITE_ROW)
          return Status::FailedPrecondition("change " + std::to_string(later.Int(0)) +
                                            " moved the same faces later: undo it first");
      }
    auto u = m.AddEvent(actor, "undo", {{"undoes", event_id}, {"action", e->action}}, json::object());
    if (!u.ok()) return u.status();
    undo = *u;
    if (e->action == "name") {
      const std::string previous = before.value("previous_name", "");
      int64_t sid = 0;
      if (!previous.empty()) {
        auto r = m.SubjectId(previous, true);
        if (!r.ok()) return r.status();
        sid = *r;
      }
      Stmt up(m.h(), "UPDATE persons SET subject_id = ? WHERE id = ?");
      if (sid > 0) up.Bind(1, sid);  // unbound: NULL
      up.Bind(2, details.value("person", int64_t{0}));
      if (up.Step() != SQLITE_DONE) return m.db->Error("cannot undo a name");
      for (const auto& f : before.value("linked_faces", json::array())) {
        Stmt d(m.h(), "DELETE FROM face_subjects WHERE face_id = ?");
        d.Bind(1, f.get<int64_t>());
        if (d.Step() != SQLITE_DONE) return m.db->Error("cannot undo a name");
      }
    } else {
      // Every face back where it was (persons re-made if they are gone).
      for (const auto& f : before.value("faces", json::array())) {
        const int64_t face = f[0].get<int64_t>(), person = f[1].get<int64_t>();
        if (person == 0) continue;
        Stmt exists(m.h(), "SELECT 1 FROM persons WHERE id = ?");
        exists.Bind(1, person);
        if (exists.Step() != SQLITE_ROW) {
          Stmt again(m.h(), "INSERT INTO persons (id, created_at) VALUES (?, ?)");
          again.Bind(1, person).Bind(2, m.Now());
          if (again.Step() != SQLITE_DONE) return m.db->Error("cannot bring a person back");
        }
        Stmt live(m.h(), "SELECT 1 FROM faces WHERE id = ?");
        live.Bind(1, face);
        if (live.Step() != SQLITE_ROW) continue;  // erased since
        if (Status r = m.Place(face, person, f[2].get<std::string>()); !r.ok()) return r;
      }
      if (before.contains("unlinked") && !before["unlinked"].value("subject", "").empty()) {
        auto sid = m.SubjectId(before["unlinked"]["subject"].get<std::string>(), true);
        if (!sid.ok()) return sid.status();
        for (const auto& f : before["unlinked"].value("faces", json::array())) {
          Stmt relink(m.h(), "INSERT OR IGNORE INTO face_subjects (face_id, subject_id) SELECT id, ? FROM faces WHERE id = ?");
          relink.Bind(1, *sid).Bind(2, f.get<int64_t>());
          if (relink.Step() != SQLITE_DONE) return m.db->Error("cannot link a face to its subject again");
        }
      }
      if (e->action == "merge" && before.value("name_a", "").empty() && !before.value("name_b", "").empty()) {
        Stmt un(m.h(), "UPDATE persons SET subject_id = NULL WHERE id = ?");
        un.Bind(1, details.value("into", int64_t{0}));
        if (un.Step() != SQLITE_DONE) return m.db->Error("cannot undo a merge's name");
        auto sid = m.SubjectId(before.value("name_b", ""), true);
        if (!sid.ok()) return sid.status();
        Stmt back(m.h(), "UPDATE persons SET subject_id = ? WHERE id = ?");
        back.Bind(1, *sid).Bind(2, details.value("from", int64_t{0}));
        if (back.Step() != SQLITE_DONE) return m.db->Error("cannot undo a merge's name");
      }
    }
    Stmt mark(m.h(), "UPDATE person_events SET undone_by = ? WHERE id = ?");
    mark.Bind(1, undo).Bind(2, event_id);
    if (mark.Step() != SQLITE_DONE) return m.db->Error("cannot record the undo");
    return m.DropEmptyPersons();
  });
  if (!s.ok()) return s;
  return m.GetEvent(undo);
}

Result<PersonEvent> Persons::Event(int64_t event_id) { return impl_->GetEvent(event_id); }

Result<std::vector<PersonEvent>> Persons::History(int64_t limit) {
  Impl& m = *impl_;
  Stmt q(m.h(), "SELECT id, at, actor, action, details, undone_by FROM person_events ORDER BY id DESC LIMIT ?");
  q.Bind(1, limit);
  std::vector<PersonEvent> out;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) out.push_back({q.Int(0), q.Text(1), q.Text(2), q.Text(3), q.Text(4), q.Int(5)});
  if (rc != SQLITE_DONE) return m.db->Error("cannot read changes");
  return out;
}

}  // namespace lineup
