#include "lineup/network.h"

#include <igraph/igraph.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iterator>
#include <map>
#include <mutex>
#include <queue>
#include <set>
#include <unordered_map>

#include "lineup/catalog.h"
#include "lineup/graph_clustering.h"

namespace lineup {

namespace {

using json = nlohmann::json;

// Decodes one UTF-8 character at s[i]; returns its length (0 if invalid there) and sets
// *cp. Rejects overlong forms, surrogates and code points past U+10FFFF.
size_t DecodeUtf8(const std::string& s, size_t i, uint32_t* cp) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  size_t n;
  uint32_t v, min;
  if ((c & 0xE0) == 0xC0) n = 2, v = c & 0x1F, min = 0x80;
  else if ((c & 0xF0) == 0xE0) n = 3, v = c & 0x0F, min = 0x800;
  else if ((c & 0xF8) == 0xF0) n = 4, v = c & 0x07, min = 0x10000;
  else return 0;
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    v = (v << 6) | (b(i + k) & 0x3F);
  }
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
  *cp = v;
  return n;
}

constexpr const char* kReplacement = "\xEF\xBF\xBD";  // U+FFFD

}  // namespace

std::string CleanUtf8(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    uint32_t cp = 0;
    const size_t n = DecodeUtf8(s, i, &cp);
    if (n == 0) {
      out += kReplacement;
      ++i;
    } else {
      out.append(s, i, n);
      i += n;
    }
  }
  return out;
}

namespace {

// [x, y, w, h] in whole pixels, as every box of the API and the command line.
json BoxJson(const cv::Rect2f& b) {
  return json::array({std::lround(b.x), std::lround(b.y), std::lround(b.width), std::lround(b.height)});
}

}  // namespace

json SharedPhotoJson(const SharedPhoto& p, const ThumbnailUrl& thumbnail) {
  json j = {{"image_id", p.image_id},
            {"uri", CleanUtf8(p.uri)},
            {"sha256", CleanUtf8(p.sha256)},
            {"captured_at", CleanUtf8(p.captured_at)},
            {"source", CleanUtf8(p.source)},
            {"face_a", p.face_a},
            {"box_a", BoxJson(p.box_a)},
            {"face_b", p.face_b},
            {"box_b", BoxJson(p.box_b)},
            {"persons_in_photo", p.persons_in_photo}};
  if (thumbnail) {
    j["thumbnail_a"] = thumbnail(p.face_a);
    j["thumbnail_b"] = thumbnail(p.face_b);
  }
  return j;
}

namespace {

// The photo as seen from the other end of the tie.
SharedPhoto Flipped(SharedPhoto p) {
  std::swap(p.face_a, p.face_b);
  std::swap(p.box_a, p.box_b);
  return p;
}

std::mutex& IgraphMutex() {
  static std::mutex m;
  return m;
}

}  // namespace

std::string XmlEscape(const std::string& s) {
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  for (size_t i = 0; i < s.size();) {
    uint32_t cp = 0;
    const size_t n = DecodeUtf8(s, i, &cp);
    if (n == 0) {
      out += kReplacement;
      ++i;
      continue;
    }
    switch (cp) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      // Kept as references, so that attribute values keep them too.
      case '\t': out += "&#9;"; break;
      case '\n': out += "&#10;"; break;
      case '\r': out += "&#13;"; break;
      default:
        if (cp < 0x20 || cp == 0xFFFE || cp == 0xFFFF) out += kReplacement;
        else out.append(s, i, n);
    }
    i += n;
  }
  return out;
}

