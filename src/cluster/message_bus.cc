// MessageBus over the NATS C client (Debian's libnats-dev). The client owns its own
// threads for I/O and reconnection; every natsX object here has one owner that
// destroys it.
#include "lineup/message_bus.h"

#include <nats/nats.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <set>

namespace lineup {
namespace {

std::string NatsText(natsStatus s) {
  const char* last = nats_GetLastError(nullptr);
  std::string text = natsStatus_GetText(s);
  if (last && *last && text.find(last) == std::string::npos) text += std::string(" (") + last + ")";
  return text;
}

// A NATS failure as a Status: what Lineup's callers can act on.
Status FromNats(natsStatus s, const std::string& what, jsErrCode js_err = static_cast<jsErrCode>(0)) {
  std::string m = what + ": " + NatsText(s);
  if (js_err != 0) m += " (JetStream error " + std::to_string(static_cast<int>(js_err)) + ")";
  switch (s) {
    case NATS_CONNECTION_AUTH_FAILED:
    case NATS_NOT_PERMITTED:
      return Status::Unauthenticated(m);
    case NATS_NO_SERVER:
    case NATS_TIMEOUT:
    case NATS_NO_RESPONDERS:
    case NATS_CONNECTION_CLOSED:
    case NATS_CONNECTION_DISCONNECTED:
    case NATS_IO_ERROR:
    case NATS_STALE_CONNECTION:
      return Status::Unavailable(m);
    case NATS_INVALID_SUBJECT:
    case NATS_INVALID_ARG:
    case NATS_ADDRESS_MISSING:
    case NATS_MAX_PAYLOAD:
      return Status::InvalidArgument(m);
    case NATS_NOT_FOUND:
      return Status::NotFound(m);
    default:
      return Status::Internal(m);
  }
}

template <typename T, void (*Destroy)(T*)>
struct Owned {
  T* p = nullptr;
  Owned() = default;
  Owned(const Owned&) = delete;
  Owned& operator=(const Owned&) = delete;
  ~Owned() {
    if (p) Destroy(p);
  }
};

void DestroyMsg(natsMsg* m) { natsMsg_Destroy(m); }

class NatsReader final : public StreamReader {
 public:
  NatsReader(natsSubscription* sub, std::string what, bool acks = true)
      : sub_(sub), what_(std::move(what)), acks_(acks) {}
  ~NatsReader() override { natsSubscription_Destroy(sub_); }

  Result<std::vector<BusMessage>> Fetch(int max, int timeout_ms) override {
    if (max <= 0 || timeout_ms <= 0) return Status::InvalidArgument("Fetch needs max > 0 and timeout_ms > 0");
    natsMsgList list{};
    jsErrCode err = static_cast<jsErrCode>(0);
    natsStatus s = natsSubscription_Fetch(&list, sub_, max, timeout_ms, &err);
    std::vector<BusMessage> out;
    if (s == NATS_TIMEOUT) return out;  // nothing came in time
    if (s != NATS_OK) return FromNats(s, "fetching from " + what_, err);
    for (int i = 0; i < list.Count; ++i) {
      natsMsg* m = list.Msgs[i];
      list.Msgs[i] = nullptr;  // ours now
      BusMessage b;
      b.subject = natsMsg_GetSubject(m);
      const auto* d = reinterpret_cast<const uint8_t*>(natsMsg_GetData(m));
      b.data.assign(d, d + natsMsg_GetDataLength(m));
      jsMsgMetaData* meta = nullptr;
      if (natsMsg_GetMetaData(&meta, m) == NATS_OK && meta) {
        b.sequence = meta->Sequence.Stream;
        b.deliveries = meta->NumDelivered;
        jsMsgMetaData_Destroy(meta);
      }
      b.handle = std::shared_ptr<void>(m, [](void* p) { natsMsg_Destroy(static_cast<natsMsg*>(p)); });
      out.push_back(std::move(b));
    }
    natsMsgList_Destroy(&list);
    return out;
  }

