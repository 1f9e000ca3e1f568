#include "agent/telemetry/proc_readers.h"

#include <random>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace hecs::agent::telemetry {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::IsEmpty;

// An x86 VM, two cores (Linux 6.1).
constexpr std::string_view kProcStat =
    "cpu  2255 0 2109 50875 1940 0 53 11 0 0\n"
    "cpu0 865 0 864 26779 84 0 6 4 0 0\n"
    "cpu1 1389 0 1244 24095 1856 0 47 7 0 0\n"
    "intr 215871 0 9 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
    "ctxt 402914\n"
    "btime 1795633012\n"
    "processes 4981\n"
    "procs_running 1\n"
    "procs_blocked 0\n"
    "softirq 172635 0 21817 2 27103 7867 0 1 63402 0 52443\n";

TEST(ProcStatCpu, SumsBusyAndIdleTicksOfTheAggregateLine) {
  auto times = parse_proc_stat_cpu(kProcStat);
  ASSERT_TRUE(times) << times.error().message;
  EXPECT_EQ(times->busy, 2255u + 0 + 2109 + 0 + 53 + 11);
  EXPECT_EQ(times->idle, 50875u + 1940);
}

TEST(ProcStatCpu, AcceptsAnOldKernelLineOfFourFields) {
  auto times = parse_proc_stat_cpu("cpu 10 20 30 40\n");
  ASSERT_TRUE(times);
  EXPECT_EQ(*times, (CpuTimes{60, 40}));
}

TEST(ProcStatCpu, RejectsTextWithoutTheAggregateLine) {
  auto times = parse_proc_stat_cpu("cpu0 1 2 3 4\nbtime 17\n");
  ASSERT_FALSE(times);
  EXPECT_EQ(times.error().code, Errc::invalid_input);
}

TEST(ProcStatCpu, RejectsANonNumericOrNegativeField) {
  EXPECT_FALSE(parse_proc_stat_cpu("cpu 1 2 x 4 5\n"));
  EXPECT_FALSE(parse_proc_stat_cpu("cpu 1 2 -3 4 5\n"));
  EXPECT_FALSE(parse_proc_stat_cpu("cpu 1 2 3 99999999999999999999999\n"));
}

TEST(ProcStatCpu, RejectsALineOfFewerThanFourFields) {
  EXPECT_FALSE(parse_proc_stat_cpu("cpu 1 2 3\n"));
  EXPECT_FALSE(parse_proc_stat_cpu(""));
}

TEST(ProcStatBtime, ReadsTheBootTimeInUnixSeconds) {
  EXPECT_EQ(parse_proc_stat_btime(kProcStat), 1795633012);
}

TEST(ProcStatBtime, IsAbsentWhenMissingOrMalformed) {
  EXPECT_EQ(parse_proc_stat_btime("cpu 1 2 3 4\n"), std::nullopt);
  EXPECT_EQ(parse_proc_stat_btime("btime soon\n"), std::nullopt);
}

TEST(CpuPercent, IsTheBusyShareOfTheTicksBetweenTwoProcStatSamples) {
  // One second later on the same two-core machine: 50 busy ticks of 200.
  auto before = parse_proc_stat_cpu(kProcStat);
  auto after = parse_proc_stat_cpu("cpu  2285 0 2125 51022 1943 0 55 13 0 0\n");
  ASSERT_TRUE(before && after);
  EXPECT_DOUBLE_EQ(cpu_percent(*before, *after), 25.0);
}

TEST(CpuPercent, IsZeroWhenNoTickPassed) { EXPECT_EQ(cpu_percent({100, 200}, {100, 200}), 0.0); }

TEST(CpuPercent, IsZeroWhenACounterWentBack) {
  EXPECT_EQ(cpu_percent({100, 200}, {90, 300}), 0.0);
  EXPECT_EQ(cpu_percent({100, 200}, {150, 100}), 0.0);
}

TEST(CpuPercent, IsAHundredWhenNoIdleTickPassed) {
  EXPECT_DOUBLE_EQ(cpu_percent({0, 0}, {400, 0}), 100.0);
}

