// Hashed context table with one 64-byte bucket per (context, nibble).
//
// A bucket holds 16 AdaptiveProb entries: entry 0 is the bucket's tag (its
// `p` field holds 16 bits of the context hash), entries 1..15 are the
// counters of the 15 binary decisions inside a nibble (indexed by the
// partial nibble 1, 1x, 1xx, 1xxx). One lookup per nibble, so one cache
// line per context per four bits.
//
// Lookup is 2-way: the bucket at the hashed index and its neighbour. On a
// miss the bucket whose first counter has seen fewer updates is replaced
// (a rarely used context gives way to a new one), and reset.
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/zeroed_buffer.h"
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

#include "model/adaptive_prob.h"

namespace sibyl {

class NibbleTable {
 public:
  static constexpr size_t kBucketBytes = 16 * sizeof(AdaptiveProb);

  // 2^bucket_log buckets.
  // The table starts as zero pages (ZeroedBuffer): a zero tag never matches,
  // so each bucket is reset on first use and untouched memory costs nothing.
  explicit NibbleTable(int bucket_log)
      : mask_((size_t(1) << bucket_log) - 1),
        buffer_((mask_ + 1) * kBucketBytes),
        table_(buffer_.as<AdaptiveProb>()) {}

  static size_t memory_bytes(int bucket_log) { return (size_t(1) << bucket_log) * kBucketBytes; }

  // `hash` is a well mixed 32-bit context hash.
  AdaptiveProb* find(uint32_t hash) {
    const uint16_t tag = static_cast<uint16_t>(hash) | 1;  // 0 marks an empty bucket
    const size_t i = (hash >> 16 ^ hash << 12) & mask_;
    AdaptiveProb* a = table_ + i * 16;
    if (a[0].p == tag) return a;
    AdaptiveProb* b = table_ + (i ^ 1) * 16;
    if (b[0].p == tag) return b;
    AdaptiveProb* victim = b[1].n < a[1].n ? b : a;
    static constexpr AdaptiveProb kFresh[16] = {};
    std::memcpy(victim, kFresh, sizeof kFresh);
    victim[0].p = tag;
    victim[0].n = 0;
    return victim;
  }

  void prefetch(uint32_t hash) const {
    const size_t i = (hash >> 16 ^ hash << 12) & mask_;
    __builtin_prefetch(table_ + i * 16);
  }

 private:
  size_t mask_;
  ZeroedBuffer buffer_;
  AdaptiveProb* table_;
};

// Mixes a 64-bit value into a 32-bit hash (multiply-xorshift finaliser).
inline uint32_t hash_mix(uint64_t x) {
  x ^= x >> 31;
  x *= 0x7fb5d329728ea185ull;
  x ^= x >> 27;
  x *= 0x81dadef4bc2dd44dull;
  x ^= x >> 33;
  return static_cast<uint32_t>(x);
}

}  // namespace sibyl