  Status Ack(const BusMessage& m) override {
    if (!m.handle) return Status::InvalidArgument("Ack of a message that was not fetched");
    if (!acks_) return Status::OK();  // a replay: the reader's owner keeps its place
    jsErrCode err = static_cast<jsErrCode>(0);
    natsStatus s = natsMsg_AckSync(static_cast<natsMsg*>(m.handle.get()), nullptr, &err);
    if (s != NATS_OK) return FromNats(s, "acknowledging message " + std::to_string(m.sequence) + " of " + what_, err);
    return Status::OK();
  }

 private:
  natsSubscription* sub_;
  std::string what_;
  bool acks_;
};

class NatsSubscription final : public Subscription {
 public:
  explicit NatsSubscription(std::unique_ptr<MessageBus::Handler> h) : handler(std::move(h)) {}
  ~NatsSubscription() override {
    if (sub) {
      // Drain, not Unsubscribe: a request being answered on the client's thread finishes
      // before the handler it runs is destroyed.
      if (natsSubscription_Drain(sub) == NATS_OK) natsSubscription_WaitForDrainCompletion(sub, 5000);
      else natsSubscription_Unsubscribe(sub);
      natsSubscription_Destroy(sub);
    }
  }
  natsSubscription* sub = nullptr;
  std::unique_ptr<MessageBus::Handler> handler;
};

void OnRequest(natsConnection* nc, natsSubscription*, natsMsg* msg, void* closure) {
  auto* self = static_cast<NatsSubscription*>(closure);
  const char* reply = natsMsg_GetReply(msg);
  if (reply && *reply) {
    const auto* d = reinterpret_cast<const uint8_t*>(natsMsg_GetData(msg));
    std::vector<uint8_t> answer;
    try {
      answer = (*self->handler)(std::span<const uint8_t>(d, static_cast<size_t>(natsMsg_GetDataLength(msg))));
    } catch (...) {
      answer.clear();  // a handler must not throw into the client's thread; the caller sees an empty reply
    }
    natsConnection_Publish(nc, reply, answer.data(), static_cast<int>(answer.size()));
  }
  natsMsg_Destroy(msg);
}

class NatsBus final : public MessageBus {
 public:
  ~NatsBus() override {
    if (js_) jsCtx_Destroy(js_);
    if (conn_) natsConnection_Destroy(conn_);
  }

  static Result<std::unique_ptr<MessageBus>> Open(const std::string& urls, const std::string& name) {
    std::vector<std::string> servers;
    size_t start = 0;
    while (start <= urls.size()) {
      size_t comma = urls.find(',', start);
      std::string u = urls.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!u.empty()) servers.push_back(u);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    if (servers.empty()) return Status::InvalidArgument("no NATS server URL given (LINEUP_CLUSTER or --cluster)");
    for (const auto& s : servers)
      if (s.rfind("nats://", 0) != 0 && s.rfind("tls://", 0) != 0)
        return Status::InvalidArgument("not a NATS URL: \"" + s + "\" (nats://USER:PASS@HOST:PORT)");
    std::vector<const char*> ptrs;
    for (const auto& s : servers) ptrs.push_back(s.c_str());
    Owned<natsOptions, natsOptions_Destroy> opts;
    natsStatus s = natsOptions_Create(&opts.p);
    if (s == NATS_OK) s = natsOptions_SetServers(opts.p, ptrs.data(), static_cast<int>(ptrs.size()));
    if (s == NATS_OK) s = natsOptions_SetName(opts.p, name.c_str());
    if (s == NATS_OK) s = natsOptions_SetTimeout(opts.p, 2000);          // per connect attempt
    if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts.p, -1);       // keep trying other servers
    if (s == NATS_OK) s = natsOptions_SetReconnectWait(opts.p, 250);
    if (s != NATS_OK) return FromNats(s, "NATS options");
    auto bus = std::unique_ptr<NatsBus>(new NatsBus());
    s = natsConnection_Connect(&bus->conn_, opts.p);
    if (s != NATS_OK) {
      bus->conn_ = nullptr;
      return FromNats(s, "connecting to NATS at " + Redacted(urls));
    }
    s = natsConnection_JetStream(&bus->js_, bus->conn_, nullptr);
    if (s != NATS_OK) return FromNats(s, "JetStream context");
    return std::unique_ptr<MessageBus>(std::move(bus));
  }