CoAppearanceNetwork CoAppearanceNetwork::FromFaces(std::vector<FaceOf> faces, const NetworkOptions& options) {
  CoAppearanceNetwork net;
  net.options_ = options;
  // One face per person and photo (two would be an analyst's merge across a photo; the
  // better one stands for the person there).
  std::sort(faces.begin(), faces.end(), [](const FaceOf& x, const FaceOf& y) {
    if (x.face.image_id != y.face.image_id) return x.face.image_id < y.face.image_id;
    if (x.person != y.person) return x.person < y.person;
    if (x.face.quality != y.face.quality) return x.face.quality > y.face.quality;
    return x.face.face_id < y.face.face_id;
  });
  faces.erase(std::unique(faces.begin(), faces.end(),
                          [](const FaceOf& x, const FaceOf& y) {
                            return x.face.image_id == y.face.image_id && x.person == y.person;
                          }),
              faces.end());

  std::map<int64_t, NetworkPerson> persons;
  std::map<int64_t, float> best_quality;
  std::set<int64_t> images;
  for (const FaceOf& f : faces) {
    NetworkPerson& p = persons[f.person];
    p.id = f.person;
    p.name = f.person_name;
    ++p.faces;
    ++p.photos;  // one face per person and photo
    auto q = best_quality.find(f.person);
    if (q == best_quality.end() || f.face.quality > q->second ||
        (f.face.quality == q->second && f.face.face_id < p.face_id)) {
      best_quality[f.person] = f.face.quality;
      p.face_id = f.face.face_id;
    }
    images.insert(f.face.image_id);
  }
  net.report_.faces = static_cast<int64_t>(faces.size());
  net.report_.photos = static_cast<int64_t>(images.size());

  std::map<std::pair<int64_t, int64_t>, std::vector<SharedPhoto>> ties;
  for (size_t begin = 0; begin < faces.size();) {
    size_t end = begin;
    while (end < faces.size() && faces[end].face.image_id == faces[begin].face.image_id) ++end;
    const int64_t n = static_cast<int64_t>(end - begin);
    if (n >= 2) ++net.report_.group_photos;
    for (size_t i = begin; i < end; ++i)
      for (size_t j = i + 1; j < end; ++j) {
        const PersonFace& a = faces[i].face;  // faces[i].person < faces[j].person
        const PersonFace& b = faces[j].face;
        ties[{faces[i].person, faces[j].person}].push_back(
            {a.image_id, a.image_uri, a.image_sha256, a.captured_at, a.source, a.face_id, b.face_id, a.box, b.box, n});
      }
    begin = end;
  }

  for (auto& [id, p] : persons) net.persons_.push_back(std::move(p));
  net.adjacency_.resize(net.persons_.size());
  for (auto& [key, photos] : ties) {
    std::sort(photos.begin(), photos.end(), [](const SharedPhoto& x, const SharedPhoto& y) {
      return x.captured_at != y.captured_at ? x.captured_at < y.captured_at : x.image_id < y.image_id;
    });
    Tie t;
    t.a = key.first;
    t.b = key.second;
    t.photos = std::move(photos);
    const int64_t ia = net.IndexOf(t.a), ib = net.IndexOf(t.b);
    net.adjacency_[static_cast<size_t>(ia)].push_back({ib, net.ties_.size()});
    net.adjacency_[static_cast<size_t>(ib)].push_back({ia, net.ties_.size()});
    net.ties_.push_back(std::move(t));
  }
  for (size_t i = 0; i < net.persons_.size(); ++i)
    net.persons_[i].ties = static_cast<int64_t>(net.adjacency_[i].size());
  net.report_.persons = static_cast<int64_t>(net.persons_.size());
  net.report_.ties = static_cast<int64_t>(net.ties_.size());
  return net;
}

