// A 16-bit counter state for fast models: a 12-bit probability and a 4-bit
// hit count in one uint16_t (state = p << 4 | n). Updates and the stretch of
// a state are single lookups in tables computed once at start-up with
// integer arithmetic, so they are identical on every machine.
//
// An update moves p towards the bit by 1/(n + 1.5), rounded to nearest,
// and counts n up to 15: a new context learns at once, a mature one averages
// over its last ~16 bits. Precision ends near p = 8/4096 from 0 or 1, which
// costs at most ~0.003 bits per very predictable decision.
#pragma once

#include <cstdint>
#include <vector>

#include "common/fixed_math.h"

namespace sibyl {

class Counter16 {
 public:
  static constexpr uint16_t kInitial = 2048 << 4;  // p = 1/2, n = 0

  static uint16_t next(uint16_t state, int bit) { return tables().next[bit][state]; }
  static int stretch_of(uint16_t state) { return tables().stretch[state]; }
  // Direct table access for hot loops (valid for the life of the process).
  static const uint16_t* next_table(int bit) { return tables().next[bit].data(); }
  static const int16_t* stretch_table() { return tables().stretch.data(); }
  static constexpr size_t kTableBytes = 3 * 65536 * 2;

 private:
  struct Tables {
    std::vector<uint16_t> next[2];
    std::vector<int16_t> stretch;
    Tables() : next{std::vector<uint16_t>(65536), std::vector<uint16_t>(65536)}, stretch(65536) {
      for (int s = 0; s < 65536; ++s) {
        const int p = s >> 4, n = s & 15;
        stretch[static_cast<size_t>(s)] = static_cast<int16_t>(sibyl::stretch(p));
        for (int bit = 0; bit < 2; ++bit) {
          const int num = 2 * ((bit ? 4095 : 0) - p);
          const int den = 2 * n + 3;
          const int delta = num >= 0 ? (num + den / 2) / den : -((-num + den / 2) / den);
          int q = p + delta;
          q = q < 0 ? 0 : (q > 4095 ? 4095 : q);
          next[bit][static_cast<size_t>(s)] = static_cast<uint16_t>(q << 4 | (n < 15 ? n + 1 : 15));
        }
      }
    }
  };
  static const Tables& tables() {
    static const Tables t;
    return t;
  }
};

}  // namespace sibyl
