// Persons: which faces of a gallery are the same person.
//
// Every live face belongs to one person — a named one (a subject) or an unnamed group
// found by clustering — or waits as "pending" while its nearest faces disagree about
// whom it belongs to. Clustering builds a graph on the gallery's own index (each face
// linked to its nearest neighbours above a similarity calibrated on LFW) and splits it
// with a graph-clustering algorithm from igraph (graph_clustering.h); `Recluster`
// rebuilds everything, `Update` places the faces enrolled since (their neighbours
// decide), and erasure removes faces and empty persons at once (the catalog's cascades).
//
// Constraints hold through every rebuild: two faces of one photo are never one person
// (they are two people), and what analysts decided — "these two persons are one"
// (merge), "these faces are someone else" (split), "this face is not this person" (mark)
// — is kept as links between faces that each rebuild obeys. A person's id is kept
// across rebuilds where most of its faces stay together, and its name with it. Each
// analyst's change is an event that can be undone.
//
// Each person says how sure the grouping is: its weakest link (the lowest similarity on
// the tree of its strongest links) and the similarity of its nearest other person's
// face; their difference, the margin, orders the doubtful first for review.
//
// Persons live in the gallery's catalog.sqlite, in tables of their own. A Persons is used
// from one thread at a time, with its Gallery held.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "lineup/gallery.h"
#include "lineup/status.h"

namespace lineup {

inline constexpr const char* kDefaultPersonsAlgorithm = "infomap";

struct PersonsOptions {
  // Neighbours looked at per face, and the similarity a neighbour needs to count as a
  // link (the threshold for this false-match rate per comparison, from the calibration).
  // Chosen on LFW's development half (docs/persons.md): Infomap on links of FMR 2e-6 or
  // less (similarity 0.5467 for the default model) gave the best F at precision >= 0.995.
  int k = 30;
  double link_fmr = 2e-6;
  // The clustering algorithm (graph_clustering.h), by factory string; "default" is
  // kDefaultPersonsAlgorithm.
  std::string algorithm = "default";
  // A new face joins the person most of its links point to when at least this share of
  // its link weight does; otherwise it waits as pending.
  double join_share = 0.75;
};

struct PersonSummary {
  int64_t id = 0;
  std::string name;  // the subject's label; "" for an unnamed person
  int64_t faces = 0;
  int64_t photos = 0;
  // How sure the grouping is (1 and 0 for a person of one face): the lowest similarity
  // holding it together, and the highest to a face of another person. Rebuilds measure
  // both; faces placed since (Update) can only lower weakest_link and raise
  // nearest_other, so the margin stays an upper bound on the true one.
  float weakest_link = 1, nearest_other = 0;
  float margin() const { return weakest_link - nearest_other; }
  int64_t nearest_person = 0;  // whose face that is (0: none)
  std::string first_seen, last_seen;  // capture times of its photos ("" if none known)
};

struct PersonFace {
  int64_t face_id = 0;
  int64_t image_id = 0;
  std::string image_uri, image_sha256, captured_at, source;
  std::string place;  // EXIF GPS "LAT,LON", "" if unknown
  cv::Rect2f box;
  float quality = 0;
  std::string placed_by;  // "clustering", "subject", the analyst who put it there, or "pending"
};

// An analyst's change to the grouping, and how to take it back.
struct PersonEvent {
  int64_t id = 0;
  std::string at, actor;
  std::string action;   // "name", "merge", "split", "mark", "undo"
  std::string details;  // JSON
  int64_t undone_by = 0;
};

// Why a face waits for a person (Persons::PendingVotes), by the rule that places new
// faces (Update): its close neighbours (at or above the link threshold, already in a
// person) vote with their similarities, and it joins the person holding at least
// `share_needed` of that weight, unless the person has a face of the same photo or an
// analyst marked the face not to be it.
struct PendingVote {
  int64_t face_id = 0;
  int64_t close_neighbours = 0;  // neighbours at or above the link threshold in a person
  int64_t leading_person = 0;    // the person with the most of their weight (0: none)
  int64_t leading_neighbours = 0;  // how many of them are in it
  double leading_share = 0;        // its share of their weight, 0 to 1
  double share_needed = 0;         // PersonsOptions::join_share
  // "neighbours disagree", "same photo" (the leading person has a face of its photo),
  // "marked not this person", "no close neighbour" (it would be a person of its own at
  // the next update) or "can join now" (the persons changed since it was left waiting).
  std::string reason;
};

struct ReclusterReport {
  int64_t faces = 0, persons = 0, pending = 0, singletons = 0;
  int64_t links = 0;  // graph edges
  int64_t kept_apart = 0;  // faces moved out of a group to honour a constraint
  double seconds_knn = 0, seconds_cluster = 0;
};

class Persons {
 public:
  // Opens the persons of `gallery` (migrating their tables); the gallery must outlive it.
  static Result<std::unique_ptr<Persons>> Open(Gallery& gallery, PersonsOptions options = {});
  ~Persons();