Result<CoAppearanceNetwork> CoAppearanceNetwork::Build(Gallery& gallery, Persons& persons_db,
                                                       const NetworkOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  if (std::none_of(std::begin(kPurposes), std::end(kPurposes), [&](const char* p) { return options.purpose == p; }))
    return Status::InvalidArgument("unknown purpose \"" + options.purpose + "\" (purposes: search, network)");
  Catalog& catalog = gallery.catalog();
  auto sources = catalog.Sources();
  if (!sources.ok()) return sources.status();
  std::set<std::string> allowed;
  for (const SourceRecord& s : *sources)
    if (s.Allows(options.purpose)) allowed.insert(s.name);
  auto counts = catalog.CountsBySource();
  if (!counts.ok()) return counts.status();
  NetworkReport left;
  int64_t allowed_faces = 0;
  for (const auto& c : *counts) {
    if (allowed.count(c.name)) {
      allowed_faces += c.faces;
    } else {
      left.faces_left_out_purpose += c.faces;
      left.photos_left_out_purpose += c.images;
    }
  }

  auto list = persons_db.List();
  if (!list.ok()) return list.status();
  std::vector<FaceOf> faces;
  for (const PersonSummary& p : *list) {
    auto fs = persons_db.Faces(p.id);
    if (!fs.ok()) return fs.status();
    for (PersonFace& f : *fs) {
      if (!allowed.count(f.source)) continue;  // counted above
      if (options.honour_optouts) {
        const float* v = gallery.StoredVector(f.face_id);
        if (v && gallery.IsOptedOut(std::span<const float>(v, static_cast<size_t>(gallery.model().dim)))) {
          ++left.faces_opted_out;
          continue;
        }
      }
      faces.push_back({p.id, p.name, std::move(f)});
    }
  }
  CoAppearanceNetwork net = FromFaces(std::move(faces), options);
  net.report_.faces_left_out_purpose = left.faces_left_out_purpose;
  net.report_.photos_left_out_purpose = left.photos_left_out_purpose;
  net.report_.faces_opted_out = left.faces_opted_out;
  net.report_.faces_unplaced = std::max<int64_t>(0, allowed_faces - net.report_.faces - left.faces_opted_out);
  net.report_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return net;
}

int64_t CoAppearanceNetwork::IndexOf(int64_t person) const {
  auto it = std::lower_bound(persons_.begin(), persons_.end(), person,
                             [](const NetworkPerson& p, int64_t id) { return p.id < id; });
  return it != persons_.end() && it->id == person ? it - persons_.begin() : -1;
}

const Tie* CoAppearanceNetwork::FindTie(int64_t a, int64_t b) const {
  if (a > b) std::swap(a, b);
  auto it = std::lower_bound(ties_.begin(), ties_.end(), std::make_pair(a, b),
                             [](const Tie& t, const std::pair<int64_t, int64_t>& k) {
                               return std::make_pair(t.a, t.b) < k;
                             });
  return it != ties_.end() && it->a == a && it->b == b ? &*it : nullptr;
}

Result<NetworkPerson> CoAppearanceNetwork::Person(int64_t id) const {
  const int64_t i = IndexOf(id);
  if (i < 0) return Status::NotFound("person " + std::to_string(id) + " is not in the co-appearance network");
  return persons_[static_cast<size_t>(i)];
}

Result<std::vector<Associate>> CoAppearanceNetwork::Associates(int64_t person, int top) const {
  auto all = Associates(std::span<const int64_t>(&person, 1), top);
  if (!all.ok()) return all.status();
  return std::move((*all)[0]);
}

Result<std::vector<std::vector<Associate>>> CoAppearanceNetwork::Associates(std::span<const int64_t> persons,
                                                                            int top) const {
  if (top < 1) return Status::InvalidArgument("associates: top must be at least 1");
  const std::string& how = options_.associate_score;
  if (how != "hub" && how != "count" && how != "cosine" && how != "adamic_adar")
    return Status::InvalidArgument("unknown associate score \"" + how + "\" (hub, count, cosine, adamic_adar)");
  std::vector<std::vector<Associate>> out;
  for (int64_t person : persons) {
    const int64_t i = IndexOf(person);
    if (i < 0) return Status::NotFound("person " + std::to_string(person) + " is not in the co-appearance network");
    const NetworkPerson& me = persons_[static_cast<size_t>(i)];
    std::vector<Associate> list;
    for (const auto& [j, t] : adjacency_[static_cast<size_t>(i)]) {
      const NetworkPerson& other = persons_[static_cast<size_t>(j)];
      const Tie& tie = ties_[t];
      Associate a;
      a.person = other.id;
      a.name = other.name;
      a.shared_photos = tie.weight();
      double photo_weight = 0;
      for (const SharedPhoto& p : tie.photos) photo_weight += 1.0 / std::log2(1.0 + static_cast<double>(p.persons_in_photo));
      const double norm = std::sqrt(static_cast<double>(me.photos) * static_cast<double>(other.photos));
      if (how == "count") a.score = static_cast<double>(a.shared_photos);
      else if (how == "cosine") a.score = static_cast<double>(a.shared_photos) / norm;
      else if (how == "adamic_adar") a.score = photo_weight;
      else a.score = photo_weight / norm;
      for (const SharedPhoto& p : tie.photos) a.photos.push_back(tie.a == me.id ? p : Flipped(p));
      list.push_back(std::move(a));
    }
    std::sort(list.begin(), list.end(), [](const Associate& x, const Associate& y) {
      if (x.score != y.score) return x.score > y.score;
      if (x.shared_photos != y.shared_photos) return x.shared_photos > y.shared_photos;
      return x.person < y.person;
    });
    if (list.size() > static_cast<size_t>(top)) list.resize(static_cast<size_t>(top));
    out.push_back(std::move(list));
  }
  return out;
}