  Status EnsureStream(const StreamSpec& spec) override {
    if (spec.name.empty() || spec.subjects.empty() || spec.replicas < 1 || spec.replicas > 5)
      return Status::InvalidArgument("a stream needs a name, subjects and 1-5 replicas");
    std::vector<const char*> subjects;
    for (const auto& s : spec.subjects) subjects.push_back(s.c_str());
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = spec.name.c_str();
    cfg.Subjects = subjects.data();
    cfg.SubjectsLen = static_cast<int>(subjects.size());
    cfg.Retention = spec.work_queue ? js_WorkQueuePolicy : js_LimitsPolicy;
    cfg.Storage = js_FileStorage;
    cfg.Replicas = spec.replicas;
    cfg.Duplicates = spec.duplicate_window_s * 1000000000LL;
    jsStreamInfo* info = nullptr;
    jsErrCode err = static_cast<jsErrCode>(0);
    natsStatus s = js_GetStreamInfo(&info, js_, spec.name.c_str(), nullptr, &err);
    if (s == NATS_NOT_FOUND) {
      s = js_AddStream(&info, js_, &cfg, nullptr, &err);
      if (s != NATS_OK) return FromNats(s, "creating stream " + spec.name, err);
      jsStreamInfo_Destroy(info);
      return Status::OK();
    }
    if (s != NATS_OK) return FromNats(s, "reading stream " + spec.name, err);
    std::string diff;
    const jsStreamConfig* have = info->Config;
    if (have->Retention != cfg.Retention) diff = "retention";
    else if (have->Replicas != cfg.Replicas) diff = "replicas (" + std::to_string(have->Replicas) + ")";
    else {
      std::set<std::string> a(spec.subjects.begin(), spec.subjects.end()), b;
      for (int i = 0; i < have->SubjectsLen; ++i) b.insert(have->Subjects[i]);
      if (a != b) diff = "subjects";
    }
    jsStreamInfo_Destroy(info);
    if (!diff.empty()) return Status::FailedPrecondition("stream " + spec.name + " exists with other " + diff);
    return Status::OK();
  }

  Result<PublishAck> Publish(const std::string& subject, std::span<const uint8_t> data,
                             const std::string& msg_id) override {
    jsPubOptions o;
    jsPubOptions_Init(&o);
    o.MsgId = msg_id.empty() ? nullptr : msg_id.c_str();
    o.MaxWait = 5000;
    jsPubAck* ack = nullptr;
    jsErrCode err = static_cast<jsErrCode>(0);
    natsStatus s = js_Publish(&ack, js_, subject.c_str(), data.data(), static_cast<int>(data.size()), &o, &err);
    if (s != NATS_OK) return FromNats(s, "publishing to " + subject, err);
    PublishAck out{ack->Sequence, ack->Duplicate};
    jsPubAck_Destroy(ack);
    return out;
  }

