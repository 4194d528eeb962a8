// MessageBus: one process's connection to the cluster's NATS servers (JetStream on),
// the only networking a Lineup cluster uses (issue 19; docs/cluster.md).
//
// Promises:
// - Connect takes the comma-separated server URLs of LINEUP_CLUSTER, credentials in
//   them (nats://USER:PASS@HOST:PORT); a refused password is Unauthenticated, no
//   server reachable is Unavailable. The connection fails over between the servers
//   and reconnects on its own; a call made while no server is reachable fails with
//   Unavailable instead of hanging.
// - Streams (EnsureStream) are JetStream streams stored on disk with `replicas` copies
//   on different servers. A work queue keeps each message until one consumer has
//   acknowledged it (enrolment work); a log keeps every message (a shard's faces, which
//   every replica applies and a new replica replays from the start).
// - Publish returns once the stream has stored the message. With the same msg_id
//   within the stream's duplicate window, a message is stored once: a publish retried
//   after a crash or a lost reply says `duplicate` and gives the first one's sequence.
// - A StreamReader is a durable pull consumer: what it fetched and did not Ack is
//   delivered again (to it or to another reader of the same name) after ack_wait.
// - Request/Serve are request-reply with queue groups: of the servers in one group, one
//   answers each request; a request nobody answers in time is Unavailable.
// Request and Publish may be called from several threads at once (a coordinator asks
// every shard together); the other calls one at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "lineup/status.h"

namespace lineup {

struct StreamSpec {
  std::string name;                   // e.g. "ENROL", "SHARD_3"
  std::vector<std::string> subjects;  // e.g. {"lineup.enrol"}
  int replicas = 3;
  bool work_queue = false;            // true: deleted once acknowledged; false: a log
  int64_t duplicate_window_s = 3600;  // how long a msg_id is remembered
};

struct PublishAck {
  uint64_t sequence = 0;   // the message's place in its stream
  bool duplicate = false;  // an earlier publish with the same msg_id was stored instead
};

// One message fetched from a stream; Ack through the reader that fetched it.
struct BusMessage {
  std::string subject;
  std::vector<uint8_t> data;
  uint64_t sequence = 0;    // in the stream
  uint64_t deliveries = 0;  // 1 the first time, more when redelivered
  std::shared_ptr<void> handle;
};

class StreamReader {
 public:
  virtual ~StreamReader() = default;
  // Up to `max` messages, waiting at most timeout_ms for the first; an empty list when
  // nothing came.
  virtual Result<std::vector<BusMessage>> Fetch(int max, int timeout_ms) = 0;
  // Confirms the message is done with (stored by the stream until then).
  virtual Status Ack(const BusMessage& m) = 0;
};

class Subscription {
 public:
  virtual ~Subscription() = default;  // stops serving
};

class MessageBus {
 public:
  // `name` identifies this process to the servers (their monitoring pages show it).
  static Result<std::unique_ptr<MessageBus>> Connect(const std::string& urls, const std::string& name);
  virtual ~MessageBus() = default;

  // Creates the stream, or checks that an existing one has these subjects, retention
  // and replicas (FailedPrecondition naming the difference otherwise).
  virtual Status EnsureStream(const StreamSpec& spec) = 0;
  virtual Result<PublishAck> Publish(const std::string& subject, std::span<const uint8_t> data,
                                     const std::string& msg_id) = 0;
  // A durable reader `durable` of `stream`, reading the messages of `subject` (a
  // filter; empty: all), from the first message the durable has not acknowledged.
  // ack_wait_ms: how long a fetched message may stay unacknowledged before it is
  // delivered again.
  virtual Result<std::unique_ptr<StreamReader>> Reader(const std::string& stream, const std::string& subject,
                                                       const std::string& durable, int ack_wait_ms = 30000) = 0;

  // A reader of `stream`'s messages on `subject` from sequence `start` on, in order, that
  // keeps no state on the servers (Ack does nothing): the caller keeps its place. If a
  // delivery is lost, the next message's sequence skips: start a new Replay there.
  virtual Result<std::unique_ptr<StreamReader>> Replay(const std::string& stream, const std::string& subject,
                                                       uint64_t start) = 0;

  virtual Result<std::vector<uint8_t>> Request(const std::string& subject, std::span<const uint8_t> data,
                                               int timeout_ms) = 0;
  // Answers requests on `subject` as one of queue group `queue`, on the client
  // library's thread: `handler` must be thread-safe against the caller's other work.
  using Handler = std::function<std::vector<uint8_t>(std::span<const uint8_t> request)>;
  virtual Result<std::unique_ptr<Subscription>> Serve(const std::string& subject, const std::string& queue,
                                                      Handler handler) = 0;
  // Sends everything buffered and waits for the server to confirm (tests use it to know
  // a Serve is registered before requests arrive).
  virtual Status Flush(int timeout_ms) = 0;
};

}  // namespace lineup
