// Shard search: one gallery's faces split over shards, each shard an ordinary Gallery
// served by one or more replicas, searched through the MessageBus (issue 19;
// docs/cluster.md).
//
// Promises:
// - A ShardServer answers the searches sent to its shard's subject as one member of the
//   shard's queue group: with two replicas of a shard serving, each search is answered
//   by one of them, and by the other alone when one stops or dies.
// - SearchShards sends the probes to every shard at once and waits at most
//   `deadline_ms`. A shard's answer is the gallery's own Search (the same exact scores,
//   the same faces left out for opt-out), so merging the shards' top k by score gives
//   the top k of one gallery holding all their faces. A shard that does not answer in
//   time, or answers with an error, is listed in `missing` with the reason: a result is
//   never silently incomplete.
// - Requests and replies are checked: a malformed one is an error, never a crash.
// Ranking by the cohort (gallery.h) needs the whole gallery's moments and is not done
// here: hits are ordered by score.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "lineup/gallery.h"
#include "lineup/message_bus.h"
#include "lineup/status.h"

namespace lineup {

// "lineup.search.<shard>" and the queue group "shard-<shard>".
std::string ShardSearchSubject(int shard);
std::string ShardQueueGroup(int shard);

class ShardServer {
 public:
  // Serves `gallery` (not owned; it must outlive the server) as a replica of `shard`.
  // Searches run on the bus's thread, holding `gallery_mu` (a Gallery is used by one
  // thread at a time): pass the mutex through which the owner also changes the gallery
  // (a ShardReplica's); null: the server's own, for a gallery nothing else touches.
  static Result<std::unique_ptr<ShardServer>> Start(MessageBus* bus, Gallery* gallery, int shard,
                                                    std::mutex* gallery_mu = nullptr);
  ~ShardServer();  // stops serving; a search being answered finishes first
  int64_t searches() const;  // answered so far

 private:
  struct Impl;
  explicit ShardServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct ShardHit {
  int shard = 0;
  int64_t face_id = 0;  // the face's id in its shard's gallery
  float score = 0;
};

struct MissingShard {
  int shard = 0;
  std::string reason;  // "no answer within 200 ms", or the shard's error
};

struct ShardSearchResult {
  std::vector<std::vector<ShardHit>> hits;  // per probe, best score first, at most k
  std::vector<MissingShard> missing;        // empty: every shard answered
};

// Searches shards 0..shards-1 with `probes` (rows of dim floats).
Result<ShardSearchResult> SearchShards(MessageBus& bus, int shards, std::span<const float> probes, int dim, int k,
                                       int deadline_ms);

}  // namespace lineup