Result<NetworkPath> CoAppearanceNetwork::Path(int64_t a, int64_t b) const {
  const int64_t ia = IndexOf(a), ib = IndexOf(b);
  if (ia < 0) return Status::NotFound("person " + std::to_string(a) + " is not in the co-appearance network");
  if (ib < 0) return Status::NotFound("person " + std::to_string(b) + " is not in the co-appearance network");
  // Dijkstra on (links, sum of 1 / shared photos), compared in that order.
  using Cost = std::pair<int64_t, double>;
  const size_t n = persons_.size();
  std::vector<Cost> best(n, {INT64_MAX, 0});
  std::vector<int64_t> from(n, -1);
  std::priority_queue<std::pair<Cost, int64_t>, std::vector<std::pair<Cost, int64_t>>, std::greater<>> queue;
  best[static_cast<size_t>(ia)] = {0, 0};
  queue.push({{0, 0}, ia});
  while (!queue.empty()) {
    auto [cost, i] = queue.top();
    queue.pop();
    if (cost != best[static_cast<size_t>(i)]) continue;
    if (i == ib) break;
    for (const auto& [j, t] : adjacency_[static_cast<size_t>(i)]) {
      const Cost next{cost.first + 1, cost.second + 1.0 / static_cast<double>(ties_[t].weight())};
      Cost& known = best[static_cast<size_t>(j)];
      if (next < known || (next == known && i < from[static_cast<size_t>(j)])) {
        known = next;
        from[static_cast<size_t>(j)] = i;
        queue.push({next, j});
      }
    }
  }
  if (best[static_cast<size_t>(ib)].first == INT64_MAX)
    return Status::NotFound("persons " + std::to_string(a) + " and " + std::to_string(b) +
                            " are not connected by any chain of co-appearances");
  NetworkPath path;
  for (int64_t i = ib; i != -1; i = i == ia ? -1 : from[static_cast<size_t>(i)])
    path.persons.push_back(persons_[static_cast<size_t>(i)].id);
  std::reverse(path.persons.begin(), path.persons.end());
  for (size_t k = 0; k + 1 < path.persons.size(); ++k) {
    const Tie* t = FindTie(path.persons[k], path.persons[k + 1]);
    PathLink link;
    link.from = path.persons[k];
    link.to = path.persons[k + 1];
    for (const SharedPhoto& p : t->photos) link.photos.push_back(t->a == link.from ? p : Flipped(p));
    path.links.push_back(std::move(link));
  }
  return path;
}

