#include "coder/quantize.h"

#include <algorithm>
#include <vector>

namespace sibyl {

void quantize_frequencies(const uint32_t* weights, size_t n, int total_bits, uint32_t* freqs) {
  const uint64_t total = uint64_t(1) << total_bits;
  uint64_t sum = 0;
  for (size_t i = 0; i < n; ++i) sum += weights[i];
  // Each symbol first gets 1; the remaining (total - n) units are shared in
  // proportion to the weights, rounding down; the units lost to rounding go
  // to the symbols with the largest remainders, lowest index first on ties.
  const uint64_t spare = total - n;
  uint64_t used = 0;
  for (size_t i = 0; i < n; ++i) {
    const uint64_t share = sum ? (uint64_t(weights[i]) * spare) / sum : (i < spare % n ? spare / n + 1 : spare / n);
    freqs[i] = static_cast<uint32_t>(1 + share);
    used += 1 + share;
  }
  // Fewer than n units are left (each floor loses less than one).
  const size_t left = static_cast<size_t>(total - used);
  if (left == 0) return;
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return (uint64_t(weights[a]) * spare) % sum > (uint64_t(weights[b]) * spare) % sum;
  });
  for (size_t k = 0; k < left; ++k) ++freqs[order[k]];
}

void quantize_distribution(const float* weights, size_t n, int total_bits, uint32_t* freqs) {
  const uint64_t total = uint64_t(1) << total_bits;
  float sum = 0;
  for (size_t i = 0; i < n; ++i) sum += weights[i];
  const float scale = sum > 0 ? 16777216.0f / sum : 0.0f;
  uint64_t wsum = 0;
  size_t top = 0;
  for (size_t i = 0; i < n; ++i) {
    // <= 2^24 (a float product rounds at most to the next representable).
    const float s = weights[i] * scale;
    const uint32_t w = s > 0 ? static_cast<uint32_t>(s < 16777216.0f ? s : 16777216.0f) : 0;
    freqs[i] = w;
    wsum += w;
    if (w > freqs[top]) top = i;
  }
  const uint64_t spare = total - n;
  if (wsum == 0) {
    for (size_t i = 0; i < n; ++i) freqs[i] = 1;
    freqs[0] += static_cast<uint32_t>(spare);
    return;
  }
  // share = floor(w * spare / wsum) with a 2^40 fixed-point reciprocal
  // (w * mult < 2^25 * 2^56 / 2^0 would overflow; wsum >= w bounds it:
  // w * mult <= wsum * spare * 2^40 / wsum = spare * 2^40 < 2^56).
  const uint64_t mult = (spare << 40) / wsum;
  uint64_t used = 0;
  for (size_t i = 0; i < n; ++i) {
    const uint32_t f = 1 + static_cast<uint32_t>((uint64_t(freqs[i]) * mult) >> 40);
    freqs[i] = f;
    used += f;
  }
  freqs[top] += static_cast<uint32_t>(total - used);
}

}  // namespace sibyl
