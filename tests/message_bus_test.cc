// MessageBus against a real 3-server NATS JetStream cluster started by
// scripts/cluster.sh (its own ports and folder; stopped at the end): credentials
// refused and accepted, a replicated work queue storing each message once under
// retried publishes, redelivery of what was fetched and not acknowledged, a log replayed
// by a second reader, publishing through the loss of the server the client is on, and
// request-reply with queue groups.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "lineup/message_bus.h"
#include "cluster_env.h"
#include "test_util.h"

namespace {

using lineup::BusMessage;
using lineup::MessageBus;
using lineup::Status;
using lineup::StreamSpec;
namespace fs = std::filesystem;

lineup_test::ClusterEnv* g_cluster = nullptr;


#define REQUIRE_CLUSTER()                                                            \
  do {                                                                               \
    if (!g_cluster->up()) GTEST_SKIP() << "nats-server is not installed (scripts/setup.sh installs it)"; \
  } while (0)

std::vector<uint8_t> Bytes(const std::string& s) { return {s.begin(), s.end()}; }
// prefix + request, as the reply of a test server.
std::vector<uint8_t> Reply(const char* prefix, std::span<const uint8_t> q) {
  std::vector<uint8_t> out(prefix, prefix + std::strlen(prefix));
  out.insert(out.end(), q.begin(), q.end());
  return out;
}
std::string Text(const std::vector<uint8_t>& b) { return {b.begin(), b.end()}; }

std::unique_ptr<MessageBus> Connect(const std::string& name) {
  auto bus = MessageBus::Connect(g_cluster->urls(), name);
  EXPECT_TRUE(bus.ok()) << bus.status().ToString();
  return bus.ok() ? std::move(*bus) : nullptr;
}

TEST(MessageBus, RefusesMissingOrWrongCredentialsAndBadUrls) {
  REQUIRE_CLUSTER();
  std::string first = g_cluster->urls().substr(0, g_cluster->urls().find(','));
  std::string host = first.substr(first.find('@') + 1);
  auto none = MessageBus::Connect("nats://" + host, "t");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), Status::Code::kUnauthenticated) << none.status().ToString();
  auto wrong = MessageBus::Connect("nats://lineup:wrong@" + host, "t");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), Status::Code::kUnauthenticated);
  EXPECT_EQ(wrong.status().message().find("wrong"), std::string::npos) << "the password is not echoed";
  EXPECT_EQ(MessageBus::Connect("", "t").status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(MessageBus::Connect("http://x", "t").status().code(), Status::Code::kInvalidArgument);
  auto nobody = MessageBus::Connect("nats://lineup:x@127.0.0.1:1", "t");
  EXPECT_EQ(nobody.status().code(), Status::Code::kUnavailable);
}

TEST(MessageBus, WorkQueueStoresEachMessageOnceAndRedeliversWhatWasNotAcked) {
  REQUIRE_CLUSTER();
  auto bus = Connect("work-queue");
  ASSERT_TRUE(bus);
  StreamSpec spec{"WORKQ", {"t.work"}, 3, true};
  ASSERT_TRUE(bus->EnsureStream(spec).ok());
  ASSERT_TRUE(bus->EnsureStream(spec).ok()) << "ensuring twice is harmless";
  StreamSpec other = spec;
  other.replicas = 1;
  EXPECT_EQ(bus->EnsureStream(other).code(), Status::Code::kFailedPrecondition);

  std::map<uint64_t, std::string> seq_of;
  for (int i = 0; i < 50; ++i) {
    auto a = bus->Publish("t.work", Bytes(std::string("photo ") + std::to_string(i)), std::string("photo-") + std::to_string(i));
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    EXPECT_FALSE(a->duplicate);
    seq_of[a->sequence] = std::string("photo ") + std::to_string(i);
  }
  for (int i = 0; i < 50; i += 7) {  // retried after a "lost" acknowledgement
    auto a = bus->Publish("t.work", Bytes(std::string("photo ") + std::to_string(i)), std::string("photo-") + std::to_string(i));
    ASSERT_TRUE(a.ok());
    EXPECT_TRUE(a->duplicate);
    EXPECT_EQ(seq_of[a->sequence], std::string("photo ") + std::to_string(i));
  }

  auto reader = bus->Reader("WORKQ", "t.work", "workers", 1000);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  std::multiset<std::string> seen;
  std::vector<BusMessage> unacked;
  for (int round = 0; round < 20 && seen.size() < 50; ++round) {
    auto got = (*reader)->Fetch(10, 2000);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    for (auto& m : *got) {
      if (Text(m.data) == "photo 3" && m.deliveries == 1) {  // a worker dies holding it
        unacked.push_back(m);
        continue;
      }
      seen.insert(Text(m.data));
      ASSERT_TRUE((*reader)->Ack(m).ok());
    }
  }
  EXPECT_EQ(seen.size(), 50u) << "photo 3 comes back after ack_wait";
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 50u) << "each exactly once";
  auto empty = (*reader)->Fetch(5, 1500);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty()) << "a work queue keeps nothing acknowledged";
}