Result<CommunityReport> CoAppearanceNetwork::Communities(const std::string& algorithm) const {
  CommunityReport report;
  report.algorithm = algorithm.empty() ? options_.communities : algorithm;
  // Only tied persons go into the graph: an isolated person is a community of its own.
  std::vector<int64_t> node_of(persons_.size(), -1);
  WeightedGraph g;
  for (size_t i = 0; i < persons_.size(); ++i)
    if (!adjacency_[i].empty()) node_of[i] = g.nodes++;
  for (const Tie& t : ties_) {
    g.edges.push_back({node_of[static_cast<size_t>(IndexOf(t.a))], node_of[static_cast<size_t>(IndexOf(t.b))]});
    g.weights.push_back(static_cast<double>(t.weight()));
  }
  auto clusters = ClusterGraph(g, report.algorithm);
  if (!clusters.ok()) return clusters.status();
  report.quality = clusters->quality;
  std::vector<std::vector<int64_t>> groups(static_cast<size_t>(clusters->count));
  for (size_t i = 0; i < persons_.size(); ++i) {
    if (node_of[i] < 0) ++report.isolated;
    else groups[static_cast<size_t>(clusters->label[static_cast<size_t>(node_of[i])])].push_back(persons_[i].id);
  }
  // Members are ascending (persons_ is); order groups by size, then smallest member.
  std::sort(groups.begin(), groups.end(), [](const auto& x, const auto& y) {
    return x.size() != y.size() ? x.size() > y.size() : x.front() < y.front();
  });
  report.label.assign(persons_.size(), -1);
  for (const auto& members : groups) {
    if (members.empty()) continue;
    Community c;
    c.id = static_cast<int64_t>(report.communities.size());
    c.members = members;
    for (int64_t m : members) report.label[static_cast<size_t>(IndexOf(m))] = c.id;
    report.communities.push_back(std::move(c));
  }
  for (const Tie& t : ties_) {
    const int64_t la = report.label[static_cast<size_t>(IndexOf(t.a))];
    if (la >= 0 && la == report.label[static_cast<size_t>(IndexOf(t.b))]) {
      ++report.communities[static_cast<size_t>(la)].internal_ties;
      report.communities[static_cast<size_t>(la)].internal_photos += t.weight();
    }
  }
  // A community of one (a person whose only ties were cut off by the algorithm) is
  // reported as isolated too, and stays labelled.
  std::vector<Community> kept;
  for (Community& c : report.communities)
    if (c.members.size() >= 2) kept.push_back(std::move(c));
    else ++report.isolated;
  report.communities = std::move(kept);
  return report;
}

Result<std::vector<Broker>> CoAppearanceNetwork::Brokers(int top, const std::string& algorithm) const {
  if (top < 1) return Status::InvalidArgument("brokers: top must be at least 1");
  auto communities = Communities(algorithm);
  if (!communities.ok()) return communities.status();
  std::vector<double> betweenness(persons_.size(), 0), closure(persons_.size(), 0);
  if (!ties_.empty()) {
    std::lock_guard<std::mutex> lock(IgraphMutex());
    igraph_set_error_handler(igraph_error_handler_ignore);
    igraph_vector_int_t ends;
    if (igraph_vector_int_init(&ends, static_cast<igraph_integer_t>(2 * ties_.size())) != IGRAPH_SUCCESS)
      return Status::Internal("igraph: out of memory");
    igraph_vector_t weights;
    if (igraph_vector_init(&weights, static_cast<igraph_integer_t>(ties_.size())) != IGRAPH_SUCCESS) {
      igraph_vector_int_destroy(&ends);
      return Status::Internal("igraph: out of memory");
    }
    for (size_t k = 0; k < ties_.size(); ++k) {
      VECTOR(ends)[2 * k] = static_cast<igraph_integer_t>(IndexOf(ties_[k].a));
      VECTOR(ends)[2 * k + 1] = static_cast<igraph_integer_t>(IndexOf(ties_[k].b));
      VECTOR(weights)[k] = 1.0 / static_cast<double>(ties_[k].weight());
    }
    igraph_t g;
    igraph_error_t e = igraph_create(&g, &ends, static_cast<igraph_integer_t>(persons_.size()), IGRAPH_UNDIRECTED);
    igraph_vector_int_destroy(&ends);
    if (e != IGRAPH_SUCCESS) {
      igraph_vector_destroy(&weights);
      return Status::Internal(std::string("igraph_create failed: ") + igraph_strerror(e));
    }
    igraph_vector_t result;
    e = igraph_vector_init(&result, 0);
    if (e == IGRAPH_SUCCESS) e = igraph_betweenness(&g, &result, igraph_vss_all(), IGRAPH_UNDIRECTED, &weights);
    if (e == IGRAPH_SUCCESS)
      for (size_t i = 0; i < persons_.size(); ++i) betweenness[i] = VECTOR(result)[static_cast<igraph_integer_t>(i)];
    if (e == IGRAPH_SUCCESS)
      e = igraph_transitivity_local_undirected(&g, &result, igraph_vss_all(), IGRAPH_TRANSITIVITY_ZERO);
    if (e == IGRAPH_SUCCESS)
      for (size_t i = 0; i < persons_.size(); ++i) closure[i] = VECTOR(result)[static_cast<igraph_integer_t>(i)];
    igraph_vector_destroy(&result);
    igraph_vector_destroy(&weights);
    igraph_destroy(&g);
    if (e != IGRAPH_SUCCESS)
      return Status::Internal(std::string("igraph betweenness or transitivity failed: ") + igraph_strerror(e));
  }
  std::vector<Broker> out;
  for (size_t i = 0; i < persons_.size(); ++i) {
    Broker b;
    b.person = persons_[i].id;
    b.name = persons_[i].name;
    b.betweenness = betweenness[i];
    b.closure = closure[i];
    b.score = betweenness[i] * (1 - closure[i]);
    b.ties = static_cast<int64_t>(adjacency_[i].size());
    std::set<int64_t> touched;
    if (communities->label[i] >= 0) touched.insert(communities->label[i]);
    for (const auto& [j, t] : adjacency_[i])
      if (communities->label[static_cast<size_t>(j)] >= 0) touched.insert(communities->label[static_cast<size_t>(j)]);
    b.communities = static_cast<int64_t>(touched.size());
    out.push_back(std::move(b));
  }
  std::sort(out.begin(), out.end(), [](const Broker& x, const Broker& y) {
    if (x.score != y.score) return x.score > y.score;
    return x.betweenness != y.betweenness ? x.betweenness > y.betweenness : x.person < y.person;
  });
  if (out.size() > static_cast<size_t>(top)) out.resize(static_cast<size_t>(top));
  return out;
}

