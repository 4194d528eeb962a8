// CoAppearanceNetwork: who appears with whom in a gallery's photos.
//
// Two persons (persons.h) are tied when faces of both appear in one photo; a tie's
// weight is the number of distinct photos they share, and every tie keeps its evidence:
// each shared photo (image id, uri, SHA-256, capture time, source) with both faces' ids
// and boxes. The network is a snapshot built from the live catalog by Build, so an
// erased face, photo, source or subject, and a face that matches an opted-out person,
// are simply not in the next network built, and neither are the ties they made.
//
// Purpose limitation: only faces from sources whose legal basis allows the purpose
// "network" (SourceRecord::purposes) enter it; the report says how many faces and
// photos were left out for that reason, and for the others (pending faces that belong
// to no person yet, opted-out faces).
//
// Every answer is a lead for review, never a finding. A built network does not change
// and may be read from several threads; Build itself uses the Gallery and Persons from
// the calling thread (both single-threaded).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "lineup/gallery.h"
#include "lineup/persons.h"
#include "lineup/status.h"

namespace lineup {

struct NetworkOptions {
  // Faces are used only from sources that allow this purpose.
  std::string purpose = "network";
  // Default community algorithm of Communities() and Brokers() (graph_clustering.h).
  std::string communities = "leiden:modularity";
  // Leave out faces that match an opted-out person (Gallery::IsOptedOut), as search does.
  bool honour_optouts = true;
  // How Associates scores (see Associate): "hub" (default), "count", "cosine",
  // "adamic_adar". The others are kept for measurement (lineup eval network).
  std::string associate_score = "hub";
};

// One shared photo behind a tie: the photo, and the face of each of the two persons
// (a is the tie's person a, the lower id).
struct SharedPhoto {
  int64_t image_id = 0;
  std::string uri, sha256, captured_at, source;
  int64_t face_a = 0, face_b = 0;
  cv::Rect2f box_a, box_b;
  int64_t persons_in_photo = 0;  // of the network (a photo of many people says less about each pair)
};

struct Tie {
  int64_t a = 0, b = 0;             // person ids, a < b
  std::vector<SharedPhoto> photos;  // by capture time, then image id
  int64_t weight() const { return static_cast<int64_t>(photos.size()); }
};

struct NetworkPerson {
  int64_t id = 0;
  std::string name;   // the subject's label, "" for an unnamed person
  int64_t faces = 0;  // faces in the network (allowed sources, not opted out)
  int64_t photos = 0;  // distinct photos of those faces, solo photos included
  int64_t ties = 0;    // distinct persons tied to
  int64_t face_id = 0;  // a representative face (the best quality), for thumbnails
};

struct NetworkReport {
  int64_t persons = 0, ties = 0;
  int64_t faces = 0, photos = 0;  // used
  int64_t group_photos = 0;       // used photos showing two persons or more
  // Left out because their source does not allow the purpose.
  int64_t faces_left_out_purpose = 0, photos_left_out_purpose = 0;
  // Faces of allowed sources left out because they belong to no person (pending, or
  // kept with --all-faces although they fail admission), or match an opted-out person.
  int64_t faces_unplaced = 0, faces_opted_out = 0;
  double seconds = 0;
};

// An associate of a person. Ranked by `score`, then by shared photos, then by id.
//
// score = Σ over shared photos p of 1 / log2(1 + persons in p)   (photo weight)
//         ÷ sqrt(photos of the person × photos of the associate)  (hub discount)
// i.e. a cosine association in which a big group photo counts less than a photo of two
// people (Adamic–Adar's idea applied to photos), and sharing 3 photos with someone who is
// in 4 photos weighs more than sharing 3 with someone who is in 200: a plain count ranks
// a person who is in every photo first for everyone. On the planted network
// (docs/network.md) the four scores offered (this, count, cosine, adamic_adar) give
// top-5 precision 0.977-0.980: its groups are small and dense. The normalisation
// over-rates a person seen once (a stray face in a group photo); damping it for persons
// with few photos is not measured yet.
struct Associate {
  int64_t person = 0;
  std::string name;
  int64_t shared_photos = 0;
  double score = 0;
  std::vector<SharedPhoto> photos;  // oriented: face_a is the queried person's face
};

struct PathLink {
  int64_t from = 0, to = 0;
  std::vector<SharedPhoto> photos;  // face_a is `from`'s face
};
struct NetworkPath {
  std::vector<int64_t> persons;  // a ... b
  std::vector<PathLink> links;   // persons.size() - 1 links
};

struct Community {
  int64_t id = 0;                 // 0.. in order of size (largest first), then smallest member
  std::vector<int64_t> members;   // person ids, ascending
  int64_t internal_ties = 0, internal_photos = 0;
};
struct CommunityReport {
  std::string algorithm;
  double quality = 0;  // the algorithm's objective (modularity for leiden:modularity and louvain)
  std::vector<Community> communities;  // of two members or more
  int64_t isolated = 0;                // persons with no tie (a community of their own, not listed)
  std::vector<int64_t> label;          // community of each person, in persons() order (-1: isolated)
};

struct Broker {
  int64_t person = 0;
  std::string name;
  double betweenness = 0;       // weighted (tie length 1 / shared photos), undirected
  // Share of the pairs of persons tied to it who are tied to each other (local
  // clustering coefficient; 0 with fewer than two ties).
  double closure = 0;
  // What brokers are ranked by: betweenness × (1 − closure).
  double score = 0;
  int64_t communities = 0;      // communities it or its associates belong to
  int64_t ties = 0;
};

struct NeighbourhoodNode {
  int64_t person = 0;
  std::string name;
  int depth = 0;  // ties from the centre
  int64_t photos = 0;
  int64_t face_id = 0;  // representative face for a thumbnail
};
struct NeighbourhoodEdge {
  int64_t a = 0, b = 0;
  int64_t weight = 0;  // shared photos
};
struct Neighbourhood {
  std::vector<NeighbourhoodNode> nodes;  // the centre first, then by depth, strongest first
  std::vector<NeighbourhoodEdge> edges;  // every tie between two nodes shown
  bool truncated = false;                // max_nodes cut persons off
};

class CoAppearanceNetwork {
 public:
  // Builds the network from the gallery's live faces and their persons (as Persons
  // placed them: call Persons::Update or Recluster first for new faces).
  // InvalidArgument for an unknown purpose.
  static Result<CoAppearanceNetwork> Build(Gallery& gallery, Persons& persons, const NetworkOptions& options = {});
  // The same from records (tests, other front ends): one PersonFace per face of each
  // person, with the source of each face; faces whose source is not in `allowed` are
  // counted as left out.
  struct FaceOf {
    int64_t person = 0;
    std::string person_name;
    PersonFace face;
  };
  static CoAppearanceNetwork FromFaces(std::vector<FaceOf> faces, const NetworkOptions& options = {});

