// Tensor codec (codec id 2): numbers of one element type at a time, each
// split into sign, exponent and mantissa; exponent and the high mantissa
// bits are predicted from the neighbours along the row and from the row
// above, the low mantissa bits are stored.
// Described in doc/models/tensor.md.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "codecs/tensor/tensor_layout.h"
#include "common/status.h"

namespace sibyl::tensor {

struct TensorConfig {
  static constexpr uint8_t kVersion = 1;
  uint8_t version = kVersion;
  // High mantissa bits that are modelled per element type (f32, f16, bf16,
  // f64, integers); the rest are stored as they are.
  uint8_t top_f32 = 2, top_f16 = 2, top_bf16 = 2, top_f64 = 2, top_int = 8;

  std::vector<uint8_t> serialize() const;
  static Status parse(std::span<const uint8_t> params, TensorConfig* out);
  // Upper bound of the model memory for one block (encoder = decoder).
  uint64_t memory_bytes() const;
};

// Codes `in` as the given segments (their sizes must add up to in.size()).
Status tensor_encode(const TensorConfig& config, std::span<const Segment> segments, std::span<const uint8_t> in,
                     std::vector<uint8_t>& out);
// `out` has exactly the block's original size.
Status tensor_decode(const TensorConfig& config, std::span<const uint8_t> in, std::span<uint8_t> out);

}  // namespace sibyl::tensor
