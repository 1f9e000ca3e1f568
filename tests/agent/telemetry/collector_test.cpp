#include <filesystem>
#include <fstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "agent/telemetry/telemetry.h"
#include "support/tempdir.h"

namespace hecs::agent::telemetry {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::IsEmpty;
using ::testing::Not;

namespace fs = std::filesystem;

void write_file(const fs::path& path, std::string_view text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

// A /proc, /sys and /etc of a two-core board, in a temporary directory. The mounts point at
// real directories of this machine, since statvfs needs them.
class CollectorOnATempTree : public ::testing::Test {
 protected:
  CollectorOnATempTree() {
    write_stat("cpu  1000 0 1000 8000 0 0 0 0 0 0\n");
    write_proc("meminfo", "MemTotal: 2000 kB\nMemFree: 100 kB\nMemAvailable: 1500 kB\n");
    write_proc("loadavg", "0.50 0.25 0.10 2/150 999\n");
    write_proc("uptime", "3600.72 7000.00\n");
    write_proc("cpuinfo", "processor\t: 0\nHardware\t: BCM2835\nModel\t\t: Raspberry Pi 4\n");
    write_proc("sys/kernel/hostname", "edge-17\n");
    write_proc("net/dev",
               "Inter-|   Receive |  Transmit\n"
               " face |bytes packets errs drop fifo frame compressed multicast|bytes ...\n"
               "wlan0: 10 1 0 0 0 0 0 0 20 2 0 0 0 0 0 0\n"
               "    lo: 5 1 0 0 0 0 0 0 5 1 0 0 0 0 0 0\n"
               "  eth0: 300 3 1 0 0 0 0 0 400 4 2 0 0 0 0 0\n");
    write_proc("self/mounts",
               "/dev/root / ext4 rw 0 0\n"
               "proc /proc proc rw 0 0\n"
               "tmpfs /run tmpfs rw 0 0\n"
               "/dev/sda1 " +
                   tree_.path().string() +
                   " vfat rw 0 0\n"
                   "/dev/sdb1 /nonexistent/hecs-mount ext4 rw 0 0\n");
    write_file(roots_.sys / "devices/system/cpu/online", "0-1\n");
    write_file(roots_.etc / "os-release", "PRETTY_NAME=\"Raspbian GNU/Linux 11 (bullseye)\"\n");
    write_file(roots_.etc / "passwd",
               "root:x:0:0:root:/root:/bin/bash\n# comment\npi:x:1000:1000::/home/pi:/bin/bash\n");
  }

  void write_proc(std::string_view name, std::string_view text) {
    write_file(roots_.proc / name, text);
  }
  void write_stat(std::string_view cpu_line) {
    write_proc("stat", std::string(cpu_line) + "cpu0 1 1 1 1\nbtime 1700000000\n");
  }

  test::TempDir tree_{"telemetry"};
  Roots roots_{tree_.path() / "proc", tree_.path() / "sys", tree_.path() / "etc"};
};

TEST_F(CollectorOnATempTree, FillsHelloFromTheTree) {
  Collector collector(roots_);
  auto hello = collector.hello();
  ASSERT_TRUE(hello) << hello.error().message;
  EXPECT_EQ(hello->hostname, "edge-17");
  EXPECT_EQ(hello->os, "Raspbian GNU/Linux 11 (bullseye)");
  EXPECT_EQ(hello->cpu_model, "Raspberry Pi 4");
  EXPECT_EQ(hello->cpu_count, 2u);
  EXPECT_EQ(hello->memory_bytes, 2000u * 1024);
  EXPECT_EQ(hello->boot_time, 1700000000000);
  EXPECT_FALSE(hello->kernel.empty());
  EXPECT_FALSE(hello->arch.empty());
  EXPECT_EQ(hello->capabilities, (std::vector<std::string>{"telemetry", "tasks"}));
  EXPECT_EQ(hello->users, (std::vector<std::string>{"root", "pi"}));
  EXPECT_EQ(hello->session, 0u);
  EXPECT_EQ(hello->agent_version, "");
}

TEST_F(CollectorOnATempTree, ListsRealFilesystemsThatStatvfsCanSee) {
  auto hello = Collector(roots_).hello();
  ASSERT_TRUE(hello);
  ASSERT_EQ(hello->disks.size(), 2u);
  EXPECT_EQ(hello->disks[0].mount, "/");
  EXPECT_EQ(hello->disks[0].device, "/dev/root");
  EXPECT_EQ(hello->disks[0].fs_type, "ext4");
  EXPECT_GT(hello->disks[0].total_bytes, 0u);
  EXPECT_EQ(hello->disks[1].mount, tree_.path().string());
  EXPECT_EQ(hello->disks[1].fs_type, "vfat");
}

TEST_F(CollectorOnATempTree, ListsInterfacesByNameWithLoopbackAddressAndNoZeroMac) {
  write_file(roots_.sys / "class/net/lo/address", "00:00:00:00:00:00\n");
  auto hello = Collector(roots_).hello();
  ASSERT_TRUE(hello);
  EXPECT_TRUE(std::is_sorted(hello->interfaces.begin(), hello->interfaces.end(),
                             [](const auto& a, const auto& b) { return a.name < b.name; }));
  auto lo = std::find_if(hello->interfaces.begin(), hello->interfaces.end(),
                         [](const auto& i) { return i.name == "lo"; });
  ASSERT_NE(lo, hello->interfaces.end());
  EXPECT_EQ(lo->mac, "");
  EXPECT_THAT(lo->addresses, Contains("127.0.0.1/8"));
}

TEST_F(CollectorOnATempTree, FillsTheSampleFromTheTree) {
  Collector collector(roots_);
  auto sample = collector.sample();
  ASSERT_TRUE(sample) << sample.error().message;
  EXPECT_DOUBLE_EQ(sample->load1, 0.50);
  EXPECT_DOUBLE_EQ(sample->load5, 0.25);
  EXPECT_DOUBLE_EQ(sample->load15, 0.10);
  EXPECT_EQ(sample->memory_total_bytes, 2000u * 1024);
  EXPECT_EQ(sample->memory_available_bytes, 1500u * 1024);
  EXPECT_EQ(sample->uptime_s, 3600u);
  proto::InterfaceCounters eth0{"eth0", 300, 400, 3, 4, 1, 2};
  proto::InterfaceCounters wlan0{"wlan0", 10, 20, 1, 2, 0, 0};
  EXPECT_THAT(sample->interfaces, ElementsAre(eth0, wlan0));
  ASSERT_EQ(sample->disks.size(), 2u);
  EXPECT_EQ(sample->disks[0].mount, "/");
  EXPECT_GT(sample->disks[0].total_bytes, 0u);
  EXPECT_GT(sample->disks[0].used_bytes, 0u);
  EXPECT_LE(sample->disks[0].used_bytes, sample->disks[0].total_bytes);
}

TEST_F(CollectorOnATempTree, ReportsCpuPercentSinceConstruction) {
  Collector collector(roots_);
  write_stat("cpu  1030 0 1030 8140 0 0 0 0 0 0\n");  // 60 busy ticks of 200
  auto sample = collector.sample();
  ASSERT_TRUE(sample);
  EXPECT_DOUBLE_EQ(sample->cpu_percent, 30.0);
}

TEST_F(CollectorOnATempTree, ReportsCpuPercentSinceThePreviousSample) {
  Collector collector(roots_);
  ASSERT_TRUE(collector.sample());
  write_stat("cpu  1030 0 1030 8140 0 0 0 0 0 0\n");
  ASSERT_TRUE(collector.sample());
  write_stat("cpu  1130 0 1030 8140 0 0 0 0 0 0\n");  // fully busy since
  auto sample = collector.sample();
  ASSERT_TRUE(sample);
  EXPECT_DOUBLE_EQ(sample->cpu_percent, 100.0);
}

TEST_F(CollectorOnATempTree, ReportsZeroCpuWhenNoTimePassed) {
  Collector collector(roots_);
  auto sample = collector.sample();
  ASSERT_TRUE(sample);
  EXPECT_EQ(sample->cpu_percent, 0.0);
}

TEST_F(CollectorOnATempTree, LeavesTemperatureAbsentWithoutThermalZones) {
  auto sample = Collector(roots_).sample();
  ASSERT_TRUE(sample);
  EXPECT_EQ(sample->temperature_c, std::nullopt);
}

TEST_F(CollectorOnATempTree, FailsAsUnavailableWithoutProcStat) {
  fs::remove(roots_.proc / "stat");
  Collector collector(roots_);
  auto hello = collector.hello();
  ASSERT_FALSE(hello);
  EXPECT_EQ(hello.error().code, Errc::unavailable);
  auto sample = collector.sample();
  ASSERT_FALSE(sample);
  EXPECT_EQ(sample.error().code, Errc::unavailable);
}

TEST_F(CollectorOnATempTree, FailsAsUnavailableWhenProcStatHasNoCpuLine) {
  Collector collector(roots_);
  write_proc("stat", "intr 0\nbtime 1700000000\n");
  auto sample = collector.sample();
  ASSERT_FALSE(sample);
  EXPECT_EQ(sample.error().code, Errc::unavailable);
}

// Only proc/stat, the one essential file, is left in the tree.
class CollectorOnABareTree : public CollectorOnATempTree {
 protected:
  CollectorOnABareTree() {
    fs::remove_all(roots_.sys);
    fs::remove_all(roots_.etc);
    for (auto name : {"meminfo", "loadavg", "uptime", "cpuinfo", "net/dev", "self/mounts"}) {
      fs::remove(roots_.proc / name);
    }
  }
};

TEST_F(CollectorOnABareTree, LeavesTheOptionalPartsOfHelloEmpty) {
  auto hello = Collector(roots_).hello();
  ASSERT_TRUE(hello);
  EXPECT_EQ(hello->os, "");
  EXPECT_EQ(hello->cpu_model, "");
  EXPECT_EQ(hello->memory_bytes, 0u);
  EXPECT_THAT(hello->disks, IsEmpty());
  EXPECT_GE(hello->cpu_count, 1u);  // sysconf still answers
}

TEST_F(CollectorOnABareTree, LeavesTheOptionalPartsOfTheSampleZero) {
  auto sample = Collector(roots_).sample();
  ASSERT_TRUE(sample);
  EXPECT_EQ(sample->load1, 0.0);
  EXPECT_EQ(sample->memory_total_bytes, 0u);
  EXPECT_EQ(sample->uptime_s, 0u);
  EXPECT_THAT(sample->disks, IsEmpty());
  EXPECT_THAT(sample->interfaces, IsEmpty());
}

// Every optional file holds the same bytes of garbage.
class CollectorOnAGarbageTree : public CollectorOnATempTree {
 protected:
  CollectorOnAGarbageTree() {
    const std::string garbage = "\x01\xff:::=\"\n-1 nan x\n\\0";
    for (auto name : {"meminfo", "loadavg", "uptime", "cpuinfo", "net/dev", "self/mounts",
                      "sys/kernel/hostname"}) {
      write_proc(name, garbage);
    }
    write_file(roots_.sys / "devices/system/cpu/online", garbage);
    write_file(roots_.sys / "class/thermal/thermal_zone0/temp", garbage);
    write_file(roots_.etc / "os-release", garbage);
  }
};

TEST_F(CollectorOnAGarbageTree, LeavesTheOptionalPartsOfHelloEmpty) {
  auto hello = Collector(roots_).hello();
  ASSERT_TRUE(hello);
  EXPECT_EQ(hello->memory_bytes, 0u);
  EXPECT_THAT(hello->disks, IsEmpty());
  EXPECT_FALSE(hello->hostname.empty());  // gethostname(2) still answers
  EXPECT_GE(hello->cpu_count, 1u);
}

TEST_F(CollectorOnAGarbageTree, LeavesTheOptionalPartsOfTheSampleZeroOrAbsent) {
  auto sample = Collector(roots_).sample();
  ASSERT_TRUE(sample);
  EXPECT_EQ(sample->uptime_s, 0u);
  EXPECT_EQ(sample->load15, 0.0);
  EXPECT_EQ(sample->temperature_c, std::nullopt);
  EXPECT_THAT(sample->interfaces, IsEmpty());
}

// This machine has no thermal sensor to read, so the zones are files in the temp tree.
TEST_F(CollectorOnATempTree, FakeThermalZoneReportsMillidegreesAsCelsius) {
  write_file(roots_.sys / "class/thermal/thermal_zone0/type", "cpu-thermal\n");
  write_file(roots_.sys / "class/thermal/thermal_zone0/temp", "48312\n");
  auto sample = Collector(roots_).sample();
  ASSERT_TRUE(sample);
  ASSERT_TRUE(sample->temperature_c.has_value());
  EXPECT_DOUBLE_EQ(*sample->temperature_c, 48.312);
}

TEST_F(CollectorOnATempTree, FakeThermalZonePrefersTheCpuPackageOverTheFirstZone) {
  write_file(roots_.sys / "class/thermal/thermal_zone0/type", "acpitz\n");
  write_file(roots_.sys / "class/thermal/thermal_zone0/temp", "27800\n");
  write_file(roots_.sys / "class/thermal/thermal_zone1/type", "x86_pkg_temp\n");
  write_file(roots_.sys / "class/thermal/thermal_zone1/temp", "55000\n");
  write_file(roots_.sys / "class/thermal/cooling_device0/type", "Processor\n");
  auto sample = Collector(roots_).sample();
  ASSERT_TRUE(sample);
  EXPECT_EQ(sample->temperature_c, 55.0);
}

TEST(CollectorOnThisMachine, ReportsAPlausibleHello) {
  auto hello = Collector().hello();
  ASSERT_TRUE(hello) << hello.error().message;
  EXPECT_FALSE(hello->hostname.empty());
  EXPECT_FALSE(hello->kernel.empty());
  EXPECT_GE(hello->cpu_count, 1u);
  EXPECT_GT(hello->memory_bytes, 0u);
  EXPECT_GT(hello->boot_time, 1'500'000'000'000);  // after 2017
  EXPECT_THAT(hello->disks, Not(IsEmpty()));
  EXPECT_THAT(hello->interfaces, Contains(Field(&proto::NetInterface::name, "lo")));
}

TEST(CollectorOnThisMachine, ReportsAPlausibleSample) {
  auto sample = Collector().sample();
  ASSERT_TRUE(sample) << sample.error().message;
  EXPECT_GE(sample->cpu_percent, 0.0);
  EXPECT_LE(sample->cpu_percent, 100.0);
  EXPECT_GT(sample->memory_total_bytes, 0u);
  EXPECT_LE(sample->memory_available_bytes, sample->memory_total_bytes);
  EXPECT_GT(sample->uptime_s, 0u);
  EXPECT_GE(sample->load1, 0.0);
  EXPECT_THAT(sample->disks, Not(IsEmpty()));
  EXPECT_THAT(sample->interfaces, Not(Contains(Field(&proto::InterfaceCounters::name, "lo"))));
  EXPECT_GT(sample->temperature_c.value_or(0), -60.0);
  EXPECT_LT(sample->temperature_c.value_or(0), 200.0);
}

}  // namespace
}  // namespace hecs::agent::telemetry
