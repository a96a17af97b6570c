// An order-1 byte model for the few bytes a numeric codec meets between
// its samples (container headers, partial frames or rows): each byte's
// eight bits are coded MSB first with adaptive probabilities selected by
// the previous byte and the bits seen so far.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "model/adaptive_prob.h"

namespace sibyl {

// Codes one bit with `s` (P(1) clamped to [32, 65504]) and adapts it.
template <class C>
inline int code_adaptive_bit(C& c, AdaptiveProb& s, int bit, int limit) {
  bit = c.code(bit, static_cast<uint32_t>(std::clamp<int>(s.p, 32, 65536 - 32)));
  adapt(s, bit, limit);
  return bit;
}

class Order1Bytes {
 public:
  static constexpr size_t kMemoryBytes = 256 * 256 * sizeof(AdaptiveProb);

  template <class C>
  uint8_t code(C& c, uint8_t byte) {
    if (t_.empty()) t_.resize(256 * 256);
    AdaptiveProb* t = &t_[static_cast<size_t>(prev_) * 256];
    int node = 1;
    for (int b = 7; b >= 0; --b) node = node * 2 + code_adaptive_bit(c, t[node], (byte >> b) & 1, 30);
    prev_ = static_cast<uint8_t>(node);
    return prev_;
  }

 private:
  std::vector<AdaptiveProb> t_;
  uint8_t prev_ = 0;
};

}  // namespace sibyl
