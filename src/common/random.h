// Small deterministic randomness: hecs-sim's device ids and payload values follow from --seed,
// and each MQTT client's backoff jitter comes from its own generator.
// One generator per agent or client, so it is kept to 8 bytes (std::mt19937_64 is 2.5 KB: 50 MB at
// 20,000 agents).
#pragma once

#include <cstdint>
#include <limits>

namespace hecs {

// SplitMix64 (Steele, Lea, Flood, "Fast splittable pseudorandom number generators", 2014).
inline std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// A UniformRandomBitGenerator over splitmix64, for the <random> distributions.
class Rng {
 public:
  using result_type = std::uint64_t;
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return std::numeric_limits<result_type>::max(); }
  result_type operator()() { return splitmix64(state_); }

 private:
  std::uint64_t state_;
};

}  // namespace hecs
