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

// The same for a model's float weights (finite, >= 0, not all zero), with
// one division per call instead of one per symbol, for codecs that quantise
// a full distribution per symbol (the probabilistic-circuit codec): each
// weight becomes an integer in 2^24 / sum units (IEEE float arithmetic,
// the same on every machine), every symbol gets 1 plus its floored share of
// the remaining units, and the units lost to flooring go to the first
// largest weight. n >= 1, n <= 2^total_bits, total_bits <= 16.
void quantize_distribution(const float* weights, size_t n, int total_bits, uint32_t* freqs);

}  // namespace sibyl
