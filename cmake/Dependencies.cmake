# Every library comes from a Debian 12 package installed by scripts/install-deps.sh (DESIGN §2).
find_package(Threads REQUIRED)
# C++ libraries that Debian ships as archives or headers are built into our binaries: each shared
# object costs a process its relocations and partly touched pages, which on the agent added up to
# megabytes of resident memory (bench/RESULTS.md, agent footprint). SOCI and libpq stay shared.
set(Boost_USE_STATIC_LIBS ON)
find_package(Boost 1.81 REQUIRED COMPONENTS json)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
add_library(hecs_fmt INTERFACE)
target_link_libraries(hecs_fmt INTERFACE fmt::fmt-header-only)
add_library(hecs_spdlog INTERFACE)
target_compile_definitions(hecs_spdlog INTERFACE SPDLOG_FMT_EXTERNAL)
target_link_libraries(hecs_spdlog INTERFACE hecs_fmt Threads::Threads)
find_library(HECS_YAML_CPP_ARCHIVE libyaml-cpp.a REQUIRED)
add_library(hecs_yaml_cpp INTERFACE)
target_link_libraries(hecs_yaml_cpp INTERFACE ${HECS_YAML_CPP_ARCHIVE})
find_package(CLI11 REQUIRED)
find_package(tl-expected REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(SQLite3 REQUIRED)  # defines SQLite::SQLite3
# The agent's own copy of SQLite, linked in. Only for binaries that do not also load SOCI's
# SQLite backend: two copies of SQLite in one process break each other's file locks.
find_library(HECS_SQLITE3_ARCHIVE libsqlite3.a REQUIRED)
add_library(hecs_sqlite3_static INTERFACE)
target_include_directories(hecs_sqlite3_static SYSTEM INTERFACE ${SQLite3_INCLUDE_DIRS})
target_link_libraries(hecs_sqlite3_static INTERFACE ${HECS_SQLITE3_ARCHIVE} m Threads::Threads)
find_package(CURL REQUIRED)
# Time zones for cron schedules (src/common/cron). Debian builds the date library with
# USE_OS_TZDB=1 (date::date-tz carries the define): it reads /usr/share/zoneinfo of the tzdata
# package and never downloads. Shared: Debian ships no archive of it.
find_package(date REQUIRED)  # date::date-tz
# tar.gz bundles of the collect-logs builtin (src/agent/tasks). Shared: Debian's libarchive.a
# needs every compression library it was built with, linked in by hand.
find_package(LibArchive REQUIRED)  # LibArchive::LibArchive
find_package(GTest REQUIRED)

# SOCI 4.0 in Debian ships no CMake package: name its libraries directly.
find_library(SOCI_CORE soci_core REQUIRED)
find_library(SOCI_SQLITE3 soci_sqlite3 REQUIRED)
find_library(SOCI_POSTGRESQL soci_postgresql REQUIRED)
add_library(hecs_soci INTERFACE)
target_link_libraries(hecs_soci INTERFACE ${SOCI_CORE} ${SOCI_SQLITE3} ${SOCI_POSTGRESQL})
target_include_directories(hecs_soci SYSTEM INTERFACE /usr/include/postgresql)

# Asio and Beast are compiled once (src/common/net/asio_impl.cpp), not in every translation unit.
add_library(hecs_boost INTERFACE)
target_compile_definitions(hecs_boost INTERFACE
  BOOST_ASIO_SEPARATE_COMPILATION BOOST_BEAST_SEPARATE_COMPILATION BOOST_ASIO_NO_DEPRECATED)
target_link_libraries(hecs_boost INTERFACE Boost::headers Boost::json Threads::Threads)
