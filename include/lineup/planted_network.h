// A planted co-appearance network: group photos made from real LFW faces following a
// known social structure, to measure persons and the co-appearance network (network.h)
// against the truth (`lineup eval network`, docs/network.md).
//
// The structure: `groups` groups of group_min..group_max people (LFW people with at least
// min_lfw_photos photos each, every person in one group); each group's photos show
// photo_min..photo_max of its members until every member is in `appearances` photos;
// `bridges` persons (each from a different group) also appear, `bridge_photos` times,
// with members of one other group (a photo of the bridge and 2-3 of them), which is all
// that links groups; a share of persons also has a solo photo. Each appearance uses a
// different LFW photo of the person while there are enough (then they repeat).
//
// Deterministic: PlanNetwork is a pure function of the LFW folder's listing and the
// options; RenderPlantedPhotos draws each photo from its own random stream (seed, photo
// number), so the same seed gives the same pixels and JPEG bytes on the same platform.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "lineup/analyzer.h"
#include "lineup/status.h"

namespace lineup {

struct PlantedNetworkOptions {
  uint64_t seed = 1;
  int groups = 60;
  int group_min = 4, group_max = 8;
  int photo_min = 2, photo_max = 5;  // members shown in one group photo
  int appearances = 4;               // group photos each member is in (at least)
  int bridges = 6;
  int bridge_photos = 2;
  double solo_share = 0.3;  // persons who also have a photo of their own
  int min_lfw_photos = 4;
};

struct PlantedPerson {
  int id = 0;             // index into PlantedNetwork::persons
  std::string lfw_name;   // the LFW folder
  int group = 0;
  int bridge_to = -1;     // the other group a bridge links to, -1 for others
};

struct PlantedFace {
  int person = 0;
  std::string lfw_photo;  // the path of the LFW photo used
  cv::Rect2f box;         // where the face is in the photo (set by RenderPlantedPhotos)
};

struct PlantedPhoto {
  std::string file;  // name (set by PlanNetwork), e.g. "g012_003.jpg"
  std::string kind;  // "group", "bridge" or "solo"
  std::vector<PlantedFace> faces;
};

struct PlantedNetwork {
  PlantedNetworkOptions options;
  std::vector<PlantedPerson> persons;
  std::vector<PlantedPhoto> photos;
  // True if q belongs to p's circle: the same group, or one is a bridge to the other's.
  bool Related(int p, int q) const;
};

// The structure (no pixels). `lfw_root` holds images/<Name>/<Name>_NNNN.jpg.
// InvalidArgument for options that cannot be met (too few LFW people with enough photos,
// group or photo sizes out of order, more bridges than groups).
Result<PlantedNetwork> PlanNetwork(const std::string& lfw_root, const PlantedNetworkOptions& options);

// Draws every photo into `out_dir` (created) and fills in each face's box; backgrounds
// are cut from the face-free parts of the photos in `groups_dir` (the shared data's
// groups/; plain if it is empty or missing). progress(done, total) after each photo.
Status RenderPlantedPhotos(PlantedNetwork* network, const std::string& out_dir, const std::string& groups_dir,
                           const std::function<void(size_t, size_t)>& progress = {});

// Agreement between two labellings of the same items (labels are any integers).
// Normalised mutual information, I(a;b) / ((H(a) + H(b)) / 2) (1 when both have a single
// label), and the adjusted Rand index (Hubert and Arabie).
double NormalizedMutualInformation(const std::vector<int64_t>& a, const std::vector<int64_t>& b);
double AdjustedRandIndex(const std::vector<int64_t>& a, const std::vector<int64_t>& b);

// The whole measurement of `lineup eval network`: plans and renders the photos into
// work_dir/photos, enrols them into a new gallery work_dir/gallery (one source allowing
// search and network), groups the faces into persons (Persons::Recluster), builds the
// co-appearance network and compares it with the plan.
struct PlantedEvaluationOptions {
  PlantedNetworkOptions plant;
  std::string lfw_root;    // LFW: images/<Name>/...
  std::string groups_dir;  // backgrounds (see RenderPlantedPhotos); may be ""
  std::string work_dir;    // must not exist or be empty
  AnalyzerOptions analyzer;
  int workers = 0;         // enrolment pipelines; 0: one per core
  // Brokers examined for the planted bridges: this many per planted bridge.
  int broker_multiple = 2;
  // stage ("photos drawn", "photos enrolled", "persons", "network"), done, total.
  std::function<void(const std::string&, size_t, size_t)> progress;
};

struct PlantedEvaluation {
  // The plan and what was found of it.
  int64_t planted_persons = 0, planted_groups = 0, planted_photos = 0, planted_faces = 0;
  int64_t faces_enrolled = 0, faces_matched = 0;  // matched: a detected face on a planted face (IoU >= 0.3)
  int64_t persons = 0, pending = 0;               // persons found by clustering, faces left pending
  int64_t ties = 0, communities = 0;
  // Persons clustering against the planted identities (pairwise over matched faces).
  double person_pairwise_precision = 0, person_pairwise_recall = 0;
  // Communities (leiden:modularity) against the planted groups, over the network's
  // persons that hold a planted face (each labelled by its majority identity's group).
  double nmi = 0, ari = 0, nmi_louvain = 0, ari_louvain = 0;
  // Mean over planted persons of the share of their top-5 associates (with the default
  // "hub" score) that are in their circle (PlantedNetwork::Related), and the same with
  // each score Associates offers.
  double associates_precision_at_5 = 0;
  std::vector<std::pair<std::string, double>> precision_by_score;
  int64_t bridges_planted = 0, bridges_found = 0;  // in the top broker_multiple x planted brokers
  int64_t brokers_examined = 0;
  int64_t bridges_found_at_planted = 0;  // in the top `planted` brokers
  double seconds_render = 0, seconds_enrol = 0, seconds_persons = 0, seconds_network = 0;
};

Result<PlantedEvaluation> EvaluatePlantedNetwork(const PlantedEvaluationOptions& options);

}  // namespace lineup
