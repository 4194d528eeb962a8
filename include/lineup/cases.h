// Cases: the investigations searches belong to, the searches made in them, and the
// human review of every candidate they returned.
//
// Nobody searches without an open case and a justification. A case has members (its
// creator and the analysts added to it); analysts see and search only their own cases.
// Every candidate a search returned is a lead: an analyst marks it "possible_match",
// "not_a_match" or "inconclusive" with a note, and a possible match counts as
// confirmed only when a second analyst (not the one who marked it) confirms it. Lives
// in the gallery's catalog.sqlite, in tables of its own; safe to use from many threads.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lineup/status.h"

namespace lineup {

struct CaseRecord {
  int64_t id = 0;
  std::string title;
  std::string authority;  // legal authority or reference (warrant, file number)
  std::string status;     // "open" or "closed"
  std::string created_by, created_at, closed_at;
  std::string closed_by;  // "" while open
  std::vector<std::string> members;
};

struct SearchCandidate {
  int64_t face_id = 0;
  float score = 0;
};

struct SearchRecord {
  int64_t id = 0;
  int64_t case_id = 0;
  std::string user;
  std::string justification;
  std::string probe_sha256;  // of the probe image ("" for a search by vector)
  std::string kind;          // "photo" or "vector"
  double threshold = 0;
  int64_t gallery_size = 0;
  bool low_quality = false;  // the probe face was flagged as low quality
  std::vector<SearchCandidate> candidates;  // as returned, best first
  std::string at;
  // The search as it was shown (a JSON object: SearchResultJson in investigations.h),
  // "" for searches recorded before 2026-12.
  std::string shown;
  // What the case keeps of the probe, written by RecordSearch (GetSearch and Searches do
  // not read them back: ProbeImages does): the searched face's crop (JPEG, 160 px tall)
  // and, if the searcher asked the case to keep it, the probe photo's bytes as sent.
  std::string probe_crop;
  std::string probe_photo;
};

// What a case kept of a search's probe (Cases::ProbeImages); empty where nothing was kept.
struct ProbeImages {
  std::string crop;   // JPEG of the searched face
  std::string photo;  // the probe photo's bytes as sent
};

struct ReviewRecord {
  int64_t id = 0;
  int64_t search_id = 0;
  int64_t case_id = 0;
  int64_t face_id = 0;
  std::string analyst;
  std::string verdict;  // "possible_match", "not_a_match", "inconclusive"
  std::string note;
  std::string at;
  std::string confirmed_by, confirmed_at;  // "" until a second analyst confirms
};

// For auditors.
struct OversightStats {
  struct PerUser { std::string user; int64_t searches = 0; };
  struct PerCase { int64_t case_id = 0; std::string title; int64_t searches = 0; };
  std::vector<PerUser> searches_per_user;
  std::vector<PerCase> searches_per_case;
  int64_t searches = 0;
  double low_quality_share = 0;          // of searches
  double above_threshold_share = 0;      // of searches with at least one candidate >= threshold
  int64_t reviews_possible = 0, reviews_not = 0, reviews_inconclusive = 0, reviews_confirmed = 0;
};

class Cases {
 public:
  static Result<std::unique_ptr<Cases>> Open(const std::string& catalog_path,
                                             std::function<int64_t()> now = {});
  ~Cases();

  // InvalidArgument if the title or authority is empty or over 500 characters.
  Result<CaseRecord> Create(const std::string& title, const std::string& authority, const std::string& created_by);
  Result<CaseRecord> Get(int64_t case_id);  // NotFound
  // All cases, or only those `member` belongs to.
  Result<std::vector<CaseRecord>> List(const std::string& member = "");
  Status AddMember(int64_t case_id, const std::string& user);
  Result<bool> IsMember(int64_t case_id, const std::string& user);
  // FailedPrecondition if already closed.
  Status Close(int64_t case_id, const std::string& by);

  // Records a search and fills in its id and time. FailedPrecondition on a closed case,
  // InvalidArgument if the justification is empty (or over 2000 characters).
  Status RecordSearch(SearchRecord* search);
  Result<SearchRecord> GetSearch(int64_t search_id);
  Result<std::vector<SearchRecord>> Searches(int64_t case_id);
  // The probe crop and photo kept with a search (empty ones for searches recorded before
  // 2027-01, by vector, or without them); NotFound for an unknown search.
  Result<ProbeImages> ProbeImagesOf(int64_t search_id);

  // Marks one of the search's candidates. InvalidArgument for an unknown verdict or a
  // face the search did not return; FailedPrecondition on a closed case. A later review
  // of the same candidate by the same analyst replaces theirs.
  Result<ReviewRecord> Review(int64_t search_id, int64_t face_id, const std::string& analyst,
                              const std::string& verdict, const std::string& note);
  // The two-person rule: PermissionDenied if `analyst` made the review;
  // FailedPrecondition unless its verdict is "possible_match" and it is unconfirmed.
  Result<ReviewRecord> Confirm(int64_t review_id, const std::string& analyst);
  Result<ReviewRecord> GetReview(int64_t review_id);
  Result<std::vector<ReviewRecord>> Reviews(int64_t case_id);

  Result<OversightStats> Stats();

 private:
  struct Impl;
  explicit Cases(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// One JSON form of a case and of a review, for the API and the evidence bundle alike.
nlohmann::json CaseRecordJson(const CaseRecord& c);
nlohmann::json ReviewRecordJson(const ReviewRecord& r);

}  // namespace lineup
