// Tensor codecs (ids 2 and 3, lossy): numbers of one element type at a time, each
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
  // 1: first version; 2: exact copies of earlier segments and (codec 3)
  // the anchor-token predictor of KV caches. Both stay decodable.
  static constexpr uint8_t kVersion = 2;
  uint8_t version = kVersion;
  // High mantissa bits that are modelled per element type (f32, f16, bf16,
  // f64, integers); the rest are stored as they are.
  uint8_t top_f32 = 2, top_f16 = 2, top_bf16 = 2, top_f64 = 2, top_int = 4;

  std::vector<uint8_t> serialize() const;
  static Status parse(std::span<const uint8_t> params, TensorConfig* out);
  // Upper bound of the model memory for one block (encoder = decoder), of
  // codec 2 or (lossy) codec 3.
  uint64_t memory_bytes(bool lossy = false) const;
};

// The error allowed per element in lossy coding (codec 3): an absolute
// value, or a fraction of the largest magnitude of each tensor's part in
// the block (finite values).
struct ErrorBound {
  enum Mode { kAbsolute = 1, kRelative = 2 };
  int mode = kAbsolute;
  double bound = 0;
};

// Codes `in` as the given segments (their sizes must add up to in.size()).
// Without `bound`: codec 2, lossless. With it: codec 3, float elements
// quantised within the bound; `decoded` receives what the payload decodes to.
Status tensor_encode(const TensorConfig& config, std::span<const Segment> segments, std::span<const uint8_t> in,
                     std::vector<uint8_t>& out, const ErrorBound* bound = nullptr,
                     std::vector<uint8_t>* decoded = nullptr);
// `out` has exactly the block's original size; `lossy` for codec 3.
Status tensor_decode(const TensorConfig& config, std::span<const uint8_t> in, std::span<uint8_t> out,
                     bool lossy = false);

}  // namespace sibyl::tensor
