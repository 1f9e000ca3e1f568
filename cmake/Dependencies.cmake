# Every library comes from a Debian 12 package installed by scripts/install-deps.sh (DESIGN §2).
find_package(Threads REQUIRED)
find_package(Boost 1.81 REQUIRED COMPONENTS json)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(CLI11 REQUIRED)
find_package(tl-expected REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(SQLite3 REQUIRED)  # defines SQLite::SQLite3
find_package(CURL REQUIRED)
find_package(GTest REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(MOSQUITTO REQUIRED IMPORTED_TARGET libmosquitto)

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
