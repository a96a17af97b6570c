// Hashed table of bit-history buckets, shared by all hashed contexts of a
// model.
//
// A bucket is 16 bytes: a check byte and the 15 bit-history states of the
// decisions inside one nibble (indexed by the partial nibble 1, 1x, 1xx,
// 1xxx). Four buckets share a 64-byte cache line, and a lookup searches
// the line for the check byte: one cache miss per context per nibble, and
// 4-way associativity. On a miss the bucket whose first state has seen the
// fewest bits is cleared and taken. Check bytes are never 0 (check_of), so
// fresh, all-zero memory holds no valid bucket.
//
// One table serves every context kind: low orders own few buckets, high
// orders many, and the split follows the data.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "common/zeroed_buffer.h"
#include "model/bit_history.h"

namespace sibyl {

class StateTable {
 public:
  static constexpr size_t kBucketBytes = 16;

  // 2^bucket_log buckets (bucket_log >= 2).
  explicit StateTable(int bucket_log)
      : mask_((size_t(1) << bucket_log) - 1), buffer_((mask_ + 1) * kBucketBytes), t_(buffer_.as<uint8_t>()) {}

  static size_t memory_bytes(int bucket_log) { return (size_t(1) << bucket_log) * kBucketBytes; }

  void prefetch(uint32_t hash) const { __builtin_prefetch(t_ + line_of(hash)); }

  // The bucket of a context hash; a fresh one (all states 0) when it is new.
  uint8_t* find(uint32_t hash) {
    uint8_t* line = t_ + line_of(hash);
    const uint8_t check = check_of(hash);
    // The first of the four whose check byte matches, chosen without
    // branches: which way matches is close to random, and four data-
    // dependent branches mispredicted often.
    size_t way = 64;
    way = line[48] == check ? 48 : way;
    way = line[32] == check ? 32 : way;
    way = line[16] == check ? 16 : way;
    way = line[0] == check ? 0 : way;
    if (way < 64) return line + way;
    // Replace the least used of the four.
    const auto& total = bit_history::kTables.total;
    uint8_t* victim = line;
    int best = total[line[1]];
    for (int k = 16; k < 64; k += 16) {
      const int t = total[line[k + 1]];
      if (t < best) {
        best = t;
        victim = line + k;
      }
    }
    std::memset(victim, 0, kBucketBytes);
    victim[0] = check;
    return victim;
  }

 private:
  size_t line_of(uint32_t hash) const { return ((static_cast<size_t>(hash) * 4) & mask_) * kBucketBytes; }
  static uint8_t check_of(uint32_t hash) {
    const uint8_t c = static_cast<uint8_t>(hash >> 24);
    return c == 0 ? 1 : c;
  }

  size_t mask_;
  ZeroedBuffer buffer_;
  uint8_t* t_;
};

}  // namespace sibyl
