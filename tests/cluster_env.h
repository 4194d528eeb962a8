// A NATS JetStream cluster for a test binary: scripts/cluster.sh up --nodes 0 on its own
// ports and folder before the first test, down after the last. Tests call
// REQUIRE_CLUSTER() and read ClusterUrls(). Without nats-server installed the tests
// skip with the reason, except under CI=true, where that is a failure.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace lineup_test {

class ClusterEnv : public ::testing::Environment {
 public:
  explicit ClusterEnv(int port_base) : port_base_(port_base) {}

  // "scripts/cluster.sh VERB --dir DIR" on this cluster, output discarded; its exit code.
  int Run(const std::string& verb) const {
    const std::string cmd = "CLUSTER_PORT_BASE=" + std::to_string(port_base_) + " " + LINEUP_TEST_SOURCE_DIR +
                            "/scripts/cluster.sh " + verb + " --dir " + dir_ + " > /dev/null 2>&1";
    return std::system(cmd.c_str());
  }
  bool up() const { return up_; }
  const std::string& urls() const { return urls_; }

  void SetUp() override {
    char tmpl[] = "/tmp/lineup-cluster-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    namespace fs = std::filesystem;
    // PostgreSQL runs as the postgres user when the tests run as root: it must reach in.
    fs::permissions(tmpl, fs::perms::owner_all | fs::perms::others_exec | fs::perms::group_exec);
    dir_ = std::string(tmpl) + "/cluster";
    if (std::system("command -v nats-server > /dev/null") != 0) {
      const char* ci = std::getenv("CI");
      ASSERT_FALSE(ci && std::string(ci) == "true") << "nats-server is missing in CI (scripts/setup.sh installs it)";
      return;
    }
    ASSERT_EQ(Run("up --nodes 0"), 0) << "scripts/cluster.sh up failed";
    std::ifstream env(dir_ + "/env");
    for (std::string line; std::getline(env, line);)
      if (line.rfind("LINEUP_CLUSTER=", 0) == 0) urls_ = line.substr(15);
    up_ = !urls_.empty();
  }
  void TearDown() override {
    if (dir_.empty()) return;
    Run("down");
    std::filesystem::remove_all(std::filesystem::path(dir_).parent_path());
  }

 private:
  int port_base_;
  std::string dir_, urls_;
  bool up_ = false;
};

}  // namespace lineup_test
