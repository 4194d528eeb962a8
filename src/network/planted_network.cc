#include "lineup/planted_network.h"

#include <algorithm>
#include <chrono>
#include <set>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "lineup/gallery.h"
#include "lineup/network.h"
#include "lineup/persons.h"
#include "synth_photos.h"

namespace lineup {

namespace fs = std::filesystem;
using synth::Rng;

bool PlantedNetwork::Related(int p, int q) const {
  const PlantedPerson& a = persons[static_cast<size_t>(p)];
  const PlantedPerson& b = persons[static_cast<size_t>(q)];
  return a.group == b.group || a.bridge_to == b.group || b.bridge_to == a.group;
}

Result<PlantedNetwork> PlanNetwork(const std::string& lfw_root, const PlantedNetworkOptions& o) {
  if (o.groups < 1 || o.group_min < 2 || o.group_max < o.group_min || o.photo_min < 2 || o.photo_max < o.photo_min ||
      o.appearances < 1 || o.bridges < 0 || o.bridge_photos < 1 || o.solo_share < 0 || o.solo_share > 1 ||
      o.min_lfw_photos < 1)
    return Status::InvalidArgument("planted network: options out of range");
  if (2 * o.bridges > o.groups)
    return Status::InvalidArgument("planted network: " + std::to_string(o.bridges) + " bridges need at least " +
                                   std::to_string(2 * o.bridges) + " groups");
  // LFW people with enough photos, by name.
  const fs::path images = fs::path(lfw_root) / "images";
  std::error_code ec;
  if (!fs::is_directory(images, ec)) return Status::NotFound(images.string() + ": no LFW images folder");
  std::vector<std::pair<std::string, std::vector<std::string>>> people;
  for (const auto& d : fs::directory_iterator(images, ec)) {
    if (!d.is_directory()) continue;
    std::vector<std::string> files;
    for (const auto& f : fs::directory_iterator(d.path(), ec))
      if (f.is_regular_file() && f.path().extension() == ".jpg") files.push_back(f.path().string());
    if (static_cast<int>(files.size()) < o.min_lfw_photos) continue;
    std::sort(files.begin(), files.end());
    people.push_back({d.path().filename().string(), std::move(files)});
  }
  std::sort(people.begin(), people.end());

  PlantedNetwork net;
  net.options = o;
  Rng rng = Rng::For(o.seed, "plan", 0);
  std::vector<int> sizes;
  int total = 0;
  for (int g = 0; g < o.groups; ++g) total += sizes.emplace_back(rng.Int(o.group_min, o.group_max));
  if (static_cast<int>(people.size()) < total)
    return Status::InvalidArgument("planted network: needs " + std::to_string(total) + " LFW people with " +
                                   std::to_string(o.min_lfw_photos) + "+ photos, " + lfw_root + " has " +
                                   std::to_string(people.size()));
  rng.Shuffle(&people);
  std::vector<std::vector<int>> members(static_cast<size_t>(o.groups));
  std::vector<std::vector<std::string>> lfw(static_cast<size_t>(total));
  std::vector<size_t> next_photo(static_cast<size_t>(total), 0);
  for (int g = 0, id = 0; g < o.groups; ++g)
    for (int k = 0; k < sizes[static_cast<size_t>(g)]; ++k, ++id) {
      net.persons.push_back({id, people[static_cast<size_t>(id)].first, g, -1});
      members[static_cast<size_t>(g)].push_back(id);
      lfw[static_cast<size_t>(id)] = people[static_cast<size_t>(id)].second;
      Rng r = Rng::For(o.seed, "lfw", static_cast<uint64_t>(id));
      r.Shuffle(&lfw[static_cast<size_t>(id)]);
    }
  auto face = [&](int person) {
    auto& files = lfw[static_cast<size_t>(person)];
    size_t& n = next_photo[static_cast<size_t>(person)];
    return PlantedFace{person, files[n++ % files.size()], {}};
  };
  char name[64];

  // Group photos: the members seen least so far (random among equals) until everyone
  // is in `appearances` photos.
  for (int g = 0; g < o.groups; ++g) {
    const auto& m = members[static_cast<size_t>(g)];
    std::vector<int> seen(m.size(), 0);
    for (int count = 0; *std::min_element(seen.begin(), seen.end()) < o.appearances; ++count) {
      const int k = rng.Int(o.photo_min, std::min<int>(o.photo_max, static_cast<int>(m.size())));
      std::vector<std::pair<std::pair<int, uint64_t>, size_t>> order;
      for (size_t i = 0; i < m.size(); ++i) order.push_back({{seen[i], rng.Bits()}, i});
      std::sort(order.begin(), order.end());
      PlantedPhoto photo;
      std::snprintf(name, sizeof name, "g%03d_%02d.jpg", g, count);
      photo.file = name;
      photo.kind = "group";
      std::vector<size_t> chosen;
      for (int j = 0; j < k; ++j) chosen.push_back(order[static_cast<size_t>(j)].second);
      std::sort(chosen.begin(), chosen.end());
      for (size_t i : chosen) {
        ++seen[i];
        photo.faces.push_back(face(m[i]));
      }
      net.photos.push_back(std::move(photo));
    }
  }

  // Bridges: from distinct groups, each into a group that is neither a bridge's own
  // group nor another bridge's target, so that each bridge is the only link it makes.
  std::vector<int> order(static_cast<size_t>(o.groups));
  for (int g = 0; g < o.groups; ++g) order[static_cast<size_t>(g)] = g;
  rng.Shuffle(&order);
  for (int b = 0; b < o.bridges; ++b) {
    const int from = order[static_cast<size_t>(b)], to = order[static_cast<size_t>(o.bridges + b)];
    const auto& own = members[static_cast<size_t>(from)];
    const int bridge = own[static_cast<size_t>(rng.Int(0, static_cast<int>(own.size()) - 1))];
    net.persons[static_cast<size_t>(bridge)].bridge_to = to;
    std::vector<int> others = members[static_cast<size_t>(to)];
    for (int p = 0; p < o.bridge_photos; ++p) {
      rng.Shuffle(&others);
      const int k = std::min<int>(rng.Int(2, 3), static_cast<int>(others.size()));
      PlantedPhoto photo;
      std::snprintf(name, sizeof name, "b%02d_%02d.jpg", b, p);
      photo.file = name;
      photo.kind = "bridge";
      photo.faces.push_back(face(bridge));
      for (int j = 0; j < k; ++j) photo.faces.push_back(face(others[static_cast<size_t>(j)]));
      net.photos.push_back(std::move(photo));
    }
  }

  for (int id = 0; id < total; ++id) {
    if (!rng.Chance(o.solo_share)) continue;
    PlantedPhoto photo;
    std::snprintf(name, sizeof name, "s%03d.jpg", id);
    photo.file = name;
    photo.kind = "solo";
    photo.faces.push_back(face(id));
    net.photos.push_back(std::move(photo));
  }
  return net;
}

Status RenderPlantedPhotos(PlantedNetwork* net, const std::string& out_dir, const std::string& groups_dir,
                           const std::function<void(size_t, size_t)>& progress) {
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) return Status::IOError(out_dir + ": " + ec.message());
  std::vector<synth::BackgroundSource> backgrounds;
  if (!groups_dir.empty() && fs::is_directory(groups_dir, ec)) backgrounds = synth::LoadGroupBackgrounds(groups_dir);
  std::map<std::string, cv::Mat> cache;
  for (size_t i = 0; i < net->photos.size(); ++i) {
    PlantedPhoto& photo = net->photos[i];
    Rng r = Rng::For(net->options.seed, "photo", i);
    const double fh = r.Uniform(110, 150);
    const int n = static_cast<int>(photo.faces.size());
    const double step = fh * 2.3;
    const cv::Size size(static_cast<int>(std::lround(step * n + fh * 0.6)), static_cast<int>(std::lround(fh * 4.2)));
    cv::Mat canvas;
    if (!backgrounds.empty()) {
      canvas = synth::CropBackground(backgrounds, size, r);
    } else {
      canvas = cv::Mat(size, CV_8UC3, cv::Scalar(r.Int(60, 200), r.Int(60, 200), r.Int(60, 200)));
    }
    for (int k = 0; k < n; ++k) {
      PlantedFace& f = photo.faces[static_cast<size_t>(k)];
      auto it = cache.find(f.lfw_photo);
      if (it == cache.end()) {
        if (cache.size() > 512) cache.clear();
        cv::Mat img = cv::imread(f.lfw_photo, cv::IMREAD_COLOR);
        if (img.empty()) return Status::NotFound(f.lfw_photo + ": cannot read the LFW photo");
        if (img.size() != cv::Size(250, 250)) cv::resize(img, img, cv::Size(250, 250), 0, 0, cv::INTER_AREA);
        it = cache.emplace(f.lfw_photo, img).first;
      }
      synth::PersonLayout layout;
      layout.face_height = static_cast<float>(fh * r.Uniform(0.9, 1.1));
      layout.face_centre = cv::Point2f(static_cast<float>(fh * 0.3 + step * (k + 0.5) + r.Uniform(-0.15, 0.15) * fh),
                                       static_cast<float>(fh * 1.5 + r.Uniform(-0.2, 0.2) * fh));
      layout.cutout = synth::Cutout::kHeadOval;
      layout.torso = true;
      layout.clothing = synth::kAllPatterns[static_cast<size_t>(r.Int(0, static_cast<int>(synth::kAllPatterns.size()) - 1))];
      f.box = synth::PlacePerson(&canvas, it->second, layout, r);
    }
    const std::vector<uint8_t> jpeg = synth::EncodeJpeg(canvas, 90);
    const std::string path = (fs::path(out_dir) / photo.file).string();
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(jpeg.data()), static_cast<std::streamsize>(jpeg.size()));
    if (!out) return Status::IOError(path + ": cannot write");
    if (progress) progress(i + 1, net->photos.size());
  }
  return Status::OK();
}

