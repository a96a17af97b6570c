// Adaptive probability with a hit count: the basic counter of every
// context-mixing model in Sibyl.
//
// p is P(bit = 1) in 16-bit fixed point. Each update moves p towards the
// coded bit by 1/(n + 1.5), where n counts earlier updates, capped at a
// limit: a new context learns fast (first update nearly jumps to the bit),
// an old one averages over about `limit` recent bits and keeps adapting.
#pragma once

#include <array>
#include <cstdint>

namespace sibyl {

struct AdaptiveProb {
  uint16_t p = 32768;
  uint16_t n = 0;
};

namespace detail {
// kRateTable[n] = round(32768 / (n + 1.5)) for n in [0, 1023].
constexpr std::array<uint16_t, 1024> make_rate_table() {
  std::array<uint16_t, 1024> t{};
  for (int n = 0; n < 1024; ++n) t[n] = static_cast<uint16_t>((65536 + (2 * n + 3) / 2) / (2 * n + 3));
  return t;
}
inline constexpr std::array<uint16_t, 1024> kRateTable = make_rate_table();
}  // namespace detail

// Moves `s` towards `bit`; `limit` (< 1024) caps the count.
inline void adapt(AdaptiveProb& s, int bit, int limit) {
  const int target = bit ? 65535 : 0;
  const int diff = target - static_cast<int>(s.p);
  s.p = static_cast<uint16_t>(static_cast<int>(s.p) + ((diff * static_cast<int>(detail::kRateTable[s.n])) >> 15));
  if (s.n < limit) ++s.n;
}

}  // namespace sibyl