Result<Neighbourhood> CoAppearanceNetwork::NeighbourhoodOf(int64_t person, int depth, int max_nodes) const {
  if (depth < 1 || depth > 3) return Status::InvalidArgument("neighbourhood: depth must be 1 to 3");
  if (max_nodes < 1) return Status::InvalidArgument("neighbourhood: max_nodes must be at least 1");
  const int64_t centre = IndexOf(person);
  if (centre < 0) return Status::NotFound("person " + std::to_string(person) + " is not in the co-appearance network");
  Neighbourhood out;
  std::vector<int> level(persons_.size(), -1);
  std::vector<int64_t> frontier{centre}, shown{centre};
  level[static_cast<size_t>(centre)] = 0;
  for (int d = 1; d <= depth && !frontier.empty(); ++d) {
    // Candidates at this depth by their strongest tie into what is shown.
    std::map<int64_t, int64_t> strength;
    for (int64_t i : frontier)
      for (const auto& [j, t] : adjacency_[static_cast<size_t>(i)])
        if (level[static_cast<size_t>(j)] < 0) strength[j] = std::max(strength[j], ties_[t].weight());
    std::vector<std::pair<int64_t, int64_t>> next(strength.begin(), strength.end());
    std::sort(next.begin(), next.end(), [&](const auto& x, const auto& y) {
      return x.second != y.second ? x.second > y.second : persons_[static_cast<size_t>(x.first)].id <
                                                                  persons_[static_cast<size_t>(y.first)].id;
    });
    frontier.clear();
    for (const auto& [j, w] : next) {
      if (static_cast<int>(shown.size()) >= max_nodes) {
        out.truncated = true;
        break;
      }
      level[static_cast<size_t>(j)] = d;
      shown.push_back(j);
      frontier.push_back(j);
    }
  }
  for (int64_t i : shown) {
    const NetworkPerson& p = persons_[static_cast<size_t>(i)];
    out.nodes.push_back({p.id, p.name, level[static_cast<size_t>(i)], p.photos, p.face_id});
  }
  for (const Tie& t : ties_)
    if (level[static_cast<size_t>(IndexOf(t.a))] >= 0 && level[static_cast<size_t>(IndexOf(t.b))] >= 0)
      out.edges.push_back({t.a, t.b, t.weight()});
  return out;
}