constexpr std::string_view kMeminfo =
    "MemTotal:        3884520 kB\n"
    "MemFree:          212004 kB\n"
    "MemAvailable:    2957344 kB\n"
    "Buffers:          120340 kB\n"
    "Cached:          2492040 kB\n"
    "SwapCached:            0 kB\n"
    "HugePages_Total:       0\n"
    "Hugepagesize:       2048 kB\n";

TEST(Meminfo, ReadsTotalAndAvailableInBytes) {
  auto info = parse_meminfo(kMeminfo);
  EXPECT_EQ(info.total_bytes, 3884520ull * 1024);
  EXPECT_EQ(info.available_bytes, 2957344ull * 1024);
}

TEST(Meminfo, EstimatesAvailableOnKernelsWithoutMemAvailable) {
  auto info = parse_meminfo("MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 20 kB\nCached: 300 kB\n");
  EXPECT_EQ(info.available_bytes, 420ull * 1024);
}

TEST(Meminfo, GivesZeroForMalformedValues) {
  auto info = parse_meminfo("MemTotal: lots kB\nMemAvailable: 12 MB\nMemFree 7 kB\n");
  EXPECT_EQ(info.total_bytes, 0u);
  EXPECT_EQ(info.available_bytes, 0u);
}

TEST(Meminfo, NeverReportsMoreAvailableThanTotal) {
  auto info = parse_meminfo("MemTotal: 10 kB\nMemAvailable: 99 kB\n");
  EXPECT_EQ(info.available_bytes, info.total_bytes);
}

TEST(Meminfo, RejectsAValueThatOverflowsInBytes) {
  EXPECT_EQ(parse_meminfo("MemTotal: 18446744073709551615 kB\n").total_bytes, 0u);
}

TEST(Loadavg, ReadsTheThreeAverages) {
  auto load = parse_loadavg("0.05 0.11 1.50 1/88 4934\n");
  ASSERT_TRUE(load);
  EXPECT_DOUBLE_EQ(load->load1, 0.05);
  EXPECT_DOUBLE_EQ(load->load5, 0.11);
  EXPECT_DOUBLE_EQ(load->load15, 1.50);
}

TEST(Loadavg, RejectsTruncatedOrNonNumericText) {
  EXPECT_FALSE(parse_loadavg("0.05 0.11"));
  EXPECT_FALSE(parse_loadavg("0.05 high 0.05 1/88 4934"));
  EXPECT_FALSE(parse_loadavg("nan 0.1 0.1 1/88 4934"));
  EXPECT_FALSE(parse_loadavg(""));
}

TEST(Uptime, TruncatesToWholeSeconds) { EXPECT_EQ(parse_uptime("287.85 508.75\n"), 287u); }

TEST(Uptime, RejectsNegativeOrNonNumericText) {
  EXPECT_EQ(parse_uptime("-5.0 1.0"), std::nullopt);
  EXPECT_EQ(parse_uptime("1e30 1.0"), std::nullopt);
  EXPECT_EQ(parse_uptime("up 1.0"), std::nullopt);
  EXPECT_EQ(parse_uptime(""), std::nullopt);
}

// A gateway: loopback, wired, Wi-Fi, Docker bridge and veth, WireGuard, Tailscale.
constexpr std::string_view kNetDev =
    "Inter-|   Receive                                                |  Transmit\n"
    " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs "
    "drop fifo colls carrier compressed\n"
    "    lo:    3267      29    0    0    0     0          0         0     3267      29    0    "
    "0    0     0       0          0\n"
    "  eth0: 55543719    1203    2    0    0     0          0         0    56628     680    1    "
    "0    0     0       0          0\n"
    " wlan0: 18446744073709551615 9 0 0 0 0 0 0 7 6 5 0 0 0 0 0\n"
    "docker0:       0       0    0    0    0     0          0         0        0       0    0    "
    "0    0     0       0          0\n"
    "veth3f2a9c1: 1288 16 0 0 0 0 0 0 5436 52 0 0 0 0 0 0\n"
    "   wg0: 92348 812 0 3 0 0 0 0 188120 900 0 0 0 0 0 0\n"
    "tailscale0: 500 5 0 0 0 0 0 0 600 6 0 0 0 0 0 0\n";

