// Adaptive frequency table for the range coder: counts of up to 256
// symbols, incremented after each coded symbol and halved when their sum
// passes a limit, so the model follows changing statistics. Encoder and
// decoder call the same code(): the coder decides the direction.
#pragma once

#include <cstdint>
#include <vector>

#include "coder/range_coder.h"

namespace sibyl {

class AdaptiveFrequencies {
 public:
  // increment: count added per occurrence; limit: halve above this sum
  // (<= RangeEncoder::kMaxTotal).
  explicit AdaptiveFrequencies(int symbols, uint32_t increment = 24, uint32_t limit = 1u << 16)
      : freq_(static_cast<size_t>(symbols), 1), total_(static_cast<uint32_t>(symbols)), increment_(increment), limit_(limit) {}

  int size() const { return static_cast<int>(freq_.size()); }
  uint32_t freq(int s) const { return freq_[static_cast<size_t>(s)]; }
  uint32_t total() const { return total_; }

  void code(RangeEncoder& enc, int symbol) {
    uint32_t cum = 0;
    for (int i = 0; i < symbol; ++i) cum += freq_[static_cast<size_t>(i)];
    enc.encode(cum, freq_[static_cast<size_t>(symbol)], total_);
    update(symbol);
  }

  int code(RangeDecoder& dec, int /*symbol*/ = 0) {
    const uint32_t target = dec.decode_target(total_);
    uint32_t cum = 0;
    int s = 0;
    while (cum + freq_[static_cast<size_t>(s)] <= target) cum += freq_[static_cast<size_t>(s++)];
    dec.consume(cum, freq_[static_cast<size_t>(s)]);
    update(s);
    return s;
  }

 private:
  void update(int s) {
    freq_[static_cast<size_t>(s)] += increment_;
    total_ += increment_;
    if (total_ > limit_) {
      total_ = 0;
      for (auto& f : freq_) {
        f = (f + 1) / 2;
        total_ += f;
      }
    }
  }

  std::vector<uint32_t> freq_;
  uint32_t total_;
  uint32_t increment_;
  uint32_t limit_;
};

}  // namespace sibyl
