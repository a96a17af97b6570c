// Hashed context table of 32-byte buckets of Counter16 states, one bucket
// per (context, nibble): entry 0 holds a 16-bit tag, entries 1..15 the
// states of the 15 decisions of a nibble. The two ways of a lookup (a
// bucket and its neighbour) share one 64-byte cache line, so a lookup costs
// at most one cache miss. On a miss the way whose first state has the lower
// count is replaced. The table starts as zero pages (ZeroedBuffer) (tag 0 never
// matches), so untouched memory is never paid for.
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/zeroed_buffer.h"
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

#include "model/counter16.h"

namespace sibyl {

class NibbleTable16 {
 public:
  static constexpr size_t kBucketBytes = 16 * sizeof(uint16_t);

  explicit NibbleTable16(int bucket_log)
      : mask_((size_t(1) << bucket_log) - 1),
        buffer_((mask_ + 1) * kBucketBytes),
        table_(buffer_.as<uint16_t>()) {}

  static size_t memory_bytes(int bucket_log) { return (size_t(1) << bucket_log) * kBucketBytes; }

  size_t index(uint32_t hash) const { return (hash >> 16 ^ hash << 11) & mask_; }

  void prefetch(uint32_t hash) const { __builtin_prefetch(table_ + index(hash) * 16); }

  uint16_t* find(uint32_t hash) {
    const uint16_t tag = static_cast<uint16_t>(hash) | 1;
    const size_t i = index(hash);
    uint16_t* a = table_ + i * 16;
    if (a[0] == tag) return a;
    uint16_t* b = table_ + (i ^ 1) * 16;
    if (b[0] == tag) return b;
    uint16_t* victim = (b[1] & 15) < (a[1] & 15) ? b : a;
    static const uint16_t kFresh[16] = {0,         Counter16::kInitial, Counter16::kInitial, Counter16::kInitial,
                                        Counter16::kInitial, Counter16::kInitial, Counter16::kInitial, Counter16::kInitial,
                                        Counter16::kInitial, Counter16::kInitial, Counter16::kInitial, Counter16::kInitial,
                                        Counter16::kInitial, Counter16::kInitial, Counter16::kInitial, Counter16::kInitial};
    std::memcpy(victim, kFresh, sizeof kFresh);
    victim[0] = tag;
    return victim;
  }

 private:
  size_t mask_;
  ZeroedBuffer buffer_;
  uint16_t* table_;
};

}  // namespace sibyl