namespace {
double Choose2(double n) { return n * (n - 1) / 2; }
}  // namespace

double NormalizedMutualInformation(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  const double n = static_cast<double>(std::min(a.size(), b.size()));
  if (n == 0) return 1;
  std::map<int64_t, double> ca, cb;
  std::map<std::pair<int64_t, int64_t>, double> joint;
  for (size_t i = 0; i < static_cast<size_t>(n); ++i) {
    ca[a[i]] += 1;
    cb[b[i]] += 1;
    joint[{a[i], b[i]}] += 1;
  }
  auto entropy = [&](const std::map<int64_t, double>& c) {
    double h = 0;
    for (const auto& [k, v] : c) h -= v / n * std::log(v / n);
    return h;
  };
  const double ha = entropy(ca), hb = entropy(cb);
  if (ha + hb <= 0) return 1;
  double mi = 0;
  for (const auto& [k, v] : joint) mi += v / n * std::log(n * v / (ca[k.first] * cb[k.second]));
  return std::clamp(mi / ((ha + hb) / 2), 0.0, 1.0);
}

double AdjustedRandIndex(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  const size_t n = std::min(a.size(), b.size());
  std::map<int64_t, double> ca, cb;
  std::map<std::pair<int64_t, int64_t>, double> joint;
  for (size_t i = 0; i < n; ++i) {
    ca[a[i]] += 1;
    cb[b[i]] += 1;
    joint[{a[i], b[i]}] += 1;
  }
  double index = 0, sa = 0, sb = 0;
  for (const auto& [k, v] : joint) index += Choose2(v);
  for (const auto& [k, v] : ca) sa += Choose2(v);
  for (const auto& [k, v] : cb) sb += Choose2(v);
  const double pairs = Choose2(static_cast<double>(n));
  if (pairs <= 0) return 1;
  const double expected = sa * sb / pairs, max = (sa + sb) / 2;
  if (max == expected) return 1;
  return (index - expected) / (max - expected);
}

