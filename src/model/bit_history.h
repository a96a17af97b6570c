// Bit histories: what a context has seen, packed into one byte.
//
// A state stands for a pair of counts (n0, n1): how many zeros and ones the
// context has seen recently. When a bit arrives its count grows and the
// opposite count, if above 2, loses about half of its excess over 2, so a context
// whose behaviour changes forgets its old bits quickly while a steady one
// keeps counting. Pairs are bounded so that every state fits in a byte:
//
//   min(n0, n1):          0   1   2   3   4   5
//   largest max(n0, n1): 40  24  12   8   6   5
//
// (166 states; where an update would leave the allowed set, the opposite
// count shrinks first, then the new one is capped). The state only says
// what was seen; what a state predicts is learned per context kind by a
// state map (src/codecs/bytes/cm.cpp, starting from initial_p16()), so
// "seen a 1 once" can mean 0.95 for a long context and 0.7 for a short one.
//
// The tables are computed at compile time from integer rules alone.
#pragma once

#include <array>
#include <cstdint>


namespace sibyl {

namespace bit_history {

inline constexpr int kCaps[6] = {40, 24, 12, 8, 6, 5};

constexpr bool allowed(int a, int b) {
  const int lo = a < b ? a : b, hi = a < b ? b : a;
  return lo <= 5 && hi <= kCaps[lo];
}

struct Tables {
  int count = 0;
  std::array<uint8_t, 256> n0{}, n1{};
  std::array<uint8_t, 512> next{};   // next[state * 2 + bit]
  std::array<uint8_t, 256> total{};  // n0 + n1, capped at 255 (replacement priority)
};

constexpr int find(const Tables& t, int a, int b) {
  for (int s = 0; s < t.count; ++s)
    if (t.n0[s] == a && t.n1[s] == b) return s;
  return -1;
}

constexpr Tables make_tables() {
  Tables t;
  // States in order of n0 + n1, so state 0 is the empty history.
  for (int sum = 0; sum <= 80; ++sum)
    for (int a = 0; a <= sum; ++a) {
      const int b = sum - a;
      if (!allowed(a, b)) continue;
      t.n0[t.count] = static_cast<uint8_t>(a);
      t.n1[t.count] = static_cast<uint8_t>(b);
      t.total[t.count] = static_cast<uint8_t>(sum);
      ++t.count;
    }
  for (int s = 0; s < t.count; ++s)
    for (int bit = 0; bit < 2; ++bit) {
      int same = bit ? t.n1[s] : t.n0[s];
      int other = bit ? t.n0[s] : t.n1[s];
      ++same;
      if (other > 2) other = 2 + (other - 1) / 2;
      while (other > 0 && !allowed(same, other)) --other;
      while (!allowed(same, other)) --same;
      const int a = bit ? other : same, b = bit ? same : other;
      t.next[s * 2 + bit] = static_cast<uint8_t>(find(t, a, b));
    }
  return t;
}

inline constexpr Tables kTables = make_tables();
static_assert(kTables.count <= 256);

inline int next(int state, int bit) { return kTables.next[static_cast<unsigned>(state * 2 + bit)]; }

// What a state map starts from for `state`: (n1 + 1/2) / (n0 + n1 + 1) as a
// 16-bit probability (1/2 for the unused codes above the last state).
constexpr uint16_t initial_p16(int state) {
  if (state < 0 || state >= kTables.count) return 32768;
  const int a = kTables.n0[static_cast<size_t>(state)], b = kTables.n1[static_cast<size_t>(state)];
  return static_cast<uint16_t>((65536 * (2 * b + 1)) / (2 * (a + b) + 2));
}

}  // namespace bit_history

}  // namespace sibyl