TEST(NetDev, ReadsEveryInterfaceOfAMultiInterfaceHost) {
  auto counters = parse_net_dev(kNetDev);
  ASSERT_EQ(counters.size(), 7u);
  EXPECT_THAT(counters, ElementsAre(Field(&proto::InterfaceCounters::name, "lo"),
                                    Field(&proto::InterfaceCounters::name, "eth0"),
                                    Field(&proto::InterfaceCounters::name, "wlan0"),
                                    Field(&proto::InterfaceCounters::name, "docker0"),
                                    Field(&proto::InterfaceCounters::name, "veth3f2a9c1"),
                                    Field(&proto::InterfaceCounters::name, "wg0"),
                                    Field(&proto::InterfaceCounters::name, "tailscale0")));
  proto::InterfaceCounters eth0{"eth0", 55543719, 56628, 1203, 680, 2, 1};
  EXPECT_EQ(counters[1], eth0);
  EXPECT_EQ(counters[2].rx_bytes, 18446744073709551615ull);
  EXPECT_EQ(counters[2].tx_errors, 5u);
}

TEST(NetDev, ReadsAnOldKernelLineWithoutASpaceAfterTheColon) {
  auto counters = parse_net_dev("  eth1:4294967295 10 0 0 0 0 0 0 20 30 0 0 0 0 0 0\n");
  ASSERT_EQ(counters.size(), 1u);
  EXPECT_EQ(counters[0].name, "eth1");
  EXPECT_EQ(counters[0].rx_bytes, 4294967295u);
  EXPECT_EQ(counters[0].tx_packets, 30u);
}

TEST(NetDev, SkipsTruncatedAndNonNumericLines) {
  auto counters = parse_net_dev(
      "eth0: 1 2 3\n"
      "eth1: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 x\n"
      ": 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"
      "eth2: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n");
  ASSERT_EQ(counters.size(), 1u);
  EXPECT_EQ(counters[0].name, "eth2");
}

TEST(OsRelease, ReadsTheQuotedPrettyName) {
  EXPECT_EQ(parse_os_release("PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"
                             "NAME=\"Debian GNU/Linux\"\n"
                             "VERSION_ID=\"12\"\n"
                             "ID=debian\n"),
            "Debian GNU/Linux 12 (bookworm)");
}

