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
#include "codecs/tensor/vq.h"
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

// What lossy coding (codec 3) may do to float elements: stay within an
// absolute error, or within a fraction of the largest magnitude of each
// tensor's part in the block (finite values), each element quantised on its
// own; or (kVectors) replace vectors of `vq.dim` values by the sum of
// `vq.stages` learned centres, with no bound (the error is measured and
// reported instead).
struct ErrorBound {
  enum Mode { kAbsolute = 1, kRelative = 2, kVectors = 3 };
  ErrorBound() = default;
  ErrorBound(int m, double b) : mode(m), bound(b) {}
  explicit ErrorBound(const VqShape& v) : mode(kVectors), vq(v) {}
  int mode = kAbsolute;
  double bound = 0;
  VqShape vq;
};

// The error lossy coding made, over the float elements it approximated.
struct LossyStats {
  uint64_t elements = 0;     // float elements coded lossily
  double max_abs_error = 0;  // largest |decoded - original|
  double sum_sq_error = 0;
  double sum_sq_value = 0;   // of the originals (signal power)
  void add(const LossyStats& o) {
    elements += o.elements;
    max_abs_error = max_abs_error > o.max_abs_error ? max_abs_error : o.max_abs_error;
    sum_sq_error += o.sum_sq_error;
    sum_sq_value += o.sum_sq_value;
  }
};

// Codes `in` as the given segments (their sizes must add up to in.size()).
// Without `bound`: codec 2, lossless. With it: codec 3, float elements
// quantised within the bound; `decoded` receives what the payload decodes to,
// and `stats` (if given) the error of the approximated elements.
Status tensor_encode(const TensorConfig& config, std::span<const Segment> segments, std::span<const uint8_t> in,
                     std::vector<uint8_t>& out, const ErrorBound* bound = nullptr,
                     std::vector<uint8_t>* decoded = nullptr, LossyStats* stats = nullptr);
// `out` has exactly the block's original size; `lossy` for codec 3.
Status tensor_decode(const TensorConfig& config, std::span<const uint8_t> in, std::span<uint8_t> out,
                     bool lossy = false);

}  // namespace sibyl::tensor