  Result<std::unique_ptr<StreamReader>> Reader(const std::string& stream, const std::string& subject,
                                               const std::string& durable, int ack_wait_ms) override {
    if (durable.empty()) return Status::InvalidArgument("a stream reader needs a durable name");
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = stream.c_str();
    so.Config.AckPolicy = js_AckExplicit;
    so.Config.DeliverPolicy = js_DeliverAll;
    so.Config.AckWait = static_cast<int64_t>(ack_wait_ms) * 1000000LL;
    natsSubscription* sub = nullptr;
    jsErrCode err = static_cast<jsErrCode>(0);
    // An empty filter reads the whole stream: any subject under the stream's own.
    const std::string filter = subject.empty() ? ">" : subject;
    natsStatus s = js_PullSubscribe(&sub, js_, filter.c_str(), durable.c_str(), nullptr, &so, &err);
    if (s != NATS_OK) return FromNats(s, "reader " + durable + " of stream " + stream, err);
    return std::unique_ptr<StreamReader>(new NatsReader(sub, "stream " + stream));
  }

  Result<std::unique_ptr<StreamReader>> Replay(const std::string& stream, const std::string& subject,
                                               uint64_t start) override {
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = stream.c_str();
    so.Config.AckPolicy = js_AckNone;
    so.Config.DeliverPolicy = js_DeliverByStartSequence;
    so.Config.OptStartSeq = std::max<uint64_t>(start, 1);
    natsSubscription* sub = nullptr;
    jsErrCode err = static_cast<jsErrCode>(0);
    const std::string filter = subject.empty() ? ">" : subject;
    natsStatus s = js_PullSubscribe(&sub, js_, filter.c_str(), nullptr, nullptr, &so, &err);
    if (s != NATS_OK) return FromNats(s, "replaying stream " + stream, err);
    return std::unique_ptr<StreamReader>(new NatsReader(sub, "stream " + stream, false));
  }

  Result<std::vector<uint8_t>> Request(const std::string& subject, std::span<const uint8_t> data,
                                       int timeout_ms) override {
    if (timeout_ms <= 0) return Status::InvalidArgument("a request needs a positive timeout");
    Owned<natsMsg, DestroyMsg> reply;
    natsStatus s = natsConnection_Request(&reply.p, conn_, subject.c_str(), data.data(), static_cast<int>(data.size()),
                                          timeout_ms);
    if (s != NATS_OK) return FromNats(s, "request to " + subject);
    const auto* d = reinterpret_cast<const uint8_t*>(natsMsg_GetData(reply.p));
    return std::vector<uint8_t>(d, d + natsMsg_GetDataLength(reply.p));
  }

  Result<std::unique_ptr<Subscription>> Serve(const std::string& subject, const std::string& queue,
                                              Handler handler) override {
    auto sub = std::make_unique<NatsSubscription>(std::make_unique<Handler>(std::move(handler)));
    natsStatus s = natsConnection_QueueSubscribe(&sub->sub, conn_, subject.c_str(), queue.c_str(), OnRequest, sub.get());
    if (s != NATS_OK) {
      sub->sub = nullptr;
      return FromNats(s, "serving " + subject);
    }
    return std::unique_ptr<Subscription>(std::move(sub));
  }

  Status Flush(int timeout_ms) override {
    natsStatus s = natsConnection_FlushTimeout(conn_, timeout_ms);
    return s == NATS_OK ? Status::OK() : FromNats(s, "flushing to NATS");
  }

  // The URLs without their passwords, for messages.
  static std::string Redacted(const std::string& urls) {
    std::string out = urls;
    for (size_t at = out.find('@'); at != std::string::npos; at = out.find('@', at + 1)) {
      size_t scheme = out.rfind("://", at);
      size_t colon = out.find(':', scheme == std::string::npos ? 0 : scheme + 3);
      if (scheme != std::string::npos && colon != std::string::npos && colon < at) {
        out.replace(colon + 1, at - colon - 1, "***");
        at = colon + 4;
      }
    }
    return out;
  }

 private:
  NatsBus() = default;
  natsConnection* conn_ = nullptr;
  jsCtx* js_ = nullptr;
};

}  // namespace

Result<std::unique_ptr<MessageBus>> MessageBus::Connect(const std::string& urls, const std::string& name) {
  return NatsBus::Open(urls, name);
}

}  // namespace lineup
