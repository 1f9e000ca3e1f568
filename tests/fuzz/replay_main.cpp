// Runs a fuzz target once on every file of a corpus directory, without libFuzzer: lets the g++
// unit test run (`ctest -L unit`) check every stored input, including past crashes.
// Usage: fuzz_replay_<name> <corpus dir>. Exit 0 when every input ran, 1 on a bad directory.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus dir>\n", argc > 0 ? argv[0] : "fuzz_replay");
    return 1;
  }
  std::error_code ec;
  std::vector<std::filesystem::path> files;
  for (std::filesystem::directory_iterator it(argv[1], ec), end; !ec && it != end;
       it.increment(ec)) {
    if (it->is_regular_file(ec)) {
      files.push_back(it->path());
    }
  }
  if (ec || files.empty()) {
    std::fprintf(stderr, "no corpus files in %s: %s\n", argv[1],
                 ec ? ec.message().c_str() : "empty directory");
    return 1;
  }
  std::sort(files.begin(), files.end());  // a stable order, so a failure is reproducible
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "cannot read %s\n", file.c_str());
      return 1;
    }
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::fprintf(stderr, "replay %s (%zu bytes)\n", file.c_str(), bytes.size());
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  }
  std::fprintf(stderr, "replayed %zu inputs\n", files.size());
  return 0;
}