namespace {
double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}
float Iou(const cv::Rect2f& a, const cv::Rect2f& b) {
  const float inter = (a & b).area();
  const float u = a.area() + b.area() - inter;
  return u > 0 ? inter / u : 0;
}
}  // namespace

Result<PlantedEvaluation> EvaluatePlantedNetwork(const PlantedEvaluationOptions& o) {
  PlantedEvaluation ev;
  auto tick = [&](const std::string& stage, size_t done, size_t total) {
    if (o.progress) o.progress(stage, done, total);
  };
  std::error_code ec;
  if (fs::exists(o.work_dir, ec) && !fs::is_empty(o.work_dir, ec))
    return Status::InvalidArgument(o.work_dir + ": the work folder must be new or empty");
  auto planned = PlanNetwork(o.lfw_root, o.plant);
  if (!planned.ok()) return planned.status();
  PlantedNetwork& plan = *planned;
  const std::string photos_dir = (fs::path(o.work_dir) / "photos").string();
  const std::string gallery_dir = (fs::path(o.work_dir) / "gallery").string();

  auto t = std::chrono::steady_clock::now();
  Status s = RenderPlantedPhotos(&plan, photos_dir, o.groups_dir,
                                 [&](size_t d, size_t n) { tick("photos drawn", d, n); });
  if (!s.ok()) return s;
  ev.seconds_render = Seconds(t);
  ev.planted_persons = static_cast<int64_t>(plan.persons.size());
  ev.planted_groups = o.plant.groups;
  ev.planted_photos = static_cast<int64_t>(plan.photos.size());
  for (const auto& p : plan.photos) ev.planted_faces += static_cast<int64_t>(p.faces.size());
  {
    // The truth as a manifest beside the photos: file, planted person, group, box.
    std::ofstream m(fs::path(o.work_dir) / "truth.tsv");
    m << "file\tkind\tperson\tlfw_name\tgroup\tbridge_to\tbox\tlfw_photo\n";
    for (const auto& p : plan.photos)
      for (const auto& f : p.faces) {
        const PlantedPerson& who = plan.persons[static_cast<size_t>(f.person)];
        m << p.file << '\t' << p.kind << '\t' << f.person << '\t' << who.lfw_name << '\t' << who.group << '\t'
          << who.bridge_to << '\t' << synth::BoxText(f.box) << '\t' << f.lfw_photo << '\n';
      }
  }

  // Enrol.
  t = std::chrono::steady_clock::now();
  if (Status i = Gallery::Init(gallery_dir); !i.ok()) return i;
  auto gallery = Gallery::Open(gallery_dir, o.analyzer);
  if (!gallery.ok()) return gallery.status();
  SourceRecord source;
  source.name = "planted";
  source.legal_basis = "synthetic photos for measurement (LFW, research use)";
  source.purposes = {"search", "network"};
  if (Status a = (*gallery)->catalog().AddSource(&source); !a.ok()) return a;
  std::vector<std::string> files;
  for (const auto& p : plan.photos) files.push_back((fs::path(photos_dir) / p.file).string());
  EnrollOptions eo;
  eo.source = source.name;
  eo.workers = o.workers;
  eo.uri_of = [](const std::string& path) { return fs::path(path).filename().string(); };
  auto enrolled = (*gallery)->Enroll(files, eo, [&](int64_t d, const EnrollReport&) {
    tick("photos enrolled", static_cast<size_t>(d), files.size());
  });
  if (!enrolled.ok()) return enrolled.status();
  ev.faces_enrolled = enrolled->faces;
  ev.seconds_enrol = Seconds(t);

  // Persons.
  t = std::chrono::steady_clock::now();
  auto persons = Persons::Open(**gallery);
  if (!persons.ok()) return persons.status();
  auto recluster = (*persons)->Recluster([&](const std::string&, int64_t d, int64_t n) {
    tick("persons", static_cast<size_t>(d), static_cast<size_t>(n));
  });
  if (!recluster.ok()) return recluster.status();
  ev.pending = recluster->pending;
  ev.seconds_persons = Seconds(t);

  // The network, and its persons' planted identities.
  t = std::chrono::steady_clock::now();
  tick("network", 0, 1);
  auto net = CoAppearanceNetwork::Build(**gallery, **persons);
  if (!net.ok()) return net.status();
  std::map<std::string, const PlantedPhoto*> photo_of;
  for (const auto& p : plan.photos) photo_of[p.file] = &p;
  std::map<int64_t, std::map<int, int64_t>> identities_of_person;  // person -> identity -> faces
  std::map<int, std::map<int64_t, int64_t>> persons_of_identity;
  std::map<std::pair<int, int64_t>, double> joint;  // (identity, person) -> matched faces
  std::map<int, double> identity_faces;
  std::map<int64_t, double> person_faces;
  for (const NetworkPerson& np : net->persons()) {
    auto faces = (*persons)->Faces(np.id);
    if (!faces.ok()) return faces.status();
    for (const PersonFace& f : *faces) {
      auto it = photo_of.find(f.image_uri);
      if (it == photo_of.end()) continue;
      int best = -1;
      float best_iou = 0.3f;
      for (const PlantedFace& pf : it->second->faces)
        if (float iou = Iou(f.box, pf.box); iou >= best_iou) best_iou = iou, best = pf.person;
      if (best < 0) continue;
      ++ev.faces_matched;
      ++identities_of_person[np.id][best];
      ++persons_of_identity[best][np.id];
      joint[{best, np.id}] += 1;
      identity_faces[best] += 1;
      person_faces[np.id] += 1;
    }
  }
  {
    double tp = 0, predicted = 0, truth = 0;
    for (const auto& [k, v] : joint) tp += Choose2(v);
    for (const auto& [k, v] : person_faces) predicted += Choose2(v);
    for (const auto& [k, v] : identity_faces) truth += Choose2(v);
    ev.person_pairwise_precision = predicted > 0 ? tp / predicted : 1;
    ev.person_pairwise_recall = truth > 0 ? tp / truth : 1;
  }
  std::map<int64_t, int> identity;  // network person -> majority planted identity
  for (const auto& [person, counts] : identities_of_person) {
    int best = -1;
    int64_t most = 0;
    for (const auto& [id, n] : counts)
      if (n > most) most = n, best = id;
    identity[person] = best;
  }
  std::map<int, int64_t> person_of;  // planted identity -> the network person with most of its faces
  for (const auto& [id, counts] : persons_of_identity) {
    int64_t best = 0, most = 0;
    for (const auto& [person, n] : counts)
      if (n > most) most = n, best = person;
    person_of[id] = best;
  }
  ev.persons = static_cast<int64_t>(net->persons().size());
  ev.ties = static_cast<int64_t>(net->ties().size());

  // Communities against groups.
  for (const std::string algo : {"leiden:modularity", "louvain"}) {
    auto c = net->Communities(algo);
    if (!c.ok()) return c.status();
    if (algo == "leiden:modularity") ev.communities = static_cast<int64_t>(c->communities.size());
    std::vector<int64_t> found, truth;
    for (size_t i = 0; i < net->persons().size(); ++i) {
      auto it = identity.find(net->persons()[i].id);
      if (it == identity.end() || it->second < 0) continue;
      // An isolated person is a community of its own.
      found.push_back(c->label[i] >= 0 ? c->label[i] : -2 - static_cast<int64_t>(i));
      truth.push_back(plan.persons[static_cast<size_t>(it->second)].group);
    }
    (algo == "louvain" ? ev.nmi_louvain : ev.nmi) = NormalizedMutualInformation(found, truth);
    (algo == "louvain" ? ev.ari_louvain : ev.ari) = AdjustedRandIndex(found, truth);
  }

  // Associates, with every score.
  for (const std::string score : {"hub", "count", "cosine", "adamic_adar"}) {
    NetworkOptions no;
    no.associate_score = score;
    auto scored = CoAppearanceNetwork::Build(**gallery, **persons, no);
    if (!scored.ok()) return scored.status();
    double sum = 0;
    int64_t counted = 0;
    for (const auto& [id, person] : person_of) {
      auto top = scored->Associates(person, 5);
      if (!top.ok()) return top.status();
      if (top->empty()) continue;
      int64_t good = 0;
      for (const Associate& a : *top) {
        auto q = identity.find(a.person);
        if (q != identity.end() && q->second >= 0 && q->second != id && plan.Related(id, q->second)) ++good;
      }
      sum += static_cast<double>(good) / static_cast<double>(top->size());
      ++counted;
    }
    const double precision = counted ? sum / static_cast<double>(counted) : 0;
    ev.precision_by_score.push_back({score, precision});
    if (score == "hub") ev.associates_precision_at_5 = precision;
  }

  // Brokers against the planted bridges.
  std::vector<int> bridges;
  for (const auto& p : plan.persons)
    if (p.bridge_to >= 0) bridges.push_back(p.id);
  ev.bridges_planted = static_cast<int64_t>(bridges.size());
  ev.brokers_examined = std::max<int64_t>(1, ev.bridges_planted * o.broker_multiple);
  auto brokers = net->Brokers(static_cast<int>(ev.brokers_examined));
  if (!brokers.ok()) return brokers.status();
  for (int b : bridges) {
    auto it = person_of.find(b);
    if (it == person_of.end()) continue;
    for (size_t r = 0; r < brokers->size(); ++r)
      if ((*brokers)[r].person == it->second) {
        ++ev.bridges_found;
        if (static_cast<int64_t>(r) < ev.bridges_planted) ++ev.bridges_found_at_planted;
      }
  }
  ev.seconds_network = Seconds(t);
  tick("network", 1, 1);
  return ev;
}

}  // namespace lineup
