// Hashed context table of 32-byte buckets of Counter16 states, one bucket
// per (context, nibble): entry 0 holds a 16-bit tag, entries 1..15 the
// states of the 15 decisions of a nibble. The two ways of a lookup (a
// bucket and its neighbour) share one 64-byte cache line, so a lookup costs
// at most one cache miss. On a miss the way whose first state has the lower
// count is replaced. The table starts as calloc'd zero pages (tag 0 never
// matches), so untouched memory is never paid for.
#pragma once

#include <cstddef>
#include <cstdint>
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
        table_(static_cast<uint16_t*>(std::calloc((mask_ + 1) * 16, sizeof(uint16_t)))) {
    if (!table_) throw std::bad_alloc();
  }

  static size_t memory_bytes(int bucket_log) { return (size_t(1) << bucket_log) * kBucketBytes; }

  size_t index(uint32_t hash) const { return (hash >> 16 ^ hash << 11) & mask_; }

  void prefetch(uint32_t hash) const { __builtin_prefetch(table_.get() + index(hash) * 16); }

  uint16_t* find(uint32_t hash) {
    const uint16_t tag = static_cast<uint16_t>(hash) | 1;
    const size_t i = index(hash);
    uint16_t* a = table_.get() + i * 16;
    if (a[0] == tag) return a;
    uint16_t* b = table_.get() + (i ^ 1) * 16;
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
  struct Free {
    void operator()(void* p) const { std::free(p); }
  };
  size_t mask_;
  std::unique_ptr<uint16_t, Free> table_;
};

}  // namespace sibyl
