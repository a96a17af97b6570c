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

}  // namespace sibyl