  // Rebuilds every person from the faces. `progress` is called with a stage, items done
  // and items in all, in order: "neighbours" (faces searched), "clustering" (0 of 1,
  // then 1 of 1: one library call), "constraints" (groups checked), "storing" (groups
  // written, and their measures of doubt as the last item).
  Result<ReclusterReport> Recluster(
      const std::function<void(const std::string&, int64_t, int64_t)>& progress = {});
  // Places the faces that have no person yet (enrolled since the last update).
  Result<ReclusterReport> Update();

  // Persons, the most doubtful (smallest margin) first; named and unnamed.
  Result<std::vector<PersonSummary>> List();
  Result<PersonSummary> Get(int64_t person_id);  // NotFound
  Result<std::vector<PersonFace>> Faces(int64_t person_id);
  // The person of a face; 0 while it is pending. NotFound for an unknown face.
  Result<int64_t> PersonOf(int64_t face_id);
  Result<std::vector<int64_t>> PendingFaces();
  // The faces waiting for a person with their photos (placed_by "pending"), by face id:
  // at most `limit` from `offset`. InvalidArgument for a negative offset or limit.
  Result<std::vector<PersonFace>> PendingFaceList(int64_t offset, int64_t limit);
  // For each of `face_ids` (waiting faces, in that order), how its close neighbours vote
  // now: a search of the gallery's index per face.
  Result<std::vector<PendingVote>> PendingVotes(const std::vector<int64_t>& face_ids);
  // Every placed face with its person (face id, person id), by face id: for whole-gallery
  // readers such as evaluations and the co-appearance network.
  Result<std::vector<std::pair<int64_t, int64_t>>> Placements();

  // Analysts' changes, each an event (returned) that Undo takes back. `actor` is who.
  // Name: the person becomes (or is linked to) the subject `name`; InvalidArgument if
  // another person already has that name (merge them instead).
  Result<PersonEvent> Name(int64_t person_id, const std::string& name, const std::string& actor);
  // Merge: b's faces join a (which keeps its id and name; FailedPrecondition if both are
  // named differently, or if a face of one is marked not to be the other).
  Result<PersonEvent> Merge(int64_t a, int64_t b, const std::string& actor);
  // Split: the faces leave the person for a new one of their own; returns the event
  // (details hold the new person's id). InvalidArgument for a face not in the person.
  Result<PersonEvent> Split(int64_t person_id, const std::vector<int64_t>& face_ids, const std::string& actor);
  // Mark: the face is not this person; it leaves (for a person of its own) and stays out.
  Result<PersonEvent> MarkNot(int64_t face_id, int64_t person_id, const std::string& actor);
  // Takes an event back (FailedPrecondition if already undone, or if later events
  // changed the same faces: undo those first).
  Result<PersonEvent> Undo(int64_t event_id, const std::string& actor);
  Result<std::vector<PersonEvent>> History(int64_t limit = 200);
  Result<PersonEvent> Event(int64_t event_id);  // NotFound

 private:
  struct Impl;
  explicit Persons(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace lineup