TEST(MessageBus, LogIsReplayedFromTheStartByANewReader) {
  REQUIRE_CLUSTER();
  auto bus = Connect("log");
  ASSERT_TRUE(bus);
  ASSERT_TRUE(bus->EnsureStream({"SHARDLOG", {"t.shard.>"}, 3, false}).ok());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(bus->Publish("t.shard.1", Bytes(std::to_string(i)), std::string("f") + std::to_string(i)).ok());
  for (const char* replica : {"replica-a", "replica-b"}) {
    auto r = bus->Reader("SHARDLOG", "t.shard.1", replica);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    std::vector<std::string> order;
    while (order.size() < 20) {
      auto got = (*r)->Fetch(8, 2000);
      ASSERT_TRUE(got.ok());
      ASSERT_FALSE(got->empty()) << replica << " stopped at " << order.size();
      for (auto& m : *got) {
        order.push_back(Text(m.data));
        ASSERT_TRUE((*r)->Ack(m).ok());
      }
    }
    for (int i = 0; i < 20; ++i) EXPECT_EQ(order[static_cast<size_t>(i)], std::to_string(i)) << replica << ": in order";
  }
}

TEST(MessageBus, PublishingSurvivesTheLossOfAServer) {
  REQUIRE_CLUSTER();
  auto bus = Connect("through-a-failure");
  ASSERT_TRUE(bus);
  ASSERT_TRUE(bus->EnsureStream({"FAILQ", {"t.fail"}, 3, true}).ok());
  int stored = 0;
  for (int i = 0; i < 60; ++i) {
    if (i == 20) {  // the first URL: most likely this client's server
      ASSERT_EQ(g_cluster->Run("kill-nats 1"), 0);
    }
    // A publisher retries with the same id until the stream confirms: stored once.
    for (int attempt = 0; attempt < 40; ++attempt) {
      auto a = bus->Publish("t.fail", Bytes(std::to_string(i)), std::string("m") + std::to_string(i));
      if (a.ok()) {
        stored += a->duplicate ? 0 : 1;
        break;
      }
      ASSERT_EQ(a.status().code(), Status::Code::kUnavailable) << a.status().ToString();
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
  }
  EXPECT_EQ(stored, 60);
  // With a server down, the new reader's consumer may need a moment for its replicas:
  // Unavailable means try again.
  auto r = bus->Reader("FAILQ", "t.fail", "w");
  for (int attempt = 0; attempt < 30 && !r.ok() && r.status().code() == Status::Code::kUnavailable; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    r = bus->Reader("FAILQ", "t.fail", "w");
  }
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::set<std::string> got;
  for (int round = 0; round < 20 && got.size() < 60; ++round) {
    auto ms = (*r)->Fetch(20, 2000);
    ASSERT_TRUE(ms.ok()) << ms.status().ToString();
    for (auto& m : *ms) {
      EXPECT_TRUE(got.insert(Text(m.data)).second) << "delivered twice: " << Text(m.data);
      ASSERT_TRUE((*r)->Ack(m).ok());
    }
  }
  EXPECT_EQ(got.size(), 60u);
  ASSERT_EQ(g_cluster->Run("start-nats 1"), 0);
}

TEST(MessageBus, RequestsGoToOneServerOfAQueueGroupAndTimeOutWithoutOne) {
  REQUIRE_CLUSTER();
  auto a = Connect("server-a"), b = Connect("server-b"), client = Connect("client");
  ASSERT_TRUE(a && b && client);
  std::atomic<int> by_a{0}, by_b{0};
  auto sa = a->Serve("t.search.0", "shard-0", [&](std::span<const uint8_t> q) {
    ++by_a;
    return Reply("a:", q);
  });
  auto sb = b->Serve("t.search.0", "shard-0", [&](std::span<const uint8_t> q) {
    ++by_b;
    return Reply("b:", q);
  });
  ASSERT_TRUE(sa.ok() && sb.ok());
  ASSERT_TRUE(a->Flush(2000).ok() && b->Flush(2000).ok());
  for (int i = 0; i < 40; ++i) {
    auto r = client->Request("t.search.0", Bytes(std::string("q") + std::to_string(i)), 2000);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    std::string t = Text(*r);
    EXPECT_TRUE(t == std::string("a:q") + std::to_string(i) || t == std::string("b:q") + std::to_string(i)) << t;
  }
  EXPECT_EQ(by_a + by_b, 40) << "one answer per request";
  sa->reset();  // server a leaves: b answers everything
  by_b = 0;
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(client->Request("t.search.0", Bytes("x"), 2000).ok());
  EXPECT_EQ(by_b, 10);
  sb->reset();
  auto none = client->Request("t.search.0", Bytes("x"), 500);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), Status::Code::kUnavailable) << none.status().ToString();
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  g_cluster = new lineup_test::ClusterEnv(15422);
  ::testing::AddGlobalTestEnvironment(g_cluster);
  return RUN_ALL_TESTS();
}
