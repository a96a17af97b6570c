// Match model: finds the most recent earlier occurrence of the last
// kMinLength bytes (through a hash table of positions) and predicts that the
// byte which followed it comes next. Its prediction is an adaptive
// probability indexed by the match length and the predicted bit, so the
// confidence is learned, not assumed.
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/zeroed_buffer.h"
#include <cstdlib>
#include <memory>
#include <new>

#include "common/bytes.h"
#include "common/fixed_math.h"
#include "model/adaptive_prob.h"
#include "model/nibble_table.h"

namespace sibyl {

class MatchModel {
 public:
  static constexpr int kMinLength = 6;     // bytes that must agree to start a match
  static constexpr int kMaxVerify = 32;    // bytes compared backwards to measure a new match
  static constexpr int kLengthBuckets = 16;

  // 2^table_log positions (table_log >= 4) for a block of `block_size`
  // bytes (positions must fit in 32 bits).
  MatchModel(int table_log, size_t block_size)
      : line_mask_((size_t(1) << (table_log - 4)) - 1),
        position_mask_(position_mask(block_size)),
        buffer_((size_t(1) << table_log) * sizeof(uint32_t)),
        table_(buffer_.as<uint32_t>()) {}

  static size_t memory_bytes(int table_log) { return (size_t(1) << table_log) * sizeof(uint32_t); }

  // Called after byte data[pos - 1] is known.
  //
  // The hash table has one 64-byte line of 16 positions per hash of five
  // bytes; the slot inside the line is chosen by the low nibble of the byte
  // that follows them. The line for the next call is therefore known one
  // byte early and prefetched, which hides the cache miss.
  void next_byte(const uint8_t* data, size_t pos) {
    const uint8_t byte = data[pos - 1];
    if (length_ > 0 && data[ptr_] == byte) {
      if (length_ < 65535) ++length_;
      ++ptr_;
    } else {
      length_ = 0;
    }
    if (pos >= static_cast<size_t>(kMinLength)) {
      uint32_t& entry = table_[next_line_ * 16 + (byte & 15)];
      const uint32_t tag = next_tag_;
      if (length_ == 0) {
        // An entry whose tag differs was stored for other context bytes, so
        // it cannot pass the check below: it is skipped without reading
        // the old data, which would be a cache miss.
        const uint32_t cand = ((entry ^ tag) & ~position_mask_) == 0 ? entry & position_mask_ : 0;
        if (cand > 0) {
          int len = 0;
          while (len < kMaxVerify && static_cast<size_t>(len) < cand && data[cand - 1 - len] == data[pos - 1 - len]) ++len;
          if (len >= kMinLength) {
            length_ = len;
            ptr_ = cand;
          }
        }
      }
      entry = static_cast<uint32_t>(pos) | tag;
    }
    if (pos >= static_cast<size_t>(kMinLength - 1)) {
      const uint32_t h = hash_mix(load_le32(data + pos - 4) | uint64_t(data[pos - 5]) << 32 | uint64_t(5) << 56);
      next_line_ = h & line_mask_;
      next_tag_ = h & ~position_mask_;
      __builtin_prefetch(table_ + next_line_ * 16);
    }
    expected_ = length_ > 0 ? data[ptr_] : 0;
    miss_ = false;
  }

  // Bucket of the match length (0 = no match), for selecting mixer weights.
  int length_bucket() const {
    if (miss_ || length_ == 0) return 0;
    if (length_ < 16) return 1;
    if (length_ < 32) return 2;
    return 3;
  }

  // c0: the partial byte with a leading 1; bitpos: bits of it already known.
  // Returns the stretched prediction (0 when there is no usable match).
  int predict(int c0, int bitpos) {
    if (length_ == 0 || miss_) {
      slot_ = nullptr;
      return 0;
    }
    if (((expected_ | 256) >> (8 - bitpos)) != c0) {
      miss_ = true;
      slot_ = nullptr;
      return 0;
    }
    bit_ = (expected_ >> (7 - bitpos)) & 1;
    slot_ = length_probs() + bit_;
    return stretch(slot_->p >> 4);
  }

  void update(int bit) {
    if (slot_) adapt(*slot_, bit, kProbLimit);
  }

  // The same predictions for a model that codes a byte per call, without
  // per-bit calls when there is no match: the predicted byte (-1 for none)
  // and the pair of probabilities of the current match length, indexed by
  // the predicted bit. While the coded bits agree with expected_byte(),
  // stretch(probs[predicted bit].p >> 4) is the prediction and the
  // probability is trained with adapt(..., kProbLimit).
  static constexpr int kProbLimit = 255;
  int expected_byte() const { return length_ > 0 ? expected_ : -1; }
  int length() const { return length_; }
  AdaptiveProb* length_probs() {
    const int lb = length_ < 16 ? length_ : 16 + (ilog2(static_cast<uint32_t>(length_)) - 4);
    return &probs_[(lb < 31 ? lb : 31) * 2];
  }

 private:
  // The low bits of each 32-bit entry hold a position in the block, the
  // high bits a tag: the same bits of the hash of the five context bytes.
  static uint32_t position_mask(size_t block_size) {
    int bits = 1;
    while (bits < 32 && (uint64_t(1) << bits) <= block_size) ++bits;
    return bits < 32 ? (uint32_t(1) << bits) - 1 : 0xffffffffu;
  }

  size_t line_mask_;
  uint32_t position_mask_;
  uint32_t next_tag_ = 0;
  ZeroedBuffer buffer_;
  uint32_t* table_;
  size_t next_line_ = 0;
  size_t ptr_ = 0;
  int length_ = 0;
  int expected_ = 0;
  int bit_ = 0;
  bool miss_ = false;
  AdaptiveProb* slot_ = nullptr;
  AdaptiveProb probs_[64];
};

}  // namespace sibyl