  const NetworkReport& report() const { return report_; }
  const std::vector<NetworkPerson>& persons() const { return persons_; }  // by id
  const std::vector<Tie>& ties() const { return ties_; }                  // by (a, b)
  // NotFound if the person is not in the network.
  Result<NetworkPerson> Person(int64_t id) const;

  // The top associates of each person (see Associate for the ranking). NotFound for a
  // person not in the network; InvalidArgument for top < 1.
  Result<std::vector<Associate>> Associates(int64_t person, int top) const;
  Result<std::vector<std::vector<Associate>>> Associates(std::span<const int64_t> persons, int top) const;

  // The chain of ties from a to b with the fewest links; among chains of equal length,
  // the one whose links share the most photos (the smallest sum of 1 / shared photos).
  // Fewest links first because each link is a separate claim an analyst must check.
  // NotFound if either is not in the network or they are not connected; a == b gives
  // a path of one person and no link.
  Result<NetworkPath> Path(int64_t a, int64_t b) const;

  // Groups by ClusterGraph on the ties weighted by shared photos ("" = the options'
  // default; "leiden:modularity" or "louvain" are the modularity methods). Deterministic.
  Result<CommunityReport> Communities(const std::string& algorithm = "") const;

  // Persons who bridge groups, highest score first (ties by id): betweenness centrality
  // (igraph_betweenness, tie length 1 / shared photos) discounted by closure, the share
  // of the person's associates who appear with each other. Betweenness alone also ranks
  // a bridge's contacts on either side high (every chain through the bridge passes
  // them too); what sets a broker apart is that the people it links do not know each
  // other (Burt's structural holes). Each with the number of communities
  // (Communities(algorithm)) it and the persons tied to it belong to.
  Result<std::vector<Broker>> Brokers(int top, const std::string& algorithm = "") const;

  // A person's neighbourhood for drawing: persons within `depth` ties (1..3), at most
  // max_nodes (the strongest ties first), with the ties among them.
  Result<Neighbourhood> NeighbourhoodOf(int64_t person, int depth, int max_nodes) const;

  // The whole network for other link-analysis tools. GraphML: persons as nodes (name,
  // faces, photos), ties as edges (weight, and the shared photos' SHA-256s and uris);
  // text is escaped and characters XML cannot hold are replaced by U+FFFD. JSON:
  // {"report", "persons", "ties" (with every shared photo and both boxes)}; invalid UTF-8
  // is replaced likewise.
  std::string ToGraphML() const;
  nlohmann::json ToJson() const;

 private:
  const Tie* FindTie(int64_t a, int64_t b) const;
  int64_t IndexOf(int64_t person) const;  // -1 if absent

  NetworkOptions options_;
  NetworkReport report_;
  std::vector<NetworkPerson> persons_;
  std::vector<Tie> ties_;
  std::vector<std::vector<std::pair<int64_t, size_t>>> adjacency_;  // per person index: (other index, tie index)
};

// Text made safe for XML 1.0 element content and attributes: & < > " ' escaped,
// characters XML cannot hold (control characters other than tab, newline and carriage
// return; invalid UTF-8; U+FFFE/U+FFFF) replaced by U+FFFD.
std::string XmlEscape(const std::string& text);

// Valid UTF-8: invalid bytes replaced by U+FFFD, so that JSON can always be written
// (names and uris come from outside).
std::string CleanUtf8(const std::string& text);

// Turns a face id into the URL of its crop (front ends that serve crops give one).
using ThumbnailUrl = std::function<std::string(int64_t face_id)>;

// One shared photo as JSON, the same in ToJson (exports) and in every answer of the API
// and the command line: image_id, uri, sha256, captured_at, source, face_a and face_b
// with their boxes [x, y, w, h] in whole pixels, persons_in_photo; with `thumbnail`, also
// thumbnail_a and thumbnail_b.
nlohmann::json SharedPhotoJson(const SharedPhoto& photo, const ThumbnailUrl& thumbnail = {});

}  // namespace lineup
