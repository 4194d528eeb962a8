// Shard log: how a shard's photos reach every replica of the shard (issue 19;
// docs/cluster.md). Enrolment publishes each analysed photo — its image record, its
// source, its faces and their vectors — to the shard's JetStream log; every replica
// applies the log in order to its own Gallery, and a new or restarted replica catches up
// by replaying from the first entry it has not applied.
//
// Promises:
// - A photo goes to shard ShardOf(sha256, shards): all faces of one photo in one shard
//   (persons and the co-appearance network need them together).
// - PublishPhoto is idempotent: the message id is the photo's SHA-256, so a publish
//   retried after a crash or a lost acknowledgement is stored once.
// - A ShardReplica applies entries in log order to its gallery and records, after the
//   gallery has made them durable (Gallery::AddFaces), the last sequence applied
//   (<gallery>/shard_applied); it resumes after it on restart, so a replica killed at
//   any point loses nothing, and a photo the gallery already holds (applied, then
//   killed before the sequence was recorded) is skipped, so nothing is applied twice.
//   Replicas that applied the same entries hold the same faces under the same ids.
// - A malformed entry is an error naming its sequence, never a crash; the replica stays
//   before it (the log keeps it for inspection).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "lineup/catalog.h"
#include "lineup/gallery.h"
#include "lineup/message_bus.h"
#include "lineup/status.h"

namespace lineup {

// One analysed photo as the log carries it. source: name and legal basis at least (the
// replica creates the source if it does not hold it yet). vectors: one row per face.
struct ShardPhoto {
  SourceRecord source;
  ImageRecord image;
  std::vector<FaceRecord> faces;
  std::vector<float> vectors;
};

int ShardOf(const std::string& sha256, int shards);
// "SHARD_<s>", subject "lineup.shard.<s>".
std::string ShardStreamName(int shard);
std::string ShardLogSubject(int shard);

// Creates (or checks) the log streams of shards 0..shards-1 with `replicas` copies.
Status EnsureShardLogs(MessageBus& bus, int shards, int replicas);
// Appends a photo to its shard's log. dim: the vectors' length.
Result<PublishAck> PublishPhoto(MessageBus& bus, int shards, const ShardPhoto& photo, int dim);

class ShardReplica {
 public:
  // The replica of `shard` kept in `gallery` (not owned), resuming after the last
  // sequence the gallery recorded. FailedPrecondition if the gallery is another shard's.
  // CatchUp holds `gallery_mu` while it reads and changes the gallery (not while it
  // waits for the log), so that a ShardServer given the same mutex can search it
  // meanwhile; null: the caller uses the gallery from this thread only.
  static Result<std::unique_ptr<ShardReplica>> Open(MessageBus* bus, Gallery* gallery, int shard,
                                                    std::mutex* gallery_mu = nullptr);
  ~ShardReplica();
  // Applies up to `max` entries, waiting at most wait_ms for the first; returns how many
  // were applied or skipped as already held. After an error (an unreachable server, a
  // malformed entry) the next call starts again after the last applied entry.
  Result<int64_t> CatchUp(int max, int wait_ms);
  uint64_t applied() const;  // the last log sequence the gallery holds
  int64_t skipped() const;   // entries whose photo the gallery already held

 private:
  struct Impl;
  explicit ShardReplica(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace lineup
