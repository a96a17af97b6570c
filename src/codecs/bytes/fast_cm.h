// Fast context-mixing byte codec (codec id 1), three variants: the full one
// (orders 0-4 and 6, a match model, two gated mixers, an APM) and two lean
// ones (orders 1-4, or 1, 2 and 4 in level 1, with the match model and one
// mixer).
// Described in doc/models/fast_cm.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "common/status.h"

namespace sibyl {

struct FastCmConfig {
  static constexpr uint8_t kVariantFull = 1;  // orders 0-4, 6, match, 2 mixer selectors, APM
  static constexpr uint8_t kVariantLean = 2;  // orders 1-4, match, 1 mixer selector (written by level 1 before variant 3)
  static constexpr uint8_t kVariantLean124 = 3;  // orders 1, 2, 4, match, 1 mixer selector (level 1)
  uint8_t variant = kVariantFull;
  uint8_t table_log = 18;  // log2 of buckets per hashed order (64 bytes each; 32 in the lean variants)
  uint8_t match_log = 20;  // log2 of match-model hash entries

  static constexpr int kMinTableLog = 10, kMaxTableLog = 24;
  static constexpr int kMinMatchLog = 10, kMaxMatchLog = 26;

  std::vector<uint8_t> serialize() const;
  static Status parse(std::span<const uint8_t> params, FastCmConfig* out);
  // Bytes of model state this configuration allocates (encoder = decoder).
  uint64_t memory_bytes() const;
  // Smaller tables for a block of `size` bytes: about one bucket per two
  // bytes per order, and as many match positions as bytes.
  FastCmConfig fitted(size_t size) const;
};

Status fast_cm_encode(const FastCmConfig& config, std::span<const uint8_t> in, std::vector<uint8_t>& out);
Status fast_cm_decode(const FastCmConfig& config, std::span<const uint8_t> in, std::span<uint8_t> out);

}  // namespace sibyl
