// Adaptive probability map (secondary estimation): refines a probability
// given a context. Each context owns 33 points spread over the stretch
// domain; the output interpolates between the two points around the input
// and the nearer point moves towards the coded bit.
#pragma once

#include <cstdint>
#include <vector>

#include "common/fixed_math.h"

namespace sibyl {

class Apm {
 public:
  Apm(size_t contexts, int rate) : t_(contexts * 33), rate_(rate) {
    uint16_t row[33];
    for (int j = 0; j < 33; ++j) row[j] = static_cast<uint16_t>(squash((j - 16) * 128) * 16);
    for (size_t c = 0; c < contexts; ++c)
      for (int j = 0; j < 33; ++j) t_[c * 33 + j] = row[j];
  }

  // st: input in the stretch domain; returns P(1) in 16 bits.
  int refine(int st, size_t context) {
    const int s = st + 2048;  // 1..4095
    const int lo = s >> 7, w = s & 127;
    base_ = context * 33 + static_cast<size_t>(lo);
    index_ = base_ + (w >> 6);
    return (t_[base_] * (128 - w) + t_[base_ + 1] * w) >> 7;
  }

  // Brings the rows of contexts `context` and `context + 1` towards the
  // cache (the next bit's row is one of the two when the context is the
  // partial byte under fixed higher bits).
  void prefetch_pair(size_t context) const {
    const uint16_t* r = t_.data() + context * 33;
    __builtin_prefetch(r);
    __builtin_prefetch(r + 32);
    __builtin_prefetch(r + 65);
  }

  // All points, context by context (for saving and restoring a trained map).
  std::vector<uint16_t>& table() { return t_; }
  const std::vector<uint16_t>& table() const { return t_; }

  void update(int bit) {
    const int target = bit ? 65535 : 0;
    int v = t_[index_];
    v += (target - v) >> rate_;
    t_[index_] = static_cast<uint16_t>(v);
  }

 private:
  std::vector<uint16_t> t_;
  size_t base_ = 0, index_ = 0;
  int rate_;
};

}  // namespace sibyl