std::string CoAppearanceNetwork::ToGraphML() const {
  std::string x =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\" "
      "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
      "xsi:schemaLocation=\"http://graphml.graphdrawing.org/xmlns "
      "http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd\">\n"
      "  <key id=\"name\" for=\"node\" attr.name=\"name\" attr.type=\"string\"/>\n"
      "  <key id=\"faces\" for=\"node\" attr.name=\"faces\" attr.type=\"long\"/>\n"
      "  <key id=\"photos\" for=\"node\" attr.name=\"photos\" attr.type=\"long\"/>\n"
      "  <key id=\"face\" for=\"node\" attr.name=\"face_id\" attr.type=\"long\"/>\n"
      "  <key id=\"weight\" for=\"edge\" attr.name=\"weight\" attr.type=\"double\"/>\n"
      "  <key id=\"sha256\" for=\"edge\" attr.name=\"photos_sha256\" attr.type=\"string\"/>\n"
      "  <key id=\"uri\" for=\"edge\" attr.name=\"photos_uri\" attr.type=\"string\"/>\n"
      "  <key id=\"source\" for=\"edge\" attr.name=\"photos_source\" attr.type=\"string\"/>\n"
      "  <graph id=\"coappearance\" edgedefault=\"undirected\">\n";
  for (const NetworkPerson& p : persons_) {
    x += "    <node id=\"p" + std::to_string(p.id) + "\">";
    x += "<data key=\"name\">" + XmlEscape(p.name) + "</data>";
    x += "<data key=\"faces\">" + std::to_string(p.faces) + "</data>";
    x += "<data key=\"photos\">" + std::to_string(p.photos) + "</data>";
    x += "<data key=\"face\">" + std::to_string(p.face_id) + "</data></node>\n";
  }
  for (size_t k = 0; k < ties_.size(); ++k) {
    const Tie& t = ties_[k];
    std::string sha, uri, source;
    for (const SharedPhoto& p : t.photos) {
      sha += (sha.empty() ? "" : "\n") + p.sha256;
      uri += (uri.empty() ? "" : "\n") + p.uri;
      source += (source.empty() ? "" : "\n") + p.source;
    }
    x += "    <edge id=\"e" + std::to_string(k) + "\" source=\"p" + std::to_string(t.a) + "\" target=\"p" +
         std::to_string(t.b) + "\">";
    x += "<data key=\"weight\">" + std::to_string(t.weight()) + "</data>";
    x += "<data key=\"sha256\">" + XmlEscape(sha) + "</data>";
    x += "<data key=\"uri\">" + XmlEscape(uri) + "</data>";
    x += "<data key=\"source\">" + XmlEscape(source) + "</data></edge>\n";
  }
  x += "  </graph>\n</graphml>\n";
  return x;
}

json CoAppearanceNetwork::ToJson() const {
  json persons = json::array(), ties = json::array();
  for (const NetworkPerson& p : persons_)
    persons.push_back({{"id", p.id},
                       {"name", CleanUtf8(p.name)},
                       {"faces", p.faces},
                       {"photos", p.photos},
                       {"ties", p.ties},
                       {"face_id", p.face_id}});
  for (const Tie& t : ties_) {
    json photos = json::array();
    for (const SharedPhoto& p : t.photos) photos.push_back(SharedPhotoJson(p));
    ties.push_back({{"a", t.a}, {"b", t.b}, {"weight", t.weight()}, {"photos", photos}});
  }
  const NetworkReport& r = report_;
  json report = {{"persons", r.persons},
                 {"ties", r.ties},
                 {"faces", r.faces},
                 {"photos", r.photos},
                 {"group_photos", r.group_photos},
                 {"faces_left_out_purpose", r.faces_left_out_purpose},
                 {"photos_left_out_purpose", r.photos_left_out_purpose},
                 {"faces_unplaced", r.faces_unplaced},
                 {"faces_opted_out", r.faces_opted_out},
                 {"purpose", options_.purpose}};
  return {{"report", report}, {"persons", persons}, {"ties", ties}};
}

}  // namespace lineup