TEST(OsRelease, UnescapesDoubleQuotesAndKeepsSingleQuotedTextAsIs) {
  EXPECT_EQ(parse_os_release(R"(PRETTY_NAME="Acme \"Edge\" OS \$1")"), R"(Acme "Edge" OS $1)");
  EXPECT_EQ(parse_os_release(R"(PRETTY_NAME='Raspbian \ 11')"), R"(Raspbian \ 11)");
}

TEST(OsRelease, FallsBackToTheNameWithoutAPrettyName) {
  EXPECT_EQ(parse_os_release("# comment\nNAME=Alpine\nID=alpine\n"), "Alpine");
}

TEST(OsRelease, IsEmptyForTextWithoutAName) {
  EXPECT_EQ(parse_os_release("PRETTY_NAME\n=\"x\"\n\"\n"), "");
  EXPECT_EQ(parse_os_release(""), "");
}

constexpr std::string_view kX86Cpuinfo =
    "processor\t: 0\n"
    "vendor_id\t: GenuineIntel\n"
    "cpu family\t: 6\n"
    "model\t\t: 142\n"
    "model name\t: Intel(R) Core(TM) i5-8250U CPU @ 1.60GHz\n"
    "stepping\t: 10\n"
    "flags\t\t: fpu vme de pse tsc msr pae mce cx8\n"
    "\n"
    "processor\t: 1\n"
    "vendor_id\t: GenuineIntel\n"
    "model\t\t: 142\n"
    "model name\t: Intel(R) Core(TM) i5-8250U CPU @ 1.60GHz\n";

// A Raspberry Pi 4 running 64-bit Raspberry Pi OS: no "model name".
constexpr std::string_view kPi4Cpuinfo =
    "processor\t: 0\n"
    "BogoMIPS\t: 108.00\n"
    "Features\t: fp asimd evtstrm crc32 cpuid\n"
    "CPU implementer\t: 0x41\n"
    "CPU architecture: 8\n"
    "CPU variant\t: 0x0\n"
    "CPU part\t: 0xd08\n"
    "CPU revision\t: 3\n"
    "\n"
    "Hardware\t: BCM2835\n"
    "Revision\t: c03111\n"
    "Serial\t\t: 100000002a5f9e2c\n"
    "Model\t\t: Raspberry Pi 4 Model B Rev 1.1\n";

TEST(CpuinfoModel, ReadsTheModelNameOnX86AndNotTheModelNumber) {
  EXPECT_EQ(parse_cpuinfo_model(kX86Cpuinfo), "Intel(R) Core(TM) i5-8250U CPU @ 1.60GHz");
}

TEST(CpuinfoModel, ReadsTheBoardModelOnARaspberryPi) {
  EXPECT_EQ(parse_cpuinfo_model(kPi4Cpuinfo), "Raspberry Pi 4 Model B Rev 1.1");
}

TEST(CpuinfoModel, PrefersTheModelNameOnA32BitRaspberryPiKernel) {
  EXPECT_EQ(parse_cpuinfo_model("processor\t: 0\n"
                                "model name\t: ARMv7 Processor rev 4 (v7l)\n"
                                "Hardware\t: BCM2835\n"
                                "Model\t\t: Raspberry Pi 3 Model B Plus Rev 1.3\n"),
            "ARMv7 Processor rev 4 (v7l)");
}

TEST(CpuinfoModel, FallsBackToTheHardwareLine) {
  EXPECT_EQ(parse_cpuinfo_model("processor\t: 0\nHardware\t: Allwinner sun8i Family\n"),
            "Allwinner sun8i Family");
}

TEST(CpuinfoModel, IsEmptyWithoutAKnownKey) {
  EXPECT_EQ(parse_cpuinfo_model("processor\t: 0\nmodel\t\t: 142\nmodel name\t:\n"), "");
}

TEST(CpuList, CountsRangesAndSingleCpus) {
  EXPECT_EQ(parse_cpu_list_count("0-3\n"), 4u);
  EXPECT_EQ(parse_cpu_list_count("0\n"), 1u);
  EXPECT_EQ(parse_cpu_list_count("0-1,4,6-7\n"), 5u);
}

TEST(CpuList, RejectsMalformedLists) {
  EXPECT_EQ(parse_cpu_list_count(""), std::nullopt);
  EXPECT_EQ(parse_cpu_list_count("3-1"), std::nullopt);
  EXPECT_EQ(parse_cpu_list_count("0-"), std::nullopt);
  EXPECT_EQ(parse_cpu_list_count("0,,1"), std::nullopt);
  EXPECT_EQ(parse_cpu_list_count("0-4294967295,0-4294967295"), std::nullopt);
}

TEST(Mounts, DecodesOctalEscapesInDeviceAndMountPoint) {
  auto mounts = parse_mounts("/dev/sdb1 /media/pi/My\\040Drive vfat rw 0 0\n");
  ASSERT_EQ(mounts.size(), 1u);
  EXPECT_EQ(mounts[0], (Mount{"/dev/sdb1", "/media/pi/My Drive", "vfat"}));
}

TEST(Mounts, KeepsRealFilesystemsOncePerDeviceAtTheShortestMountPoint) {
  // A Raspberry Pi running Docker with a USB drive, and bind mounts of the root device.
  auto mounts = parse_mounts(
      "/dev/mmcblk0p2 / ext4 rw,noatime 0 0\n"
      "devtmpfs /dev devtmpfs rw,relatime,size=1800000k 0 0\n"
      "proc /proc proc rw,relatime 0 0\n"
      "sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0\n"
      "tmpfs /run tmpfs rw,nosuid,nodev,size=780000k,mode=755 0 0\n"
      "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime 0 0\n"
      "cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0\n"
      "/dev/mmcblk0p1 /boot/firmware vfat rw,relatime,fmask=0022 0 0\n"
      "/dev/sda1 /mnt/usb\\040data exfat rw,relatime 0 0\n"
      "/dev/mmcblk0p2 /var/lib/docker/containers/ab/hosts ext4 rw,noatime 0 0\n"
      "overlay /var/lib/docker/overlay2/ab/merged overlay rw,relatime,lowerdir=/x 0 0\n"
      "/dev/loop0 /snap/core/1 squashfs ro,nodev,relatime 0 0\n"
      "server:/export /mnt/nfs nfs4 rw,relatime 0 0\n"
      "garbage\n");
  EXPECT_THAT(real_filesystems(mounts),
              ElementsAre(Mount{"/dev/mmcblk0p2", "/", "ext4"},
                          Mount{"/dev/mmcblk0p1", "/boot/firmware", "vfat"},
                          Mount{"/dev/sda1", "/mnt/usb data", "exfat"}));
}

TEST(Mounts, KnowsRealFilesystemsFromVirtualOnes) {
  for (auto type : {"ext2", "ext3", "ext4", "xfs", "btrfs", "vfat", "f2fs", "zfs"}) {
    EXPECT_TRUE(is_real_filesystem(type)) << type;
  }
  for (auto type : {"proc", "sysfs", "tmpfs", "devtmpfs", "cgroup", "cgroup2", "overlay",
                    "squashfs", "nfs", "autofs", "", "ext"}) {
    EXPECT_FALSE(is_real_filesystem(type)) << type;
  }
}

TEST(Mac, IsTheTrimmedAddress) { EXPECT_EQ(parse_mac("dc:a6:32:01:02:03\n"), "dc:a6:32:01:02:03"); }

TEST(Mac, IsEmptyForTheLoopbacksAllZeroAddressOrNone) {
  EXPECT_EQ(parse_mac("00:00:00:00:00:00\n"), "");
  EXPECT_EQ(parse_mac("\n"), "");
}

TEST(PickTemperature, PrefersTheCpuZoneOverTheFirstOne) {
  EXPECT_EQ(pick_temperature({{0, "acpitz", "27800\n"}, {1, "x86_pkg_temp", "51000\n"}}), 51.0);
  EXPECT_EQ(pick_temperature({{0, "cpu-thermal", "48312\n"}}), 48.312);
}

TEST(PickTemperature, FallsBackToTheLowestZoneNumber) {
  EXPECT_EQ(pick_temperature({{10, "gpu-thermal", "60000"}, {2, "soc-thermal", "45000"}}), 45.0);
}

TEST(PickTemperature, SkipsUnparsableAndImplausibleReadings) {
  EXPECT_EQ(
      pick_temperature(
          {{0, "cpu-thermal", "-274000"}, {1, "x86_pkg_temp", "hot"}, {2, "acpitz", "-5000"}}),
      -5.0);
}

TEST(PickTemperature, IsAbsentWithoutAUsableZone) {
  EXPECT_EQ(pick_temperature({}), std::nullopt);
  EXPECT_EQ(pick_temperature({{0, "cpu-thermal", ""}}), std::nullopt);
}

TEST(Parsers, SurviveArbitraryBytes) {
  std::mt19937 random(20240611);  // fixed seed: a failure reproduces
  std::uniform_int_distribution<int> byte(0, 255);
  const std::string alphabet = "cpu btime:0123456789-,.\\\"'=\n\t kB|lo";
  std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
  for (int round = 0; round < 2000; ++round) {
    std::string text(static_cast<std::size_t>(round % 300), '\0');
    for (auto& c : text) {
      c = round % 2 ? static_cast<char>(byte(random)) : alphabet[pick(random)];
    }
    (void)parse_proc_stat_cpu(text);
    (void)parse_proc_stat_btime(text);
    (void)parse_meminfo(text);
    (void)parse_loadavg(text);
    (void)parse_uptime(text);
    (void)parse_net_dev(text);
    (void)parse_os_release(text);
    (void)parse_cpuinfo_model(text);
    (void)parse_cpu_list_count(text);
    (void)real_filesystems(parse_mounts(text));
    (void)parse_mac(text);
    (void)pick_temperature({{0, text, text}});
  }
  SUCCEED();
}

}  // namespace
}  // namespace hecs::agent::telemetry
