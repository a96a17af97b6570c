// The single probability-quantisation step for multi-symbol coding: turns
// non-negative integer weights (counts, or probabilities from a model in
// any fixed-point scale) into frequencies that are all >= 1 and sum to
// exactly 2^total_bits, as the range coder requires. Every codec that codes
// symbols from a distribution goes through this function, so the rounding
// rule is the same everywhere and deterministic.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sibyl {

// n >= 1, n <= 2^total_bits, total_bits <= 16. Zero weights still get
// frequency 1 (every symbol stays codable).
void quantize_frequencies(const uint32_t* weights, size_t n, int total_bits, uint32_t* freqs);

}  // namespace sibyl
